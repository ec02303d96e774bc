//! What the window shows, rendered in both languages by the engine's own wording.
//!
//! Layer names and other fixed labels come from the UI's dictionary (`ui/i18n.js`). The agent
//! sends structured facts; this module words them for English **and** German at once, in both
//! registers: the plain one people read first ([`Fact::plain_in`], [`Diagnosis::summary`],
//! [`Diagnosis::plain_cause`]) and the technical one behind "Details" ([`Fact::render`],
//! [`Diagnosis::reason`]). So the UI switches language live without another round trip and
//! never words evidence itself (one vocabulary for CLI, tray and dashboard).

use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact};
use dialtone_core::locale::Lang;
use dialtone_core::schedule::VerdictChanged;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_ipc::protocol::{
    AgentStatus, Bilingual, ChannelKind, ChannelsReply, LineSummary, ProviderInfo,
};
use serde::Serialize;

/// One piece of evidence, worded twice: for people and for admins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceView {
    /// The plain sentence ("Your router answers"): what the chain shows.
    pub text: String,
    /// The technical detail (transport, address, SIP code, round-trip time): behind the
    /// layer's "Details" disclosure.
    pub detail: String,
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
    /// The failing layer's one-line reason in plain words, naming the provider: under the
    /// summary (which says whose fault it is not, so the reason does not repeat it).
    pub reason: Bilingual<Option<String>>,
    /// The same reason in the technical register, behind the "Details" disclosure.
    pub detail: Bilingual<Option<String>>,
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
            // Under the summary, which already says whose fault it is not.
            reason: Bilingual::render(|lang| shown.and_then(|d| d.plain_cause(lang))),
            detail: Bilingual::render(|lang| shown.and_then(|d| d.reason(lang))),
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

/// The provider's channels as the window shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelsView {
    /// `false` when the agent has no catalog.
    pub available: bool,
    /// The provider, when one is chosen.
    pub provider: Option<ProviderInfo>,
    /// Its channels, the provider's own word first: X, then its status page, blog, Mastodon,
    /// hotline and website; crowd pages last.
    pub channels: Vec<ChannelShown>,
}

/// One channel as a button.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelShown {
    /// Its kind.
    pub kind: ChannelKind,
    /// The label a person reads, by the tray's rule ([`dialtone_ipc::protocol::ChannelView::shown_label`]):
    /// it names the page, and a crowd page carries one "not official" mark.
    pub label: Bilingual<String>,
    /// Where it leads (checked again by the link gate when clicked).
    pub url: String,
    /// `false` for crowd pages: not the provider's word.
    pub official: bool,
}

/// Where a kind of channel stands when the window lists them: during an outage the person came
/// for the provider's own word, and X is where providers speak first.
fn channel_rank(kind: ChannelKind) -> u8 {
    match kind {
        ChannelKind::X => 0,
        ChannelKind::StatusPage => 1,
        ChannelKind::Blog => 2,
        ChannelKind::Mastodon => 3,
        ChannelKind::Hotline => 4,
        ChannelKind::Website => 5,
        ChannelKind::Crowd => 6,
    }
}

impl ChannelsView {
    /// Orders and labels the agent's reply.
    pub fn new(reply: ChannelsReply) -> ChannelsView {
        let mut channels: Vec<ChannelShown> = reply
            .channels
            .iter()
            .map(|c| ChannelShown {
                kind: c.kind,
                label: Bilingual::render(|lang| c.shown_label(lang)),
                url: c.url.clone(),
                official: c.kind != ChannelKind::Crowd,
            })
            .collect();
        // Stable: the catalog's order holds within a kind.
        channels.sort_by_key(|c| channel_rank(c.kind));
        ChannelsView {
            available: reply.available,
            provider: reply.provider,
            channels,
        }
    }
}

fn layers(diagnosis: Option<&Diagnosis>) -> Vec<LayerView> {
    Layer::ALL
        .iter()
        .map(|&layer| {
            let report = diagnosis.and_then(|d| d.layer(layer));
            let facts: &[Fact] = report.map(|r| r.evidence.as_slice()).unwrap_or_default();
            let provider = diagnosis.and_then(|d| d.provider_name.as_deref());
            LayerView {
                layer,
                status: report.map_or(LayerStatus::Skipped, |r| r.status),
                latency_ms: report.and_then(|r| r.latency_ms),
                evidence: Bilingual::render(|lang| {
                    facts
                        .iter()
                        .map(|f| EvidenceView {
                            text: f.plain_in(layer, lang, provider),
                            detail: f.render(lang),
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

    #[test]
    fn channels_put_the_providers_own_word_first_and_mark_crowd_pages_once() {
        use dialtone_ipc::protocol::ChannelView;
        let channel = |kind, label: &str, label_de: Option<&str>| ChannelView {
            kind,
            label: label.into(),
            label_de: label_de.map(Into::into),
            url: "https://example.net/".into(),
        };
        let view = ChannelsView::new(ChannelsReply {
            available: true,
            provider: None,
            channels: vec![
                channel(ChannelKind::Website, "1&1 website", Some("1&1-Website")),
                channel(
                    ChannelKind::Crowd,
                    "allestörungen.de: 1&1 (crowd reports, not official)",
                    Some("allestörungen.de: 1&1 (Crowd-Meldungen, nicht offiziell)"),
                ),
                channel(ChannelKind::Hotline, "1&1 hotline", None),
                channel(
                    ChannelKind::X,
                    "1&1 on X (@1und1)",
                    Some("1&1 auf X (@1und1)"),
                ),
                channel(ChannelKind::StatusPage, "1&1 status page", None),
            ],
        });
        let kinds: Vec<ChannelKind> = view.channels.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ChannelKind::X,
                ChannelKind::StatusPage,
                ChannelKind::Hotline,
                ChannelKind::Website,
                ChannelKind::Crowd
            ]
        );
        assert_eq!(view.channels[0].label.de, "1&1 auf X (@1und1)");
        assert_eq!(
            view.channels[1].label.de, "1&1 status page",
            "English as fallback"
        );
        let crowd = &view.channels[4];
        assert!(!crowd.official);
        assert_eq!(
            crowd.label.en,
            "allestörungen.de: 1&1 (crowd reports, not official)"
        );
        assert_eq!(
            crowd.label.de,
            "allestörungen.de: 1&1 (Crowd-Meldungen, nicht offiziell)"
        );
        assert!(view.channels[..4].iter().all(|c| c.official));
    }

    #[test]
    fn evidence_is_plain_in_the_chain_and_technical_behind_details() {
        use dialtone_core::diagnosis::TargetRef;
        use dialtone_core::diagnosis::{Diagnosis, LayerReport};
        use dialtone_core::observation::{Transport, TransportFailure};
        let refused = Fact::SipTransportFailed {
            method: "OPTIONS".into(),
            target: TargetRef {
                host: "sip.1und1.de".into(),
                transport: Transport::Udp,
                address: "127.0.0.1:27060".parse().expect("an address"),
            },
            kind: TransportFailure::Refused,
            detail: "connection refused".into(),
        };
        let diagnosis = Diagnosis {
            verdict: Verdict::ProviderOutage,
            failing_layer: Some(Layer::Provider),
            layers: vec![LayerReport {
                layer: Layer::Provider,
                status: LayerStatus::Failed,
                evidence: vec![refused],
                latency_ms: None,
            }],
            bindings: None,
            provider_name: Some("1&1".into()),
            checked_at: Utc::now(),
            router: None,
        };
        let view = StatusView::new(&agent(Some(diagnosis)));
        let provider = &view.layers[4];
        assert_eq!(provider.layer, Layer::Provider);
        for (plain, detail) in [
            (&provider.evidence.en[0], &view.detail.en),
            (&provider.evidence.de[0], &view.detail.de),
        ] {
            assert!(!plain.text.contains("127.0.0.1"), "{}", plain.text);
            assert!(!plain.text.contains("OPTIONS"), "{}", plain.text);
            assert!(plain.detail.contains("127.0.0.1:27060"), "{}", plain.detail);
            assert!(detail
                .as_deref()
                .is_some_and(|d| d.contains("127.0.0.1:27060")));
        }
        let reason = view.reason.en.as_deref().unwrap_or_default();
        assert!(reason.contains("1&1"), "{reason}");
        assert!(!reason.contains("os error"), "{reason}");
    }
}
