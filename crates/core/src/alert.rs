//! Alerts that leave the machine (issue 19): the `[[alert]]` targets and `[smtp]` of the
//! config, each target's URL parsed into a typed [`Target`], the one [`redact`] every shown URL
//! goes through, which confirmed changes a target hears of ([`select`]), and the documented
//! webhook body ([`AlertMessage`]). Pure: the engine delivers, [`crate::words`] words the text.

use crate::field_error::FieldError;
use crate::locale::Lang;
use crate::verdict::Verdict;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a target may ask to hear of (`events = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A confirmed change to provider_outage or internet_down.
    Outage,
    /// The line works again after something this target heard of.
    Recovery,
    /// A confirmed change to account_problem.
    Account,
    /// A confirmed change to degraded (slow, lossy): only when asked.
    Degraded,
    /// A confirmed change to local_problem (this computer or its network): only when asked,
    /// a laptop that leaves home must not wake anyone.
    Local,
}

impl EventKind {
    /// What a target hears of when it names nothing.
    pub const DEFAULT: [EventKind; 3] =
        [EventKind::Outage, EventKind::Recovery, EventKind::Account];

    /// The name in the config and in the webhook's `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Outage => "outage",
            EventKind::Recovery => "recovery",
            EventKind::Account => "account",
            EventKind::Degraded => "degraded",
            EventKind::Local => "local",
        }
    }

    /// The kind a bad verdict belongs to; `None` for working verdicts and unknown.
    pub fn of(verdict: Verdict) -> Option<EventKind> {
        match verdict {
            Verdict::ProviderOutage | Verdict::InternetDown => Some(EventKind::Outage),
            Verdict::AccountProblem => Some(EventKind::Account),
            Verdict::Degraded => Some(EventKind::Degraded),
            Verdict::LocalProblem => Some(EventKind::Local),
            Verdict::Healthy | Verdict::Unknown => None,
        }
    }
}

/// One `[[alert]]` table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Where to: `ntfy://` / `ntfys://HOST/TOPIC`, `mailto:ADDR`, `http(s)://…` (webhook),
    /// `apprise:ANY-APPRISE-URL`.
    pub url: String,
    /// The language of this target's text; default the config's.
    pub lang: Option<Lang>,
    /// How the line is named to this target; default the line's own label.
    pub label: Option<String>,
    /// What it hears of; default [`EventKind::DEFAULT`].
    pub events: Option<Vec<EventKind>>,
    /// The environment variable holding an access token (ntfy: sent as `Bearer`; webhook:
    /// the same header).
    pub token_env: Option<String>,
    /// The token itself: accepted only from a config file readable by its owner alone.
    pub token: Option<String>,
    /// At most this many alerts per hour to this target (default 5); past it one "unstable"
    /// alert, and the latest change once the hour has room again.
    pub per_hour: Option<u32>,
}

/// How the SMTP connection is secured (`[smtp] security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic): port 587.
    #[default]
    Starttls,
    /// Implicit TLS: port 465.
    Tls,
    /// No encryption: only for a relay on this machine or the LAN.
    None,
}

/// The mail server `mailto:` targets go through (`[smtp]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's name or address.
    pub host: String,
    /// Its port; default by `security` (587, 465, 25).
    pub port: Option<u16>,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// The login; none means no AUTH.
    pub user: Option<String>,
    /// The environment variable holding the password; else the keyring entry `smtp:USER@HOST`.
    pub password_env: Option<String>,
    /// The password itself: accepted only from a config file readable by its owner alone.
    pub password: Option<String>,
    /// The sender, `Name <addr>` or `addr`; default the user.
    pub from: Option<String>,
    /// A PEM file with a CA to trust besides the public ones (a self-hosted server).
    pub ca_file: Option<std::path::PathBuf>,
}

impl SmtpConfig {
    /// The port, defaulted by the security.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), FieldError> {
        let host = self.host.trim();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new("host", "needs the mail server's name"));
        }
        if self.port == Some(0) {
            return Err(FieldError::new("port", "must be 1 to 65535"));
        }
        if let Some(var) = &self.password_env {
            if var.is_empty() || var.contains('=') || var.contains('\0') {
                return Err(FieldError::new("password_env", "not a variable name"));
            }
        }
        let from = self.from.as_deref().or(self.user.as_deref());
        match from {
            Some(from) if mail_address(from).is_some() => Ok(()),
            Some(_) => Err(FieldError::new(
                if self.from.is_some() { "from" } else { "user" },
                "not an e-mail address (`name@domain` or `Name <name@domain>`)",
            )),
            None => Err(FieldError::new("from", "needs the sender's address")),
        }
    }
}

/// The bare address of `Name <a@b>` or `a@b`, when it looks like one.
fn mail_address(text: &str) -> Option<&str> {
    let text = text.trim();
    let addr = match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => &text[open + 1..text.len() - 1],
        _ => text,
    };
    let (local, domain) = addr.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.') | (domain == "localhost")
        && !addr
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<');
    ok.then_some(addr)
}

/// A target's URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// ntfy: `server` is `http(s)://HOST[:PORT]`, the message goes to `server/topic`.
    Ntfy {
        /// The server's base URL.
        server: url::Url,
        /// The topic (a secret on a public server: anyone who knows it reads along).
        topic: String,
    },
    /// E-mail to this address through `[smtp]`.
    Mail {
        /// The recipient.
        to: String,
    },
    /// A POST of [`AlertMessage`] as JSON.
    Webhook {
        /// Where.
        url: url::Url,
    },
    /// The `apprise` command with this URL (`tgram://…`, `matrix://…`, …).
    Apprise {
        /// The Apprise URL, which usually carries its service's token: either in itself, or
        /// as the placeholder [`TOKEN_PLACEHOLDER`] that the target's token replaces when it
        /// is sent (so the token can live in the keyring or the environment).
        url: String,
    },
}

impl Target {
    /// Parses a target URL (the key is `url` for the caller to place).
    pub fn parse(text: &str) -> Result<Target, FieldError> {
        let text = text.trim();
        let bad = |why: &str| FieldError::new("url", why.to_string());
        if text.chars().any(char::is_control) {
            return Err(bad("has control characters"));
        }
        if let Some(rest) = text.strip_prefix("apprise:") {
            let rest = rest.trim_start_matches("//");
            if !rest.contains("://") || rest.starts_with("-") {
                return Err(bad(
                    "apprise: must be followed by an Apprise URL (e.g. apprise:tgram://TOKEN/CHAT)",
                ));
            }
            return Ok(Target::Apprise {
                url: rest.to_string(),
            });
        }
        if let Some(to) = text.strip_prefix("mailto:") {
            return match mail_address(to) {
                Some(addr) if addr == to.trim() && !to.contains('?') => Ok(Target::Mail {
                    to: addr.to_string(),
                }),
                _ => Err(bad("mailto: needs one address, e.g. mailto:me@example.org")),
            };
        }
        let url = url::Url::parse(text)
            .map_err(|e| FieldError::new("url", format!("{} is not a URL ({e})", redact(text))))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("needs a host"));
        }
        match url.scheme() {
            "ntfy" | "ntfys" => {
                let topic = url.path().trim_matches('/');
                if topic.is_empty() || topic.contains('/') || url.query().is_some() {
                    return Err(bad("ntfy needs exactly one topic: ntfys://HOST/TOPIC"));
                }
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(bad(
                        "no user or password in an ntfy URL: put the token in token_env or the keyring",
                    ));
                }
                let scheme = if url.scheme() == "ntfys" {
                    "https"
                } else {
                    "http"
                };
                let host = url.host_str().unwrap_or_default();
                let server = match url.port() {
                    Some(port) => format!("{scheme}://{}:{port}/", bracket(host)),
                    None => format!("{scheme}://{}/", bracket(host)),
                };
                let server = url::Url::parse(&server).map_err(|e| bad(&e.to_string()))?;
                Ok(Target::Ntfy {
                    server,
                    topic: topic.to_string(),
                })
            }
            "http" | "https" => Ok(Target::Webhook { url }),
            _ => Err(bad(
                "unknown kind of target: use ntfy(s)://, mailto:, http(s):// or apprise:",
            )),
        }
    }

    /// The kind's name, for `alert list` and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Ntfy { .. } => "ntfy",
            Target::Mail { .. } => "email",
            Target::Webhook { .. } => "webhook",
            Target::Apprise { .. } => "apprise",
        }
    }
}

/// An IPv6 host as a URL writes it.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A target URL as it may be shown anywhere (logs, CLI, dashboard, IPC, metrics): the kind and
/// the host stay, everything that may be a secret goes — user, password, path (an ntfy topic,
/// a webhook id), query, fragment, an Apprise URL's tokens, a mail address's local part.
pub fn redact(text: &str) -> String {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("apprise:") {
        let rest = rest.trim_start_matches("//");
        return match rest.split_once("://") {
            Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphanumeric()) => {
                format!("apprise:{scheme}://***")
            }
            _ => "apprise:***".to_string(),
        };
    }
    if let Some(to) = text.strip_prefix("mailto:") {
        return match to.rsplit_once('@') {
            Some((_, domain)) if !domain.contains(['?', '/', ' ']) => {
                format!("mailto:***@{domain}")
            }
            _ => "mailto:***".to_string(),
        };
    }
    match url::Url::parse(text) {
        Ok(url) if url.host_str().is_some() => {
            let host = bracket(url.host_str().unwrap_or_default());
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = if url.path().trim_matches('/').is_empty() && url.query().is_none() {
                ""
            } else {
                "/***"
            };
            format!("{}://{host}{port}{path}", url.scheme())
        }
        _ => "***".to_string(),
    }
}

/// The placeholder in an Apprise URL that the target's token (`token_env`, `token`, or the
/// keyring) replaces when the alert is sent: `apprise:tgram://{token}/CHATID`. Apprise URLs
/// put their secret anywhere (a host, a user, a path segment), so the user marks the spot.
pub const TOKEN_PLACEHOLDER: &str = "{token}";

/// One `[[alert]]` table, checked: its parsed target and what it hears of.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertTarget {
    /// The URL as configured (a secret: show [`AlertTarget::shown`]).
    pub url: String,
    /// Parsed.
    pub target: Target,
    /// Its language, when it has one of its own.
    pub lang: Option<Lang>,
    /// How it names the line, when it has a name of its own.
    pub label: Option<String>,
    /// What it hears of.
    pub events: Vec<EventKind>,
    /// Its token's variable, if any.
    pub token_env: Option<String>,
    /// Its token from the config, if any.
    pub token: Option<crate::secret::Secret>,
    /// Its own hourly limit, if any.
    pub per_hour: Option<u32>,
}

impl AlertTarget {
    /// Checks one `[[alert]]` table.
    pub fn from_config(config: &AlertConfig) -> Result<AlertTarget, FieldError> {
        let target = Target::parse(&config.url)?;
        if let Some(label) = &config.label {
            if label.trim().is_empty()
                || label.chars().count() > 64
                || label.chars().any(char::is_control)
            {
                return Err(FieldError::new(
                    "label",
                    "1 to 64 characters, no control characters",
                ));
            }
        }
        let events = config
            .events
            .clone()
            .unwrap_or_else(|| EventKind::DEFAULT.to_vec());
        if events.is_empty() {
            return Err(FieldError::new(
                "events",
                "names nothing: leave it out for outage, recovery and account",
            ));
        }
        if config.per_hour == Some(0) {
            return Err(FieldError::new(
                "per_hour",
                "must be at least 1 (remove the target to send nothing)",
            ));
        }
        if let Some(var) = &config.token_env {
            if var.is_empty() || var.contains('=') || var.contains('\0') {
                return Err(FieldError::new("token_env", "not a variable name"));
            }
        }
        Ok(AlertTarget {
            url: config.url.trim().to_string(),
            target,
            lang: config.lang,
            label: config.label.clone(),
            events,
            token_env: config.token_env.clone(),
            token: config.token.clone().map(crate::secret::Secret::new),
            per_hour: config.per_hour,
        })
    }

    /// A target from `--alert URL`: the default events, the config's language.
    pub fn from_flag(url: &str) -> Result<AlertTarget, FieldError> {
        AlertTarget::from_config(&AlertConfig {
            url: url.to_string(),
            ..AlertConfig::default()
        })
    }

    /// Whether a token means anything to this target: sent as `Authorization: Bearer` (ntfy,
    /// a webhook) or put in place of [`TOKEN_PLACEHOLDER`] (an Apprise URL that has it). An
    /// e-mail target's secret is the `[smtp]` password instead.
    pub fn takes_token(&self) -> bool {
        match &self.target {
            Target::Ntfy { .. } | Target::Webhook { .. } => true,
            Target::Apprise { url } => url.contains(TOKEN_PLACEHOLDER),
            Target::Mail { .. } => false,
        }
    }

    /// Whether it cannot be sent without a token: an Apprise URL with [`TOKEN_PLACEHOLDER`].
    pub fn needs_token(&self) -> bool {
        matches!(&self.target, Target::Apprise { url } if url.contains(TOKEN_PLACEHOLDER))
    }

    /// The URL as it may be shown.
    pub fn shown(&self) -> String {
        redact(&self.url)
    }

    /// Whether the URL itself carries something secret, so that the file it comes from must be
    /// readable by its owner alone: an Apprise URL's tokens (unless they were moved out into
    /// [`TOKEN_PLACEHOLDER`]), a user or password, an ntfy topic (on a public server the topic
    /// is the only key), a webhook's path or query.
    pub fn carries_secret(&self) -> bool {
        if self.token.is_some() {
            return true;
        }
        match &self.target {
            Target::Mail { .. } => false,
            Target::Ntfy { .. } => true,
            Target::Apprise { url } => !url.contains(TOKEN_PLACEHOLDER),
            Target::Webhook { url } => {
                !url.username().is_empty()
                    || url.password().is_some()
                    || url.query().is_some()
                    || !url.path().trim_matches('/').is_empty()
            }
        }
    }
}

/// What a confirmed change to `to` means to a target that hears of `wanted`; `None` when it
/// stays silent. `alerted` is the bad verdict this target was last told of and not yet told
/// the end of (a recovery is only news after an alert; the same verdict twice is not news).
/// Never for unknown: nobody knows the line's state then, and a pause or sleep must not page
/// anyone.
pub fn select(to: Verdict, wanted: &[EventKind], alerted: Option<Verdict>) -> Option<EventKind> {
    let recovery = || {
        (alerted.is_some() && wanted.contains(&EventKind::Recovery)).then_some(EventKind::Recovery)
    };
    match EventKind::of(to) {
        _ if to == Verdict::Unknown => None,
        None => recovery(),
        // Degraded after an outage is the line working again.
        Some(EventKind::Degraded) if alerted.is_some_and(|v| v != Verdict::Degraded) => recovery(),
        Some(kind) => (wanted.contains(&kind) && alerted != Some(to)).then_some(kind),
    }
}

/// The bad verdict a target counts as told of after a change to `to` of which it was told
/// `sent` (see [`select`]): a working line ends the story, told or not; a bad state the target
/// did not ask for leaves what it was told standing (the line may still be down).
pub fn alerted_after(
    alerted: Option<Verdict>,
    to: Verdict,
    sent: Option<EventKind>,
) -> Option<Verdict> {
    match sent {
        Some(EventKind::Recovery) => None,
        Some(_) => Some(to),
        None if to == Verdict::Healthy => None,
        None if to == Verdict::Degraded && alerted != Some(Verdict::Degraded) => None,
        None => alerted,
    }
}

/// A link the alert offers (the provider's official channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLink {
    /// The button's words ("1&1 on X").
    pub label: String,
    /// An https link from the catalog.
    pub url: String,
}

/// The provider's latest official post, when fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostLink {
    /// Its title.
    pub title: String,
    /// When it was published.
    pub published: Option<DateTime<Utc>>,
    /// A link to it.
    pub url: Option<String>,
}

/// One alert as every transport sends it; serialized, it is the webhook's documented body:
/// `{"event","line","verdict","previous","since","until","duration_s","headline","reason",
/// "lang","channels":[{"label","url"}],"post"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// `outage`, `recovery`, `account`, `degraded`, `local`, `unstable` or `test`.
    pub event: String,
    /// The line's label (the target's own name for it when it has one).
    pub line: String,
    /// The verdict now (`provider_outage`, …).
    pub verdict: Verdict,
    /// The verdict before.
    pub previous: Verdict,
    /// When the bad state began (an outage, or for a recovery the outage it ends).
    pub since: DateTime<Utc>,
    /// When it ended: set for a recovery.
    pub until: Option<DateTime<Utc>>,
    /// How long it lasted, for a recovery.
    pub duration_s: Option<i64>,
    /// The headline (an e-mail's subject, an ntfy title).
    pub headline: String,
    /// The plain reason, with the times in the line's own words.
    pub reason: String,
    /// `en` or `de`.
    pub lang: Lang,
    /// The provider's official channels, X first, then the status page.
    pub channels: Vec<ChannelLink>,
    /// The provider's latest official post, when there is a fresh one.
    pub post: Option<PostLink>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_typed_targets() {
        let ntfy = Target::parse("ntfys://ntfy.sh/my-line-7f3k").unwrap();
        assert_eq!(
            ntfy,
            Target::Ntfy {
                server: url::Url::parse("https://ntfy.sh/").unwrap(),
                topic: "my-line-7f3k".into()
            }
        );
        let plain = Target::parse("ntfy://127.0.0.1:8080/t").unwrap();
        assert!(
            matches!(plain, Target::Ntfy { server, .. } if server.as_str() == "http://127.0.0.1:8080/")
        );
        assert_eq!(
            Target::parse("mailto:me@example.org").unwrap(),
            Target::Mail {
                to: "me@example.org".into()
            }
        );
        assert!(matches!(
            Target::parse("http://ha.lan:8123/api/webhook/x").unwrap(),
            Target::Webhook { .. }
        ));
        assert_eq!(
            Target::parse("apprise:tgram://BOT/CHAT").unwrap(),
            Target::Apprise {
                url: "tgram://BOT/CHAT".into()
            }
        );
        for bad in [
            "ftp://x/y",
            "ntfys://ntfy.sh/",
            "ntfys://u:p@ntfy.sh/t",
            "mailto:nobody",
            "apprise:",
            "apprise:--config=x",
            "not a url",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.key, "url", "{bad}");
        }
    }

    #[test]
    fn which_targets_take_a_token_and_which_urls_stay_secret_without_one() {
        let target = |url: &str| AlertTarget::from_flag(url).unwrap();
        let ntfy = target("ntfys://ntfy.sh/topic");
        assert!(ntfy.takes_token() && !ntfy.needs_token() && ntfy.carries_secret());
        let hook = target("http://192.168.1.2:8123/");
        assert!(hook.takes_token() && !hook.needs_token() && !hook.carries_secret());
        let mail = target("mailto:me@example.org");
        assert!(!mail.takes_token() && !mail.needs_token());
        // An Apprise URL with its token inside is a secret; with the token moved out into the
        // placeholder it is not, and it cannot be sent without one.
        let inline = target("apprise:tgram://BOTTOKEN/CHATID");
        assert!(!inline.takes_token() && inline.carries_secret());
        let moved = target("apprise:tgram://{token}/CHATID");
        assert!(moved.takes_token() && moved.needs_token() && !moved.carries_secret());
        assert_eq!(moved.shown(), "apprise:tgram://***");
    }

    #[test]
    fn redaction_keeps_kind_and_host_only() {
        let cases = [
            ("ntfys://ntfy.sh/my-line-7f3k", "ntfys://ntfy.sh/***"),
            (
                "https://user:pw@hooks.example.org/dialtone?key=abc",
                "https://hooks.example.org/***",
            ),
            ("http://127.0.0.1:8123/", "http://127.0.0.1:8123"),
            ("mailto:me@example.org", "mailto:***@example.org"),
            ("apprise:tgram://BOTTOKEN/CHATID", "apprise:tgram://***"),
            ("apprise:json://127.0.0.1:9/x", "apprise:json://***"),
            ("garbage secret", "***"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown);
        }
        for secret in ["my-line-7f3k", "BOTTOKEN", "pw", "key=abc", "me@"] {
            for (url, _) in cases {
                assert!(!redact(url).contains(secret), "{url}");
            }
        }
    }

    #[test]
    fn only_confirmed_bad_verdicts_the_target_asked_for_alert() {
        use Verdict::*;
        let d = &EventKind::DEFAULT;
        assert_eq!(select(ProviderOutage, d, None), Some(EventKind::Outage));
        assert_eq!(select(InternetDown, d, None), Some(EventKind::Outage));
        assert_eq!(select(AccountProblem, d, None), Some(EventKind::Account));
        assert_eq!(select(LocalProblem, d, None), None);
        assert_eq!(select(Degraded, d, None), None);
        assert_eq!(select(Unknown, d, Some(ProviderOutage)), None);
        assert_eq!(select(Unknown, d, None), None);
        // The same outage again (a restart during it) is not news.
        assert_eq!(select(ProviderOutage, d, Some(ProviderOutage)), None);
        // Recovery only after an alert.
        assert_eq!(
            select(Healthy, d, Some(ProviderOutage)),
            Some(EventKind::Recovery)
        );
        assert_eq!(
            select(Degraded, d, Some(InternetDown)),
            Some(EventKind::Recovery)
        );
        assert_eq!(select(Healthy, d, None), None);
        // Asked for.
        let all = [
            EventKind::Outage,
            EventKind::Recovery,
            EventKind::Local,
            EventKind::Degraded,
        ];
        assert_eq!(select(LocalProblem, &all, None), Some(EventKind::Local));
        assert_eq!(select(Degraded, &all, None), Some(EventKind::Degraded));
        assert_eq!(
            select(Healthy, &all, Some(Degraded)),
            Some(EventKind::Recovery)
        );
        // Provider outage → internet down: the kind of outage changed, said again.
        assert_eq!(
            select(InternetDown, d, Some(ProviderOutage)),
            Some(EventKind::Outage)
        );
        // What counts as told.
        assert_eq!(
            alerted_after(None, ProviderOutage, Some(EventKind::Outage)),
            Some(ProviderOutage)
        );
        assert_eq!(
            alerted_after(Some(ProviderOutage), Healthy, Some(EventKind::Recovery)),
            None
        );
        assert_eq!(
            alerted_after(Some(ProviderOutage), LocalProblem, None),
            Some(ProviderOutage)
        );
        assert_eq!(
            alerted_after(Some(ProviderOutage), Unknown, None),
            Some(ProviderOutage)
        );
        assert_eq!(alerted_after(Some(ProviderOutage), Healthy, None), None);
    }

    #[test]
    fn smtp_and_target_tables_name_the_bad_key() {
        let smtp = SmtpConfig {
            host: "smtp.example.org".into(),
            user: Some("me@example.org".into()),
            ..SmtpConfig::default()
        };
        assert!(smtp.validate().is_ok());
        assert_eq!(smtp.port(), 587);
        let e = SmtpConfig {
            host: String::new(),
            ..smtp.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.key, "host");
        let e = SmtpConfig {
            from: Some("nobody".into()),
            ..smtp
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.key, "from");
        let e = AlertTarget::from_config(&AlertConfig {
            url: "mailto:a@b.org".into(),
            events: Some(vec![]),
            ..AlertConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.key, "events");
        let t = AlertTarget::from_flag("ntfys://ntfy.sh/x").unwrap();
        assert!(t.carries_secret());
        assert_eq!(t.events, EventKind::DEFAULT.to_vec());
        assert!(!AlertTarget::from_flag("mailto:a@b.org")
            .unwrap()
            .carries_secret());
    }
}
