//! The provider catalog: who runs a SIP registrar, and where that provider talks about outages.
//!
//! A TOML file (`src/catalog/providers.toml`) is compiled in; the user's own `providers.toml`
//! (same format) replaces entries with the same `id` and adds new ones. Values that come only
//! from secondary sources carry `verified = false`, so presenters never show a guess as a fact.

use crate::config::Config;
use crate::link::{check_https, check_tel};
use crate::locale::Lang;
use crate::observation::Transport;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

/// The compiled-in catalog source.
pub const BUILTIN_TOML: &str = include_str!("catalog/providers.toml");

/// How the built-in file is named in error messages.
pub const BUILTIN_NAME: &str = "built-in providers.toml";

/// The id of the catch-all entry for providers the catalog does not know.
pub const CUSTOM_ID: &str = "custom";

/// The name of the user's own catalog file in dialtone's config dir.
pub const USER_FILE_NAME: &str = "providers.toml";

/// Why a catalog could not be loaded. Every variant names the file, and the entry where there is one.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The user's catalog file exists but could not be read.
    #[error("reading the provider catalog {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the catalog format.
    #[error("parsing the provider catalog {file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's words (with line and column).
        message: String,
    },
    /// One entry breaks a rule (bad URL, duplicate id, a SIP domain claimed twice, ...).
    #[error("provider catalog {file}, entry `{id}`: {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// The entry's id.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// A value with a marker saying whether it was confirmed by a first-party or official source.
///
/// In TOML either a plain value (confirmed) or `{ value = ..., verified = false, note = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ClaimedRepr<T>")]
pub struct Claimed<T> {
    /// The value.
    pub value: T,
    /// Whether it is confirmed; `false` means "from a secondary source, may be wrong".
    pub verified: bool,
    /// Why it is (un)confirmed, or any other caveat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ClaimedRepr<T> {
    Plain(T),
    Marked {
        value: T,
        #[serde(default = "confirmed")]
        verified: bool,
        #[serde(default)]
        note: Option<String>,
    },
}

fn confirmed() -> bool {
    true
}

impl<T> From<ClaimedRepr<T>> for Claimed<T> {
    fn from(repr: ClaimedRepr<T>) -> Self {
        match repr {
            ClaimedRepr::Plain(value) => Claimed {
                value,
                verified: true,
                note: None,
            },
            ClaimedRepr::Marked {
                value,
                verified,
                note,
            } => Claimed {
                value,
                verified,
                note,
            },
        }
    }
}

/// Where a person finds the provider's word on an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// An X (Twitter) account.
    X,
    /// A Mastodon account.
    Mastodon,
    /// A status page for humans.
    StatusPage,
    /// A blog or news page.
    Blog,
    /// A phone hotline (`tel:` URL).
    Hotline,
    /// The provider's website or customer portal.
    Website,
    /// A crowd outage page (not official; users also blame their provider for others' outages).
    Crowd,
}

impl ChannelKind {
    /// The snake_case name used in TOML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::X => "x",
            ChannelKind::Mastodon => "mastodon",
            ChannelKind::StatusPage => "status_page",
            ChannelKind::Blog => "blog",
            ChannelKind::Hotline => "hotline",
            ChannelKind::Website => "website",
            ChannelKind::Crowd => "crowd",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One channel: a link (https, or `tel:` for hotlines) with a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// What kind of channel.
    pub kind: ChannelKind,
    /// What the user sees on the button (English, and the fallback for every language).
    pub label: String,
    /// The label in German, when it differs ("1&1 auf X (@1und1)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_de: Option<String>,
    /// `https://...`, or `tel:+49...` for a hotline.
    pub url: String,
    /// Whether the link is confirmed.
    #[serde(default = "confirmed")]
    pub verified: bool,
    /// A caveat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Channel {
    /// The label in `lang`: the German one when there is one, else the English.
    pub fn label_in(&self, lang: Lang) -> &str {
        match (lang, &self.label_de) {
            (Lang::De, Some(de)) => de,
            _ => &self.label,
        }
    }
}

/// The machine-readable feed formats dialtone polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// An Atlassian Statuspage base URL (`/api/v2/status.json` and friends are appended).
    Statuspage,
    /// An RSS 2.0 feed.
    Rss,
    /// An Atom feed.
    Atom,
}

/// One official status feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// The format.
    pub kind: FeedKind,
    /// The https URL.
    pub url: String,
    /// Whether the feed is confirmed to be the provider's own.
    #[serde(default = "confirmed")]
    pub verified: bool,
}

/// A SIP registrar or outbound proxy host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registrar {
    /// Host name; `*.example.net` stands for any subdomain (regional registrars).
    pub host: String,
    /// Port, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Transport on that port, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Whether the host is confirmed.
    #[serde(default = "confirmed")]
    pub verified: bool,
    /// A caveat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Stable id (lowercase letters, digits, `-`), used in the config file.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO 3166 country code, when the provider is national.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// SIP domains / realms (any host under them belongs to this provider).
    #[serde(default)]
    pub sip_domains: Vec<Claimed<String>>,
    /// Registrar and proxy hosts.
    #[serde(default)]
    pub registrars: Vec<Registrar>,
    /// STUN servers.
    #[serde(default)]
    pub stun: Vec<Claimed<String>>,
    /// Whether the provider is usually also the customer's internet provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_isp: Option<Claimed<bool>>,
    /// The transport the provider expects by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_transport: Option<Claimed<Transport>>,
    /// Where the provider talks about outages.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Machine-readable status feeds.
    #[serde(default)]
    pub feeds: Vec<Feed>,
    /// Free-text caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Provider {
    /// Whether every value in this entry is confirmed.
    pub fn fully_verified(&self) -> bool {
        self.sip_domains.iter().all(|d| d.verified)
            && self.registrars.iter().all(|r| r.verified)
            && self.stun.iter().all(|s| s.verified)
            && self.also_isp.as_ref().is_none_or(|v| v.verified)
            && self.default_transport.as_ref().is_none_or(|v| v.verified)
            && self.channels.iter().all(|c| c.verified)
            && self.feeds.iter().all(|f| f.verified)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    provider: Vec<Provider>,
}

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The compiled-in catalog.
    Builtin,
    /// The user's file.
    User,
}

/// The merged catalog, in the built-in order followed by the user's additions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    providers: Vec<Provider>,
    origins: Vec<Origin>,
    /// Which file each entry was loaded from (for error messages).
    #[serde(skip)]
    files: Vec<String>,
}

impl Catalog {
    /// The built-in catalog alone.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::from_sources(BUILTIN_TOML, None)
    }

    /// The built-in catalog merged with the user's file `user_file`, read with `read` (the
    /// caller's I/O: `std::fs::read_to_string`). A missing file is not an error (most users
    /// have none).
    pub fn load_with(
        user_file: Option<&Path>,
        read: impl FnOnce(&Path) -> std::io::Result<String>,
    ) -> Result<Catalog, CatalogError> {
        let user = match user_file {
            Some(path) => match read(path) {
                Ok(text) => Some((path.display().to_string(), text)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(CatalogError::Read {
                        file: path.display().to_string(),
                        source,
                    })
                }
            },
            None => None,
        };
        Catalog::from_sources(
            BUILTIN_TOML,
            user.as_ref()
                .map(|(name, text)| (name.as_str(), text.as_str())),
        )
    }

    /// Builds a catalog from a base TOML text (named [`BUILTIN_NAME`] in errors) and an optional
    /// user file `(name, text)`, then validates the result.
    pub fn from_sources(base: &str, user: Option<(&str, &str)>) -> Result<Catalog, CatalogError> {
        let base_entries = parse_file(BUILTIN_NAME, base)?;
        let mut catalog = Catalog {
            origins: vec![Origin::Builtin; base_entries.len()],
            files: vec![BUILTIN_NAME.to_string(); base_entries.len()],
            providers: base_entries,
        };
        if let Some((name, text)) = user {
            for provider in parse_file(name, text)? {
                match catalog.providers.iter().position(|p| p.id == provider.id) {
                    Some(index) => {
                        catalog.providers[index] = provider;
                        catalog.origins[index] = Origin::User;
                        catalog.files[index] = name.to_string();
                    }
                    None => {
                        catalog.providers.push(provider);
                        catalog.origins.push(Origin::User);
                        catalog.files.push(name.to_string());
                    }
                }
            }
        }
        catalog.validate_domains()?;
        Ok(catalog)
    }

    /// Every provider, built-in order first.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// Where each provider came from (same order as [`Catalog::providers`]).
    pub fn origin(&self, id: &str) -> Option<&Origin> {
        self.providers
            .iter()
            .position(|p| p.id == id)
            .map(|i| &self.origins[i])
    }

    /// The provider with this id.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// A line's provider: the one `config` names, else the one its registrar belongs to.
    pub fn provider_of(&self, config: &Config) -> Option<&Provider> {
        config
            .provider
            .as_deref()
            .and_then(|id| self.get(id))
            .or_else(|| {
                config
                    .account
                    .as_ref()
                    .and_then(|a| self.find_by_domain(&a.registrar))
            })
    }

    /// Recognises the provider from a registrar or SIP domain as the user typed it
    /// (`sip.1und1.de`, `sip:alice@1und1.de;transport=tls`, `89.sip.arcor.de:5060`).
    ///
    /// Exact hosts win over wildcard registrars, which win over SIP-domain suffixes; among
    /// suffixes the longest wins.
    pub fn find_by_domain(&self, input: &str) -> Option<&Provider> {
        let host = normalize_host(input)?;
        let mut best: Option<(usize, &Provider)> = None;
        for provider in &self.providers {
            for pattern in domain_patterns(provider) {
                if let Some(score) = match_score(&pattern, &host) {
                    if best.is_none_or(|(s, _)| score > s) {
                        best = Some((score, provider));
                    }
                }
            }
        }
        best.map(|(_, provider)| provider)
    }

    /// Checks that no SIP domain or registrar host is claimed by two providers.
    fn validate_domains(&self) -> Result<(), CatalogError> {
        let mut owners: BTreeMap<String, usize> = BTreeMap::new();
        for (index, provider) in self.providers.iter().enumerate() {
            let mut own = HashSet::new();
            for pattern in domain_patterns(provider) {
                let key = pattern.to_string();
                if !own.insert(key.clone()) {
                    continue;
                }
                if let Some(&other) = owners.get(&key) {
                    return Err(CatalogError::Invalid {
                        file: self.files[index].clone(),
                        id: provider.id.clone(),
                        problem: format!(
                            "SIP domain `{key}` is already claimed by `{}` ({})",
                            self.providers[other].id, self.files[other]
                        ),
                    });
                }
                owners.insert(key, index);
            }
        }
        Ok(())
    }
}

fn parse_file(name: &str, text: &str) -> Result<Vec<Provider>, CatalogError> {
    let file: CatalogFile = toml::from_str(text).map_err(|err| CatalogError::Parse {
        file: name.to_string(),
        message: err.to_string().trim_end().to_string(),
    })?;
    let mut seen = HashSet::new();
    for provider in &file.provider {
        let invalid = |problem: String| CatalogError::Invalid {
            file: name.to_string(),
            id: provider.id.clone(),
            problem,
        };
        if !seen.insert(provider.id.clone()) {
            return Err(invalid("the id appears twice in this file".into()));
        }
        validate_provider(provider).map_err(invalid)?;
    }
    Ok(file.provider)
}

fn validate_provider(provider: &Provider) -> Result<(), String> {
    let id_ok = !provider.id.is_empty()
        && provider
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err("the id must be lowercase letters, digits and `-`".into());
    }
    if provider.name.trim().is_empty() {
        return Err("the name is empty".into());
    }
    if let Some(country) = &provider.country {
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "country `{country}` is not a two-letter ISO code like `DE`"
            ));
        }
    }
    for domain in &provider.sip_domains {
        check_host(&domain.value, false).map_err(|e| format!("SIP domain: {e}"))?;
    }
    for registrar in &provider.registrars {
        check_host(&registrar.host, true).map_err(|e| format!("registrar: {e}"))?;
        if registrar.port == Some(0) {
            return Err(format!("registrar `{}`: port 0", registrar.host));
        }
    }
    for stun in &provider.stun {
        check_host(&stun.value, false).map_err(|e| format!("STUN server: {e}"))?;
    }
    for channel in &provider.channels {
        if channel.label.trim().is_empty() {
            return Err(format!("channel `{}` has an empty label", channel.url));
        }
        if channel
            .label_de
            .as_ref()
            .is_some_and(|l| l.trim().is_empty())
        {
            return Err(format!("channel `{}` has an empty label_de", channel.url));
        }
        let checked = if channel.kind == ChannelKind::Hotline {
            check_tel(&channel.url)
        } else {
            check_https(&channel.url).map(|_| ())
        };
        checked.map_err(|e| format!("channel `{}`: {e}", channel.label))?;
    }
    for feed in &provider.feeds {
        check_https(&feed.url).map_err(|e| format!("{:?} feed: {e}", feed.kind))?;
    }
    Ok(())
}

fn check_host(host: &str, allow_wildcard: bool) -> Result<(), String> {
    let rest = match host.strip_prefix("*.") {
        Some(rest) if allow_wildcard => rest,
        Some(_) => {
            return Err(format!(
                "`{host}`: wildcards are only allowed for registrars"
            ))
        }
        None => host,
    };
    let labels_ok = !rest.is_empty()
        && rest.len() <= 253
        && rest.split('.').count() >= 2
        && rest.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if labels_ok {
        Ok(())
    } else {
        Err(format!(
            "`{host}` is not a lowercase DNS name with at least two labels"
        ))
    }
}

/// A host pattern a provider claims.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DomainPattern {
    /// Exactly this host (registrars).
    Exact(String),
    /// Any strict subdomain of this host (`*.sip.arcor.de`).
    Wildcard(String),
    /// This host and anything under it (SIP domains).
    Domain(String),
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Exact(h) | DomainPattern::Domain(h) => f.write_str(h),
            DomainPattern::Wildcard(h) => write!(f, "*.{h}"),
        }
    }
}

fn domain_patterns(provider: &Provider) -> Vec<DomainPattern> {
    let registrars = provider
        .registrars
        .iter()
        .map(|r| match r.host.strip_prefix("*.") {
            Some(parent) => DomainPattern::Wildcard(parent.to_string()),
            None => DomainPattern::Exact(r.host.clone()),
        });
    let domains = provider
        .sip_domains
        .iter()
        .map(|d| DomainPattern::Domain(d.value.clone()));
    registrars.chain(domains).collect()
}

/// Higher is a more specific match; `None` when the pattern does not match.
fn match_score(pattern: &DomainPattern, host: &str) -> Option<usize> {
    let under = |parent: &str| {
        host.len() > parent.len() + 1
            && host.ends_with(parent)
            && host.as_bytes()[host.len() - parent.len() - 1] == b'.'
    };
    match pattern {
        // An exact registrar beats every suffix match.
        DomainPattern::Exact(h) if h == host => Some(3000),
        DomainPattern::Wildcard(parent) if under(parent) => Some(2000 + parent.len()),
        DomainPattern::Domain(d) if d == host || under(d) => Some(1000 + d.len()),
        _ => None,
    }
}

/// Reduces `sip:user@Host:5060;transport=udp` (or a bare host) to `host`.
fn normalize_host(input: &str) -> Option<String> {
    let mut rest = input.trim();
    for scheme in ["sips:", "sip:", "SIPS:", "SIP:"] {
        if let Some(stripped) = rest.strip_prefix(scheme) {
            rest = stripped;
            break;
        }
    }
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split([';', '?', '/', '>']).next().unwrap_or_default();
    let host = if rest.starts_with('[') {
        // An IPv6 literal never belongs to a catalog entry.
        return None;
    } else {
        rest.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        None
    } else {
        Some(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_sip_uris() {
        assert_eq!(
            normalize_host("sip:alice@SIP.1und1.de:5060;transport=udp").as_deref(),
            Some("sip.1und1.de")
        );
        assert_eq!(
            normalize_host("tel.t-online.de.").as_deref(),
            Some("tel.t-online.de")
        );
        assert_eq!(normalize_host("  "), None);
        assert_eq!(normalize_host("sip:[::1]:5060"), None);
    }
}
