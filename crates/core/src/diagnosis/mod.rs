//! Turns one [`Snapshot`] into a [`Diagnosis`]: a pure function, no I/O, no clock.
//!
//! The rule is the one a careful person follows: check the layers from the bottom up and blame
//! the lowest one that fails, because a dead router makes the provider look dead too.
//!
//! This module holds the rules only: the layers' rules are in `network.rs` (this computer,
//! home network, router, internet) and `telephony.rs` (provider, account), the evidence
//! vocabulary in `fact.rs`; the words of facts and summaries are made in [`crate::words`].
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
//! - A check that could not open a socket on this computer (too many open files or
//!   connections: EMFILE, ENFILE, ENOBUFS) sent nothing: the device layer fails with that
//!   finding, so it can never confirm a provider or internet outage.
//! - A round without a provider check (none configured) cannot say the line works: when nothing
//!   failed below, the verdict is unknown.

mod fact;
mod network;
mod telephony;

pub use fact::{server_failed, DnsResult, Fact, Measure, TargetRef};
// The words are made in `crate::words`; this path keeps working for the crates that use it.
pub use crate::words::layer_words;

use network::{
    assess_device, assess_gateway, assess_internet, assess_router, late_gateway, sockets_not_opened,
};
use telephony::{assess_account, assess_provider, trust_router_registration};

use crate::observation::{AccountOutcome, Binding, Snapshot};
use crate::router::RouterView;
use crate::verdict::{Layer, LayerStatus, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
        snapshot.taken_at,
        thresholds,
    );
    trust_router_registration(&mut provider, snapshot.provider.as_ref(), router);
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
    let mut device = assess_device(&snapshot.device);
    let checks = sockets_not_opened(snapshot);
    if !checks.is_empty() {
        // This computer's own trouble: the checks that could not run say nothing about the
        // layers above, so it is the lowest failure and no provider or internet outage can
        // rest on them.
        device.evidence.insert(0, Fact::CannotOpenSocket { checks });
        device.fail();
    }
    let assessments = [
        (Layer::Device, device),
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

impl Diagnosis {
    /// The fact both reasons word: the failing layer's first problem, else its first fact.
    pub(crate) fn reason_fact(&self) -> Option<&Fact> {
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
    pub(crate) fn has_fact(&self, test: impl Fn(&Fact) -> bool) -> bool {
        self.layers.iter().any(|r| r.evidence.iter().any(&test))
    }

    /// The report of the failing (or, when none failed, the lowest degraded) layer.
    pub(crate) fn failing_report(&self) -> Option<&LayerReport> {
        self.failing_layer.and_then(|layer| self.layer(layer))
    }
}
