//! The one platform seam: everything dialtone does that differs between operating systems,
//! declared and documented once here and implemented by one module per OS (`linux/`,
//! `windows/`).
//!
//! An operating system is an added module (selected below) and a block of
//! dependencies in this crate's `Cargo.toml`, not `cfg` across the tree: the functions and types
//! here call into `imp`, so a missing piece of a new OS is a compile error in this file, not a
//! surprise at run time. Outside this crate nothing names `std::os::unix`, `rustix`, `zbus`,
//! `ksni` or `/proc/` (`tests/crate_graph.rs` checks).
//!
//! What is here:
//! - [`UserId`], [`current_user`]: who runs this process, and who is on the other end of a
//!   local connection.
//! - [`local`]: the agent's local IPC endpoint (a Unix socket in a private directory; a
//!   per-user named pipe on Windows) and the peer's identity.
//! - [`fs`]: files and directories only the user can read, and an inter-process lock.
//! - [`net`] (feature `net`): interfaces, the default route, the gateway's ICMP echo.
//! - [`events`] (feature `net`): what the OS tells of its own accord, a changed network or a
//!   resume from sleep (Windows' IP Helper and power notifications; nothing on Linux).
//! - [`secrets`]: the OS secret store (feature `secret-store`; without it, "no store").
//! - [`tray`] (feature `tray`), [`notify`] (feature `notify`), [`autostart`] (feature
//!   `autostart`): the desktop parts only the agent links.
//! - [`dialog`] (feature `dialog`): a yes/no message box, for what the dashboard must say
//!   before it has a window (no web view runtime).
//! - [`locale`]: the user's language setting, where this OS keeps it.
//!
//! Network changes are polled on every OS (`monitor::network`), with [`net::interfaces`] and
//! [`net::default_route`] as the fingerprint, and the monitor notices a wake from the wall clock
//! jumping ahead of the monotonic one. Where the OS says so itself ([`events`]), the poll comes
//! at once; a resume is said outright on Windows, whose monotonic clock counts through sleep.

// Only the Windows module calls a C API (Win32, which has no safe form); it allows unsafe code
// on exactly those functions. Everywhere else there is none, and cannot be.
#![cfg_attr(not(windows), forbid(unsafe_code))]

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as imp;

// Compiled on every OS under test: its pure decisions (pipe names, SDDL, routes, the Run
// value) are unit-tested on Linux too; its Win32 calls are `cfg(windows)` inside.
#[cfg(any(windows, test))]
mod windows;
#[cfg(windows)]
use windows as imp;

#[cfg(feature = "secret-store")]
mod keyring_store;

#[cfg(not(any(target_os = "linux", windows)))]
compile_error!(
    "dialtone-platform has no implementation for this operating system yet: add its module \
     beside src/linux/ and src/windows/ and select it in src/lib.rs"
);

use std::fmt;

/// A user as the operating system names it: the uid on Linux (a SID on Windows). Shown as the
/// OS writes it (`uid 1000`), so messages about a foreign peer or directory read naturally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserId(imp::RawUser);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        imp::fmt_user(&self.0, f)
    }
}

/// The user this process runs as (its real user): the one every local peer must be.
pub fn current_user() -> UserId {
    UserId(imp::current_user())
}

pub mod local {
    //! The agent's local IPC endpoint: a listener only this user can reach, and connections
    //! that tell who is on the other end. Framing and the protocol are `dialtone-ipc`'s; this
    //! is only the pipe.

    use crate::{imp, UserId};
    use std::ffi::OsString;
    use std::io;
    use std::path::{Path, PathBuf};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    /// Why the endpoint could not be set up. Each names the path it is about.
    #[derive(Debug, thiserror::Error)]
    pub enum EndpointError {
        /// The endpoint's directory could not be created or secured.
        #[error("cannot prepare the socket directory {path}: {source}")]
        Dir {
            /// The directory.
            path: PathBuf,
            /// The OS error.
            source: io::Error,
        },
        /// The endpoint's directory belongs to another user: using it would let them listen in.
        #[error("the socket directory {path} belongs to {owner}, not to this user")]
        ForeignDir {
            /// The directory.
            path: PathBuf,
            /// Its owner.
            owner: UserId,
        },
        /// Another process already answers at this endpoint.
        #[error("another dialtone agent is already running (socket {path})")]
        AlreadyRunning {
            /// The endpoint.
            path: PathBuf,
        },
        /// Binding or securing the endpoint failed.
        #[error("cannot listen on {path}: {source}")]
        Bind {
            /// The endpoint.
            path: PathBuf,
            /// The OS error.
            source: io::Error,
        },
    }

    /// The default endpoint, from the environment passed in (so the choice is testable without
    /// touching the process's own): on Linux `$XDG_RUNTIME_DIR/dialtone/agent.sock`, else
    /// `dialtone/run/agent.sock` in the user's state dir, never a shared `/tmp`. `None` when
    /// the user has no place of their own. An override (`DIALTONE_SOCKET`) is the caller's.
    pub fn default_endpoint(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
        imp::local::default_endpoint(env)
    }

    /// The private directory for what belongs with the endpoint (the watch locks of the
    /// accounts): beside it where endpoints are files (the socket's directory on Linux), else
    /// the user's local app data (`%LOCALAPPDATA%\\dialtone\\run\\<pipe>` on Windows).
    /// `None` when the user has no such place.
    pub fn companion_dir(endpoint: &Path) -> Option<PathBuf> {
        imp::local::companion_dir(endpoint)
    }

    /// A bound endpoint, accepting connections.
    pub struct LocalListener(imp::local::Listener);

    impl LocalListener {
        /// Binds the endpoint at `path`, reachable by this user only: prepares its directory
        /// (private, ours, no symlink), replaces a stale endpoint a crashed agent left, and
        /// refuses with [`EndpointError::AlreadyRunning`] when a live one answers there.
        pub async fn bind(path: &Path) -> Result<LocalListener, EndpointError> {
            imp::local::bind(path).await.map(LocalListener)
        }

        /// Waits for the next connection. Who connected is [`LocalStream::peer_user`]'s to say:
        /// the caller decides whom to serve.
        pub async fn accept(&self) -> io::Result<LocalStream> {
            imp::local::accept(&self.0).await.map(LocalStream)
        }

        /// Gives the endpoint up: stops listening and removes what [`LocalListener::bind`] left
        /// in the file system (where endpoints are files), so the next agent finds no stale one.
        pub fn release(self) -> io::Result<()> {
            imp::local::release(self.0)
        }
    }

    /// One connection, either end.
    pub struct LocalStream(imp::local::Stream);

    impl LocalStream {
        /// Connects to the endpoint at `path`. Nothing is sent: check [`LocalStream::peer_user`]
        /// before the first byte goes out.
        pub async fn connect(path: &Path) -> io::Result<LocalStream> {
            imp::local::connect(path).await.map(LocalStream)
        }

        /// The user of the process on the other end, as the OS vouches for it.
        pub fn peer_user(&self) -> io::Result<UserId> {
            imp::local::peer_user(&self.0).map(UserId)
        }

        /// Splits the connection so one task reads while another writes.
        pub fn into_split(self) -> (LocalReadHalf, LocalWriteHalf) {
            let (read, write) = imp::local::split(self.0);
            (LocalReadHalf(read), LocalWriteHalf(write))
        }
    }

    /// The reading half of a [`LocalStream`].
    pub struct LocalReadHalf(imp::local::ReadHalf);

    /// The writing half of a [`LocalStream`].
    pub struct LocalWriteHalf(imp::local::WriteHalf);

    // Both halves are Unpin on every OS (tokio's socket and pipe halves are), so delegating
    // needs no pin projection and no unsafe.
    impl AsyncRead for LocalReadHalf {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for LocalWriteHalf {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }
}

pub mod limits {
    //! What the OS lets one process hold open. An agent that serves metrics to the network next
    //! to its probes must not run out of sockets because someone else opened many connections.

    use crate::imp;
    use std::io;

    /// Raises the soft limit of open files to the hard limit; the limit in force afterwards.
    pub fn raise_open_files() -> io::Result<u64> {
        imp::limits::raise_open_files()
    }
}

pub mod fs {
    //! Files and directories only the user can read (mode 0600/0700 on Linux; an owner-only
    //! ACL on Windows), and an exclusive inter-process lock on a file.

    use crate::imp;
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::Path;

    /// Creates `dir` and its missing parents, each new one readable by the user only.
    /// Existing directories are left as they are.
    pub fn create_private_dir(dir: &Path) -> io::Result<()> {
        imp::fs::create_private_dir(dir)
    }

    /// Creates `path`'s directory ([`create_private_dir`]) and the file itself, readable by the
    /// user only; an existing file keeps its contents. For files other programs (SQLite) open
    /// afterwards, so they find them private from the first byte.
    pub fn create_private_file(path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .private()
            .open(path)?;
        imp::fs::created_private(path)
    }

    /// Makes an existing file readable by the user only.
    pub fn restrict_to_user(path: &Path) -> io::Result<()> {
        imp::fs::restrict_to_user(path)
    }

    /// The access `path` grants, in Unix notation (`0o600`: the owner reads and writes, nobody
    /// else anything). Where the OS keeps ACLs instead of modes, its module reports the owner-only
    /// access the functions above set as these same bits, so checks of them read alike.
    pub fn access_bits(path: &Path) -> io::Result<u32> {
        imp::fs::access_bits(path)
    }

    /// `OpenOptions` that create files readable by the user only.
    pub trait OpenPrivate {
        /// New files get owner-only access; existing ones keep theirs.
        fn private(&mut self) -> &mut Self;
    }

    impl OpenPrivate for OpenOptions {
        fn private(&mut self) -> &mut Self {
            imp::fs::private(self)
        }
    }

    /// Takes an exclusive lock on `file`, waiting for another process to give it up. The OS
    /// releases it when the file is closed, however the holder ends.
    pub fn lock_exclusive(file: &File) -> io::Result<()> {
        imp::fs::lock_exclusive(file)
    }

    /// Takes an exclusive lock on `file` if nobody holds one: `Ok(false)` when another process
    /// (or another open of the same file) does.
    pub fn try_lock_exclusive(file: &File) -> io::Result<bool> {
        imp::fs::try_lock_exclusive(file)
    }

    /// The contract every system's module keeps, tested once here (and under wine for
    /// Windows); what only one system can show stays beside its module.
    #[cfg(test)]
    #[allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
    mod tests {
        use super::*;

        #[test]
        fn private_files_and_directories_are_the_users_only() {
            let tmp = tempfile::tempdir().unwrap();
            let file = tmp.path().join("a/b/data");
            create_private_file(&file).unwrap();
            assert_eq!(access_bits(&file).unwrap(), 0o600);
            assert_eq!(access_bits(&tmp.path().join("a/b")).unwrap(), 0o700);
            assert_eq!(access_bits(&tmp.path().join("a")).unwrap(), 0o700);
            // A file made elsewhere (with the temp dir's inherited access) is restricted.
            let loose = tmp.path().join("loose");
            std::fs::write(&loose, "x").unwrap();
            restrict_to_user(&loose).unwrap();
            assert_eq!(access_bits(&loose).unwrap(), 0o600);
        }

        #[test]
        fn an_exclusive_lock_is_held_once() {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("lock");
            let open = || {
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .unwrap()
            };
            let first = open();
            assert!(try_lock_exclusive(&first).unwrap());
            // The lock belongs to the open file (flock; LockFileEx), so a second open of the
            // same path is another holder.
            let second = open();
            assert!(!try_lock_exclusive(&second).unwrap());
            drop(first);
            assert!(try_lock_exclusive(&second).unwrap());
            drop(second);
            lock_exclusive(&open()).unwrap();
        }
    }
}

#[cfg(feature = "net")]
pub mod net {
    //! This computer's network as the OS reports it: interfaces, the default route, and an ICMP
    //! echo that needs no privileges.

    use crate::imp;
    use std::io;
    use std::net::IpAddr;
    use std::time::Duration;

    /// An interface that is up, with its addresses.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Interface {
        /// The OS's name for it (`eth0`, `wlan0`).
        pub name: String,
        /// Its addresses, sorted and without duplicates.
        pub addresses: Vec<IpAddr>,
    }

    /// The route to everywhere else.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Route {
        /// The interface it leaves by.
        pub interface: String,
        /// The next hop; `None` on a point-to-point link.
        pub gateway: Option<IpAddr>,
    }

    /// The interfaces that are up (not loopback) and hold an address other than loopback,
    /// sorted by name. The order is stable from call to call: the network watcher compares
    /// whole lists, and a shuffled one would look like a change.
    pub fn interfaces() -> Vec<Interface> {
        imp::net::interfaces()
    }

    /// The default route with the lowest metric, IPv4 before IPv6 (a home line's SIP almost
    /// always runs over IPv4); `None` when there is none or the OS does not say.
    pub fn default_route() -> Option<Route> {
        imp::net::default_route()
    }

    /// What became of an ICMP echo request.
    #[derive(Debug)]
    pub enum Echo {
        /// The host answered after `rtt`.
        Replied {
            /// Round-trip time.
            rtt: Duration,
        },
        /// No answer within the timeout.
        TimedOut,
        /// Sending or receiving failed (the OS's error says why, e.g. no route to the host).
        Failed(io::Error),
    }

    /// Sends one ICMP echo request to `ip` and waits up to `timeout` for the answer, without
    /// privileges. `Err` when the OS does not let this user send one at all (on Linux: not in
    /// `net.ipv4.ping_group_range`); the caller then relies on other means.
    pub async fn icmp_echo(ip: IpAddr, timeout: Duration) -> io::Result<Echo> {
        imp::net::icmp_echo(ip, timeout).await
    }
}

#[cfg(feature = "net")]
pub mod events {
    //! What the operating system tells of its own accord: the network changed, the machine
    //! resumed from sleep. On Windows the IP Helper's change notifications (interfaces,
    //! addresses, default routes) and the power manager's resume callback; on Linux nothing
    //! (polling and the clock serve there). The OS module decides which of its notifications
    //! count; debouncing and what a change means are the engine's.

    use crate::imp;
    use std::io;

    /// One notification that counts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SystemEvent {
        /// An interface, an address or a default route came, went or changed.
        NetworkChanged,
        /// The machine resumed from sleep or hibernation.
        Resumed,
    }

    /// Live registrations with the OS; dropping it unregisters them, and the subscriber hears
    /// nothing more.
    pub struct Subscription(imp::events::Subscription);

    impl Subscription {
        /// What is registered (`interfaces`, `addresses`, `routes`, `resume`), for the log:
        /// a source the OS refused is left out rather than failing the rest.
        pub fn sources(&self) -> &[&'static str] {
            self.0.sources()
        }
    }

    /// Subscribes `deliver` to the OS's notifications. It is called on a thread of the OS's
    /// own, possibly several at once, and must return at once (raise a flag, send on a
    /// channel). `Ok(None)` where this OS sends nothing (Linux); `Err` when it has
    /// notifications but would register none.
    pub fn subscribe(
        deliver: impl Fn(SystemEvent) + Send + Sync + 'static,
    ) -> io::Result<Option<Subscription>> {
        imp::events::subscribe(Box::new(deliver)).map(|s| s.map(Subscription))
    }
}

pub mod secrets {
    //! The OS secret store (on Linux the Secret Service; the Credential Manager on Windows),
    //! with the feature `secret-store`. Without it every call says the build has no store, so
    //! a headless engine still runs on passwords from the environment.

    /// Why the store could not be used (no store running, locked, denied). Never holds the
    /// password.
    #[derive(Debug, thiserror::Error)]
    #[error("{op} {service}/{account} in the OS secret store: {detail}")]
    pub struct SecretStoreError {
        /// What was attempted (`reading`, `storing`, `deleting`).
        pub op: &'static str,
        /// The service the entry belongs to.
        pub service: String,
        /// The entry's account name.
        pub account: String,
        /// The store's own words.
        pub detail: String,
    }

    impl SecretStoreError {
        pub(crate) fn new(op: &'static str, service: &str, account: &str, detail: String) -> Self {
            SecretStoreError {
                op,
                service: service.to_string(),
                account: account.to_string(),
                detail,
            }
        }
    }

    /// The password stored for `service`/`account`; `Ok(None)` when there is none. Blocking
    /// (D-Bus on Linux): call it off the async workers.
    pub fn get(service: &str, account: &str) -> Result<Option<String>, SecretStoreError> {
        #[cfg(feature = "secret-store")]
        return crate::keyring_store::get(service, account);
        #[cfg(not(feature = "secret-store"))]
        Err(unavailable("reading", service, account))
    }

    /// Stores `password` for `service`/`account`, replacing an earlier one. Blocking.
    pub fn set(service: &str, account: &str, password: &str) -> Result<(), SecretStoreError> {
        #[cfg(feature = "secret-store")]
        return crate::keyring_store::set(service, account, password);
        #[cfg(not(feature = "secret-store"))]
        {
            let _ = password;
            Err(unavailable("storing", service, account))
        }
    }

    /// Removes the password stored for `service`/`account`; none stored is fine. Blocking.
    pub fn delete(service: &str, account: &str) -> Result<(), SecretStoreError> {
        #[cfg(feature = "secret-store")]
        return crate::keyring_store::delete(service, account);
        #[cfg(not(feature = "secret-store"))]
        Err(unavailable("deleting", service, account))
    }

    #[cfg(not(feature = "secret-store"))]
    fn unavailable(op: &'static str, service: &str, account: &str) -> SecretStoreError {
        SecretStoreError::new(
            op,
            service,
            account,
            "this build has no secret store (feature secret-store)".into(),
        )
    }
}

#[cfg(feature = "tray")]
pub mod tray {
    //! The tray host. The icon and its menu are the `tray_icon` crate's, with this OS's backend
    //! chosen in this crate's `Cargo.toml` (re-exported here, so the app never picks one); what
    //! differs besides is whether anything shows tray icons and how the tray's thread waits.

    use crate::imp;
    use std::ops::ControlFlow;
    use std::sync::mpsc;

    pub use tray_icon;

    /// Why the question "is there a tray host?" found no answer.
    #[derive(Debug, thiserror::Error)]
    #[error("asking {bus} for a tray host: {detail}")]
    pub struct TrayHostError {
        /// Where we asked (the session bus on Linux).
        pub bus: &'static str,
        /// What went wrong.
        pub detail: String,
    }

    /// Whether something on this desktop shows tray icons (on Linux: a StatusNotifierWatcher
    /// owns its name on the session bus). Blocking.
    pub fn host_present() -> Result<bool, TrayHostError> {
        imp::tray::host_present()
    }

    /// The size in pixels the tray draws icons at, where the OS says (Windows: the small-icon
    /// metric at the system DPI, so the icon handed over is the one drawn, not a scaled one);
    /// `None` where the host scales whatever it gets (Linux). Asked again for each new icon,
    /// so a changed scaling is followed from the next one.
    pub fn icon_px() -> Option<u32> {
        imp::tray::icon_px()
    }

    /// Whether this OS may hide a new tray icon until the user pins it (Windows 11 puts it in
    /// the overflow behind `^`), so the first start says where it is.
    pub const NEW_ICONS_MAY_BE_HIDDEN: bool = imp::tray::NEW_ICONS_MAY_BE_HIDDEN;

    /// The tray thread's loop: hands each command from `inbox` to `on_command` until it says
    /// stop or the sender is gone, doing meanwhile whatever the OS needs from the thread that
    /// owns the tray icon (a message loop on Windows; nothing on Linux, where the backend
    /// runs its own).
    pub fn run_loop<C>(inbox: mpsc::Receiver<C>, on_command: impl FnMut(C) -> ControlFlow<()>) {
        imp::tray::run_loop(inbox, on_command)
    }
}

#[cfg(feature = "notify")]
pub mod notify {
    //! Desktop notifications: show one (replacing an earlier one), offer buttons where the
    //! notification server has them, and wait for a click.

    use crate::imp;

    /// Which stock icon a notification shows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Icon {
        /// Something stopped working.
        Warning,
        /// Something is back or worth knowing.
        Information,
    }

    /// The notification server's name for one of ours, to replace it later.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct NotificationId(pub(crate) u32);

    /// A notification to show.
    #[derive(Debug, Clone)]
    pub struct Toast<'a> {
        /// The application's name as the desktop shows it.
        pub app: &'a str,
        /// The first line.
        pub summary: &'a str,
        /// The text under it.
        pub body: &'a str,
        /// The stock icon.
        pub icon: Icon,
        /// An earlier notification this one takes the place of.
        pub replaces: Option<NotificationId>,
        /// Buttons; only shown where [`actions_supported`] says so.
        pub actions: &'a [Action],
    }

    /// A button of a notification.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Action {
        /// What [`Shown::wait_for_action`] reports when it is clicked (Linux).
        pub key: String,
        /// Its label.
        pub label: String,
        /// The link it stands for, already let through by the link gate
        /// (`dialtone_core::link::checked`): on Windows the button opens it itself
        /// (protocol activation), without a click coming back to the caller.
        pub link: String,
    }

    /// Why a notification was not shown (typically: no notification server).
    #[derive(Debug, thiserror::Error)]
    #[error("{detail}")]
    pub struct NotifyError {
        /// The notification system's words, as the log has always shown them.
        pub detail: String,
    }

    /// Whether notifications can carry buttons here. Blocking.
    pub fn actions_supported() -> bool {
        imp::notify::actions_supported()
    }

    /// Shows `toast`. Blocking.
    pub fn show(toast: &Toast<'_>) -> Result<Shown, NotifyError> {
        imp::notify::show(toast).map(Shown)
    }

    /// A notification on screen.
    pub struct Shown(imp::notify::Shown);

    impl Shown {
        /// Its id, to replace it with the next one.
        pub fn id(&self) -> NotificationId {
            imp::notify::id(&self.0)
        }

        /// Blocks until the notification closes, calling `on_action` with the key of the button
        /// clicked (or the server's own key for a plain close).
        pub fn wait_for_action(self, on_action: impl FnOnce(&str)) {
            imp::notify::wait_for_action(self.0, on_action)
        }
    }
}

#[cfg(feature = "dialog")]
pub mod dialog {
    //! A yes/no message box of the system's own, for what must be said where no window of ours
    //! can be (the dashboard without a web view runtime). Blocking until answered.

    use crate::imp;

    /// Why the box could not be shown (no desktop to show it on, or no such box here).
    #[derive(Debug, thiserror::Error)]
    #[error("showing the message box: {detail}")]
    pub struct DialogError {
        /// The system's words.
        pub detail: String,
    }

    /// Shows `text` under `title` with a warning sign and Yes/No buttons; `true` when the user
    /// picked Yes. Blocks until the box is closed.
    pub fn ask_yes_no(title: &str, text: &str) -> Result<bool, DialogError> {
        imp::dialog::ask_yes_no(title, text)
    }
}

#[cfg(feature = "autostart")]
pub mod autostart {
    //! "Start at login" for the running executable (on Linux an XDG autostart entry).

    use crate::imp;
    use std::path::PathBuf;

    /// Why the setting could not be changed.
    #[derive(Debug, thiserror::Error)]
    pub enum AutostartError {
        /// No home or config directory is known.
        #[error("no config directory for the autostart entry (set HOME or XDG_CONFIG_HOME)")]
        NoConfigDir,
        /// Writing or removing the entry failed.
        #[error("{op} the autostart entry {}: {source}", path.display())]
        Io {
            /// `writing` or `removing`.
            op: &'static str,
            /// Where the entry is.
            path: PathBuf,
            /// The OS error.
            source: std::io::Error,
        },
    }

    /// Whether dialtone starts at login.
    pub fn is_enabled() -> bool {
        imp::autostart::is_enabled()
    }

    /// Makes the running executable start at login, or stops it.
    pub fn set(enabled: bool) -> Result<(), AutostartError> {
        imp::autostart::set(enabled)
    }
}

pub mod locale {
    //! The user's locale as the OS keeps it: on Linux the `LC_ALL`, `LC_MESSAGES`, `LANG`
    //! variables (`de_DE.UTF-8`); on Windows the same variables when set (a shell may set
    //! them), else the user's display language (`de-DE`), since Windows programs find no `LANG`.

    use crate::imp;

    /// The user's locale name, or `None` when the OS names none.
    pub fn user_locale() -> Option<String> {
        let from_env = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|key| std::env::var(key).ok())
            .find(|value| !value.is_empty());
        from_env.or_else(imp::locale::user_locale)
    }
}
