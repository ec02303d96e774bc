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

use crate::probe::Prober;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A cheap, cloneable view of the monitor for presenters.
#[derive(Clone)]
pub struct MonitorHandle {
    status: watch::Receiver<Status>,
    changes: broadcast::Sender<VerdictChanged>,
    checks: broadcast::Sender<Diagnosis>,
    commands: tokio::sync::mpsc::Sender<Command>,
}

/// Requests presenters may send to the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Check every layer now (menu "Check now", CLI, dashboard).
    CheckNow,
    /// The network changed or the machine woke up: results from before are stale.
    NetworkChanged,
}

impl MonitorHandle {
    /// The current confirmed status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status update (confirmed verdict and latest raw check).
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Confirmed verdict changes, one message per change.
    pub fn subscribe(&self) -> broadcast::Receiver<VerdictChanged> {
        self.changes.subscribe()
    }

    /// Every raw check's diagnosis (for the history store).
    pub fn subscribe_checks(&self) -> broadcast::Receiver<Diagnosis> {
        self.checks.subscribe()
    }

    /// Asks for an immediate check of every layer (including the account when credentials are
    /// configured and not suspended). Returns at once.
    pub fn check_now(&self) {
        let _ = self.commands.try_send(Command::CheckNow);
    }

    /// Tells the monitor the network changed or the machine woke: re-check at once and do not
    /// alert on results taken before.
    pub fn network_changed(&self) {
        let _ = self.commands.try_send(Command::NetworkChanged);
    }
}

/// Starts the monitor on the current tokio runtime. It runs until `shutdown` is cancelled.
pub fn spawn<P: Prober>(
    prober: P,
    schedule: Schedule,
    thresholds: Thresholds,
    shutdown: CancellationToken,
) -> (MonitorHandle, JoinHandle<()>) {
    let _ = (prober, schedule, shutdown);
    let (_status_tx, status_rx) = watch::channel(Status {
        verdict: Verdict::Unknown,
        since: Utc::now(),
        diagnosis: None,
        latest: None,
        thresholds,
    });
    let (changes, _) = broadcast::channel(64);
    let (checks, _) = broadcast::channel(64);
    let (commands, _rx) = tokio::sync::mpsc::channel(8);
    let handle = MonitorHandle {
        status: status_rx,
        changes,
        checks,
        commands,
    };
    (
        handle,
        tokio::spawn(async { todo!("monitor loop: engine team") }),
    )
}
