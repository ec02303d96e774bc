//! The tray agent (`dialtone` without a subcommand): the line monitor with its presenters —
//! tray, notifications, the IPC endpoint for the dashboard, the history recorder and the
//! provider's status feeds — in one small process without GTK or WebKit.
//!
//! One [`Agent`] owns the presentation state; the engine's line runner ([`Lines`]) runs each line
//! of the config (its `[[line]]` tables, or the config itself as one line) and supervises it. A
//! settings change restarts only the lines it concerns (an unrelated line sends no extra
//! REGISTER) while the tray and the IPC server stay up. Every line's events reach the agent's one
//! presenter task ([`present`]), which updates the state, the tray, the notifications and the
//! dashboard's events. The tray shows the worst line. One cancellation token stops everything
//! on SIGTERM/SIGINT or "Quit", and the socket is removed on the way out.

mod alerts;
mod dashboard;
pub(crate) mod handler;
mod present;
mod serve;
mod status;
mod tray;
pub(crate) mod wire;

pub(crate) use serve::run;

use crate::notice::Notifier;
use crate::tray::TrayHost;
use chrono::{DateTime, Offset, Utc};
use dialtone_core::catalog::{Catalog, Provider};
use dialtone_core::config::{Config, NamedLine};
use dialtone_core::locale::Lang;
use dialtone_engine::feed::StatusPost;
use dialtone_engine::history::History;
use dialtone_engine::lines::{LineHandles, Lines, LinesError, Sharing};
use dialtone_engine::setup::{Overrides, SetupError};
use dialtone_ipc::protocol::{Event, FeedsReply};
use present::Input;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AgentError {
    /// The config, a flag or the catalog is wrong.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A blocking step (reading the keyring) died.
    #[error("preparing the line monitor: {0}")]
    Task(String),
    /// A line could not be started.
    #[error(transparent)]
    Lines(#[from] LinesError),
}

/// What the agent presents besides the monitors' own status.
struct State {
    /// The config in force: the file's settings with the command line's flags on top.
    config: Config,
    /// The presentation language.
    lang: Lang,
    /// Notifications are paused until then.
    paused_until: Option<DateTime<Utc>>,
    /// One entry per line of the config, in its order (index 0 is "the first line" that
    /// requests without a label get).
    lines: Vec<LineState>,
    /// How many line generations were started (for logs and tests): one per line the agent
    /// (re)starts, and one per restart of a dead monitor by the runner's supervisor.
    generation: u64,
    /// No tray host shows the icon (see [`AgentStatus::tray_icon_hidden`]).
    tray_icon_hidden: bool,
}

/// What the agent presents of one line.
#[derive(Default)]
struct LineState {
    /// Its label (see [`dialtone_core::config::NamedLine`]).
    label: String,
    /// Whether a provider or registrar is configured.
    configured: bool,
    /// The provider chosen, or recognised from the registrar.
    provider: Option<Provider>,
    /// The feeds' latest state, as the dashboard is told.
    feeds: FeedsReply,
    /// The newest official post across the feeds.
    latest_post: Option<StatusPost>,
    /// Why the monitor stopped, while the supervisor restarts it.
    monitor_failure: Option<String>,
}

impl State {
    /// The line at `index`, or the first (there is always one: [`Config::lines`] never
    /// returns none, and the list is rebuilt from it).
    fn line(&self, index: usize) -> Option<&LineState> {
        self.lines.get(index).or_else(|| self.lines.first())
    }
}

/// How an [`Agent`] is set up (the parts of the command line it keeps).
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentOptions {
    /// The config file and the command line's overrides of it (the schedule's and the
    /// history store's among them).
    pub overrides: Overrides,
    /// `--lang`, which beats the settings for this run.
    pub lang_flag: Option<Lang>,
    /// The IPC socket path (handed to the dashboard).
    pub socket: PathBuf,
    /// The socket could not be bound: whatever answers there is not this agent, so no
    /// dashboard is started against it.
    pub socket_unavailable: bool,
    /// Whether to show notifications at all (off in handler tests).
    pub notifications: bool,
}

/// The agent: presentation state shared by the tray, the notifier and the IPC handler.
pub(crate) struct Agent {
    options: AgentOptions,
    config_path: PathBuf,
    catalog: Catalog,
    state: Mutex<State>,
    /// The line runner (its lines indexed like [`State::lines`]); an async mutex because a
    /// restart awaits the old generation, and restarts must not interleave.
    lines: tokio::sync::Mutex<Lines>,
    /// The lines' current monitors (kept current by the runner across restarts).
    handles: LineHandles,
    events: broadcast::Sender<Event>,
    /// A reading connection to the history (the recorder writes through its own), for a
    /// config without `[[line]]` tables.
    history: Option<Arc<Mutex<History>>>,
    /// The history file, and beside it the `[[line]]` lines' own (see
    /// [`Agent::history_path_of`]); `None` without history.
    history_path: Option<PathBuf>,
    /// Reading connections to the `[[line]]` lines' history files, opened on first use.
    line_histories: Mutex<std::collections::HashMap<PathBuf, Arc<Mutex<History>>>>,
    tray: Mutex<Option<TrayHost>>,
    /// The presenter's inbox (see [`present`]).
    inbox: tokio::sync::mpsc::UnboundedSender<Input>,
    notifier: Option<Notifier>,
    dashboard: dashboard::Dashboard,
    /// "Quit" from the menu.
    quit: CancellationToken,
    /// The one token that stops everything: each line generation and the IPC server run on
    /// child tokens of it.
    shutdown: CancellationToken,
    /// The Prometheus exporter (`[metrics] listen`) and the address it was asked for, started
    /// with the first lines; each line generation attaches its monitor under its label.
    exporter: Mutex<Option<(std::net::SocketAddr, crate::metrics::Exporter)>>,
    /// Alerts to the phone (`[[alert]]`), when the config has targets and no `dialtone watch`
    /// sends them already; and its task, awaited at shutdown (the outbox's last write).
    alerter: Option<dialtone_engine::alert::Alerter>,
    alerts_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The history file the alert outbox lies beside (`None`: the state dir).
    alert_base: Option<PathBuf>,
}

/// The alerter of the config's `[[alert]]` targets (issue 19), as `dialtone watch` runs it:
/// its outbox beside the history. When a `watch` already sends the alerts of that outbox, it
/// goes on doing so and the agent sends none (one sender per outbox, never two alerts).
fn spawn_alerts(
    config: &Config,
    history: Option<&std::path::Path>,
    lang: Lang,
    token: &CancellationToken,
) -> (
    Option<dialtone_engine::alert::Alerter>,
    Option<tokio::task::JoinHandle<()>>,
) {
    use dialtone_engine::alert::{AlertSetup, Alerter};
    if config.alerts.is_empty() {
        return (None, None);
    }
    let spawned = AlertSetup::for_run(config, &[], history, lang)
        .map_err(|e| e.to_string())
        .and_then(|setup| Alerter::spawn(setup, Vec::new(), token).map_err(|e| e.to_string()));
    match spawned {
        Ok((alerter, task)) => (Some(alerter), Some(task)),
        Err(e) => {
            tracing::warn!("{e}; the agent sends no alerts");
            (None, None)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep serving it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Agent {
    /// Reads the config (a missing file is a first run) and the catalog. Blocking (the config
    /// and catalog files); starts nothing yet.
    pub(crate) fn new(options: AgentOptions) -> Result<Arc<Agent>, AgentError> {
        let (mut config, config_path, _from_file) = options.overrides.resolve_config()?;
        options.overrides.apply_schedule(&mut config.schedule);
        let catalog = options
            .overrides
            .catalog()
            .map_err(|e| AgentError::Setup(SetupError::Catalog(e)))?;
        let history_path = options.overrides.history_path();
        let outbox_beside = history_path.clone();
        // With `[[line]]` tables each line has a file of its own beside this one (as for
        // `dialtone watch`), opened when first read.
        let several = config.has_line_tables();
        let history = history_path
            .as_deref()
            .filter(|_| !several)
            .and_then(|path| match History::open(path) {
                Ok(h) => Some(Arc::new(Mutex::new(h))),
                Err(e) => {
                    tracing::warn!("{e}; checks and outages are not recorded");
                    None
                }
            });
        let history_path = history_path.filter(|_| several || history.is_some());
        let lang = options
            .lang_flag
            .or(config.desktop.language)
            .unwrap_or_else(crate::system_lang);
        let (events, _) = broadcast::channel(64);
        let notifier = if options.notifications {
            Notifier::spawn()
        } else {
            None
        };
        // An unknown `--line` is a mistake on the command line: said at once, as `watch` does.
        let lines = line_states(
            watched(&config, options.overrides.line.as_deref())?
                .into_iter()
                .map(|l| l.label),
        );
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| AgentError::Task(format!("no async runtime: {e}")))?;
        let shutdown = CancellationToken::new();
        // One inbox for the presenter: the lines' events, IPC requests and menu clicks, in the
        // order they happen.
        let (inbox, input) = tokio::sync::mpsc::unbounded_channel();
        let to_inbox = inbox.clone();
        let runner = Lines::with_sink(
            history_path.clone(),
            &shutdown,
            Arc::new(move |event| to_inbox.send(Input::Line(event)).is_ok()),
        );
        let (alerter, alerts_task) =
            spawn_alerts(&config, outbox_beside.as_deref(), lang, &shutdown);
        let agent = Arc::new(Agent {
            config_path,
            catalog,
            state: Mutex::new(State {
                lines,
                config,
                lang,
                // A pause set from the tray before a restart is kept by the alert outbox.
                paused_until: alerter.as_ref().and_then(|a| a.paused_until()),
                generation: 0,
                tray_icon_hidden: false,
            }),
            handles: runner.handles(),
            lines: tokio::sync::Mutex::new(runner),
            events,
            history,
            history_path,
            line_histories: Mutex::new(std::collections::HashMap::new()),
            tray: Mutex::new(None),
            inbox,
            notifier,
            dashboard: dashboard::Dashboard::default(),
            quit: CancellationToken::new(),
            shutdown,
            exporter: Mutex::new(None),
            alerter,
            alerts_task: Mutex::new(alerts_task),
            alert_base: outbox_beside,
            options,
        });
        runtime.spawn(present::present(agent.clone(), input));
        Ok(agent)
    }

    /// The lines of `config` this agent watches (see [`watched`]). A label that a settings
    /// change made unknown leaves all lines watched rather than none.
    fn watched_lines(&self, config: &Config) -> Vec<NamedLine> {
        watched(config, self.options.overrides.line.as_deref()).unwrap_or_else(|_| config.lines())
    }

    /// Where the line at `index` is recorded: the history file itself for a config's only
    /// line, a file of its own beside it for each `[[line]]` (the one `dialtone watch` writes
    /// and `dialtone log --line` reads); `None` without history.
    fn history_path_of(&self, index: usize) -> Option<PathBuf> {
        let base = self.history_path.as_deref()?;
        let state = lock(&self.state);
        if !state.config.has_line_tables() {
            return Some(base.to_path_buf());
        }
        let label = &state.line(index)?.label;
        Some(dialtone_engine::lines::history_file(base, true, label))
    }

    /// A reading connection to the history of the line at `index`, opened off the async
    /// workers on first use; `None` without history (or when it cannot be opened: logged).
    async fn history_of(&self, index: usize) -> Option<Arc<Mutex<History>>> {
        if !lock(&self.state).config.has_line_tables() {
            return self.history.clone();
        }
        let path = self.history_path_of(index)?;
        if let Some(open) = lock(&self.line_histories).get(&path) {
            return Some(open.clone());
        }
        let at = path.clone();
        match tokio::task::spawn_blocking(move || History::open(&at)).await {
            Ok(Ok(history)) => {
                let history = Arc::new(Mutex::new(history));
                let mut open = lock(&self.line_histories);
                Some(open.entry(path).or_insert(history).clone())
            }
            Ok(Err(e)) => {
                tracing::warn!("{e}");
                None
            }
            Err(e) => {
                tracing::warn!("opening the history: {e}");
                None
            }
        }
    }

    /// "Try the login again": lifts a suspended login on every line that has one and restarts
    /// those lines, whose first round sends exactly one REGISTER query with the same
    /// credentials. Lines without a suspended login are left alone: nothing is sent for them.
    pub(crate) async fn retry_login(&self) {
        let named = self.watched_lines(&lock(&self.state).config);
        let catalog = self.catalog.clone();
        let lifted = tokio::task::spawn_blocking(move || {
            named
                .iter()
                .enumerate()
                .filter_map(|(i, line)| {
                    match dialtone_engine::setup::prepare(&line.config, &catalog) {
                        Ok(p) => p.lift_suspension().then_some(i),
                        Err(e) => {
                            tracing::warn!("retrying the login of {}: {e}", line.label);
                            None
                        }
                    }
                })
                .collect::<Vec<usize>>()
        })
        .await;
        match lifted {
            Ok(lines) if !lines.is_empty() => {
                tracing::warn!("trying the rejected login once more, as asked");
                if let Err(e) = self.restart_lines(Some(lines)).await {
                    tracing::warn!("restarting the monitor to retry the login: {e}");
                }
            }
            Ok(_) => tracing::info!("no suspended login to retry"),
            Err(e) => tracing::warn!("retrying the login: {e}"),
        }
    }

    /// (Re)starts every line's monitor and everything that hangs off it from the config in
    /// force. On error the old generations keep running.
    pub(crate) async fn restart_line(&self) -> Result<(), AgentError> {
        self.restart_lines(None).await
    }

    /// Starts the exporter once, when `[metrics] listen` asks for it. A change of the address
    /// takes a restart of the agent (said in the log); a bind failure is logged and the agent
    /// goes on without metrics.
    async fn start_exporter(&self, config: &dialtone_core::config::Config, lines: &mut Lines) {
        let addr = match config.metrics.parse_listen() {
            Ok(Some(addr)) => addr,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("metrics.listen: {}", e.message);
                return;
            }
        };
        if let Some((serving, _)) = lock(&self.exporter).as_ref() {
            if *serving != addr {
                tracing::warn!(
                    "metrics.listen changed to {addr}; still serving on {serving} until dialtone restarts"
                );
            }
            return;
        }
        match crate::metrics::Exporter::serve(addr, &self.shutdown).await {
            Ok(exporter) => {
                // Every generation from now on is followed under its line's label.
                lines.attach(exporter.attach());
                *lock(&self.exporter) = Some((addr, exporter));
            }
            Err(e) => tracing::warn!("{e}; going on without metrics"),
        }
    }

    /// (Re)starts the lines at the indices `only` names (into [`Config::lines`]; `None`:
    /// all). When the config's lines are no longer the running ones (their number changed),
    /// all restart. The others keep running untouched: no extra REGISTER for them. On a
    /// preparation error nothing is stopped.
    async fn restart_lines(&self, only: Option<Vec<usize>>) -> Result<(), AgentError> {
        let mut lines = self.lines.lock().await;
        let config = lock(&self.state).config.clone();
        let named = self.watched_lines(&config);
        let all = only.is_none() || lines.len() != named.len();
        let named_labels: Vec<String> = named.iter().map(|l| l.label.clone()).collect();
        let wanted: Vec<usize> = match only {
            Some(only) if !all => only.into_iter().filter(|i| *i < named.len()).collect(),
            _ => (0..named.len()).collect(),
        };
        let catalog = self.catalog.clone();
        // Each `[[line]]` line is recorded in a file of its own (see `history_path_of`).
        let listed = config.has_line_tables();
        let to_prepare: Vec<(usize, dialtone_core::config::NamedLine)> = named
            .into_iter()
            .enumerate()
            .filter(|(i, _)| wanted.contains(i))
            .collect();
        let prepared = tokio::task::spawn_blocking(move || {
            to_prepare
                .into_iter()
                .map(|(i, line)| {
                    let mut prepared = dialtone_engine::setup::prepare(&line.config, &catalog)?;
                    prepared.label = line.label;
                    prepared.listed = listed;
                    Ok((i, prepared))
                })
                .collect::<Result<Vec<_>, SetupError>>()
        })
        .await
        .map_err(|e| AgentError::Task(e.to_string()))??;
        self.start_exporter(&config, &mut lines).await;
        if all {
            lines.truncate(0).await;
            lock(&self.state).lines = line_states(named_labels);
        }
        for (i, prepared) in prepared {
            {
                let mut state = lock(&self.state);
                if let Some(line) = state.lines.get_mut(i) {
                    *line = LineState {
                        label: prepared.label.clone(),
                        configured: prepared.configured,
                        provider: prepared.provider.clone(),
                        feeds: FeedsReply {
                            available: !prepared.feeds.is_empty(),
                            feeds: Vec::new(),
                        },
                        ..LineState::default()
                    };
                }
            }
            lines.restart(i, prepared, Sharing::Share).await?;
            let mut state = lock(&self.state);
            state.generation += 1;
            tracing::debug!(generation = state.generation, line = i, "line started");
        }
        drop(lines);
        self.status_changed();
        Ok(())
    }

    /// Stops every line's monitor generation (at shutdown).
    pub(crate) async fn stop_line(&self) {
        self.lines.lock().await.stop().await;
        // The alerter ends with the shutdown token; its last outbox write is waited for.
        let alerts = lock(&self.alerts_task).take();
        if let Some(task) = alerts.filter(|_| self.shutdown.is_cancelled()) {
            let _ = task.await;
        }
    }

    /// Something every line's status carries changed (paused alerts, settings, restarts):
    /// each line's status goes out, and the tray is redrawn.
    fn status_changed(&self) {
        let count = lock(&self.state).lines.len();
        for i in 0..count {
            let _ = self.events.send(Event::Status(self.line_status(i)));
        }
        self.refresh_tray();
    }

    /// Pauses this agent's desktop notifications and, when it sends the config's alerts, new
    /// alarms to those targets too (recorded in their outbox), until `until` (`None` resumes
    /// both). A `dialtone watch` that sends the alerts instead is another process: not paused.
    pub(crate) fn pause_alerts(&self, until: Option<DateTime<Utc>>) {
        lock(&self.state).paused_until = until;
        if let Some(alerter) = &self.alerter {
            alerter.pause(until);
        }
        self.status_changed();
    }

    /// Starts the dashboard (or leaves a running one alone).
    pub(crate) fn open_dashboard(&self) -> Result<(), dialtone_ipc::protocol::ErrorReply> {
        if self.options.socket_unavailable {
            tracing::warn!(
                "not starting the dashboard: this agent could not bind {}",
                self.options.socket.display()
            );
            return Err(dialtone_ipc::protocol::ErrorReply::Unavailable {
                what: "dashboard".into(),
                detail: "the agent has no IPC socket of its own".into(),
            });
        }
        self.dashboard.open(&self.options.socket)
    }
}

/// Fresh presentation state for each of these lines, labelled, nothing running yet.
fn line_states(labels: impl IntoIterator<Item = String>) -> Vec<LineState> {
    labels
        .into_iter()
        .map(|label| LineState {
            label,
            ..LineState::default()
        })
        .collect()
}

/// The lines of `config` an agent watches: all, or with `--line LABEL` only that one (matched
/// as `--line` matches everywhere: case-insensitive, trimmed).
fn watched(config: &Config, only: Option<&str>) -> Result<Vec<NamedLine>, SetupError> {
    let lines = config.lines();
    let Some(label) = only else {
        return Ok(lines);
    };
    let labels = lines.iter().map(|l| l.label.clone()).collect();
    let picked: Vec<NamedLine> = lines
        .into_iter()
        .filter(|l| l.label.eq_ignore_ascii_case(label.trim()))
        .collect();
    if picked.is_empty() {
        return Err(SetupError::NoSuchLine {
            label: label.to_string(),
            labels,
        });
    }
    Ok(picked)
}

/// The user's UTC offset now (for "since 09:12").
fn local_offset() -> chrono::FixedOffset {
    chrono::Local::now().offset().fix()
}

#[cfg(test)]
mod tests;
