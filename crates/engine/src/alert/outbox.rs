//! The alert outbox: every alert raised, per target, until its target accepted it (or it was
//! given up after [`Policy::give_up`]), in one JSON file in the state dir, readable by the user
//! only and replaced atomically on every change. It survives restarts, keeps each target's
//! alerts in the order they were raised, and records acceptance before the next send, so an
//! alert is never sent twice (an id per event and target; a crash between a target's
//! acceptance and the write is the one window, which the id sent along lets a receiver close).
//!
//! It also remembers per target and line which bad state the target was told of (`told`): a
//! restart during an outage does not alert the same outage again, and the recovery after it
//! says how long the outage lasted from its real start. And the sends of the last hour per
//! target, for the rate limit that turns flapping into one "unstable" alert.

use chrono::{DateTime, TimeDelta, Utc};
use dialtone_core::verdict::Verdict;
use dialtone_core::words::RenderedAlert;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The outbox file's name in the state dir.
pub const OUTBOX_FILE: &str = "alert-outbox.json";

/// How long a delivered or given-up alert is still listed (`dialtone alert list`).
const KEEP_DONE: TimeDelta = TimeDelta::days(7);

/// At most this many finished alerts are kept, whatever their age.
const MAX_DONE: usize = 200;

/// At most this many alerts wait: a target that never accepts must not grow the file forever
/// (the oldest waiting ones are given up first).
const MAX_PENDING: usize = 500;

/// Why the outbox file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Reading, writing or renaming the file failed.
    #[error("alert outbox {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        source: std::io::Error,
    },
    /// The file is not an outbox.
    #[error("alert outbox {}: not readable as an outbox ({message}); move it away to start afresh", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        message: String,
    },
}

/// Where an alert stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum State {
    /// Not accepted yet; the next try is due at `next_try`.
    Pending {
        /// When to try next.
        next_try: DateTime<Utc>,
    },
    /// The target accepted it.
    Delivered {
        /// When.
        at: DateTime<Utc>,
    },
    /// Dropped: the target failed for longer than the limit, or the outbox overflowed.
    GivenUp {
        /// When.
        at: DateTime<Utc>,
    },
}

/// One alert to one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The event's id and the target's: unique, and sent along (header `X-Dialtone-Id`).
    pub id: String,
    /// The target (see [`target_key`]).
    pub target: String,
    /// The target's URL as it may be shown.
    pub shown: String,
    /// The words, rendered when the alert was raised.
    pub alert: RenderedAlert,
    /// When it was raised.
    pub created: DateTime<Utc>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: State,
    /// Tries so far.
    pub attempts: u32,
    /// The last failure, in the log's words (never a secret: transports redact).
    pub last_error: Option<String>,
}

/// What a target was told about a line: the bad verdict and when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    /// The bad verdict.
    pub verdict: Verdict,
    /// When it began.
    pub since: DateTime<Utc>,
}

/// The file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Content {
    entries: Vec<Entry>,
    /// `target/line` → what the target was told.
    told: BTreeMap<String, Told>,
    /// target → when alerts were raised for it within the last hour.
    raised: BTreeMap<String, Vec<DateTime<Utc>>>,
    /// target → when it was last sent an "unstable" alert.
    unstable: BTreeMap<String, DateTime<Utc>>,
    /// New alarms are held back until then (the tray's pause), kept here so that a restart
    /// does not lose it; absent in files from before the pause existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paused_until: Option<DateTime<Utc>>,
}

/// The outbox (see the module's doc).
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    content: Content,
}

/// Writes `bytes` as the outbox at `path`: beside, synced, renamed over, so a crash leaves the
/// old or the new file, never half of one. Blocking (the sync can take long on an SD card).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutboxError> {
    use dialtone_platform::fs::OpenPrivate;
    use std::io::Write;
    let io = |source| OutboxError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    // A leftover from a crash may have other access bits: created afresh, it gets the user's.
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .private()
        .open(&tmp)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

/// A target's key in the outbox: a hash of its URL, so the file names no secret.
pub fn target_key(url: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(url.trim().as_bytes())[..8])
}

impl Outbox {
    /// Opens the outbox at `path` (an empty one when the file does not exist yet).
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let content = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| OutboxError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Content::default(),
            Err(source) => {
                return Err(OutboxError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(Outbox {
            path: path.to_path_buf(),
            content,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the outbox now (see [`write_file`]).
    pub fn save(&self) -> Result<(), OutboxError> {
        write_file(&self.path, &self.snapshot()?)
    }

    /// The outbox as its file holds it, for a writer elsewhere ([`write_file`]).
    pub fn snapshot(&self) -> Result<Vec<u8>, OutboxError> {
        serde_json::to_vec_pretty(&self.content).map_err(|e| OutboxError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })
    }

    /// Every alert, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.content.entries
    }

    /// What `target` was told about `line`.
    pub fn told(&self, target: &str, line: &str) -> Option<Told> {
        self.content.told.get(&format!("{target}/{line}")).copied()
    }

    /// Until when new alarms are held back, if a pause was set (it may have run out).
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.content.paused_until
    }

    /// Holds new alarms back until `until`; `None` lifts the pause.
    pub fn set_paused_until(&mut self, until: Option<DateTime<Utc>>) {
        self.content.paused_until = until;
    }

    /// Records what `target` counts as told about `line`.
    pub fn set_told(&mut self, target: &str, line: &str, told: Option<Told>) {
        let key = format!("{target}/{line}");
        match told {
            Some(told) => self.content.told.insert(key, told),
            None => self.content.told.remove(&key),
        };
    }

    /// How many alerts were raised for `target` within the hour before `now` (forgetting older
    /// ones).
    pub fn raised_within_hour(&mut self, target: &str, now: DateTime<Utc>) -> usize {
        let times = self.content.raised.entry(target.to_string()).or_default();
        times.retain(|t| now - *t < TimeDelta::hours(1) && *t <= now + TimeDelta::minutes(5));
        times.len()
    }

    /// When `target` was last sent an "unstable" alert.
    pub fn last_unstable(&self, target: &str) -> Option<DateTime<Utc>> {
        self.content.unstable.get(target).copied()
    }

    /// Adds an alert for `target`, due at once; whether it is new (an id already in the outbox
    /// is not added again). `unstable` marks the flapping alert.
    pub fn push(
        &mut self,
        id: String,
        target: &str,
        shown: String,
        alert: RenderedAlert,
        now: DateTime<Utc>,
        unstable: bool,
    ) -> bool {
        if self.content.entries.iter().any(|e| e.id == id) {
            return false;
        }
        self.content
            .raised
            .entry(target.to_string())
            .or_default()
            .push(now);
        if unstable {
            self.content.unstable.insert(target.to_string(), now);
        }
        self.content.entries.push(Entry {
            id,
            target: target.to_string(),
            shown,
            alert,
            created: now,
            state: State::Pending { next_try: now },
            attempts: 0,
            last_error: None,
        });
        self.trim(now);
        true
    }

    /// The first waiting alert of each target whose try is due at `now` and that `busy` does
    /// not exclude: a target's alerts go out one at a time, in order.
    pub fn due(&self, now: DateTime<Utc>, busy: impl Fn(&str) -> bool) -> Vec<Entry> {
        let mut seen = std::collections::HashSet::new();
        let mut due = Vec::new();
        for e in &self.content.entries {
            if let State::Pending { next_try } = e.state {
                if seen.insert(e.target.clone()) && next_try <= now && !busy(&e.target) {
                    due.push(e.clone());
                }
            }
        }
        due
    }

    /// When the next waiting alert is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.content
            .entries
            .iter()
            .filter_map(|e| match e.state {
                State::Pending { next_try } => Some(next_try),
                _ => None,
            })
            .min()
    }

    /// Makes every waiting alert due now (the way may be back: the line recovered).
    pub fn retry_all_now(&mut self, now: DateTime<Utc>) -> bool {
        let mut any = false;
        for e in &mut self.content.entries {
            if let State::Pending { next_try } = &mut e.state {
                if *next_try > now {
                    *next_try = now;
                    any = true;
                }
            }
        }
        any
    }

    /// Records the outcome of a try of alert `id`: delivered, or failed with `error` (then the
    /// next try is at `now + backoff(attempts)`, or the alert is given up once it is older
    /// than `give_up`). The entry's state after it, if the entry exists.
    pub fn record(
        &mut self,
        id: &str,
        outcome: Result<(), String>,
        now: DateTime<Utc>,
        policy: &super::Policy,
    ) -> Option<State> {
        let e = self.content.entries.iter_mut().find(|e| e.id == id)?;
        e.attempts += 1;
        e.state = match outcome {
            Ok(()) => State::Delivered { at: now },
            Err(why) => {
                e.last_error = Some(why);
                if now - e.created >= policy.give_up {
                    State::GivenUp { at: now }
                } else {
                    State::Pending {
                        next_try: now + policy.backoff(e.attempts),
                    }
                }
            }
        };
        Some(e.state.clone())
    }

    /// Forgets finished alerts past their keeping, and gives up the oldest waiting ones beyond
    /// [`MAX_PENDING`].
    fn trim(&mut self, now: DateTime<Utc>) {
        let entries = &mut self.content.entries;
        let pending = entries
            .iter()
            .filter(|e| matches!(e.state, State::Pending { .. }))
            .count();
        let mut excess = pending.saturating_sub(MAX_PENDING);
        for e in entries.iter_mut() {
            if excess == 0 {
                break;
            }
            if matches!(e.state, State::Pending { .. }) {
                tracing::warn!(
                    "alert to {} dropped: the outbox holds {MAX_PENDING} waiting alerts",
                    e.shown
                );
                e.state = State::GivenUp { at: now };
                excess -= 1;
            }
        }
        entries.retain(|e| match e.state {
            State::Pending { .. } => true,
            State::Delivered { at } | State::GivenUp { at } => now - at < KEEP_DONE,
        });
        let done = entries
            .iter()
            .filter(|e| !matches!(e.state, State::Pending { .. }))
            .count();
        let mut drop_done = done.saturating_sub(MAX_DONE);
        entries.retain(|e| {
            if drop_done > 0 && !matches!(e.state, State::Pending { .. }) {
                drop_done -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// The thread that writes the outbox file, newest state first.
pub(crate) struct Writer {
    pub(crate) tx: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    pub(crate) thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub(crate) fn spawn(path: PathBuf) -> Result<Writer, String> {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("dialtone-outbox".into())
            .spawn(move || {
                while let Ok(mut bytes) = rx.recv() {
                    // Only the newest of what queued up meanwhile needs writing.
                    while let Ok(newer) = rx.try_recv() {
                        bytes = newer;
                    }
                    if let Err(e) = write_file(&path, &bytes) {
                        tracing::warn!("{e}");
                    }
                }
            })
            .map_err(|e| format!("starting the alert outbox writer: {e}"))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }
}

/// Takes the outbox for this process: one sender per outbox, or two processes would send
/// every alert twice and overwrite each other's record. Held while the returned file is open.
pub(crate) fn take(outbox: &Path) -> Result<std::fs::File, super::SpawnError> {
    use dialtone_platform::fs::OpenPrivate;
    let path = outbox.with_extension("lock");
    let failed = |e: std::io::Error| {
        super::SpawnError::Failed(format!("alert outbox lock {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .private()
        .open(&path)
        .map_err(failed)?;
    match dialtone_platform::fs::try_lock_exclusive(&file) {
        Ok(true) => Ok(file),
        Ok(false) => Err(super::SpawnError::Busy(outbox.to_path_buf())),
        Err(e) => Err(failed(e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dialtone_core::alert::AlertMessage;
    use dialtone_core::locale::Lang;

    fn alert(event: &str) -> RenderedAlert {
        RenderedAlert {
            message: AlertMessage {
                event: event.into(),
                line: "Home".into(),
                verdict: Verdict::InternetDown,
                previous: Verdict::Healthy,
                since: Utc::now(),
                until: None,
                duration_s: None,
                headline: "Internet is down".into(),
                reason: "r".into(),
                lang: Lang::En,
                channels: vec![],
                post: None,
            },
            text: "t".into(),
        }
    }

    #[test]
    fn the_outbox_survives_a_reopen_keeps_order_and_never_takes_an_id_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(OUTBOX_FILE);
        let policy = super::super::Policy::default();
        let now = Utc::now();
        let mut outbox = Outbox::open(&path).unwrap();
        assert!(outbox.push("a".into(), "t1", "x".into(), alert("outage"), now, false));
        assert!(outbox.push("b".into(), "t1", "x".into(), alert("recovery"), now, false));
        assert!(!outbox.push("a".into(), "t1", "x".into(), alert("outage"), now, false));
        outbox.set_told(
            "t1",
            "Home",
            Some(Told {
                verdict: Verdict::InternetDown,
                since: now,
            }),
        );
        outbox.save().unwrap();
        assert_eq!(
            dialtone_platform::fs::access_bits(&path).unwrap() & 0o777,
            0o600
        );

        let mut outbox = Outbox::open(&path).unwrap();
        assert_eq!(
            outbox.told("t1", "Home").unwrap().verdict,
            Verdict::InternetDown
        );
        // One at a time per target, oldest first.
        let due = outbox.due(now, |_| false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, "a");
        let state = outbox
            .record("a", Err("refused".into()), now, &policy)
            .unwrap();
        assert!(matches!(state, State::Pending { next_try } if next_try > now));
        assert!(outbox.due(now, |_| false).is_empty(), "b waits behind a");
        assert!(outbox.retry_all_now(now));
        assert_eq!(outbox.due(now, |_| false)[0].id, "a");
        outbox.record("a", Ok(()), now, &policy);
        assert_eq!(outbox.due(now, |_| false)[0].id, "b");
        // Given up once older than the limit.
        let late = now + policy.give_up;
        assert!(matches!(
            outbox.record("b", Err("x".into()), late, &policy),
            Some(State::GivenUp { .. })
        ));
        assert_eq!(outbox.next_due(), None);
        assert_eq!(outbox.raised_within_hour("t1", now), 2);
        assert_eq!(
            outbox.raised_within_hour("t1", now + TimeDelta::hours(2)),
            0
        );
    }
}
