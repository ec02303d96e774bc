//! Notifications on Linux: the freedesktop notification server on the session bus, through
//! notify-rust (whose D-Bus calls block: the caller keeps them on a thread of its own).

use crate::notify::{Icon, NotificationId, NotifyError, Toast};

pub(crate) type Shown = notify_rust::NotificationHandle;

pub(crate) fn actions_supported() -> bool {
    notify_rust::get_capabilities()
        .map(|caps| caps.iter().any(|c| c == "actions"))
        .unwrap_or(false)
}

pub(crate) fn show(toast: &Toast<'_>) -> Result<Shown, NotifyError> {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname(toast.app)
        .summary(toast.summary)
        .body(toast.body)
        .icon(match toast.icon {
            Icon::Warning => "dialog-warning",
            Icon::Information => "dialog-information",
        });
    if let Some(NotificationId(id)) = toast.replaces {
        notification.id(id);
    }
    for (key, label) in toast.actions {
        notification.action(key, label);
    }
    notification.show().map_err(|e| NotifyError {
        detail: e.to_string(),
    })
}

pub(crate) fn id(shown: &Shown) -> NotificationId {
    NotificationId(shown.id())
}

pub(crate) fn wait_for_action(shown: Shown, on_action: impl FnOnce(&str)) {
    shown.wait_for_action(on_action);
}
