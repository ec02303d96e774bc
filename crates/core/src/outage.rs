//! The outage model: an episode (a confirmed outage from its first failing check to the first
//! good one), the evidence kept with it, the fault reports the user attached and the provider's
//! posts seen while it lasted. The history stores these; the outage log and the dashboard
//! present them.

use crate::diagnosis::{Fact, LayerReport};
use crate::status_post::StatusPost;
use crate::verdict::{Layer, Verdict};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// How and when the customer reported the fault to the provider (entered by the user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultReport {
    /// When the provider received the report (TKG §58 counts from here).
    pub reported_at: DateTime<Utc>,
    /// How: hotline, web form, e-mail, letter, chat ... (free text).
    pub channel: String,
    /// The provider's ticket number, when given.
    pub ticket: Option<String>,
    /// Anything else worth keeping.
    pub note: Option<String>,
}

/// A provider status post seen while an episode was open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenStatusPost {
    /// The feed it came from.
    pub feed_url: String,
    /// The post.
    pub post: StatusPost,
    /// When dialtone first saw it.
    pub seen_at: DateTime<Utc>,
}

/// The evidence stored with an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The opening diagnosis' layer reports.
    Layers {
        /// One report per layer, lowest first.
        layers: Vec<LayerReport>,
    },
    /// Stored JSON this build cannot read as layer reports (e.g. written by a newer dialtone
    /// with facts this one does not know). Kept verbatim rather than failing the whole log.
    Unreadable {
        /// The stored text.
        json: String,
    },
}

impl Evidence {
    /// The facts of one layer, when readable.
    pub fn facts(&self, layer: Layer) -> &[Fact] {
        match self {
            Evidence::Layers { layers } => layers
                .iter()
                .find(|report| report.layer == layer)
                .map(|report| report.evidence.as_slice())
                .unwrap_or_default(),
            Evidence::Unreadable { .. } => &[],
        }
    }
}

/// One outage episode with everything attached to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Its id (what `dialtone log report --episode` takes).
    pub id: i64,
    /// When the outage was confirmed.
    pub start: DateTime<Utc>,
    /// When the recovery was confirmed; `None` while it lasts.
    pub end: Option<DateTime<Utc>>,
    /// The verdict it opened with.
    pub verdict: Verdict,
    /// The failing layer it opened with.
    pub failing_layer: Option<Layer>,
    /// Every outage verdict confirmed during the episode, in order, starting with `verdict`.
    pub verdicts: Vec<Verdict>,
    /// The opening diagnosis' evidence.
    pub evidence: Evidence,
    /// The user's fault reports, earliest first.
    pub reports: Vec<FaultReport>,
    /// Provider status posts seen during the episode, in the order they were seen.
    pub status_posts: Vec<SeenStatusPost>,
}

impl Episode {
    /// How long it lasted, or has lasted until `now` when still open.
    pub fn duration(&self, now: DateTime<Utc>) -> TimeDelta {
        (self.end.unwrap_or(now) - self.start).max(TimeDelta::zero())
    }
}
