//! Notifications on Windows: toasts through WinRT (`ToastNotificationManager`), under the
//! app's own Application User Model ID (the installer's Start-menu shortcut carries the same
//! one, which is what gives the toast dialtone's name and icon). The XML is ours
//! ([`super::toast`]): its buttons open the provider's channel by protocol activation, so
//! Windows opens the link itself and no click comes back to wait for. Toasts have no server to
//! ask for capabilities and no ids to replace one with.
//!
//! Where toasts cannot be shown (Windows before 10, no shortcut carrying the ID on some builds,
//! wine, which has no WinRT), `show` fails with the system's words; the agent says so once and
//! the tray goes on following the line.

use crate::notify::{NotificationId, NotifyError, Toast};
use ::windows::core::HSTRING;
use ::windows::Data::Xml::Dom::XmlDocument;
use ::windows::UI::Notifications::{ToastNotification, ToastNotificationManager};

/// The Application User Model ID of the toasts; `packaging/windows/dialtone.nsi` gives the
/// Start-menu shortcut the same one.
pub(crate) const APP_USER_MODEL_ID: &str = "dialtone.dialtone";

/// `REGDB_E_CLASSNOTREG`: the toast classes do not exist (before Windows 8, or wine). The cast
/// is the documented bit pattern of the HRESULT.
#[allow(clippy::cast_possible_wrap)]
const CLASS_NOT_REGISTERED: ::windows::core::HRESULT =
    ::windows::core::HRESULT(0x8004_0154_u32 as i32);

/// A toast on screen: Windows keeps it (and the Action Center its copy) without a handle.
pub(crate) struct Shown;

/// Toasts have had buttons since Windows 10, the oldest system dialtone supports.
pub(crate) fn actions_supported() -> bool {
    true
}

pub(crate) fn show(toast: &Toast<'_>) -> Result<Shown, NotifyError> {
    let xml = super::toast::toast_xml(
        toast.summary,
        toast.body,
        toast
            .actions
            .iter()
            .map(|a| (a.label.as_str(), a.link.as_str())),
    );
    show_xml(&xml).map_err(|e| NotifyError {
        detail: if e.code() == CLASS_NOT_REGISTERED {
            format!("showing a toast: {e}: this system has no WinRT toasts")
        } else {
            format!("showing a toast: {e}")
        },
    })?;
    Ok(Shown)
}

fn show_xml(xml: &str) -> ::windows::core::Result<()> {
    let document = XmlDocument::new()?;
    document.LoadXml(&HSTRING::from(xml))?;
    let toast = ToastNotification::CreateToastNotification(&document)?;
    ToastNotificationManager::CreateToastNotifierWithId(&HSTRING::from(APP_USER_MODEL_ID))?
        .Show(&toast)
}

pub(crate) fn id(_shown: &Shown) -> NotificationId {
    NotificationId(0)
}

pub(crate) fn wait_for_action(_shown: Shown, _on_action: impl FnOnce(&str)) {
    // A button opens its link through Windows (protocol activation): nothing comes back here.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Action, Icon};
    use std::time::{Duration, Instant};

    /// Whatever the system (a toast on real Windows; an error under wine, which has no WinRT),
    /// showing returns promptly and never panics, so the notifier thread goes on.
    #[test]
    fn a_toast_with_a_channel_button_is_shown_or_refused_promptly() {
        let actions = [Action {
            key: "channel:0".into(),
            label: "Open 1&1 on X".into(),
            link: "https://x.com/1und1".into(),
        }];
        let started = Instant::now();
        let result = show(&Toast {
            app: "dialtone",
            summary: "dialtone test toast",
            body: "1&1 <telephony> is not answering",
            icon: Icon::Warning,
            replaces: None,
            actions: &actions,
        });
        match &result {
            Ok(_) => println!("toast shown in {:?}", started.elapsed()),
            Err(e) => println!("toast refused in {:?}: {e}", started.elapsed()),
        }
        if let Err(e) = &result {
            assert!(e.detail.starts_with("showing a toast: "), "{e}");
            assert!(e.detail.len() > "showing a toast: ".len(), "{e}");
        }
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
