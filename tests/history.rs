//! History store and outage log, end to end: crash safety under `kill -9`, the export golden
//! files in both languages, and the `dialtone log` command.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dialtone::diagnosis::{Diagnosis, LayerReport};
use dialtone::history::History;
use dialtone::verdict::{Layer, LayerStatus, Verdict};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// When set, this test binary is the child of `history_survives_kill_9_mid_write`: it writes
/// checks into the database named by the variable until it is killed.
const CHILD_ENV: &str = "DIALTONE_TEST_CRASH_CHILD_DB";

fn diagnosis(verdict: Verdict, at: DateTime<Utc>) -> Diagnosis {
    Diagnosis {
        verdict,
        failing_layer: None,
        layers: Layer::ALL
            .iter()
            .map(|&layer| LayerReport {
                layer,
                status: LayerStatus::Ok,
                evidence: vec![],
                latency_ms: Some(12.0),
            })
            .collect(),
        bindings: None,
        provider_name: None,
        checked_at: at,
    }
}

/// The child's loop: commit a check, then say so on stdout (flushed, one line per id), forever.
fn crash_child(db: &str) -> ! {
    let history = History::open(std::path::Path::new(db)).unwrap();
    let mut stdout = std::io::stdout().lock();
    let start = Utc::now();
    for n in 0.. {
        let id = history
            .record_check(&diagnosis(Verdict::Healthy, start + TimeDelta::seconds(n)))
            .unwrap();
        // Only after record_check returned is the row committed; only then is it reported.
        writeln!(stdout, "committed {id}").unwrap();
        stdout.flush().unwrap();
    }
    unreachable!("the loop only ends when the process is killed")
}

#[test]
fn history_survives_kill_9_mid_write() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        crash_child(&db);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let exe = std::env::current_exe().unwrap();
    let mut reported = Vec::new();
    // Three rounds on the same file: each child also has to open what the killed one left.
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "history_survives_kill_9_mid_write",
                "--nocapture",
            ])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut this_round = 0;
        while this_round < 150 + round * 50 {
            let line = lines
                .next()
                .expect("child ended before being killed")
                .unwrap();
            if let Some(id) = line.strip_prefix("committed ") {
                reported.push(id.parse::<i64>().unwrap());
                this_round += 1;
            }
        }
        // SIGKILL while the child is busy writing (it never pauses between commits).
        child.kill().unwrap();
        // Lines the child printed before it died are still in the pipe: they count too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("committed ") {
                reported.push(id.parse::<i64>().unwrap());
            }
        }
        child.wait().unwrap();
    }

    let history = History::open(&db).unwrap();
    assert_eq!(history.integrity_check().unwrap(), "ok");
    let missing: Vec<_> = reported
        .iter()
        .filter(|&&id| !history.has_check(id).unwrap())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} committed rows lost: {missing:?}",
        missing.len(),
        reported.len()
    );
    assert!(history.check_count().unwrap() >= reported.len() as u64);
    assert!(reported.len() >= 450);
}

#[test]
fn history_store_opens_an_outage_from_a_monitor_sequence() {
    // The "kamailio stopped for a while, then started" shape as the monitor publishes it.
    use dialtone::monitor::VerdictChanged;
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.sqlite3")).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let mut down = diagnosis(Verdict::ProviderOutage, t0);
    down.failing_layer = Some(Layer::Provider);
    down.layers[3].status = LayerStatus::Failed;
    down.layers[4].status = LayerStatus::Skipped;
    for (from, to, at, d) in [
        (
            Verdict::Unknown,
            Verdict::Healthy,
            t0 - TimeDelta::minutes(10),
            diagnosis(Verdict::Healthy, t0),
        ),
        (Verdict::Healthy, Verdict::ProviderOutage, t0, down.clone()),
        (
            Verdict::ProviderOutage,
            Verdict::Healthy,
            t0 + TimeDelta::minutes(7),
            diagnosis(Verdict::Healthy, t0),
        ),
    ] {
        history
            .record_change(&VerdictChanged {
                from,
                to,
                from_since: at,
                at,
                diagnosis: d,
            })
            .unwrap();
    }
    let episodes = history.episodes(t0 - TimeDelta::days(1)).unwrap();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].start, t0);
    assert_eq!(episodes[0].end, Some(t0 + TimeDelta::minutes(7)));
    assert_eq!(episodes[0].failing_layer, Some(Layer::Provider));
}
