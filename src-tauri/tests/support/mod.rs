//! The parts of the root package's test support the dashboard's tests need: the kamailio
//! harness and what it builds on. The rest (e.g. the namespace lab) drives the `dialtone`
//! binary, which this package does not build.
#![allow(dead_code)]

#[path = "../../../tests/support/kamailio.rs"]
pub mod kamailio;
#[path = "../../../tests/support/netns.rs"]
pub mod netns;
#[path = "../../../tests/support/sip.rs"]
pub mod sip;
