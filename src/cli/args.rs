//! The flags every command that probes a line shares: the overrides of the config file and,
//! for the commands that keep watching, the schedule and the history store. They become the
//! engine's [`Overrides`] and [`MonitorOptions`]; clap stays on this side of the crate line.

use dialtone_core::observation::Transport;
use dialtone_engine::setup::Overrides;
use std::path::PathBuf;

/// Overrides of the config file, one flag per setting (the engine's [`Overrides`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OverrideArgs {
    /// The config file (default: config.toml in the XDG config dir).
    #[arg(long, value_name = "FILE", env = "DIALTONE_CONFIG")]
    pub config: Option<PathBuf>,
    /// With `[[line]]` tables in the config: only the line with this label.
    #[arg(long = "line", value_name = "LABEL")]
    pub line: Option<String>,
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
    /// Ask the router for its own view: `auto` (the gateway, then SSDP), its URL, or `off`.
    #[arg(long, value_name = "auto|URL|off")]
    pub router: Option<String>,
    /// The FRITZ!Box user for TR-064 (the "phone" right is enough).
    #[arg(long, value_name = "NAME")]
    pub router_user: Option<String>,
    /// Read the router password from this environment variable (instead of the OS keyring).
    #[arg(long, value_name = "VAR")]
    pub router_password_env: Option<String>,
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

/// Arguments of `dialtone agent` (also what `dialtone` alone runs with).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AgentArgs {
    /// Schedule and history flags, shared with `watch`.
    #[command(flatten)]
    pub monitor: MonitorArgs,
    /// Config file and per-run overrides.
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

impl AgentArgs {
    /// The engine's overrides the agent's flags stand for.
    pub fn overrides(&self) -> Overrides {
        let mut overrides = self.overrides.overrides();
        self.monitor.add_to(&mut overrides);
        overrides
    }
}

impl OverrideArgs {
    /// The engine's overrides these flags stand for.
    pub fn overrides(&self) -> Overrides {
        // The flags whose values the engine types differently; the rest are the same values
        // under the same names.
        let a = self.clone();
        Overrides {
            transport: a.transport.map(Transport::from),
            expect_binding: a.expect_binding.map(|v| v == YesNo::Yes),
            config: a.config,
            line: a.line,
            registrar: a.registrar,
            user: a.user,
            domain: a.domain,
            password_env: a.password_env,
            ca_file: a.ca_file,
            anchors: a.anchors,
            gateway: a.gateway,
            dns_server: a.dns_server,
            dns_name: a.dns_name,
            timeout: a.timeout,
            provider: a.provider,
            catalog: a.catalog,
            router: a.router,
            router_user: a.router_user,
            router_password_env: a.router_password_env,
            ..Overrides::default()
        }
    }
}

impl MonitorArgs {
    /// Adds these flags to `overrides`.
    pub fn add_to(&self, overrides: &mut Overrides) {
        overrides.interval = self.interval;
        overrides.recheck = self.recheck;
        overrides.confirmations = self.confirmations;
        overrides.db = self.db.clone();
        overrides.no_history = self.no_history;
    }
}
