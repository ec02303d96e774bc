//! Finding the SIP registrar (RFC 3263 §4) and the DNS lookups every other probe shares.
//!
//! [`Resolver`] wraps hickory-resolver with caching turned off: dialtone asks the same names
//! every few seconds and must see a change (a provider moving its SRV records, a DNS server
//! going away) on the very next check, not when a TTL runs out. Every lookup ends in a
//! [`DnsOutcome`]; nothing here returns `Err` for "the name did not resolve".
//!
//! [`Resolver::locate`] turns a [`RegistrarAddress`] into ordered [`SipTarget`]s:
//! numeric IP → literal; explicit port → A/AAAA; otherwise NAPTR → SRV → A/AAAA, falling back
//! to SRV without NAPTR and to A/AAAA without SRV.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use dialtone_core::address::{RegistrarAddress, SIPS_PORT, SIP_PORT};
use dialtone_core::observation::{
    Detail, DnsOutcome, FailureKind, Resolution, SipTarget, Transport,
};

/// Why a [`Resolver`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// The system's resolver configuration (`/etc/resolv.conf`) could not be read.
    #[error("read the system DNS configuration: {detail}")]
    SystemConfig {
        /// hickory's words.
        detail: String,
    },
    /// hickory refused the configuration for this server.
    #[error("set up a DNS resolver for {server}: {detail}")]
    Build {
        /// The server (or `system`).
        server: String,
        /// hickory's words.
        detail: String,
    },
}

/// A DNS stub resolver without a cache, bounded by one timeout per lookup.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
    timeout: Duration,
    server: String,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("server", &self.server)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Resolver {
    /// A resolver using the system's name servers (`/etc/resolv.conf` on Unix), each lookup
    /// bounded by `timeout`.
    pub fn system(timeout: Duration) -> Result<Resolver, ResolverError> {
        let mut builder =
            TokioResolver::builder_tokio().map_err(|e| ResolverError::SystemConfig {
                detail: e.to_string(),
            })?;
        // Keep the system's ndots/search settings, but not its caching or retry counts: a
        // health check must see the network as it is now.
        let opts = builder.options_mut();
        tune(opts, timeout);
        let inner = builder.build().map_err(|e| ResolverError::Build {
            server: "system".into(),
            detail: e.to_string(),
        })?;
        Ok(Resolver {
            inner,
            timeout,
            server: "system".into(),
        })
    }

    /// A resolver that asks only `server` (UDP, and TCP for truncated answers), each lookup
    /// bounded by `timeout`. The hosts file is not consulted, so tests against a local DNS
    /// server see only that server's records.
    pub fn with_server(server: SocketAddr, timeout: Duration) -> Result<Resolver, ResolverError> {
        let mut ns = NameServerConfig::udp_and_tcp(server.ip());
        for c in &mut ns.connections {
            c.port = server.port();
        }
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut opts = ResolverOpts::default();
        tune(&mut opts, timeout);
        opts.use_hosts_file = ResolveHosts::Never;
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| ResolverError::Build {
                server: server.to_string(),
                detail: e.to_string(),
            })?;
        Ok(Resolver {
            inner,
            timeout,
            server: server.to_string(),
        })
    }

    /// The per-lookup timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Looks up the A and AAAA records of `name` (an IP literal resolves to itself).
    pub async fn lookup_ip(&self, name: &str) -> DnsOutcome {
        let start = Instant::now();
        match tokio::time::timeout(self.timeout, self.inner.lookup_ip(name)).await {
            Err(_) => DnsOutcome::Timeout {
                after: self.timeout,
            },
            Ok(Err(e)) => self.outcome_of(&e, name, "A/AAAA"),
            Ok(Ok(lookup)) => {
                let mut addresses: Vec<IpAddr> = Vec::new();
                for a in lookup.iter() {
                    if !addresses.contains(&a) {
                        addresses.push(a);
                    }
                }
                if addresses.is_empty() {
                    DnsOutcome::NotFound {
                        detail: Detail::of(FailureKind::NoRecords("A/AAAA".into())).within(name),
                    }
                } else {
                    DnsOutcome::Resolved {
                        addresses,
                        rtt: start.elapsed(),
                    }
                }
            }
        }
    }

    /// Finds where to send SIP for `registrar` (RFC 3263 §4), optionally restricted to the
    /// transport `forced` by the user's configuration.
    ///
    /// A `transport=` parameter in the URI skips NAPTR (§4.1: the transport is already
    /// chosen); a forced transport still reads NAPTR but keeps only records for it, so the
    /// provider's own SRV names are used. SRV records are ordered by priority, then by
    /// descending weight: deterministic rather than RFC 2782's weighted draw, so the evidence
    /// of two checks in a row is comparable.
    pub async fn locate(
        &self,
        registrar: &RegistrarAddress,
        forced: Option<Transport>,
    ) -> Resolution {
        let start = Instant::now();
        let wanted = forced.or(registrar.transport).or(if registrar.secure {
            // sips: is TLS whatever the records say (RFC 3263 §4.1).
            Some(Transport::Tls)
        } else {
            None
        });
        let default_transport = wanted.unwrap_or(Transport::Udp);

        // A numeric host needs no DNS at all.
        if let Ok(ip) = registrar.host.parse::<IpAddr>() {
            let port = registrar
                .port
                .unwrap_or_else(|| default_port(default_transport));
            return Resolution::Resolved {
                targets: vec![SipTarget {
                    transport: default_transport,
                    address: SocketAddr::new(ip, port),
                    host: registrar.host.clone(),
                }],
                path: vec!["literal".into()],
                rtt: start.elapsed(),
            };
        }

        // An explicit port means plain A/AAAA (§4.2).
        if let Some(port) = registrar.port {
            return self
                .address_only(&registrar.host, port, default_transport, Vec::new(), start)
                .await;
        }

        let mut path: Vec<String> = Vec::new();
        // SRV names to try, in order, with their transport.
        let mut srv_names: Vec<(String, Transport)> = Vec::new();

        if registrar.transport.is_none() {
            match self.naptr(&registrar.host, wanted).await {
                Ok(list) if !list.is_empty() => {
                    path.push("NAPTR".into());
                    srv_names = list;
                }
                Ok(_) => {}
                Err(DnsOutcome::Timeout { after }) => {
                    // A server that does not answer NAPTR will not answer SRV or A either;
                    // stop here rather than wait once per record type.
                    return Resolution::Failed {
                        outcome: DnsOutcome::Timeout { after },
                        name: registrar.host.clone(),
                    };
                }
                // NXDOMAIN, NODATA, SERVFAIL on NAPTR: many providers have none; go on.
                Err(_) => {}
            }
        }
        if srv_names.is_empty() {
            let candidates: &[Transport] = match wanted {
                Some(t) => match t {
                    Transport::Udp => &[Transport::Udp],
                    Transport::Tcp => &[Transport::Tcp],
                    Transport::Tls => &[Transport::Tls],
                },
                None => &[Transport::Udp, Transport::Tcp, Transport::Tls],
            };
            srv_names = candidates
                .iter()
                .map(|t| (format!("{}.{}", srv_prefix(*t), registrar.host), *t))
                .collect();
        }

        let mut srv_records: Vec<SrvRecord> = Vec::new();
        let mut last_failure: Option<(DnsOutcome, String)> = None;
        for (rank, (name, transport)) in srv_names.iter().enumerate() {
            match self.srv(name, *transport, rank).await {
                Ok(mut list) => srv_records.append(&mut list),
                Err(DnsOutcome::Timeout { after }) => {
                    return Resolution::Failed {
                        outcome: DnsOutcome::Timeout { after },
                        name: name.clone(),
                    };
                }
                Err(outcome) => last_failure = Some((outcome, name.clone())),
            }
        }
        // With NAPTR present, a missing SRV is a broken provider zone, not a reason to guess.
        if srv_records.is_empty() && path.is_empty() {
            return self
                .address_only(
                    &registrar.host,
                    default_port(default_transport),
                    default_transport,
                    path,
                    start,
                )
                .await;
        }
        if srv_records.is_empty() {
            return failed(
                last_failure,
                Detail::of(FailureKind::NoRecords("SRV".into())),
                &registrar.host,
            );
        }
        path.push("SRV".into());
        // Within each SRV name: priority ascending, weight descending. The NAPTR (or our
        // transport preference) order between names is kept.
        srv_records.sort_by_key(|r| (r.rank, r.priority, std::cmp::Reverse(r.weight)));

        let lookups = join_all(srv_records.iter().map(|r| self.lookup_ip(&r.target))).await;
        let mut targets = Vec::new();
        let mut families = Families::default();
        let mut last_failure: Option<(DnsOutcome, String)> = None;
        for (record, outcome) in srv_records.iter().zip(lookups) {
            match outcome {
                DnsOutcome::Resolved { addresses, .. } => {
                    for ip in addresses {
                        families.add(ip);
                        targets.push(SipTarget {
                            transport: record.transport,
                            address: SocketAddr::new(ip, record.port),
                            host: record.target.clone(),
                        });
                    }
                }
                other => last_failure = Some((other, record.target.clone())),
            }
        }
        if targets.is_empty() {
            return failed(
                last_failure,
                "no SRV target resolved".into(),
                &registrar.host,
            );
        }
        path.push(families.label().into());
        Resolution::Resolved {
            targets,
            path,
            rtt: start.elapsed(),
        }
    }

    async fn address_only(
        &self,
        host: &str,
        port: u16,
        transport: Transport,
        mut path: Vec<String>,
        start: Instant,
    ) -> Resolution {
        match self.lookup_ip(host).await {
            DnsOutcome::Resolved { addresses, .. } => {
                let mut families = Families::default();
                let targets = addresses
                    .into_iter()
                    .map(|ip| {
                        families.add(ip);
                        SipTarget {
                            transport,
                            address: SocketAddr::new(ip, port),
                            host: host.to_string(),
                        }
                    })
                    .collect();
                path.push(families.label().into());
                Resolution::Resolved {
                    targets,
                    path,
                    rtt: start.elapsed(),
                }
            }
            outcome => Resolution::Failed {
                outcome,
                name: host.to_string(),
            },
        }
    }

    /// The NAPTR records of `host` that lead to SRV names for a supported (and `wanted`)
    /// transport, in order/preference order.
    async fn naptr(
        &self,
        host: &str,
        wanted: Option<Transport>,
    ) -> Result<Vec<(String, Transport)>, DnsOutcome> {
        let lookup = self.records(host, RecordType::NAPTR).await?;
        let mut found: Vec<(u16, u16, String, Transport)> = Vec::new();
        for record in lookup.answers() {
            let RData::NAPTR(n) = &record.data else {
                continue;
            };
            // Only "s" records point at SRV names; "a"/"u" and regexp rewriting are not
            // used for SIP in practice and are skipped rather than guessed at.
            if !n.flags.eq_ignore_ascii_case(b"s") || !n.regexp.is_empty() {
                continue;
            }
            let Some(transport) = naptr_service(&n.services) else {
                continue;
            };
            if wanted.is_some_and(|w| w != transport) {
                continue;
            }
            found.push((
                n.order,
                n.preference,
                trim_dot(&n.replacement.to_ascii()),
                transport,
            ));
        }
        found.sort_by_key(|(o, p, _, _)| (*o, *p));
        Ok(found.into_iter().map(|(_, _, n, t)| (n, t)).collect())
    }

    async fn srv(
        &self,
        name: &str,
        transport: Transport,
        rank: usize,
    ) -> Result<Vec<SrvRecord>, DnsOutcome> {
        let lookup = self.records(name, RecordType::SRV).await?;
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(s) => Some(s),
                _ => None,
            })
            // A target of "." says the service is deliberately not offered (RFC 2782).
            .filter(|s| !s.target.is_root())
            .map(|s| SrvRecord {
                rank,
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: trim_dot(&s.target.to_ascii()),
                transport,
            })
            .collect())
    }

    async fn records(
        &self,
        name: &str,
        kind: RecordType,
    ) -> Result<hickory_resolver::lookup::Lookup, DnsOutcome> {
        match tokio::time::timeout(self.timeout, self.inner.lookup(name, kind)).await {
            Err(_) => Err(DnsOutcome::Timeout {
                after: self.timeout,
            }),
            Ok(Err(e)) => Err(self.outcome_of(&e, name, &kind.to_string())),
            Ok(Ok(l)) => Ok(l),
        }
    }

    fn outcome_of(&self, e: &NetError, name: &str, kind: &str) -> DnsOutcome {
        if e.is_nx_domain() {
            DnsOutcome::NotFound {
                detail: Detail::of(FailureKind::NoSuchDomain).within(name),
            }
        } else if e.is_no_records_found() {
            DnsOutcome::NotFound {
                detail: Detail::of(FailureKind::NoRecords(kind.into())).within(name),
            }
        } else if matches!(e, NetError::Timeout) {
            DnsOutcome::Timeout {
                after: self.timeout,
            }
        } else if let NetError::Dns(DnsError::ResponseCode(code)) = e {
            DnsOutcome::Failed {
                detail: Detail::of(FailureKind::DnsServerAnswered(code.to_string()))
                    .within(format!("{name} {kind} via {}", self.server)),
            }
        } else {
            // The resolver's own message, with any I/O error by its kind (no errno).
            // hickory says only "no connections available" when socket() fails (EMFILE):
            // that is this computer's trouble, not the DNS server's, and must say so.
            DnsOutcome::Failed {
                detail: explain_locally(
                    Detail::chain(e).within(format!("{name} {kind} via {}", self.server)),
                ),
            }
        }
    }
}

/// `detail` of a failure a library reported without the operating system's error (hickory's
/// "no connections available", reqwest's "No CA certificates were loaded" when it cannot open
/// the CA files): when this computer cannot open a socket right now (EMFILE, ENFILE,
/// ENOBUFS), that is said first ([`FailureKind::NoSocket`]), so the failure reads as this
/// computer's and never as the server's.
pub(crate) fn explain_locally(mut detail: Detail) -> Detail {
    let cannot_open = match std::net::UdpSocket::bind(("127.0.0.1", 0)) {
        Ok(_) => false,
        Err(e) => FailureKind::of_io(&e) == FailureKind::NoSocket,
    };
    if cannot_open && !detail.no_socket() {
        detail.causes.insert(0, FailureKind::NoSocket);
    }
    detail
}

fn tune(opts: &mut ResolverOpts, timeout: Duration) {
    opts.timeout = timeout;
    // One attempt: the outer timeout bounds the lookup anyway, and retries would only hide
    // a lossy path that the user should hear about.
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.positive_max_ttl = Some(Duration::ZERO);
    opts.negative_max_ttl = Some(Duration::ZERO);
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.try_tcp_on_error = true;
}

#[derive(Debug)]
struct SrvRecord {
    /// Position of the SRV name in the list asked (NAPTR order or transport preference).
    rank: usize,
    priority: u16,
    weight: u16,
    port: u16,
    target: String,
    transport: Transport,
}

#[derive(Default)]
struct Families {
    v4: bool,
    v6: bool,
}

impl Families {
    fn add(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(_) => self.v4 = true,
            IpAddr::V6(_) => self.v6 = true,
        }
    }

    fn label(&self) -> &'static str {
        match (self.v4, self.v6) {
            (true, true) => "A+AAAA",
            (false, true) => "AAAA",
            _ => "A",
        }
    }
}

/// A lookup step that found nothing usable: the last failure seen (on the name it was for),
/// else "not found" with `detail` on `host`.
fn failed(last_failure: Option<(DnsOutcome, String)>, detail: Detail, host: &str) -> Resolution {
    let (outcome, name) =
        last_failure.unwrap_or_else(|| (DnsOutcome::NotFound { detail }, host.to_string()));
    Resolution::Failed { outcome, name }
}

fn default_port(t: Transport) -> u16 {
    match t {
        Transport::Tls => SIPS_PORT,
        Transport::Udp | Transport::Tcp => SIP_PORT,
    }
}

fn srv_prefix(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "_sip._udp",
        Transport::Tcp => "_sip._tcp",
        Transport::Tls => "_sips._tcp",
    }
}

fn naptr_service(services: &[u8]) -> Option<Transport> {
    if services.eq_ignore_ascii_case(b"SIP+D2U") {
        Some(Transport::Udp)
    } else if services.eq_ignore_ascii_case(b"SIP+D2T") {
        Some(Transport::Tcp)
    } else if services.eq_ignore_ascii_case(b"SIPS+D2T") {
        Some(Transport::Tls)
    } else {
        None
    }
}

fn trim_dot(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_string()
}
