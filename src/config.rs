//! The user's settings: a TOML file in the XDG config dir, overridable by CLI flags.
//!
//! Unknown keys and bad values are rejected with an error naming the key and the file.
//! The password is never stored here: see [`crate::secret`].

use crate::diagnosis::Thresholds;
use crate::monitor::Schedule;
use crate::observation::Transport;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
