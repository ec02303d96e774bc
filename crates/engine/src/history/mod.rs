//! The history store: every check, every confirmed verdict change, and the outage episodes a
//! customer needs as evidence, in one SQLite file in the XDG data dir.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous=FULL`. In WAL mode `NORMAL` already survives
//! the *process* being killed (`kill -9`): a committed transaction is in the WAL file in the OS
//! page cache, and the next open recovers it. But with `NORMAL` the WAL is only fsynced at
//! checkpoints, so a power cut or kernel crash may roll back the last commits. `FULL` fsyncs the
//! WAL at every commit. We write one row every 30 seconds, so the fsync costs nothing that
//! matters, and an outage log that loses its last minutes exactly when the power failed would be
//! a poor piece of evidence.
//!
//! # Episodes
//! An episode opens on a confirmed change to an *outage* verdict (not working and not
//! [`Verdict::Unknown`]) and closes on the next confirmed change to a working verdict. Decisions:
//! - A change from one outage verdict to another (provider outage → account problem) keeps the
//!   one episode: for the customer the line stayed dead, and splitting it would cut the
//!   calendar days a compensation claim counts. The episode keeps the verdict and evidence it
//!   opened with; every verdict it went through is listed in [`Episode::verdicts`].
//! - A change to `Unknown` (paused, asleep) neither opens nor closes: nobody knows the line
//!   recovered. An episode open when the app stops stays open, and the next confirmed change
//!   closes it (to a working verdict) or continues it (to an outage verdict).
//! - An episode starts at the change's `at` (when the outage was confirmed) and ends at the
//!   recovering change's `at`.
//!
//! Raw checks are pruned after 30 days by default; episodes, their fault reports and status
//! posts are kept forever unless a retention is configured ([`Retention`]).

pub mod recorder;
mod schema;

pub use schema::{current_version, Migration, MIGRATIONS};

use crate::feed::StatusPost;
use crate::monitor::VerdictChanged;
use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact, LayerReport};
use dialtone_core::record::CheckRecord;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file name of the history database inside the data dir.
pub const FILE_NAME: &str = "history.sqlite3";

/// Why a history operation failed. Every variant names the database file.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite refused an operation.
    #[error("history database {}: {op}: {source}", .path.display())]
    Sqlite {
        /// What was being done, e.g. "recording a check".
        op: &'static str,
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The directory for the database could not be created.
    #[error("history database {}: creating its directory: {source}", .path.display())]
    CreateDir {
        /// The database file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No XDG data dir could be determined (no home directory).
    #[error("history database: no data directory could be found (is HOME set?)")]
    NoDataDir,
    /// The file was written by a newer dialtone.
    #[error(
        "history database {}: schema version {found} is newer than the {supported} this dialtone understands (written by a newer dialtone); the file was left unchanged: update dialtone, or use --db FILE / --no-history",
        .path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A migration step failed; the database stays at the previous version.
    #[error("history database {}: migrating to schema version {version} ({description}): {source}", .path.display())]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version the step leads to.
        version: u32,
        /// What the step does.
        description: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back (edited by hand, or written by a broken build).
    #[error("history database {}: {op}: unreadable {column} value {value:?}", .path.display())]
    Corrupt {
        /// What was being done.
        op: &'static str,
        /// The database file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// The stored value.
        value: String,
    },
    /// The episode asked for does not exist.
    #[error("history database {}: there is no outage episode #{id}", .path.display())]
    NoSuchEpisode {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        id: i64,
    },
}

impl HistoryError {
    /// Whether another connection held the database past the busy timeout.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            HistoryError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

/// How long what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Raw checks (and verdict changes outside any episode) older than this are deleted.
    #[serde(with = "secs")]
    pub checks: Duration,
    /// Closed episodes that ended longer ago than this are deleted with their reports and
    /// posts; `None` keeps them forever (the default: they are the customer's evidence).
    #[serde(with = "opt_secs")]
    pub episodes: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            checks: Duration::from_secs(30 * 24 * 3600),
            episodes: None,
        }
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|v| v.map(Duration::from_secs))
    }
}

/// What [`History::prune`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    /// Raw checks deleted.
    pub checks: usize,
    /// Episodes deleted.
    pub episodes: usize,
}

/// What [`History::record_change`] did to the episodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeEffect {
    /// A new episode was opened.
    Opened(i64),
    /// The open episode goes on (outage → other outage verdict, or → unknown).
    Continued(i64),
    /// The open episode was closed.
    Closed(i64),
    /// No episode is involved (e.g. healthy → degraded).
    None,
}

impl EpisodeEffect {
    /// The episode concerned, if any.
    pub fn episode_id(self) -> Option<i64> {
        match self {
            EpisodeEffect::Opened(id)
            | EpisodeEffect::Continued(id)
            | EpisodeEffect::Closed(id) => Some(id),
            EpisodeEffect::None => None,
        }
    }
}

pub use dialtone_core::outage::{Episode, Evidence, FaultReport, SeenStatusPost};

/// The history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("path", &self.path).finish()
    }
}

/// The default database path: `history.sqlite3` in dialtone's XDG data dir.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "dialtone").map(|dirs| dirs.data_dir().join(FILE_NAME))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn cutoff(now: DateTime<Utc>, age: Duration) -> i64 {
    let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    ms(now).saturating_sub(age_ms)
}

fn status_letter(status: LayerStatus) -> char {
    match status {
        LayerStatus::Ok => 'o',
        LayerStatus::Degraded => 'd',
        LayerStatus::Failed => 'f',
        LayerStatus::Skipped => 's',
    }
}

fn verdict_from(name: &str) -> Option<Verdict> {
    Verdict::ALL.into_iter().find(|v| v.as_str() == name)
}

fn layer_from(name: &str) -> Option<Layer> {
    Layer::ALL.into_iter().find(|l| l.as_str() == name)
}

/// The SIP status code the provider layer saw (OPTIONS), else the account layer's (REGISTER).
fn sip_code(diagnosis: &Diagnosis) -> Option<u16> {
    [Layer::Provider, Layer::Account].iter().find_map(|layer| {
        diagnosis
            .layers
            .iter()
            .filter(|report| report.layer == *layer)
            .flat_map(|report| report.evidence.iter())
            .find_map(|fact| match fact {
                Fact::SipResponse { code, .. } => Some(*code),
                _ => None,
            })
    })
}

struct RawEpisode {
    id: i64,
    start: i64,
    end: Option<i64>,
    verdict: String,
    failing_layer: Option<String>,
    evidence: String,
}

/// How a failed SQLite call of `op` on the database at `path` is reported.
fn sqlite_failure(op: &'static str, path: PathBuf) -> impl Fn(rusqlite::Error) -> HistoryError {
    move |source| HistoryError::Sqlite {
        op,
        path: path.clone(),
        source,
    }
}

impl RawEpisode {
    /// Reads a row selected as `id, start, end, verdict, failing_layer, evidence`.
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEpisode> {
        Ok(RawEpisode {
            id: row.get(0)?,
            start: row.get(1)?,
            end: row.get(2)?,
            verdict: row.get(3)?,
            failing_layer: row.get(4)?,
            evidence: row.get(5)?,
        })
    }
}

impl History {
    /// Opens (creating if needed) the database in the XDG data dir.
    pub fn open_default() -> Result<History, HistoryError> {
        let path = default_path().ok_or(HistoryError::NoDataDir)?;
        History::open(&path)
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let path = path.to_path_buf();
        // It holds the address-of-record, binding addresses and the user's report notes: the
        // user's eyes only (SQLite gives its -wal and -shm files the database's mode).
        dialtone_platform::fs::create_private_file(&path).map_err(|source| {
            HistoryError::CreateDir {
                path: path.clone(),
                source,
            }
        })?;
        let sqlite = |op: &'static str| {
            let path = path.clone();
            move |source| HistoryError::Sqlite { op, path, source }
        };
        let conn = Connection::open(&path).map_err(sqlite("opening"))?;
        // Another process (the CLI's `log report` next to the running agent) may hold the write
        // lock for a moment; wait rather than fail.
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sqlite("setting the busy timeout"))?;
        // Refuse a newer schema before anything writes: switching a rollback-journal file to
        // WAL rewrites its header, and a database from a newer dialtone (after a downgrade)
        // must stay exactly as that version left it.
        let found: u32 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite("reading the schema version"))?;
        if found > current_version() {
            return Err(HistoryError::TooNew {
                path,
                found,
                supported: current_version(),
            });
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sqlite("switching to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "history database is not in WAL mode");
        }
        // See the module docs for why FULL.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite("setting synchronous=FULL"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite("enabling foreign keys"))?;
        let mut history = History { conn, path };
        history.migrate()?;
        Ok(history)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, op: &'static str) -> impl FnOnce(rusqlite::Error) -> HistoryError + '_ {
        move |source| HistoryError::Sqlite {
            op,
            path: self.path.clone(),
            source,
        }
    }

    /// Every row `sql` selects with `params`, each read by `read`.
    fn rows<T>(
        &self,
        op: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, HistoryError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_map(params, read)?.collect())
            .map_err(self.err(op))
    }

    fn corrupt(&self, op: &'static str, column: &'static str, value: &str) -> HistoryError {
        HistoryError::Corrupt {
            op,
            path: self.path.clone(),
            column,
            value: value.to_string(),
        }
    }

    fn time(
        &self,
        op: &'static str,
        column: &'static str,
        v: i64,
    ) -> Result<DateTime<Utc>, HistoryError> {
        DateTime::from_timestamp_millis(v).ok_or_else(|| self.corrupt(op, column, &v.to_string()))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, HistoryError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(self.err("reading the schema version"))
    }

    fn migrate(&mut self) -> Result<(), HistoryError> {
        let found = self.schema_version()?;
        let supported = current_version();
        if found > supported {
            return Err(HistoryError::TooNew {
                path: self.path.clone(),
                found,
                supported,
            });
        }
        for (index, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = index as u32 + 1;
            let path = self.path.clone();
            let fail = |source| HistoryError::Migration {
                path: path.clone(),
                version,
                description: step.description,
                source,
            };
            // One transaction per step: the schema and user_version move together or not at
            // all (user_version lives in the database header, which is transactional).
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&fail)?;
            tx.execute_batch(step.sql).map_err(&fail)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(&fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }

    /// Records one raw check and returns its row id. Committed (and fsynced) on return.
    pub fn record_check(&self, diagnosis: &Diagnosis) -> Result<i64, HistoryError> {
        match self.record_check_once(diagnosis) {
            Err(e) if e.is_busy() => {
                tracing::warn!("{e}; trying once more");
                self.record_check_once(diagnosis)
            }
            other => other,
        }
    }

    fn record_check_once(&self, diagnosis: &Diagnosis) -> Result<i64, HistoryError> {
        // One letter per layer in the schema's documented order, with the router layer (added
        // later) appended, so rows written before it keep their meaning: six letters now.
        const COLUMN_ORDER: [Layer; 6] = [
            Layer::Device,
            Layer::HomeNetwork,
            Layer::Internet,
            Layer::Provider,
            Layer::Account,
            Layer::Router,
        ];
        let layers: String = COLUMN_ORDER
            .iter()
            .map(|layer| {
                diagnosis
                    .layers
                    .iter()
                    .find(|report| report.layer == *layer)
                    .map_or('s', |report| status_letter(report.status))
            })
            .collect();
        let sip_rtt = diagnosis
            .layers
            .iter()
            .find(|report| report.layer == Layer::Provider)
            .and_then(|report| report.latency_ms);
        self.conn
            .prepare_cached(
                "INSERT INTO checks (at, verdict, failing_layer, layers, sip_rtt_ms, sip_code)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    ms(diagnosis.checked_at),
                    diagnosis.verdict.as_str(),
                    diagnosis.failing_layer.map(Layer::as_str),
                    layers,
                    sip_rtt,
                    sip_code(diagnosis),
                ])
            })
            .map_err(self.err("recording a check"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a confirmed verdict change and opens, continues or closes the outage episode
    /// (see the module docs for the rules).
    pub fn record_change(
        &mut self,
        change: &VerdictChanged,
    ) -> Result<EpisodeEffect, HistoryError> {
        // Immediate transactions take the write lock up front, so two writers queue on the busy
        // timeout instead of deadlocking; a writer that still finds the database busy after it
        // (a long `log report` or export next to the agent) gets one more try.
        match self.record_change_once(change) {
            Err(e) if e.is_busy() => {
                tracing::warn!("{e}; trying once more");
                self.record_change_once(change)
            }
            other => other,
        }
    }

    fn record_change_once(
        &mut self,
        change: &VerdictChanged,
    ) -> Result<EpisodeEffect, HistoryError> {
        // Not `self.err`: the transaction below borrows the connection mutably.
        let fail = sqlite_failure("recording a verdict change", self.path.clone());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM episodes WHERE end IS NULL ORDER BY start DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(&fail)?;
        let at = ms(change.at);
        // Episodes run from the first failing check to the first good one, not between the
        // confirmations: that is when the line really stopped and came back.
        let since = ms(change.since);
        let effect = if change.to.is_outage() {
            match open {
                Some(id) => EpisodeEffect::Continued(id),
                None => {
                    let evidence = serde_json::to_string(&change.diagnosis.layers)
                        .unwrap_or_else(|_| "[]".to_string());
                    tx.execute(
                        "INSERT INTO episodes (start, end, verdict, failing_layer, evidence)
                         VALUES (?1, NULL, ?2, ?3, ?4)",
                        params![
                            since,
                            change.to.as_str(),
                            change.diagnosis.failing_layer.map(Layer::as_str),
                            evidence
                        ],
                    )
                    .map_err(&fail)?;
                    EpisodeEffect::Opened(tx.last_insert_rowid())
                }
            }
        } else if change.to.is_working() {
            match open {
                Some(id) => {
                    // Close every open episode, not only the newest: there should be one, but
                    // a hand-edited file must not keep a phantom outage open forever. A clock
                    // that jumped back must not produce a negative duration.
                    tx.execute(
                        "UPDATE episodes SET end = MAX(start, ?1) WHERE end IS NULL",
                        params![since],
                    )
                    .map_err(&fail)?;
                    EpisodeEffect::Closed(id)
                }
                None => EpisodeEffect::None,
            }
        } else {
            open.map_or(EpisodeEffect::None, EpisodeEffect::Continued)
        };
        tx.execute(
            "INSERT INTO verdict_changes (at, from_verdict, to_verdict, from_since, failing_layer, episode_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                at,
                change.from.as_str(),
                change.to.as_str(),
                ms(change.from_since),
                change.diagnosis.failing_layer.map(Layer::as_str),
                effect.episode_id(),
            ],
        )
        .map_err(&fail)?;
        tx.commit().map_err(fail)?;
        Ok(effect)
    }

    /// The open episode's id, if one is open.
    pub fn open_episode(&self) -> Result<Option<i64>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id FROM episodes WHERE end IS NULL ORDER BY start DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err("looking up the open episode"))
    }

    /// Checks since `since`, oldest first, as the dashboard's timeline points.
    pub fn points(&self, since: DateTime<Utc>) -> Result<Vec<CheckRecord>, HistoryError> {
        const OP: &str = "reading checks";
        let rows = self.rows(
            OP,
            "SELECT at, verdict, sip_rtt_ms FROM checks WHERE at >= ?1 ORDER BY at, id",
            params![ms(since)],
            |row| <(i64, String, Option<f64>)>::try_from(row),
        )?;
        rows.into_iter()
            .map(|(at, verdict, sip_rtt_ms)| {
                Ok(CheckRecord {
                    at: self.time(OP, "checks.at", at)?,
                    verdict: verdict_from(&verdict)
                        .ok_or_else(|| self.corrupt(OP, "checks.verdict", &verdict))?,
                    sip_rtt_ms,
                })
            })
            .collect()
    }

    /// How many raw checks are stored.
    pub fn check_count(&self) -> Result<u64, HistoryError> {
        let count: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM checks", [], |row| row.get(0))
            .map_err(self.err("counting checks"))?;
        Ok(count.unsigned_abs())
    }

    /// Whether a check with this id is stored.
    pub fn has_check(&self, id: i64) -> Result<bool, HistoryError> {
        self.conn
            .query_row(
                "SELECT 1 FROM checks WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.err("looking up a check"))
    }

    /// Episodes that overlap `since ..`: still open, or ended at or after `since`. Oldest first.
    pub fn episodes(&self, since: DateTime<Utc>) -> Result<Vec<Episode>, HistoryError> {
        let raw = self.rows(
            "reading episodes",
            "SELECT id, start, end, verdict, failing_layer, evidence FROM episodes
                 WHERE end IS NULL OR end >= ?1 ORDER BY start, id",
            params![ms(since)],
            RawEpisode::read,
        )?;
        raw.into_iter().map(|raw| self.load_episode(raw)).collect()
    }

    /// One episode by id.
    pub fn episode(&self, id: i64) -> Result<Episode, HistoryError> {
        let raw = self
            .conn
            .query_row(
                "SELECT id, start, end, verdict, failing_layer, evidence FROM episodes WHERE id = ?1",
                params![id],
                RawEpisode::read,
            )
            .optional()
            .map_err(self.err("reading an episode"))?
            .ok_or_else(|| HistoryError::NoSuchEpisode {
                path: self.path.clone(),
                id,
            })?;
        self.load_episode(raw)
    }

    fn load_episode(&self, raw: RawEpisode) -> Result<Episode, HistoryError> {
        const OP: &str = "reading episodes";
        let verdict = verdict_from(&raw.verdict)
            .ok_or_else(|| self.corrupt(OP, "episodes.verdict", &raw.verdict))?;
        let failing_layer = match raw.failing_layer.as_deref() {
            None => None,
            Some(name) => Some(
                layer_from(name).ok_or_else(|| self.corrupt(OP, "episodes.failing_layer", name))?,
            ),
        };
        let evidence = match serde_json::from_str::<Vec<LayerReport>>(&raw.evidence) {
            Ok(layers) => Evidence::Layers { layers },
            Err(_) => Evidence::Unreadable { json: raw.evidence },
        };

        let changes = self.rows(
            OP,
            "SELECT to_verdict FROM verdict_changes WHERE episode_id = ?1 ORDER BY at, id",
            params![raw.id],
            |row| row.get::<_, String>(0),
        )?;
        let mut verdicts = vec![verdict];
        for name in changes {
            let v = verdict_from(&name)
                .ok_or_else(|| self.corrupt(OP, "verdict_changes.to_verdict", &name))?;
            if v.is_outage() && verdicts.last() != Some(&v) {
                verdicts.push(v);
            }
        }

        let reports = self
            .rows(
                OP,
                "SELECT reported_at, channel, ticket, note FROM fault_reports
                 WHERE episode_id = ?1 ORDER BY reported_at, id",
                params![raw.id],
                |row| <(i64, String, Option<String>, Option<String>)>::try_from(row),
            )?
            .into_iter()
            .map(|(at, channel, ticket, note)| {
                Ok(FaultReport {
                    reported_at: self.time(OP, "fault_reports.reported_at", at)?,
                    channel,
                    ticket,
                    note,
                })
            })
            .collect::<Result<Vec<_>, HistoryError>>()?;

        let status_posts = self
            .rows(
                OP,
                "SELECT feed_url, title, published, link, seen_at FROM status_posts
                 WHERE episode_id = ?1 ORDER BY seen_at, id",
                params![raw.id],
                |row| <(String, String, Option<i64>, Option<String>, i64)>::try_from(row),
            )?
            .into_iter()
            .map(|(feed_url, title, published, link, seen_at)| {
                Ok(SeenStatusPost {
                    feed_url,
                    post: StatusPost {
                        title,
                        published: published
                            .map(|p| self.time(OP, "status_posts.published", p))
                            .transpose()?,
                        link,
                    },
                    seen_at: self.time(OP, "status_posts.seen_at", seen_at)?,
                })
            })
            .collect::<Result<Vec<_>, HistoryError>>()?;

        Ok(Episode {
            id: raw.id,
            start: self.time(OP, "episodes.start", raw.start)?,
            end: raw
                .end
                .map(|end| self.time(OP, "episodes.end", end))
                .transpose()?,
            verdict,
            failing_layer,
            verdicts,
            evidence,
            reports,
            status_posts,
        })
    }

    fn require_episode(&self, id: i64, op: &'static str) -> Result<(), HistoryError> {
        let found = self
            .conn
            .query_row("SELECT 1 FROM episodes WHERE id = ?1", params![id], |_| {
                Ok(())
            })
            .optional()
            .map_err(self.err(op))?;
        found.ok_or_else(|| HistoryError::NoSuchEpisode {
            path: self.path.clone(),
            id,
        })
    }

    /// Attaches the user's fault report to an episode; returns the report's id.
    pub fn attach_report(
        &self,
        episode_id: i64,
        report: &FaultReport,
    ) -> Result<i64, HistoryError> {
        const OP: &str = "attaching a fault report";
        self.require_episode(episode_id, OP)?;
        self.conn
            .execute(
                "INSERT INTO fault_reports (episode_id, reported_at, channel, ticket, note, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    episode_id,
                    ms(report.reported_at),
                    report.channel,
                    report.ticket,
                    report.note,
                    ms(Utc::now()),
                ],
            )
            .map_err(self.err(OP))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Attaches a provider status post seen during an episode. The same post seen again (every
    /// poll sees it) is stored once; returns whether it was new.
    pub fn attach_status_post(
        &self,
        episode_id: i64,
        feed_url: &str,
        post: &StatusPost,
        seen_at: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        const OP: &str = "attaching a status post";
        self.require_episode(episode_id, OP)?;
        // `IS` rather than `=`, and no reliance on the UNIQUE constraint alone: posts without a
        // date have a NULL `published`, and NULLs never collide in a UNIQUE index.
        let inserted = self
            .conn
            .execute(
                "INSERT INTO status_posts (episode_id, feed_url, title, published, link, seen_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE NOT EXISTS (SELECT 1 FROM status_posts
                     WHERE episode_id = ?1 AND feed_url = ?2 AND title = ?3 AND published IS ?4)",
                params![
                    episode_id,
                    feed_url,
                    post.title,
                    post.published.map(ms),
                    post.link,
                    ms(seen_at),
                ],
            )
            .map_err(self.err(OP))?;
        Ok(inserted > 0)
    }

    /// Deletes what is older than the retention allows, relative to `now`. Open episodes are
    /// never deleted.
    pub fn prune(
        &mut self,
        now: DateTime<Utc>,
        retention: &Retention,
    ) -> Result<Pruned, HistoryError> {
        // Not `self.err`: the transaction below borrows the connection mutably.
        let fail = sqlite_failure("pruning old history", self.path.clone());
        let checks_before = cutoff(now, retention.checks);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let checks = tx
            .execute("DELETE FROM checks WHERE at < ?1", params![checks_before])
            .map_err(&fail)?;
        // Changes that belong to no episode (healthy ↔ degraded) are as raw as checks.
        tx.execute(
            "DELETE FROM verdict_changes WHERE at < ?1 AND episode_id IS NULL",
            params![checks_before],
        )
        .map_err(&fail)?;
        let episodes = match retention.episodes {
            None => 0,
            Some(age) => {
                let before = cutoff(now, age);
                tx.execute(
                    "DELETE FROM verdict_changes WHERE episode_id IN
                         (SELECT id FROM episodes WHERE end IS NOT NULL AND end < ?1)",
                    params![before],
                )
                .map_err(&fail)?;
                tx.execute(
                    "DELETE FROM episodes WHERE end IS NOT NULL AND end < ?1",
                    params![before],
                )
                .map_err(&fail)?
            }
        };
        tx.commit().map_err(fail)?;
        Ok(Pruned { checks, episodes })
    }

    /// Runs `PRAGMA integrity_check` and returns its answer (`"ok"` when the file is sound).
    pub fn integrity_check(&self) -> Result<String, HistoryError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(self.err("checking integrity"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
