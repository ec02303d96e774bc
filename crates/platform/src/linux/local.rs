//! The local IPC endpoint as a Unix domain socket: in the user's runtime dir (or, without one,
//! their own state dir, never a shared `/tmp`), the directory 0700 and the socket 0600, and
//! the peer's uid from `SO_PEERCRED`.

use crate::local::EndpointError;
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::net::{UnixListener, UnixStream};

pub(crate) type Stream = UnixStream;
pub(crate) type ReadHalf = tokio::net::unix::OwnedReadHalf;
pub(crate) type WriteHalf = tokio::net::unix::OwnedWriteHalf;

/// A bound socket and its path (removed again by [`release`]), and the lock that makes its
/// agent the only one (held as long as the listener lives).
pub(crate) struct Listener {
    listener: UnixListener,
    path: PathBuf,
    _lock: std::fs::File,
}

pub(crate) fn default_endpoint(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).filter(|p| !p.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        return Some(dir.join("dialtone").join("agent.sock"));
    }
    // A shared /tmp would let another user create the directory first and wait for us.
    let state = var("XDG_STATE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|home| home.join(".local/state")))?;
    Some(state.join("dialtone").join("run").join("agent.sock"))
}

pub(crate) fn companion_dir(socket: &Path) -> Option<PathBuf> {
    socket.parent().map(Path::to_path_buf)
}

pub(crate) async fn bind(path: &Path) -> Result<Listener, EndpointError> {
    prepare_dir(path)?;
    // Before the stale-socket check: two agents starting together would otherwise both find a
    // stale socket, both remove it and both bind (the second unlinking the first's socket).
    let lock = take_agent_lock(path)?;
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(EndpointError::AlreadyRunning {
                path: path.to_path_buf(),
            });
        }
        // Nobody listens: a leftover from an agent that did not shut down cleanly.
        std::fs::remove_file(path).map_err(|source| EndpointError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bind_err = |source| EndpointError::Bind {
        path: path.to_path_buf(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    Ok(Listener {
        listener,
        path: path.to_path_buf(),
        _lock: lock,
    })
}

/// The lock beside the socket (`agent.sock` → `agent.lock`), taken without waiting: held by
/// another process means another agent is starting or running there.
fn take_agent_lock(socket: &Path) -> Result<std::fs::File, EndpointError> {
    let stem = socket
        .file_stem()
        .map_or_else(|| "agent".into(), |s| s.to_string_lossy().into_owned());
    let lock_path = socket.with_file_name(format!("{stem}.lock"));
    let lock_err = |source| EndpointError::Bind {
        path: lock_path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(lock_err)?;
    if !super::fs::try_lock_exclusive(&file).map_err(lock_err)? {
        return Err(EndpointError::AlreadyRunning {
            path: socket.to_path_buf(),
        });
    }
    Ok(file)
}

pub(crate) async fn accept(listener: &Listener) -> io::Result<Stream> {
    listener.listener.accept().await.map(|(stream, _)| stream)
}

pub(crate) fn release(listener: Listener) -> io::Result<()> {
    // The socket file outlives the listener: without this the next agent finds a stale one
    // (it copes, but has to try connecting first).
    std::fs::remove_file(&listener.path)
}

pub(crate) async fn connect(path: &Path) -> io::Result<Stream> {
    UnixStream::connect(path).await
}

pub(crate) fn peer_user(stream: &Stream) -> io::Result<crate::imp::RawUser> {
    stream.peer_cred().map(|cred| cred.uid())
}

pub(crate) fn split(stream: Stream) -> (ReadHalf, WriteHalf) {
    stream.into_split()
}

/// Creates the socket's directory (0700) if needed and makes sure it is ours and private.
fn prepare_dir(socket: &Path) -> Result<(), EndpointError> {
    let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let dir_err = |source| EndpointError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(dir_err)?;
    }
    // Checked after creating it too: between the existence check and the mkdir another user
    // may have made (or linked) it, and `recursive` accepts an existing directory silently.
    // lstat: a symlink planted in our place would lead our socket wherever its owner likes.
    let meta = std::fs::symlink_metadata(dir).map_err(dir_err)?;
    if meta.file_type().is_symlink() {
        return Err(EndpointError::Dir {
            path: dir.to_path_buf(),
            source: io::Error::other("it is a symbolic link"),
        });
    }
    if meta.uid() != super::current_user() {
        // A directory we did not create (e.g. a test's temp dir or /run/user/UID itself when
        // DIALTONE_SOCKET points there) is fine if it is ours; otherwise someone else controls
        // who can reach our socket.
        return Err(EndpointError::ForeignDir {
            path: dir.to_path_buf(),
            owner: crate::UserId(meta.uid()),
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
    use crate::current_user;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn the_socket_dir_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("state/dialtone/run/agent.sock");
        prepare_dir(&socket).unwrap();
        let meta = std::fs::metadata(socket.parent().unwrap()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        assert_eq!(meta.uid(), current_user());
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

    #[tokio::test]
    async fn an_agent_starting_beside_another_is_refused_even_at_a_stale_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let socket = tmp.path().join("dialtone/agent.sock");
        // A stale socket, left by an agent that crashed.
        prepare_dir(&socket).unwrap();
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        // Another agent starting at the same moment holds the lock: it is the one agent, and
        // this one must neither remove the socket nor bind its own.
        let starting = take_agent_lock(&socket).unwrap();
        match bind(&socket).await {
            Err(EndpointError::AlreadyRunning { path }) => assert_eq!(path, socket),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("two agents bound the same socket"),
        }
        assert!(socket.exists(), "the other agent's socket was left alone");
        drop(starting);
        // Once it is gone, the stale socket is replaced and the lock is this agent's.
        let listener = bind(&socket).await.unwrap();
        assert!(UnixStream::connect(&socket).await.is_ok());
        assert!(
            take_agent_lock(&socket).is_err(),
            "held while the listener lives"
        );
        release(listener).unwrap();
        assert!(take_agent_lock(&socket).is_ok(), "given back with it");
    }

    #[test]
    fn a_symlinked_socket_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let planted = tmp.path().join("dialtone");
        std::os::unix::fs::symlink(&elsewhere, &planted).unwrap();
        match prepare_dir(&planted.join("agent.sock")) {
            Err(EndpointError::Dir { path, source }) => {
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
        let (dir, owner) = if current_user() == 0 {
            let dir = tmp.path().join("dialtone");
            std::fs::create_dir(&dir).unwrap();
            std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
            (dir, 65534)
        } else {
            (PathBuf::from("/"), 0)
        };
        match prepare_dir(&dir.join("agent.sock")) {
            Err(EndpointError::ForeignDir { path, owner: found }) => {
                assert_eq!(path, dir);
                assert_eq!(found, owner);
            }
            other => panic!("another user's directory was accepted: {other:?}"),
        }
    }
}
