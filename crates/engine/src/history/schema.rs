//! The history database's schema as an ordered list of migration steps.
//!
//! `PRAGMA user_version` holds the number of steps applied. Opening a database applies the
//! missing steps in one transaction each, so a crash during a migration leaves the database at
//! the previous version rather than half-migrated. Steps are append-only: a released step is
//! never edited, because databases in the field already ran it.

/// One migration step: the SQL that takes the schema from version `index` to `index + 1`.
pub struct Migration {
    /// What the step does, for error messages.
    pub description: &'static str,
    /// The SQL, run as one batch inside a transaction.
    pub sql: &'static str,
}

/// Every step, oldest first. `MIGRATIONS.len()` is the current schema version.
///
/// Times are INTEGER Unix milliseconds (UTC): compact, ordered, and free of time-zone text.
/// Verdicts and layers are stored by their stable snake_case names so that a person reading
/// the file with `sqlite3` understands it.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        description: "checks, verdict changes and outage episodes",
        sql: "
CREATE TABLE checks (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    failing_layer TEXT,
    -- One letter per layer, lowest first (device, home network, internet, provider, account):
    -- o = ok, d = degraded, f = failed, s = skipped. Five bytes instead of five columns keeps
    -- the row that is written every 30 seconds small.
    layers TEXT NOT NULL,
    sip_rtt_ms REAL,
    sip_code INTEGER
);
CREATE INDEX checks_at ON checks(at);

CREATE TABLE episodes (
    id INTEGER PRIMARY KEY,
    start INTEGER NOT NULL,
    end INTEGER,
    verdict TEXT NOT NULL,
    failing_layer TEXT,
    -- The opening diagnosis' layer reports (JSON), i.e. the evidence.
    evidence TEXT NOT NULL
);
CREATE INDEX episodes_start ON episodes(start);

CREATE TABLE verdict_changes (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    from_verdict TEXT NOT NULL,
    to_verdict TEXT NOT NULL,
    from_since INTEGER NOT NULL,
    failing_layer TEXT,
    episode_id INTEGER REFERENCES episodes(id) ON DELETE SET NULL
);
CREATE INDEX verdict_changes_at ON verdict_changes(at);
",
    },
    Migration {
        description: "fault reports and provider status posts per episode",
        sql: "
-- Loading an episode lists its verdict changes; without this every load scans them all.
CREATE INDEX verdict_changes_episode ON verdict_changes(episode_id);

CREATE TABLE fault_reports (
    id INTEGER PRIMARY KEY,
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    reported_at INTEGER NOT NULL,
    channel TEXT NOT NULL,
    ticket TEXT,
    note TEXT,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX fault_reports_episode ON fault_reports(episode_id);

CREATE TABLE status_posts (
    id INTEGER PRIMARY KEY,
    episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    feed_url TEXT NOT NULL,
    title TEXT NOT NULL,
    published INTEGER,
    link TEXT,
    seen_at INTEGER NOT NULL,
    -- The same post is seen at every poll during an outage; keep it once.
    UNIQUE (episode_id, feed_url, title, published)
);
",
    },
];

/// The schema version this build writes.
pub fn current_version() -> u32 {
    // The list is a compile-time constant of a handful of entries.
    MIGRATIONS.len() as u32
}
