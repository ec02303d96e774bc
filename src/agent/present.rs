//! The agent's one presenter task: every line's [`LineEvent`]s arrive on the runner's one
//! channel, in order, and each becomes what the user sees — the dashboard's events, the tray,
//! a notification, the feeds' state, the "monitoring stopped" line. Nothing else writes the
//! lines' presentation state, so there is no second writer to race with.

use super::{local_offset, lock, wire, Agent};
use crate::notice::ProviderRef;
use chrono::Utc;
use dialtone_engine::feed::{PolledFeed, StatusPost};
use dialtone_engine::lines::LineEvent;
use dialtone_engine::monitor::VerdictChanged;
use dialtone_ipc::protocol::{Event, FeedsReply};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedReceiver;

/// Presents every line event until the runner's channel closes or the agent shuts down.
pub(super) async fn present(agent: Arc<Agent>, mut events: UnboundedReceiver<LineEvent>) {
    loop {
        let event = tokio::select! {
            () = agent.shutdown.cancelled() => return,
            event = events.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        match event {
            LineEvent::Started { index } => agent.line_started(index),
            LineEvent::Checked { index } => agent.line_changed(index),
            LineEvent::Changed { index, change } => agent.verdict_changed(index, change),
            LineEvent::Feeds { index, feeds } => agent.feeds_polled(index, &feeds),
            LineEvent::Stopped { index, why, .. } => agent.monitor_failed(index, Some(why)),
        }
    }
}

impl Agent {
    /// A generation of the line at `index` started. After a dead monitor (the runner's
    /// supervisor restarted it) that is a new generation, and the tray's "monitoring stopped"
    /// goes away.
    pub(super) fn line_started(&self, index: usize) {
        let restarted = {
            let mut state = lock(&self.state);
            let was_down = state
                .lines
                .get_mut(index)
                .and_then(|l| l.monitor_failure.take())
                .is_some();
            if was_down {
                state.generation += 1;
            }
            was_down
        };
        if restarted {
            self.status_changed();
        }
    }

    /// A check of the line at `index` finished.
    fn line_changed(&self, index: usize) {
        let _ = self.events.send(Event::Status(self.line_status(index)));
        self.refresh_tray();
    }

    /// A confirmed change of the line at `index`: tell subscribers, notify the user (naming
    /// the line when there are several).
    fn verdict_changed(&self, index: usize, change: VerdictChanged) {
        let _ = self.events.send(Event::Changed(change.clone()));
        let (enabled, paused, lang, provider, post, label) = {
            let s = lock(&self.state);
            let line = s.line(index);
            (
                s.config.desktop.notifications,
                s.paused_until.is_some_and(|until| until > Utc::now()),
                s.lang,
                line.and_then(|l| l.provider.as_ref())
                    .map(|p| p.name.clone()),
                line.and_then(|l| l.latest_post.clone()),
                line.filter(|_| s.lines.len() > 1).map(|l| l.label.clone()),
            )
        };
        let Some(notifier) = &self.notifier else {
            return;
        };
        if !enabled || paused {
            return;
        }
        let channels = self.channels_of(index);
        let provider = ProviderRef {
            name: provider.as_deref(),
            channels: &channels,
        };
        if let Some(mut n) =
            crate::notice::notice(&change, provider, post.as_ref(), lang, local_offset())
        {
            if let Some(label) = label {
                n.summary = format!("{label}: {}", n.summary);
            }
            notifier.show(n, self.allowed_links());
        }
    }

    /// Records that the monitor of the line at `index` stopped (`Some(why)`) or runs again
    /// (`None`), for the tray.
    fn monitor_failed(&self, index: usize, why: Option<String>) {
        if let Some(line) = lock(&self.state).lines.get_mut(index) {
            line.monitor_failure = why;
        }
        self.refresh_tray();
    }

    /// The feeds of the line at `index` were polled: their state for the dashboard, and the
    /// newest official post for the notifications.
    pub(super) fn feeds_polled(&self, index: usize, feeds: &[PolledFeed]) {
        let (now, wall_now) = (Instant::now(), Utc::now());
        let views = feeds
            .iter()
            .map(|f| wire::feed_view(f, now, wall_now))
            .collect();
        let latest: Option<StatusPost> = feeds
            .iter()
            .filter_map(|f| f.snapshot.as_ref()?.posts.first().cloned())
            .max_by_key(|p| p.published);
        let mut state = lock(&self.state);
        let Some(line) = state.lines.get_mut(index) else {
            return;
        };
        line.feeds = FeedsReply {
            available: true,
            feeds: views,
        };
        line.latest_post = latest;
    }
}
