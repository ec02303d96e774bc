//! What a provider's official status feed says: its posts and, for a Statuspage, the overall
//! indicator and the components. The feed poller fills these in; the history keeps the posts
//! seen during an outage; the tray, notifications and dashboard show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One post on a provider's status feed ("Störung Telefonie").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPost {
    /// The title, whitespace collapsed and length-capped.
    pub title: String,
    /// When it was published (or last updated, when the feed gives no publication date).
    pub published: Option<DateTime<Utc>>,
    /// A link to the post; only https links are kept.
    pub link: Option<String>,
}

/// Statuspage's overall indicator (`status.indicator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// All systems operational.
    None,
    /// Minor problems.
    Minor,
    /// Major problems.
    Major,
    /// Critical problems.
    Critical,
    /// Maintenance in progress.
    Maintenance,
}

/// One Statuspage component and its status as the page states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// The component's name ("Telefonie").
    pub name: String,
    /// `operational`, `degraded_performance`, `partial_outage`, `major_outage`,
    /// `under_maintenance` (kept as the page sends it, cleaned and capped).
    pub status: String,
}
