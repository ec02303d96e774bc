//! The line prober: one round of every probe, bottom to top, assembled into a [`Snapshot`].
//!
//! This is the production [`Prober`]: it owns the DNS resolver and the account prober (so the
//! REGISTER query's lockout guard lives as long as the monitor), and carries the last account
//! observation forward on rounds that do not query the account, because the query is rare
//! (every 15 minutes) while every round's diagnosis still needs to know the account's state.

use super::internet::{self, InternetSettings};
use super::locate::Resolver;
use super::router::{RouterProber, RouterSettings};
use super::sip::guard::LoginGuard;
use super::sip::{self, AccountProber, AccountSettings, SipSettings};
use super::{device, gateway, ProbeScope, Prober};
use chrono::Utc;
use dialtone_core::address::{self, RegistrarAddress};
use dialtone_core::catalog::Catalog;
use dialtone_core::config::{self, Config};
use dialtone_core::observation::{
    AccountObservation, AccountOutcome, Acquaintance, GatewaySource, ProviderObservation,
    Resolution, SipExchange, SipOutcome, Snapshot, Transport, TransportFailure,
};
use dialtone_core::secret::Secret;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

/// The per-probe timeout when the config sets none, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 5.0;

/// Everything the probes need, resolved from the config file and the command line.
#[derive(Debug, Clone)]
pub struct LineSettings {
    /// The registrar as the user wrote it (for evidence), with its parsed form.
    pub registrar: Option<(String, RegistrarAddress)>,
    /// A transport forced by the user instead of RFC 3263's choice.
    pub transport: Option<Transport>,
    /// The provider's display name, when known.
    pub provider_name: Option<String>,
    /// The account for the REGISTER query, when a user and a password are configured.
    pub account: Option<AccountSettings>,
    /// The router's address; `None` to take it from the routing table.
    pub gateway: Option<IpAddr>,
    /// Anchors and the DNS test name.
    pub internet: InternetSettings,
    /// The DNS server for every lookup; the system's when `None`.
    pub dns_server: Option<SocketAddr>,
    /// SIP timers, timeout and extra CA.
    pub sip: SipSettings,
    /// Timeout of the gateway check and of DNS lookups.
    pub timeout: Duration,
    /// The REGISTER query's normal interval: the longest back-off while it gets no answer.
    pub account_interval: Duration,
    /// The login guard's ledger (rejections, `Retry-After`), shared by every dialtone process;
    /// `None` keeps them in this process only.
    pub login_ledger: Option<std::path::PathBuf>,
    /// A one-off `dialtone check` a person asked for: a login another run sent less than a
    /// minute ago does not hold its own back (a monitor's does: see
    /// [`LoginGuard::one_off`]).
    pub one_off: bool,
    /// Asking the router for its own view (its login is filled in by the set-up).
    pub router: RouterSettings,
    /// The provider catalog, to name the provider from the registrar the router uses.
    pub catalog: Catalog,
}

/// Why the settings cannot form a line to probe.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// A value in the configuration is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The system's DNS configuration could not be read.
    #[error("setting up DNS: {0}")]
    Resolver(String),
}

impl LineSettings {
    /// Builds the settings from a validated config; `password` is used only with a user.
    pub fn from_config(
        config: &Config,
        password: Option<Secret>,
        catalog: &Catalog,
    ) -> Result<LineSettings, LineError> {
        let invalid = |key: &str, message: String| config::ConfigError::Invalid {
            origin: "settings".into(),
            key: key.into(),
            message,
        };
        // 5 s lets a UDP OPTIONS go out four times (0, 0.5, 1.5, 3.5 s), which rides out real
        // loss, while two failed rounds still confirm an outage well inside 45 s.
        let timeout = Duration::from_secs_f64(config.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS));
        let mut registrar = None;
        let mut transport = None;
        let mut account = None;
        let mut extra_ca = None;
        if let Some(acc) = &config.account {
            let parsed = address::parse_registrar(&acc.registrar)
                .map_err(|e| invalid("account.registrar", e.to_string()))?;
            transport = acc.transport;
            extra_ca = acc.ca_file.clone();
            if let (Some(user), Some(password)) = (&acc.user, password) {
                let domain = acc.domain.clone().unwrap_or_else(|| parsed.host.clone());
                account = Some(AccountSettings {
                    aor: format!("sip:{user}@{}", sip::message::uri_host(&domain)),
                    auth_user: acc.auth_user.clone().unwrap_or_else(|| user.clone()),
                    password,
                });
            }
            registrar = Some((acc.registrar.clone(), parsed));
        }
        let provider_name = catalog.provider_of(config).map(|p| p.name.clone());
        // The one parse of the network values; config validation ran the same.
        let network = config
            .network
            .parse()
            .map_err(|e| invalid(&format!("network.{}", e.key), e.message))?;
        let gateway = network.gateway;
        let dns_server = network.dns_server;
        let router = RouterSettings {
            target: config
                .router
                .parse_url()
                .map_err(|e| invalid(&format!("router.{}", e.key), e.message))?,
            login: None,
            timeout,
            ledger: super::sip::guard::default_path(),
        };
        let internet = InternetSettings {
            anchors: network.anchors,
            dns_name: network.dns_name,
            timeout,
        };
        let sip_domain = registrar.as_ref().map(|(_, parsed)| parsed.host.clone());
        Ok(LineSettings {
            registrar,
            transport,
            provider_name,
            account,
            gateway,
            internet,
            dns_server,
            sip: SipSettings {
                timeout,
                extra_ca,
                // TLS certificates must name the domain the user configured (RFC 5922 §4).
                sip_domain,
                ..SipSettings::default()
            },
            timeout,
            account_interval: config.schedule.account_interval(),
            login_ledger: super::sip::guard::default_path(),
            one_off: false,
            router,
            catalog: catalog.clone(),
        })
    }
}

/// The production prober. Cheap to share: the monitor holds it for the agent's lifetime.
pub struct LineProber {
    settings: LineSettings,
    resolver: Resolver,
    account: Option<AccountProber>,
    router: RouterProber,
    /// The most recent REGISTER query, repeated in rounds that do not run one, with when it
    /// ran and how many queries in a row got no final answer.
    last_account: Mutex<AccountMemory>,
    /// What has been seen of the registrar from here, this round excluded.
    acquaintance: Mutex<Acquaintance>,
}

/// What the prober remembers of the REGISTER query between rounds.
#[derive(Debug, Default)]
struct AccountMemory {
    observation: Option<AccountObservation>,
    /// When a query last went out (not when one was held back by the login guard).
    queried_at: Option<std::time::Instant>,
    no_answer_streak: u32,
    /// The back-off's cap: the query's normal interval.
    interval: Duration,
    /// Until when another run's recent login holds the query back: the first round after it
    /// asks again, so a restarted monitor does not wait for the whole normal interval.
    held_until: Option<std::time::Instant>,
}

/// The first wait before the REGISTER query is repeated after a second round without an
/// answer; it doubles with every further silent query, up to the query's normal interval.
const NO_ANSWER_REQUERY: Duration = Duration::from_secs(30);

/// "Check now" (and any other round asking for the account) sends the REGISTER query at most
/// this often: a user pressing the button repeatedly must not turn into repeated logins.
const MIN_QUERY_GAP: Duration = Duration::from_secs(60);

impl AccountMemory {
    /// Whether this round must query although the schedule does not ask for it.
    ///
    /// A query that got no final answer is one sample, and carried forward it would repeat
    /// itself in every round and confirm an outage on its own (seen under 20 % loss: one lost
    /// exchange became a provider outage). So the round right after it asks again, and the
    /// monitor's two confirmations then rest on two real answers; while the registrar stays
    /// silent the query backs off: after [`NO_ANSWER_REQUERY`], then twice that, and so on up
    /// to the query's normal interval.
    fn requery_due(&self) -> bool {
        if self
            .held_until
            .is_some_and(|until| std::time::Instant::now() >= until)
        {
            return true;
        }
        match self.no_answer_streak {
            0 => false,
            1 => true,
            n => self
                .queried_at
                .is_none_or(|at| at.elapsed() >= self.backoff(n)),
        }
    }

    /// The wait after the `streak`-th query in a row without an answer (`streak` ≥ 2).
    fn backoff(&self, streak: u32) -> Duration {
        let doublings = streak.saturating_sub(2).min(16);
        NO_ANSWER_REQUERY
            .saturating_mul(1u32 << doublings)
            .min(self.interval.max(NO_ANSWER_REQUERY))
    }

    /// Whether a query went out less than [`MIN_QUERY_GAP`] ago.
    fn sent_recently(&self) -> bool {
        self.queried_at
            .is_some_and(|at| at.elapsed() < MIN_QUERY_GAP)
    }

    fn remember(&mut self, observation: &AccountObservation) {
        let held_back = matches!(
            observation.outcome,
            AccountOutcome::Suspended { .. }
                | AccountOutcome::Deferred { .. }
                | AccountOutcome::Paused { .. }
        );
        self.no_answer_streak = if matches!(observation.outcome, AccountOutcome::NoAnswer) {
            self.no_answer_streak.saturating_add(1)
        } else {
            0
        };
        if !held_back {
            self.queried_at = Some(std::time::Instant::now());
        }
        self.held_until = None;
        self.observation = Some(observation.clone());
    }
}

impl LineProber {
    /// Sets up the resolver and the account prober.
    pub fn new(settings: LineSettings) -> Result<LineProber, LineError> {
        let resolver = match settings.dns_server {
            Some(server) => Resolver::with_server(server, settings.timeout),
            None => Resolver::system(settings.timeout),
        }
        .map_err(|e| LineError::Resolver(e.to_string()))?;
        // The login guard is shared with every other dialtone process through the state dir.
        let registrar = settings
            .registrar
            .as_ref()
            .map(|(text, _)| text.clone())
            .unwrap_or_default();
        let account = settings.account.clone().map(|account| {
            let guard = LoginGuard::new(
                settings.login_ledger.clone(),
                &registrar,
                &account.aor,
                &account.auth_user,
                &account.password,
            );
            let guard = if settings.one_off {
                guard.one_off()
            } else {
                guard
            };
            AccountProber::with_guard(account, guard)
        });
        // What earlier rounds, here or in another dialtone process, saw of the registrar.
        let known = match (&settings.login_ledger, &settings.registrar) {
            (Some(path), Some((text, _))) => super::sip::guard::acquaintance(path, text)
                .unwrap_or_else(|e| {
                    tracing::warn!("{e}");
                    Acquaintance::default()
                }),
            _ => Acquaintance::default(),
        };
        let router = RouterProber::new(settings.router.clone());
        Ok(LineProber {
            acquaintance: Mutex::new(known),
            last_account: Mutex::new(AccountMemory {
                interval: settings.account_interval,
                ..AccountMemory::default()
            }),
            settings,
            resolver,
            account,
            router,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &LineSettings {
        &self.settings
    }

    async fn probe_provider(&self) -> Option<ProviderObservation> {
        let (text, registrar) = self.settings.registrar.as_ref()?;
        let resolution = self
            .resolver
            .locate(registrar, self.settings.transport)
            .await;
        let exchanges = match &resolution {
            Resolution::Resolved { targets, .. } => {
                match sip::options_first_answer(targets, &self.settings.sip).await {
                    Ok(exchanges) => exchanges,
                    Err(e) => {
                        // The probe could not even send (no socket): that is this computer's
                        // problem, recorded as a transport failure so the round still counts.
                        // The error's kind goes with it: a socket this computer could not open
                        // (EMFILE) is a local finding the diagnosis must never blame on the
                        // provider.
                        tracing::warn!("OPTIONS probe could not run: {e}");
                        let detail = match e {
                            sip::SipError::Bind { detail, .. } => detail,
                            // E.g. the CA file unreadable for want of a file descriptor.
                            other => super::locate::explain_locally(other.to_string().into()),
                        };
                        targets
                            .first()
                            .map(|target| SipExchange {
                                method: "OPTIONS".into(),
                                target: target.clone(),
                                outcome: SipOutcome::TransportFailed {
                                    kind: TransportFailure::Unreachable,
                                    detail,
                                },
                                transmissions: 0,
                                ignored: 0,
                                elapsed: Duration::ZERO,
                            })
                            .into_iter()
                            .collect()
                    }
                }
            }
            Resolution::Failed { .. } => Vec::new(),
        };
        Some(ProviderObservation {
            registrar: text.clone(),
            provider_name: self.settings.provider_name.clone(),
            resolution,
            exchanges,
            // Filled in once the round is complete (the REGISTER query counts too).
            acquaintance: None,
        })
    }

    async fn probe_account(
        &self,
        provider: Option<&ProviderObservation>,
    ) -> Option<AccountObservation> {
        let prober = self.account.as_ref()?;
        let provider = provider?;
        let Resolution::Resolved { targets, .. } = &provider.resolution else {
            return None;
        };
        // Ask the target that just answered OPTIONS first: it is the one known to be alive.
        let mut ordered = targets.clone();
        if let Some(answered) = provider
            .exchanges
            .iter()
            .find(|x| matches!(x.outcome, SipOutcome::Response { .. }))
        {
            ordered.retain(|t| t != &answered.target);
            ordered.insert(0, answered.target.clone());
        }
        if let Ok(mut memory) = self.last_account.lock() {
            // Asked now: a hold that has run out must not ask again every round.
            memory.held_until = None;
        }
        match prober.query(&ordered, &self.settings.sip).await {
            Ok(observation) => Some(observation),
            Err(sip::SipError::TooSoon { until }) => {
                tracing::info!(
                    %until,
                    "login check held back: another run logged in less than a minute ago"
                );
                let wait = (until - Utc::now()).to_std().unwrap_or_default();
                if let Ok(mut memory) = self.last_account.lock() {
                    memory.held_until = Some(std::time::Instant::now() + wait);
                }
                None
            }
            Err(sip::SipError::LoginChecksPaused { source }) => {
                // Nothing was sent; the next scheduled check tries the ledger again. The user
                // sees why in the account layer, not only in the log.
                tracing::warn!("login checks paused: {source}");
                let aor = self.settings.account.as_ref().map(|a| a.aor.as_str());
                Some(sip::register::paused_observation(
                    &source,
                    aor.unwrap_or_default(),
                ))
            }
            Err(e) => {
                tracing::warn!("REGISTER query could not run: {e}");
                None
            }
        }
    }
}

impl Prober for LineProber {
    async fn probe(&self, scope: ProbeScope) -> Snapshot {
        let taken_at = Utc::now();
        let device = device::probe();
        let (gateway_address, source) = match self.settings.gateway {
            Some(address) => (Some(address), GatewaySource::Configured),
            None => (
                device.default_route.as_ref().and_then(|r| r.gateway),
                GatewaySource::Detected,
            ),
        };
        let (home_network, router, internet, provider) = tokio::join!(
            gateway::probe(gateway_address, source, self.settings.timeout),
            self.router.probe(gateway_address),
            internet::probe(&self.settings.internet, &self.resolver),
            self.probe_provider(),
        );
        // Name the provider from the registrar the router uses (the catalog knows it).
        let router = router.map(|mut r| {
            if r.provider_name.is_none() {
                r.provider_name = r
                    .voip
                    .iter()
                    .filter_map(|v| v.registrar.as_deref())
                    .find_map(|registrar| self.settings.catalog.find_by_domain(registrar))
                    .map(|p| p.name.clone());
            }
            r
        });
        let (requery, recent) = self
            .last_account
            .lock()
            .map(|memory| (memory.requery_due(), memory.sent_recently()))
            .unwrap_or((false, true));
        let account = if requery || (scope.account && !recent) {
            let fresh = self.probe_account(provider.as_ref()).await;
            if let Some(observation) = &fresh {
                if let Ok(mut memory) = self.last_account.lock() {
                    memory.remember(observation);
                }
            }
            fresh
        } else {
            self.last_account
                .lock()
                .ok()
                .and_then(|memory| memory.observation.clone())
        };
        let provider = provider.map(|mut provider| {
            provider.acquaintance = Some(self.acquaint(&provider, account.as_ref()));
            provider
        });
        Snapshot {
            taken_at,
            device,
            home_network: Some(home_network),
            router,
            internet: Some(internet),
            provider,
            account,
        }
    }
}

impl LineProber {
    /// What was known of the registrar before this round; records what this round adds (in
    /// the ledger every dialtone process shares, written only when something is new).
    fn acquaint(
        &self,
        provider: &ProviderObservation,
        account: Option<&AccountObservation>,
    ) -> Acquaintance {
        // Any answer counts, also one dialtone could not use (100 Trying only, oversized,
        // rewritten by an ALG): such a registrar is there, and its silence later is news.
        let answered = |x: &SipExchange| x.outcome.heard_from();
        let seen = Acquaintance {
            resolved: matches!(provider.resolution, Resolution::Resolved { .. }),
            answered_options: provider.exchanges.iter().any(answered),
            answered_register: account
                .and_then(|a| a.exchange.as_ref())
                .is_some_and(answered),
        };
        let Ok(mut known) = self.acquaintance.lock() else {
            return Acquaintance::default();
        };
        let before = *known;
        let after = Acquaintance {
            resolved: before.resolved | seen.resolved,
            answered_options: before.answered_options | seen.answered_options,
            answered_register: before.answered_register | seen.answered_register,
        };
        if after != before {
            *known = after;
            if let Some(path) = &self.settings.login_ledger {
                if let Err(e) = super::sip::guard::remember(path, &provider.registrar, after) {
                    tracing::warn!("{e}");
                }
            }
        }
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialtone_core::observation::Binding;

    fn observation(outcome: AccountOutcome) -> AccountObservation {
        AccountObservation {
            checked_at: Utc::now(),
            aor: "sip:alice@example.net".into(),
            outcome,
            exchange: None,
        }
    }

    #[test]
    fn a_query_without_answer_is_asked_again_not_carried_forward() {
        let mut memory = AccountMemory::default();
        assert!(!memory.requery_due(), "nothing known: the schedule decides");
        memory.remember(&observation(AccountOutcome::Accepted {
            bindings: vec![Binding {
                contact: "sip:alice@192.0.2.7".into(),
                expires: Some(300),
            }],
        }));
        assert!(!memory.requery_due(), "an answer is carried forward");
        memory.remember(&observation(AccountOutcome::NoAnswer));
        assert!(memory.requery_due(), "the next round asks again");
        memory.remember(&observation(AccountOutcome::NoAnswer));
        assert!(
            !memory.requery_due(),
            "a registrar that stays silent is asked at most every 30 s"
        );
        memory.queried_at = std::time::Instant::now().checked_sub(NO_ANSWER_REQUERY);
        assert!(memory.requery_due());
        // Back-off: 30 s, 60 s, 120 s …, never beyond the query's normal interval.
        memory.interval = Duration::from_secs(900);
        memory.remember(&observation(AccountOutcome::NoAnswer));
        memory.queried_at = std::time::Instant::now().checked_sub(NO_ANSWER_REQUERY);
        assert!(!memory.requery_due(), "the third silent query waits 60 s");
        assert_eq!(memory.backoff(3), Duration::from_secs(60));
        assert_eq!(memory.backoff(4), Duration::from_secs(120));
        assert_eq!(memory.backoff(40), Duration::from_secs(900));
        assert!(
            memory.sent_recently(),
            "check now waits a minute after a query"
        );
        memory.remember(&observation(AccountOutcome::Accepted { bindings: vec![] }));
        assert!(!memory.requery_due(), "an answer ends the re-asking");
        assert_eq!(memory.no_answer_streak, 0);
    }
}
