//! The status as clients see it: the monitor's status plus what the agent adds, and the list of
//! watched lines a picker offers.

use super::ProviderInfo;
use chrono::{DateTime, Utc};
use dialtone_core::locale::Lang;
use dialtone_core::schedule::Status;
use dialtone_core::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// The status as presenters outside the agent see it: the monitor's status plus what the agent
/// adds (set up or not, alerts paused, the provider).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// The monitor's confirmed status and latest check.
    pub status: Status,
    /// Whether a provider or registrar is configured. `false` on first run: the tray says
    /// "not set up" and the dashboard shows the setup.
    pub configured: bool,
    /// Notifications are paused until then.
    pub alerts_paused_until: Option<DateTime<Utc>>,
    /// The provider, when known.
    pub provider: Option<ProviderInfo>,
    /// The language the agent presents in.
    pub lang: Lang,
    /// No tray host (StatusNotifierWatcher) was on the session bus when the agent started, so
    /// nothing shows its icon (stock GNOME): the dashboard says how to get one. Absent from an
    /// older agent's replies, hence the default.
    #[serde(default)]
    pub tray_icon_hidden: bool,
    /// The line this status is of (its label); absent from an older agent's replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Every line the agent watches, in the config's order, so that a client can offer a
    /// picker (one entry for a config without `[[line]]` tables).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineSummary>,
}

/// One watched line as a picker lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSummary {
    /// Its label (unique within the config).
    pub label: String,
    /// Its confirmed verdict.
    pub verdict: Verdict,
    /// Whether it has a provider or registrar.
    pub configured: bool,
}
