//! dialtone's pure core: what a phone line's health *is*, with no I/O, no clock of its own and
//! no async runtime.
//!
//! Probes (in the engine) fill in an [`observation::Snapshot`] with kinds and numbers, never
//! sentences; [`diagnosis::diagnose`] turns it into a [`verdict::Verdict`] with structured
//! evidence, which [`words`] words in English and German where it is shown; the
//! [`tracker::Tracker`] applies hysteresis and yields the [`schedule`] types the monitor
//! publishes. The settings ([`config`]), the provider [`catalog`], the [`outage`] model, the
//! one rule for links ([`link`]) and the parsing of what users type ([`address`], [`time`],
//! [`report`]) live here once, so the agent, the CLI and the dashboard cannot disagree.

pub mod address;
pub mod alert;
pub mod catalog;
pub mod config;
pub mod diagnosis;
pub mod field_error;
pub mod link;
pub mod locale;
pub mod observation;
pub mod outage;
pub mod record;
pub mod report;
pub mod router;
pub mod schedule;
pub mod secret;
pub mod status_post;
pub mod time;
pub mod tracker;
pub mod verdict;
pub mod words;

// The vocabulary every other crate speaks, at the root.
pub use diagnosis::{diagnose, Diagnosis};
pub use locale::Lang;
pub use verdict::{Layer, Verdict};
