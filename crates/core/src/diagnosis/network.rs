//! The rules for the lower layers: this computer, the home network, the router's own view and
//! the internet access. Each judges its layer alone; [`super::diagnose`] applies the
//! bottom-up rule.

use super::fact::{self, DnsResult, Fact, Measure};
use super::{Assessment, Thresholds};
use crate::observation::{
    DeviceObservation, DnsOutcome, GatewayObservation, InternetObservation, Reach, Resolution,
    SipExchange, SipOutcome, Snapshot,
};
use crate::router::{NatKind, RouterErrorKind, RouterObservation, RECENT_RECONNECT_SECS};
use crate::verdict::{Layer, LayerStatus, Verdict};
use std::time::Duration;

/// The checks of this round that could not open a socket (too many open files or connections
/// on this computer), each named by what it was for. Their failures say nothing about the
/// router, the internet or the provider: nothing was sent. A flood of connections to this
/// computer (e.g. to its metrics exporter) must not read as someone else's outage.
pub(super) fn sockets_not_opened(snapshot: &Snapshot) -> Vec<String> {
    let mut checks = Vec::new();
    if let Some(GatewayObservation {
        address: Some(address),
        reach: Some(Reach::Unreachable { detail }),
        ..
    }) = &snapshot.home_network
    {
        if detail.no_socket() {
            checks.push(address.to_string());
        }
    }
    if let Some(internet) = &snapshot.internet {
        if let Some(dns) = &internet.dns {
            if let DnsOutcome::Failed { detail } | DnsOutcome::NotFound { detail } = &dns.outcome {
                if detail.no_socket() {
                    checks.push(dns.name.clone());
                }
            }
        }
        for anchor in &internet.anchors {
            if let Reach::Unreachable { detail } = &anchor.reach {
                if detail.no_socket() {
                    checks.push(anchor.target.clone());
                }
            }
        }
    }
    let exchange = |x: &SipExchange| match &x.outcome {
        SipOutcome::TransportFailed { detail, .. } if detail.no_socket() => Some(format!(
            "{} ({})",
            x.target.address,
            x.target.transport.as_str()
        )),
        _ => None,
    };
    if let Some(provider) = &snapshot.provider {
        if let Resolution::Failed {
            outcome: DnsOutcome::Failed { detail } | DnsOutcome::NotFound { detail },
            name,
        } = &provider.resolution
        {
            if detail.no_socket() {
                checks.push(name.clone());
            }
        }
        checks.extend(provider.exchanges.iter().filter_map(exchange));
    }
    if let Some(x) = snapshot.account.as_ref().and_then(|a| a.exchange.as_ref()) {
        checks.extend(exchange(x));
    }
    checks.dedup();
    checks
}

pub(super) fn assess_device(device: &DeviceObservation) -> Assessment {
    let mut a = Assessment::new(Verdict::LocalProblem);
    if device.interfaces.is_empty() {
        a.evidence.push(Fact::NoInterface);
        a.fail();
    } else {
        a.evidence.push(Fact::InterfacesUp {
            names: device.interfaces.iter().map(|i| i.name.clone()).collect(),
        });
    }
    match &device.default_route {
        Some(route) => a.evidence.push(Fact::DefaultRoute {
            interface: route.interface.clone(),
            gateway: route.gateway,
        }),
        None => {
            a.evidence.push(Fact::NoDefaultRoute);
            a.fail();
        }
    }
    a
}

pub(super) fn assess_gateway(gateway: Option<&GatewayObservation>, th: &Thresholds) -> Assessment {
    let verdict = Verdict::LocalProblem;
    let Some(gateway) = gateway else {
        return Assessment::not_probed(Layer::HomeNetwork, verdict);
    };
    let Some(address) = gateway.address else {
        // A point-to-point link has no router to ask; the device layer already covers the
        // route itself.
        let mut a = Assessment::new(verdict);
        a.status = LayerStatus::Skipped;
        a.evidence.push(Fact::NoGateway);
        return a;
    };
    let mut a = Assessment::new(verdict);
    match &gateway.reach {
        None => return Assessment::not_probed(Layer::HomeNetwork, verdict),
        Some(Reach::Answered { method, rtt }) => {
            let rtt_ms = fact::millis(*rtt);
            a.latency_ms = Some(rtt_ms);
            a.evidence.push(Fact::GatewayAnswered {
                address,
                method: *method,
                rtt_ms,
            });
            a.check_limit(Measure::GatewayRtt, rtt_ms, th.gateway_rtt_ms as f64);
        }
        Some(Reach::Timeout { after }) => {
            a.evidence.push(Fact::GatewayTimeout {
                address,
                after_ms: fact::millis(*after),
            });
            a.fail();
        }
        Some(Reach::Unreachable { detail }) => {
            a.evidence.push(Fact::GatewayUnreachable {
                address,
                detail: detail.to_string(),
            });
            a.fail();
        }
    }
    a
}

/// The finding when the router was first heard from only after every internet check that
/// failed had been given up on; `None` when the internet's failure stands as evidence (no
/// failure, a failure that is not a timeout, or a timeout that ran past the router's answer).
/// Mirrors the failure rules of [`assess_internet`].
pub(super) fn late_gateway(
    gateway: Option<&GatewayObservation>,
    internet: Option<&InternetObservation>,
    th: &Thresholds,
) -> Option<Fact> {
    let gateway = gateway?;
    let address = gateway.address?;
    let Some(Reach::Answered { rtt, .. }) = gateway.reach else {
        return None;
    };
    let internet = internet?;
    // The longest wait among the checks that failed the internet.
    let mut waited = Duration::ZERO;
    let anchors = &internet.anchors;
    let answered = anchors.iter().filter(|a| a.reach.answered()).count();
    if answered < th.min_anchors.min(anchors.len()) {
        for anchor in anchors {
            match anchor.reach {
                Reach::Answered { .. } => {}
                Reach::Timeout { after } => waited = waited.max(after),
                // Refused by the stack: evidence of its own, not lost in time.
                Reach::Unreachable { .. } => return None,
            }
        }
    }
    match internet.dns.as_ref().map(|d| &d.outcome) {
        Some(DnsOutcome::Timeout { after }) => waited = waited.max(*after),
        Some(DnsOutcome::Failed { .. }) => return None,
        Some(DnsOutcome::NotFound { .. })
            if internet
                .dns
                .as_ref()
                .is_some_and(|d| always_exists(&d.name)) =>
        {
            return None
        }
        _ => {}
    }
    (!waited.is_zero() && rtt >= waited).then(|| Fact::GatewayLate {
        address,
        rtt_ms: fact::millis(rtt),
        anchors_after_ms: fact::millis(waited),
    })
}

pub(super) fn assess_internet(
    internet: Option<&InternetObservation>,
    th: &Thresholds,
) -> Assessment {
    let verdict = Verdict::InternetDown;
    let Some(internet) = internet else {
        return Assessment::not_probed(Layer::Internet, verdict);
    };
    if internet.anchors.is_empty() && internet.dns.is_none() {
        return Assessment::not_probed(Layer::Internet, verdict);
    }
    let mut a = Assessment::new(verdict);

    if !internet.anchors.is_empty() {
        let total = internet.anchors.len();
        let required = th.min_anchors.min(total);
        let answered = internet
            .anchors
            .iter()
            .filter(|x| x.reach.answered())
            .count();
        a.evidence.push(Fact::AnchorsAnswered {
            answered,
            total,
            required,
        });
        for anchor in &internet.anchors {
            match &anchor.reach {
                Reach::Answered { .. } => {}
                Reach::Timeout { after } => a.evidence.push(Fact::AnchorTimeout {
                    target: anchor.target.clone(),
                    after_ms: fact::millis(*after),
                }),
                Reach::Unreachable { detail } => a.evidence.push(Fact::AnchorUnreachable {
                    target: anchor.target.clone(),
                    detail: detail.to_string(),
                }),
            }
        }
        if answered < required {
            a.fail();
        } else if answered < total {
            // Enough anchors answer, but one of several does not: a partial outage or loss.
            a.degrade();
        }
        let best = internet
            .anchors
            .iter()
            .filter_map(|x| x.reach.rtt())
            .min()
            .map(fact::millis);
        if let Some(best) = best {
            a.latency_ms = Some(best);
            a.check_limit(Measure::AnchorRtt, best, th.anchor_rtt_ms as f64);
        }
    }

    if let Some(dns) = &internet.dns {
        a.evidence.push(Fact::Dns {
            name: dns.name.clone(),
            result: DnsResult::from(&dns.outcome),
        });
        match &dns.outcome {
            DnsOutcome::Resolved { rtt, .. } => {
                let rtt_ms = fact::millis(*rtt);
                if a.latency_ms.is_none() {
                    a.latency_ms = Some(rtt_ms);
                }
                a.check_limit(Measure::DnsRtt, rtt_ms, th.anchor_rtt_ms as f64);
            }
            // A name that always exists (RFC 2606's example.com/net/org, the default test
            // name) denied: the resolver lies (captive portal, DNS filter, broken DNS). That is
            // the internet access failing, and it is blamed before the provider's own NXDOMAIN.
            DnsOutcome::NotFound { .. } if always_exists(&dns.name) => {
                // Before the plain DNS fact: this is what the user should read first.
                let at = a.evidence.len().saturating_sub(1);
                a.evidence.insert(
                    at,
                    Fact::DnsDeniesKnownName {
                        name: dns.name.clone(),
                    },
                );
                a.fail();
            }
            // The resolver answered, so it works; the test name is what is wrong.
            DnsOutcome::NotFound { .. } => a.degrade(),
            DnsOutcome::Failed { .. } | DnsOutcome::Timeout { .. } => a.fail(),
        }
    }
    a
}

/// Whether `name` is one that exists on every honest resolver: the second-level names RFC 2606
/// reserves and IANA keeps resolvable.
pub(super) fn always_exists(name: &str) -> bool {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    matches!(name.as_str(), "example.com" | "example.net" | "example.org")
}

/// The router layer: the router's own words about its WAN link and connection.
pub(super) fn assess_router(
    router: Option<&RouterObservation>,
    internet_works: bool,
) -> Assessment {
    let verdict = Verdict::InternetDown;
    let Some(r) = router else {
        return Assessment::not_probed(Layer::Router, verdict);
    };
    let mut a = Assessment::new(verdict);
    let problem = r.error.as_ref().map(|e| Fact::RouterProblem {
        kind: e.kind,
        detail: e.detail.clone(),
    });
    if !r.reachable {
        // No router evidence: never a verdict of its own.
        a.status = LayerStatus::Skipped;
        a.evidence.push(problem.unwrap_or(Fact::RouterProblem {
            kind: RouterErrorKind::NoAnswer,
            detail: r.url.clone(),
        }));
        return a;
    }
    a.evidence.push(Fact::RouterFound {
        model: r.model.clone(),
        url: r.url.clone(),
    });
    let link_up = r.link_up();
    let connected = r.connected();
    // The connection's state first: "Disconnected" is the router's own verdict and the
    // reason a presenter shows; the physical link follows.
    if let Some(status) = &r.connection {
        let is_connected = connected == Some(true);
        a.evidence.push(Fact::RouterConnection {
            status: status.clone(),
            connected: is_connected,
            last_error: r.last_error.clone(),
            uptime_s: r.uptime_s.filter(|_| is_connected),
        });
        if is_connected {
            if let Some(uptime) = r.uptime_s.filter(|s| *s < RECENT_RECONNECT_SECS) {
                a.evidence
                    .push(Fact::RouterReconnected { uptime_s: uptime });
            }
            if r.external_ipv4.is_some() && r.nat() != NatKind::Unknown {
                a.evidence.push(Fact::RouterNat {
                    nat: r.nat(),
                    address: r.external_ipv4.clone().filter(|ip| !ip.trim().is_empty()),
                });
            }
        }
    }
    if let Some(status) = &r.link {
        a.evidence.push(Fact::RouterLink {
            status: status.clone(),
            up: link_up == Some(true),
        });
    }
    if let Some(problem) = problem {
        a.evidence.push(problem);
    }
    if link_up.is_none() && connected.is_none() {
        // It answered, but said nothing about its uplink: no verdict from it.
        a.status = LayerStatus::Skipped;
    } else if link_up == Some(false) || connected == Some(false) {
        if internet_works {
            a.evidence.push(Fact::RouterContradicted);
        } else {
            a.fail();
        }
    }
    a
}
