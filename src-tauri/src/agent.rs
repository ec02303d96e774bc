//! The dashboard's link to the agent: where its socket is, and one connection per request.
//!
//! A fresh connection per command (a handshake costs well under a millisecond on a local
//! socket) means an agent restart never leaves a half-dead connection behind in the dashboard:
//! the next click simply reaches the new agent. The event stream has its own long-lived
//! connection ([`crate::events`]).

use crate::error::CommandError;
use dialtone_ipc::client::Client;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared by every command: the socket path, whether the event stream is connected, and
/// where exports of the outage log go.
#[derive(Debug, Clone)]
pub struct Agent {
    socket: PathBuf,
    connected: Arc<AtomicBool>,
    export_dir: Option<PathBuf>,
}

impl Agent {
    /// The agent at `socket`.
    pub fn new(socket: PathBuf) -> Agent {
        Agent {
            socket,
            connected: Arc::new(AtomicBool::new(false)),
            export_dir: None,
        }
    }

    /// Writes exports into `dir` instead of the user's download directory (tests: the
    /// developer's own Downloads stay untouched). Never set from the window.
    pub fn with_export_dir(mut self, dir: PathBuf) -> Agent {
        self.export_dir = Some(dir);
        self
    }

    /// Where exports go: the directory set by [`Agent::with_export_dir`], else the user's
    /// download directory, else the home directory.
    pub fn export_dir(&self) -> Option<PathBuf> {
        self.export_dir.clone().or_else(|| {
            let dirs = directories::UserDirs::new()?;
            Some(
                dirs.download_dir()
                    .unwrap_or_else(|| dirs.home_dir())
                    .to_path_buf(),
            )
        })
    }

    /// The agent at the default socket ([`dialtone_ipc::socket_path`], honouring
    /// `DIALTONE_SOCKET`).
    pub fn from_env() -> Result<Agent, dialtone_ipc::IpcError> {
        Ok(Agent::new(dialtone_ipc::socket_path()?))
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether the event stream is currently connected (set by [`crate::events`]).
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Records the event stream's state.
    pub fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::SeqCst);
    }

    /// Connects for one request named `request`.
    pub async fn connect(&self, request: &str) -> Result<Client, CommandError> {
        Client::connect(&self.socket)
            .await
            .map_err(|e| CommandError::from_client(request, &self.socket, e))
    }

    /// Runs one request on a fresh connection and maps its error.
    pub async fn call<T, F, Fut>(&self, request: &str, f: F) -> Result<T, CommandError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, dialtone_ipc::client::ClientError>>,
    {
        let client = self.connect(request).await?;
        f(client)
            .await
            .map_err(|e| CommandError::from_client(request, &self.socket, e))
    }
}
