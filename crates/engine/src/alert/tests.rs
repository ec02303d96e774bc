//! The alerter against a real local webhook (a loopback HTTP server in the test): flapping
//! stays within the hour's limit, a target that keeps failing is given up, a restart during
//! an outage does not alert it again.

#![allow(clippy::unwrap_used)]

use super::*;
use dialtone_core::diagnosis::Diagnosis;
use dialtone_core::verdict::Verdict;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A webhook on loopback answering every POST with `status`; the bodies it got.
async fn webhook(status: u16) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            if status == 200 {
                                seen.lock()
                                    .unwrap()
                                    .push(serde_json::from_str(body).unwrap());
                            }
                            let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                            let _ = s.write_all(reply.as_bytes()).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, got)
}

fn change(from: Verdict, to: Verdict, since: DateTime<Utc>) -> LineEvent {
    LineEvent::Changed {
        index: 0,
        change: VerdictChanged {
            from,
            to,
            from_since: since - TimeDelta::minutes(1),
            since,
            at: since + TimeDelta::seconds(10),
            diagnosis: Diagnosis {
                verdict: to,
                failing_layer: None,
                layers: vec![],
                bindings: None,
                router: None,
                provider_name: Some("Testprov".into()),
                checked_at: since,
            },
        },
    }
}

fn setup(url: &str, outbox: &Path, policy: Policy) -> AlertSetup {
    let config = Config {
        alerts: vec![dialtone_core::alert::AlertConfig {
            url: url.into(),
            ..Default::default()
        }],
        ..Config::default()
    };
    let mut setup = AlertSetup::resolve(&config, &[], Lang::En, outbox.to_path_buf()).unwrap();
    setup.policy = policy;
    setup
}

fn line() -> Vec<LineInfo> {
    vec![LineInfo {
        label: "Home".into(),
        provider: Some("Testprov".into()),
        channels: vec![],
    }]
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn flapping_sends_at_most_the_hours_limit_and_one_unstable_alert() {
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = webhook(200).await;
    let token = CancellationToken::new();
    let (alerter, task) = Alerter::spawn(
        setup(&url, &dir.path().join("o.json"), Policy::default()),
        line(),
        &token,
    )
    .unwrap();
    let t0 = Utc::now();
    // Ten outages in ten minutes: twenty changes.
    for i in 0..10 {
        let at = t0 + TimeDelta::minutes(i);
        alerter.offer(&change(Verdict::Healthy, Verdict::ProviderOutage, at));
        alerter.offer(&change(
            Verdict::ProviderOutage,
            Verdict::Healthy,
            at + TimeDelta::seconds(30),
        ));
    }
    let limit = Policy::default().per_hour + 1;
    wait_for("the limit's alerts", || got.lock().unwrap().len() >= limit).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), limit, "{got:#?}");
    let events: Vec<&str> = got.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["outage", "recovery", "outage", "recovery", "outage", "unstable"]
    );
    assert_eq!(got[5]["headline"], "Your line is unstable");
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_target_failing_past_the_limit_is_given_up_and_order_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = webhook(500).await;
    let path = dir.path().join("o.json");
    let policy = Policy {
        give_up: TimeDelta::seconds(2),
        first_retry: Duration::from_millis(200),
        max_retry: Duration::from_millis(400),
        ..Policy::default()
    };
    let token = CancellationToken::new();
    let (alerter, task) = Alerter::spawn(setup(&url, &path, policy), line(), &token).unwrap();
    let t0 = Utc::now();
    alerter.offer(&change(Verdict::Healthy, Verdict::InternetDown, t0));
    alerter.offer(&change(
        Verdict::InternetDown,
        Verdict::Healthy,
        t0 + TimeDelta::minutes(3),
    ));
    let given_up = || {
        Outbox::open(&path).is_ok_and(|o| {
            o.entries().len() == 2
                && o.entries()
                    .iter()
                    .all(|e| matches!(e.state, State::GivenUp { .. }))
        })
    };
    wait_for("both alerts given up", given_up).await;
    let outbox = Outbox::open(&path).unwrap();
    let e = &outbox.entries()[0];
    assert_eq!(e.alert.message.event, "outage");
    assert!(e.attempts >= 2, "retried before giving up: {e:?}");
    assert!(e.last_error.as_deref().unwrap().contains("500"), "{e:?}");
    assert!(
        !e.last_error.as_deref().unwrap().contains("/hook"),
        "redacted: {e:?}"
    );
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_restart_during_an_outage_does_not_alert_it_again_and_the_recovery_counts_from_its_start()
{
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = webhook(200).await;
    let path = dir.path().join("o.json");
    let t0 = Utc::now() - TimeDelta::minutes(30);
    {
        let token = CancellationToken::new();
        let (alerter, task) =
            Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
        alerter.offer(&change(Verdict::Healthy, Verdict::ProviderOutage, t0));
        wait_for("the outage alert", || got.lock().unwrap().len() == 1).await;
        token.cancel();
        task.await.unwrap();
    }
    // The next run starts from unknown and confirms the same outage.
    let token = CancellationToken::new();
    let (alerter, task) =
        Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
    let t1 = t0 + TimeDelta::minutes(20);
    alerter.offer(&change(Verdict::Unknown, Verdict::ProviderOutage, t1));
    alerter.offer(&change(
        Verdict::ProviderOutage,
        Verdict::Healthy,
        t1 + TimeDelta::minutes(5),
    ));
    wait_for("the recovery alert", || got.lock().unwrap().len() == 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[1]["event"], "recovery");
    assert_eq!(
        got[1]["duration_s"],
        25 * 60,
        "from the first run's start: {:#}",
        got[1]
    );
    assert_eq!(got[1]["previous"], "provider_outage");
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_broken_outbox_is_moved_aside_and_alerts_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = webhook(200).await;
    let path = dir.path().join("o.json");
    std::fs::write(&path, "{ not json").unwrap();
    let token = CancellationToken::new();
    let (alerter, task) =
        Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
    alerter.offer(&change(Verdict::Healthy, Verdict::InternetDown, Utc::now()));
    wait_for("the alert", || got.lock().unwrap().len() == 1).await;
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("o.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    token.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn one_process_sends_the_alerts_of_an_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = webhook(200).await;
    let path = dir.path().join("o.json");
    let token = CancellationToken::new();
    let (_alerter, task) =
        Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
    let second = Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token);
    assert!(matches!(second, Err(SpawnError::Busy(_))));
    token.cancel();
    task.await.unwrap();
    // Free again once the first has ended.
    let token = CancellationToken::new();
    let (_alerter, task) =
        Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
    token.cancel();
    task.await.unwrap();
}

#[test]
fn the_smtp_password_has_one_keyring_entry() {
    let smtp = dialtone_core::alert::SmtpConfig {
        host: " mail.example.org ".into(),
        user: Some("me@example.org".into()),
        ..Default::default()
    };
    assert_eq!(
        smtp_keyring_account(&smtp).as_deref(),
        Some("smtp:me@example.org@mail.example.org")
    );
    let anonymous = dialtone_core::alert::SmtpConfig { user: None, ..smtp };
    assert_eq!(smtp_keyring_account(&anonymous), None);
}

#[tokio::test]
async fn a_pause_holds_new_alarms_back_lets_recoveries_through_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = webhook(200).await;
    let path = dir.path().join("o.json");
    let token = CancellationToken::new();
    let (alerter, task) =
        Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
    let t0 = Utc::now();
    // Told of an outage, then paused: its recovery still goes (the phone must not be left
    // believing the line is down), the next outage does not, nor its recovery.
    alerter.offer(&change(Verdict::Healthy, Verdict::ProviderOutage, t0));
    wait_for("the outage", || got.lock().unwrap().len() == 1).await;
    let until = Utc::now() + TimeDelta::hours(1);
    alerter.pause(Some(until));
    assert_eq!(alerter.paused_until(), Some(until));
    let at = |s| t0 + TimeDelta::seconds(s);
    alerter.offer(&change(Verdict::ProviderOutage, Verdict::Healthy, at(30)));
    wait_for("the recovery", || got.lock().unwrap().len() == 2).await;
    alerter.offer(&change(Verdict::Healthy, Verdict::InternetDown, at(60)));
    alerter.offer(&change(Verdict::InternetDown, Verdict::Healthy, at(90)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["outage", "recovery"]);
    token.cancel();
    task.await.unwrap();

    // A restart keeps the pause (it is in the outbox); lifted, alarms go again.
    let token = CancellationToken::new();
    let (alerter, task) =
        Alerter::spawn(setup(&url, &path, Policy::default()), line(), &token).unwrap();
    assert_eq!(alerter.paused_until(), Some(until));
    alerter.offer(&change(Verdict::Healthy, Verdict::AccountProblem, at(120)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "still paused after the restart"
    );
    alerter.pause(None);
    assert_eq!(alerter.paused_until(), None);
    alerter.offer(&change(
        Verdict::AccountProblem,
        Verdict::InternetDown,
        at(150),
    ));
    wait_for("the alarm after the pause", || {
        got.lock().unwrap().len() == 3
    })
    .await;
    token.cancel();
    task.await.unwrap();
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(!saved.contains("paused_until"), "{saved}");
}

/// The HTTP client and the mailer (each with its TLS root store) are built at their first
/// try, not when the alerter starts; what can be checked without them is checked at once.
#[tokio::test]
async fn transports_are_built_at_the_first_try_not_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = webhook(200).await;
    let setup = setup(&url, &dir.path().join("o.json"), Policy::default());
    let transports = setup.transports().unwrap();
    assert_eq!(transports.built(), (false, false));
    let now = Utc::now();
    let facts = AlertFacts {
        event: AlertEvent::Test,
        line: "Home",
        verdict: Verdict::Healthy,
        previous: Verdict::Healthy,
        since: now,
        until: None,
        at: now,
        diagnosis: None,
        provider: None,
        channels: &[],
        post: None,
        offset: local_offset(),
    };
    let entry = outbox::Entry {
        id: "x".into(),
        target: setup.targets[0].key.clone(),
        shown: setup.targets[0].target.shown(),
        alert: render_alert(&facts, Lang::En),
        created: Utc::now(),
        state: State::Pending {
            next_try: Utc::now(),
        },
        attempts: 0,
        last_error: None,
    };
    transports.deliver(&setup.targets[0], &entry).await.unwrap();
    assert_eq!(got.lock().unwrap().len(), 1);
    assert_eq!(
        transports.built(),
        (true, false),
        "the mailer is never needed here"
    );

    // A login without a password is refused when the alerter starts, naming the key.
    let config = Config {
        alerts: vec![dialtone_core::alert::AlertConfig {
            url: "mailto:me@example.org".into(),
            ..Default::default()
        }],
        smtp: Some(dialtone_core::alert::SmtpConfig {
            host: "127.0.0.1".into(),
            user: Some("me@example.org".into()),
            password_env: None,
            ..Default::default()
        }),
        ..Config::default()
    };
    let setup = AlertSetup::resolve(&config, &[], Lang::En, dir.path().join("p.json")).unwrap();
    let e = setup.transports().err().unwrap();
    assert!(e.contains("smtp.user"), "{e}");
}
