//! Notices network changes by polling a cheap fingerprint of the network configuration and
//! tells the monitors ([`MonitorHandle::network_changed`]) when it differs from the last one.
//!
//! Polling is used instead of netlink/route-socket subscriptions because it is the same few
//! lines on every platform and costs a syscall or two every few seconds. What goes into the
//! fingerprint (interfaces and their addresses, the default route) is the caller's closure, so
//! the device probe's own reader can be reused and tests can script it.

use super::MonitorHandle;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A reasonable polling period: quick enough that a Wi-Fi switch is re-checked within seconds,
/// rare enough to be free.
pub const DEFAULT_POLL: Duration = Duration::from_secs(3);

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

/// Starts a task that calls `fingerprint` every `poll` and reports each change to every monitor
/// of `handles` (the lines of one process share one network). The
/// first fingerprint is only the reference (the monitor checks at start anyway). The task ends
/// when `shutdown` is cancelled.
pub fn spawn_network_watcher<L, F, T>(
    handles: L,
    poll: Duration,
    mut fingerprint: F,
    shutdown: CancellationToken,
) -> JoinHandle<()>
where
    L: Listeners,
    F: FnMut() -> T + Send + 'static,
    T: PartialEq + Send + 'static,
{
    tokio::spawn(async move {
        let mut last = fingerprint();
        let mut ticker = tokio::time::interval(poll.max(Duration::from_millis(100)));
        // After a stall (suspend), one prompt poll is enough; a burst of catch-up ticks is not.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let now = fingerprint();
            if now != last {
                tracing::info!("network configuration changed");
                handles.network_changed();
                last = now;
            }
        }
    })
}
