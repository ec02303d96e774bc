//! dialtone, the agent: watches a VoIP line and says whose fault it is when it stops working.
//!
//! The flow is one direction only (see the README's architecture sketch): probes do I/O and
//! return a [`dialtone_core::observation::Snapshot`]; the core's `diagnose` turns it into a
//! verdict with reasons, without I/O or a clock; the [`monitor`] owns the state and applies
//! hysteresis; the CLI, tray, notifications, history and (over [`dialtone_ipc`]) the dashboard
//! only present what the monitor publishes. [`setup`] builds a line from the config and the
//! flags for every face alike.
//!
//! What is public here is what the integration tests and benchmarks drive; the rest is the
//! agent's own.

mod agent;
mod autostart;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod feed;
pub mod history;
mod link;
mod logging;
mod metrics;
pub mod monitor;
mod notice;
pub mod outage_log;
pub mod probe;
pub mod secret;
pub mod setup;
mod shutdown;
#[cfg(test)]
mod test_support;
mod tls;
pub mod tray;
