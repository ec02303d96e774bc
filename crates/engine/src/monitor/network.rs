//! Notices network changes and wakes from sleep and tells the monitors
//! ([`MonitorHandle::network_changed`]): they re-check at once and discard what they saw before.
//!
//! Two ways in, one rule. The watcher polls a cheap fingerprint of the network configuration
//! (interfaces and their addresses, the default route) every few seconds and reports when it
//! differs from the last one: the same few lines on every platform, a syscall or two a poll.
//! Where the operating system says something changed of its own accord ([`Notifications`]:
//! Windows' IP Helper notifications), the watcher looks as soon as the burst of notifications
//! settles instead of at its next poll; whether the network *changed* is still the fingerprint's
//! to say. A resume from sleep the OS reports is passed on outright: on Windows the monotonic
//! clock counts through sleep, so the monitor's own wake check (the wall clock jumping ahead of
//! it) cannot see one there. What goes into the fingerprint is the caller's closure, so the
//! device probe's own reader can be reused and tests can script it.

use super::MonitorHandle;
use dialtone_platform::events::{self, Subscription};

pub use dialtone_platform::events::SystemEvent;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A reasonable polling period: quick enough that a Wi-Fi switch is re-checked within seconds,
/// rare enough to be free.
pub const DEFAULT_POLL: Duration = Duration::from_secs(3);

/// How long the OS's notifications must be quiet before the watcher looks: a link that comes or
/// goes brings a burst (the interface, its addresses, its routes) within a few hundred
/// milliseconds, and one look after it sees the settled network rather than half of it.
pub const SETTLE: Duration = Duration::from_millis(500);

/// The longest a burst may put the look off: a network that keeps notifying is still looked at.
pub const SETTLE_MAX: Duration = Duration::from_secs(2);

/// Who is told of a changed network: a fixed list of monitors, or the line runner's current
/// ones (which change when a line restarts).
pub trait Listeners: Send + 'static {
    /// Tells each monitor that the network changed.
    fn network_changed(&self);
}

impl Listeners for Vec<MonitorHandle> {
    fn network_changed(&self) {
        for handle in self {
            handle.network_changed();
        }
    }
}

/// Notifications gathered until they settle: the debouncing, with the time passed in.
#[derive(Debug, Default, Clone)]
pub struct Burst {
    first: Option<Instant>,
    last: Option<Instant>,
    resumed: bool,
}

/// What a settled burst asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Look at the network: report it if the fingerprint changed.
    Look,
    /// The machine resumed: report it, whatever the fingerprint says.
    Resumed,
}

impl Burst {
    /// Notes `event`, heard at `now`.
    pub fn note(&mut self, event: SystemEvent, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.resumed |= event == SystemEvent::Resumed;
    }

    /// When the burst is due: [`SETTLE`] after its last notification, at most [`SETTLE_MAX`]
    /// after its first; `None` while nothing was heard.
    pub fn due(&self) -> Option<Instant> {
        Some((self.last? + SETTLE).min(self.first? + SETTLE_MAX))
    }

    /// The settled burst at `now`, if it is due, and a fresh start.
    pub fn take(&mut self, now: Instant) -> Option<Settled> {
        if self.due()? > now {
            return None;
        }
        let settled = if self.resumed {
            Settled::Resumed
        } else {
            Settled::Look
        };
        *self = Burst::default();
        Some(settled)
    }
}

/// The OS's notifications as flags, raised from its threads: a flood never queues up, and a
/// resume is never lost behind it.
#[derive(Default)]
struct Inbox {
    network: AtomicBool,
    resumed: AtomicBool,
    wake: Notify,
}

impl Inbox {
    fn raise(&self, event: SystemEvent) {
        let flag = match event {
            SystemEvent::NetworkChanged => &self.network,
            SystemEvent::Resumed => &self.resumed,
        };
        flag.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    fn take(&self) -> impl Iterator<Item = SystemEvent> {
        let network = self.network.swap(false, Ordering::SeqCst);
        let resumed = self.resumed.swap(false, Ordering::SeqCst);
        [
            network.then_some(SystemEvent::NetworkChanged),
            resumed.then_some(SystemEvent::Resumed),
        ]
        .into_iter()
        .flatten()
    }
}

/// What the operating system tells the watcher of its own accord, for as long as this lives.
pub struct Notifications {
    inbox: Arc<Inbox>,
    _subscription: Option<Subscription>,
}

impl Notifications {
    /// Subscribes to the OS's notifications where it sends them (Windows). Where it sends none
    /// (Linux) or refuses, the watcher polls alone, as it always did; a refusal is logged.
    pub fn subscribe() -> Notifications {
        let inbox = Arc::new(Inbox::default());
        let raise = Arc::clone(&inbox);
        let subscription = match events::subscribe(move |event| raise.raise(event)) {
            Ok(Some(subscription)) => {
                tracing::debug!(sources = ?subscription.sources(), "OS notifications subscribed");
                Some(subscription)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("network and resume notifications unavailable, polling only: {e}");
                None
            }
        };
        Notifications {
            inbox,
            _subscription: subscription,
        }
    }

    /// None: the watcher polls alone.
    pub fn none() -> Notifications {
        Notifications {
            inbox: Arc::default(),
            _subscription: None,
        }
    }

    /// A way to raise notifications as the OS would (tests, and a platform without them).
    pub fn sender(&self) -> NotificationSender {
        NotificationSender(Arc::clone(&self.inbox))
    }
}

/// Raises notifications on a [`Notifications`], as the OS's callbacks do.
#[derive(Clone)]
pub struct NotificationSender(Arc<Inbox>);

impl NotificationSender {
    /// Hands `event` to the watcher; returns at once.
    pub fn send(&self, event: SystemEvent) {
        self.0.raise(event);
    }
}

/// Starts a task that calls `fingerprint` every `poll` and reports each change to every monitor
/// of `handles` (the lines of one process share one network). The first fingerprint is only the
/// reference (the monitor checks at start anyway). The task ends when `shutdown` is cancelled.
pub fn spawn_network_watcher<L, F, T>(
    handles: L,
    poll: Duration,
    fingerprint: F,
    shutdown: CancellationToken,
) -> JoinHandle<()>
where
    L: Listeners,
    F: FnMut() -> T + Send + 'static,
    T: PartialEq + Send + 'static,
{
    spawn_network_watcher_with(handles, poll, fingerprint, Notifications::none(), shutdown)
}

/// [`spawn_network_watcher`], also listening to `notifications`: a settled burst of them makes
/// the watcher look at once, a resume is reported outright. They live as long as the task.
pub fn spawn_network_watcher_with<L, F, T>(
    handles: L,
    poll: Duration,
    mut fingerprint: F,
    notifications: Notifications,
    shutdown: CancellationToken,
) -> JoinHandle<()>
where
    L: Listeners,
    F: FnMut() -> T + Send + 'static,
    T: PartialEq + Send + 'static,
{
    tokio::spawn(async move {
        let inbox = Arc::clone(&notifications.inbox);
        let mut last = fingerprint();
        let mut ticker = tokio::time::interval(poll.max(Duration::from_millis(100)));
        // After a stall (suspend), one prompt poll is enough; a burst of catch-up ticks is not.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate
        let mut burst = Burst::default();
        loop {
            let due = burst.due();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = inbox.wake.notified() => {
                    let now = Instant::now();
                    inbox.take().for_each(|event| burst.note(event, now));
                    continue;
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    match burst.take(Instant::now()) {
                        None => continue,
                        Some(Settled::Resumed) => {
                            tracing::info!("resumed from sleep: re-checking");
                            handles.network_changed();
                            last = fingerprint();
                            continue;
                        }
                        Some(Settled::Look) => {}
                    }
                }
                _ = ticker.tick() => {}
            }
            let now = fingerprint();
            if now != last {
                tracing::info!("network configuration changed");
                handles.network_changed();
                last = now;
            }
        }
        // The subscription ends with the watcher, not before.
        drop(notifications);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn nothing_heard_is_never_due() {
        let mut burst = Burst::default();
        assert_eq!(burst.due(), None);
        assert_eq!(burst.take(Instant::now()), None);
    }

    #[test]
    fn a_burst_settles_after_its_last_notification() {
        let t0 = Instant::now();
        let mut burst = Burst::default();
        for ms in [0, 200, 400] {
            burst.note(SystemEvent::NetworkChanged, at(t0, ms));
        }
        assert_eq!(burst.due(), Some(at(t0, 900)));
        assert_eq!(burst.take(at(t0, 899)), None, "not yet settled");
        assert_eq!(burst.take(at(t0, 900)), Some(Settled::Look));
        assert_eq!(burst.due(), None, "taken: a fresh start");
    }

    #[test]
    fn a_burst_that_never_settles_is_looked_at_all_the_same() {
        let t0 = Instant::now();
        let mut burst = Burst::default();
        for ms in (0..=5000).step_by(300) {
            burst.note(SystemEvent::NetworkChanged, at(t0, ms));
            if burst.take(at(t0, ms)).is_some() {
                assert_eq!(ms, 2100, "the first notification at or after SETTLE_MAX");
                return;
            }
        }
        panic!("a notification every 300 ms was never looked at");
    }

    #[test]
    fn a_resume_in_a_burst_wins_over_network_changes() {
        let t0 = Instant::now();
        let mut burst = Burst::default();
        burst.note(SystemEvent::NetworkChanged, t0);
        burst.note(SystemEvent::Resumed, at(t0, 100));
        burst.note(SystemEvent::NetworkChanged, at(t0, 200));
        assert_eq!(burst.take(at(t0, 700)), Some(Settled::Resumed));
        burst.note(SystemEvent::NetworkChanged, at(t0, 1000));
        assert_eq!(
            burst.take(at(t0, 1500)),
            Some(Settled::Look),
            "the resume was taken with its burst"
        );
    }

    #[test]
    fn the_inbox_keeps_one_flag_per_kind_however_many_arrive() {
        let inbox = Inbox::default();
        for _ in 0..1000 {
            inbox.raise(SystemEvent::NetworkChanged);
        }
        inbox.raise(SystemEvent::Resumed);
        let heard: Vec<_> = inbox.take().collect();
        assert_eq!(heard, [SystemEvent::NetworkChanged, SystemEvent::Resumed]);
        assert_eq!(inbox.take().count(), 0);
    }
}
