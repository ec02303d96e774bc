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
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::observation::{DnsOutcome, Resolution, SipTarget, Transport};

/// The default SIP port for UDP and TCP (RFC 3261 §19.1.2).
pub const SIP_PORT: u16 = 5060;
/// The default SIP port for TLS.
pub const SIPS_PORT: u16 = 5061;

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
                        detail: format!("{name}: no A/AAAA records"),
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
            let (outcome, name) = last_failure.unwrap_or_else(|| {
                (
                    DnsOutcome::NotFound {
                        detail: "no SRV records".into(),
                    },
                    registrar.host.clone(),
                )
            });
            return Resolution::Failed { outcome, name };
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
            let (outcome, name) = last_failure.unwrap_or_else(|| {
                (
                    DnsOutcome::NotFound {
                        detail: "no SRV target resolved".into(),
                    },
                    registrar.host.clone(),
                )
            });
            return Resolution::Failed { outcome, name };
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
                detail: format!("{name}: no such domain (NXDOMAIN)"),
            }
        } else if e.is_no_records_found() {
            DnsOutcome::NotFound {
                detail: format!("{name}: no {kind} records"),
            }
        } else if matches!(e, NetError::Timeout) {
            DnsOutcome::Timeout {
                after: self.timeout,
            }
        } else if let NetError::Dns(DnsError::ResponseCode(code)) = e {
            DnsOutcome::Failed {
                detail: format!("{name} {kind} via {}: server answered {code}", self.server),
            }
        } else {
            DnsOutcome::Failed {
                detail: format!("{name} {kind} via {}: {e}", self.server),
            }
        }
    }
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

/// A registrar as configured, split into the parts RFC 3263 needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarAddress {
    /// Host name (lowercase) or IP literal (IPv6 without brackets).
    pub host: String,
    /// The explicit port, when given.
    pub port: Option<u16>,
    /// The `transport=` parameter, when given (for `sips:` always [`Transport::Tls`]).
    pub transport: Option<Transport>,
    /// Whether the URI was `sips:`.
    pub secure: bool,
}

/// Why a registrar string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    /// Nothing was given.
    #[error("registrar is empty")]
    Empty,
    /// A scheme other than `sip:`/`sips:`.
    #[error("registrar {input:?}: scheme {scheme:?} is not sip: or sips:")]
    Scheme {
        /// The registrar as given.
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// The host part is not a domain name or IP address.
    #[error("registrar {input:?}: bad host: {reason}")]
    Host {
        /// The registrar as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("registrar {input:?}: bad port {port:?}")]
    Port {
        /// The registrar as given.
        input: String,
        /// The port text.
        port: String,
    },
    /// A `transport=` value dialtone does not speak, or one that contradicts `sips:`.
    #[error("registrar {input:?}: unsupported transport {transport:?} (use udp, tcp or tls)")]
    Transport {
        /// The registrar as given.
        input: String,
        /// The transport text.
        transport: String,
    },
}

/// Parses `sip:host[:port][;transport=udp|tcp|tls]`, `sips:host[:port]`, `sip:[v6]:port`, or a
/// bare `host[:port]`. A user part (`sip:user@host`) and URI parameters other than
/// `transport` are accepted and ignored: they do not change where the registrar is.
pub fn parse_registrar(input: &str) -> Result<RegistrarAddress, RegistrarError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(RegistrarError::Empty);
    }
    let host_err = |reason: &str| RegistrarError::Host {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let (secure, rest) = match scheme_of(text) {
        Some((scheme, rest)) => {
            if scheme.eq_ignore_ascii_case("sip") {
                (false, rest)
            } else if scheme.eq_ignore_ascii_case("sips") {
                (true, rest)
            } else {
                return Err(RegistrarError::Scheme {
                    input: input.to_string(),
                    scheme: scheme.to_string(),
                });
            }
        }
        None => (false, text),
    };
    // Headers (`?…`) never matter for locating the server.
    let rest = rest.split('?').next().unwrap_or(rest);
    let mut parts = rest.split(';');
    let hostport = parts.next().unwrap_or("");
    let hostport = match hostport.rsplit_once('@') {
        Some((_, h)) => h,
        None => hostport,
    };
    let mut transport = None;
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if !name.trim().eq_ignore_ascii_case("transport") {
            continue;
        }
        let value = value.trim();
        let t = if value.eq_ignore_ascii_case("udp") {
            Transport::Udp
        } else if value.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else if value.eq_ignore_ascii_case("tls") {
            Transport::Tls
        } else {
            return Err(RegistrarError::Transport {
                input: input.to_string(),
                transport: value.to_string(),
            });
        };
        transport = Some(t);
    }
    if secure {
        transport = match transport {
            // sips: with transport=tcp means TLS over TCP (RFC 5630 §3.1.1).
            None | Some(Transport::Tcp) | Some(Transport::Tls) => Some(Transport::Tls),
            Some(Transport::Udp) => {
                return Err(RegistrarError::Transport {
                    input: input.to_string(),
                    transport: "udp with sips:".into(),
                })
            }
        };
        // A bare sips: without a transport parameter keeps `transport` as TLS so that
        // callers need not look at `secure` to pick the transport.
    }
    let (host, port_text) = split_host_port(hostport).map_err(|r| host_err(&r))?;
    validate_host(&host).map_err(|r| host_err(&r))?;
    let port = match port_text {
        None => None,
        Some(p) => Some(parse_port(p).ok_or_else(|| RegistrarError::Port {
            input: input.to_string(),
            port: p.to_string(),
        })?),
    };
    Ok(RegistrarAddress {
        host,
        port,
        transport,
        secure,
    })
}

/// `scheme:rest` when `text` starts with a URI scheme (letters then `:`) that is not just a
/// host followed by a port (`example.net:5080` has no scheme: the part after `:` is digits).
fn scheme_of(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let looks_like_port = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit());
    if looks_like_port {
        None
    } else {
        Some((scheme, rest))
    }
}

/// Splits `host[:port]` / `[v6][:port]` / bare `v6`. The host comes back lowercase and
/// without brackets.
pub(crate) fn split_host_port(hostport: &str) -> Result<(String, Option<&str>), String> {
    if hostport.is_empty() {
        return Err("no host".into());
    }
    if let Some(rest) = hostport.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed '[' in IPv6 address".to_string())?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| format!("{inside:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            a => Some(
                a.strip_prefix(':')
                    .ok_or_else(|| format!("unexpected {a:?} after IPv6 address"))?,
            ),
        };
        return Ok((ip.to_string(), port));
    }
    if hostport.matches(':').count() > 1 {
        // Unbracketed IPv6 can carry no port; accept the address alone.
        let ip: Ipv6Addr = hostport
            .parse()
            .map_err(|_| "IPv6 addresses with a port need brackets: [addr]:port".to_string())?;
        return Ok((ip.to_string(), None));
    }
    match hostport.split_once(':') {
        Some((h, p)) => Ok((h.to_ascii_lowercase(), Some(p))),
        None => Ok((hostport.to_ascii_lowercase(), None)),
    }
}

/// A port from 1 to 65535.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

/// Accepts IP literals and DNS host names (letters, digits, `-`, `_`; labels of 1–63
/// characters, 253 in all, an optional final dot).
pub(crate) fn validate_host(host: &str) -> Result<(), String> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err("no host".into());
    }
    if name.len() > 253 {
        return Err("name longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("empty label in {host:?}"));
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "{label:?} has characters not allowed in a host name"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
    }
    // All-numeric dotted names that are not valid IPv4 (e.g. 300.1.1.1) are typos.
    if name
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("{host:?} is not a valid IPv4 address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> RegistrarAddress {
        match parse_registrar(s) {
            Ok(r) => r,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn parses_every_documented_form() {
        let r = ok("sip:sip.example.net");
        assert_eq!(
            r,
            RegistrarAddress {
                host: "sip.example.net".into(),
                port: None,
                transport: None,
                secure: false
            }
        );
        let r = ok("sip:sip.example.net:5070");
        assert_eq!((r.port, r.transport), (Some(5070), None));
        assert_eq!(ok("sip:host;transport=udp").transport, Some(Transport::Udp));
        assert_eq!(ok("sip:host;transport=TCP").transport, Some(Transport::Tcp));
        assert_eq!(ok("sip:host;transport=tls").transport, Some(Transport::Tls));
        let r = ok("sips:secure.example.net:5063");
        assert_eq!(
            (r.secure, r.port, r.transport),
            (true, Some(5063), Some(Transport::Tls))
        );
        let r = ok("sip:[::1]:5070");
        assert_eq!((r.host.as_str(), r.port), ("::1", Some(5070)));
        let r = ok("sip:127.0.0.1:5070;transport=udp");
        assert_eq!(
            (r.host.as_str(), r.port, r.transport),
            ("127.0.0.1", Some(5070), Some(Transport::Udp))
        );
        let r = ok("sip.1und1.de");
        assert_eq!(
            (r.host.as_str(), r.port, r.secure),
            ("sip.1und1.de", None, false)
        );
        let r = ok("example.net:5080");
        assert_eq!((r.host.as_str(), r.port), ("example.net", Some(5080)));
        let r = ok("SIP:User@SIP.Example.NET;lr");
        assert_eq!(r.host, "sip.example.net");
        assert_eq!(ok("sips:h;transport=tcp").transport, Some(Transport::Tls));
    }

    #[test]
    fn rejects_garbage_naming_the_input() {
        for bad in [
            "",
            "   ",
            "http://example.net",
            "sip:",
            "sip:host:0",
            "sip:host:65536",
            "sip:host:abc",
            "sip:host;transport=sctp",
            "sips:host;transport=udp",
            "sip:ho st",
            "sip:[::1",
            "sip:[nope]:5060",
            "sip:fe80::1::5060",
            "sip:-bad-.example",
            "sip:a..b",
            "sip:300.1.1.1",
        ] {
            let err = match parse_registrar(bad) {
                Ok(r) => panic!("{bad:?} parsed as {r:?}"),
                Err(e) => e,
            };
            if !bad.trim().is_empty() {
                assert!(err.to_string().contains(bad), "{err} should name {bad:?}");
            }
        }
    }

    /// Property-style: thousands of random strings (printable, SIP-ish alphabet, and raw
    /// mutations of valid registrars) never panic, and whatever parses has a valid host.
    #[test]
    fn random_strings_never_panic() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let alphabet: Vec<char> = "sip:[]@;=.-_0123456789abcdefSIPtransportudptl /?%\u{e9}\u{0}"
            .chars()
            .collect();
        let seeds = [
            "sip:[::1]:5070",
            "sips:a.b:5061;transport=tls",
            "example.net:5080",
        ];
        let mut parsed = 0;
        for i in 0..20_000 {
            let s: String = if i % 2 == 0 {
                let len = rng.random_range(0..24);
                (0..len)
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect()
            } else {
                let mut chars: Vec<char> = seeds[i % seeds.len()].chars().collect();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..chars.len());
                    chars[at] = alphabet[rng.random_range(0..alphabet.len())];
                }
                chars.into_iter().collect()
            };
            if let Ok(r) = parse_registrar(&s) {
                parsed += 1;
                assert!(
                    validate_host(&r.host).is_ok(),
                    "{s:?} gave host {:?}",
                    r.host
                );
                assert_ne!(r.port, Some(0));
            }
        }
        // The generator must exercise both sides, or the test proves nothing.
        assert!(parsed > 100, "only {parsed} random strings parsed");
    }
}
