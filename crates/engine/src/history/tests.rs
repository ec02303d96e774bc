//! Unit tests of the history store: round trips, the episode rules, retention, migrations.

use super::*;
use crate::monitor::VerdictChanged;
use chrono::{TimeDelta, TimeZone};
use dialtone_core::diagnosis::{Diagnosis, Fact, LayerReport, TargetRef};
use dialtone_core::observation::Transport;
use dialtone_core::record::CheckRecord as HistoryPoint;
use dialtone_core::status_post::StatusPost;
use dialtone_core::verdict::{Layer, LayerStatus};

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
}

/// A diagnosis whose `failing` layer failed (the ones above skipped), with a SIP answer when
/// the provider layer worked.
fn diagnosis(verdict: Verdict, failing: Option<Layer>, at: DateTime<Utc>) -> Diagnosis {
    let layers = Layer::ALL
        .iter()
        .map(|&layer| {
            let status = match failing {
                Some(f) if layer == f => LayerStatus::Failed,
                Some(f) if layer > f => LayerStatus::Skipped,
                _ => LayerStatus::Ok,
            };
            let sip_ok = layer == Layer::Provider && status == LayerStatus::Ok;
            LayerReport {
                layer,
                status,
                evidence: if sip_ok {
                    vec![Fact::SipResponse {
                        method: "OPTIONS".into(),
                        target: TargetRef {
                            host: "sip.example.net".into(),
                            transport: Transport::Udp,
                            address: "192.0.2.5:5060".parse().unwrap(),
                        },
                        code: 200,
                        reason: "OK".into(),
                        rtt_ms: 42.5,
                        transmissions: 1,
                        retry_after: None,
                    }]
                } else {
                    vec![]
                },
                latency_ms: sip_ok.then_some(42.5),
            }
        })
        .collect();
    Diagnosis {
        verdict,
        failing_layer: failing,
        layers,
        bindings: None,
        router: None,
        provider_name: None,
        checked_at: at,
    }
}

fn change(from: Verdict, to: Verdict, at: DateTime<Utc>) -> VerdictChanged {
    let failing = match to {
        Verdict::ProviderOutage => Some(Layer::Provider),
        Verdict::AccountProblem => Some(Layer::Account),
        Verdict::InternetDown => Some(Layer::Internet),
        Verdict::LocalProblem => Some(Layer::Device),
        _ => None,
    };
    VerdictChanged {
        from,
        to,
        from_since: at - TimeDelta::minutes(5),
        since: at,
        at,
        diagnosis: diagnosis(to, failing, at),
    }
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join(FILE_NAME);
    (dir, path)
}

#[test]
fn history_checks_round_trip_as_points_with_rtt_and_code() {
    let (_dir, path) = temp_db();
    let history = History::open(&path).unwrap();
    let ok = history
        .record_check(&diagnosis(Verdict::Healthy, None, t(9, 0)))
        .unwrap();
    history
        .record_check(&diagnosis(
            Verdict::ProviderOutage,
            Some(Layer::Provider),
            t(9, 1),
        ))
        .unwrap();
    assert!(history.has_check(ok).unwrap());
    let points = history.points(t(8, 0)).unwrap();
    assert_eq!(
        points,
        vec![
            HistoryPoint {
                at: t(9, 0),
                verdict: Verdict::Healthy,
                sip_rtt_ms: Some(42.5)
            },
            HistoryPoint {
                at: t(9, 1),
                verdict: Verdict::ProviderOutage,
                sip_rtt_ms: None
            },
        ]
    );
    assert_eq!(history.points(t(9, 1)).unwrap().len(), 1);
    // The compact per-layer column and the SIP code are stored as documented.
    let (layers, code): (String, Option<u16>) = history
        .conn
        .query_row(
            "SELECT layers, sip_code FROM checks WHERE id = ?1",
            [ok],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((layers.as_str(), code), ("oooooo", Some(200)));
    let (layers, code): (String, Option<u16>) = history
        .conn
        .query_row(
            "SELECT layers, sip_code FROM checks WHERE id = ?1",
            [ok + 1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((layers.as_str(), code), ("ooofso", None));
}

#[test]
fn history_episode_opens_continues_across_outage_verdicts_and_closes() {
    let (_dir, path) = temp_db();
    let mut history = History::open(&path).unwrap();
    use Verdict::*;
    assert_eq!(
        history
            .record_change(&change(Unknown, Healthy, t(8, 0)))
            .unwrap(),
        EpisodeEffect::None
    );
    assert_eq!(
        history
            .record_change(&change(Healthy, Degraded, t(8, 30)))
            .unwrap(),
        EpisodeEffect::None
    );
    let opened = history
        .record_change(&change(Degraded, ProviderOutage, t(9, 0)))
        .unwrap();
    let EpisodeEffect::Opened(id) = opened else {
        panic!("expected an opened episode, got {opened:?}");
    };
    assert_eq!(
        history
            .record_change(&change(ProviderOutage, AccountProblem, t(9, 30)))
            .unwrap(),
        EpisodeEffect::Continued(id)
    );
    assert_eq!(
        history
            .record_change(&change(AccountProblem, Unknown, t(9, 40)))
            .unwrap(),
        EpisodeEffect::Continued(id)
    );
    assert_eq!(history.open_episode().unwrap(), Some(id));
    assert_eq!(
        history
            .record_change(&change(Unknown, Healthy, t(10, 15)))
            .unwrap(),
        EpisodeEffect::Closed(id)
    );
    assert_eq!(history.open_episode().unwrap(), None);

    let episodes = history.episodes(t(0, 0)).unwrap();
    assert_eq!(episodes.len(), 1);
    let e = &episodes[0];
    assert_eq!((e.start, e.end), (t(9, 0), Some(t(10, 15))));
    assert_eq!(e.verdict, ProviderOutage);
    assert_eq!(e.failing_layer, Some(Layer::Provider));
    assert_eq!(e.verdicts, vec![ProviderOutage, AccountProblem]);
    assert_eq!(e.duration(t(23, 0)), TimeDelta::minutes(75));
    match &e.evidence {
        Evidence::Layers { layers } => assert_eq!(layers.len(), 6),
        other => panic!("evidence not readable: {other:?}"),
    }
    // Episodes that ended before `since` are left out; the change to unknown did not split it.
    assert!(history.episodes(t(10, 16)).unwrap().is_empty());
    assert_eq!(history.episodes(t(10, 15)).unwrap().len(), 1);
}

#[test]
fn history_open_episode_at_shutdown_stays_open_and_next_change_closes_it() {
    let (_dir, path) = temp_db();
    let id = {
        let mut history = History::open(&path).unwrap();
        history
            .record_change(&change(Verdict::Healthy, Verdict::InternetDown, t(9, 0)))
            .unwrap()
            .episode_id()
            .unwrap()
    };
    let mut history = History::open(&path).unwrap();
    let open = history.episodes(t(0, 0)).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].end, None);
    assert_eq!(open[0].duration(t(9, 30)), TimeDelta::minutes(30));
    // The restarted monitor starts at unknown and confirms the outage again: same episode.
    assert_eq!(
        history
            .record_change(&change(Verdict::Unknown, Verdict::InternetDown, t(11, 0)))
            .unwrap(),
        EpisodeEffect::Continued(id)
    );
    assert_eq!(
        history
            .record_change(&change(Verdict::InternetDown, Verdict::Healthy, t(12, 0)))
            .unwrap(),
        EpisodeEffect::Closed(id)
    );
    let closed = history.episode(id).unwrap();
    assert_eq!(closed.end, Some(t(12, 0)));
}

#[test]
fn history_retention_prunes_raw_checks_and_keeps_episodes_unless_configured() {
    let (_dir, path) = temp_db();
    let mut history = History::open(&path).unwrap();
    let now = t(12, 0);
    for days in [40, 31, 29, 1] {
        history
            .record_check(&diagnosis(
                Verdict::Healthy,
                None,
                now - TimeDelta::days(days),
            ))
            .unwrap();
    }
    let old = now - TimeDelta::days(400);
    history
        .record_change(&change(Verdict::Healthy, Verdict::ProviderOutage, old))
        .unwrap();
    history
        .record_change(&change(
            Verdict::ProviderOutage,
            Verdict::Healthy,
            old + TimeDelta::hours(2),
        ))
        .unwrap();
    let open = history
        .record_change(&change(
            Verdict::Healthy,
            Verdict::ProviderOutage,
            now - TimeDelta::days(500),
        ))
        .unwrap()
        .episode_id()
        .unwrap();

    let pruned = history.prune(now, &Retention::default()).unwrap();
    assert_eq!(
        pruned,
        Pruned {
            checks: 2,
            episodes: 0
        }
    );
    assert_eq!(history.check_count().unwrap(), 2);
    assert_eq!(
        history.episodes(old - TimeDelta::days(1000)).unwrap().len(),
        2
    );

    let short = Retention {
        checks: Duration::from_secs(24 * 3600),
        episodes: Some(Duration::from_secs(365 * 24 * 3600)),
    };
    let pruned = history.prune(now, &short).unwrap();
    // The 29-day-old check goes; the old closed episode goes; the (older) open one stays.
    assert_eq!(
        pruned,
        Pruned {
            checks: 1,
            episodes: 1
        }
    );
    let left = history.episodes(old - TimeDelta::days(1000)).unwrap();
    assert_eq!(left.iter().map(|e| e.id).collect::<Vec<_>>(), vec![open]);
}

#[test]
fn history_reports_and_status_posts_round_trip_and_posts_are_kept_once() {
    let (_dir, path) = temp_db();
    let mut history = History::open(&path).unwrap();
    let id = history
        .record_change(&change(Verdict::Healthy, Verdict::ProviderOutage, t(9, 0)))
        .unwrap()
        .episode_id()
        .unwrap();
    let report = FaultReport {
        reported_at: t(9, 20),
        channel: "Hotline".into(),
        ticket: Some("A-1234".into()),
        note: Some("<b>Kein Freizeichen</b> & \"tot\"".into()),
    };
    history.attach_report(id, &report).unwrap();
    let post = StatusPost {
        title: "Störung Telefonie".into(),
        published: Some(t(9, 52)),
        link: Some("https://status.example.net/incidents/1".into()),
    };
    let undated = StatusPost {
        title: "Wartungsarbeiten".into(),
        published: None,
        link: None,
    };
    let url = "https://status.example.net";
    assert!(history
        .attach_status_post(id, url, &post, t(10, 0))
        .unwrap());
    assert!(!history
        .attach_status_post(id, url, &post, t(10, 2))
        .unwrap());
    assert!(history
        .attach_status_post(id, url, &undated, t(10, 2))
        .unwrap());
    assert!(!history
        .attach_status_post(id, url, &undated, t(10, 4))
        .unwrap());

    let e = history.episode(id).unwrap();
    assert_eq!(e.reports, vec![report.clone()]);
    assert_eq!(
        e.status_posts,
        vec![
            SeenStatusPost {
                feed_url: url.into(),
                post,
                seen_at: t(10, 0)
            },
            SeenStatusPost {
                feed_url: url.into(),
                post: undated,
                seen_at: t(10, 2)
            },
        ]
    );
    let missing = history.attach_report(id + 99, &report).unwrap_err();
    assert!(
        matches!(missing, HistoryError::NoSuchEpisode { id: m, .. } if m == id + 99),
        "{missing}"
    );
    assert!(missing.to_string().contains(&path.display().to_string()));
}

/// The v1 schema exactly as the first release created it, written out here rather than taken
/// from `MIGRATIONS` so that an accidental edit of the released step is caught.
const V1_SQL: &str = "
CREATE TABLE checks (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, verdict TEXT NOT NULL,
    failing_layer TEXT, layers TEXT NOT NULL, sip_rtt_ms REAL, sip_code INTEGER);
CREATE INDEX checks_at ON checks(at);
CREATE TABLE episodes (id INTEGER PRIMARY KEY, start INTEGER NOT NULL, end INTEGER,
    verdict TEXT NOT NULL, failing_layer TEXT, evidence TEXT NOT NULL);
CREATE INDEX episodes_start ON episodes(start);
CREATE TABLE verdict_changes (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,
    from_verdict TEXT NOT NULL, to_verdict TEXT NOT NULL, from_since INTEGER NOT NULL,
    failing_layer TEXT, episode_id INTEGER REFERENCES episodes(id) ON DELETE SET NULL);
CREATE INDEX verdict_changes_at ON verdict_changes(at);
PRAGMA user_version = 1;
";

#[test]
fn history_migrates_a_v1_database_and_keeps_its_rows() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(V1_SQL).unwrap();
        conn.execute(
            "INSERT INTO checks (at, verdict, failing_layer, layers) VALUES (?1, 'healthy', NULL, 'ooooo')",
            [ms(t(8, 0))],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO episodes (start, end, verdict, failing_layer, evidence)
             VALUES (?1, ?2, 'provider_outage', 'provider', '[]')",
            [ms(t(9, 0)), ms(t(10, 0))],
        )
        .unwrap();
    }
    let history = History::open(&path).unwrap();
    assert_eq!(history.schema_version().unwrap(), current_version());
    assert_eq!(current_version(), 2);
    assert_eq!(history.points(t(0, 0)).unwrap().len(), 1);
    let episodes = history.episodes(t(0, 0)).unwrap();
    assert_eq!(episodes.len(), 1);
    // The v2 tables exist and work on the migrated file.
    history
        .attach_report(
            episodes[0].id,
            &FaultReport {
                reported_at: t(9, 10),
                channel: "web".into(),
                ticket: None,
                note: None,
            },
        )
        .unwrap();
    assert_eq!(history.episode(episodes[0].id).unwrap().reports.len(), 1);
    drop(history);
    // Opening again is a no-op.
    assert_eq!(History::open(&path).unwrap().schema_version().unwrap(), 2);
}

#[test]
fn history_refuses_a_database_from_a_newer_dialtone() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    let err = History::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::TooNew {
                found: 99,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn history_reports_bad_stored_values_instead_of_panicking() {
    let (_dir, path) = temp_db();
    let history = History::open(&path).unwrap();
    history
        .conn
        .execute(
            "INSERT INTO checks (at, verdict, layers) VALUES (0, 'on_fire', 'ooooo')",
            [],
        )
        .unwrap();
    history
        .conn
        .execute(
            "INSERT INTO episodes (start, verdict, evidence) VALUES (0, 'provider_outage', 'not json')",
            [],
        )
        .unwrap();
    let err = history
        .points(t(0, 0) - TimeDelta::days(30000))
        .unwrap_err();
    assert!(
        matches!(&err, HistoryError::Corrupt { column: "checks.verdict", value, .. } if value == "on_fire"),
        "{err}"
    );
    // Unreadable evidence is kept verbatim: the rest of the episode is still the customer's log.
    let episodes = history.episodes(t(0, 0)).unwrap();
    assert_eq!(
        episodes[0].evidence,
        Evidence::Unreadable {
            json: "not json".into()
        }
    );
}

#[test]
fn history_runs_in_wal_mode_with_full_sync() {
    let (_dir, path) = temp_db();
    let history = History::open(&path).unwrap();
    let mode: String = history
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let sync: i64 = history
        .conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}

#[test]
fn the_database_and_its_folder_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/dialtone/history.sqlite3");
    let history = History::open(&path).unwrap();
    history
        .record_check(&diagnosis(Verdict::Healthy, None, t(8, 0)))
        .unwrap();
    let mode = |p: &Path| dialtone_platform::fs::access_bits(p).unwrap() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let wal = path.with_extension("sqlite3-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
}

#[test]
fn a_write_blocked_past_the_busy_timeout_gets_one_more_try() {
    use std::time::Duration;
    // Another process (a long `log report` or export next to the agent) holds the write lock
    // for longer than the 5 s busy timeout. The first attempt gives up; the one retry waits
    // again and gets through once the lock is released, so the check is not lost.
    let (_dir, path) = temp_db();
    let mut history = History::open(&path).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (held, release) = std::sync::mpsc::channel::<()>();
    let releaser = std::thread::spawn(move || {
        // Past the first busy timeout, well inside the second.
        let _ = release.recv_timeout(Duration::from_millis(6_500));
        holder.execute_batch("COMMIT").unwrap();
    });
    let started = std::time::Instant::now();
    let id = history
        .record_check(&diagnosis(Verdict::Healthy, None, t(8, 0)))
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "the write did not wait for the lock: {:?}",
        started.elapsed()
    );
    assert!(id > 0);
    drop(held);
    releaser.join().unwrap();
    // The same for a verdict change, which writes inside an immediate transaction.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(6_500));
        holder.execute_batch("COMMIT").unwrap();
    });
    history
        .record_change(&change(Verdict::Healthy, Verdict::ProviderOutage, t(8, 1)))
        .unwrap();
    releaser.join().unwrap();
    assert_eq!(history.check_count().unwrap(), 1);
    assert!(history.has_check(id).unwrap());
    assert!(
        history.open_episode().unwrap().is_some(),
        "the outage was recorded"
    );
}
