//! The login guard: what the registrar last said about an account's login, kept on disk so that
//! no process and no restart sends a rejected password again.
//!
//! Providers lock an account (about 15 minutes) or block an IP after repeated failed logins. A
//! suspension that lived only in one prober would end with every settings change, agent restart
//! or `dialtone watch` start, and each of those would send the rejected password once more. So
//! the guard keeps, per account (registrar, address-of-record, digest user), in the XDG state dir
//! (`~/.local/state/dialtone/logins.json`, shared by the agent, `watch` and `check`):
//! - the rejection (when, which code), with a salted fingerprint of the credentials it was for:
//!   it holds until the credentials change (another fingerprint) or the user asks to try again;
//! - the registrar's `Retry-After`: no authenticated request before it has passed.
//!
//! - the last login attempt, written *before* the request goes out: a process that starts (or
//!   restarts) less than [`MIN_LOGIN_GAP`] after another one's attempt with the same
//!   credentials waits for the rest of that minute, even if the other crashed between sending
//!   and hearing back.
//! - for the router's TR-064 login, the box it belongs to ([`pin_router`]): the identity of the
//!   box that first accepted it, so that no other box (another network's gateway) is ever sent
//!   it; the router's rejections are kept under that identity.
//!
//! A login to a router runs under a [`LoginLock`] (a lock file beside the ledger, per box and
//! user) from the ledger check to the write of what it learnt: the lines of one process and
//! other processes log in one after another, each reading the others' rejections first.
//!
//! The fingerprint is an iterated, salted SHA-256 of the AOR, the digest user and the password;
//! the password itself is never written. The file is 0600 in a 0700 directory, and every
//! read-modify-write holds an exclusive `flock` on a lock file beside it, so two processes never
//! lose each other's entries. The guard fails closed: when the file cannot be locked, read or
//! written, the prober sends no authenticated request at all and says why (a guard that forgot
//! on every restart would resend a rejected password with each one). Only a rejection or wait
//! learnt *after* a request went out is kept in memory when it cannot be written.

use crate::secret::Secret;
use chrono::{DateTime, Utc};
use dialtone_core::observation::{Acquaintance, Transport};
use dialtone_platform::fs::{self, OpenPrivate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name of the ledger in the state dir.
pub const FILE_NAME: &str = "logins.json";

/// The longest wait a `Retry-After` can impose (a hostile or broken registrar could ask for
/// days; the user would see no account check at all).
pub const MAX_RETRY_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The shortest time between two logins to one account from different processes or runs of
/// the line monitor (restarts): recorded in the ledger before each login goes out.
pub const MIN_LOGIN_GAP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Rounds of the fingerprint hash: slow enough that the file is no cheap password oracle,
/// fast enough (a few ms) for a check every 15 minutes.
const FINGERPRINT_ROUNDS: u32 = 20_000;

/// What the guard says about sending an authenticated request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Nothing stands in the way.
    Open,
    /// The registrar rejected these very credentials.
    Suspended {
        /// When.
        since: DateTime<Utc>,
        /// Its status code.
        code: u16,
    },
    /// The registrar asked to wait (`Retry-After`) until then.
    Waiting {
        /// The earliest next authenticated request.
        until: DateTime<Utc>,
        /// The status code that carried the `Retry-After`.
        code: u16,
    },
    /// Another process, or an earlier run of this line, sent a login with these credentials
    /// less than [`MIN_LOGIN_GAP`] ago.
    TooSoon {
        /// The earliest next login.
        until: DateTime<Utc>,
    },
}

/// Why the ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// Reading, writing or locking the file failed.
    #[error("cannot {action} {}: {detail}", path.display())]
    Io {
        /// What was being done: `write`, `read`, `lock`, `create the directory of`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        detail: String,
    },
}

/// One account's entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// Hex salt of the fingerprint.
    salt: String,
    /// Hex fingerprint of the credentials the rejection was for.
    fingerprint: String,
    /// The rejection, while it stands.
    #[serde(default)]
    suspended: Option<Rejection>,
    /// The registrar's `Retry-After`, while it runs.
    #[serde(default)]
    wait: Option<Wait>,
    /// The last login sent (or about to be), for [`MIN_LOGIN_GAP`].
    #[serde(default)]
    attempt: Option<Attempt>,
}

/// A login attempt, recorded before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Attempt {
    at: DateTime<Utc>,
    /// The guard that sent it (random, one per line monitor run): its own attempts are paced
    /// by the monitor's schedule, everyone else's by the gap.
    by: String,
    /// Hex salt of `fingerprint`.
    salt: String,
    /// The credentials it was for: new credentials are a new login, not a repeat.
    fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Rejection {
    since: DateTime<Utc>,
    code: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Wait {
    until: DateTime<Utc>,
    code: u16,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    #[serde(default)]
    accounts: BTreeMap<String, Entry>,
    /// What each registrar (as configured) has shown of itself from here: a registrar never
    /// heard from is judged differently from one that answered yesterday.
    #[serde(default)]
    registrars: BTreeMap<String, Acquaintance>,
    /// The router each router login belongs to, by box user: the identity of the box that
    /// first accepted it (see [`pinned_router`]).
    #[serde(default)]
    routers: BTreeMap<String, RouterPin>,
}

/// The box a router login was first accepted by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RouterPin {
    /// The box's identity (its UDN, else its serial number).
    identity: String,
    /// Since when.
    since: DateTime<Utc>,
    /// Hex salt of `fingerprint`.
    salt: String,
    /// The credentials it was accepted with: a new password is a new set-up.
    fingerprint: String,
}

/// The identity of the box the router login `user`/`password` belongs to: the one that first
/// accepted it, from any dialtone process. `None` before the first good login, and after the
/// password changed (a new password is a new set-up: the next box that accepts it is its box).
pub fn pinned_router(
    path: &Path,
    user: &str,
    password: &Secret,
) -> Result<Option<String>, GuardError> {
    let (key, user, password) = (router_pin_key(user), user.to_string(), password.clone());
    update(path, move |ledger| {
        let pin = ledger.routers.get(&key)?;
        (fingerprint(&pin.salt, ROUTER_PIN_AOR, &user, &password) == pin.fingerprint)
            .then(|| pin.identity.clone())
    })
}

/// Records that the box `identity` accepted the router login `user`/`password` at `at`: from
/// now on that login is sent to this box only.
pub fn pin_router(
    path: &Path,
    user: &str,
    password: &Secret,
    identity: &str,
    at: DateTime<Utc>,
) -> Result<(), GuardError> {
    let salt = hex::encode(rand::random::<[u8; 16]>());
    let pin = RouterPin {
        identity: identity.to_string(),
        since: at,
        fingerprint: fingerprint(&salt, ROUTER_PIN_AOR, user, password),
        salt,
    };
    let key = router_pin_key(user);
    update(path, move |ledger| {
        ledger.routers.insert(key, pin);
    })
}

/// A rejection of the router login `user`/`password` that a dialtone before box pinning
/// recorded: it keyed router logins by the `router.url` setting (`router auto|USER|USER`,
/// `router http://…|USER|USER`), not by the box. Such a rejection holds for the box the login
/// is pinned to next, until the password changes, so an upgrade does not resend a password a
/// router turned away.
pub fn legacy_router_rejection(
    path: &Path,
    user: &str,
    password: &Secret,
) -> Result<Option<DateTime<Utc>>, GuardError> {
    let (user, password) = (user.to_string(), password.clone());
    update(path, move |ledger| {
        ledger
            .accounts
            .iter()
            .filter(|(key, _)| {
                let mut parts = key.splitn(3, '|');
                let target = parts.next().unwrap_or_default();
                let legacy = target
                    .strip_prefix("router ")
                    .is_some_and(|t| t == "auto" || t.contains("://"));
                legacy && parts.next() == Some(&user) && parts.next() == Some(&user)
            })
            .filter(|(_, e)| fingerprint(&e.salt, &user, &user, &password) == e.fingerprint)
            .filter_map(|(_, e)| e.suspended.map(|r| r.since))
            .min()
    })
}

/// What stands for the AOR in a router pin's fingerprint.
const ROUTER_PIN_AOR: &str = "router";

fn router_pin_key(user: &str) -> String {
    format!("router|{user}")
}

/// The right to log in to one router (or account) now, held by one line of one process at a
/// time: an exclusive `flock` on a file beside the ledger, named after the login's ledger key.
/// Held from the ledger check before a login to the ledger write after it, so that a second
/// line or process waits, then reads what the first learnt (a rejection, a pin) before it
/// sends anything: never N logins with one password at once.
#[derive(Debug)]
pub struct LoginLock {
    _file: std::fs::File,
}

impl LoginLock {
    /// Takes the lock of the login `key` beside the ledger at `ledger`, waiting at most
    /// `wait`; `Ok(None)` when another holder kept it that long.
    pub async fn acquire(
        ledger: &Path,
        key: &str,
        wait: std::time::Duration,
    ) -> Result<Option<LoginLock>, GuardError> {
        let mut digest = Sha256::new();
        digest.update(key.as_bytes());
        let name = format!("login-{}.lock", &hex::encode(digest.finalize())[..16]);
        let dir = ledger.parent().unwrap_or_else(|| Path::new("."));
        let path = dir.join(name);
        let io = |action: &'static str| {
            let path = path.clone();
            move |e: std::io::Error| GuardError::Io {
                action,
                path,
                detail: e.to_string(),
            }
        };
        fs::create_private_dir(dir).map_err(|e| GuardError::Io {
            action: "create the directory of",
            path: ledger.to_path_buf(),
            detail: e.to_string(),
        })?;
        let file = open_lock_file(&path).map_err(io("write"))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if fs::try_lock_exclusive(&file).map_err(io("lock"))? {
                return Ok(Some(LoginLock { _file: file }));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }
}

/// How often a waiting [`LoginLock::acquire`] tries again (a flock cannot be awaited).
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(25);

/// What has been seen of `registrar` from here, by any dialtone process.
pub fn acquaintance(path: &Path, registrar: &str) -> Result<Acquaintance, GuardError> {
    let key = registrar.trim().to_string();
    update(path, move |ledger| {
        ledger.registrars.get(&key).copied().unwrap_or_default()
    })
}

/// Adds what this round saw of `registrar` (written only when something is new).
pub fn remember(path: &Path, registrar: &str, seen: Acquaintance) -> Result<(), GuardError> {
    let key = registrar.trim().to_string();
    update(path, move |ledger| {
        let known = ledger.registrars.entry(key).or_default();
        known.resolved |= seen.resolved;
        known.answered_options |= seen.answered_options;
        known.answered_register |= seen.answered_register;
    })
}

/// The guard of one account: where its ledger is and which credentials it is for.
#[derive(Clone)]
pub struct LoginGuard {
    path: Option<PathBuf>,
    key: String,
    aor: String,
    auth_user: String,
    password: Secret,
    /// Names this guard's attempts in the ledger (random per guard).
    instance: String,
    /// Whether other runs' attempts hold this one back ([`Gate::TooSoon`]).
    keeps_gap: bool,
}

impl std::fmt::Debug for LoginGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginGuard")
            .field("path", &self.path)
            .field("key", &self.key)
            .finish()
    }
}

/// The ledger's default place: `logins.json` in dialtone's state dir ([`crate::state_dir`],
/// never a roaming one: a ledger that roamed to another computer would hold back logins that
/// never happened there).
pub fn default_path() -> Option<PathBuf> {
    crate::state_dir().map(|dir| dir.join(FILE_NAME))
}

/// The ledger key of an account at a registrar: the registrar normalised
/// ([`registrar_key`]), so that two spellings of one server share their rejections and waits.
pub fn account_key(registrar: &str, aor: &str, auth_user: &str) -> String {
    format!("{}|{}|{auth_user}", registrar_key(registrar), aor.trim())
}

/// A registrar as the ledger knows it: `host:port` with the host in lower case and the default
/// port made explicit (5061 for TLS, 5060 otherwise), and `;transport` when one is given.
/// `sip.example.net`, `sip:SIP.example.net:5060` and `SIP:sip.example.net` are one server,
/// and a rejection by it must hold whichever way the user wrote it. What does not parse as a
/// registrar (the router's keys) is kept as written, trimmed.
fn registrar_key(registrar: &str) -> String {
    let text = registrar.trim();
    let Ok(parsed) = dialtone_core::address::parse_registrar(text) else {
        return text.to_string();
    };
    let tls = parsed.secure || parsed.transport == Some(Transport::Tls);
    let default = if tls {
        dialtone_core::address::SIPS_PORT
    } else {
        dialtone_core::address::SIP_PORT
    };
    let host = if parsed.host.contains(':') {
        format!("[{}]", parsed.host)
    } else {
        parsed.host
    };
    let port = parsed.port.unwrap_or(default);
    match parsed.transport {
        Some(transport) => format!("{host}:{port};transport={}", transport.as_str()),
        None => format!("{host}:{port}"),
    }
}

/// The key `key` has today: ledgers written before the registrar was normalised keep the
/// registrar as the user wrote it.
fn current_key(key: &str) -> String {
    if key.starts_with("router ") {
        return key.to_string();
    }
    match key.split_once('|') {
        Some((registrar, rest)) => format!("{}|{rest}", registrar_key(registrar)),
        None => key.to_string(),
    }
}

/// Moves entries stored under an older spelling of their key to the current one. Where two
/// spellings meet, whatever holds logins back wins: a rejection, and the later wait.
fn rekey(ledger: &mut Ledger) {
    if ledger.accounts.keys().all(|k| current_key(k) == *k) {
        return;
    }
    for (key, entry) in std::mem::take(&mut ledger.accounts) {
        match ledger.accounts.entry(current_key(&key)) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(entry);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                let kept = slot.get_mut();
                if kept.suspended.is_none() && entry.suspended.is_some() {
                    kept.salt = entry.salt;
                    kept.fingerprint = entry.fingerprint;
                    kept.suspended = entry.suspended;
                }
                kept.wait = match (kept.wait, entry.wait) {
                    (Some(a), Some(b)) => Some(if b.until > a.until { b } else { a }),
                    (a, b) => a.or(b),
                };
            }
        }
    }
}

impl LoginGuard {
    /// The guard of an account, kept in the ledger at `path`; `None` keeps nothing on disk
    /// (one process's memory only: for probes in tests and one-off tools).
    pub fn new(
        path: Option<PathBuf>,
        registrar: &str,
        aor: &str,
        auth_user: &str,
        password: &Secret,
    ) -> LoginGuard {
        LoginGuard {
            path,
            key: account_key(registrar, aor, auth_user),
            aor: aor.to_string(),
            auth_user: auth_user.to_string(),
            password: password.clone(),
            instance: hex::encode(rand::random::<[u8; 8]>()),
            keeps_gap: true,
        }
    }

    /// The same guard for a one-off check a person asked for (`dialtone check`): other runs'
    /// recent logins do not hold it back (its own attempt is still recorded, so a monitor
    /// starting right after it waits).
    pub fn one_off(self) -> LoginGuard {
        LoginGuard {
            keeps_gap: false,
            ..self
        }
    }

    /// The guard of other credentials for the same account, in the same ledger.
    pub fn for_credentials(&self, aor: &str, auth_user: &str, password: &Secret) -> LoginGuard {
        LoginGuard {
            path: self.path.clone(),
            key: self.key.clone(),
            aor: aor.to_string(),
            auth_user: auth_user.to_string(),
            password: password.clone(),
            instance: self.instance.clone(),
            keeps_gap: self.keeps_gap,
        }
    }

    /// Whether an authenticated request may be sent now. A rejection recorded for other
    /// credentials is dropped here: the user changed them.
    pub fn gate(&self, now: DateTime<Utc>) -> Result<Gate, GuardError> {
        let Some(path) = &self.path else {
            return Ok(Gate::Open);
        };
        let key = self.key.clone();
        let password = self.password.clone();
        let (aor, user) = (self.aor.clone(), self.auth_user.clone());
        let (instance, keeps_gap) = (self.instance.clone(), self.keeps_gap);
        update(path, move |ledger| {
            let Some(entry) = ledger.accounts.get_mut(&key) else {
                return Gate::Open;
            };
            if entry
                .attempt
                .as_ref()
                .is_some_and(|a| a.at + MIN_LOGIN_GAP <= now)
            {
                entry.attempt = None;
            }
            if entry.suspended.is_some()
                && fingerprint(&entry.salt, &aor, &user, &password) != entry.fingerprint
            {
                tracing::info!("the credentials changed since the registrar rejected them");
                entry.suspended = None;
            }
            if let Some(rejection) = entry.suspended {
                return Gate::Suspended {
                    since: rejection.since,
                    code: rejection.code,
                };
            }
            match entry.wait {
                Some(wait) if wait.until > now => {
                    return Gate::Waiting {
                        until: wait.until,
                        code: wait.code,
                    }
                }
                Some(_) => entry.wait = None,
                None => {}
            }
            match &entry.attempt {
                Some(a)
                    if keeps_gap
                        && a.by != instance
                        && fingerprint(&a.salt, &aor, &user, &password) == a.fingerprint =>
                {
                    Gate::TooSoon {
                        until: a.at + MIN_LOGIN_GAP,
                    }
                }
                _ => Gate::Open,
            }
        })
    }

    /// Records that a login goes out now, before it is sent: were it recorded after, a crash
    /// in between would let the next run send another at once.
    pub fn attempt(&self, at: DateTime<Utc>) -> Result<(), GuardError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let key = self.key.clone();
        let salt = hex::encode(rand::random::<[u8; 16]>());
        let attempt = Attempt {
            at,
            by: self.instance.clone(),
            fingerprint: fingerprint(&salt, &self.aor, &self.auth_user, &self.password),
            salt,
        };
        update(path, move |ledger| {
            ledger.accounts.entry(key).or_default().attempt = Some(attempt);
        })
    }

    /// Records that the registrar rejected these credentials with `code` at `at`.
    pub fn reject(&self, at: DateTime<Utc>, code: u16) -> Result<(), GuardError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let key = self.key.clone();
        let salt = hex::encode(rand::random::<[u8; 16]>());
        let print = fingerprint(&salt, &self.aor, &self.auth_user, &self.password);
        update(path, move |ledger| {
            let entry = ledger.accounts.entry(key).or_default();
            entry.salt = salt;
            entry.fingerprint = print;
            entry.suspended = Some(Rejection { since: at, code });
        })
    }

    /// Records the registrar's `Retry-After` (capped at [`MAX_RETRY_AFTER`] from `now`).
    pub fn wait(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        code: u16,
    ) -> Result<(), GuardError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let until = until.min(now + MAX_RETRY_AFTER);
        let key = self.key.clone();
        update(path, move |ledger| {
            ledger.accounts.entry(key).or_default().wait = Some(Wait { until, code });
        })
    }

    /// Lifts a rejection so that exactly the next query is sent ("try the login again").
    pub fn lift(&self) -> Result<bool, GuardError> {
        match &self.path {
            Some(path) => lift(path, &self.key),
            None => Ok(false),
        }
    }
}

/// Lifts the rejection of the account `key` in the ledger at `path`; whether there was one.
/// A person asked for one more login now, so another run's recent attempt gives way too.
pub fn lift(path: &Path, key: &str) -> Result<bool, GuardError> {
    let key = key.to_string();
    update(path, move |ledger| {
        ledger.accounts.get_mut(&key).is_some_and(|entry| {
            entry.attempt = None;
            entry.suspended.take().is_some()
        })
    })
}

/// The rejection recorded for `key`, if any (for `dialtone password retry` to tell the user).
pub fn suspension(path: &Path, key: &str) -> Result<Option<(DateTime<Utc>, u16)>, GuardError> {
    let key = key.to_string();
    update(path, move |ledger| {
        ledger
            .accounts
            .get(&key)
            .and_then(|e| e.suspended)
            .map(|r| (r.since, r.code))
    })
}

/// The right to query one account, held by one process at a time: an exclusive `flock` on a
/// file in the runtime dir (released by the kernel when the holder exits, however it exits),
/// so the agent and a `dialtone watch` on the same account never both send REGISTERs.
#[derive(Debug)]
pub struct WatchLock {
    _file: std::fs::File,
    path: PathBuf,
}

/// Why the watch lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum WatchLockError {
    /// Another process holds it.
    #[error("another dialtone process (the tray agent or a `dialtone watch`) already watches this account (lock {})", path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be used.
    #[error("watch lock {}: {detail}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The operating system's words.
        detail: String,
    },
}

impl WatchLock {
    /// Takes the lock of account `key` in `dir` without waiting.
    pub fn acquire(dir: &Path, key: &str) -> Result<WatchLock, WatchLockError> {
        let mut digest = Sha256::new();
        digest.update(key.as_bytes());
        let name = format!("account-{}.lock", &hex::encode(digest.finalize())[..16]);
        let path = dir.join(name);
        let io = |e: std::io::Error| WatchLockError::Io {
            path: path.clone(),
            detail: e.to_string(),
        };
        fs::create_private_dir(dir).map_err(io)?;
        let file = open_lock_file(&path).map_err(io)?;
        match fs::try_lock_exclusive(&file) {
            Ok(true) => Ok(WatchLock { _file: file, path }),
            Ok(false) => Err(WatchLockError::Held { path }),
            Err(e) => Err(io(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn fingerprint(salt: &str, aor: &str, user: &str, password: &Secret) -> String {
    let mut digest = Sha256::new();
    for part in [salt, aor, user, password.expose()] {
        digest.update(part.as_bytes());
        digest.update([0u8]);
    }
    let mut value = digest.finalize();
    for _ in 1..FINGERPRINT_ROUNDS {
        let mut round = Sha256::new();
        round.update(value);
        round.update(salt.as_bytes());
        value = round.finalize();
    }
    hex::encode(value)
}

/// Reads the ledger under an exclusive lock, lets `f` change it, and writes it back when it
/// changed (beside and renamed, 0600).
fn update<T>(path: &Path, f: impl FnOnce(&mut Ledger) -> T) -> Result<T, GuardError> {
    let io = |action: &'static str| {
        move |e: std::io::Error| GuardError::Io {
            action,
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_private_dir(dir).map_err(io("create the directory of"))?;
    let lock = open_lock_file(&path.with_extension("lock")).map_err(io("write"))?;
    fs::lock_exclusive(&lock).map_err(io("lock"))?;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("read")(e)),
    };
    let mut ledger = match text.as_deref().map(serde_json::from_str::<Ledger>) {
        None => Ledger::default(),
        Some(Ok(ledger)) => ledger,
        Some(Err(e)) => {
            // Kept aside, not deleted: a person may want to look. Starting empty can at worst
            // cost one more login per account, the least bad choice left.
            let aside = path.with_extension("json.unreadable");
            tracing::warn!(
                "login guard {}: unreadable ({e}); moved to {}",
                path.display(),
                aside.display()
            );
            std::fs::rename(path, &aside).map_err(io("write"))?;
            Ledger::default()
        }
    };
    let before =
        serde_json::to_string(&ledger).map_err(|e| io("write")(std::io::Error::other(e)))?;
    rekey(&mut ledger);
    let out = f(&mut ledger);
    ledger
        .accounts
        .retain(|_, e| e.suspended.is_some() || e.wait.is_some() || e.attempt.is_some());
    let after =
        serde_json::to_string_pretty(&ledger).map_err(|e| io("write")(std::io::Error::other(e)))?;
    if serde_json::to_string(&ledger).ok().as_deref() != Some(before.as_str()) {
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .private()
            .open(&tmp)
            .map_err(io("write"))?;
        file.write_all(after.as_bytes()).map_err(io("write"))?;
        file.sync_all().map_err(io("write"))?;
        std::fs::rename(&tmp, path).map_err(io("write"))?;
    }
    Ok(out)
}

/// Opens (creating, 0600) a file that is only ever `flock`ed, never written.
fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .private()
        .open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn guard(dir: &Path, password: &str) -> LoginGuard {
        LoginGuard::new(
            Some(dir.join("state/logins.json")),
            "sip.example.net",
            "sip:alice@example.net",
            "alice",
            &Secret::new(password),
        )
    }

    #[test]
    fn a_rejection_holds_across_guards_until_the_credentials_change() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        assert_eq!(guard(dir.path(), "wrong").gate(now).unwrap(), Gate::Open);
        guard(dir.path(), "wrong").reject(now, 403).unwrap();
        // Another process, the same credentials: still suspended.
        assert_eq!(
            guard(dir.path(), "wrong").gate(now).unwrap(),
            Gate::Suspended {
                since: now,
                code: 403
            }
        );
        // The password is never written, only a salted fingerprint.
        let text = std::fs::read_to_string(dir.path().join("state/logins.json")).unwrap();
        assert!(!text.contains("wrong"), "{text}");
        let mode = |p: &Path| fs::access_bits(p).unwrap() & 0o777;
        assert_eq!(mode(&dir.path().join("state/logins.json")), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        // New credentials: open, and the rejection is gone for good.
        assert_eq!(guard(dir.path(), "right").gate(now).unwrap(), Gate::Open);
        assert_eq!(guard(dir.path(), "wrong").gate(now).unwrap(), Gate::Open);
    }

    #[test]
    fn lifting_opens_the_gate_and_retry_after_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let g = guard(dir.path(), "pw");
        g.reject(now, 401).unwrap();
        assert!(g.lift().unwrap());
        assert!(!g.lift().unwrap(), "nothing left to lift");
        assert_eq!(g.gate(now).unwrap(), Gate::Open);
        g.wait(now, now + chrono::TimeDelta::days(3), 503).unwrap();
        assert_eq!(
            g.gate(now).unwrap(),
            Gate::Waiting {
                until: now + MAX_RETRY_AFTER,
                code: 503
            }
        );
        assert_eq!(g.gate(now + MAX_RETRY_AFTER).unwrap(), Gate::Open);
    }

    #[test]
    fn the_account_key_is_the_normalised_target() {
        let key = |registrar: &str| account_key(registrar, "sip:alice@example.net", "alice");
        let plain = key("sip.example.net");
        for same in [
            "sip:SIP.example.net:5060",
            " SIP:sip.Example.NET ",
            "sip.example.net:5060",
            "sip:sip.example.net;lr",
        ] {
            assert_eq!(key(same), plain, "{same}");
        }
        assert_eq!(plain, "sip.example.net:5060|sip:alice@example.net|alice");
        assert_ne!(key("sip:sip.example.net:5070"), plain);
        assert_ne!(key("sip:sip.example.net;transport=tcp"), plain);
        assert_eq!(
            key("sips:sip.example.net"),
            key("sip:SIP.example.net:5061;transport=TLS")
        );
        assert_eq!(key("sip:[::1]"), key("[::1]:5060"));
        // The router's keys are no registrars: kept as they are.
        assert_eq!(account_key("router auto", "u", "u"), "router auto|u|u");
        // One spelling's rejection holds for the other.
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let spelt = |registrar: &str| {
            LoginGuard::new(
                Some(dir.path().join("logins.json")),
                registrar,
                "sip:alice@example.net",
                "alice",
                &Secret::new("pw"),
            )
        };
        spelt("sip.example.net").reject(now, 403).unwrap();
        assert_eq!(
            spelt("sip:SIP.example.net:5060").gate(now).unwrap(),
            Gate::Suspended {
                since: now,
                code: 403
            }
        );
    }

    #[test]
    fn a_rejection_under_an_older_spelling_of_the_key_still_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logins.json");
        let now = Utc::now();
        let salt = "00".repeat(16);
        let print = fingerprint(
            &salt,
            "sip:alice@example.net",
            "alice",
            &Secret::new("wrong"),
        );
        // As an earlier dialtone wrote it: the registrar as the user spelt it.
        let old = serde_json::json!({ "accounts": {
            "sip:SIP.example.net|sip:alice@example.net|alice": {
                "salt": salt, "fingerprint": print,
                "suspended": { "since": now, "code": 403 }
            },
            "sip.example.net:5060|sip:alice@example.net|alice": {
                "salt": "", "fingerprint": "",
                "wait": { "until": now + chrono::TimeDelta::minutes(5), "code": 503 }
            }
        }});
        std::fs::write(&path, old.to_string()).unwrap();
        let g = LoginGuard::new(
            Some(path.clone()),
            "sip.example.net",
            "sip:alice@example.net",
            "alice",
            &Secret::new("wrong"),
        );
        assert_eq!(
            g.gate(now).unwrap(),
            Gate::Suspended {
                since: now,
                code: 403
            }
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("sip:SIP.example.net|"), "{text}");
    }

    #[test]
    fn a_router_rejection_from_before_box_pinning_holds_until_the_password_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logins.json");
        let now = Utc::now();
        let salt = "00".repeat(16);
        let print = fingerprint(&salt, "box", "box", &Secret::new("wrong"));
        // As the dialtone before box pinning wrote it: keyed by `router.url`.
        let old = serde_json::json!({ "accounts": {
            "router auto|box|box": {
                "salt": salt, "fingerprint": print,
                "suspended": { "since": now, "code": 401 }
            }
        }});
        std::fs::write(&path, old.to_string()).unwrap();
        assert_eq!(
            legacy_router_rejection(&path, "box", &Secret::new("wrong")).unwrap(),
            Some(now)
        );
        // Another password, another user: not that rejection.
        assert_eq!(
            legacy_router_rejection(&path, "box", &Secret::new("new")).unwrap(),
            None
        );
        assert_eq!(
            legacy_router_rejection(&path, "other", &Secret::new("wrong")).unwrap(),
            None
        );
        // Today's keys (the box's identity) are not legacy ones.
        let current = serde_json::json!({ "accounts": {
            "router uuid:1234|box|box": {
                "salt": salt, "fingerprint": print,
                "suspended": { "since": now, "code": 401 }
            }
        }});
        std::fs::write(&path, current.to_string()).unwrap();
        assert_eq!(
            legacy_router_rejection(&path, "box", &Secret::new("wrong")).unwrap(),
            None
        );
    }

    #[test]
    fn a_login_from_another_run_holds_the_next_back_for_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let first = guard(dir.path(), "pw");
        first.attempt(now).unwrap();
        // A restarted monitor (another guard, the same credentials) ten seconds later.
        let later = now + chrono::TimeDelta::seconds(10);
        let restarted = guard(dir.path(), "pw");
        assert_eq!(
            restarted.gate(later).unwrap(),
            Gate::TooSoon {
                until: now + MIN_LOGIN_GAP
            }
        );
        // The run that sent it keeps its own schedule; a check a person asked for is not held;
        // new credentials are a new login.
        assert_eq!(first.gate(later).unwrap(), Gate::Open);
        assert_eq!(restarted.clone().one_off().gate(later).unwrap(), Gate::Open);
        assert_eq!(guard(dir.path(), "new").gate(later).unwrap(), Gate::Open);
        // "Try the login again": the person's word outranks the gap.
        guard(dir.path(), "pw").attempt(later).unwrap();
        assert!(matches!(
            restarted.gate(later).unwrap(),
            Gate::TooSoon { .. }
        ));
        assert!(!restarted.lift().unwrap(), "no rejection to lift");
        assert_eq!(restarted.gate(later).unwrap(), Gate::Open);
        first.attempt(now).unwrap();
        // A minute on, the gap is over and the record gone.
        assert_eq!(restarted.gate(now + MIN_LOGIN_GAP).unwrap(), Gate::Open);
        let text = std::fs::read_to_string(dir.path().join("state/logins.json")).unwrap();
        assert!(!text.contains("attempt"), "{text}");
        assert!(!text.contains("pw\""), "{text}");
    }

    #[test]
    fn a_ledger_that_cannot_be_used_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the state dir should be: no directory can be made there (as root, too).
        std::fs::write(dir.path().join("state"), "").unwrap();
        let g = guard(dir.path(), "pw");
        for e in [
            g.gate(Utc::now()).unwrap_err(),
            g.attempt(Utc::now()).unwrap_err(),
        ] {
            let text = e.to_string();
            assert!(
                text.starts_with("cannot create the directory of")
                    && text.contains("state/logins.json"),
                "{text}"
            );
        }
        // The ledger itself a directory: it cannot be read.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("state/logins.json")).unwrap();
        let text = guard(dir.path(), "pw")
            .gate(Utc::now())
            .unwrap_err()
            .to_string();
        assert!(text.starts_with("cannot read"), "{text}");
    }

    #[test]
    fn an_unreadable_ledger_is_moved_aside_not_trusted_blindly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/logins.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(
            guard(dir.path(), "pw").gate(Utc::now()).unwrap(),
            Gate::Open
        );
        assert!(path.with_extension("json.unreadable").exists());
    }
}
