//! The tray agent (`dialtone` without a subcommand): the line monitor with its presenters —
//! tray, notifications, the IPC endpoint for the dashboard, the history recorder and the
//! provider's status feeds — in one small process without GTK or WebKit.
//!
//! One [`Agent`] owns the presentation state; the monitor and what hangs off it form a [`line`]
//! generation that a settings change replaces (cancel its token, start a new one) while the
//! tray and the IPC server stay up. One cancellation token stops everything on SIGTERM/SIGINT
//! or "Quit", and the socket is removed on the way out.

mod dashboard;
pub mod handler;
mod line;
pub mod wire;

use crate::feed::StatusPost;
use crate::history::History;
use crate::monitor::{MonitorHandle, VerdictChanged};
use crate::notice::{Notifier, ProviderRef};
use crate::setup::{MonitorArgs, Overrides, SetupError};
use crate::tray::{MenuAction, Panel, TrayContext, TrayHost};
use chrono::{DateTime, Offset, Utc};
use dialtone_core::catalog::{Catalog, Provider};
use dialtone_core::config::Config;
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use dialtone_ipc::protocol::{AgentStatus, ChannelView, Event, FeedsReply, ProviderInfo};
use dialtone_ipc::server::Server;
use dialtone_ipc::IpcError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How often the tray's "checked 12 s ago" is refreshed between checks.
const TRAY_REFRESH: Duration = Duration::from_secs(15);

/// "Pause alerts for 1 hour".
const PAUSE_FROM_MENU: chrono::TimeDelta =
    chrono::TimeDelta::minutes(dialtone_ipc::protocol::DEFAULT_PAUSE_MINUTES as i64);

/// Arguments of `dialtone agent` (also what `dialtone` alone runs with).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AgentArgs {
    /// Schedule and history flags, shared with `watch`.
    #[command(flatten)]
    pub monitor: MonitorArgs,
    /// Config file and per-run overrides.
    #[command(flatten)]
    pub overrides: Overrides,
}

impl AgentArgs {
    /// Applies the schedule flags on top of a config's schedule.
    fn apply_schedule(&self, config: &mut Config) {
        self.monitor.apply_schedule(&mut config.schedule);
    }
}

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The config, a flag or the catalog is wrong.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A blocking step (reading the keyring) died.
    #[error("preparing the line monitor: {0}")]
    Task(String),
}

/// What the agent presents besides the monitor's own status.
struct State {
    /// The config in force: the file's settings with the command line's flags on top.
    config: Config,
    /// Whether a provider or registrar is configured.
    configured: bool,
    /// The provider chosen, or recognised from the registrar.
    provider: Option<Provider>,
    /// The presentation language.
    lang: Lang,
    /// Notifications are paused until then.
    paused_until: Option<DateTime<Utc>>,
    /// The feeds' latest state, as the dashboard is told.
    feeds: FeedsReply,
    /// The newest official post across the feeds.
    latest_post: Option<StatusPost>,
    /// The running monitor.
    handle: Option<MonitorHandle>,
    /// Why the monitor stopped, while the supervisor restarts it.
    monitor_failure: Option<String>,
    /// How many line generations were started (for logs and tests).
    generation: u64,
    /// No tray host shows the icon (see [`AgentStatus::tray_icon_hidden`]).
    tray_icon_hidden: bool,
}

/// How an [`Agent`] is set up (the parts of the command line it keeps).
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// The command line.
    pub args: AgentArgs,
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
pub struct Agent {
    /// The agent itself, for requests that restart the line (they need an `Arc`).
    me: std::sync::Weak<Agent>,
    options: AgentOptions,
    config_path: PathBuf,
    catalog: Catalog,
    state: Mutex<State>,
    /// The running line generation; an async mutex because a restart awaits the old one.
    line: tokio::sync::Mutex<Option<line::Line>>,
    events: broadcast::Sender<Event>,
    /// A reading connection to the history (the recorder writes through its own).
    history: Option<Arc<Mutex<History>>>,
    history_path: Option<PathBuf>,
    tray: Mutex<Option<TrayHost>>,
    notifier: Option<Notifier>,
    dashboard: dashboard::Dashboard,
    /// "Quit" from the menu.
    quit: CancellationToken,
    /// The one token that stops everything: each line generation and the IPC server run on
    /// child tokens of it.
    shutdown: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep serving it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Agent {
    /// Reads the config (a missing file is a first run) and the catalog. Blocking (the config
    /// and catalog files); starts nothing yet.
    pub fn new(options: AgentOptions) -> Result<Arc<Agent>, AgentError> {
        let (mut config, config_path, _from_file) = options.args.overrides.resolve_config()?;
        options.args.apply_schedule(&mut config);
        let catalog = options
            .args
            .overrides
            .catalog()
            .map_err(|e| AgentError::Setup(SetupError::Catalog(e)))?;
        let history_path = options.args.monitor.history_path();
        let history = history_path
            .as_deref()
            .and_then(|path| match History::open(path) {
                Ok(h) => Some(Arc::new(Mutex::new(h))),
                Err(e) => {
                    tracing::warn!("{e}; checks and outages are not recorded");
                    None
                }
            });
        let history_path = history.as_ref().and(history_path);
        let lang = options
            .lang_flag
            .or(config.desktop.language)
            .unwrap_or_else(Lang::from_env);
        let (events, _) = broadcast::channel(64);
        let notifier = if options.notifications {
            Notifier::spawn()
        } else {
            None
        };
        Ok(Arc::new_cyclic(|me| Agent {
            me: me.clone(),
            config_path,
            catalog,
            state: Mutex::new(State {
                configured: false,
                provider: None,
                config,
                lang,
                paused_until: None,
                feeds: FeedsReply::default(),
                latest_post: None,
                handle: None,
                monitor_failure: None,
                generation: 0,
                tray_icon_hidden: false,
            }),
            line: tokio::sync::Mutex::new(None),
            events,
            history,
            history_path,
            tray: Mutex::new(None),
            notifier,
            dashboard: dashboard::Dashboard::default(),
            quit: CancellationToken::new(),
            shutdown: CancellationToken::new(),
            options,
        }))
    }

    /// This agent as an `Arc` (`None` only while it is being dropped).
    fn self_arc(&self) -> Option<Arc<Agent>> {
        self.me.upgrade()
    }

    /// "Try the login again": lifts a suspended login and restarts the line, whose first round
    /// sends exactly one REGISTER query with the same credentials. Without a suspended login
    /// nothing is sent.
    pub async fn retry_login(self: &Arc<Self>) {
        let config = lock(&self.state).config.clone();
        let catalog = self.catalog.clone();
        let lifted = tokio::task::spawn_blocking(move || {
            crate::setup::prepare(&config, &catalog).map(|p| p.lift_suspension())
        })
        .await;
        match lifted {
            Ok(Ok(true)) => {
                tracing::warn!("trying the rejected login once more, as asked");
                if let Err(e) = self.restart_line().await {
                    tracing::warn!("restarting the monitor to retry the login: {e}");
                }
            }
            Ok(Ok(false)) => tracing::info!("no suspended login to retry"),
            Ok(Err(e)) => tracing::warn!("retrying the login: {e}"),
            Err(e) => tracing::warn!("retrying the login: {e}"),
        }
    }

    /// (Re)starts the monitor and everything that hangs off it from the config in force.
    /// On error the old generation keeps running.
    pub async fn restart_line(self: &Arc<Self>) -> Result<(), AgentError> {
        let config = lock(&self.state).config.clone();
        let catalog = self.catalog.clone();
        let prepared =
            tokio::task::spawn_blocking(move || crate::setup::prepare(&config, &catalog))
                .await
                .map_err(|e| AgentError::Task(e.to_string()))??;
        let mut current = self.line.lock().await;
        if let Some(old) = current.take() {
            old.stop().await;
        }
        {
            let mut state = lock(&self.state);
            state.configured = prepared.configured;
            state.provider = prepared.provider.clone();
            state.feeds = FeedsReply {
                available: !prepared.feeds.is_empty(),
                feeds: Vec::new(),
            };
            state.latest_post = None;
        }
        let line = line::Line::spawn(self, prepared)?;
        {
            let mut state = lock(&self.state);
            state.handle = Some(line.handle.clone());
            state.generation += 1;
            tracing::debug!(generation = state.generation, "line started");
        }
        *current = Some(line);
        drop(current);
        self.status_changed();
        Ok(())
    }

    /// Stops the monitor generation (at shutdown).
    pub async fn stop_line(&self) {
        if let Some(old) = self.line.lock().await.take() {
            old.stop().await;
        }
    }

    /// The status as IPC clients see it.
    pub fn agent_status(&self) -> AgentStatus {
        let state = lock(&self.state);
        let status = match &state.handle {
            Some(h) => h.status(),
            None => crate::monitor::Status {
                verdict: dialtone_core::verdict::Verdict::Unknown,
                since: Utc::now(),
                diagnosis: None,
                latest: None,
                thresholds: state.config.thresholds.clone(),
            },
        };
        AgentStatus {
            status,
            configured: state.configured,
            alerts_paused_until: state.paused_until.filter(|until| *until > Utc::now()),
            provider: state.provider.as_ref().map(|p| ProviderInfo {
                id: Some(p.id.clone()),
                name: p.name.clone(),
            }),
            lang: state.lang,
            tray_icon_hidden: state.tray_icon_hidden,
        }
    }

    /// The provider's channels in the catalog's order.
    pub fn channels(&self) -> Vec<ChannelView> {
        lock(&self.state)
            .provider
            .as_ref()
            .map(|p| p.channels.iter().map(wire::channel_view).collect())
            .unwrap_or_default()
    }

    /// Every link the agent may open: the provider's channels (catalog or the user's own
    /// providers.toml). Feed posts' links are deliberately not among them.
    fn allowed_links(&self) -> Vec<String> {
        self.channels().into_iter().map(|c| c.url).collect()
    }

    /// A check finished or something the tray shows changed.
    fn status_changed(&self) {
        let _ = self.events.send(Event::Status(self.agent_status()));
        self.refresh_tray();
    }

    /// A confirmed change: tell subscribers, notify the user.
    fn verdict_changed(&self, change: VerdictChanged) {
        let _ = self.events.send(Event::Changed(change.clone()));
        let (enabled, paused, lang, provider, post) = {
            let s = lock(&self.state);
            (
                s.config.desktop.notifications,
                s.paused_until.is_some_and(|until| until > Utc::now()),
                s.lang,
                s.provider.as_ref().map(|p| p.name.clone()),
                s.latest_post.clone(),
            )
        };
        let Some(notifier) = &self.notifier else {
            return;
        };
        if !enabled || paused {
            return;
        }
        let channels = self.channels();
        let provider = ProviderRef {
            name: provider.as_deref(),
            channels: &channels,
        };
        if let Some(n) =
            crate::notice::notice(&change, provider, post.as_ref(), lang, local_offset())
        {
            notifier.show(n, self.allowed_links());
        }
    }

    /// Recomputes the tray from the current state and shows it.
    fn refresh_tray(&self) {
        let tray = lock(&self.tray);
        let Some(tray) = tray.as_ref() else {
            return;
        };
        tray.show(self.tray_model());
    }

    /// The tray model for now.
    /// Records that the monitor stopped (`Some(why)`) or runs again (`None`), for the tray.
    fn monitor_failed(&self, why: Option<String>) {
        lock(&self.state).monitor_failure = why;
        self.refresh_tray();
    }

    pub fn tray_model(&self) -> crate::tray::TrayModel {
        let status = self.agent_status();
        let channels = self.channels();
        let failure = lock(&self.state).monitor_failure.clone();
        let ctx = TrayContext {
            monitor_failure: failure.as_deref(),
            configured: status.configured,
            provider: status.provider.as_ref().map(|p| p.name.as_str()),
            channels: &channels,
            alerts_paused_until: status.alerts_paused_until,
            start_at_login: crate::autostart::is_enabled(),
            offset: local_offset(),
        };
        crate::tray::tray_model(&status.status, &ctx, status.lang, Utc::now())
    }

    /// Pauses notifications until `until` (`None` resumes them).
    pub fn pause_alerts(&self, until: Option<DateTime<Utc>>) {
        lock(&self.state).paused_until = until;
        self.status_changed();
    }

    /// Starts the dashboard (or leaves a running one alone).
    pub fn open_dashboard(&self) -> Result<(), dialtone_ipc::protocol::ErrorReply> {
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

    /// What a tray menu click asks for.
    pub async fn on_menu(self: &Arc<Self>, action: MenuAction) {
        match action {
            MenuAction::CheckNow => {
                if let Some(h) = &lock(&self.state).handle {
                    h.check_now();
                }
            }
            MenuAction::RetryLogin => self.retry_login().await,
            MenuAction::OpenChannel(i) => {
                let Some(channel) = self.channels().into_iter().nth(i) else {
                    return;
                };
                crate::link::open_if_allowed(&channel.url, &self.allowed_links());
            }
            MenuAction::OpenDashboard => {
                // A failure was already said once by the launcher; the menu has no reply.
                let _ = self.open_dashboard();
            }
            MenuAction::PauseAlerts => self.pause_alerts(Some(Utc::now() + PAUSE_FROM_MENU)),
            MenuAction::ResumeAlerts => self.pause_alerts(None),
            MenuAction::ToggleStartAtLogin => {
                let want = !crate::autostart::is_enabled();
                if let Err(e) = crate::autostart::set(want) {
                    tracing::warn!("{e}");
                }
                self.status_changed();
            }
            MenuAction::Quit => self.quit.cancel(),
        }
    }
}

/// The user's UTC offset now (for "since 09:12").
fn local_offset() -> chrono::FixedOffset {
    chrono::Local::now().offset().fix()
}

/// If an agent already answers at `socket`, asks it to open the dashboard; `true` then.
async fn hand_over(socket: &Path) -> bool {
    let Ok(mut client) = dialtone_ipc::client::Client::connect(socket).await else {
        return false;
    };
    match client.open_dashboard().await {
        Ok(()) => {
            tracing::warn!("the agent is already running; asked it to open the dashboard")
        }
        Err(e) => tracing::warn!("the agent is already running, but: {e}"),
    }
    true
}

/// Runs the agent until SIGTERM/SIGINT or "Quit".
pub fn run(args: &AgentArgs, lang_flag: Option<Lang>) -> ExitCode {
    let socket = match dialtone_ipc::socket_path() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    };
    rt.block_on(serve(args.clone(), lang_flag, socket))
}

async fn serve(args: AgentArgs, lang_flag: Option<Lang>, socket: PathBuf) -> ExitCode {
    if hand_over(&socket).await {
        return ExitCode::SUCCESS;
    }
    let server = match Server::bind(&socket).await {
        Ok(s) => Some(s),
        Err(IpcError::AlreadyRunning { .. }) => {
            // Another agent won the race to bind.
            hand_over(&socket).await;
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            tracing::warn!("{e}; the dashboard cannot connect, monitoring goes on");
            None
        }
    };
    let options = AgentOptions {
        args,
        lang_flag,
        socket: socket.clone(),
        socket_unavailable: server.is_none(),
        notifications: true,
    };
    let agent = match tokio::task::spawn_blocking(move || Agent::new(options)).await {
        Ok(Ok(agent)) => agent,
        Ok(Err(e)) => {
            tracing::error!("{e}");
            return ExitCode::from(EXIT_CONFIG_ERROR);
        }
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    };
    if let Err(e) = agent.restart_line().await {
        tracing::error!("{e}");
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let shutdown = agent.shutdown.clone();
    let server_task =
        server.map(|server| tokio::spawn(server.serve(agent.clone(), shutdown.child_token())));
    let (actions_tx, mut actions) = tokio::sync::mpsc::unbounded_channel();
    start_tray(&agent, actions_tx).await;
    let (configured, tray_icon_hidden) = {
        let state = lock(&agent.state);
        (state.configured, state.tray_icon_hidden)
    };
    if !configured || tray_icon_hidden {
        // First run: the setup lives in the dashboard. No tray host: the dashboard is the only
        // place the user sees the agent at all, and it says how to get the icon. Once per
        // start, never in a loop; notifications go on either way.
        let _ = agent.open_dashboard();
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut terminate = crate::shutdown::Terminate::listen();
    let mut refresh = tokio::time::interval(TRAY_REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = terminate.recv() => break,
            () = agent.quit.cancelled() => break,
            _ = refresh.tick() => agent.refresh_tray(),
            Some(action) = actions.recv() => agent.on_menu(action).await,
        }
    }
    shutdown.cancel();
    agent.stop_line().await;
    if let Some(task) = server_task {
        let _ = task.await;
    }
    let tray = lock(&agent.tray).take();
    // Dropping the tray joins its thread, which unregisters from the bus: off the async workers.
    let _ = tokio::task::spawn_blocking(move || drop(tray)).await;
    ExitCode::SUCCESS
}

/// What the log says when no tray host shows the icon (the dashboard says it in EN and DE).
const NO_TRAY_HOST: &str =
    "no tray host (StatusNotifierWatcher) on the session bus, so no icon is shown; \
on GNOME install the AppIndicator extension (sudo apt install gnome-shell-extension-appindicator, \
then log out and in); the icon is registered and appears when a host starts, notifications go on";

/// Puts the tray up, saying once why when there is no session bus or no tray host; the agent
/// goes on without it either way.
async fn start_tray(agent: &Arc<Agent>, actions: tokio::sync::mpsc::UnboundedSender<MenuAction>) {
    let model = agent.tray_model();
    let started = tokio::task::spawn_blocking(move || {
        let host = crate::tray::host::host_present();
        let tray = TrayHost::spawn(model, Panel::from_env(), actions);
        (host, tray)
    })
    .await;
    match started {
        Ok((host, Ok(tray))) => {
            match host {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("{NO_TRAY_HOST}");
                    lock(&agent.state).tray_icon_hidden = true;
                }
                Err(e) => tracing::warn!("cannot ask the session bus for a tray host: {e}"),
            }
            *lock(&agent.tray) = Some(tray);
            agent.refresh_tray();
        }
        Ok((_, Err(e))) => tracing::warn!(
            "no tray icon ({e}); monitoring, notifications and the dashboard still work"
        ),
        Err(e) => tracing::warn!("no tray icon: {e}"),
    }
}

#[cfg(test)]
mod tests;
