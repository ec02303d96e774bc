//! Linux: Unix sockets with `SO_PEERCRED`, file modes and `flock`, `/sys` and `/proc` for the
//! network, ping sockets, the Secret Service, a StatusNotifierItem tray, freedesktop
//! notifications and an XDG autostart entry. One file per part of the seam; each implements
//! what `lib.rs` declares, with the same names.

pub(crate) mod fs;
pub(crate) mod limits;
pub(crate) mod local;

pub(crate) mod locale {
    //! Linux keeps the locale in the environment only (read by `crate::locale`).

    pub(crate) fn user_locale() -> Option<String> {
        None
    }
}

#[cfg(feature = "autostart")]
pub(crate) mod autostart;
#[cfg(feature = "dialog")]
pub(crate) mod dialog;
#[cfg(feature = "net")]
pub(crate) mod events;
#[cfg(feature = "net")]
pub(crate) mod net;
#[cfg(feature = "notify")]
pub(crate) mod notify;
#[cfg(feature = "tray")]
pub(crate) mod tray;

use std::fmt;

/// A Linux user is its uid.
pub(crate) type RawUser = u32;

pub(crate) fn current_user() -> RawUser {
    rustix::process::getuid().as_raw()
}

pub(crate) fn fmt_user(uid: &RawUser, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "uid {uid}")
}

/// A uid compares with the number it is: what Linux code and tests (`uid == 0`) mean by a user.
impl PartialEq<u32> for crate::UserId {
    fn eq(&self, uid: &u32) -> bool {
        self.0 == *uid
    }
}

impl PartialEq<crate::UserId> for u32 {
    fn eq(&self, user: &crate::UserId) -> bool {
        *self == user.0
    }
}

#[cfg(test)]
mod tests {
    use crate::current_user;

    #[test]
    fn the_current_user_is_the_process_uid_and_says_so() {
        let uid = rustix::process::getuid().as_raw();
        assert_eq!(current_user(), uid);
        assert_eq!(current_user().to_string(), format!("uid {uid}"));
    }
}
