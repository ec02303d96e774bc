//! Which links the dashboard will hand to the system browser or dialler: exactly those the
//! tray would open. The rule is [`dialtone_core::link::checked`] (https without credentials or
//! an international `tel:` number, **and** one the agent listed: a channel of the provider or
//! a post of its official feed), so a compromised page in the window cannot make the dashboard
//! open an arbitrary site, even an https one.

use crate::error::CommandError;
use dialtone_core::link::{self, LinkError};

/// Checks `raw` against the one link rule and `allowed` (the agent's links); returns the URL
/// to open.
pub fn validate<'a>(
    raw: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> Result<String, CommandError> {
    link::checked(raw, allowed)
        .map(|link| link.as_str().to_string())
        .map_err(|e| CommandError::LinkRefused {
            url: raw.chars().take(200).collect(),
            reason: match e {
                LinkError::NotAllowed { .. } => "not one of the provider's channels".into(),
                LinkError::Unsafe { detail, .. } => detail,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTED: [&str; 4] = [
        "https://x.com/1und1",
        "https://status.example.net/",
        "tel:+49-721-96000",
        "tel:+49 721 96000",
    ];

    #[test]
    fn listed_links_open_a_hotline_with_spaces_too() {
        assert_eq!(
            validate("https://x.com/1und1", LISTED).ok().as_deref(),
            Some("https://x.com/1und1")
        );
        assert!(validate("tel:+49-721-96000", LISTED).is_ok());
        // The catalog writes hotlines with spaces; the tray opens them, so must the dashboard.
        assert_eq!(
            validate("tel:+49 721 96000", LISTED).ok().as_deref(),
            Some("tel:+4972196000")
        );
    }

    #[test]
    fn refusals_say_why() {
        match validate("https://status.example.net/other", LISTED) {
            Err(CommandError::LinkRefused { reason, .. }) => {
                assert!(reason.contains("channels"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        match validate("javascript:alert(1)", LISTED) {
            Err(CommandError::LinkRefused { reason, .. }) => {
                assert!(reason.contains("https"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
