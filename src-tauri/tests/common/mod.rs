//! Test support for the dashboard: a fixture agent behind the real IPC server, and the mock
//! Tauri app wired to it.
#![allow(clippy::unwrap_used)] // test support: a failed unwrap fails the test

use chrono::{Duration as ChronoDuration, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact, LayerReport, TargetRef, Thresholds};
use dialtone_core::locale::Lang;
use dialtone_core::observation::{ReachMethod, Transport};
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_engine::monitor::{Status, VerdictChanged};
use dialtone_ipc::protocol::{
    AgentStatus, Bilingual, ChannelKind, ChannelView, ChannelsReply, EpisodeView, EpisodesReply,
    ErrorReply, Event, ExportFormat, FeedView, FeedsReply, HistoryPoint, HistoryReply, OutageView,
    PostView, ProviderInfo, ReportView, Request, Response, Settings,
};
use dialtone_ipc::server::{Handler, Server};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A diagnosis as the engine would produce it: everything fine up to the provider, which is
/// healthy or times out.
pub fn diagnosis(verdict: Verdict) -> Diagnosis {
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
pub fn channels() -> Vec<ChannelView> {
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

/// What the fixture agent has been asked, for assertions.
#[derive(Debug, Default)]
pub struct Seen {
    /// `check_now` requests.
    pub checks: u32,
    /// `retry_login` requests.
    pub login_retries: u32,
    /// Settings stored.
    pub settings: Option<Settings>,
    /// Whether a password was stored (its value is checked, then forgotten).
    pub password_ok: bool,
    /// Fault reports attached to episode 1 (the fixture's only episode).
    pub reports: Vec<ReportView>,
    /// Export requests.
    pub exports: Vec<(ExportFormat, Lang)>,
}

/// The fixture's one episode: a provider outage that ended two hours ago after two hours.
pub fn episode(reports: Vec<ReportView>) -> EpisodeView {
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
        reports,
        posts: vec![PostView {
            title: "Störung Telefonie <script>alert(1)</script>".into(),
            published: Some(end - ChronoDuration::minutes(90)),
            link: None,
        }],
    }
}

/// A protocol-complete agent answering from fixtures.
pub struct FixtureAgent {
    verdict: Mutex<Verdict>,
    events: broadcast::Sender<Event>,
    /// What it was asked.
    pub seen: Mutex<Seen>,
    /// The password the test expects `set_password` to deliver.
    pub expected_password: String,
}

impl FixtureAgent {
    /// A healthy agent.
    pub fn new() -> Arc<FixtureAgent> {
        Arc::new(FixtureAgent {
            verdict: Mutex::new(Verdict::Healthy),
            events: broadcast::channel(64).0,
            seen: Mutex::new(Seen::default()),
            expected_password: "correct horse".into(),
        })
    }

    /// The status now.
    pub fn status(&self) -> AgentStatus {
        let verdict = *self.verdict.lock().unwrap();
        AgentStatus {
            status: Status {
                verdict,
                since: Utc::now() - ChronoDuration::minutes(12),
                diagnosis: Some(diagnosis(verdict)),
                latest: Some(diagnosis(verdict)),
                thresholds: Thresholds::default(),
            },
            configured: true,
            alerts_paused_until: None,
            provider: Some(ProviderInfo {
                id: Some("exampletel".into()),
                name: "Example Telecom".into(),
            }),
            lang: Lang::En,
            tray_icon_hidden: false,
            line: None,
            lines: Vec::new(),
        }
    }

    /// Moves to `verdict` and tells subscribers, as the agent does after a confirmed change.
    pub fn set_verdict(&self, verdict: Verdict) {
        let from = std::mem::replace(&mut *self.verdict.lock().unwrap(), verdict);
        let now = Utc::now();
        let _ = self.events.send(Event::Status(self.status()));
        let _ = self.events.send(Event::Changed(VerdictChanged {
            from,
            to: verdict,
            from_since: now - ChronoDuration::minutes(12),
            since: now,
            at: now,
            diagnosis: diagnosis(verdict),
        }));
    }
}

impl Handler for FixtureAgent {
    async fn handle(&self, request: Request) -> Result<Response, ErrorReply> {
        let now = Utc::now();
        match request {
            Request::Status { .. } => Ok(Response::Status {
                status: self.status(),
            }),
            Request::History { hours, .. } => {
                if hours == 0 || hours > dialtone_ipc::protocol::MAX_HISTORY_HOURS {
                    return Err(ErrorReply::Invalid {
                        field: "hours".into(),
                        detail: "out of range".into(),
                    });
                }
                let points = (0..48i32)
                    .map(|i| HistoryPoint {
                        at: now - ChronoDuration::minutes(30 * i64::from(48 - i)),
                        verdict: if (20..24).contains(&i) {
                            Verdict::ProviderOutage
                        } else {
                            Verdict::Healthy
                        },
                        sip_rtt_ms: (!(20..24).contains(&i)).then_some(20.0 + f64::from(i % 7)),
                    })
                    .collect();
                Ok(Response::History {
                    history: HistoryReply {
                        available: true,
                        hours,
                        points,
                        outages: vec![OutageView {
                            id: 1,
                            failing_layer: Some(Layer::Provider),
                            verdict: Verdict::ProviderOutage,
                            start: now - ChronoDuration::minutes(30 * 28),
                            end: Some(now - ChronoDuration::minutes(30 * 24)),
                        }],
                    },
                })
            }
            Request::CheckNow { .. } => {
                self.seen.lock().unwrap().checks += 1;
                Ok(Response::CheckStarted)
            }
            Request::RetryLogin => {
                self.seen.lock().unwrap().login_retries += 1;
                Ok(Response::Done)
            }
            Request::GetSettings => Ok(Response::Settings {
                settings: self
                    .seen
                    .lock()
                    .unwrap()
                    .settings
                    .clone()
                    .unwrap_or_default(),
            }),
            Request::SetSettings { settings, password } => {
                if settings.interval_secs == 3600 {
                    // A value the dashboard lets through but this agent refuses: typed errors
                    // must reach the UI unchanged.
                    return Err(ErrorReply::Invalid {
                        field: "settings.interval_secs".into(),
                        detail: "fixture refuses an hour".into(),
                    });
                }
                if let Some(password) = password {
                    // Stored before the settings, as the agent does.
                    self.seen.lock().unwrap().password_ok =
                        password.expose() == self.expected_password;
                }
                let stored = Settings {
                    password_stored: self.seen.lock().unwrap().password_ok,
                    ..settings
                };
                self.seen.lock().unwrap().settings = Some(stored.clone());
                Ok(Response::Settings { settings: stored })
            }
            Request::SetPassword { password } => {
                let ok = password.expose() == self.expected_password;
                self.seen.lock().unwrap().password_ok = ok;
                if ok {
                    Ok(Response::PasswordStored)
                } else {
                    Err(ErrorReply::Keyring {
                        detail: "fixture: unexpected password".into(),
                    })
                }
            }
            Request::Channels { .. } => Ok(Response::Channels {
                channels: ChannelsReply {
                    available: true,
                    provider: self.status().provider,
                    channels: channels(),
                },
            }),
            Request::Feeds { .. } => Ok(Response::Feeds {
                feeds: FeedsReply {
                    available: true,
                    feeds: vec![FeedView {
                        url: "https://status.example.net/history.rss".into(),
                        kind: "rss".into(),
                        fetched_at: Some(now),
                        problem: None,
                        indicator: None,
                        posts: vec![PostView {
                            title: "Störung Telefonie <script>alert(1)</script>".into(),
                            published: Some(now - ChronoDuration::hours(2)),
                            link: Some("https://status.example.net/incidents/42".into()),
                        }],
                    }],
                },
            }),
            Request::PauseAlerts { minutes } => {
                let mut status = self.status();
                status.alerts_paused_until =
                    (minutes > 0).then(|| now + ChronoDuration::minutes(i64::from(minutes)));
                Ok(Response::Status { status })
            }
            Request::Episodes { days, .. } => Ok(Response::Episodes {
                episodes: EpisodesReply {
                    available: true,
                    days,
                    episodes: vec![episode(self.seen.lock().unwrap().reports.clone())],
                    truncated: false,
                },
            }),
            Request::AttachReport {
                episode,
                reported_at,
                channel,
                ticket,
                note,
                ..
            } => {
                if episode != 1 {
                    return Err(ErrorReply::Invalid {
                        field: "episode".into(),
                        detail: format!("there is no outage episode #{episode}"),
                    });
                }
                self.seen.lock().unwrap().reports.push(ReportView {
                    reported_at,
                    channel,
                    ticket,
                    note,
                });
                Ok(Response::Done)
            }
            Request::ExportLog { format, lang, .. } => {
                self.seen.lock().unwrap().exports.push((format, lang));
                let (file_name, content) = match format {
                    ExportFormat::Csv => {
                        ("dialtone-outages-2026-03-02.csv", "episode,start\n1,x\n")
                    }
                    // A hostile name: the dashboard must not write outside its directory.
                    ExportFormat::Html => ("../../escape.html", "<!DOCTYPE html><p>1</p>"),
                };
                Ok(Response::Export {
                    file_name: file_name.into(),
                    content: content.into(),
                })
            }
            other => Err(ErrorReply::Unavailable {
                what: other.name().into(),
                detail: "not in this fixture".into(),
            }),
        }
    }

    fn subscribe(&self) -> (AgentStatus, broadcast::Receiver<Event>) {
        (self.status(), self.events.subscribe())
    }
}

/// A fixture agent serving on a socket in a temp dir; re-bindable to simulate a restart.
pub struct RunningAgent {
    /// Keeps the socket's directory alive.
    pub dir: tempfile::TempDir,
    /// The socket path.
    pub path: PathBuf,
    /// The handler.
    pub handler: Arc<FixtureAgent>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningAgent {
    /// Binds and serves.
    pub async fn start() -> RunningAgent {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        let handler = FixtureAgent::new();
        let mut agent = RunningAgent {
            dir,
            path,
            handler,
            shutdown: CancellationToken::new(),
            task: None,
        };
        agent.serve().await;
        agent
    }

    async fn serve(&mut self) {
        let server = Server::bind(&self.path).await.unwrap();
        self.shutdown = CancellationToken::new();
        self.task = Some(tokio::spawn(
            server.serve(self.handler.clone(), self.shutdown.clone()),
        ));
    }

    /// Stops serving (connections are closed, the socket removed), as an agent that exits.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Serves again on the same path, as a restarted agent.
    pub async fn restart(&mut self) {
        self.serve().await;
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
