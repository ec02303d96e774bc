//! Upgrade safety: files written by an earlier dialtone are read (and the history database is
//! migrated) by this one, not rejected; a database from a newer dialtone is refused with a
//! clear message and left exactly as it was.
//!
//! `tests/fixtures/upgrade/` holds one config per release (`config-<version>.toml`) and one
//! history database per schema version (`history-v<N>.sqlite3`), each written by the code of
//! its day through the same functions the app uses (`config::save`, `History`). They are never
//! rewritten: a release that changes a format adds its own files with
//! `cargo test --test upgrade -- --ignored` (which only creates missing ones), and every file
//! ever committed must keep loading.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dialtone_core::config::{AccountConfig, Config};
use dialtone_core::diagnosis::{Diagnosis, LayerReport};
use dialtone_core::locale::Lang;
use dialtone_core::schedule::VerdictChanged;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_engine::feed::StatusPost;
use dialtone_engine::history::{current_version, FaultReport, History, HistoryError};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// Every committed fixture whose name starts with `prefix`, oldest first.
fn committed(prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no {prefix}* fixture in {}",
        fixtures().display()
    );
    found
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 30, 0).unwrap()
}

fn diagnosis(verdict: Verdict, failing: Option<Layer>, at: DateTime<Utc>) -> Diagnosis {
    Diagnosis {
        verdict,
        failing_layer: failing,
        layers: Layer::ALL
            .iter()
            .map(|&layer| LayerReport {
                layer,
                status: match failing {
                    Some(f) if layer == f => LayerStatus::Failed,
                    Some(f) if layer > f => LayerStatus::Skipped,
                    _ => LayerStatus::Ok,
                },
                evidence: vec![],
                latency_ms: Some(21.0),
            })
            .collect(),
        bindings: None,
        provider_name: Some("1&1".into()),
        checked_at: at,
        router: None,
    }
}

/// The config a user of this release could have: every section touched, as the dashboard's
/// settings form saves it.
fn this_releases_config() -> Config {
    let mut config = Config {
        provider: Some("1und1".into()),
        account: Some(AccountConfig {
            registrar: "sip.1und1.de".into(),
            user: Some("49301234567".into()),
            password_env: Some("SIP_PASSWORD".into()),
            ..AccountConfig::default()
        }),
        timeout_secs: Some(4.0),
        ..Config::default()
    };
    config.desktop.language = Some(Lang::De);
    config.desktop.notifications = false;
    config.network.dns_name = "none".into();
    config.schedule.interval_secs = 60;
    config.thresholds.sip_rtt_ms = 400;
    config
}

/// Writes this release's fixtures where they are missing.
#[test]
#[ignore = "writes fixtures; run when a release changes the config or the history schema"]
fn write_fixtures_of_this_release() {
    let config = fixtures().join(format!("config-{}.toml", env!("CARGO_PKG_VERSION")));
    if !config.exists() {
        dialtone_engine::config_file::save(&this_releases_config(), &config).unwrap();
    }
    let db = fixtures().join(format!("history-v{}.sqlite3", current_version()));
    if !db.exists() {
        let mut history = History::open(&db).unwrap();
        let t = t0();
        history
            .record_check(&diagnosis(Verdict::Healthy, None, t))
            .unwrap();
        let down = diagnosis(
            Verdict::ProviderOutage,
            Some(Layer::Provider),
            t + TimeDelta::minutes(1),
        );
        history.record_check(&down).unwrap();
        let opened = history
            .record_change(&VerdictChanged {
                from: Verdict::Healthy,
                to: Verdict::ProviderOutage,
                from_since: t,
                since: t + TimeDelta::minutes(1),
                at: t + TimeDelta::minutes(1),
                diagnosis: down,
            })
            .unwrap();
        let episode = opened.episode_id().unwrap();
        history
            .attach_status_post(
                episode,
                "https://status.example.net/feed.atom",
                &StatusPost {
                    title: "Telefonie gestört".into(),
                    published: Some(t + TimeDelta::minutes(5)),
                    link: Some("https://status.example.net/incidents/1".into()),
                },
                t + TimeDelta::minutes(6),
            )
            .unwrap();
        history
            .attach_report(
                episode,
                &FaultReport {
                    reported_at: t + TimeDelta::minutes(10),
                    channel: "hotline".into(),
                    ticket: Some("A-123".into()),
                    note: None,
                },
            )
            .unwrap();
        let up = diagnosis(Verdict::Healthy, None, t + TimeDelta::minutes(40));
        history.record_check(&up).unwrap();
        history
            .record_change(&VerdictChanged {
                from: Verdict::ProviderOutage,
                to: Verdict::Healthy,
                from_since: t + TimeDelta::minutes(1),
                since: t + TimeDelta::minutes(40),
                at: t + TimeDelta::minutes(40),
                diagnosis: up,
            })
            .unwrap();
    }
}

#[test]
fn configs_of_earlier_releases_load() {
    for path in committed("config-") {
        let config = dialtone_engine::config_file::load(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .unwrap();
        // What every release's file says (see this_releases_config).
        assert_eq!(
            config.provider.as_deref(),
            Some("1und1"),
            "{}",
            path.display()
        );
        let account = config.account.as_ref().unwrap();
        assert_eq!(account.user.as_deref(), Some("49301234567"));
        assert_eq!(config.desktop.language, Some(Lang::De));
        assert!(!config.desktop.notifications);
        assert_eq!(config.schedule.interval_secs, 60);
    }
}

fn copy_to_temp(fixture: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    std::fs::copy(fixture, &path).unwrap();
    (dir, path)
}

#[test]
fn history_databases_of_earlier_schemas_are_migrated_and_keep_their_outages() {
    for fixture in committed("history-v") {
        let (_dir, path) = copy_to_temp(&fixture);
        let mut history =
            History::open(&path).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
        assert_eq!(history.schema_version().unwrap(), current_version());
        assert_eq!(history.integrity_check().unwrap(), "ok");
        let since = t0() - TimeDelta::days(1);
        assert_eq!(
            history.points(since).unwrap().len(),
            3,
            "{}",
            fixture.display()
        );
        let episodes = history.episodes(since).unwrap();
        assert_eq!(episodes.len(), 1);
        let episode = history.episode(episodes[0].id).unwrap();
        assert_eq!(episode.verdict, Verdict::ProviderOutage);
        assert_eq!(episode.start, t0() + TimeDelta::minutes(1));
        assert_eq!(episode.end, Some(t0() + TimeDelta::minutes(40)));
        assert_eq!(episode.reports.len(), 1);
        assert_eq!(episode.reports[0].ticket.as_deref(), Some("A-123"));
        assert_eq!(episode.status_posts.len(), 1);
        // And the migrated file takes new records.
        let now = Utc::now();
        history
            .record_check(&diagnosis(Verdict::Healthy, None, now))
            .unwrap();
        history
            .record_change(&VerdictChanged {
                from: Verdict::Healthy,
                to: Verdict::InternetDown,
                from_since: now,
                since: now,
                at: now,
                diagnosis: diagnosis(Verdict::InternetDown, Some(Layer::Internet), now),
            })
            .unwrap();
        assert_eq!(history.episodes(since).unwrap().len(), 2);
    }
}

#[test]
fn a_database_from_a_newer_dialtone_is_refused_and_left_untouched() {
    // In WAL mode (as dialtone writes it) and in rollback-journal mode: opening the latter in
    // WAL mode would rewrite its header, so the refusal must come before that.
    for journal in ["DELETE", "WAL"] {
        refused_untouched(journal);
    }
}

fn refused_untouched(journal: &str) {
    let newest = committed("history-v").pop().unwrap();
    let (dir, path) = copy_to_temp(&newest);
    // What a newer release would leave: a higher user_version and a table this one does not
    // know, written by SQLite itself and closed (checkpointed back to a single file).
    let newer = current_version() + 1;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE lines (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
             PRAGMA user_version = {newer};
             PRAGMA journal_mode = {journal};"
        ))
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    // mtime has a coarse clock on some file systems: make a write detectable.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let err = History::open(&path).unwrap_err();
    assert!(
        matches!(err, HistoryError::TooNew { found, supported, .. } if found == newer && supported == current_version()),
        "{err}"
    );
    assert!(
        std::fs::read(&path).unwrap() == before,
        "{journal}: the file was modified"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("newer"), "{message}");
    assert!(message.contains("left unchanged"), "{message}");
    // No journal left behind either.
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["history.sqlite3".to_string()]);
    // Through the CLI: a clear error, and the same bytes afterwards.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["log", "--db"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("newer than the"), "{stderr}");
    assert!(
        std::fs::read(&path).unwrap() == before,
        "{journal}: the CLI modified the file"
    );
}
