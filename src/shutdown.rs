//! How a command ends. Besides Ctrl-C, SIGTERM, so `watch` and the agent under a supervisor,
//! a session manager or a test harness stop as cleanly as on Ctrl-C; and the exit code a
//! spawned task's outcome calls for, one rule for `check`, `watch` and the agent (which must
//! not reach into the command line for it).

use dialtone_core::verdict::{EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use std::process::ExitCode;

/// A SIGTERM listener (on Windows: the system shutting down, the console's counterpart) that
/// never fires when it could not be installed.
pub(crate) struct Terminate(
    #[cfg(unix)] Option<tokio::signal::unix::Signal>,
    #[cfg(windows)] Option<tokio::signal::windows::CtrlShutdown>,
);

impl Terminate {
    /// Listens for SIGTERM from now on (inside a runtime).
    pub(crate) fn listen() -> Terminate {
        #[cfg(unix)]
        {
            Terminate(
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
            )
        }
        #[cfg(windows)]
        {
            Terminate(tokio::signal::windows::ctrl_shutdown().ok())
        }
    }

    /// Waits for the signal.
    pub(crate) async fn recv(&mut self) {
        if let Some(signal) = self.0.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await
    }
}

/// A spawned task's result, or the exit code to end with (logged first): the task's own error
/// is a configuration error, a task that panicked or was cancelled a runtime error.
/// `join_context` starts the log line of the latter.
pub(crate) fn task_outcome<T, E: std::fmt::Display>(
    result: Result<Result<T, E>, tokio::task::JoinError>,
    join_context: &str,
) -> Result<T, ExitCode> {
    match result {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            Err(ExitCode::from(EXIT_CONFIG_ERROR))
        }
        Err(e) => {
            tracing::error!("{join_context}{e}");
            Err(ExitCode::from(EXIT_RUNTIME_ERROR))
        }
    }
}
