//! Links the agent opens in the system browser (or phone app, for `tel:`): only `https` URLs
//! and hotline `tel:` numbers, and only those that come from the provider catalog or the
//! user's own settings.
//!
//! A status feed, a notification server or a D-Bus peer can put text in front of us; none of it
//! may become a command line or a `file:`/`javascript:` URL. [`checked`] is the one gate, a pure
//! function; [`open`] runs the opener only on what it let through.

use crate::catalog;
use std::process::{Command, Stdio};

/// Environment variable naming the program that opens links (default `xdg-open`); tests point
/// it at a script that records the URL.
pub const OPENER_ENV: &str = "DIALTONE_OPENER";

/// A link that passed [`checked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link(String);

impl Link {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The URL is not among the catalog's or the user's links.
    #[error(
        "refused to open {url:?}: it is not a link from the provider catalog or your settings"
    )]
    NotAllowed {
        /// The URL (shown to help debug a catalog entry; it is not a secret).
        url: String,
    },
    /// The URL is not https (or a `tel:` number), or is malformed.
    #[error("refused to open {url:?}: {detail}")]
    Unsafe {
        /// The URL.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The opener program could not be started.
    #[error("opening {url} with {opener}: {detail}")]
    Opener {
        /// The URL.
        url: String,
        /// The program.
        opener: String,
        /// The OS error.
        detail: String,
    },
}

/// Lets `url` through when it is exactly one of `allowed` (the catalog's and the user's links)
/// and is either a well-formed https URL without credentials or a `tel:` number.
pub fn checked<'a>(
    url: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> Result<Link, LinkError> {
    let unsafe_ = |detail: String| LinkError::Unsafe {
        url: url.to_string(),
        detail,
    };
    if url.is_empty() || url.chars().any(char::is_control) {
        return Err(unsafe_("it is empty or contains control characters".into()));
    }
    let opened = if let Some(number) = url.strip_prefix("tel:") {
        // The catalog allows spaces for readability ("+49 721 9600"); the phone app gets the
        // number without them (RFC 3966 has none).
        let shape_ok = number.starts_with('+')
            && number[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
            && number.chars().filter(char::is_ascii_digit).count() >= 4;
        if !shape_ok {
            return Err(unsafe_(
                "a tel: link must be an international number".into(),
            ));
        }
        url.replace(' ', "")
    } else {
        // Whitespace never belongs in a web link; refusing it outright also rules out argument
        // and header tricks in whatever handles the URL after us.
        if url.chars().any(char::is_whitespace) {
            return Err(unsafe_("it contains spaces".into()));
        }
        let parsed = catalog::check_https(url).map_err(unsafe_)?;
        // `Url` normalises (lower-cases the host, resolves `..`): compare what the browser will
        // see, so an allowed entry cannot be smuggled past in another spelling and vice versa.
        if parsed.as_str() != url && parsed.as_str() != format!("{url}/") {
            return Err(unsafe_("it is not in canonical form".into()));
        }
        url.to_string()
    };
    if !allowed.into_iter().any(|a| a == url) {
        return Err(LinkError::NotAllowed {
            url: url.to_string(),
        });
    }
    Ok(Link(opened))
}

/// Opens a checked link with `$DIALTONE_OPENER` or `xdg-open`, without waiting for it (a
/// browser start must never hold the tray or the notifier). The opener's own failure is its
/// business: it reports to the user itself.
pub fn open(link: &Link) -> Result<(), LinkError> {
    let opener = std::env::var(OPENER_ENV)
        .ok()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "xdg-open".to_string());
    let mut child = Command::new(&opener)
        .arg(link.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| LinkError::Opener {
            url: link.as_str().to_string(),
            opener: opener.clone(),
            detail: e.to_string(),
        })?;
    // Reap it in the background so no zombie stays behind.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: [&str; 5] = [
        "https://x.com/1und1",
        "https://status.example.net/",
        "tel:+49721-9600",
        "https://allestoerungen.de/stoerung/1und1/",
        "tel:+49 800 123 456",
    ];

    #[test]
    fn catalog_links_pass() {
        for url in &ALLOWED[..4] {
            assert_eq!(checked(url, ALLOWED).map(|l| l.0), Ok(url.to_string()));
        }
        // A hotline written with spaces is dialled without them.
        assert_eq!(
            checked("tel:+49 800 123 456", ALLOWED).map(|l| l.0),
            Ok("tel:+49800123456".to_string())
        );
    }

    #[test]
    fn hostile_links_are_refused() {
        let hostile = [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://x.com/1und1",
            "data:text/html,<script>alert(1)</script>",
            "https://user:pw@x.com/1und1",
            "https://x.com/1und1 --new-window",
            "https://x.com/1und1\n",
            "-https://x.com/1und1",
            "--help",
            "tel:+49721;phone-context=evil",
            "tel:0800 123",
            "tel:",
            "tel:+49 800 123 456\n",
            "tel:+1\u{7}23456",
            "tel:+12",
            "https://X.COM/1und1",
            "https://x.com/a/../1und1",
            "https://evil.example/",
            "https:x.com/1und1",
            "",
        ];
        for url in hostile {
            assert!(checked(url, ALLOWED).is_err(), "{url:?} passed");
        }
    }

    #[test]
    fn a_safe_url_outside_the_catalog_is_refused() {
        assert_eq!(
            checked("https://example.org/", ALLOWED),
            Err(LinkError::NotAllowed {
                url: "https://example.org/".into()
            })
        );
    }
}
