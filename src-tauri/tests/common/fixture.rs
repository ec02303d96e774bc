//! The fixture the dashboard's command tests run against: a scripted line of "Example
//! Telecom" with one ended provider outage, a day of checks, one status feed, and exports with
//! a hostile file name.

use super::agent::{ExportScript, Line, ScriptedAgent};
use chrono::{Duration as ChronoDuration, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact, LayerReport, TargetRef};
use dialtone_core::observation::{ReachMethod, Transport};
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_ipc::protocol::{
    Bilingual, ChannelKind, ChannelView, EpisodeView, ExportFormat, FeedView, FeedsReply,
    HistoryPoint, PostView, ProviderInfo,
};
use std::sync::Arc;

/// A diagnosis as the engine would produce it: everything fine up to the provider, which is
/// healthy or times out.
pub(crate) fn diagnosis(verdict: Verdict) -> Diagnosis {
    let outage = verdict == Verdict::ProviderOutage;
    let report = |layer, status, evidence: Vec<Fact>, latency_ms| LayerReport {
        layer,
        status,
        evidence,
        latency_ms,
    };
    let target = TargetRef {
        host: "sip.example.net".into(),
        transport: Transport::Udp,
        address: "192.0.2.10:5060".parse().unwrap(),
    };
    let provider = if outage {
        report(
            Layer::Provider,
            LayerStatus::Failed,
            vec![Fact::SipTimeout {
                method: "OPTIONS".into(),
                target,
                transmissions: 4,
                elapsed_ms: 8000.0,
            }],
            None,
        )
    } else {
        report(
            Layer::Provider,
            LayerStatus::Ok,
            vec![Fact::SipResponse {
                method: "OPTIONS".into(),
                target,
                code: 200,
                reason: "OK".into(),
                rtt_ms: 23.0,
                transmissions: 1,
                retry_after: None,
            }],
            Some(23.0),
        )
    };
    Diagnosis {
        verdict,
        failing_layer: outage.then_some(Layer::Provider),
        layers: vec![
            report(
                Layer::Device,
                LayerStatus::Ok,
                vec![Fact::InterfacesUp {
                    names: vec!["eth0".into()],
                }],
                None,
            ),
            report(
                Layer::HomeNetwork,
                LayerStatus::Ok,
                vec![Fact::GatewayAnswered {
                    address: "192.168.178.1".parse().unwrap(),
                    method: ReachMethod::IcmpEcho,
                    rtt_ms: 1.5,
                }],
                Some(1.5),
            ),
            report(
                Layer::Internet,
                LayerStatus::Ok,
                vec![Fact::AnchorsAnswered {
                    answered: 3,
                    total: 3,
                    required: 2,
                }],
                Some(12.0),
            ),
            provider,
            report(
                Layer::Account,
                LayerStatus::Skipped,
                vec![Fact::NotProbed {
                    layer: Layer::Account,
                }],
                None,
            ),
        ],
        bindings: None,
        router: None,
        provider_name: Some("Example Telecom".into()),
        checked_at: Utc::now(),
    }
}

/// The fixture agent's channels: one https page, one hotline, one crowd page.
pub(crate) fn channels() -> Vec<ChannelView> {
    vec![
        ChannelView {
            kind: ChannelKind::X,
            label: "@exampletel".into(),
            label_de: None,
            url: "https://x.com/exampletel".into(),
        },
        ChannelView {
            kind: ChannelKind::Hotline,
            label: "0800 123 456".into(),
            label_de: None,
            url: "tel:+49800123456".into(),
        },
        ChannelView {
            kind: ChannelKind::Crowd,
            label: "outage reports (crowd)".into(),
            label_de: None,
            url: "https://crowd.example/exampletel".into(),
        },
    ]
}

/// The fixture's one episode: a provider outage that ended two hours ago after two hours.
pub(crate) fn episode() -> EpisodeView {
    let end = Utc::now() - ChronoDuration::hours(2);
    EpisodeView {
        id: 1,
        verdict: Verdict::ProviderOutage,
        failing_layer: Some(Layer::Provider),
        start: end - ChronoDuration::hours(2),
        end: Some(end),
        duration_secs: 2 * 3600,
        evidence: Bilingual {
            en: "OPTIONS to sip.example.net: no answer".into(),
            de: "OPTIONS an sip.example.net: keine Antwort".into(),
        },
        reports: Vec::new(),
        posts: vec![PostView {
            title: "Störung Telefonie <script>alert(1)</script>".into(),
            published: Some(end - ChronoDuration::minutes(90)),
            link: None,
        }],
    }
}

/// A day of checks every 30 minutes up to now: the provider failing during `outage`, healthy
/// with a varying round trip otherwise.
fn points(outage: &EpisodeView) -> Vec<HistoryPoint> {
    let now = Utc::now();
    (0..48i32)
        .map(|i| {
            let at = now - ChronoDuration::minutes(30 * i64::from(47 - i));
            let down = at >= outage.start && outage.end.is_none_or(|end| at < end);
            HistoryPoint {
                at,
                verdict: if down {
                    Verdict::ProviderOutage
                } else {
                    Verdict::Healthy
                },
                sip_rtt_ms: (!down).then_some(20.0 + f64::from(i % 7)),
            }
        })
        .collect()
}

/// The provider's one status feed, with a post whose title tries markup.
fn feeds() -> FeedsReply {
    let now = Utc::now();
    FeedsReply {
        available: true,
        feeds: vec![FeedView {
            url: "https://status.example.net/history.rss".into(),
            kind: "rss".into(),
            fetched_at: Some(now),
            problem: None,
            indicator: None,
            posts: vec![
                PostView {
                    title: "Störung Telefonie <script>alert(1)</script>".into(),
                    published: Some(now - ChronoDuration::hours(2)),
                    link: Some("https://status.example.net/incidents/42".into()),
                },
                PostView {
                    // A feed item may point anywhere: the dashboard must not open this one.
                    title: "Mehr dazu".into(),
                    published: Some(now - ChronoDuration::hours(3)),
                    link: Some("https://evil.example/exampletel".into()),
                },
            ],
        }],
    }
}

/// The fixture agent: healthy, with the history, episode and feed above.
pub(crate) fn agent() -> Arc<ScriptedAgent> {
    let home = Line::scripted(
        "Home",
        ProviderInfo {
            id: Some("exampletel".into()),
            name: "Example Telecom".into(),
        },
        channels(),
    );
    let exports = vec![
        ExportScript {
            format: ExportFormat::Csv,
            file_name: "dialtone-outages-2026-03-02.csv",
            render: |_| "episode,start\n1,x\n".into(),
        },
        // A hostile name: the dashboard must not write outside its directory.
        ExportScript {
            format: ExportFormat::Html,
            file_name: "../../escape.html",
            render: |_| "<!DOCTYPE html><p>1</p>".into(),
        },
    ];
    let agent = ScriptedAgent::new(home, exports);
    let episode = episode();
    *agent.points.lock().unwrap() = points(&episode);
    *agent.episodes.lock().unwrap() = vec![episode];
    *agent.feeds.lock().unwrap() = feeds();
    agent
}
