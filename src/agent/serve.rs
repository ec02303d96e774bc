//! Running the agent: one per user (a second start hands over to the running one and asks it
//! to open the dashboard), the IPC server, the tray, and the main loop until SIGTERM/SIGINT or
//! "Quit".

use super::present::Input;
use super::tray::start_tray;
use super::{lock, Agent, AgentOptions};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use dialtone_engine::setup::Overrides;
use dialtone_ipc::server::Server;
use dialtone_ipc::{EndpointError, IpcError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
pub(crate) fn run(overrides: Overrides, lang_flag: Option<Lang>) -> ExitCode {
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
    rt.block_on(serve(overrides, lang_flag, socket))
}

async fn serve(overrides: Overrides, lang_flag: Option<Lang>, socket: PathBuf) -> ExitCode {
    if hand_over(&socket).await {
        return ExitCode::SUCCESS;
    }
    let server = match Server::bind(&socket).await {
        Ok(s) => Some(s),
        Err(IpcError::Endpoint(EndpointError::AlreadyRunning { .. })) => {
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
        overrides,
        lang_flag,
        socket: socket.clone(),
        socket_unavailable: server.is_none(),
        notifications: true,
    };
    let started = tokio::task::spawn_blocking(move || Agent::new(options)).await;
    let agent = match crate::shutdown::task_outcome(started, "") {
        Ok(agent) => agent,
        Err(code) => return code,
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
        (
            state.lines.iter().any(|l| l.configured),
            state.tray_icon_hidden,
        )
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
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = terminate.recv() => break,
            () = agent.quit.cancelled() => break,
            Some(action) = actions.recv() => {
                if !agent.post(Input::Menu(action)) {
                    break;
                }
            }
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
