//! The authenticated REGISTER query: a REGISTER **without Contact** (RFC 3261 §10.2.3) that
//! proves the credentials work and lists the line's current bindings without adding one.
//!
//! dialtone must never register a contact of its own: incoming calls would fork to a contact
//! that never answers. Providers lock out accounts that fail repeatedly, so after one rejection
//! [`AccountProber`] sends nothing more until the credentials change or the user asks to try
//! again, and it obeys the registrar's `Retry-After`; its [`LoginGuard`] keeps both on disk, so
//! that holds across restarts and processes too.

use super::digest::{self, DigestRequest};
use super::guard::{Gate, GuardError, LoginGuard};
use super::message::{self, RequestSpec, SipResponse, TransactionId};
use super::transport::{Connection, TransactionResult};
use super::{SipError, SipSettings};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use dialtone_core::observation::{
    AccountObservation, AccountOutcome, LedgerAction, SipExchange, SipOutcome, SipTarget, Transport,
};
use tokio::sync::Mutex;

/// The account to query. `Debug` shows the password as `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    /// The address-of-record, `sip:user@domain` (or `sips:`).
    pub aor: String,
    /// The digest user name (often the same as the AOR's user).
    pub auth_user: String,
    /// The digest password.
    pub password: Secret,
}

/// Runs REGISTER queries for one account, one at a time, and stops after a rejection.
///
/// Share it (e.g. in an `Arc`) between whoever schedules queries: calls to
/// [`query`](AccountProber::query) wait for each other instead of running concurrently.
#[derive(Debug)]
pub struct AccountProber {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    settings: AccountSettings,
    /// Where rejections and waits are kept across processes.
    guard: LoginGuard,
    /// The rejection that stopped us: when, and its status code. Kept here as well, so that a
    /// guard that cannot write its file never lets this process send again.
    suspended: Option<(DateTime<Utc>, u16)>,
    /// The registrar's `Retry-After`, kept here for the same reason.
    wait: Option<(DateTime<Utc>, u16)>,
}

/// The parts of the AOR a request needs.
struct Aor {
    /// `sip` or `sips`.
    scheme: &'static str,
    /// The domain (host, without port or parameters).
    domain: String,
}

fn bad_account(settings: &AccountSettings, detail: &str) -> SipError {
    SipError::BadAccount {
        aor: settings.aor.chars().take(200).collect(),
        detail: detail.to_string(),
    }
}

/// Checks the settings can go into headers unchanged (no header injection, no quoting trouble)
/// and extracts the domain.
fn parse_aor(settings: &AccountSettings) -> Result<Aor, SipError> {
    let aor = settings.aor.trim();
    if aor
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "<>\",".contains(c))
    {
        return Err(bad_account(
            settings,
            "the AOR contains spaces, control characters or <>\",",
        ));
    }
    let lower = aor.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("sips:") {
        ("sips", &aor[5..])
    } else if lower.starts_with("sip:") {
        ("sip", &aor[4..])
    } else {
        return Err(bad_account(settings, "the AOR is not a sip: or sips: URI"));
    };
    let Some((user, hostport)) = rest.rsplit_once('@') else {
        return Err(bad_account(settings, "the AOR has no user@"));
    };
    let hostport = hostport.split([';', '?']).next().unwrap_or_default();
    let domain = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default().to_string()
    } else {
        hostport.split(':').next().unwrap_or_default().to_string()
    };
    if user.is_empty() || domain.is_empty() {
        return Err(bad_account(settings, "the AOR has an empty user or domain"));
    }
    if settings.auth_user.is_empty() || settings.auth_user.chars().any(char::is_control) {
        return Err(bad_account(
            settings,
            "the digest user name is empty or has control characters",
        ));
    }
    Ok(Aor { scheme, domain })
}

/// What one target gave.
enum TargetResult {
    /// A final outcome: stop trying targets. With the `Retry-After` seconds the answer carried.
    Done(AccountOutcome, SipExchange, Option<u32>),
    /// This target did not answer usefully (no response or 5xx, both before any credentials
    /// were sent): try the next.
    Next(SipExchange),
}

impl AccountProber {
    /// A prober for `settings` that remembers rejections in this process only (tests, one-off
    /// tools). The line monitor uses [`AccountProber::with_guard`]. Nothing is sent until
    /// [`query`](AccountProber::query).
    pub fn new(settings: AccountSettings) -> AccountProber {
        let guard = LoginGuard::new(
            None,
            "",
            &settings.aor,
            &settings.auth_user,
            &settings.password,
        );
        AccountProber::with_guard(settings, guard)
    }

    /// A prober whose rejections and waits are kept by `guard` (shared by every process).
    pub fn with_guard(settings: AccountSettings, guard: LoginGuard) -> AccountProber {
        AccountProber {
            state: Mutex::new(State {
                settings,
                guard,
                suspended: None,
                wait: None,
            }),
        }
    }

    /// Clears a suspension after a rejection, so the next query is sent again (e.g. the user
    /// pressed "try again" after fixing the account at the provider).
    pub async fn reset(&self) {
        let mut state = self.state.lock().await;
        state.suspended = None;
        if let Err(e) = state.guard.lift() {
            tracing::warn!("{e}");
        }
    }

    /// Replaces the account. A suspension is cleared only when the credentials (AOR, user name
    /// or password) differ: retrying the very login that was rejected could lock the account.
    pub async fn set_account(&self, settings: AccountSettings) {
        let mut state = self.state.lock().await;
        if state.settings != settings {
            state.suspended = None;
            state.guard =
                state
                    .guard
                    .for_credentials(&settings.aor, &settings.auth_user, &settings.password);
        }
        state.settings = settings;
    }

    /// When and with which code the registrar rejected us, while suspended.
    pub async fn suspended(&self) -> Option<(DateTime<Utc>, u16)> {
        let state = self.state.lock().await;
        match state.guard.gate(Utc::now()) {
            Ok(Gate::Suspended { since, code }) => Some((since, code)),
            _ => state.suspended,
        }
    }

    /// Runs one REGISTER query (no Contact, so it adds no binding), answering one digest
    /// challenge, and tries `targets` in order until one gives a final answer.
    ///
    /// Waits for any query already running. While suspended it sends nothing and returns
    /// [`AccountOutcome::Suspended`]; while the registrar's `Retry-After` runs,
    /// [`AccountOutcome::Deferred`]. Timeouts, refusals and error responses are outcomes in
    /// the observation; `Err` only when the query cannot run (bad settings, socket, TLS setup),
    /// when the login ledger cannot be used ([`SipError::LoginChecksPaused`]: nothing is sent
    /// then), or when another run logged in less than a minute ago ([`SipError::TooSoon`]).
    ///
    /// Outcomes: 2xx → `Accepted` with the listed bindings; 403, 404 (unknown AOR) or a second
    /// 401/407 after our answer (one more answer is allowed when it says `stale=true`) →
    /// `Rejected`, which suspends the account; a challenge we cannot answer →
    /// `UnsupportedChallenge`; no response, a transport failure or a 5xx to the first,
    /// unauthenticated request → the next target, and `NoAnswer` when none is left; any other
    /// final answer, every answer to a request that carried credentials and its timeout or
    /// transport failure end the query (`NoAnswer` with the code in the exchange): the same
    /// credentials never go to the next target. A `Retry-After` on any answer defers the next authenticated request (at most
    /// an hour). `exchange` is the last transaction sent.
    pub async fn query(
        &self,
        targets: &[SipTarget],
        sip: &SipSettings,
    ) -> Result<AccountObservation, SipError> {
        let mut state = self.state.lock().await;
        let checked_at = Utc::now();
        let aor_text = state.settings.aor.clone();
        // Fail closed: a guard that cannot remember would let every restart send again.
        let gate = state
            .guard
            .gate(checked_at)
            .map_err(|source| SipError::LoginChecksPaused { source })?;
        let held = match (gate, state.suspended, state.wait) {
            (Gate::Suspended { since, code }, _, _) | (_, Some((since, code)), _) => {
                Some(AccountOutcome::Suspended { since, code })
            }
            (Gate::Waiting { until, code }, _, _) => Some(AccountOutcome::Deferred { until, code }),
            (Gate::Open | Gate::TooSoon { .. }, None, Some((until, code)))
                if until > checked_at =>
            {
                Some(AccountOutcome::Deferred { until, code })
            }
            _ => None,
        };
        if let Some(outcome) = held {
            return Ok(AccountObservation {
                checked_at,
                aor: aor_text,
                outcome,
                exchange: None,
            });
        }
        if let Gate::TooSoon { until } = gate {
            return Err(SipError::TooSoon { until });
        }
        let aor = parse_aor(&state.settings)?;
        // Recorded before anything is sent: a crash between sending and recording must not
        // let the next run log in again at once. Not recorded, not sent.
        state
            .guard
            .attempt(checked_at)
            .map_err(|source| SipError::LoginChecksPaused { source })?;
        let mut last = None;
        let mut outcome = AccountOutcome::NoAnswer;
        let mut retry_after = None;
        for target in targets {
            match query_target(&state.settings, &aor, target, sip).await? {
                TargetResult::Done(o, exchange, wait) => {
                    outcome = o;
                    last = Some(exchange);
                    retry_after = wait;
                    break;
                }
                TargetResult::Next(exchange) => last = Some(exchange),
            }
        }
        if let AccountOutcome::Rejected { code, .. } = &outcome {
            tracing::warn!(
                aor = %aor_text,
                code,
                "the registrar rejected the credentials; no more REGISTER queries until they change"
            );
            state.suspended = Some((checked_at, *code));
            if let Err(e) = state.guard.reject(checked_at, *code) {
                tracing::warn!("{e}; the rejection is remembered by this process only");
            }
        }
        if let Some(seconds) = retry_after {
            let code = last
                .as_ref()
                .and_then(|x| match x.outcome {
                    SipOutcome::Response { code, .. } => Some(code),
                    _ => None,
                })
                .unwrap_or(0);
            let until = (checked_at + chrono::TimeDelta::seconds(i64::from(seconds)))
                .min(checked_at + super::guard::MAX_RETRY_AFTER);
            tracing::info!(code, %until, "the registrar asked to wait (Retry-After)");
            state.wait = Some((until, code));
            if let Err(e) = state.guard.wait(checked_at, until, code) {
                tracing::warn!("{e}; the wait is remembered by this process only");
            }
        }
        Ok(AccountObservation {
            checked_at,
            aor: aor_text,
            outcome,
            exchange: last,
        })
    }
}

/// What the account layer shows while the login ledger cannot be used
/// ([`SipError::LoginChecksPaused`]): nothing was sent, and the user reads why ("login checks
/// paused: cannot write …") instead of finding it only in the log.
pub fn paused_observation(source: &GuardError, aor: &str) -> AccountObservation {
    let GuardError::Io {
        action,
        path,
        detail,
    } = source;
    let action = match *action {
        "lock" => LedgerAction::Lock,
        "read" => LedgerAction::Read,
        "create the directory of" => LedgerAction::CreateDirectory,
        _ => LedgerAction::Write,
    };
    AccountObservation {
        checked_at: Utc::now(),
        aor: aor.to_string(),
        outcome: AccountOutcome::Paused {
            action,
            path: path.display().to_string(),
            detail: detail.clone(),
        },
        exchange: None,
    }
}

fn exchange(target: &SipTarget, result: &TransactionResult) -> SipExchange {
    SipExchange {
        method: "REGISTER".into(),
        target: target.clone(),
        outcome: result.outcome.clone(),
        transmissions: result.transmissions,
        ignored: result.ignored,
        elapsed: result.elapsed,
    }
}

/// The challenge headers of a 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`), and the
/// header our answer goes in.
fn challenge_headers(response: &SipResponse) -> (Vec<&str>, &'static str) {
    if response.code == 407 {
        (
            response.header_values("proxy-authenticate").collect(),
            "Proxy-Authorization",
        )
    } else {
        (
            response.header_values("www-authenticate").collect(),
            "Authorization",
        )
    }
}

async fn query_target(
    settings: &AccountSettings,
    aor: &Aor,
    target: &SipTarget,
    sip: &SipSettings,
) -> Result<TargetResult, SipError> {
    let mut connection = match Connection::open(target, sip).await? {
        Ok(c) => c,
        Err(failed) => return Ok(TargetResult::Next(exchange(target, &failed))),
    };
    let host = message::uri_host(&aor.domain);
    // Request-URI: the registrar's domain (§10.2), with the target's port and transport so the
    // request goes where we resolved it, as the OPTIONS probe does.
    let request_uri = match target.transport {
        Transport::Udp => format!("{}:{host}:{}", aor.scheme, target.address.port()),
        other => format!(
            "{}:{host}:{};transport={}",
            aor.scheme,
            target.address.port(),
            other.as_str()
        ),
    };
    let aor_uri = settings.aor.trim().to_string();
    let call_id = message::random_token();
    let tag = message::random_token();
    let mut cseq = 1;
    let mut authorization: Option<(&'static str, String)> = None;
    // One answer to the first challenge, plus one more only when the server says our nonce was
    // stale (right password, expired nonce). Anything beyond that is a rejection.
    let mut answers = 0;
    let mut stale_retry_used = false;
    loop {
        let id = TransactionId {
            branch: message::new_branch(),
            call_id: call_id.clone(),
            cseq,
            method: "REGISTER".into(),
        };
        let spec = RequestSpec {
            method: rsip::Method::Register,
            request_uri: request_uri.clone(),
            from_uri: aor_uri.clone(),
            to_uri: aor_uri.clone(),
            from_tag: &tag,
            id: &id,
            // No Contact and no Expires: this is a query (§10.2.3), never a registration.
            extra: authorization
                .iter()
                .cloned()
                .map(|(n, v)| (n.into(), v))
                .collect(),
        };
        let request = message::build_request(&spec, target, connection.local).map_err(|e| {
            SipError::BadTarget {
                peer: target.address,
                detail: format!("cannot build a REGISTER to {request_uri:?}: {e}"),
            }
        })?;
        let result = connection.transact(&request, &id, sip).await;
        let ex = exchange(connection.target(), &result);
        let Some(response) = result.response else {
            tracing::debug!(peer = %target.address, outcome = ?ex.outcome, "REGISTER query: no answer");
            if authorization.is_some() {
                // The credentials went out and may have arrived: a registrar that counts
                // failed logins may have counted this one, however silent. Passing the same
                // login on to the next server would be a second login in one query.
                return Ok(TargetResult::Done(AccountOutcome::NoAnswer, ex, None));
            }
            return Ok(TargetResult::Next(ex));
        };
        tracing::debug!(
            peer = %target.address,
            code = response.code,
            cseq,
            transmissions = result.transmissions,
            "REGISTER query: response"
        );
        let rejected = |r: &SipResponse| AccountOutcome::Rejected {
            code: r.code,
            reason: r.reason.chars().take(200).collect(),
        };
        let wait = response.retry_after();
        // Every final answer from here on ends the query; only the registrar's wish to be
        // left alone is carried out with it.
        let done = |outcome, ex| Ok(TargetResult::Done(outcome, ex, wait));
        match response.code {
            200..=299 => {
                return done(
                    AccountOutcome::Accepted {
                        bindings: response.bindings(),
                    },
                    ex,
                )
            }
            401 | 407 => {
                let (values, header) = challenge_headers(&response);
                let chosen = match digest::choose(values) {
                    Ok(c) => c,
                    Err(e) if answers == 0 => {
                        return done(
                            AccountOutcome::UnsupportedChallenge { detail: e.detail },
                            ex,
                        )
                    }
                    // A second challenge we cannot read still says "not accepted".
                    Err(_) => return done(rejected(&response), ex),
                };
                if answers > 0 {
                    if !chosen.challenge.stale || stale_retry_used {
                        return done(rejected(&response), ex);
                    }
                    stale_retry_used = true;
                }
                answers += 1;
                let cnonce = digest::new_cnonce();
                // Every answer is to a fresh nonce, so the nonce count starts at 1.
                let value = chosen.authorization(
                    &settings.auth_user,
                    &settings.password,
                    DigestRequest {
                        method: "REGISTER",
                        uri: &request_uri,
                        body: b"",
                    },
                    &cnonce,
                    1,
                );
                authorization = Some((header, value));
                cseq += 1;
            }
            403 | 404 => return done(rejected(&response), ex),
            // Before any credentials went out, a failing server is worth passing by for the
            // next target (a Retry-After there is honoured all the same). With credentials,
            // never: the same login to another server is one more failed login to count.
            500..=599 if authorization.is_none() && wait.is_none() => {
                return Ok(TargetResult::Next(ex))
            }
            // 3xx, other 4xx, 5xx/6xx: the registrar answered but did not accept the query;
            // the exchange carries the code.
            _ => return done(AccountOutcome::NoAnswer, ex),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings(aor: &str) -> AccountSettings {
        AccountSettings {
            aor: aor.into(),
            auth_user: "alice".into(),
            password: Secret::new("correct horse battery"),
        }
    }

    #[tokio::test]
    async fn debug_never_shows_the_password() {
        let s = settings("sip:alice@example.net");
        let prober = AccountProber::new(s.clone());
        for text in [format!("{s:?}"), format!("{prober:?}"), format!("{s:#?}")] {
            assert!(!text.contains("correct horse"), "{text}");
            assert!(text.contains("***"), "{text}");
        }
        // Errors name the AOR but never the password.
        let err = AccountProber::new(AccountSettings {
            aor: "mailto:alice@example.net".into(),
            ..s
        })
        .query(&[], &SipSettings::default())
        .await
        .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("mailto:alice@example.net") && !text.contains("correct horse"));
    }

    #[test]
    fn aor_parsing() {
        for (aor, scheme, domain) in [
            ("sip:alice@example.net", "sip", "example.net"),
            (
                "SIPS:alice@Example.net:5061;transport=tls",
                "sips",
                "Example.net",
            ),
            ("sip:alice@[2001:db8::1]:5060", "sip", "2001:db8::1"),
            ("sip:a@b@c", "sip", "c"),
        ] {
            let a = parse_aor(&settings(aor)).unwrap();
            assert_eq!((a.scheme, a.domain.as_str()), (scheme, domain), "{aor}");
        }
        for bad in [
            "alice@example.net",
            "sip:example.net",
            "sip:@example.net",
            "sip:alice@",
            "sip:alice@example.net\r\nContact: <sip:evil@x>",
            "sip:al ice@example.net",
            "sip:alice@example.net>, <sip:x@y",
        ] {
            assert!(parse_aor(&settings(bad)).is_err(), "{bad:?}");
        }
        let mut s = settings("sip:alice@example.net");
        s.auth_user = "al\r\nice".into();
        assert!(parse_aor(&s).is_err());
    }

    #[tokio::test]
    async fn set_account_clears_a_suspension_only_for_new_credentials() {
        let s = settings("sip:alice@example.net");
        let prober = AccountProber::new(s.clone());
        let since = Utc::now();
        prober.state.lock().await.suspended = Some((since, 403));
        let out = prober.query(&[], &SipSettings::default()).await.unwrap();
        assert_eq!(out.outcome, AccountOutcome::Suspended { since, code: 403 });
        assert_eq!(out.exchange, None);
        prober.set_account(s.clone()).await;
        assert_eq!(prober.suspended().await, Some((since, 403)));
        prober
            .set_account(AccountSettings {
                password: Secret::new("new"),
                ..s.clone()
            })
            .await;
        assert_eq!(prober.suspended().await, None);
        prober.state.lock().await.suspended = Some((since, 401));
        prober.reset().await;
        assert_eq!(prober.suspended().await, None);
        // No targets and not suspended: nothing answered.
        let out = prober.query(&[], &SipSettings::default()).await.unwrap();
        assert_eq!(out.outcome, AccountOutcome::NoAnswer);
    }
}
