//! One generation of one line: a monitor with a fresh [`LineProber`], its history recorder,
//! network watcher, status-feed poller and the presenter pump that feeds the agent. A settings
//! change stops the generation (its own token) and starts the next; the agent outlives both.
//! Each line of the config runs its own generations, known by its index in the agent's list.
//! Each `[[line]]` line is recorded in a history file of its own (see
//! [`Agent::history_path_of`]): two recorders in one database would splice two lines' checks
//! into one timeline.

use super::{lock, wire, Agent, AgentError};
use chrono::Utc;
use dialtone_core::catalog::Feed;
use dialtone_engine::feed::{FeedPoller, FetchLimits, StatusPost, HEALTHY_INTERVAL};
use dialtone_engine::monitor::MonitorHandle;
use dialtone_engine::setup::{self, Prepared};
use dialtone_ipc::protocol::FeedsReply;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running generation.
pub struct Line {
    /// Its monitor.
    pub handle: MonitorHandle,
    token: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    _watch_lock: Option<dialtone_engine::probe::sip::guard::WatchLock>,
    #[cfg(test)]
    monitor_abort: tokio::task::AbortHandle,
}

impl Line {
    /// Starts the monitor and its companions of the line at `index`.
    pub fn spawn(
        agent: &Arc<Agent>,
        mut prepared: Prepared,
        index: usize,
    ) -> Result<Line, AgentError> {
        // Held as long as this generation runs: a `dialtone watch` on the same account then
        // refuses to start, and the other way round this agent leaves the account to it.
        let watch_lock = prepared.lock_or_share();
        // A child of the agent's token: a restart cancels only this generation, shutdown all.
        let token = agent.shutdown.child_token();
        let feeds = prepared.feeds.clone();
        let history = agent.history_path_of(index);
        let label = prepared.label.clone();
        let mut running = setup::spawn_line(prepared, history.as_deref(), &token, |handle| {
            let mut tasks: Vec<JoinHandle<()>> = agent
                .follow_in_metrics(&label, handle, &token)
                .into_iter()
                .collect();
            tasks.push(tokio::spawn(present(
                agent.clone(),
                index,
                handle.clone(),
                token.clone(),
            )));
            if !feeds.is_empty() {
                tasks.push(tokio::spawn(poll_feeds(
                    agent.clone(),
                    index,
                    handle.clone(),
                    feeds,
                    token.clone(),
                )));
            }
            tasks
        })?;
        // The monitor is the first task; a supervisor takes its place and restarts the line
        // if it ever ends on its own (a panic, an abort): monitoring never stops silently.
        let monitor = running.tasks.remove(0);
        #[cfg(test)]
        let monitor_abort = monitor.abort_handle();
        running.tasks.insert(
            0,
            tokio::spawn(supervise(agent.clone(), index, monitor, token.clone())),
        );
        Ok(Line {
            handle: running.handle,
            token,
            tasks: running.tasks,
            _watch_lock: watch_lock,
            #[cfg(test)]
            monitor_abort,
        })
    }

    /// Aborts the monitor task as if it had died (for the supervisor's test).
    #[cfg(test)]
    pub(super) fn kill_monitor(&self) {
        self.monitor_abort.abort();
    }

    /// Stops every task of this generation and waits for them (the recorder flushes).
    pub async fn stop(self) {
        self.token.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// How long a failed monitor waits before the line is restarted: a monitor that dies at once
/// again must not become a busy loop of restarts (and first rounds).
const RESTART_DELAY: Duration = Duration::from_secs(2);

/// Waits for the monitor task; if it ends while its generation should still run, says so (log
/// and tray) and restarts this line (the others run on). The login guard's suspension is on
/// disk, so a restart never resends a rejected password.
async fn supervise(
    agent: Arc<Agent>,
    index: usize,
    monitor: JoinHandle<()>,
    token: CancellationToken,
) {
    let ended = monitor.await;
    if token.is_cancelled() {
        return;
    }
    let why = match ended {
        Err(e) if e.is_panic() => "it panicked".to_string(),
        Err(e) => format!("it was stopped ({e})"),
        Ok(()) => "it ended".to_string(),
    };
    tracing::error!("the line monitor stopped unexpectedly: {why}; restarting it");
    agent.monitor_failed(index, Some(why));
    tokio::spawn(async move {
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(RESTART_DELAY) => {}
        }
        match agent.restart_lines(Some(vec![index])).await {
            Ok(()) => agent.monitor_failed(index, None),
            Err(e) => tracing::error!("restarting the line monitor: {e}"),
        }
    });
}

/// Forwards the monitor's status and changes to the agent's presenters.
async fn present(agent: Arc<Agent>, index: usize, handle: MonitorHandle, token: CancellationToken) {
    let mut status = handle.watch_status();
    let mut changes = handle.subscribe();
    loop {
        tokio::select! {
            biased;
            () = token.cancelled() => return,
            // Status first: the monitor publishes it before the change it confirms.
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
                agent.line_changed(index);
            }
            change = changes.recv() => match change {
                Ok(change) => agent.verdict_changed(index, change),
                Err(RecvError::Lagged(n)) => tracing::warn!("presenters missed {n} changes"),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// Polls the provider's status feeds at the pace the verdict asks for, keeps the latest state
/// for the dashboard and the notifications, and records posts seen during an outage.
async fn poll_feeds(
    agent: Arc<Agent>,
    index: usize,
    handle: MonitorHandle,
    feeds: Vec<Feed>,
    token: CancellationToken,
) {
    let mut poller = FeedPoller::new(feeds, FetchLimits::default());
    let mut status = handle.watch_status();
    loop {
        let verdict = handle.status().verdict;
        let changed = tokio::select! {
            () = token.cancelled() => return,
            changed = poller.poll_due(verdict, Instant::now()) => changed,
        };
        publish_feeds(&agent, index, &poller);
        if !changed.is_empty() {
            record_posts(&agent, index, &poller, &changed).await;
        }
        let wait = poller
            .next_due(verdict, Instant::now())
            .unwrap_or(HEALTHY_INTERVAL);
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
            // A new verdict may shorten an hourly wait to two minutes.
            changed = status.changed() => if changed.is_err() { return },
        }
    }
}

pub(super) fn publish_feeds(agent: &Agent, index: usize, poller: &FeedPoller) {
    let (now, wall_now) = (Instant::now(), Utc::now());
    let views = poller
        .feeds()
        .iter()
        .map(|f| wire::feed_view(f, now, wall_now))
        .collect();
    let latest: Option<StatusPost> = poller
        .feeds()
        .iter()
        .filter_map(|f| f.snapshot.as_ref()?.posts.first().cloned())
        .max_by_key(|p| p.published);
    let mut state = lock(&agent.state);
    let Some(line) = state.lines.get_mut(index) else {
        return;
    };
    line.feeds = FeedsReply {
        available: true,
        feeds: views,
    };
    line.latest_post = latest;
}

/// Attaches the changed feeds' posts to the open outage episode, if there is one: the
/// provider's own words belong in the outage log a customer hands in (this line's log).
pub(super) async fn record_posts(
    agent: &Agent,
    index: usize,
    poller: &FeedPoller,
    changed: &[usize],
) {
    let Some(history) = agent.history_of(index).await else {
        return;
    };
    let posts: Vec<(String, StatusPost)> = changed
        .iter()
        .filter_map(|&i| poller.feeds().get(i))
        .flat_map(|f| {
            let url = f.feed.url.clone();
            f.snapshot
                .iter()
                .flat_map(|s| s.posts.iter().cloned())
                .map(move |p| (url.clone(), p))
        })
        .collect();
    let written = tokio::task::spawn_blocking(move || {
        let history = lock(&history);
        let Some(episode) = history.open_episode()? else {
            return Ok(0);
        };
        let mut new = 0;
        for (url, post) in &posts {
            if history.attach_status_post(episode, url, post, Utc::now())? {
                new += 1;
            }
        }
        Ok::<_, dialtone_engine::history::HistoryError>(new)
    })
    .await;
    match written {
        Ok(Ok(n)) if n > 0 => tracing::info!("{n} status posts recorded with the open outage"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("{e}"),
        Err(e) => tracing::warn!("recording status posts: {e}"),
    }
}
