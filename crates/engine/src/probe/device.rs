//! The device probe: does this computer have a usable interface and a default route?
//!
//! What the operating system says about both comes through the platform seam
//! ([`dialtone_platform::net`]): on Linux the interface state from sysfs and the default route
//! from the kernel's routing tables. Here it becomes the observation diagnosis reads; the same
//! reading is the network watcher's fingerprint.

use dialtone_core::observation::{DefaultRoute, DeviceObservation, Interface};
use dialtone_platform::net;

/// Looks at this computer's interfaces and routing table. Cheap: a few small file reads.
pub fn probe() -> DeviceObservation {
    let interfaces = net::interfaces()
        .into_iter()
        .map(|i| Interface {
            name: i.name,
            addresses: i.addresses,
        })
        .collect();
    let default_route = net::default_route().map(|r| DefaultRoute {
        interface: r.interface,
        gateway: r.gateway,
    });
    DeviceObservation {
        interfaces,
        default_route,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_in_a_stable_order() {
        // The network watcher compares whole observations: the same network must look the
        // same on every call.
        let first = probe();
        for interface in &first.interfaces {
            assert!(
                interface.addresses.windows(2).all(|w| w[0] < w[1]),
                "{interface:?}"
            );
        }
        for _ in 0..20 {
            assert_eq!(probe().interfaces, first.interfaces);
        }
    }
}
