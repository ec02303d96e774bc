//! The one rule for links dialtone hands to a browser or phone app: only `https` URLs and
//! international `tel:` numbers, and only those from the provider catalog or the user's own
//! settings.
//!
//! A status feed, a notification server, a D-Bus peer or a compromised page in the dashboard
//! can put text in front of us; none of it may become a command line or a
//! `file:`/`javascript:` URL. The catalog checks its entries with [`check_https`] and
//! [`check_tel`] when it loads; the tray and the dashboard let a link through only with
//! [`checked`], so a hotline that loads from `providers.toml` opens from both.

/// The longest link accepted (far above any real channel link; keeps hostile input small).
pub const MAX_URL: usize = 2048;

/// A link that passed [`checked`]: what the opener gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link(String);

impl Link {
    /// The URL to open (a `tel:` number without the spaces the catalog allows).
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
        /// The URL, cut to 200 characters.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
}

/// Checks that `url` is a well-formed https URL with a host and no credentials.
pub fn check_https(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL ({e})"))?;
    if parsed.scheme() != "https" {
        return Err(format!("`{url}` must use https, not `{}`", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("`{url}` must not carry credentials"));
    }
    Ok(parsed)
}

/// Checks that `url` is `tel:` followed by an international number: `+`, then digits, `-`
/// and spaces (the catalog allows spaces for readability: "+49 721 9600"), at least 4 digits.
pub fn check_tel(url: &str) -> Result<(), String> {
    let number = url
        .strip_prefix("tel:")
        .ok_or_else(|| format!("`{url}` must be a tel: URL, e.g. tel:+49800123456"))?;
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let shape_ok = number.starts_with('+')
        && number[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
        && digits >= 4
        && number.len() <= 40;
    if !shape_ok {
        return Err(format!(
            "`{url}` must be an international number such as tel:+49800123456"
        ));
    }
    Ok(())
}

/// Lets `url` through when it is exactly one of `allowed` (the catalog's and the user's links)
/// and is either a well-formed https URL without credentials, in canonical form, or a `tel:`
/// number as [`check_tel`] accepts it.
pub fn checked<'a>(
    url: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> Result<Link, LinkError> {
    let unsafe_ = |detail: String| LinkError::Unsafe {
        url: url.chars().take(200).collect(),
        detail,
    };
    if url.len() > MAX_URL {
        return Err(unsafe_("it is too long".into()));
    }
    if url.is_empty() || url.chars().any(char::is_control) {
        return Err(unsafe_("it is empty or contains control characters".into()));
    }
    let opened = if url.starts_with("tel:") {
        check_tel(url)
            .map_err(|_| unsafe_("a tel: link must be an international number".into()))?;
        // The phone app gets the number without spaces (RFC 3966 has none).
        url.replace(' ', "")
    } else {
        // Whitespace never belongs in a web link; refusing it outright also rules out argument
        // and header tricks in whatever handles the URL after us.
        if url.chars().any(char::is_whitespace) {
            return Err(unsafe_("it contains spaces".into()));
        }
        let parsed = check_https(url).map_err(unsafe_)?;
        // `Url` normalises (lower-cases the host, resolves `..`): compare what the browser will
        // see, so an allowed entry cannot be smuggled past in another spelling and vice versa.
        if parsed.as_str() != url && parsed.as_str() != format!("{url}/") {
            return Err(unsafe_("it is not in canonical form".into()));
        }
        url.to_string()
    };
    if !allowed.into_iter().any(|a| a == url) {
        return Err(LinkError::NotAllowed {
            url: url.chars().take(200).collect(),
        });
    }
    Ok(Link(opened))
}

/// Whether a feed post's `link` may be offered for opening: only on the feed's own host or on
/// the host of one of the provider's `channels` (its catalog or user links). A feed item may
/// point anywhere, and a spoofed or compromised feed must not make the dashboard a doorway to
/// any https site.
pub fn post_link_vouched_for<'a>(
    link: &str,
    feed: &str,
    channels: impl IntoIterator<Item = &'a str>,
) -> bool {
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .filter(|h| !h.is_empty())
    };
    let Some(post) = host(link) else {
        return false;
    };
    host(feed).as_deref() == Some(post.as_str())
        || channels
            .into_iter()
            .any(|c| host(c).as_deref() == Some(post.as_str()))
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
            "https://x.com/1und1/../../evil",
            "https://x.com/1und1?next=https://evil.example",
            "https://x.com@evil.example/1und1",
            "https://x.com/1und1 https://evil.example",
            "tel:+49721960000?body=x",
            "sms:+49721",
            "x.com/1und1",
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

    #[test]
    fn overlong_links_are_refused_before_parsing() {
        let long = format!("https://x.com/{}", "a".repeat(MAX_URL));
        let allowed = [long.as_str()];
        assert!(matches!(
            checked(&long, allowed),
            Err(LinkError::Unsafe { .. })
        ));
    }

    #[test]
    fn a_post_link_is_vouched_for_by_its_feed_or_a_channel_host_only() {
        let channels = [
            "https://x.com/1und1",
            "https://www.1und1.de/status",
            "tel:+49 721 96000",
        ];
        let feed = "https://status.1und1.de/history.rss";
        for (link, vouched) in [
            ("https://status.1und1.de/incidents/42", true),
            ("https://STATUS.1und1.de/incidents/42", true),
            ("https://www.1und1.de/news/2026", true),
            ("https://x.com/1und1/status/1", true),
            ("https://evil.example/1und1", false),
            ("https://status.1und1.de.evil.example/", false),
            ("not a url", false),
        ] {
            assert_eq!(
                post_link_vouched_for(link, feed, channels),
                vouched,
                "{link}"
            );
        }
    }
}
