//! The local IPC endpoint as a named pipe per user (`\\.\pipe\dialtone-<SID>`): one agent per
//! pipe by a named mutex and the pipe's first-instance flag (both atomic, so no lock file is
//! needed), refusing remote clients, with a DACL that grants the user alone; each end learns
//! the other's user from the peer process's token (`GetNamedPipeClientProcessId` /
//! `GetNamedPipeServerProcessId`), the same promise as `SO_PEERCRED` on Linux.
//!
//! Only the pipe's creation with a security descriptor and the peer's process id need unsafe
//! calls; reading and writing are tokio's.

#![allow(unsafe_code)] // Win32: the security attributes at creation, the peer's process id.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::windows::named_pipe::{
    ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions,
};
use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, ERROR_ALREADY_EXISTS, HANDLE};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::System::Pipes::{GetNamedPipeClientProcessId, GetNamedPipeServerProcessId};
use windows_sys::Win32::System::Threading::CreateMutexW;

use super::rules::{agent_mutex_name, pipe_name, pipe_path, pipe_sddl, pipe_taken};
use super::security::{process_user_sid, Descriptor};
use crate::local::EndpointError;

/// `ERROR_PIPE_BUSY`: every instance is taken for the moment; the server makes the next one as
/// soon as it accepted.
const ERROR_PIPE_BUSY: i32 = 231;
/// How long a client waits for a free instance before it gives up.
const BUSY_WAIT: Duration = Duration::from_secs(2);

/// One connection: the server's end (the agent) or the client's.
pub(crate) enum Stream {
    Server(NamedPipeServer),
    Client(NamedPipeClient),
}

pub(crate) type ReadHalf = tokio::io::ReadHalf<Stream>;
pub(crate) type WriteHalf = tokio::io::WriteHalf<Stream>;

/// The pipe's name and the instance waiting for the next client. A mutex, because accepting
/// swaps the instance for a fresh one; a tokio one, so an accept cancelled mid-wait leaves the
/// instance in place.
pub(crate) struct Listener {
    name: PathBuf,
    waiting: tokio::sync::Mutex<NamedPipeServer>,
    _one_agent: AgentMutex,
}

/// The named mutex held while the listener lives: a second agent at the same pipe finds it
/// taken. Windows closes it with the process, however that ends.
struct AgentMutex(HANDLE);

// The handle is only closed, from whichever thread drops the listener.
unsafe impl Send for AgentMutex {}
unsafe impl Sync for AgentMutex {}

impl AgentMutex {
    /// Takes the mutex for `pipe`; `Ok(None)` when another process holds it.
    fn take(pipe: &Path) -> io::Result<Option<AgentMutex>> {
        let name = super::security::wide(OsStr::new(&agent_mutex_name(pipe)));
        let handle = unsafe { CreateMutexW(std::ptr::null(), 0, name.as_ptr()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // Read before any other call can change it.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        let mutex = AgentMutex(handle);
        Ok((!existed).then_some(mutex))
    }
}

impl Drop for AgentMutex {
    fn drop(&mut self) {
        unsafe { CloseHandle(self.0) };
    }
}

pub(crate) fn default_endpoint(_env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    // Pipes live in their own namespace, not under a directory from the environment.
    Some(pipe_name(&super::current_user()))
}

pub(crate) fn companion_dir(endpoint: &Path) -> Option<PathBuf> {
    let local = std::env::var_os("LOCALAPPDATA").map(PathBuf::from);
    super::rules::companion_dir(endpoint, local.as_deref())
}

/// Creates an instance of the pipe `name`: only the user may open it, never from another
/// computer.
fn create_instance(name: &Path, first: bool) -> io::Result<NamedPipeServer> {
    let descriptor = Descriptor::from_sddl(&pipe_sddl(&super::current_user()))?;
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: descriptor.as_ptr(),
        bInheritHandle: 0,
    };
    let mut options = ServerOptions::new();
    options
        .first_pipe_instance(first)
        .reject_remote_clients(true);
    // SAFETY: `attributes` and the descriptor it points to outlive the call.
    unsafe {
        options.create_with_security_attributes_raw(name.as_os_str(), (&raw mut attributes).cast())
    }
}

pub(crate) async fn bind(path: &Path) -> Result<Listener, EndpointError> {
    let name = pipe_path(path, &super::current_user());
    let one_agent = match AgentMutex::take(&name) {
        Ok(Some(mutex)) => mutex,
        Ok(None) => return Err(EndpointError::AlreadyRunning { path: name }),
        Err(source) => return Err(EndpointError::Bind { path: name, source }),
    };
    match create_instance(&name, true) {
        Ok(first) => Ok(Listener {
            name,
            waiting: tokio::sync::Mutex::new(first),
            _one_agent: one_agent,
        }),
        // The first instance exists: an agent of this user serves it (or someone squats the
        // name, whom every client then refuses by SID).
        Err(e) if pipe_taken(e.raw_os_error()) => Err(EndpointError::AlreadyRunning { path: name }),
        Err(source) => Err(EndpointError::Bind { path: name, source }),
    }
}

pub(crate) async fn accept(listener: &Listener) -> io::Result<Stream> {
    let mut waiting = listener.waiting.lock().await;
    waiting.connect().await?;
    // The next client's instance exists before this one is handed out, so a client never finds
    // the pipe gone between two connections.
    let next = create_instance(&listener.name, false)?;
    Ok(Stream::Server(std::mem::replace(&mut *waiting, next)))
}

pub(crate) fn release(listener: Listener) -> io::Result<()> {
    // A pipe is gone with its last handle: nothing is left behind to clean.
    drop(listener);
    Ok(())
}

pub(crate) async fn connect(path: &Path) -> io::Result<Stream> {
    let name = pipe_path(path, &super::current_user());
    let started = std::time::Instant::now();
    loop {
        match ClientOptions::new().open(&name) {
            Ok(client) => return Ok(Stream::Client(client)),
            Err(e)
                if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && started.elapsed() < BUSY_WAIT =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

pub(crate) fn peer_user(stream: &Stream) -> io::Result<super::RawUser> {
    let mut pid = 0u32;
    let ok = match stream {
        Stream::Server(server) => unsafe {
            GetNamedPipeClientProcessId(server.as_raw_handle(), &mut pid)
        },
        Stream::Client(client) => unsafe {
            GetNamedPipeServerProcessId(client.as_raw_handle(), &mut pid)
        },
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    process_user_sid(pid)
}

pub(crate) fn split(stream: Stream) -> (ReadHalf, WriteHalf) {
    tokio::io::split(stream)
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(c) => Pin::new(c).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Client(c) => Pin::new(c).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(c) => Pin::new(c).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(c) => Pin::new(c).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn the_pipe_is_one_agents_and_each_end_sees_the_users_sid() {
        let name = PathBuf::from(format!(r"\\.\pipe\dialtone-unit-{}", std::process::id()));
        let listener = bind(&name).await.unwrap();
        // The first instance is taken: a second agent is told so, atomically.
        match bind(&name).await {
            Err(EndpointError::AlreadyRunning { path }) => assert_eq!(path, name),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("two agents bound the same pipe"),
        }
        let me = super::super::current_user();
        assert!(super::super::rules::is_sid(&me), "{me}");
        let (served, client) = tokio::join!(accept(&listener), connect(&name));
        let (mut served, mut client) = (served.unwrap(), client.unwrap());
        assert_eq!(peer_user(&served).unwrap(), me);
        assert_eq!(peer_user(&client).unwrap(), me);
        client.write_all(b"ping\n").await.unwrap();
        let mut got = [0u8; 5];
        served.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping\n");
        // A second client gets the next instance while the first is connected.
        let (second, other) = tokio::join!(accept(&listener), connect(&name));
        assert_eq!(peer_user(&second.unwrap()).unwrap(), me);
        drop(other);
        release(listener).unwrap();
        drop((served, client));
        // Gone with its handles: the next agent binds.
        release(bind(&name).await.unwrap()).unwrap();
    }

    #[tokio::test]
    async fn nothing_listening_is_not_found() {
        let name = PathBuf::from(format!(r"\\.\pipe\dialtone-none-{}", std::process::id()));
        let e = connect(&name).await.err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    }
}
