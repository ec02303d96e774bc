//! Polls a provider's official status feeds (Atlassian Statuspage JSON, RSS 2.0, Atom).

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
