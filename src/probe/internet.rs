//! The internet probe: one DNS lookup of a well-known name and N independent anchors, all at
//! once.
//!
//! An anchor is `host:port` / `[v6]:port` (TCP connect) or `http://host[:port]/path` (an
//! HTTP GET, redirects not followed; `https://` works too). A completed handshake, any HTTP
//! status, and also a *refused* connection count as an answer: a reset from a far-away host
//! proves the path to it works. (A local firewall that rejects with a reset would look the
//! same; the gateway layer below and the other anchors keep that from deciding a verdict.)
//! Anchor host names go through the same [`Resolver`] as everything else, so one configured
//! DNS server governs every lookup.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::config::NetworkConfig;
use crate::observation::{
    AnchorObservation, DnsObservation, DnsOutcome, InternetObservation, Reach, ReachMethod,
};
use crate::probe::gateway::tcp_reach;
use crate::probe::locate::{parse_port, split_host_port, validate_host, Resolver};

/// One parsed internet anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The anchor exactly as configured (reported back in [`AnchorObservation::target`]).
    pub configured: String,
    /// Host name (lowercase) or IP literal (IPv6 without brackets).
    pub host: String,
    /// The port to connect to (80/443 by default for HTTP).
    pub port: u16,
    /// How the anchor is checked.
    pub kind: AnchorKind,
}

/// How an anchor is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorKind {
    /// A TCP connect.
    Tcp,
    /// An HTTP GET of this URL.
    Http(url::Url),
}

/// Why an anchor string was rejected (a config error, reported at load time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// `host:port` without the port.
    #[error("anchor {anchor:?}: missing port (write host:port, [v6]:port or http://host/path)")]
    MissingPort {
        /// The anchor as configured.
        anchor: String,
    },
    /// The port is not 1–65535.
    #[error("anchor {anchor:?}: bad port {port:?}")]
    Port {
        /// The anchor as configured.
        anchor: String,
        /// The port text.
        port: String,
    },
    /// The host is not a domain name or IP address.
    #[error("anchor {anchor:?}: bad host: {reason}")]
    Host {
        /// The anchor as configured.
        anchor: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A URL that does not parse, or whose scheme is not http/https.
    #[error("anchor {anchor:?}: bad URL: {reason}")]
    Url {
        /// The anchor as configured.
        anchor: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parses one anchor: `host:port`, `[v6]:port`, or `http(s)://host[:port]/path`.
pub fn parse_anchor(text: &str) -> Result<Anchor, AnchorError> {
    let configured = text.to_string();
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.contains("://") {
        let url_err = |reason: String| AnchorError::Url {
            anchor: configured.clone(),
            reason,
        };
        let url = url::Url::parse(trimmed).map_err(|e| url_err(e.to_string()))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(url_err(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(url_err("no host".into())),
        };
        validate_host(&host).map_err(|reason| AnchorError::Host {
            anchor: configured.clone(),
            reason,
        })?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| url_err("no port".into()))?;
        return Ok(Anchor {
            configured,
            host,
            port,
            kind: AnchorKind::Http(url),
        });
    }
    let (host, port) = split_host_port(trimmed).map_err(|reason| AnchorError::Host {
        anchor: configured.clone(),
        reason,
    })?;
    let port_text = port.ok_or_else(|| AnchorError::MissingPort {
        anchor: configured.clone(),
    })?;
    let port = parse_port(port_text).ok_or_else(|| AnchorError::Port {
        anchor: configured.clone(),
        port: port_text.to_string(),
    })?;
    validate_host(&host).map_err(|reason| AnchorError::Host {
        anchor: configured.clone(),
        reason,
    })?;
    Ok(Anchor {
        configured,
        host,
        port,
        kind: AnchorKind::Tcp,
    })
}

/// What the internet probe checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternetSettings {
    /// The anchors, in configured order.
    pub anchors: Vec<Anchor>,
    /// The name to resolve; `None` skips the DNS part.
    pub dns_name: Option<String>,
    /// Bound for each anchor (its DNS lookup included) and for the DNS check.
    pub timeout: Duration,
}

impl InternetSettings {
    /// Settings from the `[network]` config: every anchor parsed, `dns_name = "none"` (any
    /// case) or empty meaning no DNS check.
    pub fn from_config(config: &NetworkConfig, timeout: Duration) -> Result<Self, AnchorError> {
        let anchors = config
            .anchors
            .iter()
            .map(|a| parse_anchor(a))
            .collect::<Result<Vec<_>, _>>()?;
        let name = config.dns_name.trim();
        let dns_name =
            (!name.is_empty() && !name.eq_ignore_ascii_case("none")).then(|| name.to_string());
        Ok(InternetSettings {
            anchors,
            dns_name,
            timeout,
        })
    }
}

/// Runs the DNS check and every anchor concurrently.
pub async fn probe(settings: &InternetSettings, resolver: &Resolver) -> InternetObservation {
    let dns = async {
        match &settings.dns_name {
            Some(name) => Some(DnsObservation {
                name: name.clone(),
                outcome: resolver.lookup_ip(name).await,
            }),
            None => None,
        }
    };
    let anchors = join_all(settings.anchors.iter().map(|a| async move {
        let reach = match tokio::time::timeout(
            settings.timeout,
            reach_anchor(a, resolver, settings.timeout),
        )
        .await
        {
            Ok(reach) => reach,
            Err(_) => Reach::Timeout {
                after: settings.timeout,
            },
        };
        AnchorObservation {
            target: a.configured.clone(),
            reach,
        }
    }));
    let (dns, anchors) = tokio::join!(dns, anchors);
    InternetObservation { dns, anchors }
}

async fn reach_anchor(anchor: &Anchor, resolver: &Resolver, timeout: Duration) -> Reach {
    let start = Instant::now();
    let addresses: Vec<IpAddr> = match anchor.host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match resolver.lookup_ip(&anchor.host).await {
            DnsOutcome::Resolved { addresses, .. } => addresses,
            DnsOutcome::Timeout { .. } => return Reach::Timeout { after: timeout },
            DnsOutcome::NotFound { detail } | DnsOutcome::Failed { detail } => {
                return Reach::Unreachable {
                    detail: format!("resolve {}: {detail}", anchor.host),
                }
            }
        },
    };
    let sockets: Vec<SocketAddr> = addresses
        .iter()
        .map(|ip| SocketAddr::new(*ip, anchor.port))
        .collect();
    let remaining = timeout.saturating_sub(start.elapsed());
    let reach = match &anchor.kind {
        AnchorKind::Tcp => tcp_reach(&sockets, remaining).await,
        AnchorKind::Http(url) => http_reach(url, &anchor.host, &sockets, remaining).await,
    };
    // Report the anchor's whole budget, not what was left of it after the DNS lookup.
    match reach {
        Reach::Timeout { .. } => Reach::Timeout { after: timeout },
        other => other,
    }
}

async fn http_reach(
    url: &url::Url,
    host: &str,
    sockets: &[SocketAddr],
    timeout: Duration,
) -> Reach {
    let start = Instant::now();
    // Pin the host to the addresses our resolver found, and ignore proxy settings: the
    // question is whether *this* path to the anchor works.
    let client = crate::tls::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .resolve_to_addrs(host, sockets)
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            return Reach::Unreachable {
                detail: format!("set up HTTP client for {url}: {e}"),
            }
        }
    };
    match client.get(url.clone()).send().await {
        Ok(response) => Reach::Answered {
            method: ReachMethod::Http(response.status().as_u16()),
            rtt: start.elapsed(),
        },
        Err(e) if e.is_timeout() => Reach::Timeout { after: timeout },
        Err(e) if refused(&e) => Reach::Answered {
            method: ReachMethod::TcpRefused,
            rtt: start.elapsed(),
        },
        Err(e) => Reach::Unreachable {
            detail: format!("GET {url}: {}", error_chain(&e)),
        },
    }
}

/// Whether a connection refusal is somewhere in the error's cause chain.
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// "outer: inner: innermost", because reqwest's own message ("error sending request") says
/// nothing about why.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        out.push_str(": ");
        out.push_str(&err.to_string());
        cur = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_anchor_forms() {
        let a = parse_anchor("1.1.1.1:443").expect("ip:port");
        assert_eq!(
            (a.host.as_str(), a.port, &a.kind),
            ("1.1.1.1", 443, &AnchorKind::Tcp)
        );
        let a = parse_anchor("[2606:4700::1111]:53").expect("[v6]:port");
        assert_eq!((a.host.as_str(), a.port), ("2606:4700::1111", 53));
        let a = parse_anchor("One.One.One.One:443").expect("name:port");
        assert_eq!(a.host, "one.one.one.one");
        assert_eq!(a.configured, "One.One.One.One:443");
        let a = parse_anchor("http://connectivity.example/generate_204").expect("http");
        assert_eq!((a.host.as_str(), a.port), ("connectivity.example", 80));
        assert!(matches!(a.kind, AnchorKind::Http(_)));
        let a = parse_anchor("http://127.0.0.1:8080/x").expect("http ip:port");
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 8080));
        let a = parse_anchor("https://[::1]/").expect("https v6");
        assert_eq!((a.host.as_str(), a.port), ("::1", 443));
    }

    #[test]
    fn rejects_bad_anchors_naming_them() {
        for bad in [
            "1.1.1.1",
            "example.net",
            "example.net:0",
            "example.net:99999",
            "example.net:http",
            ":443",
            "exa mple.net:443",
            "[::1:443",
            "ftp://example.net/",
            "http://",
            "http://exa mple/",
            "",
        ] {
            match parse_anchor(bad) {
                Ok(a) => panic!("{bad:?} parsed as {a:?}"),
                Err(e) => assert!(e.to_string().contains(&format!("{bad:?}")), "{e}"),
            }
        }
    }

    #[test]
    fn settings_from_config() {
        let mut cfg = NetworkConfig::default();
        let s =
            InternetSettings::from_config(&cfg, Duration::from_secs(3)).expect("defaults parse");
        assert_eq!(s.anchors.len(), 3);
        assert_eq!(s.dns_name.as_deref(), Some("example.com"));
        cfg.dns_name = "None".into();
        cfg.anchors.push("bad".into());
        match InternetSettings::from_config(&cfg, Duration::from_secs(3)) {
            Err(AnchorError::MissingPort { anchor }) => assert_eq!(anchor, "bad"),
            other => panic!("{other:?}"),
        }
        cfg.anchors.pop();
        let s = InternetSettings::from_config(&cfg, Duration::from_secs(3)).expect("parses");
        assert_eq!(s.dns_name, None);
    }
}
