//! The router login's guard: which box a login belongs to, whether it may be sent now, and one
//! login per box and user at a time.
//!
//! - **Pinned to its box.** A TR-064 login (user, password) belongs to the box that first
//!   accepted it: its identity (the `UDN` of `tr64desc.xml`, else its serial number) is kept in
//!   the login ledger ([`guard::pin_router`]) and every later login checks it first. A laptop on
//!   another network finds another box at the gateway's address, and sends it no
//!   `Authorization` at all (digest over plain http with MD5 and the stranger's own nonce could
//!   be cracked offline). A box that does not say who it is gets no login either.
//! - **Keyed by the box.** Rejections are kept under the box's identity and the user, so a
//!   stranger's 401 can never hold back the login at home.
//! - **One at a time.** Every login to a box, from any line of any dialtone process, runs under
//!   the box's [`LoginLock`], from the ledger check to the ledger write after the answer: a
//!   second line waits and then sees the first one's rejection before it sends anything.
//! - **Fails closed.** When the ledger cannot be locked, read or written nothing authenticated
//!   is sent, and the router layer says why ("login checks paused: cannot write …").

use super::soap::Login;
use crate::probe::sip::guard::{self, Gate, LoginGuard, LoginLock};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::time::Duration;

/// Why no login is sent this round.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The ledger cannot be used: the guard's error, in words.
    Paused(String),
    /// Not the login's box (or a box without an identity): what was found, in words.
    WrongRouter(String),
    /// The box rejected these credentials then.
    Suspended(DateTime<Utc>),
    /// Another line or process held the box's login lock for longer than the wait.
    Elsewhere,
}

/// A login that may go out: the lock held until it is dropped, the box's guard, and whether the
/// ledger already pins the login to this box.
#[derive(Debug)]
pub(super) struct Permit {
    _lock: Option<LoginLock>,
    /// The guard of this login at this box.
    pub guard: LoginGuard,
    /// Whether the box is already the login's (else the first good login pins it).
    pub pinned: bool,
}

/// The ledger key of `login` at the box `identity` (rejections are the box's, not the
/// address's).
fn guard_of(ledger: Option<&Path>, login: &Login, identity: &str) -> LoginGuard {
    LoginGuard::new(
        ledger.map(Path::to_path_buf),
        &format!("router {identity}"),
        &login.user,
        &login.user,
        &login.password,
    )
}

/// Whether `login` may be sent to the box `identity` now (see the module's doc). `known` is the
/// box this process already found the login pinned to (spares the ledger's pin check); without
/// a ledger the pin lives in `known` only. `wait` bounds the wait for the lock.
pub(super) async fn permit(
    ledger: Option<&Path>,
    login: &Login,
    identity: Option<&str>,
    known: Option<&str>,
    wait: Duration,
) -> Result<Permit, Refusal> {
    let Some(identity) = identity else {
        return Err(Refusal::WrongRouter(
            "the router's description names no UDN and no serial number".into(),
        ));
    };
    let mismatch = |pinned: &str| {
        Refusal::WrongRouter(format!(
            "this router is {identity}; the login belongs to {pinned}"
        ))
    };
    if let Some(pinned) = known.filter(|p| *p != identity) {
        return Err(mismatch(pinned));
    }
    let guard = guard_of(ledger, login, identity);
    let Some(path) = ledger else {
        return Ok(Permit {
            _lock: None,
            guard,
            pinned: known.is_some(),
        });
    };
    let paused = |e: guard::GuardError| Refusal::Paused(e.to_string());
    let lock = LoginLock::acquire(path, &format!("router {identity}|{}", login.user), wait)
        .await
        .map_err(paused)?
        .ok_or(Refusal::Elsewhere)?;
    let pinned = match known {
        Some(_) => true,
        None => match guard::pinned_router(path, &login.user, &login.password).map_err(paused)? {
            Some(pinned) if pinned != identity => return Err(mismatch(&pinned)),
            Some(_) => true,
            None => false,
        },
    };
    if !pinned {
        // A rejection recorded before logins were pinned to a box holds for the first box.
        if let Some(since) =
            guard::legacy_router_rejection(path, &login.user, &login.password).map_err(paused)?
        {
            return Err(Refusal::Suspended(since));
        }
    }
    match guard.gate(Utc::now()).map_err(paused)? {
        Gate::Suspended { since, .. } => Err(Refusal::Suspended(since)),
        // The router gets no Retry-After and no attempt records: its rounds are paced by the
        // monitor and serialised by the lock.
        Gate::Open | Gate::Waiting { .. } | Gate::TooSoon { .. } => Ok(Permit {
            _lock: Some(lock),
            guard,
            pinned,
        }),
    }
}

/// Pins `login` to the box `identity` after its first good login.
pub(super) fn pin(ledger: Option<&Path>, login: &Login, identity: &str) -> Result<(), String> {
    match ledger {
        Some(path) => guard::pin_router(path, &login.user, &login.password, identity, Utc::now())
            .map_err(|e| e.to_string()),
        None => Ok(()),
    }
}
