//! The line prober: one round of every probe, bottom to top, assembled into a [`Snapshot`].
//!
//! This is the production [`Prober`]: it owns the DNS resolver and the account prober (so the
//! REGISTER query's lockout guard lives as long as the monitor), and carries the last account
//! observation forward on rounds that do not query the account, because the query is rare
//! (every 15 minutes) while every round's diagnosis still needs to know the account's state.

use super::internet::{self, InternetSettings};
use super::locate::Resolver;
use super::router::{RouterProber, RouterSettings};
use super::sip::{self, AccountProber, AccountSettings, SipSettings};
use super::{device, gateway, ProbeScope, Prober};
use chrono::Utc;
use dialtone_core::address::{self, RegistrarAddress};
use dialtone_core::catalog::Catalog;
use dialtone_core::config::{self, Config};
use dialtone_core::observation::{
    AccountObservation, AccountOutcome, GatewaySource, ProviderObservation, Resolution,
    SipExchange, SipOutcome, Snapshot, Transport, TransportFailure,
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
        let provider_name = config
            .provider
            .as_deref()
            .and_then(|id| catalog.get(id))
            .or_else(|| {
                config
                    .account
                    .as_ref()
                    .and_then(|a| catalog.find_by_domain(&a.registrar))
            })
            .map(|p| p.name.clone());
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
        };
        let internet = InternetSettings {
            anchors: network.anchors,
            dns_name: network.dns_name,
            timeout,
        };
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
                ..SipSettings::default()
            },
            timeout,
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
}

/// What the prober remembers of the REGISTER query between rounds.
#[derive(Debug, Default)]
struct AccountMemory {
    observation: Option<AccountObservation>,
    queried_at: Option<std::time::Instant>,
    no_answer_streak: u32,
}

/// While the REGISTER query gets no final answer, it is repeated at most this often.
const NO_ANSWER_REQUERY: Duration = Duration::from_secs(30);

impl AccountMemory {
    /// Whether this round must query although the schedule does not ask for it.
    ///
    /// A query that got no final answer is one sample, and carried forward it would repeat
    /// itself in every round and confirm an outage on its own (seen under 20 % loss: one lost
    /// exchange became a provider outage). So the round right after it asks again, and the
    /// monitor's two confirmations then rest on two real answers; while the registrar stays
    /// silent the query repeats at most every [`NO_ANSWER_REQUERY`].
    fn requery_due(&self) -> bool {
        match self.no_answer_streak {
            0 => false,
            1 => true,
            _ => self
                .queried_at
                .is_none_or(|at| at.elapsed() >= NO_ANSWER_REQUERY),
        }
    }

    fn remember(&mut self, observation: &AccountObservation) {
        self.no_answer_streak = if matches!(observation.outcome, AccountOutcome::NoAnswer) {
            self.no_answer_streak.saturating_add(1)
        } else {
            0
        };
        self.queried_at = Some(std::time::Instant::now());
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
        let account = settings.account.clone().map(AccountProber::new);
        let router = RouterProber::new(settings.router.clone());
        Ok(LineProber {
            settings,
            resolver,
            account,
            router,
            last_account: Mutex::new(AccountMemory::default()),
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
                        tracing::warn!("OPTIONS probe could not run: {e}");
                        targets
                            .first()
                            .map(|target| SipExchange {
                                method: "OPTIONS".into(),
                                target: target.clone(),
                                outcome: SipOutcome::TransportFailed {
                                    kind: TransportFailure::Unreachable,
                                    detail: e.to_string(),
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
        match prober.query(&ordered, &self.settings.sip).await {
            Ok(observation) => Some(observation),
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
        let requery = self
            .last_account
            .lock()
            .map(|memory| memory.requery_due())
            .unwrap_or(false);
        let account = if scope.account || requery {
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
        memory.remember(&observation(AccountOutcome::Accepted { bindings: vec![] }));
        assert!(!memory.requery_due(), "an answer ends the re-asking");
        assert_eq!(memory.no_answer_streak, 0);
    }
}
