//! The user's settings: a TOML file in the XDG config dir, overridable by CLI flags.
//!
//! Unknown keys and bad values are rejected with an error naming the key and the file.
//! The password is never stored here: see [`crate::secret`]. Reading and writing the file is
//! the agent's business; this module only parses text and validates values.

use crate::address::{self, Anchor, AnchorError};
use crate::diagnosis::Thresholds;
pub use crate::field_error::FieldError;
use crate::observation::Transport;
use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The provider's catalog id (e.g. `1und1`), when chosen.
    pub provider: Option<String>,
    /// The SIP account (registrar at least).
    pub account: Option<AccountConfig>,
    /// How the lower layers are checked.
    pub network: NetworkConfig,
    /// Check intervals and hysteresis.
    pub schedule: Schedule,
    /// What counts as good enough.
    pub thresholds: Thresholds,
    /// Per-probe timeout in seconds (a SIP transaction over UDP may use several retransmissions
    /// within it).
    pub timeout_secs: Option<f64>,
    /// How the tray agent presents (notifications, language).
    pub desktop: DesktopConfig,
    /// Asking the router for its own view (`[router]`).
    pub router: RouterConfig,
    /// The Prometheus exporter (`[metrics]`), off unless `listen` is set.
    pub metrics: MetricsConfig,
    /// Several lines in one config (`[[line]]`): each its own provider, account and router,
    /// sharing the network, schedule, thresholds and desktop settings above. Without any, the
    /// top-level `provider`, `[account]` and `[router]` are the one line.
    #[serde(rename = "line", skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineConfig>,
    /// Alerts that leave the machine (`[[alert]]`): ntfy, e-mail, webhooks, Apprise.
    #[serde(rename = "alert", skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::alert::AlertConfig>,
    /// The mail server for `mailto:` alerts (`[smtp]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<crate::alert::SmtpConfig>,
}

/// One line of several (`[[line]]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineConfig {
    /// How the line is named in the tray, the dashboard, `watch` and the metrics' `line` label.
    pub label: String,
    /// The provider's catalog id, when chosen.
    pub provider: Option<String>,
    /// The line's SIP account (`[line.account]`, the keys of `[account]`).
    pub account: Option<AccountConfig>,
    /// The line's router (`[line.router]`); the top-level `[router]` when absent.
    pub router: Option<RouterConfig>,
}

/// The Prometheus exporter's settings (`[metrics]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where `/metrics` is served: `PORT` (on loopback), `ADDR:PORT`; unset: no exporter.
    pub listen: Option<String>,
}

impl MetricsConfig {
    /// The address to serve on, `None` when off. A bare port means loopback: the line's state
    /// is nobody else's business unless the user says so with an address.
    pub fn parse_listen(&self) -> Result<Option<SocketAddr>, FieldError> {
        self.listen.as_deref().map(parse_metrics_listen).transpose()
    }
}

/// Parses an exporter address: `PORT` (loopback), `ADDR:PORT` or `[V6]:PORT`.
pub fn parse_metrics_listen(text: &str) -> Result<SocketAddr, FieldError> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        FieldError::new(
            "listen",
            format!("{text:?} is not PORT or ADDR:PORT (e.g. 9464 or 127.0.0.1:9464)"),
        )
    })
}

/// The longest line label accepted.
pub const MAX_LABEL: usize = 64;

/// One line to watch, as [`Config::lines`] gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedLine {
    /// Its label (unique within the config).
    pub label: String,
    /// Its config: the shared settings with its own provider, account and router, and no
    /// `[[line]]` tables of its own.
    pub config: Config,
}

/// Where and how to ask the router (`[router]`). The password lives in the keyring (or the
/// variable `password_env` names), never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterConfig {
    /// `auto` (the gateway's port 49000, then SSDP), a URL of the IGD/TR-064 description or
    /// of the router (`http://192.168.178.1:49000`), or `off`.
    pub url: String,
    /// The FRITZ!Box user for TR-064 (the "phone" right is enough).
    pub user: Option<String>,
    /// Name of an environment variable holding the router password (headless use).
    pub password_env: Option<String>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            url: "auto".into(),
            user: None,
            password_env: None,
        }
    }
}

/// The parsed `[router] url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterUrl {
    /// Ask the gateway at port 49000, then SSDP.
    Auto,
    /// Ask this base URL (scheme, host, port; a path names the description).
    At(url::Url),
    /// Do not ask the router.
    Off,
}

impl RouterConfig {
    /// Parses `url`; the error names the key.
    pub fn parse_url(&self) -> Result<RouterUrl, FieldError> {
        match self.url.trim() {
            "auto" | "" => Ok(RouterUrl::Auto),
            "off" => Ok(RouterUrl::Off),
            text => {
                let url = url::Url::parse(text).map_err(|e| {
                    FieldError::new("url", format!("{text:?} is not auto, off or a URL: {e}"))
                })?;
                if url.scheme() != "http" && url.scheme() != "https" {
                    return Err(FieldError::new("url", "must be an http:// or https:// URL"));
                }
                if url.host_str().is_none()
                    || !url.username().is_empty()
                    || url.password().is_some()
                {
                    return Err(FieldError::new(
                        "url",
                        "needs a host and no user or password in it (use router.user and the keyring)",
                    ));
                }
                Ok(RouterUrl::At(url))
            }
        }
    }

    /// Checks the router settings.
    pub fn validate(&self) -> Result<(), FieldError> {
        self.parse_url()?;
        if let Some(user) = &self.user {
            check_name("user", user)?;
        }
        if let Some(var) = &self.password_env {
            check_env_var("password_env", var)?;
        }
        Ok(())
    }
}

/// The tray agent's presentation settings (`[desktop]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesktopConfig {
    /// Whether confirmed changes are shown as desktop notifications.
    pub notifications: bool,
    /// `en` or `de`; unset follows the system locale.
    pub language: Option<crate::locale::Lang>,
}

impl Default for DesktopConfig {
    fn default() -> Self {
        DesktopConfig {
            notifications: true,
            language: None,
        }
    }
}

/// The SIP account. Only `registrar` is required; with a `user` the REGISTER query runs too.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// `sip:host[:port][;transport=udp|tcp|tls]`, `sips:host`, or a bare domain (RFC 3263).
    pub registrar: String,
    /// The SIP user name (also the digest user name unless `auth_user` is set).
    pub user: Option<String>,
    /// The digest user name, when it differs from `user`.
    pub auth_user: Option<String>,
    /// The SIP domain of the address-of-record, when it differs from the registrar's host.
    pub domain: Option<String>,
    /// Force a transport instead of RFC 3263's choice.
    pub transport: Option<Transport>,
    /// Name of an environment variable holding the password (for headless use).
    pub password_env: Option<String>,
    /// Extra CA certificate (PEM file) trusted for TLS to this registrar.
    pub ca_file: Option<PathBuf>,
}

/// How the device, home network and internet layers are checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Internet anchors as `host:port` (TCP connect) or `http://host[:port]/path` (HTTP).
    pub anchors: Vec<String>,
    /// `auto` (routing table) or an IP address.
    pub gateway: String,
    /// DNS server for every lookup (`ADDR[:PORT]`); the system's when unset.
    pub dns_server: Option<String>,
    /// Name the internet probe resolves; `none` skips the DNS part.
    pub dns_name: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            // Independent operators, reachable by TCP 443 from almost every network.
            anchors: vec![
                "1.1.1.1:443".into(),
                "8.8.8.8:443".into(),
                "9.9.9.9:443".into(),
            ],
            gateway: "auto".into(),
            dns_server: None,
            dns_name: "example.com".into(),
        }
    }
}

/// Why the configuration could not be used. Every variant names the file (or flag) and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("reading config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type.
    #[error("config file {}: key `{key}`: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The dotted key path, e.g. `account.registrar` (`.` for the whole document).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A value has the right type but cannot be used.
    #[error("{origin}: key `{key}`: {message}")]
    Invalid {
        /// The file, or `command line` for a flag.
        origin: String,
        /// The dotted key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error("writing config file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        source: std::io::Error,
    },
}

impl Config {
    /// The lines this config watches: one per `[[line]]` table, or the config itself as its one
    /// line (labelled by its provider, its account or `line`). Call after [`Config::validate`].
    pub fn lines(&self) -> Vec<NamedLine> {
        if self.lines.is_empty() {
            return vec![NamedLine {
                label: self.own_label(),
                config: self.clone(),
            }];
        }
        self.lines
            .iter()
            .map(|line| {
                let mut config = self.clone();
                config.lines = Vec::new();
                config.provider = line.provider.clone();
                config.account = line.account.clone();
                if let Some(router) = &line.router {
                    config.router = router.clone();
                }
                NamedLine {
                    label: line.label.trim().to_string(),
                    config,
                }
            })
            .collect()
    }

    /// Whether the config has `[[line]]` tables (several lines, each named).
    pub fn has_line_tables(&self) -> bool {
        !self.lines.is_empty()
    }

    /// The label of a config without `[[line]]` tables: its provider, its account, or `line`.
    pub fn own_label(&self) -> String {
        if let Some(provider) = &self.provider {
            return provider.clone();
        }
        match &self.account {
            Some(AccountConfig {
                registrar,
                user: Some(user),
                ..
            }) => format!("{user}@{registrar}"),
            Some(account) if !account.registrar.is_empty() => account.registrar.clone(),
            _ => "line".into(),
        }
    }

    /// Parses TOML text; `path` only names the origin in errors. Does not validate values.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let parse_error = |key: String, message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            key,
            message,
        };
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| parse_error(".".into(), toml_message(&e, text)))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            parse_error(key, toml_message(e.inner(), text))
        })
    }

    /// Checks values serde cannot: URIs, addresses, ranges. `origin` names the file or flag.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            key,
            message,
        };
        if let Some(account) = &self.account {
            account
                .validate()
                .map_err(|e| invalid(format!("account.{}", e.key), e.message))?;
        }
        self.network
            .validate()
            .map_err(|e| invalid(format!("network.{}", e.key), e.message))?;
        self.router
            .validate()
            .map_err(|e| invalid(format!("router.{}", e.key), e.message))?;
        self.schedule
            .validate()
            .map_err(|e| invalid(format!("schedule.{}", e.key), e.message))?;
        if let Some(timeout) = self.timeout_secs {
            if !(timeout.is_finite() && (0.1..=60.0).contains(&timeout)) {
                return Err(invalid(
                    "timeout_secs".into(),
                    format!("{timeout} is not between 0.1 and 60"),
                ));
            }
        }
        self.metrics
            .parse_listen()
            .map_err(|e| invalid(format!("metrics.{}", e.key), e.message))?;
        self.validate_lines(origin)?;
        self.validate_alerts(origin)?;
        if self.thresholds.min_anchors == 0 {
            return Err(invalid(
                "thresholds.min_anchors".into(),
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// The `[[alert]]` tables and `[smtp]`: each URL a target, and a mail server for e-mail.
    fn validate_alerts(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            key,
            message,
        };
        let mut mail = false;
        for (i, alert) in self.alerts.iter().enumerate() {
            let target = crate::alert::AlertTarget::from_config(alert)
                .map_err(|e| invalid(format!("alert[{i}].{}", e.key), e.message))?;
            mail |= matches!(target.target, crate::alert::Target::Mail { .. });
        }
        match &self.smtp {
            Some(smtp) => smtp
                .validate()
                .map_err(|e| invalid(format!("smtp.{}", e.key), e.message)),
            None if mail => Err(invalid(
                "smtp".into(),
                "a mailto: alert needs an [smtp] table (host, port, security, user, from)".into(),
            )),
            None => Ok(()),
        }
    }

    /// The `[[line]]` tables: each named once, each account and router valid, and no top-level
    /// line beside them (whose would it be?).
    fn validate_lines(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            key,
            message,
        };
        if self.lines.is_empty() {
            return Ok(());
        }
        if self.account.is_some() || self.provider.is_some() {
            let key = if self.account.is_some() {
                "account"
            } else {
                "provider"
            };
            return Err(invalid(
                key.into(),
                "beside [[line]] tables each line names its own provider and account: move it into a [[line]]".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            let key = |k: &str| format!("line[{i}].{k}");
            let label = line.label.trim();
            if label.is_empty()
                || label.chars().count() > MAX_LABEL
                || label.chars().any(char::is_control)
            {
                return Err(invalid(
                    key("label"),
                    format!("each line needs a label of 1 to {MAX_LABEL} characters (no control characters)"),
                ));
            }
            if !seen.insert(label.to_lowercase()) {
                return Err(invalid(
                    key("label"),
                    format!("{label:?} names two lines; labels must differ"),
                ));
            }
            if line.provider.is_none() && line.account.is_none() {
                return Err(invalid(
                    key("provider"),
                    format!("line {label:?} has neither a provider nor an [line.account]"),
                ));
            }
            if let Some(account) = &line.account {
                account
                    .validate()
                    .map_err(|e| invalid(key(&format!("account.{}", e.key)), e.message))?;
            }
            if let Some(router) = &line.router {
                router
                    .validate()
                    .map_err(|e| invalid(key(&format!("router.{}", e.key)), e.message))?;
            }
        }
        Ok(())
    }
}

impl AccountConfig {
    /// Checks the account's values: a registrar that parses, user names without spaces, a
    /// usable variable name. The dashboard's settings form and config loading both call this.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.registrar.trim().is_empty() {
            return Err(FieldError::new("registrar", "must not be empty"));
        }
        if self.registrar.len() > MAX_NAME
            || self
                .registrar
                .trim()
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(FieldError::new(
                "registrar",
                "not a host name or SIP URI (no spaces, at most 255 characters)",
            ));
        }
        let parsed = address::parse_registrar(&self.registrar)
            .map_err(|e| FieldError::new("registrar", e.to_string()))?;
        if parsed.secure && matches!(self.transport, Some(Transport::Udp | Transport::Tcp)) {
            // A silent downgrade would send the login in clear where the user asked for TLS.
            return Err(FieldError::new(
                "transport",
                "a sips: registrar is reached over TLS only; remove the forced transport or use sip:",
            ));
        }
        for (key, value) in [
            ("user", &self.user),
            ("auth_user", &self.auth_user),
            ("domain", &self.domain),
        ] {
            if let Some(value) = value {
                check_name(key, value)?;
            }
        }
        if let Some(var) = &self.password_env {
            check_env_var("password_env", var)?;
        }
        Ok(())
    }
}

/// A user name, auth user or domain: not empty, at most [`MAX_NAME`], no spaces or controls
/// (it goes into SIP headers and keyring entry names as it is).
fn check_name(key: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty()
        || value.len() > MAX_NAME
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FieldError::new(
            key,
            format!("{value:?} is empty, longer than {MAX_NAME} characters or contains spaces"),
        ));
    }
    Ok(())
}

/// The name of an environment variable a password is read from.
fn check_env_var(key: &str, var: &str) -> Result<(), FieldError> {
    if var.is_empty() || var.contains('=') || var.contains('\0') {
        return Err(FieldError::new(
            key,
            format!("{var:?} is not a usable environment variable name"),
        ));
    }
    Ok(())
}

/// The longest user name, auth user or domain accepted (far above any real one).
pub const MAX_NAME: usize = 255;

/// The network settings parsed into what the probes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNetwork {
    /// The internet anchors.
    pub anchors: Vec<Anchor>,
    /// The router's address; `None` for `auto` (read from the routing table).
    pub gateway: Option<IpAddr>,
    /// The DNS server for every lookup; `None` for the system's.
    pub dns_server: Option<SocketAddr>,
    /// The name the internet probe resolves; `None` skips the DNS part (`none`).
    pub dns_name: Option<String>,
}

impl NetworkConfig {
    /// Parses every value once, into what the probes use.
    pub fn parse(&self) -> Result<ParsedNetwork, FieldError> {
        let anchors = self
            .anchors
            .iter()
            .enumerate()
            .map(|(i, anchor)| {
                address::parse_anchor(anchor).map_err(|e: AnchorError| {
                    FieldError::new(format!("anchors[{i}]"), e.to_string())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let gateway =
            address::parse_gateway(&self.gateway).map_err(|m| FieldError::new("gateway", m))?;
        let dns_server = match &self.dns_server {
            Some(server) => Some(
                address::parse_dns_server(server).map_err(|m| FieldError::new("dns_server", m))?,
            ),
            None => None,
        };
        let name = self.dns_name.trim();
        if name.is_empty() {
            return Err(FieldError::new(
                "dns_name",
                "must be a host name, or `none` to skip the DNS check",
            ));
        }
        let dns_name = (!name.eq_ignore_ascii_case("none")).then(|| name.to_string());
        Ok(ParsedNetwork {
            anchors,
            gateway,
            dns_server,
            dns_name,
        })
    }

    /// Checks every value (see [`NetworkConfig::parse`]).
    pub fn validate(&self) -> Result<(), FieldError> {
        self.parse().map(drop)
    }
}

/// toml's message without its own line-and-caret rendering, plus the line number.
fn toml_message(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim().to_string();
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{message} (line {line})")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse(text, Path::new("/home/u/.config/dialtone/config.toml"))?;
        config.validate("/home/u/.config/dialtone/config.toml")?;
        Ok(config)
    }

    fn error_text(text: &str) -> String {
        match parse(text) {
            Ok(c) => panic!("accepted {text:?} as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_full_file_parses() {
        let config = parse(
            r#"
provider = "1und1"
timeout_secs = 4.5
[account]
registrar = "sip:sip.example.net;transport=tcp"
user = "4930123456"
password_env = "DIALTONE_PASSWORD"
[network]
anchors = ["127.0.0.1:9", "http://127.0.0.1:8080/generate_204"]
gateway = "192.168.178.1"
dns_server = "127.0.0.1:5353"
dns_name = "none"
[schedule]
interval_secs = 10
recheck_secs = 2
[thresholds]
sip_rtt_ms = 300
expect_binding = false
"#,
        )
        .expect("valid");
        assert_eq!(config.provider.as_deref(), Some("1und1"));
        let account = config.account.expect("account");
        assert_eq!(account.user.as_deref(), Some("4930123456"));
        assert_eq!(config.network.anchors.len(), 2);
        assert_eq!(config.schedule.interval_secs, 10);
        assert_eq!(config.schedule.confirmations, 2, "unset keys keep defaults");
        assert!(!config.thresholds.expect_binding);
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(parse("").expect("valid"), Config::default());
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_file() {
        let e = error_text("[account]\nregistrar = \"sip:a.example\"\npasword = \"x\"\n");
        assert!(e.contains("account.pasword"), "{e}");
        assert!(e.contains("config.toml"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
        let e = error_text("colour = 1\n");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = error_text("[schedule]\ninterval_secs = \"often\"\n");
        assert!(e.contains("schedule.interval_secs"), "{e}");
        let e = error_text("[thresholds]\nexpect_binding = 3\n");
        assert!(e.contains("thresholds.expect_binding"), "{e}");
    }

    #[test]
    fn broken_toml_is_an_error_with_a_line() {
        let e = error_text("[account\nregistrar = 1\n");
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("[account]\nregistrar = \"\"\n", "account.registrar"),
            ("[account]\nregistrar = \"sip:\"\n", "account.registrar"),
            (
                "[account]\nregistrar = \"sip:alice@a.example\"\n",
                "account.registrar",
            ),
            (
                "[account]\nregistrar = \"sip:a.example\"\nuser = \"a b\"\n",
                "account.user",
            ),
            ("[network]\ngateway = \"router\"\n", "network.gateway"),
            (
                "[network]\ndns_server = \"dns.example\"\n",
                "network.dns_server",
            ),
            ("[network]\nanchors = [\"no port\"]\n", "network.anchors[0]"),
            ("[schedule]\ninterval_secs = 0\n", "schedule.interval_secs"),
            (
                "[schedule]\naccount_interval_secs = 5\n",
                "schedule.account_interval_secs",
            ),
            ("[schedule]\nrecheck_secs = 60\n", "schedule.recheck_secs"),
            ("[schedule]\nconfirmations = 0\n", "schedule.confirmations"),
            ("timeout_secs = -1.0\n", "timeout_secs"),
            ("[thresholds]\nmin_anchors = 0\n", "thresholds.min_anchors"),
            (
                "[account]\nregistrar = \"sips:a.example\"\ntransport = \"udp\"\n",
                "account.transport",
            ),
            (
                "[account]\nregistrar = \"sip:a.example\"\n[schedule]\ninterval_secs = 100000\n",
                "schedule.interval_secs",
            ),
        ] {
            let e = error_text(text);
            assert!(e.contains(&format!("`{key}`")), "{text:?} gave {e}");
        }
    }

    #[test]
    fn a_registrar_with_a_user_part_is_an_error_that_never_repeats_it() {
        let e = error_text("[account]\nregistrar = \"sip:alice:hunter2@a.example\"\n");
        assert!(e.contains("`account.registrar`"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("alice"), "{e}");
        let e =
            error_text(&TWO_LINES.replace("sip:127.0.0.1:5070", "sip:bob:hunter2@127.0.0.1:5070"));
        assert!(e.contains("line[1].account.registrar"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_password_key_is_rejected_not_stored() {
        // Passwords belong in the keyring; a `password` key must not be silently accepted.
        let e = error_text("[router]\nurl = \"ftp://x\"\n");
        assert!(e.contains("router.url"), "{e}");
        let e = error_text("[router]\npassword = \"hunter2\"\n");
        assert!(e.contains("router.password"), "{e}");
        let e = error_text("[account]\nregistrar = \"sip:a.example\"\npassword = \"hunter2\"\n");
        assert!(e.contains("account.password"), "{e}");
        assert!(!e.contains("hunter2"), "the value must not be echoed: {e}");
    }

    #[test]
    fn gateway_and_dns_server_forms() {
        use crate::address::{parse_dns_server, parse_gateway};
        assert_eq!(parse_gateway("auto"), Ok(None));
        assert_eq!(
            parse_gateway("10.0.0.1"),
            Ok(Some("10.0.0.1".parse().expect("ip")))
        );
        assert_eq!(
            parse_dns_server("127.0.0.1"),
            Ok("127.0.0.1:53".parse().expect("addr"))
        );
        assert_eq!(
            parse_dns_server("[::1]:5353"),
            Ok("[::1]:5353".parse().expect("addr"))
        );
        assert!(parse_dns_server("::1:x").is_err());
    }

    #[test]
    fn the_network_parses_once_into_what_the_probes_use() {
        let mut network = NetworkConfig::default();
        let parsed = network.parse().expect("defaults parse");
        assert_eq!(parsed.anchors.len(), 3);
        assert_eq!(parsed.dns_name.as_deref(), Some("example.com"));
        assert_eq!((parsed.gateway, parsed.dns_server), (None, None));
        network.dns_name = "None".into();
        network.anchors.push("bad".into());
        let e = network.parse().expect_err("an anchor without a port");
        assert_eq!(e.key, "anchors[3]");
        assert!(e.message.contains("\"bad\""), "{e}");
        network.anchors.pop();
        assert_eq!(network.parse().expect("parses").dns_name, None);
    }

    const TWO_LINES: &str = r#"
[network]
dns_name = "none"

[router]
url = "off"

[[line]]
label = "Home"
provider = "1und1"

[[line]]
label = "Office"
[line.account]
registrar = "sip:127.0.0.1:5070"
user = "office"
password_env = "OFFICE_SIP"
[line.router]
url = "http://192.168.178.1:49000"
"#;

    #[test]
    fn line_tables_become_lines_sharing_the_rest() {
        let config = parse(TWO_LINES).expect("valid");
        let lines = config.lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].label, "Home");
        assert_eq!(lines[0].config.provider.as_deref(), Some("1und1"));
        assert!(lines[0].config.account.is_none());
        // No [line.router]: the top-level one.
        assert_eq!(lines[0].config.router.url, "off");
        assert_eq!(lines[1].label, "Office");
        let account = lines[1].config.account.as_ref().expect("account");
        assert_eq!(account.user.as_deref(), Some("office"));
        assert_eq!(lines[1].config.router.url, "http://192.168.178.1:49000");
        for line in &lines {
            assert_eq!(line.config.network.dns_name, "none");
            assert!(!line.config.has_line_tables());
        }
        // Written back, the tables survive; a config without them writes none.
        let text = toml::to_string(&config).expect("serialises");
        assert_eq!(parse(&text).expect("reads back"), config);
        assert!(!toml::to_string(&Config::default())
            .expect("serialises")
            .contains("line"));
    }

    #[test]
    fn a_config_without_line_tables_is_one_line_named_after_it() {
        let one = parse("provider = \"telekom\"").expect("valid");
        assert_eq!(one.lines()[0].label, "telekom");
        let one =
            parse("[account]\nregistrar = \"sip:example.net\"\nuser = \"bob\"").expect("valid");
        assert_eq!(one.lines()[0].label, "bob@sip:example.net");
        assert_eq!(Config::default().lines()[0].label, "line");
    }

    #[test]
    fn line_tables_are_checked_with_their_index() {
        let e = error_text(&TWO_LINES.replace("label = \"Office\"", "label = \"home\""));
        assert!(
            e.contains("line[1].label") && e.contains("two lines"),
            "{e}"
        );
        let e = error_text(&TWO_LINES.replace("label = \"Office\"", "label = \" \""));
        assert!(e.contains("line[1].label"), "{e}");
        let e = error_text(&TWO_LINES.replace("5070", "5070 x"));
        assert!(e.contains("line[1].account.registrar"), "{e}");
        let e = error_text(&TWO_LINES.replace("http://192.168.178.1:49000", "ftp://x"));
        assert!(e.contains("line[1].router.url"), "{e}");
        let e = error_text(&format!("provider = \"1und1\"\n{TWO_LINES}"));
        assert!(
            e.contains("key `provider`") && e.contains("[[line]]"),
            "{e}"
        );
        let e = error_text("[[line]]\nlabel = \"Empty\"");
        assert!(e.contains("line[0].provider") && e.contains("Empty"), "{e}");
        let e = error_text("[[line]]\nlabel = \"X\"\nuser = \"a\"");
        assert!(
            e.contains("line[0].user") || e.contains("unknown field"),
            "{e}"
        );
    }

    #[test]
    fn the_exporter_address_is_loopback_unless_one_is_given() {
        let off = parse("").expect("valid");
        assert_eq!(off.metrics.parse_listen().expect("valid"), None);
        let port = parse("[metrics]\nlisten = \"9464\"").expect("valid");
        assert_eq!(
            port.metrics.parse_listen().expect("valid"),
            Some("127.0.0.1:9464".parse().expect("addr"))
        );
        let any = parse("[metrics]\nlisten = \"[::]:9464\"").expect("valid");
        assert_eq!(
            any.metrics.parse_listen().expect("valid"),
            Some("[::]:9464".parse().expect("addr"))
        );
        let e = error_text("[metrics]\nlisten = \"localhost\"");
        assert!(e.contains("metrics.listen"), "{e}");
    }
}
