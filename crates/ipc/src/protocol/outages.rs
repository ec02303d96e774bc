//! The outage log on the wire: the timeline's checks and outages, the episodes with their
//! evidence, reports and posts, and the export formats.

use super::{Bilingual, PostView};
use chrono::{DateTime, Utc};
use dialtone_core::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// What [`Request::ExportLog`](super::Request::ExportLog) renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One row per episode (RFC 4180).
    Csv,
    /// The printable report with per-day counts and the TKG §58 facts.
    Html,
}

impl ExportFormat {
    /// The file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Html => "html",
        }
    }
}

/// The answer to [`Request::History`](super::Request::History).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryReply {
    /// `false` when the agent has no history store (nothing recorded yet is `true` + empty).
    pub available: bool,
    /// The window asked for, in hours.
    pub hours: u32,
    /// One point per check, oldest first.
    pub points: Vec<HistoryPoint>,
    /// Outage episodes that overlap the window, oldest first.
    pub outages: Vec<OutageView>,
}

/// One recorded check, as the history keeps it.
pub use dialtone_core::record::CheckRecord as HistoryPoint;

/// One outage episode (a confirmed non-working verdict and how long it lasted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageView {
    /// The episode's id in the history (for attaching a fault report).
    #[serde(default)]
    pub id: i64,
    /// The layer that failed.
    #[serde(default)]
    pub failing_layer: Option<dialtone_core::verdict::Layer>,
    /// The verdict during the episode.
    pub verdict: Verdict,
    /// When it was confirmed.
    pub start: DateTime<Utc>,
    /// When it ended; `None` while it lasts.
    pub end: Option<DateTime<Utc>>,
}

/// The answer to [`Request::Episodes`](super::Request::Episodes).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EpisodesReply {
    /// `false` when the agent has no history store (nothing recorded yet is `true` + empty).
    pub available: bool,
    /// The window asked for, in days.
    pub days: u32,
    /// The episodes that overlap the window, oldest first.
    pub episodes: Vec<EpisodeView>,
    /// Whether older episodes were left out to stay within
    /// [`MAX_EPISODES`](super::MAX_EPISODES).
    pub truncated: bool,
}

/// One outage episode with everything the Outages view shows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeView {
    /// Its id in the history (what
    /// [`Request::AttachReport`](super::Request::AttachReport) takes).
    pub id: i64,
    /// The verdict it opened with.
    pub verdict: Verdict,
    /// The layer that failed.
    pub failing_layer: Option<dialtone_core::verdict::Layer>,
    /// When the outage was confirmed.
    pub start: DateTime<Utc>,
    /// When the recovery was confirmed; `None` while it lasts.
    pub end: Option<DateTime<Utc>>,
    /// How long it lasted, or has lasted so far, in seconds.
    pub duration_secs: i64,
    /// The failing layer's evidence as the report words it (empty when none was stored).
    pub evidence: Bilingual<String>,
    /// The user's fault reports, earliest first.
    pub reports: Vec<ReportView>,
    /// Provider status posts seen while it lasted, in the order they were seen.
    pub posts: Vec<PostView>,
}

/// One fault report the user attached to an episode, as the history keeps it.
pub use dialtone_core::outage::FaultReport as ReportView;
