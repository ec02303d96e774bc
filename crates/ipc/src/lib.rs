//! The agent's local IPC endpoint: a Unix domain socket only the same user can use, carrying
//! the versioned JSON lines of [`protocol`].
//!
//! The socket lives at `$XDG_RUNTIME_DIR/dialtone/agent.sock` (directory 0700, socket 0600),
//! or without a runtime dir in the user's own state dir (`~/.local/state/dialtone/run/`), never
//! in a shared `/tmp`; `DIALTONE_SOCKET` overrides the path (tests, several agents side by
//! side). Where and how is the platform seam's ([`dialtone_platform::local`]); the framing,
//! the protocol and the decision whom to talk to are written once, here. The client checks that
//! the process behind the socket runs as this user before it sends anything, so a socket
//! someone else put there never gets a password. The agent serves it
//! ([`server`]); the dashboard and a second `dialtone` start talk to it ([`client`]).

pub mod client;
pub mod framing;
pub mod protocol;
pub mod server;

pub use client::Client;
pub use dialtone_platform::local::EndpointError;
pub use protocol::{Request, Response};
pub use server::{Handler, Server};
use std::path::PathBuf;

/// Environment variable that overrides the socket path.
pub const SOCKET_ENV: &str = "DIALTONE_SOCKET";

/// Why the IPC endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// Neither `DIALTONE_SOCKET` nor a usable runtime directory is known.
    #[error("no place for the agent's socket: set XDG_RUNTIME_DIR or {SOCKET_ENV}")]
    NoRuntimeDir,
    /// The socket (or its directory) could not be set up: the platform seam's reason, which
    /// names the path.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
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
    if let Some(path) = env(SOCKET_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    dialtone_platform::local::default_endpoint(&env).ok_or(IpcError::NoRuntimeDir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
    use super::*;
    use std::ffi::OsString;
    use std::path::Path;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    // The XDG places are Linux's; the directory checks are tested with the platform seam.
    #[cfg(target_os = "linux")]
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

    // A pipe has no directory: the user's own pipe whatever the environment holds, and the
    // override as it is.
    #[cfg(windows)]
    #[test]
    fn on_windows_the_endpoint_is_the_users_own_pipe() {
        let pipe = socket_path_from(env(&[("XDG_RUNTIME_DIR", "/run/user/1000")])).unwrap();
        let text = pipe.to_string_lossy().into_owned();
        assert!(text.starts_with(r"\\.\pipe\dialtone-S-1-"), "{text}");
        let chosen = socket_path_from(env(&[(SOCKET_ENV, r"\\.\pipe\mine")])).unwrap();
        assert_eq!(chosen, Path::new(r"\\.\pipe\mine"));
    }
}
