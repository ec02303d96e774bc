//! Shared support for dialtone's integration tests: a real kamailio registrar, network
//! namespaces for fault injection, a DNS server inside them, and the lab network
//! (client ─ router ─ internet ─ provider) built from all three.
//!
//! Each integration test file pulls this in with `mod support;` and uses only the parts it
//! needs, so unused items are expected per test binary.
#![allow(dead_code)]

pub mod desktop;
pub mod dns;
pub mod kamailio;
pub mod lab;
pub mod netns;
pub mod sip;
