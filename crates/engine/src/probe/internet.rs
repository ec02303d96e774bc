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

use crate::probe::gateway::tcp_reach;
use crate::probe::locate::{explain_locally, Resolver};
use dialtone_core::address::{Anchor, AnchorKind};
use dialtone_core::observation::{
    AnchorObservation, Detail, DnsObservation, DnsOutcome, InternetObservation, Reach, ReachMethod,
};

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
                    detail: detail.within(format!("resolve {}", anchor.host)),
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
                // Without free file descriptors the client cannot even read the CA files.
                detail: explain_locally(
                    Detail::chain(&e).within(format!("set up HTTP client for {url}")),
                ),
            };
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
            detail: explain_locally(Detail::chain(&e).within(format!("GET {url}"))),
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
