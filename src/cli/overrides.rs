//! The flags `check`, `watch` and the agent share: which config file, and per-run overrides of
//! its values (for scripting and tests), turned into [`LineSettings`].

use crate::catalog::Catalog;
use crate::config::{AccountConfig, Config, ConfigError};
use crate::observation::Transport;
use crate::probe::line::LineSettings;
use crate::secret::{self, PasswordSource, Secret, SecretError};
use std::path::PathBuf;

/// Overrides of the config file, one flag per setting.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// The config file (default: config.toml in the XDG config dir).
    #[arg(long, value_name = "FILE", env = "DIALTONE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The registrar: `sip:host[:port][;transport=udp|tcp|tls]`, `sips:host`, or a domain
    /// (resolved by RFC 3263: NAPTR, SRV, A/AAAA).
    #[arg(long, value_name = "URI")]
    pub registrar: Option<String>,
    /// The SIP user name; with a password this enables the REGISTER query.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The SIP domain of the address-of-record, when it is not the registrar's host.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Read the SIP password from this environment variable (instead of the OS keyring).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Force the SIP transport.
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,
    /// A PEM file with a CA certificate to trust for TLS to the registrar.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// An internet anchor, `HOST:PORT` or `http://HOST[:PORT]/PATH` (repeatable; replaces the
    /// configured ones).
    #[arg(long = "anchor", value_name = "HOST:PORT")]
    pub anchors: Vec<String>,
    /// The router's address, or `auto` to read it from the routing table.
    #[arg(long, value_name = "ADDR|auto")]
    pub gateway: Option<String>,
    /// The DNS server for every lookup, `ADDR[:PORT]` (default: the system's).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub dns_server: Option<String>,
    /// The name the internet check resolves; `none` skips the DNS part.
    #[arg(long, value_name = "NAME")]
    pub dns_name: Option<String>,
    /// Per-probe timeout in seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Whether a line with no registered phone or router counts as an account problem.
    #[arg(long, value_enum, value_name = "yes|no")]
    pub expect_binding: Option<YesNo>,
    /// The provider's catalog id (see `dialtone providers`).
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// The user's provider catalog file (default: providers.toml in the config dir).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
}

/// The flags of the commands that keep watching (`watch` and the agent): the schedule and the
/// history store.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MonitorArgs {
    /// Seconds between checks while the line is healthy (default: the config's, 30).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
    /// Seconds between re-checks while a change is being confirmed (default 5).
    #[arg(long, value_name = "SECS")]
    pub recheck: Option<u64>,
    /// Consecutive results that confirm a change (default 2).
    #[arg(long, value_name = "N")]
    pub confirmations: Option<u32>,
    /// The history database checks and outages are recorded in (default: history.sqlite3 in
    /// the XDG data dir).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Do not record checks and outages.
    #[arg(long)]
    pub no_history: bool,
}

impl MonitorArgs {
    /// Applies the schedule flags on top of a config's schedule (never below 1 s or one
    /// confirmation, and the re-check never slower than the interval).
    pub fn apply_schedule(&self, schedule: &mut crate::monitor::Schedule) {
        if let Some(v) = self.interval {
            schedule.interval_secs = v.max(1);
        }
        if let Some(v) = self.recheck {
            schedule.recheck_secs = v.max(1);
        }
        if let Some(v) = self.confirmations {
            schedule.confirmations = v.max(1);
        }
        schedule.recheck_secs = schedule.recheck_secs.min(schedule.interval_secs);
    }

    /// The history file to record in: `None` with `--no-history`.
    pub fn history_path(&self) -> Option<PathBuf> {
        if self.no_history {
            None
        } else {
            self.db.clone().or_else(crate::history::default_path)
        }
    }
}

/// `--transport` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

impl From<TransportArg> for Transport {
    fn from(value: TransportArg) -> Transport {
        match value {
            TransportArg::Udp => Transport::Udp,
            TransportArg::Tcp => Transport::Tcp,
            TransportArg::Tls => Transport::Tls,
        }
    }
}

/// A yes/no flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum YesNo {
    /// Yes.
    Yes,
    /// No.
    No,
}

/// Why the settings for a run could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The config file or a flag is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The provider catalog is broken.
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    /// The password could not be fetched.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The line's settings are unusable.
    #[error(transparent)]
    Line(#[from] crate::probe::line::LineError),
    /// No config dir could be found and no `--config` was given.
    #[error("no home directory to keep the config in: pass --config FILE")]
    NoConfigDir,
}

/// The config in force for one run, and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The config with the flags applied.
    pub config: Config,
    /// The file it was read from (it may not exist yet).
    pub path: PathBuf,
    /// Whether the file existed.
    pub from_file: bool,
    /// Where the password came from, when one was found.
    pub password_source: Option<PasswordSource>,
    /// The merged provider catalog.
    pub catalog: Catalog,
}

impl Overrides {
    /// Reads the config file (if any), applies the flags and validates the result.
    pub fn resolve_config(&self) -> Result<(Config, PathBuf, bool), SetupError> {
        let path = match &self.config {
            Some(path) => path.clone(),
            None => Config::default_path().ok_or(SetupError::NoConfigDir)?,
        };
        let loaded = Config::load(&path)?;
        let from_file = loaded.is_some();
        let mut config = loaded.unwrap_or_default();
        self.apply(&mut config);
        config.validate(&format!("{} with command-line flags", path.display()))?;
        Ok((config, path, from_file))
    }

    /// Applies the flags on top of `config`.
    pub fn apply(&self, config: &mut Config) {
        if let Some(registrar) = &self.registrar {
            let account = config.account.get_or_insert_with(AccountConfig::default);
            // A different registrar on the command line is a different line: the file's user
            // and password belong to the old one.
            if account.registrar != *registrar
                && self.user.is_none()
                && !account.registrar.is_empty()
            {
                account.user = None;
                account.password_env = None;
            }
            account.registrar = registrar.clone();
        }
        if let Some(account) = config.account.as_mut() {
            if let Some(user) = &self.user {
                account.user = Some(user.clone());
            }
            if let Some(domain) = &self.domain {
                account.domain = Some(domain.clone());
            }
            if let Some(var) = &self.password_env {
                account.password_env = Some(var.clone());
            }
            if let Some(transport) = self.transport {
                account.transport = Some(transport.into());
            }
            if let Some(ca) = &self.ca_file {
                account.ca_file = Some(ca.clone());
            }
        }
        if !self.anchors.is_empty() {
            config.network.anchors = self.anchors.clone();
        }
        if let Some(gateway) = &self.gateway {
            config.network.gateway = gateway.clone();
        }
        if let Some(server) = &self.dns_server {
            config.network.dns_server = Some(server.clone());
        }
        if let Some(name) = &self.dns_name {
            config.network.dns_name = name.clone();
        }
        if let Some(timeout) = self.timeout {
            config.timeout_secs = Some(timeout);
        }
        if let Some(expect) = self.expect_binding {
            config.thresholds.expect_binding = expect == YesNo::Yes;
        }
        if let Some(provider) = &self.provider {
            config.provider = Some(provider.clone());
        }
    }

    /// Everything a run needs: the config, the catalog, the password and the probe settings.
    ///
    /// Blocking (the keyring talks D-Bus): call it before starting async work, or from
    /// `spawn_blocking`.
    pub fn resolve(&self) -> Result<(Resolved, LineSettings), SetupError> {
        let (config, path, from_file) = self.resolve_config()?;
        let catalog_file = self.catalog.clone().or_else(crate::catalog::user_file_path);
        let catalog = Catalog::load(catalog_file.as_deref())?;
        if let Some(id) = &config.provider {
            if catalog.get(id).is_none() {
                return Err(ConfigError::Invalid {
                    origin: path.display().to_string(),
                    key: "provider".into(),
                    message: format!(
                        "{id:?} is not in the provider catalog (see `dialtone providers`)"
                    ),
                }
                .into());
            }
        }
        let (password, password_source) = match config.account.as_ref() {
            Some(account) if account.user.is_some() => password_for(account)?,
            _ => (None, None),
        };
        let line = LineSettings::from_config(&config, password, &catalog)?;
        Ok((
            Resolved {
                config,
                path,
                from_file,
                password_source,
                catalog,
            },
            line,
        ))
    }
}

/// The keyring account name of a SIP account: its address-of-record without the scheme.
pub fn keyring_account(account: &AccountConfig) -> Option<String> {
    let user = account.user.as_ref()?;
    let domain = match &account.domain {
        Some(domain) => domain.clone(),
        None => {
            crate::probe::locate::parse_registrar(&account.registrar)
                .ok()?
                .host
        }
    };
    Some(format!("{user}@{domain}"))
}

/// Finds the password: the named environment variable if one is configured (it must be set),
/// else the OS keyring. No keyring service is not an error: the account check is then skipped.
pub fn password_for(
    account: &AccountConfig,
) -> Result<(Option<Secret>, Option<PasswordSource>), SecretError> {
    if let Some(var) = &account.password_env {
        return Ok((
            Some(secret::from_env(var)?),
            Some(PasswordSource::Env(var.clone())),
        ));
    }
    let Some(name) = keyring_account(account) else {
        return Ok((None, None));
    };
    match secret::from_keyring(&name) {
        Ok(Some(password)) => Ok((Some(password), Some(PasswordSource::Keyring(name)))),
        Ok(None) => Ok((None, None)),
        Err(e) => {
            tracing::warn!("{e}; the account check is skipped");
            Ok((None, None))
        }
    }
}
