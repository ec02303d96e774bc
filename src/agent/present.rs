//! The agent's one presenter task. Everything that changes what the user sees arrives on one
//! inbox, in order: every line's [`LineEvent`]s (from the runner), the dashboard's requests
//! (from the IPC server) and the tray's menu clicks; the task answers each in turn and keeps
//! the tray's "checked 12 s ago" current. So the presentation state has one writer, and a
//! request never races a line's event or another request (a settings change and a "check
//! now", say).

use super::{local_offset, lock, wire, Agent};
use crate::notice::ProviderRef;
use crate::tray::MenuAction;
use chrono::Utc;
use dialtone_engine::feed::{PolledFeed, StatusPost};
use dialtone_engine::lines::LineEvent;
use dialtone_engine::monitor::VerdictChanged;
use dialtone_ipc::protocol::{ErrorReply, Event, FeedsReply, Request, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::oneshot;

/// How often the tray's "checked 12 s ago" is refreshed between checks.
const TRAY_REFRESH: Duration = Duration::from_secs(15);

/// What the presenter is given to do.
pub(super) enum Input {
    /// A line's event, from the runner.
    Line(LineEvent),
    /// A click in the tray's menu.
    Menu(MenuAction),
    /// An IPC request, and where its answer goes.
    Request(Request, oneshot::Sender<Result<Response, ErrorReply>>),
}

/// Presents every input until the inbox closes or the agent shuts down.
pub(super) async fn present(agent: Arc<Agent>, mut inbox: UnboundedReceiver<Input>) {
    let mut refresh = tokio::time::interval(TRAY_REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let input = tokio::select! {
            () = agent.shutdown.cancelled() => return,
            input = inbox.recv() => match input {
                Some(input) => input,
                None => return,
            },
            _ = refresh.tick() => {
                agent.refresh_tray();
                continue;
            }
        };
        match input {
            Input::Line(event) => agent.present_line(event),
            Input::Menu(action) => agent.on_menu(action).await,
            Input::Request(request, reply) => {
                // The asker may have gone (a closed connection): nobody to tell then.
                let _ = reply.send(agent.answer(request).await);
            }
        }
    }
}

impl Agent {
    /// Hands `input` to the presenter; `false` when it no longer runs (shutting down).
    pub(super) fn post(&self, input: Input) -> bool {
        self.inbox.send(input).is_ok()
    }

    fn present_line(&self, event: LineEvent) {
        if let Some(alerter) = &self.alerter {
            alerter.offer_line(&event, self.alert_line(&event));
        }
        match event {
            LineEvent::Started { index } => self.line_started(index),
            LineEvent::Checked { index } => self.line_changed(index),
            LineEvent::Changed { index, change } => self.verdict_changed(index, change),
            LineEvent::Feeds { index, feeds } => self.feeds_polled(index, &feeds),
            LineEvent::Stopped { index, why, .. } => self.monitor_failed(index, Some(why)),
        }
    }

    /// What the alerter needs of the line a change is about, as it is now (settings may have
    /// changed its provider since the agent started).
    fn alert_line(&self, event: &LineEvent) -> Option<dialtone_engine::alert::LineInfo> {
        let LineEvent::Changed { index, .. } = event else {
            return None;
        };
        let state = lock(&self.state);
        let line = state.line(*index)?;
        Some(dialtone_engine::alert::LineInfo {
            label: line.label.clone(),
            provider: line.provider.as_ref().map(|p| p.name.clone()),
            channels: line
                .provider
                .as_ref()
                .map(|p| p.channels.clone())
                .unwrap_or_default(),
        })
    }

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
