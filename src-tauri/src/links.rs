//! Which links the dashboard will hand to the system browser or dialler.
//!
//! Two gates, both required: the URL must be `https:` (no credentials in it) or a plain `tel:`
//! number, **and** it must be one the agent listed (a channel of the provider, or a post of its
//! official feed). The second gate means a compromised page in the window cannot make the
//! dashboard open an arbitrary site, even an https one.

use crate::error::CommandError;
use url::Url;

/// The longest URL accepted (far above any real channel link; keeps hostile input small).
pub const MAX_URL: usize = 2048;

/// Checks `raw` against the scheme rules and against `allowed` (the agent's links); returns the
/// normalised URL to open.
pub fn validate<'a>(
    raw: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> Result<String, CommandError> {
    let refuse = |reason: &str| CommandError::LinkRefused {
        url: raw.chars().take(200).collect(),
        reason: reason.to_string(),
    };
    if raw.len() > MAX_URL {
        return Err(refuse("too long"));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse("contains whitespace or control characters"));
    }
    let url = Url::parse(raw).map_err(|_| refuse("not a URL"))?;
    match url.scheme() {
        "https" => {
            if !url.username().is_empty() || url.password().is_some() {
                return Err(refuse("credentials in the URL"));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err(refuse("no host"));
            }
        }
        "tel" => {
            let number = url.path();
            let plausible = !number.is_empty()
                && number.len() <= 32
                && number
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.'));
            if !plausible || url.query().is_some() || url.fragment().is_some() {
                return Err(refuse("not a plain phone number"));
            }
        }
        _ => return Err(refuse("only https: and tel: links are opened")),
    }
    let listed = allowed
        .into_iter()
        .filter_map(|a| Url::parse(a).ok())
        .any(|a| a == url);
    if !listed {
        return Err(refuse("not one of the provider's channels"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTED: [&str; 3] = [
        "https://x.com/1und1",
        "https://status.example.net/",
        "tel:+49-721-96000",
    ];

    fn ok(url: &str) -> bool {
        validate(url, LISTED).is_ok()
    }

    #[test]
    fn listed_https_and_tel_links_open() {
        assert!(ok("https://x.com/1und1"));
        // Normalisation: the same URL written with a default port or upper-case host.
        assert!(ok("https://STATUS.example.net:443/"));
        assert!(ok("tel:+49-721-96000"));
    }

    #[test]
    fn hostile_links_are_refused() {
        for hostile in [
            "http://x.com/1und1",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "https://evil.example/",
            "https://x.com/1und1/../../evil",
            "https://x.com/1und1?next=https://evil.example",
            "https://user:pw@x.com/1und1",
            "https://x.com@evil.example/1und1",
            "https://x.com/1und1 https://evil.example",
            "https://x.com/1und1\n",
            "tel:+49-721-96000;phone-context=evil",
            "tel:+49721960000?body=x",
            "sms:+49721",
            "",
            "x.com/1und1",
        ] {
            let result = validate(hostile, LISTED);
            assert!(
                matches!(result, Err(CommandError::LinkRefused { .. })),
                "{hostile:?} was {result:?}"
            );
        }
        let long = format!("https://x.com/{}", "a".repeat(MAX_URL));
        assert!(!ok(&long));
    }

    #[test]
    fn an_unlisted_but_well_formed_link_is_refused() {
        let result = validate("https://status.example.net/other", LISTED);
        match result {
            Err(CommandError::LinkRefused { reason, .. }) => {
                assert!(reason.contains("channels"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
