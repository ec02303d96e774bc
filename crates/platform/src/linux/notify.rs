//! Notifications on Linux: the freedesktop notification server on the session bus, through
//! notify-rust (whose D-Bus calls block: the caller keeps them on a thread of its own).

use crate::notify::{Icon, NotificationId, NotifyError, Toast};

pub(crate) type Shown = notify_rust::NotificationHandle;

pub(crate) fn actions_supported() -> bool {
    has_capability("actions")
}

fn has_capability(name: &str) -> bool {
    notify_rust::get_capabilities()
        .map(|caps| caps.iter().any(|c| c == name))
        .unwrap_or(false)
}

/// The body as the server will read it. A server that announces `body-markup` parses the body
/// as a subset of XML (links, bold, images): our text (a provider's post title, a label) is
/// escaped there (`&`, `<`, `>`: quotes only matter inside tags, and there are none left), so a
/// feed cannot put a clickable link past the link gate, and "1&1" is not broken markup. Elsewhere
/// the body is plain text and goes as it is.
fn body_for_server(body: &str, markup: bool) -> String {
    if !markup {
        return body.to_string();
    }
    // `&` first, or the entities the others make would be escaped again.
    body.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) fn show(toast: &Toast<'_>) -> Result<Shown, NotifyError> {
    let body = body_for_server(toast.body, has_capability("body-markup"));
    let mut notification = notify_rust::Notification::new();
    notification
        .appname(toast.app)
        .summary(toast.summary)
        .body(&body)
        .icon(match toast.icon {
            Icon::Warning => "dialog-warning",
            Icon::Information => "dialog-information",
        });
    if let Some(NotificationId(id)) = toast.replaces {
        notification.id(id);
    }
    for action in toast.actions {
        notification.action(&action.key, &action.label);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_escaped_only_for_servers_that_parse_markup() {
        let title = r#"Störung <a href="https://evil.example">hier</a> & 'mehr'"#;
        assert_eq!(
            body_for_server(title, true),
            r#"Störung &lt;a href="https://evil.example"&gt;hier&lt;/a&gt; &amp; 'mehr'"#
        );
        assert_eq!(body_for_server(title, false), title);
    }
}
