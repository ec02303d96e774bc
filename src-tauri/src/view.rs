//! What the window shows, rendered in both languages by the engine's own wording.
//!
//! Layer names and other fixed labels come from the UI's dictionary (`ui/i18n.js`). The agent
//! sends structured facts; this module words them with [`Fact::render`],
//! [`Diagnosis::summary`] and [`Diagnosis::reason`] for English **and** German at once, so the
//! UI switches language live without another round trip and never words evidence itself
//! (one vocabulary for CLI, tray and dashboard).

use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact};
use dialtone_core::locale::Lang;
use dialtone_core::schedule::VerdictChanged;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_ipc::protocol::{AgentStatus, Bilingual, LineSummary, ProviderInfo};
use serde::Serialize;

/// One piece of evidence, worded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceView {
    /// The sentence.
    pub text: String,
    /// Whether it is a problem (the UI marks it).
    pub problem: bool,
}

/// One layer of the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerView {
    /// Which layer.
    pub layer: Layer,
    /// How it fared in the diagnosis shown.
    pub status: LayerStatus,
    /// Its main latency, when measured.
    pub latency_ms: Option<f64>,
    /// The evidence, worded.
    pub evidence: Bilingual<Vec<EvidenceView>>,
}

/// The status as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusView {
    /// The confirmed verdict.
    pub verdict: Verdict,
    /// Since when it holds.
    pub since: DateTime<Utc>,
    /// `false` on first run: the window opens on the setup.
    pub configured: bool,
    /// The provider, when known.
    pub provider: Option<ProviderInfo>,
    /// Notifications paused until then.
    pub alerts_paused_until: Option<DateTime<Utc>>,
    /// The agent's language (the window's default when the user has not picked one).
    pub lang: Lang,
    /// No tray host shows the agent's icon: the window says how to get one.
    pub tray_icon_hidden: bool,
    /// When the diagnosis shown was taken.
    pub checked_at: Option<DateTime<Utc>>,
    /// The latest raw verdict when it differs from the confirmed one (a change being
    /// confirmed), so the UI can say "being re-checked" instead of hiding it.
    pub pending: Option<Verdict>,
    /// One sentence: what is going on.
    pub summary: Bilingual<String>,
    /// The failing layer's one-line reason.
    pub reason: Bilingual<Option<String>>,
    /// The six layers, lowest first.
    pub layers: Vec<LayerView>,
    /// The registrar rejected the login and dialtone holds further attempts back: the window
    /// offers "Try the login again" (one attempt with the same password).
    pub login_suspended: bool,
    /// What the router registers with (FRITZ!Box TR-064): pre-fills the set-up's registrar
    /// and user, and so picks the provider from the catalog.
    pub router_account: Option<RouterAccount>,
    /// The line this status is of (its label), when the agent said.
    pub line: Option<String>,
    /// Every line the agent watches: with more than one the window offers a picker.
    pub lines: Vec<LineSummary>,
}

/// One phone account as the router reported it (never its password: that is dropped when the
/// router's answer is parsed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterAccount {
    /// The registrar the router uses.
    pub registrar: String,
    /// The phone number, when the router said.
    pub number: Option<String>,
}

/// A confirmed change, for the window's live update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeView {
    /// Before.
    pub from: Verdict,
    /// Now.
    pub to: Verdict,
    /// When the new verdict began.
    pub since: DateTime<Utc>,
    /// What it means.
    pub summary: Bilingual<String>,
}

impl StatusView {
    /// Renders the agent's status. The chain shows the diagnosis that confirmed the verdict
    /// (so chain and verdict never contradict each other), or the latest check before the
    /// first confirmation.
    pub fn new(agent: &AgentStatus) -> StatusView {
        let status = &agent.status;
        let shown = status.diagnosis.as_ref().or(status.latest.as_ref());
        let pending = status
            .latest
            .as_ref()
            .map(|d| d.verdict)
            .filter(|v| *v != status.verdict);
        StatusView {
            verdict: status.verdict,
            since: status.since,
            configured: agent.configured,
            provider: agent.provider.clone(),
            alerts_paused_until: agent.alerts_paused_until,
            lang: agent.lang,
            tray_icon_hidden: agent.tray_icon_hidden,
            checked_at: shown.map(|d| d.checked_at),
            pending,
            login_suspended: shown.is_some_and(Diagnosis::login_suspended),
            router_account: shown.and_then(|d| d.router.as_ref()).and_then(|r| {
                r.voip.iter().find_map(|v| {
                    v.registrar.clone().map(|registrar| RouterAccount {
                        registrar,
                        number: v.number.clone(),
                    })
                })
            }),
            summary: Bilingual::render(|lang| match shown {
                Some(d) => d.summary(lang),
                None => lang
                    .pick("Not checked yet.", "Noch nicht geprüft.")
                    .to_string(),
            }),
            reason: Bilingual::render(|lang| shown.and_then(|d| d.reason(lang))),
            layers: layers(shown),
            line: agent.line.clone(),
            lines: agent.lines.clone(),
        }
    }
}

impl ChangeView {
    /// Renders a confirmed change.
    pub fn new(change: &VerdictChanged) -> ChangeView {
        ChangeView {
            from: change.from,
            to: change.to,
            since: change.since,
            summary: Bilingual::render(|lang| change.diagnosis.summary(lang)),
        }
    }
}

fn layers(diagnosis: Option<&Diagnosis>) -> Vec<LayerView> {
    Layer::ALL
        .iter()
        .map(|&layer| {
            let report = diagnosis.and_then(|d| d.layer(layer));
            let facts: &[Fact] = report.map(|r| r.evidence.as_slice()).unwrap_or_default();
            LayerView {
                layer,
                status: report.map_or(LayerStatus::Skipped, |r| r.status),
                latency_ms: report.and_then(|r| r.latency_ms),
                evidence: Bilingual::render(|lang| {
                    facts
                        .iter()
                        .map(|f| EvidenceView {
                            text: f.render(lang),
                            problem: f.is_problem(),
                        })
                        .collect()
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialtone_core::diagnosis::Thresholds;
    use dialtone_core::schedule::Status;

    fn agent(latest: Option<Diagnosis>) -> AgentStatus {
        AgentStatus {
            status: Status {
                verdict: Verdict::Unknown,
                since: Utc::now(),
                diagnosis: None,
                latest,
                thresholds: Thresholds::default(),
            },
            configured: false,
            alerts_paused_until: None,
            provider: None,
            lang: Lang::De,
            tray_icon_hidden: false,
            line: None,
            lines: Vec::new(),
        }
    }

    #[test]
    fn before_the_first_check_every_layer_is_unchecked_and_said_so() {
        let view = StatusView::new(&agent(None));
        assert_eq!(view.summary.en, "Not checked yet.");
        assert_eq!(view.summary.de, "Noch nicht geprüft.");
        assert_eq!(view.layers.len(), 6);
        assert!(view
            .layers
            .iter()
            .all(|l| l.status == LayerStatus::Skipped && l.evidence.en.is_empty()));
        assert_eq!(view.pending, None);
        assert!(!view.configured);
    }

    #[test]
    fn a_suspended_login_offers_to_try_again() {
        use dialtone_core::diagnosis::{Diagnosis, LayerReport};
        let report = |layer, status, evidence| LayerReport {
            layer,
            status,
            evidence,
            latency_ms: None,
        };
        let diagnosis = Diagnosis {
            verdict: Verdict::AccountProblem,
            failing_layer: Some(Layer::Account),
            layers: vec![report(
                Layer::Account,
                LayerStatus::Failed,
                vec![Fact::AccountSuspended {
                    since: Utc::now(),
                    code: 403,
                }],
            )],
            bindings: None,
            provider_name: None,
            checked_at: Utc::now(),
            router: None,
        };
        assert!(StatusView::new(&agent(Some(diagnosis.clone()))).login_suspended);
        // The router's own account pre-fills the set-up.
        let mut from_router = diagnosis.clone();
        from_router.router = Some(Box::new(dialtone_core::router::RouterView {
            reachable: true,
            model: None,
            link: None,
            connection: None,
            uptime_s: None,
            external_ipv4: None,
            nat: dialtone_core::router::NatKind::Unknown,
            voip: vec![dialtone_core::router::VoipView {
                index: 0,
                number: Some("4930123456".into()),
                status: dialtone_core::router::VoipStatus::Registered,
                registrar: Some("sip.1und1.de".into()),
            }],
            error: None,
        }));
        assert_eq!(
            StatusView::new(&agent(Some(from_router))).router_account,
            Some(RouterAccount {
                registrar: "sip.1und1.de".into(),
                number: Some("4930123456".into()),
            })
        );
        let mut working = diagnosis;
        working.layers.clear();
        assert!(!StatusView::new(&agent(Some(working))).login_suspended);
        assert!(!StatusView::new(&agent(None)).login_suspended);
    }
}
