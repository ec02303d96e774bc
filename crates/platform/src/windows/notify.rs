//! Notifications on Windows: toasts through notify-rust's WinRT path, under the app's own
//! Application User Model ID (the installer's Start-menu shortcut carries the same one, which
//! is what gives the toast dialtone's name and icon). Toasts have no server to ask for
//! capabilities, no ids to replace one with and, in notify-rust, no buttons: the tray carries
//! the provider's channels instead.

use crate::notify::{NotificationId, NotifyError, Toast};

/// The Application User Model ID of the toasts; `packaging/windows/dialtone.nsi` gives the
/// Start-menu shortcut the same one.
pub(crate) const APP_USER_MODEL_ID: &str = "dialtone.dialtone";

/// A toast on screen: Windows keeps it (and the Action Center its copy) without a handle.
pub(crate) struct Shown;

pub(crate) fn actions_supported() -> bool {
    false
}

pub(crate) fn show(toast: &Toast<'_>) -> Result<Shown, NotifyError> {
    // The toast XML is built by tauri-winrt-notification, which escapes every text it puts in:
    // a feed title cannot turn into markup there.
    notify_rust::Notification::new()
        .app_id(APP_USER_MODEL_ID)
        .appname(toast.app)
        .summary(toast.summary)
        .body(toast.body)
        .show()
        .map(|()| Shown)
        .map_err(|e| NotifyError {
            detail: e.to_string(),
        })
}

pub(crate) fn id(_shown: &Shown) -> NotificationId {
    NotificationId(0)
}

pub(crate) fn wait_for_action(_shown: Shown, _on_action: impl FnOnce(&str)) {
    // No buttons, so no click to wait for.
}
