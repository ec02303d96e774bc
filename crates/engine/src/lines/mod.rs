//! The line runner: the one place lines are started. [`Lines`] starts the configured lines,
//! restarts one, stops them all, and supervises each: a monitor that dies (a panic, an abort)
//! is said ([`LineEvent::Stopped`]) and restarted after a backoff, so monitoring never stops
//! silently — in the tray agent and in `dialtone watch` alike. It owns what belongs to running
//! lines and to nobody else: the watch locks (one process per account), each line's history
//! file, and the one network watcher all lines share.
//!
//! A presenter sees a line through two doors: the [`LineEvent`]s on one channel (checks,
//! confirmed changes, feed polls, stops), and, for what must subscribe to the monitor before
//! its first round ends (the exporter's counters), an [`Attach`] hook run in every generation.
//! [`check`] is the one-round face of the same setup, for `dialtone check`.

mod generation;

use crate::feed::PolledFeed;
use crate::monitor::{MonitorHandle, VerdictChanged};
use crate::probe::line::{LineError, LineProber};
use crate::probe::sip::guard::{WatchLock, WatchLockError};
use crate::probe::{ProbeScope, Prober};
use crate::setup::Prepared;
use dialtone_core::diagnosis::{diagnose, Diagnosis};
pub use generation::record_posts;
use generation::Generation;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

/// What happened to one line (by its index in the list [`Lines::start`] was given).
#[derive(Debug, Clone)]
pub enum LineEvent {
    /// A generation of the line started: its first, after a restart, or after its monitor
    /// died. [`Lines::handle`] has its monitor now.
    Started {
        /// The line.
        index: usize,
    },
    /// The line's monitor published a status (a round ended, or a verdict was confirmed).
    Checked {
        /// The line.
        index: usize,
    },
    /// A confirmed change of the line's verdict.
    Changed {
        /// The line.
        index: usize,
        /// The change.
        change: VerdictChanged,
    },
    /// The provider's status feeds of the line were polled: their state now.
    Feeds {
        /// The line.
        index: usize,
        /// Every feed with its latest snapshot and error.
        feeds: Vec<PolledFeed>,
    },
    /// The line's monitor stopped on its own; a new one starts after `retry_in`.
    Stopped {
        /// The line.
        index: usize,
        /// Why, in the log's words ("it panicked").
        why: String,
        /// How long the supervisor waits before the restart.
        retry_in: Duration,
    },
}

/// The presenters that subscribe to a monitor directly, spawned right after it in every
/// generation (so they see its first round): given the line's label, its monitor and the
/// generation's token, the tasks to stop with it.
pub type Attach =
    Arc<dyn Fn(&str, &MonitorHandle, &CancellationToken) -> Vec<JoinHandle<()>> + Send + Sync>;

/// Where a runner's [`LineEvent`]s go: `false` once nobody listens any more. A channel of the
/// runner's own ([`Lines::new`]), or a presenter's inbox that also carries other input
/// ([`Lines::with_sink`]).
pub type Sink = Arc<dyn Fn(LineEvent) -> bool + Send + Sync>;

/// Whether a line may run while another process queries the same account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// No: starting fails with [`LinesError::AlreadyWatched`] (`dialtone watch`, whose user
    /// asked for this line in particular).
    Refuse,
    /// Yes, without the account: every other layer is still checked, and the other process
    /// keeps sending the REGISTERs (the tray agent next to a `watch`, `check`).
    Share,
}

/// Why lines could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LinesError {
    /// Another process watches this line's account.
    #[error("line {label:?}: {source}")]
    AlreadyWatched {
        /// The line's label.
        label: String,
        /// The lock's refusal.
        source: WatchLockError,
    },
    /// The line's settings cannot be probed.
    #[error("line {label:?}: {source}")]
    Line {
        /// The line's label.
        label: String,
        /// Why.
        source: LineError,
    },
}

/// The first wait before a dead monitor is restarted; each restart that follows a short life
/// doubles it up to [`MAX_RESTART_DELAY`]: a monitor that dies at once again must not become a
/// busy loop of restarts (and of first rounds, each of which may send a login).
pub const RESTART_DELAY: Duration = Duration::from_secs(2);

/// The longest wait between restarts of a monitor that keeps dying.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

/// A generation that ran this long before it died starts the backoff afresh.
const STABLE_RUN: Duration = Duration::from_secs(300);

/// The current monitor of every line, readable from any task without the runner: presenters
/// read status through it, the network watcher tells each monitor of a changed network.
#[derive(Clone, Default)]
pub struct LineHandles(Arc<Mutex<Vec<Option<Current>>>>);

/// A running generation's monitor, and the abort handle of its task (for the supervision
/// tests, which kill it).
#[derive(Clone)]
struct Current {
    handle: MonitorHandle,
    // Read only by the supervision tests' hook; kept in every build so the hook kills the
    // very task the runner supervises.
    #[cfg_attr(not(any(test, feature = "test-hooks")), allow(dead_code))]
    monitor: AbortHandle,
}

impl LineHandles {
    fn slots(&self) -> MutexGuard<'_, Vec<Option<Current>>> {
        // Plain data: a panic elsewhere while holding it leaves nothing half-written.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The monitor of the line at `index`, while one runs.
    pub fn get(&self, index: usize) -> Option<MonitorHandle> {
        self.slots()
            .get(index)
            .and_then(|c| c.as_ref().map(|c| c.handle.clone()))
    }

    /// Every running monitor, in the lines' order.
    pub fn all(&self) -> Vec<MonitorHandle> {
        self.slots()
            .iter()
            .flatten()
            .map(|c| c.handle.clone())
            .collect()
    }

    fn set(&self, index: usize, current: Option<Current>) {
        let mut slots = self.slots();
        if slots.len() <= index {
            slots.resize_with(index + 1, || None);
        }
        slots[index] = current;
    }

    fn truncate(&self, len: usize) {
        self.slots().truncate(len);
    }
}

impl crate::monitor::network::Listeners for LineHandles {
    fn network_changed(&self) {
        for handle in self.all() {
            handle.network_changed();
        }
    }
}

/// What every line task shares with the runner.
#[derive(Clone)]
struct Shared {
    events: Sink,
    attach: Option<Attach>,
    handles: LineHandles,
}

/// One supervised line: its task (which owns its generation and watch lock) and its token.
struct Running {
    token: CancellationToken,
    task: JoinHandle<()>,
}

/// Runs lines (see the module's doc).
pub struct Lines {
    token: CancellationToken,
    history: Option<PathBuf>,
    shared: Shared,
    running: Vec<Option<Running>>,
    network: Option<JoinHandle<()>>,
}

impl Lines {
    /// A runner with no lines yet. `history` is the history file (each `[[line]]` line gets
    /// one of its own beside it, see [`history_file`]); `None` records nothing. Everything
    /// stops with `token`. The receiver gets every line's [`LineEvent`]s.
    pub fn new(
        history: Option<PathBuf>,
        token: &CancellationToken,
    ) -> (Lines, mpsc::UnboundedReceiver<LineEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink: Sink = Arc::new(move |event| tx.send(event).is_ok());
        (Lines::with_sink(history, token, sink), rx)
    }

    /// As [`Lines::new`], the events going to `events`.
    pub fn with_sink(history: Option<PathBuf>, token: &CancellationToken, events: Sink) -> Lines {
        Lines {
            token: token.clone(),
            history,
            shared: Shared {
                events,
                attach: None,
                handles: LineHandles::default(),
            },
            running: Vec::new(),
            network: None,
        }
    }

    /// Sets the presenters spawned with every generation's monitor (see [`Attach`]); for the
    /// generations started from now on.
    pub fn attach(&mut self, attach: Attach) {
        self.shared.attach = Some(attach);
    }

    /// The current monitors, as a handle that stays current across restarts.
    pub fn handles(&self) -> LineHandles {
        self.shared.handles.clone()
    }

    /// The monitor of the line at `index`, while one runs.
    pub fn handle(&self, index: usize) -> Option<MonitorHandle> {
        self.shared.handles.get(index)
    }

    /// How many lines there are (running or not).
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Replaces every line by `lines` (stopping the old ones first, their recorders flushed).
    /// On an error nothing of `lines` runs; the old ones are stopped all the same.
    pub async fn start(
        &mut self,
        lines: Vec<Prepared>,
        sharing: Sharing,
    ) -> Result<(), LinesError> {
        self.stop_lines().await;
        for (index, prepared) in lines.into_iter().enumerate() {
            if let Err(e) = self.restart(index, prepared, sharing).await {
                self.stop_lines().await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// (Re)starts the line at `index` on `prepared`; the others run on untouched (no extra
    /// login for them). The old generation of this line is stopped first, so its watch lock
    /// is free for the new one.
    pub async fn restart(
        &mut self,
        index: usize,
        mut prepared: Prepared,
        sharing: Sharing,
    ) -> Result<(), LinesError> {
        if let Some(old) = self.running.get_mut(index).and_then(Option::take) {
            old.stop().await;
            self.shared.handles.set(index, None);
        }
        // Held as long as this line runs, across its restarts: a `dialtone watch` on the same
        // account refuses to start, or this line leaves the account to it.
        let lock = match sharing {
            Sharing::Share => prepared.lock_or_share(),
            Sharing::Refuse => match prepared.watch_lock() {
                Err(source @ WatchLockError::Held { .. }) => {
                    return Err(LinesError::AlreadyWatched {
                        label: prepared.label,
                        source,
                    })
                }
                // Taken, or it cannot be made: then the account is left out (no parallel
                // REGISTERs because a lock file could not be made), saying why.
                taken => prepared.keep_or_leave_account(taken),
            },
        };
        let token = self.token.child_token();
        let history = self
            .history
            .as_deref()
            .map(|base| history_file(base, prepared.listed, &prepared.label));
        let label = prepared.label.clone();
        let first = Generation::spawn(index, &prepared, history.as_deref(), &self.shared, &token)
            .map_err(|source| LinesError::Line { label, source })?;
        self.shared.handles.set(index, Some(first.current()));
        let task = tokio::spawn(supervise(
            index,
            prepared,
            lock,
            history,
            first,
            self.shared.clone(),
            token.clone(),
        ));
        if self.running.len() <= index {
            self.running.resize_with(index + 1, || None);
        }
        self.running[index] = Some(Running { token, task });
        self.watch_network();
        Ok(())
    }

    /// Shrinks the list to `len` lines, stopping those past it.
    pub async fn truncate(&mut self, len: usize) {
        while self.running.len() > len {
            if let Some(Some(old)) = self.running.pop() {
                old.stop().await;
            }
        }
        self.shared.handles.truncate(len);
    }

    /// Stops every line and waits for them (their recorders flush), and the network watcher.
    pub async fn stop(&mut self) {
        self.stop_lines().await;
        if let Some(network) = self.network.take() {
            network.abort();
            let _ = network.await;
        }
    }

    async fn stop_lines(&mut self) {
        for old in self.running.drain(..).flatten() {
            old.stop().await;
        }
        self.shared.handles.truncate(0);
    }

    /// One poller of the network for every line (200 lines polling the same routing table
    /// would cost 200 reads), listening to the OS's own notifications where it sends them: a
    /// change or a resume makes each current monitor re-check at once.
    fn watch_network(&mut self) {
        if self.network.is_none() {
            self.network = Some(crate::monitor::network::spawn_network_watcher_with(
                self.shared.handles.clone(),
                crate::monitor::network::DEFAULT_POLL,
                crate::probe::device::probe,
                crate::monitor::network::Notifications::subscribe(),
                self.token.clone(),
            ));
        }
    }

    /// Aborts the monitor task of the line at `index` as if it had died, for the tests of the
    /// supervision (the agent's and `watch`'s); whether one ran.
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn kill_monitor(&self, index: usize) -> bool {
        let current = self.shared.handles.slots().get(index).cloned().flatten();
        current.map(|c| c.monitor.abort()).is_some()
    }
}

impl Running {
    async fn stop(self) {
        self.token.cancel();
        if let Err(e) = self.task.await {
            tracing::warn!("a line's task ended badly while stopping: {e}");
        }
    }
}

/// Where a line is recorded: the history file itself for a config's only line, a file of its
/// own beside it for each `[[line]]` line (`listed`): two recorders in one database would
/// splice two lines' checks into one timeline.
pub fn history_file(base: &Path, listed: bool, label: &str) -> PathBuf {
    if listed {
        crate::setup::line_history_path(base, label)
    } else {
        base.to_path_buf()
    }
}

/// Runs the line's generations until `token` is cancelled: waits for the monitor, and if it
/// ends while it should still run, says so and starts the next generation after the backoff.
/// The login guard's suspension is on disk, so a restart never resends a rejected password.
async fn supervise(
    index: usize,
    prepared: Prepared,
    lock: Option<WatchLock>,
    history: Option<PathBuf>,
    first: Generation,
    shared: Shared,
    token: CancellationToken,
) {
    let _lock = lock;
    let mut generation = Some(first);
    let mut delay = RESTART_DELAY;
    loop {
        if let Some(running) = generation.take() {
            let _ = (shared.events)(LineEvent::Started { index });
            let started = tokio::time::Instant::now();
            let (ended, rest) = running.wait().await;
            rest.stop().await;
            if token.is_cancelled() {
                return;
            }
            let why = match ended {
                Err(e) if e.is_panic() => "it panicked".to_string(),
                Err(e) => format!("it was stopped ({e})"),
                Ok(()) => "it ended".to_string(),
            };
            if started.elapsed() >= STABLE_RUN {
                delay = RESTART_DELAY;
            }
            tracing::error!(
                "the line monitor stopped unexpectedly: {why}; restarting it in {} s",
                delay.as_secs()
            );
            shared.handles.set(index, None);
            let _ = (shared.events)(LineEvent::Stopped {
                index,
                why,
                retry_in: delay,
            });
        }
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RESTART_DELAY);
        match Generation::spawn(index, &prepared, history.as_deref(), &shared, &token) {
            Ok(next) => {
                shared.handles.set(index, Some(next.current()));
                generation = Some(next);
            }
            Err(e) => tracing::error!("restarting the line monitor: {e}"),
        }
    }
}

/// One round of every line in `lines`, side by side (different accounts, one request each),
/// for `dialtone check`: the watch locks are taken as the agent takes them (a line whose
/// account another process watches is checked without it). In the lines' order: the label and
/// diagnosis, the line's settings error, or the task's end if it panicked.
pub async fn check(
    lines: Vec<Prepared>,
) -> Vec<Result<Result<(String, Diagnosis), LineError>, JoinError>> {
    let mut locks = Vec::with_capacity(lines.len());
    let checks: Vec<_> = lines
        .into_iter()
        .map(|mut prepared| {
            // Never a REGISTER in parallel with the agent's or a watch's on the same account.
            locks.push(prepared.lock_or_share());
            // A person asked for this check: another run's login a moment ago does not hold
            // it back (its own is recorded, so a monitor starting next waits).
            prepared.settings.one_off = true;
            tokio::spawn(async move {
                let thresholds = prepared.config.thresholds.clone();
                let prober = LineProber::new(prepared.settings)?;
                let snapshot = prober.probe(ProbeScope { account: true }).await;
                Ok((prepared.label, diagnose(&snapshot, &thresholds)))
            })
        })
        .collect();
    let mut results = Vec::with_capacity(checks.len());
    for check in checks {
        results.push(check.await);
    }
    drop(locks);
    results
}

#[cfg(test)]
mod tests;
