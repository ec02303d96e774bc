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
//! The rules are in [`episodes`]: an episode opens on a confirmed change to an *outage*
//! verdict and closes on the next confirmed change to a working verdict.
//!
//! Raw checks are pruned after 30 days by default; episodes, their fault reports and status
//! posts are kept forever unless a retention is configured ([`Retention`]).

mod checks;
mod episodes;
pub mod recorder;
mod reports;
mod retention;
mod schema;

pub use dialtone_core::outage::{Episode, Evidence, FaultReport, SeenStatusPost};
pub use episodes::EpisodeEffect;
pub use retention::{Pruned, Retention};
pub use schema::{current_version, Migration, MIGRATIONS};

use chrono::{DateTime, Utc};
use dialtone_core::verdict::Verdict;
use rusqlite::{Connection, TransactionBehavior};
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

fn verdict_from(name: &str) -> Option<Verdict> {
    Verdict::ALL.into_iter().find(|v| v.as_str() == name)
}

/// How a failed SQLite call of `op` on the database at `path` is reported.
fn sqlite_failure(op: &'static str, path: PathBuf) -> impl Fn(rusqlite::Error) -> HistoryError {
    move |source| HistoryError::Sqlite {
        op,
        path: path.clone(),
        source,
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
