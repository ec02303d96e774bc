//! What the agent says of its lines when asked: each line's status as IPC clients see it (with
//! every line listed), the line a label names, the provider's channels, and the links the
//! agent may open.

use super::{lock, wire, Agent, State};
use chrono::Utc;
use dialtone_engine::monitor::MonitorHandle;
use dialtone_ipc::protocol::{AgentStatus, ChannelView, ErrorReply, LineSummary, ProviderInfo};

impl Agent {
    /// The index of the line labelled `label` (case-insensitive, as `--line` matches);
    /// `None` asks for the first line.
    pub(crate) fn line_index(&self, label: Option<&str>) -> Result<usize, ErrorReply> {
        let Some(label) = label else {
            return Ok(0);
        };
        let state = lock(&self.state);
        state
            .lines
            .iter()
            .position(|l| l.label.eq_ignore_ascii_case(label.trim()))
            .ok_or_else(|| ErrorReply::Invalid {
                field: "line".into(),
                detail: format!(
                    "no line is labelled {label:?}; the lines are {}",
                    state
                        .lines
                        .iter()
                        .map(|l| format!("{:?}", l.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// Every line's label and confirmed verdict, in the config's order.
    pub(super) fn line_summaries(&self, state: &State) -> Vec<LineSummary> {
        state
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineSummary {
                label: l.label.clone(),
                verdict: self
                    .handles
                    .get(i)
                    .map_or(dialtone_core::verdict::Verdict::Unknown, |h| {
                        h.status().verdict
                    }),
                configured: l.configured,
            })
            .collect()
    }

    /// The monitor of the line at `index`, or of the first line as [`State::line`] picks it.
    pub(super) fn monitor_of(&self, state: &State, index: usize) -> Option<MonitorHandle> {
        self.handles
            .get(if index < state.lines.len() { index } else { 0 })
    }

    /// The status of the first line as IPC clients see it.
    pub(crate) fn agent_status(&self) -> AgentStatus {
        self.line_status(0)
    }

    /// The status of the line at `index` as IPC clients see it, with every line listed.
    pub(crate) fn line_status(&self, index: usize) -> AgentStatus {
        let state = lock(&self.state);
        let line = state.line(index);
        let status = match self.monitor_of(&state, index) {
            Some(h) => h.status(),
            None => dialtone_engine::monitor::Status {
                verdict: dialtone_core::verdict::Verdict::Unknown,
                since: Utc::now(),
                diagnosis: None,
                latest: None,
                thresholds: state.config.thresholds.clone(),
            },
        };
        AgentStatus {
            status,
            configured: line.is_some_and(|l| l.configured),
            alerts_paused_until: state.paused_until.filter(|until| *until > Utc::now()),
            provider: line
                .and_then(|l| l.provider.as_ref())
                .map(|p| ProviderInfo {
                    id: Some(p.id.clone()),
                    name: p.name.clone(),
                }),
            lang: state.lang,
            tray_icon_hidden: state.tray_icon_hidden,
            line: line.map(|l| l.label.clone()),
            lines: self.line_summaries(&state),
        }
    }

    /// The channels of the provider of the line at `index`, in the catalog's order.
    pub(crate) fn channels_of(&self, index: usize) -> Vec<ChannelView> {
        lock(&self.state)
            .line(index)
            .and_then(|l| l.provider.as_ref())
            .map(|p| p.channels.iter().map(wire::channel_view).collect())
            .unwrap_or_default()
    }

    /// Every link the agent may open: the channels of every line's provider (catalog or the
    /// user's own providers.toml). Feed posts' links are deliberately not among them.
    pub(super) fn allowed_links(&self) -> Vec<String> {
        let count = lock(&self.state).lines.len();
        (0..count)
            .flat_map(|i| self.channels_of(i))
            .map(|c| c.url)
            .collect()
    }
}
