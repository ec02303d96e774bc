//! One generation of one line: a monitor on a fresh [`LineProber`], and what runs with it —
//! the pump that turns its status and changes into [`LineEvent`]s, the presenters the runner
//! was asked to [`Attach`], the history recorder and the status-feed poller. Every task stops
//! with the generation's own token, so a restart of the line (or of its dead monitor) stops
//! exactly these and nothing of the other lines.

use super::{Current, LineEvent, Shared, Sink};
use crate::feed::{FeedPoller, FetchLimits, StatusPost, HEALTHY_INTERVAL};
use crate::history::{recorder, History, HistoryError, Retention};
use crate::monitor::MonitorHandle;
use crate::probe::line::{LineError, LineProber};
use crate::setup::Prepared;
use chrono::Utc;
use dialtone_core::catalog::Feed;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

/// A running generation.
pub(super) struct Generation {
    handle: MonitorHandle,
    monitor: JoinHandle<()>,
    rest: Companions,
}

/// Everything of a generation but its monitor.
pub(super) struct Companions {
    tasks: Vec<JoinHandle<()>>,
    token: CancellationToken,
}

impl Generation {
    /// Starts the monitor of the line at `index` on `prepared` and its companions (right
    /// after it, so they subscribe before its first round ends), on a child of `line_token`.
    pub(super) fn spawn(
        index: usize,
        prepared: &Prepared,
        history: Option<&Path>,
        shared: &Shared,
        line_token: &CancellationToken,
    ) -> Result<Generation, LineError> {
        let prober = LineProber::new(prepared.settings.clone())?;
        let token = line_token.child_token();
        let (handle, monitor) = crate::monitor::spawn(
            prober,
            prepared.config.schedule.clone(),
            prepared.config.thresholds.clone(),
            token.clone(),
        );
        let mut tasks = vec![tokio::spawn(pump(
            index,
            handle.clone(),
            shared.events.clone(),
            token.clone(),
        ))];
        if let Some(attach) = &shared.attach {
            tasks.extend(attach(&prepared.label, &handle, &token));
        }
        if let Some(path) = history {
            match History::open(path) {
                Ok(history) => tasks.push(recorder::spawn_recorder(
                    &handle,
                    history,
                    Retention::default(),
                    token.clone(),
                )),
                Err(e) => tracing::warn!("{e}; checks and outages are not recorded"),
            }
        }
        if !prepared.feeds.is_empty() {
            tasks.push(tokio::spawn(poll_feeds(
                index,
                handle.clone(),
                prepared.feeds.clone(),
                history.map(Path::to_path_buf),
                shared.events.clone(),
                token.clone(),
            )));
        }
        Ok(Generation {
            handle,
            monitor,
            rest: Companions { tasks, token },
        })
    }

    /// Its monitor, for the runner's list.
    pub(super) fn current(&self) -> Current {
        Current {
            handle: self.handle.clone(),
            monitor: self.monitor.abort_handle(),
        }
    }

    /// Waits until the monitor ends (its token cancelled, or on its own): how it ended, and
    /// the companions still to stop.
    pub(super) async fn wait(self) -> (Result<(), JoinError>, Companions) {
        (self.monitor.await, self.rest)
    }
}

impl Companions {
    /// Stops the companions and waits for them (the recorder flushes).
    pub(super) async fn stop(self) {
        self.token.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Forwards the monitor's status and changes to the runner's channel.
async fn pump(index: usize, handle: MonitorHandle, events: Sink, token: CancellationToken) {
    let mut status = handle.watch_status();
    let mut changes = handle.subscribe();
    loop {
        let event = tokio::select! {
            biased;
            () = token.cancelled() => return,
            // Status first: the monitor publishes it before the change it confirms.
            changed = status.changed() => match changed {
                Ok(()) => LineEvent::Checked { index },
                Err(_) => return,
            },
            change = changes.recv() => match change {
                Ok(change) => LineEvent::Changed { index, change },
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("presenters missed {n} changes");
                    continue;
                }
                Err(RecvError::Closed) => return,
            },
        };
        if !events(event) {
            return;
        }
    }
}

/// Polls the provider's status feeds at the pace the verdict asks for, says each poll's
/// outcome, and records posts seen during an outage with it.
async fn poll_feeds(
    index: usize,
    handle: MonitorHandle,
    feeds: Vec<Feed>,
    history: Option<PathBuf>,
    events: Sink,
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
        if !events(LineEvent::Feeds {
            index,
            feeds: poller.feeds().to_vec(),
        }) {
            return;
        }
        if let (false, Some(path)) = (changed.is_empty(), &history) {
            record_posts(path, &poller, &changed).await;
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

/// Attaches the changed feeds' posts to the open outage episode, if there is one: the
/// provider's own words belong in the outage log a customer hands in (this line's log).
pub async fn record_posts(path: &Path, poller: &FeedPoller, changed: &[usize]) {
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
    let path = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || {
        let history = History::open(&path)?;
        let Some(episode) = history.open_episode()? else {
            return Ok(0);
        };
        let mut new = 0;
        for (url, post) in &posts {
            if history.attach_status_post(episode, url, post, Utc::now())? {
                new += 1;
            }
        }
        Ok::<_, HistoryError>(new)
    })
    .await;
    match written {
        Ok(Ok(n)) if n > 0 => tracing::info!("{n} status posts recorded with the open outage"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("{e}"),
        Err(e) => tracing::warn!("recording status posts: {e}"),
    }
}
