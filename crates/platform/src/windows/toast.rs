//! The toast's XML (Microsoft's toast schema, `ToastGeneric`), built here rather than by
//! notify-rust, whose Windows path (tauri-winrt-notification 0.7) has no way to give a button
//! a link: its buttons only report back to a callback, which fires only while the toast is on
//! screen and the process is listening. A button with `activationType="protocol"` instead
//! hands its `arguments` (the link) to Windows, which opens it in the browser itself, also from
//! the Action Center after the toast has gone. So the toast carries the provider's channels as
//! buttons, as the Linux notification does with its actions.
//!
//! Pure text, compiled on every OS under test: Linux CI checks the escaping of hostile text (a
//! feed title is the provider's words, not ours) and that only https and `tel:` links become
//! buttons, since Windows would launch whatever scheme a protocol button names.

/// A toast shows at most five buttons (Microsoft's toast schema).
pub(crate) const MAX_BUTTONS: usize = 5;

/// The toast with `summary` over `body` and one button per `(label, link)`, in order; links
/// that are not https or `tel:` are left out, and buttons past [`MAX_BUTTONS`].
pub(crate) fn toast_xml<'a>(
    summary: &str,
    body: &str,
    buttons: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut xml = format!(
        "<toast><visual><binding template=\"ToastGeneric\"><text>{}</text><text>{}</text>\
         </binding></visual>",
        escape(summary),
        escape(body)
    );
    let actions: Vec<String> = buttons
        .into_iter()
        .filter(|(_, link)| opens_safely(link))
        .take(MAX_BUTTONS)
        .map(|(label, link)| {
            format!(
                "<action content=\"{}\" activationType=\"protocol\" arguments=\"{}\"/>",
                escape(label),
                escape(link)
            )
        })
        .collect();
    if !actions.is_empty() {
        xml.push_str("<actions>");
        xml.push_str(&actions.concat());
        xml.push_str("</actions>");
    }
    xml.push_str("</toast>");
    xml
}

/// Whether Windows may be handed `link` to open: the schemes the link gate lets through
/// (`dialtone_core::link`), checked again here because a protocol button launches any scheme
/// (`file:`, `ms-settings:`, another app's) without asking.
fn opens_safely(link: &str) -> bool {
    let lower = link.to_ascii_lowercase();
    (lower.starts_with("https://") && link.len() > "https://".len()) || lower.starts_with("tel:+")
}

/// `text` as XML character data or a double-quoted attribute value: the five markup
/// characters as entities, and the characters XML 1.0 forbids (most C0 controls, U+FFFE,
/// U+FFFF) dropped, since one of them would make the whole toast unparseable.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channels_become_protocol_buttons_in_order() {
        let xml = toast_xml(
            "1&1 telephony is down",
            "Your internet works.",
            [
                ("Open 1&1 on X", "https://x.com/1und1"),
                ("Open status page", "https://status.example.net/"),
            ],
        );
        assert_eq!(
            xml,
            "<toast><visual><binding template=\"ToastGeneric\">\
             <text>1&amp;1 telephony is down</text><text>Your internet works.</text>\
             </binding></visual><actions>\
             <action content=\"Open 1&amp;1 on X\" activationType=\"protocol\" \
             arguments=\"https://x.com/1und1\"/>\
             <action content=\"Open status page\" activationType=\"protocol\" \
             arguments=\"https://status.example.net/\"/>\
             </actions></toast>"
        );
    }

    #[test]
    fn no_buttons_no_actions_element() {
        let xml = toast_xml("Back", "It lasted 5 min.", []);
        assert!(!xml.contains("<actions"), "{xml}");
        assert!(xml.ends_with("</visual></toast>"), "{xml}");
    }

    #[test]
    fn hostile_text_stays_text() {
        // A feed title that tries to close the text, add its own button or break the document.
        let title = "Wartung</text></binding></visual><actions><action content=\"x\" \
                     activationType=\"protocol\" arguments=\"file:///C:/evil.exe\"/></actions>";
        let xml = toast_xml(
            "x",
            &format!("status: {title}\u{0}\u{1b}\u{FFFF}'"),
            [("a\"b' <c>", "https://x.com/a?b=1&c=\"2\"")],
        );
        assert_eq!(xml.matches("<action ").count(), 1, "{xml}");
        assert_eq!(xml.matches("<text>").count(), 2, "{xml}");
        // The hostile button is text, never an attribute Windows would act on.
        assert!(!xml.contains("arguments=\"file:"), "{xml}");
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{1b}') && !xml.contains('\u{FFFF}'));
        assert!(
            xml.contains("content=\"a&quot;b&apos; &lt;c&gt;\""),
            "{xml}"
        );
        assert!(
            xml.contains("arguments=\"https://x.com/a?b=1&amp;c=&quot;2&quot;\""),
            "{xml}"
        );
        assert!(xml.contains("&lt;/text&gt;&lt;/binding&gt;"), "{xml}");
        assert!(xml.contains("&apos;</text>"), "{xml}");
        // Tabs and line breaks are text and stay.
        assert!(toast_xml("a", "b\nc\td", []).contains("<text>b\nc\td</text>"));
    }

    #[test]
    fn only_https_and_phone_links_become_buttons() {
        let xml = toast_xml(
            "s",
            "b",
            [
                ("web", "http://x.com/1und1"),
                ("file", "file:///C:/Windows/System32/calc.exe"),
                ("settings", "ms-settings:privacy"),
                ("script", "javascript:alert(1)"),
                ("empty", "https://"),
                ("phone", "tel:+4972196000"),
                ("x", "HTTPS://x.com/1und1"),
            ],
        );
        assert_eq!(xml.matches("<action ").count(), 2, "{xml}");
        assert!(xml.contains("arguments=\"tel:+4972196000\""), "{xml}");
        assert!(xml.contains("arguments=\"HTTPS://x.com/1und1\""), "{xml}");
    }

    #[test]
    fn at_most_five_buttons() {
        let links: Vec<(String, String)> = (0..8)
            .map(|i| (format!("b{i}"), format!("https://example.net/{i}")))
            .collect();
        let xml = toast_xml(
            "s",
            "b",
            links.iter().map(|(l, u)| (l.as_str(), u.as_str())),
        );
        assert_eq!(xml.matches("<action ").count(), MAX_BUTTONS, "{xml}");
        assert!(xml.contains("example.net/4") && !xml.contains("example.net/5"));
    }
}
