//! What ends a long-running command besides Ctrl-C: SIGTERM, so `watch` and the agent under a
//! supervisor, a session manager or a test harness stop as cleanly as on Ctrl-C.

/// A SIGTERM listener that never fires when it could not be installed.
pub struct Terminate(
    #[cfg(unix)] Option<tokio::signal::unix::Signal>,
    #[cfg(not(unix))] Option<()>,
);

impl Terminate {
    /// Listens for SIGTERM from now on (inside a runtime).
    pub fn listen() -> Terminate {
        #[cfg(unix)]
        {
            Terminate(
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
            )
        }
        #[cfg(not(unix))]
        {
            Terminate(None)
        }
    }

    /// Waits for the signal.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.0.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await
    }
}
