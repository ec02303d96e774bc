//! What the monitor publishes and how often it checks: the schedule, the confirmed status and
//! a confirmed change. Plain data shared by the monitor runtime, its presenters and the IPC
//! wire, so none of them has to depend on the others.

use crate::diagnosis::{Diagnosis, Thresholds};
use crate::field_error::FieldError;
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
    /// Interval while a change is being confirmed, and during the first minutes of a
    /// confirmed outage (the monitor's fast-recovery window), in seconds.
    pub recheck_secs: u64,
    /// Interval of the authenticated REGISTER query, in seconds.
    pub account_interval_secs: u64,
    /// Consecutive results needed to confirm a change (worse or better). Exception: the first
    /// working result after start is shown at once.
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

/// The one range table of the schedule: every value the config file, the command line, the
/// dashboard's form and the agent accept lies within these bounds (inclusive).
pub const SCHEDULE_BOUNDS: [Bound; 4] = [
    Bound {
        key: "interval_secs",
        min: 1,
        max: 86_400,
    },
    Bound {
        key: "recheck_secs",
        min: 1,
        max: 3_600,
    },
    // Providers lock accounts out after repeated logins: never more than once a minute.
    Bound {
        key: "account_interval_secs",
        min: 60,
        max: 86_400,
    },
    Bound {
        key: "confirmations",
        min: 1,
        max: 10,
    },
];

/// The bounds of one schedule value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The key in `[schedule]` (and the settings field of the same name).
    pub key: &'static str,
    /// The least value accepted.
    pub min: u64,
    /// The most value accepted.
    pub max: u64,
}

impl Bound {
    /// The bound of `key`, when it has one.
    pub fn of(key: &str) -> Option<Bound> {
        SCHEDULE_BOUNDS.iter().copied().find(|b| b.key == key)
    }

    /// Checks one value against it.
    pub fn check(self, value: u64) -> Result<(), FieldError> {
        if value < self.min {
            Err(FieldError::new(
                self.key,
                format!("{value} is below the minimum of {}", self.min),
            ))
        } else if value > self.max {
            Err(FieldError::new(
                self.key,
                format!("{value} is above the maximum of {}", self.max),
            ))
        } else {
            Ok(())
        }
    }
}

impl Schedule {
    /// Checks every value against [`SCHEDULE_BOUNDS`], and that the re-check is not slower
    /// than the normal interval.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (bound, value) in SCHEDULE_BOUNDS.iter().zip([
            self.interval_secs,
            self.recheck_secs,
            self.account_interval_secs,
            u64::from(self.confirmations),
        ]) {
            bound.check(value)?;
        }
        if self.recheck_secs > self.interval_secs {
            return Err(FieldError::new(
                "recheck_secs",
                format!(
                    "{} is longer than interval_secs ({})",
                    self.recheck_secs, self.interval_secs
                ),
            ));
        }
        Ok(())
    }

    /// This schedule with every value pulled into its bounds (for flags given on the command
    /// line, which are clamped rather than refused), the re-check no slower than the interval.
    pub fn clamped(&self) -> Schedule {
        let clamp = |key: &str, value: u64| match Bound::of(key) {
            Some(b) => value.clamp(b.min, b.max),
            None => value,
        };
        let interval_secs = clamp("interval_secs", self.interval_secs);
        Schedule {
            interval_secs,
            recheck_secs: clamp("recheck_secs", self.recheck_secs).min(interval_secs),
            account_interval_secs: clamp("account_interval_secs", self.account_interval_secs),
            confirmations: u32::try_from(clamp("confirmations", u64::from(self.confirmations)))
                .unwrap_or(1),
        }
    }

    /// The normal interval.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    /// The interval while confirming a change or recovering from an outage.
    pub fn recheck(&self) -> Duration {
        Duration::from_secs(self.recheck_secs)
    }

    /// The interval of the authenticated REGISTER query.
    pub fn account_interval(&self) -> Duration {
        Duration::from_secs(self.account_interval_secs)
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
    /// When the new verdict began: the first check of the run that confirmed it. An outage
    /// lasts from the opening change's `since` to the recovering change's `since`.
    pub since: DateTime<Utc>,
    /// When the change was confirmed.
    pub at: DateTime<Utc>,
    /// The diagnosis that confirmed it.
    pub diagnosis: Diagnosis,
}
