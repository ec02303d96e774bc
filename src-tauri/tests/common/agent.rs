//! The one scripted agent behind every dashboard test: the IPC protocol answered once, over
//! state that a test scripts (the fixture's verdict, history, feeds and exports) or that a live
//! monitor feeds (the end-to-end test's engine probing a real registrar).

use super::fixture::diagnosis;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use dialtone_core::diagnosis::Thresholds;
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{Layer, Verdict};
use dialtone_engine::monitor::{MonitorHandle, Status, VerdictChanged};
use dialtone_ipc::protocol::{
    AgentStatus, Bilingual, ChannelView, ChannelsReply, EpisodeView, EpisodesReply, ErrorReply,
    Event, ExportFormat, FeedsReply, HistoryPoint, HistoryReply, LineSummary, OutageView,
    ProviderInfo, ReportView, Request, Response, Settings, MAX_HISTORY_HOURS,
};
use dialtone_ipc::server::Handler;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Where a line's status comes from.
enum Source {
    /// A verdict the test sets ([`ScriptedAgent::set_verdict`]), with a diagnosis to match.
    Scripted(Mutex<Verdict>),
    /// A live monitor: the engine probing a registrar.
    Monitor(MonitorHandle),
}

/// One line the agent watches: where its status comes from, its provider and its channels.
pub(crate) struct Line {
    /// Its label (sent once the agent watches two lines).
    pub label: String,
    /// Its provider, as its statuses and its channels name it.
    pub provider: ProviderInfo,
    /// Its channels, in the order the agent sends them.
    pub channels: Vec<ChannelView>,
    source: Source,
}

impl Line {
    /// A line whose verdict the test sets; healthy at first.
    pub(crate) fn scripted(
        label: &str,
        provider: ProviderInfo,
        channels: Vec<ChannelView>,
    ) -> Line {
        Line::new(
            label,
            provider,
            channels,
            Source::Scripted(Mutex::new(Verdict::Healthy)),
        )
    }

    /// A line `monitor` watches.
    pub(crate) fn monitored(
        label: &str,
        monitor: MonitorHandle,
        provider: ProviderInfo,
        channels: Vec<ChannelView>,
    ) -> Line {
        Line::new(label, provider, channels, Source::Monitor(monitor))
    }

    fn new(
        label: &str,
        provider: ProviderInfo,
        channels: Vec<ChannelView>,
        source: Source,
    ) -> Line {
        Line {
            label: label.into(),
            provider,
            channels,
            source,
        }
    }

    /// Its status now.
    fn status(&self) -> Status {
        match &self.source {
            Source::Scripted(verdict) => {
                let verdict = *verdict.lock().unwrap();
                Status {
                    verdict,
                    since: Utc::now() - ChronoDuration::minutes(12),
                    diagnosis: Some(diagnosis(verdict)),
                    latest: Some(diagnosis(verdict)),
                    thresholds: Thresholds::default(),
                }
            }
            Source::Monitor(monitor) => monitor.status(),
        }
    }

    /// Asks its monitor for a check now; a scripted line has nothing to check.
    fn check_now(&self) {
        if let Source::Monitor(monitor) = &self.source {
            monitor.check_now();
        }
    }
}

/// How the agent answers an export in one format: the file name it suggests, and the content
/// rendered from the episodes it holds (the real rendering has golden tests of its own; here
/// the point is the file the dashboard writes).
pub(crate) struct ExportScript {
    /// The format asked for.
    pub format: ExportFormat,
    /// The file name the agent suggests (hostile ones included, to test the dashboard).
    pub file_name: &'static str,
    /// The file's content.
    pub render: fn(&[EpisodeView]) -> String,
}

/// What the agent has been asked, for assertions.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// `check_now` requests.
    pub checks: u32,
    /// `retry_login` requests.
    pub login_retries: u32,
    /// Settings stored.
    pub settings: Option<Settings>,
    /// Whether a password was stored (its value is checked, then forgotten).
    pub password_ok: bool,
    /// Fault reports attached to an episode.
    pub reports: Vec<ReportView>,
    /// Export requests.
    pub exports: Vec<(ExportFormat, Lang)>,
}

/// A protocol-complete agent answering from what the test scripted or a monitor recorded.
pub(crate) struct ScriptedAgent {
    /// The first line.
    home: Line,
    /// A second line, once a test adds one ([`ScriptedAgent::add_line`]): statuses then list
    /// both, and the first goes by its label.
    pub office: Mutex<Option<Arc<Line>>>,
    /// What subscribers are told.
    pub events: broadcast::Sender<Event>,
    /// `false` plays the first run: no provider or registrar chosen yet.
    pub configured: AtomicBool,
    /// Plays an agent that found no tray host.
    pub tray_icon_hidden: AtomicBool,
    /// Notifications paused until then.
    pub paused_until: Mutex<Option<DateTime<Utc>>>,
    /// The first line's checks, oldest first.
    pub points: Mutex<Vec<HistoryPoint>>,
    /// The first line's outage episodes, oldest first, with the reports attached to them.
    pub episodes: Mutex<Vec<EpisodeView>>,
    /// The provider's status feeds.
    pub feeds: Mutex<FeedsReply>,
    /// The formats it exports, and how.
    exports: Vec<ExportScript>,
    /// What it was asked.
    pub seen: Mutex<Seen>,
    /// The password the test expects `set_password` to deliver.
    pub expected_password: String,
}

impl ScriptedAgent {
    /// A configured agent with `home` as its only line, exporting as `exports` say, with no
    /// history, episodes or feeds yet.
    pub(crate) fn new(home: Line, exports: Vec<ExportScript>) -> Arc<ScriptedAgent> {
        Arc::new(ScriptedAgent {
            home,
            office: Mutex::new(None),
            events: broadcast::channel(64).0,
            configured: AtomicBool::new(true),
            tray_icon_hidden: AtomicBool::new(false),
            paused_until: Mutex::new(None),
            points: Mutex::new(Vec::new()),
            episodes: Mutex::new(Vec::new()),
            feeds: Mutex::new(FeedsReply::default()),
            exports,
            seen: Mutex::new(Seen::default()),
            expected_password: "correct horse".into(),
        })
    }

    /// The first line's status now.
    pub(crate) fn status(&self) -> AgentStatus {
        self.status_of(None)
    }

    /// The status of the line labelled `label`, as its subscribers are sent it.
    pub(crate) fn status_of_label(&self, label: &str) -> AgentStatus {
        let line = self
            .pick(Some(label))
            .unwrap_or_else(|e| panic!("no line {label:?}: {e:?}"));
        self.status_of(line.as_deref())
    }

    /// The status of `line`, the first when `None`.
    fn status_of(&self, line: Option<&Line>) -> AgentStatus {
        // Taken first: `lines()` locks the second line, and the literal locks the pause.
        let lines = self.lines();
        let (line, label) = match line {
            Some(line) => (line, Some(line.label.clone())),
            None => (
                &self.home,
                (!lines.is_empty()).then(|| self.home.label.clone()),
            ),
        };
        AgentStatus {
            status: line.status(),
            configured: self.configured.load(Ordering::SeqCst),
            alerts_paused_until: *self.paused_until.lock().unwrap(),
            provider: Some(line.provider.clone()),
            lang: Lang::En,
            tray_icon_hidden: self.tray_icon_hidden.load(Ordering::SeqCst),
            line: label,
            lines,
        }
    }

    /// Both lines when the test added the second, as the real agent lists them.
    fn lines(&self) -> Vec<LineSummary> {
        let Some(office) = self.office.lock().unwrap().clone() else {
            return Vec::new();
        };
        [&self.home, &*office]
            .into_iter()
            .map(|line| LineSummary {
                label: line.label.clone(),
                verdict: line.status().verdict,
                configured: true,
            })
            .collect()
    }

    /// Which line a request is about: `None` the first, `Some(line)` the second.
    fn pick(&self, label: Option<&str>) -> Result<Option<Arc<Line>>, ErrorReply> {
        let office = self.office.lock().unwrap().clone();
        match (label, office) {
            (None, _) => Ok(None),
            (Some(label), _) if label == self.home.label => Ok(None),
            (Some(label), Some(office)) if label == office.label => Ok(Some(office)),
            (Some(other), _) => Err(ErrorReply::Invalid {
                field: "line".into(),
                detail: format!("no line is labelled {other:?}"),
            }),
        }
    }

    /// Tells subscribers the first line's status, as the agent does when anything in it
    /// changed.
    pub(crate) fn announce(&self) {
        let _ = self.events.send(Event::Status(self.status()));
    }

    /// Moves the first (scripted) line to `verdict` and tells subscribers, as the agent does
    /// after a confirmed change.
    pub(crate) fn set_verdict(&self, verdict: Verdict) {
        let Source::Scripted(current) = &self.home.source else {
            panic!("set_verdict needs a scripted line; a monitor sets its own verdict");
        };
        let from = std::mem::replace(&mut *current.lock().unwrap(), verdict);
        let now = Utc::now();
        self.announce();
        let _ = self.events.send(Event::Changed(VerdictChanged {
            from,
            to: verdict,
            from_since: now - ChronoDuration::minutes(12),
            since: now,
            at: now,
            diagnosis: diagnosis(verdict),
        }));
    }

    /// Follows the first line's monitor until `shutdown`: its statuses and changes go to
    /// subscribers, its checks and episodes into the history.
    pub(crate) fn follow(self: &Arc<Self>, shutdown: CancellationToken) {
        let Source::Monitor(monitor) = &self.home.source else {
            panic!("follow needs a monitored line");
        };
        self.forward_statuses(monitor, None, shutdown.clone());
        let agent = self.clone();
        each_message(monitor.subscribe(), shutdown.clone(), move |change| {
            agent.record_change(&change);
            let _ = agent.events.send(Event::Changed(change));
        });
        let agent = self.clone();
        each_message(monitor.subscribe_checks(), shutdown, move |check| {
            agent.points.lock().unwrap().push(HistoryPoint {
                at: check.checked_at,
                verdict: check.verdict,
                sip_rtt_ms: check.layer(Layer::Provider).and_then(|r| r.latency_ms),
            });
        });
    }

    /// Closes the open episode and opens one for an outage, as the history store does.
    fn record_change(&self, change: &VerdictChanged) {
        let mut episodes = self.episodes.lock().unwrap();
        if let Some(open) = episodes.last_mut().filter(|e| e.end.is_none()) {
            open.end = Some(change.since);
        }
        if !change.to.is_working() && change.to != Verdict::Unknown {
            let id = episodes.len() as i64 + 1;
            episodes.push(EpisodeView {
                id,
                verdict: change.to,
                failing_layer: change.diagnosis.failing_layer,
                start: change.since,
                end: None,
                duration_secs: 0,
                evidence: Bilingual::default(),
                reports: Vec::new(),
                posts: Vec::new(),
            });
        }
    }

    /// Adds the second line; a monitored one's statuses go to subscribers like the first
    /// line's (the window must show only the picked one) until `shutdown`.
    pub(crate) fn add_line(self: &Arc<Self>, line: Line, shutdown: CancellationToken) {
        let line = Arc::new(line);
        *self.office.lock().unwrap() = Some(line.clone());
        if let Source::Monitor(monitor) = &line.source {
            self.forward_statuses(monitor, Some(line.clone()), shutdown);
        }
    }

    /// Sends the status of `line` (the first when `None`) to subscribers whenever `monitor`'s
    /// status changes, until `shutdown`.
    fn forward_statuses(
        self: &Arc<Self>,
        monitor: &MonitorHandle,
        line: Option<Arc<Line>>,
        shutdown: CancellationToken,
    ) {
        let mut statuses = monitor.watch_status();
        let agent = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    changed = statuses.changed() => if changed.is_err() { return },
                }
                let _ = agent
                    .events
                    .send(Event::Status(agent.status_of(line.as_deref())));
            }
        });
    }

    /// The episodes with how long each lasted, or has lasted so far.
    fn episodes_now(&self) -> Vec<EpisodeView> {
        let now = Utc::now();
        self.episodes
            .lock()
            .unwrap()
            .iter()
            .map(|e| EpisodeView {
                duration_secs: (e.end.unwrap_or(now) - e.start).num_seconds(),
                ..e.clone()
            })
            .collect()
    }

    fn history(&self, hours: u32) -> HistoryReply {
        let from = Utc::now() - ChronoDuration::hours(i64::from(hours));
        HistoryReply {
            available: true,
            hours,
            points: self
                .points
                .lock()
                .unwrap()
                .iter()
                .filter(|p| p.at >= from)
                .cloned()
                .collect(),
            outages: self
                .episodes
                .lock()
                .unwrap()
                .iter()
                .map(|e| OutageView {
                    id: e.id,
                    failing_layer: e.failing_layer,
                    verdict: e.verdict,
                    start: e.start,
                    end: e.end,
                })
                .collect(),
        }
    }

    fn store_settings(&self, settings: Settings) -> Result<Settings, ErrorReply> {
        if settings.interval_secs == 3600 {
            // A value the dashboard lets through but this agent refuses: typed errors must
            // reach the UI unchanged.
            return Err(ErrorReply::Invalid {
                field: "settings.interval_secs".into(),
                detail: "the scripted agent refuses an hour".into(),
            });
        }
        let configured = settings.provider.is_some() || settings.account.is_some();
        let stored = {
            let mut seen = self.seen.lock().unwrap();
            let stored = Settings {
                password_stored: seen.password_ok,
                ..settings
            };
            seen.settings = Some(stored.clone());
            stored
        };
        self.configured.store(configured, Ordering::SeqCst);
        self.announce();
        Ok(stored)
    }

    fn attach_report(&self, episode: i64, report: ReportView) -> Result<(), ErrorReply> {
        let mut episodes = self.episodes.lock().unwrap();
        let Some(found) = episodes.iter_mut().find(|e| e.id == episode) else {
            return Err(ErrorReply::Invalid {
                field: "episode".into(),
                detail: format!("there is no outage episode #{episode}"),
            });
        };
        found.reports.push(report.clone());
        self.seen.lock().unwrap().reports.push(report);
        Ok(())
    }
}

impl Handler for ScriptedAgent {
    async fn handle(&self, request: Request) -> Result<Response, ErrorReply> {
        match request {
            Request::Status { line } => Ok(Response::Status {
                status: self.status_of(self.pick(line.as_deref())?.as_deref()),
            }),
            Request::History { hours, line } => {
                if hours == 0 || hours > MAX_HISTORY_HOURS {
                    return Err(ErrorReply::Invalid {
                        field: "hours".into(),
                        detail: "out of range".into(),
                    });
                }
                let history = match self.pick(line.as_deref())? {
                    None => self.history(hours),
                    // The second line has a log of its own, empty here: nothing of the first
                    // shows.
                    Some(_) => HistoryReply {
                        available: true,
                        hours,
                        ..HistoryReply::default()
                    },
                };
                Ok(Response::History { history })
            }
            Request::CheckNow { line } => {
                self.seen.lock().unwrap().checks += 1;
                let picked = self.pick(line.as_deref())?;
                picked.as_deref().unwrap_or(&self.home).check_now();
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
                if let Some(password) = password {
                    // Stored before the settings, as the agent does.
                    self.seen.lock().unwrap().password_ok =
                        password.expose() == self.expected_password;
                }
                Ok(Response::Settings {
                    settings: self.store_settings(settings)?,
                })
            }
            Request::SetPassword { password } => {
                let ok = password.expose() == self.expected_password;
                self.seen.lock().unwrap().password_ok = ok;
                if ok {
                    Ok(Response::PasswordStored)
                } else {
                    Err(ErrorReply::Keyring {
                        detail: "scripted agent: unexpected password".into(),
                    })
                }
            }
            Request::Channels { line } => {
                let picked = self.pick(line.as_deref())?;
                let line = picked.as_deref().unwrap_or(&self.home);
                Ok(Response::Channels {
                    channels: ChannelsReply {
                        available: true,
                        provider: Some(line.provider.clone()),
                        channels: line.channels.clone(),
                    },
                })
            }
            Request::Feeds { .. } => Ok(Response::Feeds {
                feeds: self.feeds.lock().unwrap().clone(),
            }),
            Request::PauseAlerts { minutes } => {
                *self.paused_until.lock().unwrap() =
                    (minutes > 0).then(|| Utc::now() + ChronoDuration::minutes(i64::from(minutes)));
                Ok(Response::Status {
                    status: self.status(),
                })
            }
            Request::Episodes { days, line } => {
                let episodes = match self.pick(line.as_deref())? {
                    None => self.episodes_now(),
                    Some(_) => Vec::new(),
                };
                Ok(Response::Episodes {
                    episodes: EpisodesReply {
                        available: true,
                        days,
                        episodes,
                        truncated: false,
                    },
                })
            }
            Request::AttachReport { .. } => {
                // As the agent validates it: the wire's fields, the line aside.
                let (episode, report) = report_of(request);
                self.attach_report(episode, report)?;
                Ok(Response::Done)
            }
            Request::ExportLog { format, lang, .. } => {
                self.seen.lock().unwrap().exports.push((format, lang));
                let Some(script) = self.exports.iter().find(|s| s.format == format) else {
                    return Err(ErrorReply::Unavailable {
                        what: "export".into(),
                        detail: format!("{format:?} is not scripted in this agent"),
                    });
                };
                Ok(Response::Export {
                    file_name: script.file_name.into(),
                    content: (script.render)(&self.episodes_now()),
                })
            }
            other => Err(ErrorReply::Unavailable {
                what: other.name().into(),
                detail: "not scripted in this agent".into(),
            }),
        }
    }

    fn subscribe(&self) -> (AgentStatus, broadcast::Receiver<Event>) {
        (self.status(), self.events.subscribe())
    }
}

/// Runs `each` on every message `rx` receives, until `stop` or the sender closes.
fn each_message<T: Clone + Send + 'static>(
    mut rx: broadcast::Receiver<T>,
    stop: CancellationToken,
    mut each: impl FnMut(T) + Send + 'static,
) {
    tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                message = rx.recv() => match message { Ok(m) => m, Err(_) => return },
            };
            each(message);
        }
    });
}

/// The episode and the report an `AttachReport` request carries.
fn report_of(request: Request) -> (i64, ReportView) {
    let Request::AttachReport {
        episode,
        reported_at,
        channel,
        ticket,
        note,
        ..
    } = request
    else {
        panic!("not a report: {request:?}");
    };
    (
        episode,
        ReportView {
            reported_at,
            channel,
            ticket,
            note,
        },
    )
}
