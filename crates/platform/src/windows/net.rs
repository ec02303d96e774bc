//! The network as Windows tells it: adapters and their addresses from `GetAdaptersAddresses`,
//! the default route from `GetIpForwardTable2`, and the gateway's ICMP echo through
//! `IcmpSendEcho` (which needs no privileges on Windows). The decisions over those tables are
//! pure functions, tested on any OS; the calls that fill them are compiled on Windows only.
//! IPv6 gateways get no ICMP echo here (`Err`): the probe's TCP race stands in.

use std::net::IpAddr;

use crate::net::{Interface, Route};

/// An adapter as `GetAdaptersAddresses` describes it, reduced to what the device probe needs.
#[derive(Debug, Clone)]
pub(crate) struct Adapter {
    /// The name Windows shows the user ("Ethernet", "WLAN").
    pub(crate) name: String,
    /// `OperStatus == IfOperStatusUp`.
    pub(crate) up: bool,
    /// `IfType == IF_TYPE_SOFTWARE_LOOPBACK`.
    pub(crate) loopback: bool,
    /// The IPv4 interface index (`IfIndex`).
    pub(crate) index_v4: u32,
    /// The IPv6 interface index (`Ipv6IfIndex`).
    pub(crate) index_v6: u32,
    /// Its unicast addresses.
    pub(crate) addresses: Vec<IpAddr>,
}

/// The interfaces the seam reports: up, not loopback, with an address other than loopback;
/// addresses sorted without duplicates and the list sorted by name, so that two calls on an
/// unchanged network compare equal.
pub(crate) fn usable_interfaces(adapters: &[Adapter]) -> Vec<Interface> {
    let mut interfaces: Vec<Interface> = adapters
        .iter()
        .filter(|a| a.up && !a.loopback)
        .map(|a| {
            let mut addresses = a.addresses.clone();
            addresses.sort_unstable();
            addresses.dedup();
            Interface {
                name: a.name.clone(),
                addresses,
            }
        })
        .filter(|i| i.addresses.iter().any(|a| !a.is_loopback()))
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    interfaces
}

/// A row of `GetIpForwardTable2`, reduced to what the default route needs.
#[derive(Debug, Clone)]
pub(crate) struct RouteRow {
    /// `DestinationPrefix.PrefixLength`: 0 for a default route.
    pub(crate) prefix_len: u8,
    /// The next hop; the unspecified address on an on-link route.
    pub(crate) next_hop: IpAddr,
    /// `InterfaceIndex`.
    pub(crate) interface_index: u32,
    /// `Metric` (the route's own; Windows adds the interface's when it chooses).
    pub(crate) metric: u32,
}

/// The default route: among prefix-length-0 routes on an interface that is up, IPv4 before
/// IPv6, the lowest metric; the interface named as the adapter list names it. A next hop of
/// `0.0.0.0`/`::` means a point-to-point link (no gateway to ping).
pub(crate) fn choose_default_route(rows: &[RouteRow], adapters: &[Adapter]) -> Option<Route> {
    let adapter_of = |row: &RouteRow| {
        adapters.iter().find(|a| {
            a.up && !a.loopback
                && match row.next_hop {
                    IpAddr::V4(_) => a.index_v4 == row.interface_index,
                    IpAddr::V6(_) => a.index_v6 == row.interface_index,
                }
        })
    };
    rows.iter()
        .filter(|r| r.prefix_len == 0)
        .filter_map(|r| adapter_of(r).map(|a| (r, a)))
        .min_by_key(|(r, _)| (r.next_hop.is_ipv6(), r.metric))
        .map(|(r, a)| Route {
            interface: a.name.clone(),
            gateway: (!r.next_hop.is_unspecified()).then_some(r.next_hop),
        })
}

/// `IP_SUCCESS` in an `ICMP_ECHO_REPLY`.
pub(crate) const IP_SUCCESS: u32 = 0;
/// `IP_REQ_TIMED_OUT`.
pub(crate) const IP_REQ_TIMED_OUT: u32 = 11010;

/// What an ICMP echo reply's status means: `Some(true)` answered, `Some(false)` timed out,
/// `None` anything else (unreachable, TTL expired: the status code goes into the failure).
pub(crate) fn echo_answered(status: u32) -> Option<bool> {
    match status {
        IP_SUCCESS => Some(true),
        IP_REQ_TIMED_OUT => Some(false),
        _ => None,
    }
}

#[cfg(windows)]
pub(crate) use ffi::{default_route, icmp_echo, interfaces, ip_of_inet};

/// The IP Helper calls. Each copies what it needs out of the OS's buffers before freeing them.
#[cfg(windows)]
#[allow(unsafe_code)] // Win32 calls: the buffers are sized by the OS and read within bounds.
mod ffi {
    use super::{choose_default_route, echo_answered, usable_interfaces, Adapter, RouteRow};
    use crate::net::{Echo, Interface, Route};
    use std::io;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::time::Duration;
    use windows_sys::Win32::Foundation::{ERROR_BUFFER_OVERFLOW, INVALID_HANDLE_VALUE, NO_ERROR};
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        FreeMibTable, GetAdaptersAddresses, GetIpForwardTable2, IcmpCloseHandle, IcmpCreateFile,
        IcmpSendEcho, GAA_FLAG_SKIP_ANYCAST, GAA_FLAG_SKIP_DNS_SERVER, GAA_FLAG_SKIP_MULTICAST,
        ICMP_ECHO_REPLY, IF_TYPE_SOFTWARE_LOOPBACK, IP_ADAPTER_ADDRESSES_LH, MIB_IPFORWARD_TABLE2,
    };
    use windows_sys::Win32::NetworkManagement::Ndis::IfOperStatusUp;
    use windows_sys::Win32::Networking::WinSock::{
        AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_INET,
    };

    pub(crate) fn interfaces() -> Vec<Interface> {
        usable_interfaces(&adapters())
    }

    pub(crate) fn default_route() -> Option<Route> {
        choose_default_route(&route_rows(), &adapters())
    }

    /// Every adapter; an empty list when the OS will not say (read as "no network").
    fn adapters() -> Vec<Adapter> {
        let flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
        // 16 KiB is Microsoft's suggested start; grown to what the OS asks for on overflow.
        let mut size: u32 = 16 * 1024;
        for _ in 0..4 {
            // u64 elements: the buffer must be aligned for IP_ADAPTER_ADDRESSES_LH.
            let mut buf = vec![0u64; (size as usize).div_ceil(8)];
            let head = buf.as_mut_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>();
            let rc = unsafe {
                GetAdaptersAddresses(
                    u32::from(AF_UNSPEC),
                    flags,
                    std::ptr::null(),
                    head,
                    &mut size,
                )
            };
            if rc == ERROR_BUFFER_OVERFLOW {
                continue;
            }
            if rc != NO_ERROR {
                // Unreadable reads as "no network", which the device probe reports as such.
                return Vec::new();
            }
            let mut found = Vec::new();
            let mut next = head.cast_const();
            while !next.is_null() {
                let adapter = unsafe { &*next };
                let mut addresses = Vec::new();
                let mut unicast = adapter.FirstUnicastAddress.cast_const();
                while !unicast.is_null() {
                    let u = unsafe { &*unicast };
                    if let Some(ip) = unsafe { ip_of_sockaddr(u.Address.lpSockaddr) } {
                        addresses.push(ip);
                    }
                    unicast = u.Next;
                }
                found.push(Adapter {
                    name: unsafe { wide_to_string(adapter.FriendlyName) },
                    up: adapter.OperStatus == IfOperStatusUp,
                    loopback: adapter.IfType == IF_TYPE_SOFTWARE_LOOPBACK,
                    index_v4: unsafe { adapter.Anonymous1.Anonymous.IfIndex },
                    index_v6: adapter.Ipv6IfIndex,
                    addresses,
                });
                next = adapter.Next;
            }
            return found;
        }
        Vec::new()
    }

    /// The routing table's rows, both families.
    fn route_rows() -> Vec<RouteRow> {
        let mut table: *mut MIB_IPFORWARD_TABLE2 = std::ptr::null_mut();
        if unsafe { GetIpForwardTable2(AF_UNSPEC, &mut table) } != NO_ERROR || table.is_null() {
            return Vec::new();
        }
        let count = unsafe { (*table).NumEntries } as usize;
        let first = unsafe {
            std::ptr::addr_of!((*table).Table)
                .cast::<windows_sys::Win32::NetworkManagement::IpHelper::MIB_IPFORWARD_ROW2>()
        };
        let mut rows = Vec::with_capacity(count);
        for i in 0..count {
            let row = unsafe { &*first.add(i) };
            if let Some(next_hop) = ip_of_inet(&row.NextHop) {
                rows.push(RouteRow {
                    prefix_len: row.DestinationPrefix.PrefixLength,
                    next_hop,
                    interface_index: row.InterfaceIndex,
                    metric: row.Metric,
                });
            }
        }
        unsafe { FreeMibTable(table.cast()) };
        rows
    }

    /// The address in a `SOCKADDR_INET` (also what the change notifications' rows carry).
    pub(crate) fn ip_of_inet(addr: &SOCKADDR_INET) -> Option<IpAddr> {
        // The union's family field is shared by both variants.
        match unsafe { addr.si_family } {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(unsafe {
                addr.Ipv4.sin_addr.S_un.S_addr
            })))),
            AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(unsafe {
                addr.Ipv6.sin6_addr.u.Byte
            }))),
            _ => None,
        }
    }

    /// # Safety
    /// `sa` is null or points to a socket address as long as its family says.
    unsafe fn ip_of_sockaddr(sa: *const SOCKADDR) -> Option<IpAddr> {
        if sa.is_null() {
            return None;
        }
        match unsafe { (*sa).sa_family } {
            AF_INET => {
                let v4 = unsafe { &*sa.cast::<SOCKADDR_IN>() };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(unsafe {
                    v4.sin_addr.S_un.S_addr
                }))))
            }
            AF_INET6 => {
                let v6 = unsafe { &*sa.cast::<SOCKADDR_IN6>() };
                Some(IpAddr::V6(Ipv6Addr::from(unsafe { v6.sin6_addr.u.Byte })))
            }
            _ => None,
        }
    }

    /// # Safety
    /// `text` is null or a NUL-terminated UTF-16 string.
    unsafe fn wide_to_string(text: *const u16) -> String {
        if text.is_null() {
            return String::new();
        }
        let mut len = 0;
        while unsafe { *text.add(len) } != 0 {
            len += 1;
        }
        String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, len) })
    }

    pub(crate) async fn icmp_echo(ip: IpAddr, timeout: Duration) -> io::Result<Echo> {
        let IpAddr::V4(v4) = ip else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no ICMPv6 echo on Windows here",
            ));
        };
        // IcmpSendEcho blocks for up to the timeout: off the async workers.
        tokio::task::spawn_blocking(move || echo_v4(v4, timeout))
            .await
            .map_err(io::Error::other)?
    }

    fn echo_v4(ip: Ipv4Addr, timeout: Duration) -> io::Result<Echo> {
        let handle = unsafe { IcmpCreateFile() };
        if handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        let payload = *b"dialtone";
        // A reply, its payload, and the 8 bytes of an ICMP error Microsoft asks room for.
        let mut reply =
            vec![0u64; (size_of::<ICMP_ECHO_REPLY>() + payload.len() + 8).div_ceil(8) + 1];
        let reply_size = (reply.len() * 8) as u32;
        let millis = u32::try_from(timeout.as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        let count = unsafe {
            IcmpSendEcho(
                handle,
                u32::from(ip).to_be(),
                payload.as_ptr().cast(),
                payload.len() as u16,
                std::ptr::null(),
                reply.as_mut_ptr().cast(),
                reply_size,
                millis,
            )
        };
        let error = io::Error::last_os_error();
        unsafe { IcmpCloseHandle(handle) };
        if count == 0 {
            // IP_REQ_TIMED_OUT comes back as the last error when nothing answered.
            return Ok(
                match echo_answered(error.raw_os_error().unwrap_or(-1) as u32) {
                    Some(false) => Echo::TimedOut,
                    _ => Echo::Failed(error),
                },
            );
        }
        let answer = unsafe { &*reply.as_ptr().cast::<ICMP_ECHO_REPLY>() };
        Ok(match echo_answered(answer.Status) {
            Some(true) => Echo::Replied {
                rtt: Duration::from_millis(u64::from(answer.RoundTripTime)),
            },
            Some(false) => Echo::TimedOut,
            None => Echo::Failed(io::Error::other(format!(
                "ICMP echo to {ip}: status {}",
                answer.Status
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn adapter(name: &str, up: bool, index: u32, addresses: &[IpAddr]) -> Adapter {
        Adapter {
            name: name.into(),
            up,
            loopback: false,
            index_v4: index,
            index_v6: index + 100,
            addresses: addresses.to_vec(),
        }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn interfaces_are_the_up_non_loopback_ones_in_a_stable_order() {
        let lan = v4(192, 168, 178, 20);
        let link_local: IpAddr = "fe80::1".parse().unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let mut loopback = adapter("Loopback Pseudo-Interface 1", true, 1, &[v4(127, 0, 0, 1)]);
        loopback.loopback = true;
        let adapters = [
            adapter("WLAN", true, 7, &[link_local, lan, lan]),
            adapter("Ethernet", false, 4, &[v4(10, 0, 0, 2)]),
            loopback,
            adapter("Bluetooth", true, 9, &[]),
            adapter("Ethernet 2", true, 5, &[v4(10, 1, 0, 2)]),
        ];
        let found = usable_interfaces(&adapters);
        let names: Vec<&str> = found.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["Ethernet 2", "WLAN"]);
        assert_eq!(found[1].addresses, [lan, link_local]);
    }

    #[test]
    fn the_default_route_is_the_cheapest_ipv4_one_on_an_up_interface() {
        let adapters = [
            adapter("Ethernet", true, 4, &[v4(192, 168, 1, 2)]),
            adapter("WLAN", true, 7, &[v4(192, 168, 178, 20)]),
            adapter("VPN", false, 9, &[v4(10, 8, 0, 2)]),
        ];
        let row = |prefix_len, next_hop, interface_index, metric| RouteRow {
            prefix_len,
            next_hop,
            interface_index,
            metric,
        };
        let v6_gw: IpAddr = "fe80::1".parse().unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let rows = [
            row(24, v4(0, 0, 0, 0), 4, 1),
            row(0, v6_gw, 104, 1),
            row(0, v4(192, 168, 178, 1), 7, 35),
            row(0, v4(192, 168, 1, 1), 4, 25),
            // Cheaper, but its interface is down.
            row(0, v4(10, 8, 0, 1), 9, 1),
        ];
        assert_eq!(
            choose_default_route(&rows, &adapters),
            Some(Route {
                interface: "Ethernet".into(),
                gateway: Some(v4(192, 168, 1, 1)),
            })
        );
        // IPv6 only when there is no IPv4 default route; an on-link route has no gateway.
        assert_eq!(
            choose_default_route(&rows[..2], &adapters),
            Some(Route {
                interface: "Ethernet".into(),
                gateway: Some(v6_gw),
            })
        );
        assert_eq!(
            choose_default_route(&[row(0, v4(0, 0, 0, 0), 7, 5)], &adapters),
            Some(Route {
                interface: "WLAN".into(),
                gateway: None,
            })
        );
        assert_eq!(choose_default_route(&rows[..1], &adapters), None);
    }

    #[test]
    fn echo_statuses_mean_answered_silent_or_failed() {
        assert_eq!(echo_answered(IP_SUCCESS), Some(true));
        assert_eq!(echo_answered(IP_REQ_TIMED_OUT), Some(false));
        // IP_DEST_HOST_UNREACHABLE
        assert_eq!(echo_answered(11003), None);
    }

    // The IP Helper calls themselves (under wine: the host's interfaces and routes as wine
    // reports them): whatever the machine has, the seam's promises hold.
    #[cfg(windows)]
    #[test]
    fn the_ip_helper_tables_keep_the_seams_promises() {
        let found = interfaces();
        assert!(found.windows(2).all(|w| w[0].name < w[1].name), "{found:?}");
        assert!(
            found
                .iter()
                .all(|i| i.addresses.iter().any(|a| !a.is_loopback())),
            "{found:?}"
        );
        if let Some(route) = default_route() {
            assert!(
                found.iter().any(|i| i.name == route.interface),
                "{route:?} leaves by an interface that is not up: {found:?}"
            );
        }
        assert_eq!(found, interfaces(), "two calls on one network differ");
    }

    #[cfg(windows)]
    #[tokio::test]
    async fn loopback_answers_an_icmp_echo() {
        use crate::net::Echo;
        let echo = icmp_echo(
            Ipv4Addr::LOCALHOST.into(),
            std::time::Duration::from_secs(2),
        )
        .await
        .unwrap_or_else(|e| panic!("no ICMP echo at all: {e}"));
        assert!(matches!(echo, Echo::Replied { .. }), "{echo:?}");
    }
}
