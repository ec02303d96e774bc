//! What clients are told about the provider: who it is, its official (and crowd) channels, and
//! the latest posts of its status feeds.

use chrono::{DateTime, Utc};
use dialtone_core::locale::Lang;
use serde::{Deserialize, Serialize};

/// A provider as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Catalog id (e.g. `1und1`); `None` for a registrar not in the catalog.
    pub id: Option<String>,
    /// Display name (e.g. `1&1`).
    pub name: String,
}

/// The answer to [`Request::Feeds`](super::Request::Feeds).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FeedsReply {
    /// `false` when the agent polls no feeds (no provider chosen, or it has none).
    pub available: bool,
    /// One entry per feed of the provider, in the catalog's order.
    pub feeds: Vec<FeedView>,
}

/// One official status feed as last polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedView {
    /// The feed's URL (from the catalog or the user's settings).
    pub url: String,
    /// `statuspage`, `rss` or `atom`.
    pub kind: String,
    /// When it was last fetched successfully; `None` before the first success.
    pub fetched_at: Option<DateTime<Utc>>,
    /// Why the last fetch failed (worded for the user), when it did.
    pub problem: Option<String>,
    /// A Statuspage's overall indicator (`none`, `minor`, `major`, `critical`), when it has one.
    pub indicator: Option<String>,
    /// The latest posts, newest first.
    pub posts: Vec<PostView>,
}

/// One post of a status feed, as the feed poller read it.
pub use dialtone_core::status_post::StatusPost as PostView;

/// The answer to [`Request::Channels`](super::Request::Channels).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChannelsReply {
    /// `false` when the provider catalog is not available in this agent.
    pub available: bool,
    /// The provider the channels belong to; `None` when no provider is chosen.
    pub provider: Option<ProviderInfo>,
    /// Its channels in the catalog's order.
    pub channels: Vec<ChannelView>,
}

pub use dialtone_core::catalog::ChannelKind;

/// One official (or crowd) channel of a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    /// Its kind.
    pub kind: ChannelKind,
    /// Its label, e.g. `@1und1` or `allestoerungen.de` (English, and the fallback).
    pub label: String,
    /// Its German label, when the catalog has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_de: Option<String>,
    /// An `https:` or `tel:` URL from the catalog or the user's settings.
    pub url: String,
}

/// How the English catalog marks a crowd page; replaced by the user's language when shown.
const CROWD_SUFFIX_EN: &str = "(crowd reports, not official)";
/// The same marker in German.
const CROWD_SUFFIX_DE: &str = "(Crowd-Meldungen, nicht offiziell)";

impl ChannelView {
    /// The label in `lang`: the German one when there is one, else the English.
    pub fn label_in(&self, lang: Lang) -> &str {
        match (lang, &self.label_de) {
            (Lang::De, Some(de)) => de,
            _ => &self.label,
        }
    }

    /// The label a person sees, in the tray's menu and on the dashboard's buttons alike: the
    /// catalog's own label (it names the page, e.g. "1&1 on X (@1und1)", "1&1 status page"),
    /// and for a crowd page exactly one "not official" marker in the user's language, so a
    /// crowd page is never mistaken for the provider's own word and never says so twice.
    pub fn shown_label(&self, lang: Lang) -> String {
        let label = self.label_in(lang).trim();
        match self.kind {
            ChannelKind::Crowd => {
                let base = [CROWD_SUFFIX_EN, CROWD_SUFFIX_DE]
                    .iter()
                    .find_map(|suffix| label.strip_suffix(suffix))
                    .unwrap_or(label)
                    .trim_end();
                let marker = lang.pick(CROWD_SUFFIX_EN, CROWD_SUFFIX_DE);
                format!("{base} {marker}")
            }
            ChannelKind::X
            | ChannelKind::Mastodon
            | ChannelKind::StatusPage
            | ChannelKind::Blog
            | ChannelKind::Hotline
            | ChannelKind::Website => label.to_string(),
        }
    }
}
