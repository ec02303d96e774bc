//! Windows: a per-user named pipe whose two ends check each other's SID, owner-only DACLs and
//! std's file lock, the IP Helper API for the network and its change notifications, the power
//! manager's resume callback, the Credential Manager, tray-icon's
//! Win32 backend with a message loop, toasts and the per-user Run key. One file per part of the
//! seam, with the names `lib.rs` calls.
//!
//! What needs no Windows (pipe names, SDDL, the route and interface choice, the Run value, the
//! toast's XML) is in plain functions compiled on every OS under test, so Linux CI checks those
//! decisions; the Win32 calls around them are `cfg(windows)`.

pub(crate) mod rules;

#[cfg(any(feature = "autostart", test))]
pub(crate) mod autostart;
#[cfg(feature = "net")]
pub(crate) mod events;
#[cfg(feature = "net")]
pub(crate) mod net;

#[cfg(all(windows, feature = "dialog"))]
pub(crate) mod dialog;
#[cfg(windows)]
pub(crate) mod fs;
#[cfg(windows)]
pub(crate) mod local;
#[cfg(windows)]
pub(crate) mod locale;
#[cfg(all(windows, feature = "notify"))]
pub(crate) mod notify;
#[cfg(windows)]
pub(crate) mod security;
#[cfg(any(all(windows, feature = "notify"), test))]
pub(crate) mod toast;
#[cfg(all(windows, feature = "tray"))]
pub(crate) mod tray;

#[cfg(windows)]
pub(crate) use user::{current_user, fmt_user, RawUser};

#[cfg(windows)]
mod user {
    use std::fmt;
    use std::sync::OnceLock;

    /// A Windows user is its SID, in the string form (`S-1-5-21-…`).
    pub(crate) type RawUser = String;

    /// The NULL SID: no user has it. Where the token cannot be read (it always can for the
    /// current process) the pipe and the files are then granted to nobody, which fails closed.
    const NOBODY: &str = "S-1-0-0";

    pub(crate) fn current_user() -> RawUser {
        static SID: OnceLock<String> = OnceLock::new();
        SID.get_or_init(|| {
            super::security::current_user_sid()
                .ok()
                .filter(|sid| super::rules::is_sid(sid))
                .unwrap_or_else(|| NOBODY.to_string())
        })
        .clone()
    }

    pub(crate) fn fmt_user(sid: &RawUser, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SID {sid}")
    }
}

#[cfg(windows)]
pub(crate) mod limits {
    //! Windows has no per-process limit of open files a process could raise (handles are
    //! bounded by memory, about 16 million per process), so there is nothing to do.

    use std::io;

    /// The documented per-process handle limit (2^24).
    const HANDLE_LIMIT: u64 = 1 << 24;

    pub(crate) fn raise_open_files() -> io::Result<u64> {
        Ok(HANDLE_LIMIT)
    }
}
