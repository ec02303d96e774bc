//! Linux sends dialtone nothing of its own accord here: the engine polls the network's
//! fingerprint (interfaces and the default route, a few reads of `/sys` and `/proc` every few
//! seconds) and reads a wake from the wall clock running ahead of the monotonic one, which
//! stops while the machine sleeps. Netlink and logind's `PrepareForSleep` would say it sooner;
//! polling is what has been measured to be enough.

use crate::events::SystemEvent;
use std::io;

/// No subscription can exist on Linux.
pub(crate) enum Subscription {}

impl Subscription {
    pub(crate) fn sources(&self) -> &[&'static str] {
        match *self {}
    }
}

pub(crate) fn subscribe(
    _deliver: Box<dyn Fn(SystemEvent) + Send + Sync>,
) -> io::Result<Option<Subscription>> {
    Ok(None)
}
