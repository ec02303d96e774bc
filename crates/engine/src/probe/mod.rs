//! Probes: the I/O side of dialtone. Each one checks one layer and returns an observation.
//!
//! A timeout or an error reply is a finding, recorded in the observation; a probe returns `Err`
//! only when it could not run at all (bad configuration, a socket that could not be bound).
//! [`Prober`] is the one seam between I/O and the monitor: tests of the scheduler plug in a
//! scripted prober, everything else uses [`line::LineProber`].

pub mod device;
pub mod gateway;
pub mod internet;
pub mod line;
pub mod locate;
pub mod router;
pub mod sip;

use dialtone_core::observation::Snapshot;
use std::future::Future;

/// What one round should include beyond the cheap, unauthenticated checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProbeScope {
    /// Run the authenticated REGISTER query this round (it is rate-limited by the monitor).
    pub account: bool,
}

/// Runs one round of probes. The single I/O seam of the engine.
pub trait Prober: Send + Sync + 'static {
    /// Probes every layer (the account only when `scope.account`) and reports what it saw.
    fn probe(&self, scope: ProbeScope) -> impl Future<Output = Snapshot> + Send;

    /// The network changed or the machine woke: forget what was learnt on the old network
    /// (where the router is, its login challenge) before the next round. Nothing by default.
    fn network_changed(&self) {}
}
