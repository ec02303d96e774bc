//! The one owner of the line's state: schedules probes, applies hysteresis, publishes changes.
//!
//! Presenters (CLI, tray, notifications, dashboard, history) hold a cheap [`MonitorHandle`] and
//! only read from it. One task runs every probe round, so two rounds never overlap (a second
//! REGISTER in flight is what gets accounts locked out).
//!
//! **Scheduling** (all intervals from [`Schedule`], at least 1 s each):
//! - The first round runs at once. A first result showing the line working (healthy or
//!   degraded) is confirmed by that round alone (see [`tracker`]), so "your line works" appears
//!   as soon as the first round ends and, nothing being pending, the next round follows after
//!   `interval_secs`. While a change is being confirmed (an open streak) the next round follows
//!   after `recheck_secs`; that includes a start on a failing line, whose failure needs
//!   `confirmations` results, so a broken line is reported after about `recheck_secs`, not
//!   `interval_secs`.
//! - While the confirmed verdict is an outage (not healthy/degraded, not unknown), rounds also
//!   run every `recheck_secs`, so a recovery is seen within seconds, but only for the first
//!   [`FAST_RECOVERY_WINDOW`] after the outage was confirmed. Most outages a user sits through
//!   (a router reboot, a registrar failover) end within that window; a longer one would
//!   otherwise keep timing-out probes running back to back for hours on a laptop battery, so
//!   after the window the normal `interval_secs` applies. A degraded line works: it is checked
//!   at the normal pace, and extra probes on a lossy line only add load.
//! - Otherwise rounds start every `interval_secs`, measured start to start, so the cadence
//!   does not drift by the probes' own duration; a round longer than the interval is followed
//!   by the next one at once.
//! - The authenticated REGISTER query (`ProbeScope::account`) runs on the first round, on every
//!   [`MonitorHandle::check_now`], and otherwise when `account_interval_secs` have passed since
//!   the last round that asked for it; never more often. Other rounds ask for no account check.
//! - `check_now` runs a round at once. Any number of requests made while a round without the
//!   account check runs are served by one full round right after it; requests made while a
//!   full round (with the account check) runs are served by that round, whose result is only
//!   seconds older than them, rather than by a second REGISTER.
//! - `network_changed` (or a wake from sleep, detected when the wall clock moved more than
//!   [`WAKE_JUMP`] beyond the monotonic clock across one wait or round, or reported by the OS
//!   through the network watcher where that clock counts through sleep) discards the open
//!   streak and re-checks at once. A round in flight when the network changes is abandoned and
//!   rerun with the same scope: its result describes the old network. A round across which the
//!   machine slept is discarded the same way. The confirmed verdict stays: a network change
//!   alone is no reason to tell the user anything.
//! - Cancelling the shutdown token stops the monitor at its next await, abandoning a probe
//!   round in flight; the task's `JoinHandle` then completes.
//!
//! After each round the monitor publishes, in this order: the [`Status`] (latest raw diagnosis,
//! and the confirmed fields), a [`VerdictChanged`] when the round confirmed a change, and the
//! raw diagnosis on [`MonitorHandle::subscribe_checks`]. Results discarded as stale are not
//! published at all.

pub mod network;

pub use dialtone_core::schedule::{Schedule, Status, VerdictChanged};

use crate::probe::{ProbeScope, Prober};
use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::{diagnose, Diagnosis, Thresholds};
use dialtone_core::tracker::Tracker;
use dialtone_core::verdict::Verdict;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after an outage is confirmed the monitor keeps re-checking at `recheck_secs`.
pub const FAST_RECOVERY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// How far the wall clock may run ahead of the monotonic clock across one wait before the
/// monitor concludes the machine slept (the monotonic clock stops during suspend on Linux;
/// Windows' counts through it, so there the OS's resume notification says it, see
/// [`network`]). Small NTP corrections stay far below it; a false positive only costs one
/// extra round.
pub const WAKE_JUMP: Duration = Duration::from_secs(30);

/// The shortest interval the monitor uses, whatever the schedule says: a zero interval would
/// turn the monitor into a busy loop hammering the provider.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Where the monitor gets wall-clock time for `since` and `at` (and for wake detection).
///
/// Scheduling uses `tokio::time` only; the wall clock is injected so tests can pin it and
/// simulate a suspend by making it jump.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Requests from handles, as flags: however many arrive, each kind is served once, and a
/// request can never be lost to a full queue.
#[derive(Default)]
struct Requests {
    check_now: AtomicBool,
    network_changed: AtomicBool,
    wake: Notify,
}

impl Requests {
    fn raise(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::SeqCst);
        // `notify_one` keeps a permit when the monitor is not waiting, so a request made while
        // it is busy still ends its next wait at once.
        self.wake.notify_one();
    }

    fn take(flag: &AtomicBool) -> bool {
        flag.swap(false, Ordering::SeqCst)
    }

    fn any(&self) -> bool {
        self.check_now.load(Ordering::SeqCst) || self.network_changed.load(Ordering::SeqCst)
    }
}

/// A cheap, cloneable view of the monitor for presenters.
#[derive(Clone)]
pub struct MonitorHandle {
    status: watch::Receiver<Status>,
    changes: broadcast::Sender<VerdictChanged>,
    checks: broadcast::Sender<Diagnosis>,
    requests: Arc<Requests>,
}

impl MonitorHandle {
    /// The current confirmed status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status update (confirmed verdict and latest raw check).
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Confirmed verdict changes, one message per change.
    pub fn subscribe(&self) -> broadcast::Receiver<VerdictChanged> {
        self.changes.subscribe()
    }

    /// Every raw check's diagnosis (for the history store).
    pub fn subscribe_checks(&self) -> broadcast::Receiver<Diagnosis> {
        self.checks.subscribe()
    }

    /// Asks for an immediate check of every layer (including the account when credentials are
    /// configured and not suspended). Returns at once. Requests made while a full round runs
    /// are served by it; requests made while a round without the account check runs are
    /// served together by one full round after it.
    pub fn check_now(&self) {
        self.requests.raise(&self.requests.check_now);
    }

    /// Tells the monitor the network changed or the machine woke: re-check at once and do not
    /// alert on results taken before.
    pub fn network_changed(&self) {
        self.requests.raise(&self.requests.network_changed);
    }
}

/// Starts the monitor on the current tokio runtime. It runs until `shutdown` is cancelled.
pub fn spawn<P: Prober>(
    prober: P,
    schedule: Schedule,
    thresholds: Thresholds,
    shutdown: CancellationToken,
) -> (MonitorHandle, JoinHandle<()>) {
    spawn_with(prober, schedule, thresholds, SystemClock, shutdown)
}

/// Like [`spawn`], with the wall clock supplied (tests pin it, or make it jump to simulate a
/// suspend).
pub fn spawn_with<P: Prober, C: Clock>(
    prober: P,
    schedule: Schedule,
    thresholds: Thresholds,
    clock: C,
    shutdown: CancellationToken,
) -> (MonitorHandle, JoinHandle<()>) {
    let started = clock.now();
    let (status_tx, status_rx) = watch::channel(Status {
        verdict: Verdict::Unknown,
        since: started,
        diagnosis: None,
        latest: None,
        thresholds: thresholds.clone(),
    });
    // Subscribers that fall more than this many messages behind lose the oldest (broadcast
    // semantics); at one round per few seconds that is minutes of slack.
    let (changes, _) = broadcast::channel(64);
    let (checks, _) = broadcast::channel(64);
    let requests = Arc::new(Requests::default());
    let handle = MonitorHandle {
        status: status_rx,
        changes: changes.clone(),
        checks: checks.clone(),
        requests: Arc::clone(&requests),
    };
    let engine = Engine {
        tracker: Tracker::new(schedule.confirmations, started),
        prober,
        schedule,
        thresholds,
        clock,
        status: status_tx,
        changes,
        checks,
        requests,
        shutdown,
        last_account: None,
        fast_until: None,
        marks: (started, Instant::now()),
    };
    (handle, tokio::spawn(engine.run()))
}

/// How a probe round ended.
enum RoundEnd {
    /// The probes finished.
    Done(Box<dialtone_core::observation::Snapshot>),
    /// The network changed meanwhile: the result would describe the old network.
    NetworkChanged,
    /// The monitor is shutting down.
    Shutdown,
}

/// The monitor task's state. Only this task touches it.
struct Engine<P, C> {
    prober: P,
    schedule: Schedule,
    thresholds: Thresholds,
    clock: C,
    tracker: Tracker,
    status: watch::Sender<Status>,
    changes: broadcast::Sender<VerdictChanged>,
    checks: broadcast::Sender<Diagnosis>,
    requests: Arc<Requests>,
    shutdown: CancellationToken,
    /// When the last round that asked for the account started.
    last_account: Option<Instant>,
    /// Until when an outage is re-checked at the fast pace.
    fast_until: Option<Instant>,
    /// Wall and monotonic time at the last wake check.
    marks: (DateTime<Utc>, Instant),
}

impl<P: Prober, C: Clock> Engine<P, C> {
    async fn run(mut self) {
        let mut next = Instant::now();
        loop {
            if !self.requests.any() {
                tokio::select! {
                    biased;
                    () = self.shutdown.cancelled() => return,
                    () = self.requests.wake.notified() => {}
                    () = tokio::time::sleep_until(next) => {}
                }
            }
            let check_now = Requests::take(&self.requests.check_now);
            let mut stale = Requests::take(&self.requests.network_changed);
            if self.slept() {
                tracing::info!("wall clock jumped ahead: woke from sleep, re-checking");
                stale = true;
            }
            if !(check_now || stale || Instant::now() >= next) {
                // A leftover wake-up permit from a request already served.
                continue;
            }
            if stale {
                self.tracker.discard_streak();
                // What the probes learnt of the old network (the router's place, its login
                // challenge) must not be used on the new one.
                self.prober.network_changed();
            }
            let scope = ProbeScope {
                account: check_now || self.account_due(),
            };
            let Some((snapshot, started_at, started)) = self.round_until_fresh(scope).await else {
                return;
            };
            // Publish first: the delay depends on whether this result opened a streak.
            self.publish(snapshot, started_at);
            next = started + self.delay();
        }
    }

    /// Runs rounds until one completes with no network change or sleep during it; `None` on
    /// shutdown. Returns the snapshot and when its round started (wall and monotonic).
    async fn round_until_fresh(
        &mut self,
        scope: ProbeScope,
    ) -> Option<(dialtone_core::observation::Snapshot, DateTime<Utc>, Instant)> {
        loop {
            let started = Instant::now();
            let started_at = self.clock.now();
            if scope.account {
                self.last_account = Some(started);
            }
            match self.round(scope).await {
                RoundEnd::Shutdown => return None,
                RoundEnd::NetworkChanged => {
                    tracing::debug!("network changed during a round: rerunning it");
                    self.tracker.discard_streak();
                    self.prober.network_changed();
                }
                RoundEnd::Done(snapshot) => {
                    if self.slept() {
                        tracing::info!("slept during a round: discarding its result");
                        self.tracker.discard_streak();
                        self.prober.network_changed();
                        continue;
                    }
                    return Some((*snapshot, started_at, started));
                }
            }
        }
    }

    /// One probe round, abandoned on shutdown or a network change.
    async fn round(&mut self, scope: ProbeScope) -> RoundEnd {
        self.slept(); // start the wake check afresh: the wait before was checked already
        let probe = self.prober.probe(scope);
        tokio::pin!(probe);
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return RoundEnd::Shutdown,
                snapshot = &mut probe => return RoundEnd::Done(Box::new(snapshot)),
                () = self.requests.wake.notified() => {
                    if Requests::take(&self.requests.network_changed) {
                        return RoundEnd::NetworkChanged;
                    }
                    if scope.account {
                        // A full check is already running and answers the request; another
                        // REGISTER seconds later would only add to the provider's rate limits.
                        Requests::take(&self.requests.check_now);
                    }
                    // Otherwise the check_now flag stays raised and is served after this round.
                }
            }
        }
    }

    /// Diagnoses a round's snapshot, applies hysteresis and publishes the results.
    fn publish(
        &mut self,
        snapshot: dialtone_core::observation::Snapshot,
        started_at: DateTime<Utc>,
    ) {
        let diagnosis = diagnose(&snapshot, &self.thresholds);
        let change = self
            .tracker
            .observe(diagnosis.clone(), started_at, self.clock.now());
        if let Some(change) = &change {
            tracing::info!(from = %change.from, to = %change.to, "verdict changed");
            let outage = !change.to.is_working() && change.to != Verdict::Unknown;
            self.fast_until = outage.then(|| Instant::now() + FAST_RECOVERY_WINDOW);
        }
        self.status.send_replace(Status {
            verdict: self.tracker.confirmed(),
            since: self.tracker.since(),
            diagnosis: self.tracker.diagnosis().cloned(),
            latest: Some(diagnosis.clone()),
            thresholds: self.thresholds.clone(),
        });
        // No subscriber is not an error: presenters come and go.
        if let Some(change) = change {
            let _ = self.changes.send(change);
        }
        let _ = self.checks.send(diagnosis);
    }

    /// Whether the authenticated query is due on a scheduled round.
    fn account_due(&self) -> bool {
        self.last_account
            .is_none_or(|last| last.elapsed() >= self.schedule.account_interval().max(MIN_INTERVAL))
    }

    /// The time from this round's start to the next one's.
    fn delay(&self) -> Duration {
        let fast = self.tracker.is_pending()
            || self.fast_until.is_some_and(|until| Instant::now() < until);
        let delay = if fast {
            self.schedule.recheck()
        } else {
            self.schedule.interval()
        };
        delay.max(MIN_INTERVAL)
    }

    /// Whether the wall clock ran more than [`WAKE_JUMP`] ahead of the monotonic clock since
    /// the last call; resets the reference point.
    fn slept(&mut self) -> bool {
        let (wall_then, mono_then) = self.marks;
        let (wall_now, mono_now) = (self.clock.now(), Instant::now());
        self.marks = (wall_now, mono_now);
        let wall = (wall_now - wall_then).to_std().unwrap_or(Duration::ZERO);
        wall.saturating_sub(mono_now - mono_then) > WAKE_JUMP
    }
}
