//! Turns one [`Snapshot`] into a [`Diagnosis`]: a pure function, no I/O, no clock.
//!
//! The rule is the one a careful person follows: check the layers from the bottom up and blame
//! the lowest one that fails, because a dead router makes the provider look dead too.
//!
//! Decisions worth knowing (the scenario fixtures in `tests/fixtures/scenarios/` pin each one):
//! - The internet layer fails when fewer than `min_anchors` anchors answer (or fewer than all of
//!   them when fewer are configured), and also when the DNS lookup of the test name fails or
//!   times out while the anchors answer: with the ISP's resolver down nothing works for the user,
//!   so that is their internet access, not the provider. A lookup that answers "no such name"
//!   proves the resolver works, so it only degrades the layer (the test name is probably wrong).
//! - A router that answers only after the internet anchors have given up (its first packets
//!   were lost, typically a SYN retransmitted after 1 s) while the anchors went unanswered
//!   fails the home network, not the internet: the anchors were asked while the home network
//!   passed nothing, so their silence says nothing about the internet. Without this, a round
//!   that straddles the moment a home network comes back reads as a short internet outage.
//! - The provider layer fails when the registrar's name does not resolve, when no target gives
//!   a SIP response (timeout or transport failure: *we* gave up), or when the server itself
//!   answers 5xx/6xx (*it* said so). Any other response (200, 401, 403, 404, 405, 483 ...) proves
//!   the server alive. Stray or spoofed datagrams are evidence; only
//!   [`Thresholds::stray_messages`] or more of them degrade the layer.
//! - The account layer: a rejected login, a suspended check, an unsupported challenge and (with
//!   `expect_binding`) a missing binding are account problems. A REGISTER query that got no
//!   final answer while OPTIONS did only degrades the line (often rate limiting), unless the
//!   server answered it 5xx/6xx: then the provider's registration service is out, the verdict
//!   is a provider outage and the failing layer the account.
//! - The router layer (between the home network and the internet) reads the router's own view
//!   (UPnP IGD, FRITZ!Box TR-064). Its WAN link down or its connection not `Connected` is an
//!   internet outage in the router's own words, even while it answers pings; unless the
//!   internet anchors answer anyway (a second router, IP-client mode): then the real traffic
//!   wins and the router's word is only evidence. A router that does not answer, or answers
//!   garbage, gives no router evidence and never a verdict of its own: the layer is skipped
//!   with the finding, and no other layer changes.
//! - Two-sided account verdicts: the router's "not registered" while the registrar answers is
//!   an account problem ("your router is not registered with <provider>"); the router's
//!   "registered" while the registrar is silent to dialtone keeps the account working and
//!   turns the provider's failure into a degradation (the router's registration is proof that
//!   the provider serves this line).
//! - A round without a provider check (none configured) cannot say the line works: when nothing
//!   failed below, the verdict is unknown.

mod detail;
mod fact;
mod plain;

pub use detail::{detail_words, error_chain_words, io_error_words, io_kind_words, os_words};
pub use fact::{layer_words, server_failed, DnsResult, Fact, Measure, TargetRef};

use crate::locale::Lang;
use crate::observation::{
    AccountObservation, AccountOutcome, Binding, DeviceObservation, DnsOutcome, GatewayObservation,
    InternetObservation, ProviderObservation, Reach, Resolution, SipExchange, SipOutcome, Snapshot,
};
use crate::router::{
    NatKind, RouterErrorKind, RouterObservation, RouterView, VoipStatus, RECENT_RECONNECT_SECS,
};
use crate::verdict::{Layer, LayerStatus, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What counts as good enough. Every field has a default that suits a home line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// SIP round-trip time above which the provider layer is degraded, in milliseconds.
    pub sip_rtt_ms: u64,
    /// Gateway round-trip time above which the home network is degraded, in milliseconds.
    pub gateway_rtt_ms: u64,
    /// Anchor round-trip time above which the internet is degraded, in milliseconds.
    pub anchor_rtt_ms: u64,
    /// How many anchors must answer for the internet to count as up.
    pub min_anchors: usize,
    /// Retransmissions of one SIP request that are tolerated; more degrade the provider layer
    /// (a sign of packet loss). With the default of 1, a request sent three times degrades.
    pub retransmissions: u32,
    /// Stray or spoofed SIP messages during one check at or above which the provider layer is
    /// degraded (fewer are only reported as evidence).
    pub stray_messages: u32,
    /// Whether a line with no registered phone/router is an account problem.
    pub expect_binding: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            sip_rtt_ms: 500,
            gateway_rtt_ms: 200,
            anchor_rtt_ms: 800,
            min_anchors: 2,
            retransmissions: 1,
            stray_messages: 10,
            expect_binding: true,
        }
    }
}

/// The answer to "does my line work, and if not, whose fault is it?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The verdict.
    pub verdict: Verdict,
    /// The lowest layer that failed; when none failed, the lowest that degraded.
    pub failing_layer: Option<Layer>,
    /// Each layer's result, lowest first (always all six).
    pub layers: Vec<LayerReport>,
    /// The account's bindings, when the REGISTER query succeeded.
    pub bindings: Option<Vec<Binding>>,
    /// The router's own view, when it was asked (boxed: most diagnoses travel without one
    /// being looked at, and the IPC's events stay small).
    #[serde(default)]
    pub router: Option<Box<RouterView>>,
    /// The provider's display name, when known.
    pub provider_name: Option<String>,
    /// When the observations were taken.
    pub checked_at: DateTime<Utc>,
}

/// One layer's result with the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The layer.
    pub layer: Layer,
    /// How it fared.
    pub status: LayerStatus,
    /// What was seen, as structured facts a presenter renders in the user's language.
    pub evidence: Vec<Fact>,
    /// The layer's main latency, when measured.
    pub latency_ms: Option<f64>,
}

/// One layer judged on its own, before the bottom-up rule is applied.
struct Assessment {
    status: LayerStatus,
    evidence: Vec<Fact>,
    latency_ms: Option<f64>,
    /// The verdict this layer's failure stands for.
    verdict_if_failed: Verdict,
}

impl Assessment {
    fn new(verdict_if_failed: Verdict) -> Self {
        Assessment {
            status: LayerStatus::Ok,
            evidence: Vec::new(),
            latency_ms: None,
            verdict_if_failed,
        }
    }

    fn not_probed(layer: Layer, verdict_if_failed: Verdict) -> Self {
        Assessment {
            status: LayerStatus::Skipped,
            evidence: vec![Fact::NotProbed { layer }],
            latency_ms: None,
            verdict_if_failed,
        }
    }

    fn fail(&mut self) {
        self.status = LayerStatus::Failed;
    }

    /// Marks the layer degraded unless it already failed.
    fn degrade(&mut self) {
        if self.status == LayerStatus::Ok {
            self.status = LayerStatus::Degraded;
        }
    }

    /// Records a measurement and degrades the layer when it is over its limit (at the limit is
    /// still fine).
    fn check_limit(&mut self, measure: Measure, value: f64, limit: f64) {
        if value > limit {
            self.evidence.push(Fact::OverThreshold {
                measure,
                value,
                limit,
            });
            self.degrade();
        }
    }
}

/// Diagnoses one snapshot. Pure: the same input always gives the same output.
pub fn diagnose(snapshot: &Snapshot, thresholds: &Thresholds) -> Diagnosis {
    let router = snapshot.router.as_ref();
    let internet = assess_internet(snapshot.internet.as_ref(), thresholds);
    let internet_works = matches!(internet.status, LayerStatus::Ok | LayerStatus::Degraded);
    let mut provider = assess_provider(
        snapshot.provider.as_ref(),
        snapshot.account.as_ref(),
        thresholds,
    );
    trust_router_registration(&mut provider, router);
    let mut home_network = assess_gateway(snapshot.home_network.as_ref(), thresholds);
    if let Some(late) = late_gateway(
        snapshot.home_network.as_ref(),
        snapshot.internet.as_ref(),
        thresholds,
    ) {
        // First, so it is the reason the user reads.
        home_network.evidence.insert(0, late);
        home_network.fail();
    }
    let assessments = [
        (Layer::Device, assess_device(&snapshot.device)),
        (Layer::HomeNetwork, home_network),
        (Layer::Router, assess_router(router, internet_works)),
        (Layer::Internet, internet),
        (Layer::Provider, provider),
        (
            Layer::Account,
            assess_account(snapshot.account.as_ref(), router, thresholds),
        ),
    ];

    let mut verdict = None;
    let mut failing_layer = None;
    let mut lowest_degraded = None;
    let mut layers = Vec::with_capacity(assessments.len());
    for (layer, assessment) in assessments {
        if let Some(failed) = failing_layer {
            // A lower layer failed: this one's result would mean nothing. Its observations stay
            // as evidence (a timed-out OPTIONS next to a dead router is still worth seeing).
            let mut evidence = vec![Fact::LowerLayerFailed { layer: failed }];
            evidence.extend(
                assessment
                    .evidence
                    .into_iter()
                    .filter(|fact| !matches!(fact, Fact::NotProbed { .. })),
            );
            layers.push(LayerReport {
                layer,
                status: LayerStatus::Skipped,
                evidence,
                latency_ms: None,
            });
            continue;
        }
        match assessment.status {
            LayerStatus::Failed => {
                failing_layer = Some(layer);
                verdict = Some(assessment.verdict_if_failed);
            }
            LayerStatus::Degraded if lowest_degraded.is_none() => lowest_degraded = Some(layer),
            _ => {}
        }
        layers.push(LayerReport {
            layer,
            status: assessment.status,
            evidence: assessment.evidence,
            latency_ms: assessment.latency_ms,
        });
    }

    // The router's own registration answers for the provider when no registrar is set up:
    // the typical line whose SIP login only the router knows.
    let provider_checked =
        snapshot.provider.is_some() || router.is_some_and(|r| r.reachable && r.any_registered());
    let verdict = match (verdict, lowest_degraded) {
        (Some(verdict), _) => verdict,
        // Without a provider check nobody can say the phone line works.
        (None, _) if !provider_checked => Verdict::Unknown,
        (None, Some(_)) => Verdict::Degraded,
        (None, None) => Verdict::Healthy,
    };
    let failing_layer = failing_layer.or(lowest_degraded);

    let bindings = match snapshot.account.as_ref().map(|a| &a.outcome) {
        Some(AccountOutcome::Accepted { bindings }) => Some(bindings.clone()),
        _ => None,
    };

    Diagnosis {
        verdict,
        failing_layer,
        layers,
        bindings,
        router: router.map(|r| Box::new(r.view())),
        provider_name: snapshot
            .provider
            .as_ref()
            .and_then(|p| p.provider_name.clone())
            .or_else(|| router.and_then(|r| r.provider_name.clone())),
        checked_at: snapshot.taken_at,
    }
}

fn assess_device(device: &DeviceObservation) -> Assessment {
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

fn assess_gateway(gateway: Option<&GatewayObservation>, th: &Thresholds) -> Assessment {
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
                detail: detail.clone(),
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
fn late_gateway(
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

fn assess_internet(internet: Option<&InternetObservation>, th: &Thresholds) -> Assessment {
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
                    detail: detail.clone(),
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
fn always_exists(name: &str) -> bool {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    matches!(name.as_str(), "example.com" | "example.net" | "example.org")
}

/// The evidence one SIP transaction leaves.
fn exchange_fact(exchange: &SipExchange) -> Fact {
    let target = TargetRef::from(&exchange.target);
    let method = exchange.method.clone();
    match &exchange.outcome {
        SipOutcome::Response {
            code,
            reason,
            rtt,
            retry_after,
        } => Fact::SipResponse {
            method,
            target,
            code: *code,
            reason: reason.clone(),
            rtt_ms: fact::millis(*rtt),
            transmissions: exchange.transmissions,
            retry_after: *retry_after,
        },
        SipOutcome::Timeout => Fact::SipTimeout {
            method,
            target,
            transmissions: exchange.transmissions,
            elapsed_ms: fact::millis(exchange.elapsed),
        },
        SipOutcome::TransportFailed { kind, detail } => Fact::SipTransportFailed {
            method,
            target,
            kind: *kind,
            detail: detail.clone(),
        },
    }
}

/// The response code of an exchange, when the server sent one.
fn response_code(exchange: &SipExchange) -> Option<u16> {
    match exchange.outcome {
        SipOutcome::Response { code, .. } => Some(code),
        _ => None,
    }
}

/// The provider layer, with what dialtone knows of the registrar from earlier rounds: a red
/// icon is a fact, so silence from a registrar never heard from here is "cannot tell", and a
/// registrar that ignores OPTIONS but answers the REGISTER query is alive.
fn assess_provider(
    provider: Option<&ProviderObservation>,
    account: Option<&AccountObservation>,
    th: &Thresholds,
) -> Assessment {
    let mut a = assess_registrar(provider, th);
    let (Some(provider), true) = (provider, a.status == LayerStatus::Failed) else {
        return a;
    };
    let Some(known) = provider.acquaintance else {
        return a;
    };
    // Timeouts only: no byte and no ICMP error came back from any target.
    let silent = !provider.exchanges.is_empty()
        && provider
            .exchanges
            .iter()
            .all(|x| matches!(x.outcome, SipOutcome::Timeout));
    let register_answered = account
        .and_then(|acc| acc.exchange.as_ref())
        .is_some_and(|x| matches!(x.outcome, SipOutcome::Response { .. }));
    if silent && !known.answered_options && register_answered {
        a.evidence.push(Fact::RegistrarIgnoresOptions {
            registrar: provider.registrar.clone(),
        });
        a.status = LayerStatus::Ok;
        return a;
    }
    let name_not_found = matches!(
        &provider.resolution,
        Resolution::Failed {
            outcome: DnsOutcome::NotFound { .. },
            ..
        }
    );
    let never_answered = !known.answered_options && !known.answered_register;
    if never_answered && (silent || (name_not_found && !known.resolved)) {
        a.evidence.insert(
            0,
            Fact::RegistrarNeverAnswered {
                registrar: provider.registrar.clone(),
                name_not_found,
            },
        );
        a.verdict_if_failed = Verdict::Unknown;
    }
    a
}

/// The provider layer from this round's DNS and OPTIONS alone.
fn assess_registrar(provider: Option<&ProviderObservation>, th: &Thresholds) -> Assessment {
    let verdict = Verdict::ProviderOutage;
    let Some(provider) = provider else {
        return Assessment::not_probed(Layer::Provider, verdict);
    };
    let mut a = Assessment::new(verdict);
    match &provider.resolution {
        Resolution::Failed { outcome, name } => {
            a.evidence.push(Fact::Dns {
                name: name.clone(),
                result: DnsResult::from(outcome),
            });
            a.fail();
        }
        Resolution::Resolved { targets, path, rtt } => {
            a.evidence.push(Fact::RegistrarResolved {
                registrar: provider.registrar.clone(),
                path: path.clone(),
                targets: targets.len(),
                rtt_ms: fact::millis(*rtt),
            });
        }
    }
    if a.status == LayerStatus::Failed {
        return a;
    }
    if provider.exchanges.is_empty() {
        a.evidence.push(Fact::NoSipTarget {
            registrar: provider.registrar.clone(),
        });
        a.fail();
        return a;
    }
    a.evidence
        .extend(provider.exchanges.iter().map(exchange_fact));

    // Any response below 500 proves the service alive; a 5xx/6xx means the server itself says
    // it cannot serve; no response at all means we gave up.
    let alive = provider
        .exchanges
        .iter()
        .find(|x| response_code(x).is_some_and(|code| !server_failed(code)));
    let judged = alive.or_else(|| {
        provider
            .exchanges
            .iter()
            .find(|x| response_code(x).is_some())
    });
    if let Some(exchange) = judged {
        if let SipOutcome::Response { rtt, .. } = exchange.outcome {
            a.latency_ms = Some(fact::millis(rtt));
        }
    }
    let Some(exchange) = alive else {
        a.fail();
        return a;
    };
    // Latency is judged only on an unambiguous sample (Karn's rule). The round trip counts
    // from the first transmission, so after a retransmission it includes the T1 (500 ms)
    // wait and says nothing about the path: one lost datagram, which the retransmission
    // threshold below tolerates, would otherwise degrade the line through this check anyway.
    // Loss is what the retransmission count measures.
    if let (Some(rtt_ms), true) = (a.latency_ms, exchange.transmissions <= 1) {
        a.check_limit(Measure::SipRtt, rtt_ms, th.sip_rtt_ms as f64);
    }
    let retransmissions = exchange.transmissions.saturating_sub(1);
    a.check_limit(
        Measure::Retransmissions,
        f64::from(retransmissions),
        f64::from(th.retransmissions),
    );
    let stray: u32 = provider.exchanges.iter().map(|x| x.ignored).sum();
    if stray > 0 {
        a.evidence.push(Fact::StrayMessages { count: stray });
        if stray >= th.stray_messages {
            a.evidence.push(Fact::OverThreshold {
                measure: Measure::StrayMessages,
                value: f64::from(stray),
                limit: f64::from(th.stray_messages),
            });
            a.degrade();
        }
    }
    a
}

/// The router layer: the router's own words about its WAN link and connection.
fn assess_router(router: Option<&RouterObservation>, internet_works: bool) -> Assessment {
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

/// The registrar is silent to dialtone, but the router is registered with it: the provider
/// serves this line, so its failure is only a degradation.
fn trust_router_registration(provider: &mut Assessment, router: Option<&RouterObservation>) {
    let Some(router) = router.filter(|r| r.reachable) else {
        return;
    };
    let numbers = router
        .voip
        .iter()
        .filter(|v| v.status.is_registered())
        .count();
    if provider.status == LayerStatus::Failed && numbers > 0 {
        provider.status = LayerStatus::Degraded;
        provider
            .evidence
            .insert(0, Fact::RouterStillRegistered { numbers });
    }
}

fn assess_account(
    account: Option<&AccountObservation>,
    router: Option<&RouterObservation>,
    th: &Thresholds,
) -> Assessment {
    let voip = router
        .filter(|r| r.reachable)
        .map(|r| r.voip.as_slice())
        .unwrap_or_default();
    let mut a = match account {
        Some(account) => assess_register_query(account, th),
        None if voip.is_empty() => {
            return Assessment::not_probed(Layer::Account, Verdict::AccountProblem)
        }
        None => {
            let mut a = Assessment::new(Verdict::AccountProblem);
            if !voip.iter().any(|v| v.status.is_registered()) {
                // Only disabled or unknown accounts: the router could not tell.
                a.status = LayerStatus::Skipped;
            }
            a
        }
    };
    a.evidence.extend(voip.iter().map(|v| Fact::RouterVoip {
        index: v.index,
        number: v.number.clone(),
        status: v.status,
    }));
    if voip.iter().any(|v| v.status == VoipStatus::NotRegistered) {
        a.fail();
    }
    a
}

fn assess_register_query(account: &AccountObservation, th: &Thresholds) -> Assessment {
    let mut a = Assessment::new(Verdict::AccountProblem);
    if let Some(exchange) = &account.exchange {
        if let SipOutcome::Response { rtt, .. } = exchange.outcome {
            a.latency_ms = Some(fact::millis(rtt));
        }
    }
    match &account.outcome {
        AccountOutcome::Accepted { bindings } => {
            a.evidence.push(Fact::LoginAccepted {
                aor: account.aor.clone(),
                bindings: bindings.len(),
            });
            a.evidence.extend(bindings.iter().map(|b| Fact::Registered {
                contact: b.contact.clone(),
                expires: b.expires,
            }));
            if bindings.is_empty() {
                a.evidence.push(Fact::NoBinding);
                if th.expect_binding {
                    a.fail();
                }
            }
        }
        AccountOutcome::Rejected { code, reason } => {
            a.evidence.push(Fact::LoginRejected {
                code: *code,
                reason: reason.clone(),
            });
            a.fail();
        }
        AccountOutcome::Suspended { since, code } => {
            a.evidence.push(Fact::AccountSuspended {
                since: *since,
                code: *code,
            });
            a.fail();
        }
        AccountOutcome::Deferred { until, code } => {
            a.evidence.push(Fact::AccountDeferred {
                until: *until,
                code: *code,
            });
            if server_failed(*code) {
                // The registrar said it cannot serve logins now: phones cannot register either.
                a.verdict_if_failed = Verdict::ProviderOutage;
                a.fail();
            } else {
                a.degrade();
            }
        }
        AccountOutcome::UnsupportedChallenge { detail } => {
            a.evidence.push(Fact::UnsupportedChallenge {
                detail: detail.clone(),
            });
            a.fail();
        }
        AccountOutcome::NoAnswer => {
            a.evidence.push(Fact::AccountNoAnswer);
            match &account.exchange {
                Some(exchange) => {
                    a.evidence.push(exchange_fact(exchange));
                    if response_code(exchange).is_some_and(server_failed) {
                        // The registrar itself refuses registrations: phones cannot register.
                        a.verdict_if_failed = Verdict::ProviderOutage;
                        a.fail();
                    } else {
                        a.degrade();
                    }
                }
                None => a.degrade(),
            }
        }
    }
    a
}

impl Diagnosis {
    /// One sentence for the user, in their words ("Your line works: every check up to 1&1
    /// passed.").
    pub fn summary(&self, lang: Lang) -> String {
        let de = lang == Lang::De;
        let name = self.provider_name.as_deref();
        match self.verdict {
            // More than the verdict's two words above it: what was checked, and up to whom.
            Verdict::Healthy => match (de, name) {
                (false, Some(p)) => format!("Your line works: every check up to {p} passed."),
                (false, None) => "Your line works: every check passed.".to_string(),
                (true, Some(p)) => {
                    format!("Ihr Anschluss funktioniert: alle Prüfungen bis {p} waren in Ordnung.")
                }
                (true, None) => {
                    "Ihr Anschluss funktioniert: alle Prüfungen waren in Ordnung.".to_string()
                }
            },
            Verdict::Degraded if self.has_fact(|f| matches!(f, Fact::RouterStillRegistered { .. })) => {
                match (de, name) {
                    (false, Some(p)) => format!("Your router is registered with {p}, but {p}'s server does not answer dialtone: calls should work."),
                    (false, None) => "Your router is registered with your provider, but its server does not answer dialtone: calls should work.".to_string(),
                    (true, Some(p)) => format!("Ihr Router ist bei {p} angemeldet, aber der Server von {p} antwortet dialtone nicht: Anrufe sollten funktionieren."),
                    (true, None) => "Ihr Router ist bei Ihrem Anbieter angemeldet, aber dessen Server antwortet dialtone nicht: Anrufe sollten funktionieren.".to_string(),
                }
            }
            Verdict::Degraded => lang
                .pick(
                    "Your line works, but it is slow or losing packets.",
                    "Ihr Anschluss funktioniert, ist aber langsam oder verliert Pakete.",
                )
                .to_string(),
            Verdict::ProviderOutage => {
                let server_said = self
                    .failing_report()
                    .is_some_and(|r| {
                        r.evidence.iter().any(|f| match f {
                            Fact::SipResponse { code, .. } | Fact::AccountDeferred { code, .. } => {
                                server_failed(*code)
                            }
                            _ => false,
                        })
                    });
                // The sentence is the same in every case but for whose telephony it is and what
                // it does; German puts the owner after "die Telefonie".
                let what = match (de, server_said) {
                    (false, false) => "is not answering",
                    (false, true) => "reports a failure",
                    (true, false) => "antwortet nicht",
                    (true, true) => "meldet eine Störung",
                };
                match (de, name) {
                    (false, Some(p)) => format!("Your internet works, but {p}'s telephony {what}."),
                    (false, None) => {
                        format!("Your internet works, but your provider's telephony {what}.")
                    }
                    (true, Some(p)) => {
                        format!("Ihr Internet funktioniert, aber die Telefonie von {p} {what}.")
                    }
                    (true, None) => format!(
                        "Ihr Internet funktioniert, aber die Telefonie Ihres Anbieters {what}."
                    ),
                }
            }
            Verdict::AccountProblem => {
                let facts = self
                    .failing_report()
                    .map(|r| r.evidence.as_slice())
                    .unwrap_or_default();
                let not_registered = facts.iter().any(|f| matches!(f, Fact::NoBinding));
                let unsupported = facts
                    .iter()
                    .any(|f| matches!(f, Fact::UnsupportedChallenge { .. }));
                let router_unregistered = facts.iter().any(|f| {
                    matches!(f, Fact::RouterVoip { status: VoipStatus::NotRegistered, .. })
                }) && !facts.iter().any(|f| {
                    matches!(f, Fact::LoginRejected { .. } | Fact::AccountSuspended { .. })
                });
                if router_unregistered {
                    return match (de, name) {
                        (false, Some(p)) => format!("Your router is not registered with {p}."),
                        (false, None) => "Your router is not registered with your provider.".to_string(),
                        (true, Some(p)) => format!("Ihr Router ist bei {p} nicht angemeldet."),
                        (true, None) => "Ihr Router ist bei Ihrem Anbieter nicht angemeldet.".to_string(),
                    };
                }
                match (de, not_registered, unsupported, name) {
                    (false, true, _, Some(p)) => {
                        format!("No phone or router is registered on your {p} line.")
                    }
                    (false, true, _, None) => {
                        "No phone or router is registered on your line.".to_string()
                    }
                    (true, true, _, Some(p)) => {
                        format!("An Ihrem {p}-Anschluss ist kein Telefon und kein Router angemeldet.")
                    }
                    (true, true, _, None) => {
                        "An Ihrem Anschluss ist kein Telefon und kein Router angemeldet.".to_string()
                    }
                    (false, false, true, p) => format!(
                        "{} asks for a login method dialtone does not support.",
                        p.unwrap_or("Your provider")
                    ),
                    (true, false, true, p) => format!(
                        "{} verlangt ein Anmeldeverfahren, das dialtone nicht beherrscht.",
                        p.unwrap_or("Ihr Anbieter")
                    ),
                    (false, false, false, p) => {
                        format!("{} rejects the login.", p.unwrap_or("Your provider"))
                    }
                    (true, false, false, p) => {
                        format!("{} lehnt die Anmeldung ab.", p.unwrap_or("Ihr Anbieter"))
                    }
                }
            }
            Verdict::InternetDown if self.failing_layer == Some(Layer::Router) => {
                // The connection's word ("Disconnected") is what the router's own status page
                // shows; the physical link's ("Down") stands in when it gave none.
                let words = self.failing_report().and_then(|r| {
                    let connection = r.evidence.iter().find_map(|f| match f {
                        Fact::RouterConnection { status, connected: false, .. } => Some(status.clone()),
                        _ => None,
                    });
                    connection.or_else(|| {
                        r.evidence.iter().find_map(|f| match f {
                            Fact::RouterLink { status, up: false } => Some(status.clone()),
                            _ => None,
                        })
                    })
                });
                let words = words.unwrap_or_default();
                if de {
                    format!("Ihr Router meldet, dass seine Internetverbindung unterbrochen ist („{words}“): Ihr Internetzugang ist gestört.")
                } else {
                    format!("Your router reports that its internet connection is down (\"{words}\"): your internet access is down.")
                }
            }
            Verdict::InternetDown => {
                let router_ok = self.layer(Layer::HomeNetwork).is_some_and(|r| {
                    matches!(r.status, LayerStatus::Ok | LayerStatus::Degraded)
                });
                match (de, router_ok) {
                    (false, true) => "Your router is reachable but the internet is not: your internet access is down.",
                    (false, false) => "The internet is not reachable: your internet access is down.",
                    (true, true) => "Ihr Router ist erreichbar, das Internet aber nicht: Ihr Internetzugang ist gestört.",
                    (true, false) => "Das Internet ist nicht erreichbar: Ihr Internetzugang ist gestört.",
                }
                .to_string()
            }
            Verdict::LocalProblem => lang
                .pick(
                    "This computer or your home network has no connection: check Wi-Fi, cable and router.",
                    "Dieser Computer oder Ihr Heimnetz hat keine Verbindung: prüfen Sie WLAN, Kabel und Router.",
                )
                .to_string(),
            Verdict::Unknown => {
                let provider_unconfigured = self.layer(Layer::Provider).is_some_and(|r| {
                    r.evidence.contains(&Fact::NotProbed {
                        layer: Layer::Provider,
                    })
                });
                let never_answered = self.registrar_never_answered();
                if provider_unconfigured {
                    lang.pick(
                        "Your connection works, but the phone line was not checked: no SIP registrar is configured.",
                        "Ihre Verbindung funktioniert, aber der Telefonanschluss wurde nicht geprüft: kein SIP-Registrar eingerichtet.",
                    )
                } else if never_answered {
                    lang.pick(
                        "Your internet works, but dialtone cannot tell yet whether your phone line does: the registrar has never answered from this computer.",
                        "Ihr Internet funktioniert, aber dialtone kann noch nicht sagen, ob Ihr Telefonanschluss funktioniert: der Registrar hat von diesem Computer aus noch nie geantwortet.",
                    )
                } else {
                    lang.pick("Not checked yet.", "Noch nicht geprüft.")
                }
                .to_string()
            }
        }
    }

    /// The failing (or degraded) layer's one-line reason in the technical register (transport,
    /// address, SIP code, round-trip time), for `check --verbose`, `--json`, the dashboard's
    /// details and the outage log; `None` when every layer is fine. People read
    /// [`Diagnosis::plain_reason`] first.
    pub fn reason(&self, lang: Lang) -> Option<String> {
        Some(self.reason_fact()?.render(lang))
    }

    /// The failing (or degraded) layer's one-line reason in plain words, naming the provider
    /// ("1&1's phone server turned the connection away; your internet is fine"): what the
    /// tray, the notification, the dashboard headline and `dialtone check` lead with. `None`
    /// when every layer is fine. The same fact as [`Diagnosis::reason`].
    pub fn plain_reason(&self, lang: Lang) -> Option<String> {
        let (mut text, below) = self.plain_parts(lang)?;
        if let Some(below) = below {
            text.push_str("; ");
            text.push_str(below);
        }
        Some(text)
    }

    /// [`Diagnosis::plain_reason`] without its second half (whose fault it is not), for a place
    /// that shows it under [`Diagnosis::summary`], which already says so ("Your internet works,
    /// but …"): the dashboard's card would otherwise say it twice.
    pub fn plain_cause(&self, lang: Lang) -> Option<String> {
        self.plain_parts(lang).map(|(cause, _)| cause)
    }

    /// The plain reason's two halves: what failed, and the working layer below it, if any.
    fn plain_parts(&self, lang: Lang) -> Option<(String, Option<&'static str>)> {
        let report = self.failing_report()?;
        let mut fact = self.reason_fact()?;
        if self.verdict == Verdict::ProviderOutage && matches!(fact, Fact::AccountNoAnswer) {
            // "No answer to the login check" says less than the server's own failure that
            // follows it, which is why the verdict blames the provider.
            if let Some(said) = report
                .evidence
                .iter()
                .find(|f| f.is_problem() && !matches!(f, Fact::AccountNoAnswer))
            {
                fact = said;
            }
        }
        let text = fact.plain_in(report.layer, lang, self.provider_name.as_deref());
        let works = |layer| {
            self.layer(layer)
                .is_some_and(|r| matches!(r.status, LayerStatus::Ok | LayerStatus::Degraded))
        };
        // Whose fault it is not: the layer below that works, said once and only for a failure
        // (a question to the user already ends the sentence).
        let below = match report.layer {
            _ if report.status != LayerStatus::Failed || text.ends_with('?') => None,
            // An account layer blames the provider only when its registrations are out.
            Layer::Provider | Layer::Account
                if works(Layer::Internet)
                    && (report.layer == Layer::Provider
                        || self.verdict == Verdict::ProviderOutage) =>
            {
                Some(lang.pick("your internet is fine", "Ihr Internet funktioniert"))
            }
            Layer::Internet if works(Layer::HomeNetwork) => {
                Some(lang.pick("your router answers", "Ihr Router antwortet"))
            }
            _ => None,
        };
        Some((text, below))
    }

    /// The one line a person reads first: the plain reason when a layer failed or degraded,
    /// else the verdict's sentence ([`Diagnosis::summary`]).
    pub fn headline(&self, lang: Lang) -> String {
        self.plain_reason(lang)
            .unwrap_or_else(|| self.summary(lang))
    }

    /// One layer's evidence as plain sentences, in the order of [`LayerReport::evidence`]
    /// (whose [`Fact::render`] is the technical detail of each); empty for a layer not in
    /// the diagnosis.
    pub fn plain_evidence(&self, layer: Layer, lang: Lang) -> Vec<String> {
        let provider = self.provider_name.as_deref();
        self.layer(layer)
            .map(|r| {
                r.evidence
                    .iter()
                    .map(|f| f.plain_in(layer, lang, provider))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fact both reasons word: the failing layer's first problem, else its first fact.
    fn reason_fact(&self) -> Option<&Fact> {
        let report = self.failing_report()?;
        report
            .evidence
            .iter()
            .find(|f| f.is_problem())
            .or_else(|| report.evidence.first())
    }

    /// Whether the registrar has never answered from here and stayed silent again: the line
    /// cannot be confirmed, which is not an outage (the tray and the summary say so).
    pub fn registrar_never_answered(&self) -> bool {
        self.layer(Layer::Provider).is_some_and(|r| {
            r.evidence
                .iter()
                .any(|f| matches!(f, Fact::RegistrarNeverAnswered { .. }))
        })
    }

    /// Whether the login is held back after a rejection: the tray and the dashboard then offer
    /// "Try the login again".
    pub fn login_suspended(&self) -> bool {
        self.layers
            .iter()
            .flat_map(|l| &l.evidence)
            .any(|f| matches!(f, Fact::AccountSuspended { .. }))
    }

    /// The report of one layer.
    pub fn layer(&self, layer: Layer) -> Option<&LayerReport> {
        self.layers.iter().find(|report| report.layer == layer)
    }

    /// Whether any layer's evidence has a fact like this.
    fn has_fact(&self, test: impl Fn(&Fact) -> bool) -> bool {
        self.layers.iter().any(|r| r.evidence.iter().any(&test))
    }

    fn failing_report(&self) -> Option<&LayerReport> {
        self.failing_layer.and_then(|layer| self.layer(layer))
    }
}
