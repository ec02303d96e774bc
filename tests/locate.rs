//! RFC 3263 server location and DNS outcomes against a real DNS server (dnsmasq on a free
//! loopback port, one per test, serving only the records each test defines).

use dialtone_testkit as support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use dialtone_core::address::parse_registrar;
use dialtone_core::observation::{DnsOutcome, Resolution, SipTarget, Transport};
use dialtone_engine::probe::locate::Resolver;
use support::dns::Dnsmasq;

const TIMEOUT: Duration = Duration::from_secs(2);

fn resolver(dns: &Dnsmasq) -> Resolver {
    Resolver::with_server(dns.addr(), TIMEOUT).expect("resolver for the test server")
}

async fn locate(r: &Resolver, registrar: &str, forced: Option<Transport>) -> Resolution {
    let reg = parse_registrar(registrar).expect("test registrar parses");
    r.locate(&reg, forced).await
}

fn target(transport: Transport, addr: &str, host: &str) -> SipTarget {
    SipTarget {
        transport,
        address: addr.parse().expect("test address"),
        host: host.into(),
    }
}

/// The targets and path, or a panic naming what came back (with the server's query log).
fn resolved(res: Resolution, dns: &Dnsmasq) -> (Vec<SipTarget>, Vec<String>) {
    match res {
        Resolution::Resolved { targets, path, .. } => (targets, path),
        other => panic!("expected Resolved, got {other:?}\n{}", dns.log()),
    }
}

/// A test DNS server with its records, and a resolver that asks only it.
struct Lookup {
    dns: Dnsmasq,
    r: Resolver,
}

impl Lookup {
    fn start(records: &[&str]) -> Lookup {
        let dns = Dnsmasq::start(records);
        let r = resolver(&dns);
        Lookup { dns, r }
    }

    /// [`resolved`] of [`locate`]: where `registrar` leads, and by which lookups.
    async fn resolve(
        &self,
        registrar: &str,
        forced: Option<Transport>,
    ) -> (Vec<SipTarget>, Vec<String>) {
        resolved(locate(&self.r, registrar, forced).await, &self.dns)
    }

    /// The name that was not found when locating `registrar`, or a panic naming what came
    /// back (with the server's query log).
    async fn not_found_name(&self, registrar: &str, forced: Option<Transport>) -> String {
        match locate(&self.r, registrar, forced).await {
            Resolution::Failed {
                outcome: DnsOutcome::NotFound { .. },
                name,
            } => name,
            other => panic!(
                "expected Failed NotFound, got {other:?}\n{}",
                self.dns.log()
            ),
        }
    }
}

/// Asserts that `targets` is the one target given.
fn assert_only(targets: &[SipTarget], transport: Transport, addr: &str, host: &str) {
    assert_eq!(targets, [target(transport, addr, host)]);
}

/// NAPTR prefers TCP (order 10) over UDP (order 20); the TCP SRV has two priorities, given
/// in the wrong order on purpose; one target has an IPv6 address too.
fn chain_records() -> Vec<&'static str> {
    vec![
        "--naptr-record=chain.test,20,10,s,SIP+D2U,,_sip._udp.chain.test",
        "--naptr-record=chain.test,10,10,s,SIP+D2T,,_sip._tcp.chain.test",
        // Not a SIP service: must be ignored.
        "--naptr-record=chain.test,5,10,s,E2U+sip,,_ignored._tcp.chain.test",
        "--srv-host=_sip._tcp.chain.test,backup.chain.test,5071,20,10",
        "--srv-host=_sip._tcp.chain.test,main.chain.test,5070,10,10",
        "--srv-host=_sip._udp.chain.test,udp.chain.test,5072,10,10",
        "--host-record=main.chain.test,127.0.0.2,::2",
        "--host-record=backup.chain.test,127.0.0.3",
        "--host-record=udp.chain.test,127.0.0.4",
    ]
}

#[tokio::test]
async fn naptr_srv_a_chain_orders_by_naptr_then_srv_priority() {
    let lookup = Lookup::start(&chain_records());
    let (targets, path) = lookup.resolve("sip:chain.test", None).await;
    assert_eq!(path, ["NAPTR", "SRV", "A+AAAA"]);
    assert_eq!(
        targets,
        [
            target(Transport::Tcp, "127.0.0.2:5070", "main.chain.test"),
            target(Transport::Tcp, "[::2]:5070", "main.chain.test"),
            target(Transport::Tcp, "127.0.0.3:5071", "backup.chain.test"),
            target(Transport::Udp, "127.0.0.4:5072", "udp.chain.test"),
        ]
    );
}

#[tokio::test]
async fn forced_transport_filters_naptr() {
    let lookup = Lookup::start(&chain_records());
    let (targets, path) = lookup.resolve("sip:chain.test", Some(Transport::Udp)).await;
    assert_eq!(path, ["NAPTR", "SRV", "A"]);
    assert_only(&targets, Transport::Udp, "127.0.0.4:5072", "udp.chain.test");
}

#[tokio::test]
async fn uri_transport_parameter_skips_naptr() {
    let lookup = Lookup::start(&chain_records());
    let (targets, path) = lookup.resolve("sip:chain.test;transport=udp", None).await;
    assert_eq!(path, ["SRV", "A"]);
    assert_only(&targets, Transport::Udp, "127.0.0.4:5072", "udp.chain.test");
}

#[tokio::test]
async fn srv_without_naptr_tries_udp_then_tcp_then_tls() {
    let lookup = Lookup::start(&[
        "--srv-host=_sips._tcp.srv.test,tls.srv.test,5061,10,10",
        "--srv-host=_sip._tcp.srv.test,tcp.srv.test,5060,10,10",
        // Same priority: the heavier weight goes first.
        "--srv-host=_sip._udp.srv.test,light.srv.test,5060,10,1",
        "--srv-host=_sip._udp.srv.test,heavy.srv.test,5060,10,90",
        "--host-record=tls.srv.test,127.0.0.5",
        "--host-record=tcp.srv.test,127.0.0.6",
        "--host-record=light.srv.test,127.0.0.7",
        "--host-record=heavy.srv.test,127.0.0.8",
    ]);
    let (targets, path) = lookup.resolve("srv.test", None).await;
    assert_eq!(path, ["SRV", "A"]);
    assert_eq!(
        targets,
        [
            target(Transport::Udp, "127.0.0.8:5060", "heavy.srv.test"),
            target(Transport::Udp, "127.0.0.7:5060", "light.srv.test"),
            target(Transport::Tcp, "127.0.0.6:5060", "tcp.srv.test"),
            target(Transport::Tls, "127.0.0.5:5061", "tls.srv.test"),
        ]
    );
    // sips: asks only _sips._tcp.
    let (targets, _) = lookup.resolve("sips:srv.test", None).await;
    assert_only(&targets, Transport::Tls, "127.0.0.5:5061", "tls.srv.test");
}

#[tokio::test]
async fn a_record_only_uses_default_port_and_transport() {
    let lookup = Lookup::start(&["--host-record=plain.test,127.0.0.9"]);
    let (targets, path) = lookup.resolve("sip:plain.test", None).await;
    assert_eq!(path, ["A"]);
    assert_only(&targets, Transport::Udp, "127.0.0.9:5060", "plain.test");
    let (targets, _) = lookup.resolve("sips:plain.test", None).await;
    assert_only(&targets, Transport::Tls, "127.0.0.9:5061", "plain.test");
    let (targets, _) = lookup.resolve("sip:plain.test", Some(Transport::Tcp)).await;
    assert_only(&targets, Transport::Tcp, "127.0.0.9:5060", "plain.test");
}

#[tokio::test]
async fn explicit_port_skips_naptr_and_srv() {
    let lookup = Lookup::start(&[
        "--srv-host=_sip._udp.ported.test,elsewhere.ported.test,5999,10,10",
        "--host-record=elsewhere.ported.test,127.0.0.11",
        "--host-record=ported.test,127.0.0.10",
    ]);
    let (targets, path) = lookup.resolve("sip:ported.test:5080", None).await;
    assert_eq!(path, ["A"]);
    assert_only(&targets, Transport::Udp, "127.0.0.10:5080", "ported.test");
}

#[tokio::test]
async fn literal_addresses_need_no_dns() {
    // A dead server proves no lookup is made.
    let mut lookup = Lookup::start(&[]);
    lookup.dns.kill();
    let cases = [
        (
            "sip:127.0.0.1:5070;transport=udp",
            target(Transport::Udp, "127.0.0.1:5070", "127.0.0.1"),
        ),
        (
            "sip:[::1]:5070",
            target(Transport::Udp, "[::1]:5070", "::1"),
        ),
        (
            "sips:127.0.0.1",
            target(Transport::Tls, "127.0.0.1:5061", "127.0.0.1"),
        ),
        (
            "sip:127.0.0.1;transport=tcp",
            target(Transport::Tcp, "127.0.0.1:5060", "127.0.0.1"),
        ),
    ];
    for (registrar, expected) in cases {
        let (targets, path) = lookup.resolve(registrar, None).await;
        assert_eq!(path, ["literal"], "{registrar}");
        assert_eq!(targets, [expected], "{registrar}");
    }
}

#[tokio::test]
async fn unknown_name_fails_not_found() {
    let lookup = Lookup::start(&["--host-record=other.test,127.0.0.1"]);
    let name = lookup.not_found_name("sip:missing.test", None).await;
    assert_eq!(name, "missing.test");
}

#[tokio::test]
async fn srv_target_without_address_fails_naming_the_target() {
    let lookup = Lookup::start(&["--srv-host=_sip._udp.broken.test,ghost.broken.test,5060,10,10"]);
    let name = lookup
        .not_found_name("sip:broken.test", Some(Transport::Udp))
        .await;
    assert_eq!(name, "ghost.broken.test");
}

#[tokio::test]
async fn dead_server_fails_within_the_timeout() {
    let mut dns = Dnsmasq::start(&[]);
    let r = Resolver::with_server(dns.addr(), Duration::from_millis(700)).expect("resolver");
    dns.kill();
    let start = Instant::now();
    let res = locate(&r, "sip:chain.test", None).await;
    let took = start.elapsed();
    match res {
        Resolution::Failed {
            outcome: DnsOutcome::Timeout { .. } | DnsOutcome::Failed { .. },
            ..
        } => {}
        other => panic!("expected Failed (timeout or error), got {other:?}"),
    }
    // NAPTR, three SRV names and A/AAAA would be 5 timeouts if each waited in turn.
    assert!(
        took < support::slack(Duration::from_millis(2500)),
        "took {took:?}"
    );
    match r.lookup_ip("x.test").await {
        DnsOutcome::Timeout { .. } | DnsOutcome::Failed { .. } => {}
        other => panic!("lookup against a dead server gave {other:?}"),
    }
}

#[tokio::test]
async fn lookup_ip_outcomes() {
    let dns = Dnsmasq::start(&[
        "--host-record=both.test,127.0.0.1,::1",
        "--txt-record=textonly.test,hello",
    ]);
    let r = resolver(&dns);
    match r.lookup_ip("both.test").await {
        DnsOutcome::Resolved { mut addresses, .. } => {
            addresses.sort();
            let expected: Vec<IpAddr> =
                vec!["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")];
            assert_eq!(addresses, expected);
        }
        other => panic!("both.test: {other:?}\n{}", dns.log()),
    }
    // NODATA (the name exists, with no address) and NXDOMAIN are both NotFound.
    for name in ["textonly.test", "nothing.test"] {
        match r.lookup_ip(name).await {
            DnsOutcome::NotFound { .. } => {}
            other => panic!("{name}: expected NotFound, got {other:?}\n{}", dns.log()),
        }
    }
}

#[tokio::test]
async fn each_lookup_sees_the_current_records() {
    // The records carry a long TTL: only a resolver without a cache sees the change.
    let dir = tempfile::tempdir().expect("temp dir");
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.20 moving.test\n").expect("write hosts");
    let addn = format!("--addn-hosts={}", hosts.display());
    let mut dns = Dnsmasq::start(&[&addn, "--local-ttl=3600"]);
    let r = resolver(&dns);
    let first = r.lookup_ip("moving.test").await;
    assert!(
        matches!(&first, DnsOutcome::Resolved { addresses, .. } if addresses == &["127.0.0.20".parse::<IpAddr>().expect("ip")]),
        "{first:?}"
    );
    std::fs::write(&hosts, "127.0.0.21 moving.test\n").expect("rewrite hosts");
    dns.reload();
    let second = r.lookup_ip("moving.test").await;
    assert!(
        matches!(&second, DnsOutcome::Resolved { addresses, .. } if addresses == &["127.0.0.21".parse::<IpAddr>().expect("ip")]),
        "{second:?}\n{}",
        dns.log()
    );
}
