//! The alerts that leave the machine, as the dashboard's "Alerts" settings show them: the
//! targets (their URLs redacted by the agent, never the secret itself), the outbox, and the
//! outcome of a test alert per target.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most outbox entries one [`AlertsReply`] carries (the newest).
pub const MAX_OUTBOX_ENTRIES: usize = 100;

/// One target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTargetView {
    /// Its URL, redacted (`ntfys://ntfy.sh/***`).
    pub shown: String,
    /// `ntfy`, `email`, `webhook` or `apprise`.
    pub kind: String,
    /// What it hears of (`outage`, `recovery`, …).
    pub events: Vec<String>,
}

/// One alert in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxView {
    /// When it was raised.
    pub created: DateTime<Utc>,
    /// The line it is about.
    pub line: String,
    /// `outage`, `recovery`, `unstable`, …
    pub event: String,
    /// Its headline.
    pub headline: String,
    /// The target, redacted.
    pub target: String,
    /// `pending`, `delivered` or `given_up`.
    pub state: String,
    /// Tries so far.
    pub attempts: u32,
    /// The last failure, in the log's words (redacted).
    pub last_error: Option<String>,
}

/// Answer to [`super::Request::Alerts`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertsReply {
    /// The targets of the agent's config.
    pub targets: Vec<AlertTargetView>,
    /// The outbox, oldest first (at most [`MAX_OUTBOX_ENTRIES`], the newest).
    pub outbox: Vec<OutboxView>,
}

/// One target's outcome of [`super::Request::TestAlerts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTestView {
    /// The target, redacted.
    pub target: String,
    /// Whether it accepted the test alert.
    pub delivered: bool,
    /// Why not, in the log's words (redacted).
    pub reason: Option<String>,
}
