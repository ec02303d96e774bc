//! The router probe: the router's own view of its WAN link, connection and (on a FRITZ!Box)
//! phone registrations, as a [`RouterObservation`].
//!
//! One round asks the router at most a handful of times: once the IGD is located, three UPnP
//! actions (link, connection, external address); locating it costs one GET (plus one SSDP
//! M-SEARCH and one more GET when the gateway's port 49000 has no IGD description) and is
//! retried at most every [`REDISCOVER`] when it failed. Every request is bounded by the probe
//! timeout, and the whole router probe by [`RouterSettings::budget`]. Nothing the router says
//! is trusted beyond the router layer: a broken answer is a finding (see
//! [`dialtone_core::router::RouterErrorKind`]).

pub mod igd;
mod login;
pub mod soap;
pub mod tr064;
pub mod xml;

use chrono::{DateTime, Utc};
use dialtone_core::config::RouterUrl;
use dialtone_core::router::{RouterError, RouterErrorKind, RouterObservation};
use dialtone_core::secret::Secret;
use igd::Igd;
use soap::{Login, RequestError, RouterHttp};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tr064::{Tr064, VoipRead};
use url::Url;

/// A failed discovery is retried at most this often (most routers without UPnP stay so; one
/// SSDP search every two minutes is quiet enough for a home network).
pub const REDISCOVER: Duration = Duration::from_secs(120);
/// The longest wait for the gateway's description while discovering: a gateway that drops
/// port 49000 silently must not hold the round for a whole probe timeout.
pub const DISCOVERY_GET: Duration = Duration::from_secs(2);
/// How long an SSDP M-SEARCH waits for the gateway's answer (miniupnpd and others delay
/// their answer by up to MX = 1 s).
pub const SSDP_WAIT: Duration = Duration::from_millis(1500);

/// Where and how to ask the router.
#[derive(Debug, Clone)]
pub struct RouterSettings {
    /// `auto`, a URL, or off.
    pub target: RouterUrl,
    /// The TR-064 login, when a user and a password are configured.
    pub login: Option<Login>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The login guard's ledger, where a rejected router login is kept like a SIP one (every
    /// dialtone process, every restart), with the box the login belongs to and the lock that
    /// lets one login at a time go to a box; `None` keeps all of it in this process only.
    pub ledger: Option<std::path::PathBuf>,
}

impl RouterSettings {
    /// The longest one round's router probe may take: a discovery round needs a GET, the SSDP
    /// wait and another GET; a status round one timeout.
    pub fn budget(&self, discovering: bool) -> Duration {
        if discovering {
            self.timeout.min(DISCOVERY_GET) + SSDP_WAIT + self.timeout
        } else {
            self.timeout + Duration::from_millis(200)
        }
    }
}

/// What the prober remembers between rounds.
#[derive(Debug, Default)]
struct Memory {
    /// The gateway address everything below was found at (`auto`): another one is another
    /// network, and all of it is forgotten.
    gateway: Option<IpAddr>,
    igd: Option<Igd>,
    /// The last failed discovery: when, and what it found.
    failed: Option<(Instant, RouterObservation)>,
    /// The located TR-064 description.
    tr064: Option<Tr064>,
    /// When locating TR-064 last failed (retried after [`REDISCOVER`]).
    tr064_failed: Option<Instant>,
    /// Phone numbers by account index (asked once each).
    numbers: HashMap<u32, tr064::AccountInfo>,
    /// `GetMaxVoIPNumbers`, asked once.
    max: Option<u32>,
    /// The box the login belongs to, once known here (from the ledger or a good login): kept
    /// across network changes, it is the login's, not the network's.
    pinned: Option<String>,
    /// The login the box rejected, and when: nothing is sent with it to that box again (also
    /// written to the login guard's ledger, which is read before every login); a different
    /// user or password lifts it.
    rejected: Option<(String, DateTime<Utc>, String, Secret)>,
    /// After an HTTP 503: no TR-064 request before then, and the next back-off.
    busy_until: Option<Instant>,
    backoff: Duration,
}

impl Memory {
    /// Forgets every location, answer and back-off of the network it was learnt on (the pin
    /// and a rejection stay: they belong to the login and the box).
    fn forget_network(&mut self) {
        *self = Memory {
            pinned: self.pinned.take(),
            rejected: self.rejected.take(),
            ..Memory::default()
        };
    }
}

/// The first back-off after an HTTP 503; doubled on each further 503, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// The longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Asks the router once a round. Shared by the line prober for the monitor's lifetime.
pub struct RouterProber {
    settings: RouterSettings,
    http: Option<RouterHttp>,
    memory: Mutex<Memory>,
}

impl RouterProber {
    /// A prober; the HTTP client is built once (a failure to build it is logged and the
    /// router then reported as not answering).
    pub fn new(settings: RouterSettings) -> RouterProber {
        let http = match RouterHttp::new(settings.timeout) {
            Ok(http) => Some(http),
            Err(e) => {
                tracing::warn!("router probe: building the HTTP client: {e}");
                None
            }
        };
        RouterProber {
            settings,
            http,
            memory: Mutex::new(Memory::default()),
        }
    }

    /// The network changed (or the machine woke): the router at the gateway's address may be
    /// another one. Forgets where the IGD and TR-064 were found and the box's digest challenge,
    /// so the next login starts by reading the box's description (and identity) again.
    pub fn network_changed(&self) {
        if let Ok(mut m) = self.memory.lock() {
            m.forget_network();
        }
        if let Some(http) = &self.http {
            http.forget();
        }
    }

    /// One round: `None` when the router check is off.
    pub async fn probe(&self, gateway: Option<IpAddr>) -> Option<RouterObservation> {
        if self.settings.target == RouterUrl::Off {
            return None;
        }
        // Another gateway is another network, whether or not a network change was seen.
        let moved = self
            .memory
            .lock()
            .map(|mut m| {
                let moved = m.gateway.is_some() && m.gateway != gateway;
                m.gateway = gateway;
                moved
            })
            .unwrap_or(false);
        if moved {
            tracing::info!("the gateway changed: forgetting the router found at the old one");
            self.network_changed();
            if let Ok(mut m) = self.memory.lock() {
                m.gateway = gateway;
            }
        }
        let mut observation = self.igd_part(gateway).await;
        if let (Some(login), Some(http)) = (&self.settings.login, &self.http) {
            let budget = self.settings.timeout * 3;
            let voip = self.voip_part(http, gateway, login, &mut observation);
            if tokio::time::timeout(budget, voip).await.is_err() {
                observation.error.get_or_insert(RouterError {
                    kind: RouterErrorKind::BadAnswer,
                    detail: format!(
                        "TR-064: the router's answers took longer than {:.1} s",
                        budget.as_secs_f64()
                    ),
                });
            }
        }
        Some(observation)
    }

    /// The UPnP IGD part of a round (no login).
    async fn igd_part(&self, gateway: Option<IpAddr>) -> RouterObservation {
        let (cached, failed) = match self.memory.lock() {
            Ok(m) => (m.igd.clone(), m.failed.clone()),
            Err(_) => (None, None),
        };
        if cached.is_none() {
            if let Some((at, observation)) = failed {
                if at.elapsed() < REDISCOVER {
                    return observation;
                }
            }
        }
        let budget = self.settings.budget(cached.is_none());
        let url = self.start_url(gateway);
        match tokio::time::timeout(budget, self.round(cached, gateway)).await {
            Ok(observation) => observation,
            Err(_) => silent(
                url.map(|u| u.to_string()).unwrap_or_default(),
                RouterErrorKind::NoAnswer,
                format!(
                    "the router's answers took longer than {:.1} s",
                    budget.as_secs_f64()
                ),
            ),
        }
    }

    /// The TR-064 base: the configured URL, else the gateway's port 49000.
    fn tr064_url(&self, gateway: Option<IpAddr>) -> Option<Url> {
        match &self.settings.target {
            RouterUrl::At(url) => tr064::description_url(url),
            RouterUrl::Auto => {
                igd::gateway_url(gateway?).and_then(|u| tr064::description_url(&u.join("/").ok()?))
            }
            RouterUrl::Off => None,
        }
    }

    /// The FRITZ!Box TR-064 part (with a login): the phone accounts' registration states.
    /// The login goes only to the box it belongs to, one login per box at a time, and only
    /// while the login ledger can be used (see [`login`]).
    async fn voip_part(
        &self,
        http: &RouterHttp,
        gateway: Option<IpAddr>,
        login: &Login,
        observation: &mut RouterObservation,
    ) {
        let mut note = |kind: RouterErrorKind, detail: String| {
            // A login or back-off finding outranks an IGD one: it is what the user must act on.
            let replace = observation.error.is_none()
                || matches!(
                    kind,
                    RouterErrorKind::LoginRejected
                        | RouterErrorKind::LoginSuspended
                        | RouterErrorKind::Busy
                        | RouterErrorKind::WrongRouter
                        | RouterErrorKind::LoginPaused
                );
            if replace {
                observation.error = Some(RouterError { kind, detail });
            }
        };
        let (busy_until, mut numbers, mut max, known, rejected) = match self.memory.lock() {
            Ok(m) => (
                m.busy_until,
                m.numbers.clone(),
                m.max,
                m.pinned.clone(),
                m.rejected.clone(),
            ),
            Err(_) => return,
        };
        if let Some(until) = busy_until {
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                note(
                    RouterErrorKind::Busy,
                    format!("HTTP 503; next TR-064 request in {} s", left.as_secs()),
                );
                return;
            }
        }
        let located = match self.locate(http, gateway).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("TR-064 description: {e}");
                match &e {
                    RequestError::TooLarge { .. } | RequestError::Malformed { .. } => {
                        observation.reachable = true;
                        note(RouterErrorKind::BadAnswer, e.to_string());
                    }
                    RequestError::Status { code: 503, .. } => {
                        self.back_off();
                        note(RouterErrorKind::Busy, e.to_string());
                    }
                    // No TR-064 here (not a FRITZ!Box): the IGD view is all there is.
                    _ => {}
                }
                return;
            }
        };
        let identity = located.identity.as_deref();
        let suspended = |since: DateTime<Utc>| {
            format!(
                "user {}, rejected {}",
                login.user,
                since.format("%Y-%m-%d %H:%M UTC")
            )
        };
        if let Some((at_box, since, user, password)) = &rejected {
            if Some(at_box.as_str()) == identity
                && *user == login.user
                && *password == login.password
            {
                note(RouterErrorKind::LoginSuspended, suspended(*since));
                return;
            }
        }
        let permit = match login::permit(
            self.settings.ledger.as_deref(),
            login,
            identity,
            known.as_deref(),
            // Another line's login at this box takes a few requests; the whole TR-064 part
            // has three timeouts.
            self.settings.timeout * 2,
        )
        .await
        {
            Ok(permit) => permit,
            Err(refusal) => {
                // Nothing authenticated went out, and no challenge of this box is kept.
                http.forget();
                match refusal {
                    login::Refusal::Paused(why) => {
                        tracing::warn!("router login checks paused: {why}");
                        note(RouterErrorKind::LoginPaused, why);
                    }
                    login::Refusal::WrongRouter(what) => {
                        tracing::info!("no router login sent: {what}");
                        observation.reachable = true;
                        note(RouterErrorKind::WrongRouter, what);
                    }
                    login::Refusal::Suspended(since) => {
                        note(RouterErrorKind::LoginSuspended, suspended(since));
                    }
                    login::Refusal::Elsewhere => tracing::info!(
                        "another dialtone line or process is logging in to the router: not this round"
                    ),
                }
                return;
            }
        };
        let result = tr064::read_voip(http, &located, login, &mut numbers, &mut max).await;
        if let Ok(mut m) = self.memory.lock() {
            m.numbers = numbers;
            m.max = max;
        }
        let accepted = matches!(result, Ok(_) | Err(RequestError::Fault { .. }));
        if let (true, Some(identity)) = (accepted, identity) {
            // The first good login: from now on the login goes to this box only.
            if !permit.pinned {
                tracing::info!("the router login belongs to the box {identity} from now on");
                if let Err(why) = login::pin(self.settings.ledger.as_deref(), login, identity) {
                    tracing::warn!("router login checks paused: {why}");
                    note(RouterErrorKind::LoginPaused, why);
                }
            }
            if let Ok(mut m) = self.memory.lock() {
                m.pinned = Some(identity.to_string());
            }
        }
        match result {
            Ok(VoipRead::Accounts(accounts)) => {
                observation.reachable = true;
                observation.voip = accounts;
                if observation.model.is_none() {
                    observation.model = located.model.clone();
                }
                if observation.url.is_empty()
                    || observation
                        .error
                        .as_ref()
                        .is_some_and(|e| e.kind == RouterErrorKind::NoAnswer)
                {
                    observation.url = located.description.to_string();
                }
                if let Ok(mut m) = self.memory.lock() {
                    m.backoff = Duration::ZERO;
                }
            }
            Ok(VoipRead::TooOld) => {
                observation.reachable = true;
                tracing::info!(
                    "TR-064: this FRITZ!OS has no X_AVM-DE_GetVoIPStatus: too old to tell"
                );
            }
            Err(e @ RequestError::LoginRejected { .. }) => {
                observation.reachable = true;
                tracing::warn!(
                    "router login rejected: {e}; not retried until the password changes"
                );
                let now = Utc::now();
                if let (Ok(mut m), Some(identity)) = (self.memory.lock(), identity) {
                    m.rejected = Some((
                        identity.to_string(),
                        now,
                        login.user.clone(),
                        login.password.clone(),
                    ));
                }
                if let Err(e) = permit.guard.reject(now, 401) {
                    tracing::warn!("{e}; the rejection is remembered by this process only");
                }
                note(
                    RouterErrorKind::LoginRejected,
                    format!("user {}", login.user),
                );
            }
            Err(e @ RequestError::Status { code: 503, .. }) => {
                observation.reachable = true;
                let wait = self.back_off();
                note(
                    RouterErrorKind::Busy,
                    format!("{e}; next TR-064 request in {} s", wait.as_secs()),
                );
            }
            Err(e) => {
                if !e.is_silence() {
                    observation.reachable = true;
                }
                note(RouterErrorKind::BadAnswer, e.to_string());
            }
        }
        // The lock is released here, after the ledger knows what this login learnt.
        drop(permit);
    }

    /// The TR-064 description, located once (and again after a network change): `Ok(None)`
    /// while a failed attempt is recent or there is nothing to ask.
    async fn locate(
        &self,
        http: &RouterHttp,
        gateway: Option<IpAddr>,
    ) -> Result<Option<Tr064>, RequestError> {
        let (cached, failed_at) = match self.memory.lock() {
            Ok(m) => (m.tr064.clone(), m.tr064_failed),
            Err(_) => return Ok(None),
        };
        if let Some(t) = cached {
            return Ok(Some(t));
        }
        if failed_at.is_some_and(|at| at.elapsed() < REDISCOVER) {
            return Ok(None);
        }
        let Some(url) = self.tr064_url(gateway) else {
            return Ok(None);
        };
        let mut found = match http.description(&url).await {
            Ok(doc) => {
                tr064::read_description(&url, &doc).map_err(|detail| RequestError::Malformed {
                    op: "GET".into(),
                    url: url.to_string(),
                    detail,
                })
            }
            Err(e) => Err(e),
        };
        if let Ok(t) = &mut found {
            tr064::prefer_tls(http, t).await;
        }
        if let Ok(mut m) = self.memory.lock() {
            match &found {
                Ok(t) => {
                    m.tr064 = Some(t.clone());
                    m.tr064_failed = None;
                }
                Err(_) => m.tr064_failed = Some(Instant::now()),
            }
        }
        found.map(Some)
    }

    /// Starts (or doubles) the back-off after an HTTP 503; returns its length.
    fn back_off(&self) -> Duration {
        let Ok(mut m) = self.memory.lock() else {
            return FIRST_BACKOFF;
        };
        m.backoff = if m.backoff.is_zero() {
            FIRST_BACKOFF
        } else {
            (m.backoff * 2).min(MAX_BACKOFF)
        };
        m.busy_until = Some(Instant::now() + m.backoff);
        m.backoff
    }

    /// The first description URL to try.
    fn start_url(&self, gateway: Option<IpAddr>) -> Option<Url> {
        match &self.settings.target {
            RouterUrl::At(url) if url.path() == "/" || url.path().is_empty() => {
                url.join("/igddesc.xml").ok()
            }
            RouterUrl::At(url) => Some(url.clone()),
            RouterUrl::Auto => gateway.and_then(igd::gateway_url),
            RouterUrl::Off => None,
        }
    }

    async fn round(&self, cached: Option<Igd>, gateway: Option<IpAddr>) -> RouterObservation {
        let Some(http) = &self.http else {
            return silent(
                String::new(),
                RouterErrorKind::NoAnswer,
                "no HTTP client".into(),
            );
        };
        let igd = match cached {
            Some(igd) => igd,
            None => match self.discover(http, gateway).await {
                Ok(igd) => {
                    if let Ok(mut m) = self.memory.lock() {
                        m.igd = Some(igd.clone());
                        m.failed = None;
                    }
                    igd
                }
                Err(observation) => {
                    if let Ok(mut m) = self.memory.lock() {
                        m.failed = Some((Instant::now(), observation.clone()));
                    }
                    return observation;
                }
            },
        };
        let status = igd::status(http, &igd).await;
        observe(&igd, status)
    }

    /// Finds the IGD: the configured or gateway URL, then (auto, real gateway only) SSDP.
    async fn discover(
        &self,
        http: &RouterHttp,
        gateway: Option<IpAddr>,
    ) -> Result<Igd, RouterObservation> {
        let Some(first) = self.start_url(gateway) else {
            return Err(silent(
                String::new(),
                RouterErrorKind::NoAnswer,
                "no gateway address to ask".into(),
            ));
        };
        let wait = self.settings.timeout.min(DISCOVERY_GET);
        let first_error = match tokio::time::timeout(wait, igd::describe(http, &first)).await {
            Ok(Ok(igd)) => return Ok(igd),
            Ok(Err(e)) => e,
            Err(_) => RequestError::Timeout {
                op: "GET".into(),
                url: first.to_string(),
                after: wait,
            },
        };
        tracing::debug!("router description: {first_error}");
        // An answer that is not a usable description is a finding of its own, unless it is
        // a plain "not here" (404) that SSDP may still resolve.
        let answered_badly = matches!(
            first_error,
            RequestError::TooLarge { .. } | RequestError::Malformed { .. }
        );
        let ssdp_gateway = match (&self.settings.target, gateway) {
            // SSDP only towards a real gateway: never multicast for a loopback test setup.
            (RouterUrl::Auto, Some(gw)) if !gw.is_loopback() && !answered_badly => Some(gw),
            _ => None,
        };
        let Some(gw) = ssdp_gateway else {
            return Err(failure(&first, &first_error, None));
        };
        match igd::search(gw, SSDP_WAIT).await {
            Ok(location) => igd::describe(http, &location)
                .await
                .map_err(|e| failure(&location, &e, None)),
            Err(ssdp) => Err(failure(&first, &first_error, Some(&ssdp))),
        }
    }
}

/// An observation of a router that gave nothing usable.
fn silent(url: String, kind: RouterErrorKind, detail: String) -> RouterObservation {
    RouterObservation {
        url,
        reachable: false,
        error: Some(RouterError { kind, detail }),
        ..RouterObservation::default()
    }
}

/// The observation of a failed discovery.
fn failure(url: &Url, error: &RequestError, ssdp: Option<&str>) -> RouterObservation {
    let detail = match ssdp {
        Some(ssdp) => format!("{error}; {ssdp}"),
        None => error.to_string(),
    };
    let (reachable, kind) = match error {
        RequestError::TooLarge { .. } | RequestError::Malformed { .. } => {
            (true, RouterErrorKind::BadAnswer)
        }
        RequestError::Status { code: 503, .. } => (true, RouterErrorKind::Busy),
        _ => (false, RouterErrorKind::NoAnswer),
    };
    RouterObservation {
        url: url.to_string(),
        reachable,
        error: Some(RouterError { kind, detail }),
        ..RouterObservation::default()
    }
}

/// Turns the three status answers into the observation.
fn observe(igd: &Igd, status: igd::Status) -> RouterObservation {
    let mut observation = RouterObservation {
        url: igd.description.to_string(),
        model: igd.model.clone(),
        ..RouterObservation::default()
    };
    let mut errors: Vec<RequestError> = Vec::new();
    let mut answered = false;
    match status.link {
        Some(Ok(link)) => {
            answered = true;
            observation.link = Some(link).filter(|l| !l.is_empty());
        }
        Some(Err(e)) => errors.push(e),
        None => {}
    }
    match status.connection {
        Some(Ok((connection, last_error, uptime))) => {
            answered = true;
            observation.connection = Some(connection).filter(|c| !c.is_empty());
            observation.last_error = last_error;
            observation.uptime_s = uptime;
        }
        Some(Err(e)) => errors.push(e),
        None => {}
    }
    match status.external_ipv4 {
        Some(Ok(ip)) => {
            answered = true;
            observation.external_ipv4 = Some(ip);
        }
        Some(Err(e)) => errors.push(e),
        None => {}
    }
    let all_silent = !errors.is_empty() && errors.iter().all(RequestError::is_silence);
    observation.reachable = answered || !all_silent;
    if let Some(first) = errors.first() {
        let kind = if !observation.reachable {
            RouterErrorKind::NoAnswer
        } else if errors
            .iter()
            .any(|e| matches!(e, RequestError::Status { code: 503, .. }))
        {
            RouterErrorKind::Busy
        } else if !answered
            && errors
                .iter()
                .all(|e| matches!(e, RequestError::Status { .. } | RequestError::Fault { .. }))
        {
            RouterErrorKind::StatusHidden
        } else {
            RouterErrorKind::BadAnswer
        };
        observation.error = Some(RouterError {
            kind,
            detail: first.to_string(),
        });
    }
    observation
}
