//! The network as Linux tells it: interfaces and their state from sysinfo and
//! `/sys/class/net/<if>/{operstate,flags}`, the default route from `/proc/net/route` (IPv4) and
//! `/proc/net/ipv6_route`, and the ICMP echo through an unprivileged ping socket (allowed to the
//! groups in `net.ipv4.ping_group_range`). The parsers are pure functions, tested on fixture
//! text.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::net::{Echo, Interface, Route};

/// `IFF_UP` from `<linux/if.h>`: the administrator brought the interface up.
const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK`.
const IFF_LOOPBACK: u32 = 0x8;
/// `RTF_UP`: the route is usable.
const RTF_UP: u32 = 0x0001;
/// `RTF_REJECT`: an unreachable/prohibit route (the kernel's `::/0` on `lo` is one).
const RTF_REJECT: u32 = 0x0200;

pub(crate) fn interfaces() -> Vec<Interface> {
    let networks = sysinfo::Networks::new_with_refreshed_list();
    let mut interfaces: Vec<Interface> = networks
        .list()
        .iter()
        .filter(|(name, _)| is_usable(name))
        .map(|(name, data)| {
            let mut addresses: Vec<_> = data.ip_networks().iter().map(|n| n.addr).collect();
            // sysinfo collects them from a HashSet, so their order changes from one call to the
            // next; the network watcher compares observations, and an unsorted list made it see
            // a "network change" on about every other poll, abandoning rounds in flight.
            addresses.sort_unstable();
            addresses.dedup();
            Interface {
                name: name.clone(),
                addresses,
            }
        })
        .filter(|i| i.addresses.iter().any(|a| !a.is_loopback()))
        .collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    interfaces
}

fn is_usable(name: &str) -> bool {
    let dir = std::path::Path::new("/sys/class/net").join(name);
    let operstate = std::fs::read_to_string(dir.join("operstate")).unwrap_or_default();
    let flags = std::fs::read_to_string(dir.join("flags")).unwrap_or_default();
    interface_is_up(&operstate, &flags)
}

pub(crate) fn default_route() -> Option<Route> {
    // Unreadable (a sandbox without /proc) reads as "no route", which diagnosis then weighs
    // with everything else it sees, rather than stopping the probe.
    let v4 = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    // IPv4 first: a home line's SIP almost always runs over it, and an IPv6 default route
    // (from router advertisements) often exists while the IPv4 uplink is what matters.
    parse_proc_net_route(&v4).or_else(|| parse_proc_net_ipv6_route(&v6))
}

pub(crate) async fn icmp_echo(ip: IpAddr, timeout: Duration) -> io::Result<Echo> {
    let (domain, protocol, request, reply) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8),
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(protocol))?;
    socket.set_nonblocking(true)?;
    // A ping socket is a datagram socket: tokio's UdpSocket only issues send/recv on it.
    let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket))?;
    let start = Instant::now();
    if let Err(e) = socket.connect(SocketAddr::new(ip, 0)).await {
        return Ok(Echo::Failed(e));
    }
    // The kernel fills in the identifier (the socket's "port") and the checksum.
    let sequence: u16 = rand::random();
    let [s0, s1] = sequence.to_be_bytes();
    let packet = [
        request, 0, 0, 0, 0, 0, s0, s1, b'd', b'i', b'a', b'l', b't', b'o', b'n', b'e',
    ];
    if let Err(e) = socket.send(&packet).await {
        return Ok(Echo::Failed(e));
    }
    let wait = async {
        let mut buf = [0u8; 1500];
        loop {
            match socket.recv(&mut buf).await {
                Ok(n) if n >= 8 && buf[0] == reply && buf[6..8] == [s0, s1] => {
                    return Echo::Replied {
                        rtt: start.elapsed(),
                    }
                }
                // Someone else's reply or a stray packet: keep waiting.
                Ok(_) => continue,
                Err(e) => return Echo::Failed(e),
            }
        }
    };
    Ok(tokio::time::timeout(timeout, wait)
        .await
        .unwrap_or(Echo::TimedOut))
}

/// Whether an interface counts as up, from the text of its `operstate` and `flags` files.
///
/// `operstate` is `unknown` for many tun/virtual devices that work fine, so `unknown` counts
/// when the administrative `IFF_UP` flag is set; loopback never counts.
pub(crate) fn interface_is_up(operstate: &str, flags: &str) -> bool {
    let flags = flags.trim();
    let Ok(flags) = u32::from_str_radix(flags.trim_start_matches("0x"), 16) else {
        return false;
    };
    if flags & IFF_LOOPBACK != 0 || flags & IFF_UP == 0 {
        return false;
    }
    matches!(operstate.trim(), "up" | "unknown")
}

/// The IPv4 default route (destination and mask 0) with the lowest metric from the text of
/// `/proc/net/route`, or `None` if there is none. The kernel prints each address as the
/// 32-bit word holding its network-order bytes, in host byte order (so `010200C0` is
/// 192.0.2.1 on little-endian machines); a gateway of 0 means a point-to-point route without
/// a next hop.
pub(crate) fn parse_proc_net_route(text: &str) -> Option<Route> {
    // The first line is the header.
    lowest_metric(text.lines().skip(1), 8, |f| {
        let (Some(dest), Some(gw), Some(flags), Some(metric), Some(mask)) = (
            hex_u32(f[1]),
            hex_u32(f[2]),
            hex_u32(f[3]),
            f[6].parse::<u32>().ok(),
            hex_u32(f[7]),
        ) else {
            return None;
        };
        if dest != 0 || mask != 0 || flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
            return None;
        }
        let gateway = (gw != 0).then(|| IpAddr::V4(Ipv4Addr::from(gw.to_ne_bytes())));
        let route = Route {
            interface: f[0].to_string(),
            gateway,
        };
        Some((metric, route))
    })
}

/// The IPv6 default route (`::/0`) with the lowest metric from the text of
/// `/proc/net/ipv6_route`, skipping reject routes (the kernel keeps an unreachable `::/0` on
/// `lo`). Fields: destination, prefix length, source, source prefix, next hop, metric,
/// refcount, use, flags, interface; addresses are 32 hex digits in network order.
pub(crate) fn parse_proc_net_ipv6_route(text: &str) -> Option<Route> {
    lowest_metric(text.lines(), 10, |f| {
        let (Some(dest), Some(prefix), Some(next_hop), Some(metric), Some(flags)) = (
            hex_u128(f[0]),
            hex_u32(f[1]),
            hex_u128(f[4]),
            hex_u32(f[5]),
            hex_u32(f[8]),
        ) else {
            return None;
        };
        if dest != 0 || prefix != 0 || flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
            return None;
        }
        if f[9] == "lo" {
            return None;
        }
        let gateway = (next_hop != 0).then(|| IpAddr::V6(Ipv6Addr::from(next_hop)));
        let route = Route {
            interface: f[9].to_string(),
            gateway,
        };
        Some((metric, route))
    })
}

/// The route with the lowest metric (the first of equals) among `lines`, each split into
/// whitespace-separated fields; lines with fewer than `fields` fields are skipped, and `route`
/// reads the rest (`None`: not a usable default route).
fn lowest_metric<'a>(
    lines: impl Iterator<Item = &'a str>,
    fields: usize,
    route: impl Fn(&[&str]) -> Option<(u32, Route)>,
) -> Option<Route> {
    lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < fields {
                return None;
            }
            route(&f)
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, r)| r)
}

fn hex_u32(s: &str) -> Option<u32> {
    u32::from_str_radix(s, 16).ok()
}

fn hex_u128(s: &str) -> Option<u128> {
    if s.len() != 32 {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT";

    fn v4(lines: &[&str]) -> String {
        let mut s = String::from(HEADER);
        for l in lines {
            s.push('\n');
            s.push_str(l);
        }
        s.push('\n');
        s
    }

    #[test]
    fn reads_the_ipv4_default_route() {
        let text = v4(&[
            "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
        ]);
        assert_eq!(
            parse_proc_net_route(&text),
            Some(Route {
                interface: "eth0".into(),
                gateway: Some("192.0.2.1".parse().expect("ip")),
            })
        );
    }

    #[test]
    fn lowest_metric_wins() {
        // Wi-Fi (metric 600) listed first, cable (100) second: cable is used.
        let text = v4(&[
            "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
            "eth0\t00000000\t01B2A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
            "eth0\t00B2A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0",
        ]);
        assert_eq!(
            parse_proc_net_route(&text),
            Some(Route {
                interface: "eth0".into(),
                gateway: Some("192.168.178.1".parse().expect("ip")),
            })
        );
    }

    #[test]
    fn no_default_route() {
        let text = v4(&["eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0"]);
        assert_eq!(parse_proc_net_route(&text), None);
        assert_eq!(parse_proc_net_route(""), None);
        assert_eq!(parse_proc_net_route(HEADER), None);
        // A default route that is not up does not count either.
        let down = v4(&["eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0"]);
        assert_eq!(parse_proc_net_route(&down), None);
    }

    #[test]
    fn point_to_point_has_no_gateway() {
        let text = v4(&["tun0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0"]);
        assert_eq!(
            parse_proc_net_route(&text),
            Some(Route {
                interface: "tun0".into(),
                gateway: None,
            })
        );
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let text = v4(&[
            "eth0\tzzzz\t010200C0\t0003",
            "\u{0}\u{1}",
            "ppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0",
        ]);
        assert_eq!(
            parse_proc_net_route(&text).map(|r| r.interface),
            Some("ppp0".into())
        );
    }

    /// Shaped like a real machine's table: a real `::/0` via fd00::1 on eth0 and the kernel's
    /// reject `::/0` on lo with metric ffffffff.
    const V6: &str = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";

    #[test]
    fn reads_the_ipv6_default_route_and_skips_reject_routes() {
        assert_eq!(
            parse_proc_net_ipv6_route(V6),
            Some(Route {
                interface: "eth0".into(),
                gateway: Some("fd00::1".parse().expect("ip")),
            })
        );
        let only_reject: String = V6
            .lines()
            .filter(|l| l.ends_with("lo"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_proc_net_ipv6_route(&only_reject), None);
    }

    #[test]
    fn ipv6_lowest_metric_wins() {
        let text = "\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000600 00000002 00000000 00000003    wlan0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000002 00000064 00000002 00000000 00000003     eth0
";
        assert_eq!(
            parse_proc_net_ipv6_route(text),
            Some(Route {
                interface: "eth0".into(),
                gateway: Some("fe80::2".parse().expect("ip")),
            })
        );
    }

    #[test]
    fn interface_state() {
        assert!(interface_is_up("up\n", "0x1003\n"));
        // tun devices: operstate unknown, IFF_UP set.
        assert!(interface_is_up("unknown\n", "0x1091\n"));
        assert!(!interface_is_up("unknown\n", "0x1090\n"));
        assert!(!interface_is_up("down\n", "0x1003\n"));
        assert!(!interface_is_up("dormant\n", "0x1003\n"));
        // Loopback is up but never usable for the internet.
        assert!(!interface_is_up("unknown\n", "0x9\n"));
        assert!(!interface_is_up("up", "garbage"));
    }
}
