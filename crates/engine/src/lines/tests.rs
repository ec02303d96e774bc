//! The runner's own rules: a dead monitor is said and restarted with a growing backoff, a
//! restart of one line leaves the others alone, stopping ends every task, and `check` runs one
//! round per line. Every probe goes to loopback only (a listener of the test's own as the
//! internet's anchors, the router view off).
#![allow(clippy::unwrap_used)]

use super::*;
use dialtone_core::catalog::Catalog;
use dialtone_core::config::Config;
use std::net::TcpListener;
use tokio::time::timeout;

/// A line whose every layer is checked on loopback: `anchor` stands for the internet.
fn prepared(label: &str, anchor: &TcpListener) -> Prepared {
    let addr = anchor.local_addr().unwrap().to_string();
    let mut config = Config::default();
    config.network.anchors = vec![addr.clone(), addr];
    config.network.gateway = "127.0.0.1".into();
    config.network.dns_name = "none".into();
    config.router.url = "off".into();
    config.timeout_secs = Some(0.5);
    let mut prepared = crate::setup::prepare(&config, &Catalog::builtin().unwrap()).unwrap();
    prepared.label = label.into();
    prepared
}

/// The next event that `wanted` picks, within `secs` seconds.
async fn next<T>(
    events: &mut mpsc::UnboundedReceiver<LineEvent>,
    secs: u64,
    mut wanted: impl FnMut(&LineEvent) -> Option<T>,
) -> T {
    timeout(Duration::from_secs(secs), async {
        loop {
            let event = events.recv().await.expect("the runner's channel is open");
            if let Some(found) = wanted(&event) {
                return found;
            }
        }
    })
    .await
    .expect("the event came in time")
}

/// Waits for the first line to start and finish a round.
async fn started_and_checked(events: &mut mpsc::UnboundedReceiver<LineEvent>) {
    next(events, 5, |e| {
        matches!(e, LineEvent::Started { index: 0 }).then_some(())
    })
    .await;
    next(events, 5, |e| {
        matches!(e, LineEvent::Checked { index: 0 }).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_dead_monitor_is_said_and_restarted_with_a_growing_backoff() {
    let anchor = TcpListener::bind("127.0.0.1:0").unwrap();
    let token = CancellationToken::new();
    let (mut lines, mut events) = Lines::new(None, &token);
    lines
        .start(vec![prepared("home", &anchor)], Sharing::Share)
        .await
        .unwrap();
    started_and_checked(&mut events).await;
    let first = lines.handle(0).unwrap();

    assert!(lines.kill_monitor(0));
    let (why, retry_in) = next(&mut events, 5, |e| match e {
        LineEvent::Stopped {
            index: 0,
            why,
            retry_in,
        } => Some((why.clone(), *retry_in)),
        _ => None,
    })
    .await;
    assert!(why.contains("stopped"), "{why}");
    assert_eq!(retry_in, RESTART_DELAY);
    assert!(lines.handle(0).is_none(), "no monitor while it waits");
    started_and_checked(&mut events).await;
    let second = lines.handle(0).unwrap();
    // A new monitor, which has checked; the old one is gone.
    assert!(first.watch_status().has_changed().is_err());
    assert!(second.watch_status().has_changed().is_ok());
    assert!(second.status().latest.is_some());

    // Dying again soon after: the wait doubles.
    assert!(lines.kill_monitor(0));
    let retry_in = next(&mut events, 5, |e| match e {
        LineEvent::Stopped {
            index: 0, retry_in, ..
        } => Some(*retry_in),
        _ => None,
    })
    .await;
    assert_eq!(retry_in, RESTART_DELAY * 2);
    lines.stop().await;
}

#[tokio::test]
async fn restarting_one_line_leaves_the_others_running() {
    let anchor = TcpListener::bind("127.0.0.1:0").unwrap();
    let token = CancellationToken::new();
    let (mut lines, mut events) = Lines::new(None, &token);
    let both = vec![prepared("home", &anchor), prepared("office", &anchor)];
    lines.start(both, Sharing::Share).await.unwrap();
    for index in 0..2 {
        next(&mut events, 5, |e| match e {
            LineEvent::Checked { index: i } if *i == index => Some(()),
            _ => None,
        })
        .await;
    }
    let (home, office) = (lines.handle(0).unwrap(), lines.handle(1).unwrap());
    lines
        .restart(1, prepared("office", &anchor), Sharing::Share)
        .await
        .unwrap();
    assert!(
        office.watch_status().has_changed().is_err(),
        "the old office monitor stopped"
    );
    assert!(home.watch_status().has_changed().is_ok(), "home runs on");
    assert_eq!(lines.handles().all().len(), 2);
    lines.truncate(1).await;
    assert_eq!((lines.len(), lines.handles().all().len()), (1, 1));
    lines.stop().await;
    assert!(
        home.watch_status().has_changed().is_err(),
        "stopped with the runner"
    );
    assert!(lines.handles().all().is_empty());
}

#[tokio::test]
async fn check_runs_one_round_per_line_in_their_order() {
    let anchor = TcpListener::bind("127.0.0.1:0").unwrap();
    let results = check(vec![prepared("home", &anchor), prepared("office", &anchor)]).await;
    let labels: Vec<String> = results
        .into_iter()
        .map(|r| {
            let (label, diagnosis) = r.unwrap().unwrap();
            assert_eq!(
                diagnosis.layers.len(),
                dialtone_core::verdict::Layer::ALL.len()
            );
            label
        })
        .collect();
    assert_eq!(labels, ["home", "office"]);
}

#[test]
fn each_listed_line_is_recorded_in_a_file_of_its_own() {
    let base = Path::new("/data/history.sqlite3");
    assert_eq!(history_file(base, false, "home"), base);
    let home = history_file(base, true, "home");
    let office = history_file(base, true, "office");
    assert_ne!(home, office);
    assert_eq!(home, crate::setup::line_history_path(base, "home"));
}
