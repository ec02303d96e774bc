//! Test support for the dashboard: one scripted agent behind the real IPC server ([`agent`]),
//! the fixture it answers from in the command tests ([`fixture`]), and the server around it.
#![allow(clippy::unwrap_used)]
// test support: a failed unwrap fails the test
// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

pub(crate) mod agent;
pub(crate) mod fixture;

use agent::ScriptedAgent;
use dialtone_ipc::server::Server;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A scripted agent serving on a socket in a temp dir; re-bindable to simulate a restart.
pub(crate) struct RunningAgent {
    /// Keeps the socket's directory alive.
    pub dir: tempfile::TempDir,
    /// The socket path.
    pub path: PathBuf,
    /// The handler.
    pub handler: Arc<ScriptedAgent>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningAgent {
    /// The fixture agent ([`fixture::agent`]), bound and serving.
    pub(crate) async fn start() -> RunningAgent {
        RunningAgent::serving(fixture::agent()).await
    }

    /// `handler`, bound and serving on a socket of its own.
    pub(crate) async fn serving(handler: Arc<ScriptedAgent>) -> RunningAgent {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
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
        let server = Server::bind(&self.path).await.expect("bind the IPC socket");
        self.shutdown = CancellationToken::new();
        self.task = Some(tokio::spawn(
            server.serve(self.handler.clone(), self.shutdown.clone()),
        ));
    }

    /// Stops serving (connections are closed, the socket removed), as an agent that exits.
    pub(crate) async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Serves again on the same path, as a restarted agent.
    pub(crate) async fn restart(&mut self) {
        self.serve().await;
    }

    /// The socket path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
