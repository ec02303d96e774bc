//! The user's settings: a TOML file in the XDG config dir, overridable by CLI flags.
//!
//! Unknown keys and bad values are rejected with an error naming the key and the file.
//! The password is never stored here: see [`crate::secret`].

use crate::diagnosis::Thresholds;
use crate::monitor::Schedule;
use crate::observation::Transport;
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
    /// The default location: `config.toml` in the XDG config dir (`~/.config/dialtone/`).
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "dialtone")
            .map(|d| d.config_dir().join("config.toml"))
    }

    /// Reads and validates `path`. A missing file is `Ok(None)` (first run), not an error.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let config = Config::parse(&text, path)?;
        config.validate(&path.display().to_string())?;
        Ok(Some(config))
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

    /// Writes the configuration to `path` (creating the directory), readable by the user only.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_error = |source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = toml::to_string_pretty(self).map_err(|e| {
            write_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            ))
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        // Write beside and rename, so a crash never leaves half a config behind.
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(write_error)?;
        restrict_to_user(&tmp).map_err(write_error)?;
        std::fs::rename(&tmp, path).map_err(write_error)
    }

    /// Checks values serde cannot: URIs, addresses, ranges. `origin` names the file or flag.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            message,
        };
        if let Some(account) = &self.account {
            if account.registrar.trim().is_empty() {
                return Err(invalid("account.registrar", "must not be empty".into()));
            }
            crate::probe::locate::parse_registrar(&account.registrar)
                .map_err(|e| invalid("account.registrar", e.to_string()))?;
            for (key, value) in [
                ("account.user", &account.user),
                ("account.auth_user", &account.auth_user),
                ("account.domain", &account.domain),
            ] {
                if let Some(value) = value {
                    if value.is_empty()
                        || value.chars().any(|c| c.is_whitespace() || c.is_control())
                    {
                        return Err(invalid(
                            key,
                            format!("{value:?} is empty or contains spaces"),
                        ));
                    }
                }
            }
            if let Some(var) = &account.password_env {
                if var.is_empty() || var.contains('=') || var.contains('\0') {
                    return Err(invalid(
                        "account.password_env",
                        format!("{var:?} is not a usable environment variable name"),
                    ));
                }
            }
        }
        for (i, anchor) in self.network.anchors.iter().enumerate() {
            crate::probe::internet::parse_anchor(anchor)
                .map_err(|e| invalid(&format!("network.anchors[{i}]"), e.to_string()))?;
        }
        parse_gateway(&self.network.gateway).map_err(|m| invalid("network.gateway", m))?;
        if let Some(server) = &self.network.dns_server {
            parse_dns_server(server).map_err(|m| invalid("network.dns_server", m))?;
        }
        if self.network.dns_name.trim().is_empty() {
            return Err(invalid(
                "network.dns_name",
                "must be a host name, or `none` to skip the DNS check".into(),
            ));
        }
        let s = &self.schedule;
        for (key, value, min) in [
            ("schedule.interval_secs", s.interval_secs, 1),
            ("schedule.recheck_secs", s.recheck_secs, 1),
            // Providers lock accounts out after repeated logins: never more than once a minute.
            (
                "schedule.account_interval_secs",
                s.account_interval_secs,
                60,
            ),
            ("schedule.confirmations", u64::from(s.confirmations), 1),
        ] {
            if value < min {
                return Err(invalid(
                    key,
                    format!("{value} is below the minimum of {min}"),
                ));
            }
        }
        if s.recheck_secs > s.interval_secs {
            return Err(invalid(
                "schedule.recheck_secs",
                format!(
                    "{} is longer than schedule.interval_secs ({})",
                    s.recheck_secs, s.interval_secs
                ),
            ));
        }
        if let Some(timeout) = self.timeout_secs {
            if !(timeout.is_finite() && (0.1..=60.0).contains(&timeout)) {
                return Err(invalid(
                    "timeout_secs",
                    format!("{timeout} is not between 0.1 and 60"),
                ));
            }
        }
        if self.thresholds.min_anchors == 0 {
            return Err(invalid(
                "thresholds.min_anchors",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The gateway setting: `None` for `auto`, else the address.
pub fn parse_gateway(value: &str) -> Result<Option<IpAddr>, String> {
    if value.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("{value:?} is neither `auto` nor an IP address"))
}

/// A DNS server as `ADDR` or `ADDR:PORT` (`[v6]:PORT` for IPv6 with a port); port 53 by default.
pub fn parse_dns_server(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    value
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{value:?} is not an IP address with an optional port"))
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

#[cfg(unix)]
fn restrict_to_user(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_user(_path: &Path) -> std::io::Result<()> {
    Ok(())
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
        ] {
            let e = error_text(text);
            assert!(e.contains(&format!("`{key}`")), "{text:?} gave {e}");
        }
    }

    #[test]
    fn a_password_key_is_rejected_not_stored() {
        // Passwords belong in the keyring; a `password` key must not be silently accepted.
        let e = error_text("[account]\nregistrar = \"sip:a.example\"\npassword = \"hunter2\"\n");
        assert!(e.contains("account.password"), "{e}");
        assert!(!e.contains("hunter2"), "the value must not be echoed: {e}");
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/config.toml");
        let config = Config {
            account: Some(AccountConfig {
                registrar: "sip:127.0.0.1:5070".into(),
                user: Some("alice".into()),
                ..AccountConfig::default()
            }),
            ..Config::default()
        };
        config.save(&path).expect("save");
        assert_eq!(Config::load(&path).expect("load"), Some(config));
        assert_eq!(
            Config::load(&dir.path().join("missing.toml")).expect("ok"),
            None
        );
    }

    #[test]
    fn gateway_and_dns_server_forms() {
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
}
