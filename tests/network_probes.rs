//! The device, gateway and internet probes against real sockets: listeners and closed ports
//! on loopback, a tiny HTTP server, dnsmasq for anchor names, and network namespaces (created
//! and deleted here) for unroutable and silent hosts. No packet leaves for a real
//! non-loopback address outside those namespaces.

use dialtone_testkit as support;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use dialtone_core::address::parse_anchor;
use dialtone_core::observation::{
    DnsOutcome, GatewaySource, InternetObservation, Reach, ReachMethod,
};
use dialtone_engine::probe::internet::InternetSettings;
use dialtone_engine::probe::locate::Resolver;
use dialtone_engine::probe::{device, gateway, internet};
use support::dns::Dnsmasq;
use support::netns::{is_root, run_in};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_millis(800);

/// A namespace with only `lo` (up), deleted on drop.
struct Namespace {
    name: String,
}

impl Namespace {
    fn new() -> Namespace {
        assert!(
            is_root(),
            "these tests create network namespaces: run them as root"
        );
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "dtnet{}x{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Namespace { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn exec(&self, args: &[&str]) {
        let mut full = vec!["netns", "exec", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full);
    }

    /// Runs an async block on a fresh runtime whose sockets live in this namespace.
    fn block_on<T, F>(&self, f: impl FnOnce() -> F + Send + 'static) -> T
    where
        T: Send + 'static,
        F: std::future::Future<Output = T>,
    {
        run_in(Some(&self.name), move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f())
        })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A resolver for tests whose anchors are IP literals: it must never be asked.
fn unused_resolver() -> Resolver {
    Resolver::with_server("127.0.0.1:9".parse().expect("addr"), TIMEOUT).expect("resolver")
}

fn settings(anchors: &[String], dns_name: Option<&str>) -> InternetSettings {
    InternetSettings {
        anchors: anchors
            .iter()
            .map(|a| parse_anchor(a).expect("test anchor parses"))
            .collect(),
        dns_name: dns_name.map(str::to_string),
        timeout: TIMEOUT,
    }
}

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

fn method(reach: &Reach) -> ReachMethod {
    match reach {
        Reach::Answered { method, .. } => *method,
        other => panic!("expected an answer, got {other:?}"),
    }
}

/// An HTTP server answering every request with `status_line` (and a Location header), and
/// reporting the first request line it saw.
async fn http_server(status_line: &'static str) -> (SocketAddr, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind http");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read request");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let response = format!(
            "HTTP/1.1 {status_line}\r\nLocation: http://127.0.0.1:9/elsewhere\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(response.as_bytes())
            .await
            .expect("write response");
        let text = String::from_utf8_lossy(&got).into_owned();
        text.lines().next().unwrap_or_default().to_string()
    });
    (addr, task)
}

#[tokio::test]
async fn loopback_anchors_answer_by_connect_and_by_refusal() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let open = listener.local_addr().expect("addr");
    let closed = closed_port();
    let s = settings(&[open.to_string(), format!("127.0.0.1:{closed}")], None);
    let obs = internet::probe(&s, &unused_resolver()).await;
    assert_eq!(obs.dns, None);
    assert_eq!(obs.anchors.len(), 2);
    assert_eq!(obs.anchors[0].target, open.to_string());
    assert_eq!(method(&obs.anchors[0].reach), ReachMethod::TcpConnect);
    assert_eq!(method(&obs.anchors[1].reach), ReachMethod::TcpRefused);
}

#[tokio::test]
async fn http_anchor_reports_the_status_and_does_not_follow_redirects() {
    let (addr, seen) = http_server("204 No Content").await;
    let (addr302, _) = http_server("302 Found").await;
    let s = settings(
        &[
            format!("http://{addr}/generate_204"),
            format!("http://{addr302}/moved"),
            format!("http://127.0.0.1:{}/", closed_port()),
        ],
        None,
    );
    let obs = internet::probe(&s, &unused_resolver()).await;
    assert_eq!(
        method(&obs.anchors[0].reach),
        ReachMethod::Http(204),
        "{obs:?}"
    );
    assert_eq!(
        method(&obs.anchors[1].reach),
        ReachMethod::Http(302),
        "{obs:?}"
    );
    assert_eq!(
        method(&obs.anchors[2].reach),
        ReachMethod::TcpRefused,
        "{obs:?}"
    );
    assert_eq!(
        seen.await.expect("server task"),
        "GET /generate_204 HTTP/1.1"
    );
}

#[tokio::test]
async fn anchor_names_and_the_dns_check_use_the_given_resolver() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (http, _) = http_server("204 No Content").await;
    let dns = Dnsmasq::start(&[
        "--host-record=anchor.test,127.0.0.1",
        "--host-record=known.test,127.0.0.1",
    ]);
    let resolver = Resolver::with_server(dns.addr(), TIMEOUT).expect("resolver");
    let s = settings(
        &[
            format!("anchor.test:{port}"),
            format!("missing.test:{port}"),
            format!("http://anchor.test:{}/x", http.port()),
        ],
        Some("known.test"),
    );
    let obs: InternetObservation = internet::probe(&s, &resolver).await;
    let dns_obs = obs.dns.as_ref().expect("dns part ran");
    assert_eq!(dns_obs.name, "known.test");
    assert!(
        matches!(&dns_obs.outcome, DnsOutcome::Resolved { addresses, .. } if addresses == &["127.0.0.1".parse::<IpAddr>().expect("ip")]),
        "{obs:?}"
    );
    assert_eq!(method(&obs.anchors[0].reach), ReachMethod::TcpConnect);
    match &obs.anchors[1].reach {
        Reach::Unreachable { detail } => assert!(detail.contains("missing.test"), "{detail}"),
        other => panic!("an anchor whose name does not resolve: {other:?}"),
    }
    assert_eq!(
        method(&obs.anchors[2].reach),
        ReachMethod::Http(204),
        "{obs:?}"
    );
}

#[test]
fn unroutable_and_silent_hosts_inside_a_namespace() {
    let ns = Namespace::new();
    // A veth pair whose far end has no address, and a permanent neighbour entry so no ARP
    // timing is involved: frames to 198.51.100.2 leave and are never answered.
    ns.exec(&[
        "ip", "link", "add", "dt0", "type", "veth", "peer", "name", "dt1",
    ]);
    ns.exec(&["ip", "addr", "add", "198.51.100.1/24", "dev", "dt0"]);
    ns.exec(&["ip", "link", "set", "dt1", "up"]);
    ns.exec(&["ip", "link", "set", "dt0", "up"]);
    ns.exec(&[
        "ip",
        "neigh",
        "add",
        "198.51.100.2",
        "lladdr",
        "02:00:00:00:00:02",
        "dev",
        "dt0",
        "nud",
        "permanent",
    ]);
    ns.exec(&["ip", "route", "add", "unreachable", "203.0.113.0/24"]);
    let (obs, gw_silent, gw_no_route, gw_unreachable) = ns.block_on(|| async {
        let s = settings(
            &[
                "192.0.2.1:443".into(),
                "198.51.100.2:443".into(),
                "203.0.113.1:443".into(),
            ],
            None,
        );
        let obs = internet::probe(&s, &unused_resolver()).await;
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        let started = std::time::Instant::now();
        let silent = gateway::probe(ip("198.51.100.2"), GatewaySource::Configured, TIMEOUT).await;
        // ICMP is not allowed in this namespace: its absence must not stretch the wait.
        assert!(
            started.elapsed() < TIMEOUT * 3 / 2,
            "took {:?}",
            started.elapsed()
        );
        let no_route = gateway::probe(ip("192.0.2.1"), GatewaySource::Detected, TIMEOUT).await;
        let unreachable = gateway::probe(ip("203.0.113.1"), GatewaySource::Detected, TIMEOUT).await;
        (obs, silent, no_route, unreachable)
    });
    // No route at all: the local stack says so at once.
    assert!(
        matches!(obs.anchors[0].reach, Reach::Unreachable { .. }),
        "{obs:?}"
    );
    assert_eq!(
        obs.anchors[1].reach,
        Reach::Timeout { after: TIMEOUT },
        "{obs:?}"
    );
    assert!(
        matches!(obs.anchors[2].reach, Reach::Unreachable { .. }),
        "{obs:?}"
    );
    assert_eq!(gw_silent.reach, Some(Reach::Timeout { after: TIMEOUT }));
    assert_eq!(gw_silent.source, GatewaySource::Configured);
    assert!(
        matches!(gw_no_route.reach, Some(Reach::Unreachable { .. })),
        "{gw_no_route:?}"
    );
    assert!(
        matches!(gw_unreachable.reach, Some(Reach::Unreachable { .. })),
        "{gw_unreachable:?}"
    );
}

#[tokio::test]
async fn gateway_on_loopback_is_alive_and_no_address_means_no_reach() {
    let ip: IpAddr = "127.0.0.1".parse().expect("ip");
    let obs = gateway::probe(Some(ip), GatewaySource::Configured, TIMEOUT).await;
    assert_eq!(obs.address, Some(ip));
    // Nothing listens on 53/80/443 here in the usual case (refused); a local service or a
    // ping socket may answer first, which proves the same.
    let m = method(obs.reach.as_ref().expect("probed"));
    assert!(
        matches!(
            m,
            ReachMethod::TcpRefused | ReachMethod::TcpConnect | ReachMethod::IcmpEcho
        ),
        "{m:?}"
    );
    let none = gateway::probe(None, GatewaySource::Detected, TIMEOUT).await;
    assert_eq!(none.reach, None);
    assert_eq!(none.address, None);
}

#[test]
fn ping_socket_only_where_the_group_range_allows_it() {
    let ns = Namespace::new();
    let lo: IpAddr = "127.0.0.1".parse().expect("ip");
    // A new namespace starts with ping_group_range "1 0": nobody may open ping sockets.
    let denied = ns.block_on(move || async move { gateway::ping(lo, TIMEOUT).await.is_err() });
    assert!(
        denied,
        "ping socket opened although ping_group_range forbids it"
    );
    ns.exec(&[
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ping_group_range=0 2147483647",
    ]);
    let reach = ns.block_on(move || async move { gateway::ping(lo, TIMEOUT).await });
    match reach {
        Ok(r) => assert_eq!(method(&r), ReachMethod::IcmpEcho),
        Err(e) => panic!("ping with the group range open: {e}"),
    }
    // With ICMP allowed and nothing on the TCP ports, the echo or the refusal wins.
    let obs = ns.block_on(move || async move {
        gateway::probe(Some(lo), GatewaySource::Detected, TIMEOUT).await
    });
    assert!(obs.reach.as_ref().is_some_and(Reach::answered), "{obs:?}");
}

#[test]
fn device_probe_agrees_with_ip_route() {
    let obs = device::probe();
    let out = Command::new("ip")
        .args(["-4", "route", "show", "default"])
        .output()
        .expect("run ip route");
    let text = String::from_utf8_lossy(&out.stdout);
    let defaults: Vec<&str> = text.lines().filter(|l| l.starts_with("default")).collect();
    if defaults.len() == 1 {
        let words: Vec<&str> = defaults[0].split_whitespace().collect();
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .map(|s| s.to_string())
        };
        let route = obs
            .default_route
            .as_ref()
            .expect("ip shows a default route");
        assert_eq!(Some(route.interface.clone()), after("dev"));
        assert_eq!(route.gateway.map(|g| g.to_string()), after("via"));
        // The interface the default route leaves through is up and has an address.
        assert!(
            obs.interfaces.iter().any(|i| i.name == route.interface),
            "{obs:?}"
        );
    }
    assert!(obs.interfaces.iter().all(|i| i.name != "lo"), "{obs:?}");
    assert!(obs.interfaces.iter().all(|i| !i.addresses.is_empty()));
}
