//! Setting up a line to watch: which config file, the flags that override it for one run
//! (for scripting and tests), the provider from the catalog, the password from the keyring or
//! the environment, and from all of that the probes' [`LineSettings`]. `check`, `watch` and
//! the tray agent build their line here, so a config means the same line to each of them
//! (with only a provider chosen, its registrar is probed by all three).
//!
//! The line runner ([`crate::lines`]) then starts what every face runs from a [`Prepared`].

use crate::credentials::{password_for, router_login};
use crate::probe::line::{LineError, LineSettings};
use crate::probe::sip::guard::{WatchLock, WatchLockError};
use crate::secret::SecretError;
use dialtone_core::catalog::{Catalog, CatalogError, Feed, Provider, Registrar};
use dialtone_core::config::{AccountConfig, Config, ConfigError, NamedLine};
use dialtone_core::observation::Transport;
use dialtone_core::schedule::Schedule;
use std::path::{Path, PathBuf};

/// What one run changes of the config file (the command line's flags, in the CLI's words; tests
/// and scripts set them directly). `None` and empty leave the file's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// The config file instead of the default one.
    pub config: Option<PathBuf>,
    /// Only the `[[line]]` with this label.
    pub line: Option<String>,
    // The account.
    pub registrar: Option<String>,
    pub user: Option<String>,
    pub domain: Option<String>,
    pub password_env: Option<String>,
    pub transport: Option<Transport>,
    pub ca_file: Option<PathBuf>,
    // The network: the internet's anchors (replacing the file's), the router, DNS.
    pub anchors: Vec<String>,
    pub gateway: Option<String>,
    pub dns_server: Option<String>,
    pub dns_name: Option<String>,
    /// Per-probe timeout in seconds.
    pub timeout: Option<f64>,
    pub expect_binding: Option<bool>,
    // The provider, the catalog file and the router's own view.
    pub provider: Option<String>,
    pub catalog: Option<PathBuf>,
    pub router: Option<String>,
    pub router_user: Option<String>,
    pub router_password_env: Option<String>,
    // For the runs that keep watching: the schedule (seconds between checks while healthy,
    // between re-checks while a change is confirmed, and the results that confirm it) and
    // the history file (another, or none).
    pub interval: Option<u64>,
    pub recheck: Option<u64>,
    pub confirmations: Option<u32>,
    pub db: Option<PathBuf>,
    pub no_history: bool,
}

impl Overrides {
    /// Applies the schedule's overrides on top of a config's schedule, pulled into the schedule's
    /// one range table (never below 1 s or one confirmation, the re-check never slower than
    /// the interval).
    pub fn apply_schedule(&self, schedule: &mut Schedule) {
        if let Some(v) = self.interval {
            schedule.interval_secs = v;
        }
        if let Some(v) = self.recheck {
            schedule.recheck_secs = v;
        }
        if let Some(v) = self.confirmations {
            schedule.confirmations = v;
        }
        *schedule = schedule.clamped();
    }

    /// The history file to record in: `None` with `no_history`.
    pub fn history_path(&self) -> Option<PathBuf> {
        if self.no_history {
            None
        } else {
            self.db.clone().or_else(crate::history::default_path)
        }
    }
}

/// Why the settings for a run could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The config file or a flag is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The provider catalog is broken.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The password could not be fetched.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The line's settings are unusable.
    #[error(transparent)]
    Line(#[from] LineError),
    /// No config dir could be found and no `--config` was given.
    #[error("no home directory to keep the config in: pass --config FILE")]
    NoConfigDir,
    /// A command for one line was given a config with several.
    #[error("the config has {} lines ({}): name one with --line LABEL", labels.len(), labels.join(", "))]
    SeveralLines {
        /// Their labels.
        labels: Vec<String>,
    },
    /// `--line` names no line of the config.
    #[error("no line is labelled {label:?}; the config has: {}", labels.join(", "))]
    NoSuchLine {
        /// The label asked for.
        label: String,
        /// The config's labels.
        labels: Vec<String>,
    },
}

impl Overrides {
    /// Reads the config file (if any), applies the flags and validates the result.
    pub fn resolve_config(&self) -> Result<(Config, PathBuf, bool), SetupError> {
        let path = match &self.config {
            Some(path) => path.clone(),
            None => crate::config_file::default_path().ok_or(SetupError::NoConfigDir)?,
        };
        let loaded = crate::config_file::load(&path)?;
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
                account.transport = Some(transport);
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
            config.thresholds.expect_binding = expect;
        }
        if let Some(provider) = &self.provider {
            config.provider = Some(provider.clone());
        }
        if let Some(url) = &self.router {
            config.router.url = url.clone();
        }
        if let Some(user) = &self.router_user {
            config.router.user = Some(user.clone());
        }
        if let Some(var) = &self.router_password_env {
            config.router.password_env = Some(var.clone());
        }
    }

    /// The provider catalog: the built-in one with the user's file (or `--catalog`).
    pub fn catalog(&self) -> Result<Catalog, CatalogError> {
        let catalog_file = self
            .catalog
            .clone()
            .or_else(crate::catalog_file::user_file_path);
        crate::catalog_file::load(catalog_file.as_deref())
    }

    /// Everything a `check` or `watch` needs: the config with the flags, the catalog, the
    /// password and the probe settings, exactly as the agent prepares its line.
    ///
    /// Blocking (the keyring talks D-Bus): call it before starting async work, or from
    /// `spawn_blocking`.
    pub fn resolve(&self) -> Result<Prepared, SetupError> {
        let mut lines = self.resolve_lines()?;
        if lines.len() > 1 {
            let labels: Vec<String> = lines.iter().map(|l| l.label.clone()).collect();
            return Err(SetupError::SeveralLines { labels });
        }
        lines.pop().ok_or(SetupError::NoConfigDir)
    }

    /// The lines `--line` selects (all without it), each with its index in the config.
    fn select_lines(&self, lines: Vec<NamedLine>) -> Result<Vec<(usize, NamedLine)>, SetupError> {
        let mut lines: Vec<(usize, NamedLine)> = lines.into_iter().enumerate().collect();
        if let Some(label) = &self.line {
            let labels = lines.iter().map(|(_, l)| l.label.clone()).collect();
            lines.retain(|(_, l)| l.label.eq_ignore_ascii_case(label.trim()));
            if lines.is_empty() {
                return Err(SetupError::NoSuchLine {
                    label: label.clone(),
                    labels,
                });
            }
        }
        Ok(lines)
    }

    /// The config of the one line a command is for: the config itself, or of its `[[line]]`
    /// tables the one `--line` names.
    pub fn resolve_line_config(&self) -> Result<Config, SetupError> {
        let (config, _, _) = self.resolve_config()?;
        let mut lines = self.select_lines(config.lines())?;
        if lines.len() > 1 {
            let labels = lines.into_iter().map(|(_, l)| l.label).collect();
            return Err(SetupError::SeveralLines { labels });
        }
        lines
            .pop()
            .map(|(_, line)| line.config)
            .ok_or(SetupError::NoConfigDir)
    }

    /// Every line of the config (its `[[line]]` tables, or the config itself as one line),
    /// prepared as [`Overrides::resolve`] prepares one. Blocking, like it.
    pub fn resolve_lines(&self) -> Result<Vec<Prepared>, SetupError> {
        let (config, path, _) = self.resolve_config()?;
        let catalog = self.catalog()?;
        let several = config.has_line_tables();
        let lines = self.select_lines(config.lines())?;
        lines
            .into_iter()
            .map(|(i, line)| {
                if let Some(id) = &line.config.provider {
                    if catalog.get(id).is_none() {
                        let key = if several {
                            format!("line[{i}].provider")
                        } else {
                            "provider".into()
                        };
                        return Err(ConfigError::Invalid {
                            origin: path.display().to_string(),
                            key,
                            message: format!(
                                "{id:?} is not in the provider catalog (see `dialtone providers`)"
                            ),
                        }
                        .into());
                    }
                }
                let mut prepared = prepare(&line.config, &catalog)?;
                prepared.label = line.label;
                prepared.listed = several;
                Ok(prepared)
            })
            .collect()
    }
}

/// Everything a line needs, worked out off the async workers (the keyring blocks).
pub struct Prepared {
    /// The line's label (its `[[line]]` label, or the config's own).
    pub label: String,
    /// Whether the line is one of the config's `[[line]]` tables: its label then goes into
    /// every report, and its history into a file of its own.
    pub listed: bool,
    /// The probes' settings.
    pub settings: LineSettings,
    /// The config in force, with the provider's registrar filled in.
    pub config: Config,
    /// Whether a provider or registrar is configured at all.
    pub configured: bool,
    /// The provider, when chosen or recognised from the registrar.
    pub provider: Option<Provider>,
    /// Its status feeds.
    pub feeds: Vec<Feed>,
}

impl Prepared {
    /// The login guard's key of this line's account, when it has one with a password.
    pub fn login_key(&self) -> Option<String> {
        let account = self.settings.account.as_ref()?;
        let (registrar, _) = self.settings.registrar.as_ref()?;
        Some(crate::probe::sip::guard::account_key(
            registrar,
            &account.aor,
            &account.auth_user,
        ))
    }

    /// Takes the right to query this line's account ([`WatchLock`]); `Ok(None)` when the line
    /// has no account to query.
    pub fn watch_lock(&self) -> Result<Option<WatchLock>, WatchLockError> {
        let Some(key) = self.login_key() else {
            return Ok(None);
        };
        // With the agent's endpoint: beside its socket in the user's runtime dir (or its private
        // fallback); for a pipe, which has no directory, in the user's local app data.
        let dir = dialtone_ipc::socket_path()
            .ok()
            .and_then(|socket| dialtone_platform::local::companion_dir(&socket))
            .ok_or_else(|| WatchLockError::Io {
                path: PathBuf::from("(runtime dir)"),
                detail: "no runtime directory for the lock".into(),
            })?;
        WatchLock::acquire(&dir, &key).map(Some)
    }

    /// Leaves the account out of this line (another process watches it): every other layer is
    /// still checked, and no REGISTER goes out from here.
    pub fn without_account(&mut self) {
        self.settings.account = None;
    }

    /// Takes the watch lock for a line that must not run without it, or leaves the account out
    /// (saying why) when another process holds it or the lock cannot be made. The lock is
    /// returned to be kept.
    pub fn lock_or_share(&mut self) -> Option<WatchLock> {
        let taken = self.watch_lock();
        self.keep_or_leave_account(taken)
    }

    /// What a line does with the outcome of [`Prepared::watch_lock`]: keeps the lock, or
    /// leaves the account out and says why. Without the lock, nothing stops a second process
    /// from sending REGISTERs in parallel with this one, so a lock that cannot be made (a
    /// read-only or foreign-owned runtime dir) means no login from here, like one held.
    pub fn keep_or_leave_account(
        &mut self,
        taken: Result<Option<WatchLock>, WatchLockError>,
    ) -> Option<WatchLock> {
        match taken {
            Ok(lock) => lock,
            Err(e @ WatchLockError::Held { .. }) => {
                tracing::warn!(
                    "{e}; this one checks every other layer and leaves the account to it"
                );
                self.without_account();
                None
            }
            Err(e) => {
                tracing::warn!(
                    "{e}; login checks paused: this line checks every other layer, without its account"
                );
                self.without_account();
                None
            }
        }
    }

    /// Lifts a suspended login of this line's account (the next query is sent); whether one
    /// was suspended.
    pub fn lift_suspension(&self) -> bool {
        let (Some(key), Some(path)) = (self.login_key(), &self.settings.login_ledger) else {
            return false;
        };
        match crate::probe::sip::guard::lift(path, &key) {
            Ok(lifted) => lifted,
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        }
    }
}

/// The registrar to use for a provider chosen without an account: the first concrete one in
/// its catalog entry (wildcards stand for regional hosts and cannot be dialled).
pub fn catalog_registrar(provider: &Provider) -> Option<String> {
    let r: &Registrar = provider
        .registrars
        .iter()
        .find(|r| !r.host.starts_with("*."))?;
    let host = &r.host;
    Some(match (r.port, r.transport) {
        (None, None) => host.clone(),
        (port, Some(Transport::Tls)) => {
            format!(
                "sips:{host}{}",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            )
        }
        (port, transport) => format!(
            "sip:{host}{}{}",
            port.map(|p| format!(":{p}")).unwrap_or_default(),
            transport
                .map(|t| format!(";transport={}", t.as_str()))
                .unwrap_or_default()
        ),
    })
}

/// The config as the probes use it: with only a provider chosen, its registrar is filled in,
/// so everything but the account is checked from the first minute.
pub fn effective_config(config: &Config, catalog: &Catalog) -> Config {
    let mut effective = config.clone();
    if effective.account.is_none() {
        if let Some(registrar) = config
            .provider
            .as_deref()
            .and_then(|id| catalog.get(id))
            .and_then(catalog_registrar)
        {
            effective.account = Some(AccountConfig {
                registrar,
                ..AccountConfig::default()
            });
        }
    }
    effective
}

/// Whether the probes could run on `config` as it stands (the registrar parses, the account
/// is complete), without fetching a password: for settings checked before they are saved.
pub fn check_probeable(config: &Config, catalog: &Catalog) -> Result<(), LineError> {
    LineSettings::from_config(&effective_config(config, catalog), None, catalog).map(|_| ())
}

/// Works out a line's settings. Blocking: the password may come from the keyring.
pub fn prepare(config: &Config, catalog: &Catalog) -> Result<Prepared, SetupError> {
    let configured = config.provider.is_some() || config.account.is_some();
    let effective = effective_config(config, catalog);
    let password = match effective.account.as_ref() {
        Some(account) if account.user.is_some() => password_for(account)?.0,
        _ => None,
    };
    let mut settings = LineSettings::from_config(&effective, password, catalog)?;
    settings.router.login = router_login(&effective.router)?;
    // `effective` keeps the chosen provider and adds only the registrar it implies.
    let provider = catalog.provider_of(&effective).cloned();
    let feeds = provider
        .as_ref()
        .map(|p| p.feeds.clone())
        .unwrap_or_default();
    Ok(Prepared {
        label: config.own_label(),
        listed: false,
        settings,
        config: effective,
        configured,
        provider,
        feeds,
    })
}

/// The history database of a `[[line]]` line: a file beside `base` named after its label
/// (`history-office-1a2b3c4d.sqlite3`): readable in a listing, and the hash keeps `Home!` and
/// `Home?` apart. Case does not count, as for the labels themselves, so `dialtone log --line
/// office` finds the line labelled `Office`. A config's only line uses `base` itself.
pub fn line_history_path(base: &Path, label: &str) -> PathBuf {
    use sha2::Digest;
    let label = label.trim().to_lowercase();
    let slug: String = label
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    let digest = sha2::Sha256::digest(label.as_bytes());
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history".into());
    let ext = base
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    base.with_file_name(format!("{stem}-{slug}-{}{ext}", &hex::encode(digest)[..8]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_alone_gets_its_first_concrete_registrar() {
        let catalog = Catalog::builtin().unwrap();
        let config = Config {
            provider: Some("1und1".into()),
            ..Config::default()
        };
        let effective = effective_config(&config, &catalog);
        let registrar = effective.account.unwrap().registrar;
        let first = catalog.get("1und1").unwrap().registrars[0].host.clone();
        assert!(registrar.contains(&first), "{registrar} vs {first}");
        // An account of the user's own is never replaced.
        let own = Config {
            provider: Some("1und1".into()),
            account: Some(AccountConfig {
                registrar: "sip:127.0.0.1:5070".into(),
                ..AccountConfig::default()
            }),
            ..Config::default()
        };
        assert_eq!(effective_config(&own, &catalog), own);
    }

    #[test]
    fn registrars_with_port_and_transport_become_uris() {
        let provider = |host: &str, port, transport| Provider {
            id: "t".into(),
            name: "T".into(),
            country: None,
            sip_domains: vec![],
            registrars: vec![
                Registrar {
                    host: "*.regional.example".into(),
                    port: None,
                    transport: None,
                    verified: true,
                    note: None,
                },
                Registrar {
                    host: host.into(),
                    port,
                    transport,
                    verified: true,
                    note: None,
                },
            ],
            stun: vec![],
            also_isp: None,
            default_transport: None,
            channels: vec![],
            feeds: vec![],
            notes: None,
        };
        use dialtone_core::observation::Transport;
        assert_eq!(
            catalog_registrar(&provider("sip.example", None, None)).unwrap(),
            "sip.example"
        );
        assert_eq!(
            catalog_registrar(&provider("sip.example", Some(5064), Some(Transport::Udp))).unwrap(),
            "sip:sip.example:5064;transport=udp"
        );
        assert_eq!(
            catalog_registrar(&provider("tls.example", Some(5061), Some(Transport::Tls))).unwrap(),
            "sips:tls.example:5061"
        );
    }

    #[test]
    fn each_listed_line_has_its_own_history_file_whatever_the_case() {
        let base = Path::new("/home/u/.local/share/dialtone/history.sqlite3");
        let office = line_history_path(base, "Office");
        assert_eq!(office, line_history_path(base, " office "));
        let name = office.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("history-office-") && name.ends_with(".sqlite3"),
            "{name}"
        );
        assert_eq!(office.parent(), base.parent());
        assert_ne!(
            line_history_path(base, "Home!"),
            line_history_path(base, "Home?")
        );
    }
}
