//! The agent's local IPC endpoint: a Unix domain socket only the same user can use, carrying
//! the versioned JSON lines of [`protocol`].
//!
//! The socket lives at `$XDG_RUNTIME_DIR/dialtone/agent.sock` (directory 0700, socket 0600),
//! or without a runtime dir in the user's own state dir (`~/.local/state/dialtone/run/`), never
//! in a shared `/tmp`; `DIALTONE_SOCKET` overrides the path (tests, several agents side by
//! side). The client checks that the process behind the socket runs as this user before it
//! sends anything, so a socket someone else put there never gets a password. The agent serves it
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
/// `dialtone/run/agent.sock` in the user's state dir (`$XDG_STATE_HOME`, `~/.local/state`).
/// The directory is checked to be ours, private and no symlink before use.
pub fn socket_path() -> Result<PathBuf, IpcError> {
    socket_path_from(|name| std::env::var_os(name))
}

/// [`socket_path`] with the environment passed in, so the choice is tested without touching
/// the process's own.
fn socket_path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, IpcError> {
    let var = |name: &str| env(name).filter(|p| !p.is_empty()).map(PathBuf::from);
    if let Some(path) = var(SOCKET_ENV) {
        return Ok(path);
    }
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        return Ok(dir.join("dialtone").join("agent.sock"));
    }
    // A shared /tmp would let another user create the directory first and wait for us.
    let state = var("XDG_STATE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| home.join(".local/state")))
        .ok_or(IpcError::NoRuntimeDir)?;
    Ok(state.join("dialtone").join("run").join("agent.sock"))
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
    // lstat: a symlink planted in our place would lead our socket wherever its owner likes.
    let meta = std::fs::symlink_metadata(dir).map_err(dir_err)?;
    if meta.file_type().is_symlink() {
        return Err(IpcError::Dir {
            path: dir.to_path_buf(),
            source: std::io::Error::other("it is a symbolic link"),
        });
    }
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
    if dir.file_name().is_some_and(|n| {
        n == "dialtone" || n == "run" || n.to_string_lossy().starts_with("dialtone-")
    }) && meta.permissions().mode() & 0o077 != 0
    {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(dir_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn without_a_runtime_dir_the_socket_lives_in_the_users_own_state_dir_never_tmp() {
        let runtime = socket_path_from(env(&[
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ("HOME", "/home/a"),
        ]));
        assert_eq!(
            runtime.unwrap(),
            Path::new("/run/user/1000/dialtone/agent.sock")
        );
        let home = socket_path_from(env(&[("HOME", "/home/a"), ("XDG_RUNTIME_DIR", "")]));
        assert_eq!(
            home.unwrap(),
            Path::new("/home/a/.local/state/dialtone/run/agent.sock")
        );
        let state = socket_path_from(env(&[
            ("HOME", "/home/a"),
            ("XDG_STATE_HOME", "/srv/state"),
        ]));
        assert_eq!(
            state.unwrap(),
            Path::new("/srv/state/dialtone/run/agent.sock")
        );
        // A relative XDG_STATE_HOME is ignored, as the XDG spec says.
        let relative = socket_path_from(env(&[("HOME", "/home/a"), ("XDG_STATE_HOME", "state")]));
        assert_eq!(
            relative.unwrap(),
            Path::new("/home/a/.local/state/dialtone/run/agent.sock")
        );
        // Nowhere of the user's own: an error, not a fallback under /tmp.
        assert!(matches!(
            socket_path_from(env(&[])),
            Err(IpcError::NoRuntimeDir)
        ));
    }

    #[test]
    fn the_socket_dir_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("state/dialtone/run/agent.sock");
        prepare_dir(&socket).unwrap();
        let meta = std::fs::metadata(socket.parent().unwrap()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        assert_eq!(meta.uid(), current_uid());
        // A dialtone directory left open by someone is closed again.
        std::fs::set_permissions(
            socket.parent().unwrap(),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        prepare_dir(&socket).unwrap();
        let mode = std::fs::metadata(socket.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_symlinked_socket_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let planted = tmp.path().join("dialtone");
        std::os::unix::fs::symlink(&elsewhere, &planted).unwrap();
        match prepare_dir(&planted.join("agent.sock")) {
            Err(IpcError::Dir { path, source }) => {
                assert_eq!(path, planted);
                assert!(source.to_string().contains("symbolic link"), "{source}");
            }
            other => panic!("a symlink was accepted: {other:?}"),
        }
    }

    #[test]
    fn a_socket_dir_of_another_user_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        // As root (CI), a directory handed to "nobody"; as anyone else, the root-owned "/".
        let (dir, owner) = if current_uid() == 0 {
            let dir = tmp.path().join("dialtone");
            std::fs::create_dir(&dir).unwrap();
            std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
            (dir, 65534)
        } else {
            (PathBuf::from("/"), 0)
        };
        match prepare_dir(&dir.join("agent.sock")) {
            Err(IpcError::ForeignDir { path, owner: found }) => {
                assert_eq!(path, dir);
                assert_eq!(found, owner);
            }
            other => panic!("another user's directory was accepted: {other:?}"),
        }
    }
}
