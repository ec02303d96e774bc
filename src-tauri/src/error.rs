//! The typed errors commands hand back to the UI.
//!
//! They serialise as `{"kind": "...", ...}` so the UI can word each case in the user's language
//! instead of showing Rust's English; the `Display` text names the operation and the peer for
//! logs.

use dialtone_ipc::client::ClientError;
use dialtone_ipc::protocol::ErrorReply;
use serde::Serialize;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandError {
    /// No agent answers at the socket (not running, or restarting).
    #[error("{request}: cannot reach the dialtone agent at {socket}: {detail}")]
    AgentUnreachable {
        /// The request that needed the agent.
        request: String,
        /// The socket path tried.
        socket: String,
        /// The OS's words.
        detail: String,
    },
    /// The connection broke, timed out or carried garbage mid-request.
    #[error("{request}: the connection to the dialtone agent failed: {detail}")]
    Connection {
        /// The request.
        request: String,
        /// What went wrong.
        detail: String,
    },
    /// The agent answered with a typed error.
    #[error("{request}: the dialtone agent refused: {error}")]
    Agent {
        /// The request.
        request: String,
        /// The agent's error, passed through so the UI can word it.
        error: ErrorReply,
    },
    /// The dashboard rejected a value before asking the agent.
    #[error("invalid value for {field}: {detail}")]
    Invalid {
        /// The field, e.g. `interval_secs`.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A link was refused: not https/tel, or not one the agent listed.
    #[error("refused to open {url}: {reason}")]
    LinkRefused {
        /// The URL as given (hostile input is only echoed, never opened).
        url: String,
        /// Why.
        reason: String,
    },
    /// The system browser / dialler could not be started.
    #[error("cannot open {url}: {detail}")]
    Open {
        /// The URL.
        url: String,
        /// The OS's words.
        detail: String,
    },
    /// The provider catalog could not be read.
    #[error("cannot read the provider catalog: {detail}")]
    Catalog {
        /// What failed.
        detail: String,
    },
    /// An export of the outage log could not be written.
    #[error("cannot write the outage log to {path}: {detail}")]
    Export {
        /// The file (or directory) tried.
        path: String,
        /// The OS's words.
        detail: String,
    },
}

impl CommandError {
    /// Maps a client error for `request` at `socket` into the UI's vocabulary.
    pub fn from_client(request: &str, socket: &std::path::Path, err: ClientError) -> CommandError {
        let request = request.to_string();
        match err {
            ClientError::Connect { source, .. } => CommandError::AgentUnreachable {
                request,
                socket: socket.display().to_string(),
                detail: source.to_string(),
            },
            e @ ClientError::ForeignPeer { .. } => CommandError::AgentUnreachable {
                request,
                socket: socket.display().to_string(),
                detail: e.to_string(),
            },
            ClientError::Path(e) => CommandError::AgentUnreachable {
                request,
                socket: socket.display().to_string(),
                detail: e.to_string(),
            },
            ClientError::Agent { error, .. } => CommandError::Agent { request, error },
            other @ (ClientError::Io { .. }
            | ClientError::Closed { .. }
            | ClientError::Timeout { .. }
            | ClientError::Protocol { .. }
            | ClientError::Unexpected { .. }) => CommandError::Connection {
                request,
                detail: other.to_string(),
            },
        }
    }

    /// An [`CommandError::Invalid`] for `field`.
    pub fn invalid(field: &str, detail: impl Into<String>) -> CommandError {
        CommandError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }
}
