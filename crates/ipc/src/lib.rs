//! The agent's local IPC endpoint: a Unix domain socket only the same user can use, carrying
//! the versioned JSON lines of [`protocol`].
//!
//! The socket lives at `$XDG_RUNTIME_DIR/dialtone/agent.sock` (directory 0700, socket 0600);
//! `DIALTONE_SOCKET` overrides the path (tests, several agents side by side). The agent serves it
//! ([`server`]); the dashboard and a second `dialtone` start talk to it ([`client`]).

pub mod client;
pub mod framing;
pub mod protocol;
pub mod server;

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Environment variable that overrides the socket path.
pub const SOCKET_ENV: &str = "DIALTONE_SOCKET";

/// Why the IPC endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// Neither `DIALTONE_SOCKET` nor a usable runtime directory is known.
    #[error("no place for the agent's socket: set XDG_RUNTIME_DIR or {SOCKET_ENV}")]
    NoRuntimeDir,
    /// The socket's directory could not be created or secured.
    #[error("cannot prepare the socket directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The socket's directory belongs to another user: using it would let them listen in.
    #[error("the socket directory {path} belongs to uid {owner}, not to this user")]
    ForeignDir {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// Another agent already answers on this socket.
    #[error("another dialtone agent is already running (socket {path})")]
    AlreadyRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// Binding or securing the socket failed.
    #[error("cannot listen on {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The socket path: `$DIALTONE_SOCKET`, else `$XDG_RUNTIME_DIR/dialtone/agent.sock`, else
/// `/tmp/dialtone-<uid>/agent.sock` (the directory is checked to be ours before use).
pub fn socket_path() -> Result<PathBuf, IpcError> {
    if let Some(path) = std::env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(dir).join("dialtone").join("agent.sock"));
    }
    let uid = current_uid();
    Ok(std::env::temp_dir()
        .join(format!("dialtone-{uid}"))
        .join("agent.sock"))
}

/// This process's real user id (the one peers must match).
pub fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Creates the socket's directory (0700) if needed and makes sure it is ours and private.
pub(crate) fn prepare_dir(socket: &Path) -> Result<(), IpcError> {
    let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let dir_err = |source| IpcError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(dir_err)?;
        return Ok(());
    }
    let meta = std::fs::metadata(dir).map_err(dir_err)?;
    if meta.uid() != current_uid() {
        // A directory we did not create (e.g. a test's temp dir or /run/user/UID itself when
        // DIALTONE_SOCKET points there) is fine if it is ours; otherwise someone else controls
        // who can reach our socket.
        return Err(IpcError::ForeignDir {
            path: dir.to_path_buf(),
            owner: meta.uid(),
        });
    }
    // Only tighten directories we name ourselves; a user-chosen parent (DIALTONE_SOCKET) keeps
    // its mode, the socket's own 0600 and the peer check still guard it.
    if dir
        .file_name()
        .is_some_and(|n| n == "dialtone" || n.to_string_lossy().starts_with("dialtone-"))
        && meta.permissions().mode() & 0o077 != 0
    {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
    }
    Ok(())
}
