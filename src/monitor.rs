//! The one owner of the line's state: schedules probes, applies hysteresis, publishes changes.
//!
//! Presenters (CLI, tray, notifications, dashboard, history) hold a cheap [`MonitorHandle`] and
//! only read from it.

use crate::diagnosis::{Diagnosis, Thresholds};
use crate::verdict::Verdict;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often and how carefully to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// Interval between checks while the confirmed verdict is healthy, in seconds.
    pub interval_secs: u64,
    /// Interval while a change is being confirmed or the line is not healthy, in seconds.
    pub recheck_secs: u64,
    /// Interval of the authenticated REGISTER query, in seconds.
    pub account_interval_secs: u64,
    /// Consecutive results needed to confirm a change (worse or better).
    pub confirmations: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            interval_secs: 30,
            recheck_secs: 5,
            account_interval_secs: 15 * 60,
            confirmations: 2,
        }
    }
}

impl Schedule {
    /// The normal interval.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }
}

/// The confirmed state of the line, as presenters show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The confirmed verdict (hysteresis applied).
    pub verdict: Verdict,
    /// Since when the confirmed verdict holds.
    pub since: DateTime<Utc>,
    /// The diagnosis that confirmed (or last re-confirmed) the verdict.
    pub diagnosis: Option<Diagnosis>,
    /// The most recent raw diagnosis, confirmed or not.
    pub latest: Option<Diagnosis>,
    /// Thresholds in force, for presenters that explain a degraded verdict.
    pub thresholds: Thresholds,
}

/// A confirmed change of verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictChanged {
    /// The verdict before.
    pub from: Verdict,
    /// The verdict now.
    pub to: Verdict,
    /// When the old verdict began (so a recovery can say how long the outage lasted).
    pub from_since: DateTime<Utc>,
    /// When the change was confirmed.
    pub at: DateTime<Utc>,
    /// The diagnosis that confirmed it.
    pub diagnosis: Diagnosis,
}
