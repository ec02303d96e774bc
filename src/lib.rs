//! dialtone: watches a VoIP line and says whose fault it is when it stops working.
//!
//! The flow is one direction only (see the README's architecture sketch):
//! probes do I/O and return an [`observation::Snapshot`]; [`diagnosis::diagnose`] turns it into
//! a [`verdict::Verdict`] with reasons, without I/O or a clock; the [`monitor`] owns the state
//! and applies hysteresis; the CLI, tray, notifications and dashboard only present what the
//! monitor publishes.

pub mod agent;
pub mod autostart;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod diagnosis;
pub mod feed;
pub mod history;
pub mod ipc;
pub mod link;
pub mod locale;
pub mod logging;
pub mod monitor;
pub mod notice;
pub mod observation;
pub mod outage_log;
pub mod probe;
pub mod secret;
pub mod tls;
pub mod tray;
pub mod verdict;
