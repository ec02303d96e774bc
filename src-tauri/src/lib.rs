//! `dialtone-dashboard`: the on-demand window of dialtone. It shows why the line does or does
//! not work (the layer chain with evidence, the verdict and since when, a 24 h timeline, the
//! provider's channels and official posts, the outage log) and edits the settings.
//!
//! It holds no state of its own: every command is one request to the running agent over its
//! IPC socket ([`agent`]), and a background task forwards the agent's event stream to the
//! window ([`events`]), reconnecting when the agent restarts. The process ends when its window
//! closes, so the webview's memory is given back at once (DESIGN.md §2).

pub mod agent;
#[macro_use]
pub mod command_names;
pub mod commands;
pub mod error;
pub mod events;
pub mod exit;
pub mod links;
pub mod view;
pub mod webview;

use agent::Agent;
use events::{Backoff, Outgoing, Sink, CHANGED_EVENT, CONNECTION_EVENT, STATUS_EVENT};
use tauri::{AppHandle, Emitter, Manager, RunEvent, Runtime, WindowEvent};
use tokio_util::sync::CancellationToken;

/// Environment variable that starts the dashboard with its window hidden: only for the
/// footprint benchmark (`benches/desktop.rs`), which measures what the process costs without a
/// visible window as the reference a single-process design would pay all day. A hidden
/// window is never closed, so such a process runs until it is sent SIGTERM.
pub const HIDDEN_ENV: &str = "DIALTONE_DASHBOARD_HIDDEN";

/// The dashboard's own log: stderr, warnings and up unless `RUST_LOG` (a `target=level`
/// list) asks for more.
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::WARN));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .try_init();
}

/// Stops the event pump when the app exits (kept in Tauri's state).
struct PumpStop(CancellationToken);

/// Starts the dashboard against the agent at the default socket; returns when its window has
/// closed (the process then exits).
pub fn run() {
    init_logging();
    let agent = match Agent::from_env() {
        Ok(agent) => agent,
        Err(e) => {
            tracing::error!("{e}");
            std::process::exit(exit::NO_AGENT_SOCKET);
        }
    };
    // Without a web view runtime Tauri panics while it sets the window up; Windows 10/11 ship
    // WebView2, but it can be missing (removed, or an old build).
    if let Err(why) = webview::runtime() {
        // The window's own default language: the system's, as `system_lang` gives it.
        webview::say_missing(&why, commands::system_lang());
        std::process::exit(exit::NO_WEBVIEW);
    }
    let app = match run_app(tauri::Builder::default(), agent, Backoff::default()).build(context()) {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot open the window: {e}");
            std::process::exit(exit::WINDOW_FAILED);
        }
    };
    app.run(on_run_event);
}

/// The app's context: `tauri.conf.json`, the embedded `ui/`, and the capabilities (ACL),
/// for the real runtime and for tests on the mock runtime alike.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Every command's handler, from the one list in [`command_names`].
macro_rules! handlers {
    ($($name:ident),*) => {
        tauri::generate_handler![$(commands::$name),*]
    };
}

/// Configures `builder` (the real runtime, or Tauri's mock runtime in tests): the agent link,
/// the commands and the event pump.
pub fn run_app<R: Runtime>(
    builder: tauri::Builder<R>,
    agent: Agent,
    backoff: Backoff,
) -> tauri::Builder<R> {
    builder
        .manage(agent)
        .invoke_handler(with_dashboard_commands!(handlers))
        .setup(move |app| {
            let stop = CancellationToken::new();
            app.manage(PumpStop(stop.clone()));
            let agent = app.state::<Agent>().inner().clone();
            let sink = WindowSink(app.handle().clone());
            tauri::async_runtime::spawn(events::pump(agent, sink, backoff, stop));
            if std::env::var_os(HIDDEN_ENV).is_some_and(|v| v == "1") {
                for window in app.webview_windows().values() {
                    window.hide()?;
                }
            }
            Ok(())
        })
}

/// Ends the process with its window, and stops the pump on exit.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    match event {
        // One window: once it is gone there is nothing left to show. Exiting explicitly (not
        // only via the last-window rule) keeps that true should a second window ever appear.
        RunEvent::WindowEvent {
            event: WindowEvent::Destroyed,
            ..
        } => app.exit(exit::CLOSED),
        RunEvent::Exit => {
            if let Some(stop) = app.try_state::<PumpStop>() {
                stop.0.cancel();
            }
        }
        _ => {}
    }
}

/// Emits the pump's output as Tauri events to the window.
struct WindowSink<R: Runtime>(AppHandle<R>);

impl<R: Runtime> Sink for WindowSink<R> {
    fn send(&self, message: Outgoing) -> bool {
        let sent = match message {
            Outgoing::Status(view) => self.0.emit(STATUS_EVENT, view),
            Outgoing::Changed(view) => self.0.emit(CHANGED_EVENT, view),
            Outgoing::Connection(state) => self.0.emit(CONNECTION_EVENT, state),
        };
        if let Err(e) = &sent {
            tracing::warn!(error = %e, "cannot emit to the window");
        }
        sent.is_ok()
    }
}
