//! Handler-level tests of the agent: settings are validated, saved and read back without ever
//! carrying a password; bad values get typed errors naming the field and change nothing; the
//! outage log's episodes, fault reports and exports are served from the history.
//!
//! The monitor these agents start probes loopback only (gateway and anchors on 127.0.0.1, no
//! DNS name). The keyring is never written here: `SetPassword` is tested end to end against a
//! child agent on a private bus (tests/agent.rs), so a developer's own keyring stays untouched.
#![allow(clippy::unwrap_used)]

use super::*;
use dialtone_ipc::protocol::{AccountSettings, ErrorReply, Request, Response, Settings};
use dialtone_ipc::server::Handler;
use std::path::Path;

struct Fixture {
    dir: tempfile::TempDir,
    agent: Arc<Agent>,
    _anchor: std::net::TcpListener,
}

fn fixture() -> Fixture {
    fixture_with(false)
}

fn fixture_with(history: bool) -> Fixture {
    fixture_config(history, None)
}

/// An agent on `config` (the file's text; none: a first run).
fn fixture_config(history: bool, config: Option<&str>) -> Fixture {
    fixture_socket(history, config, false)
}

/// As [`fixture_config`]; `socket_unavailable` plays an agent that could not bind its socket.
fn fixture_socket(history: bool, config: Option<&str>, socket_unavailable: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = config {
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
    }
    let anchor = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let anchor_addr = anchor.local_addr().unwrap().to_string();
    let overrides = Overrides {
        config: Some(dir.path().join("config.toml")),
        anchors: vec![anchor_addr.clone(), anchor_addr],
        gateway: Some("127.0.0.1".into()),
        dns_name: Some("none".into()),
        timeout: Some(0.5),
        catalog: Some(dir.path().join("no-user-catalog.toml")),
        no_history: !history,
        db: Some(dir.path().join("history.sqlite3")),
        ..Overrides::default()
    };
    let agent = Agent::new(AgentOptions {
        overrides,
        lang_flag: Some(Lang::En),
        socket: dir.path().join("agent.sock"),
        socket_unavailable,
        notifications: false,
    })
    .unwrap();
    Fixture {
        dir,
        agent,
        _anchor: anchor,
    }
}

fn settings() -> Settings {
    Settings {
        provider: Some("1und1".into()),
        account: Some(AccountSettings {
            registrar: "sip:127.0.0.1:9;transport=udp".into(),
            user: Some("alice".into()),
            ..AccountSettings::default()
        }),
        interval_secs: 60,
        recheck_secs: 3,
        account_interval_secs: 600,
        notifications: false,
        language: Some(Lang::De),
        // Left as it is: the test must not add or remove the developer's own autostart entry.
        start_at_login: crate::autostart::is_enabled(),
        password_stored: false,
        lines_in_config: false,
    }
}

async fn get(agent: &Agent) -> Settings {
    match agent.handle(Request::GetSettings).await.unwrap() {
        Response::Settings { settings } => settings,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn settings_round_trip_through_the_file_without_a_password() {
    let f = fixture();
    f.agent.restart_line().await.unwrap();
    assert!(!f.agent.agent_status().configured, "first run");
    let wanted = settings();
    let reply = f
        .agent
        .handle(Request::SetSettings {
            settings: Settings {
                // A client cannot claim a stored password.
                password_stored: true,
                ..wanted.clone()
            },
            password: None,
        })
        .await
        .unwrap();
    let Response::Settings { settings: stored } = reply else {
        panic!("{reply:?}");
    };
    assert_eq!(stored, wanted);
    assert_eq!(get(&f.agent).await, wanted);
    let status = f.agent.agent_status();
    assert!(status.configured);
    assert_eq!(
        status.lang,
        Lang::En,
        "--lang beats the settings for this run"
    );
    assert_eq!(status.provider.unwrap().name, "1&1");
    // The file holds the settings, and the flags of this run stay out of it.
    let text = std::fs::read_to_string(f.dir.path().join("config.toml")).unwrap();
    let saved = Config::parse(&text, Path::new("config.toml")).unwrap();
    assert_eq!(saved.provider.as_deref(), Some("1und1"));
    assert_eq!(saved.account.unwrap().user.as_deref(), Some("alice"));
    assert_eq!(saved.schedule.interval_secs, 60);
    assert_eq!(saved.desktop.language, Some(Lang::De));
    assert!(!saved.desktop.notifications);
    assert_eq!(
        saved.network,
        dialtone_core::config::NetworkConfig::default()
    );
    assert!(!text.contains("password"), "{text}");
    // A new Agent reading the file sees the same settings (what a restart would do).
    f.agent.stop_line().await;
}

#[tokio::test]
async fn bad_settings_get_typed_errors_and_change_nothing() {
    let f = fixture();
    f.agent.restart_line().await.unwrap();
    let cases: Vec<(Settings, &str)> = vec![
        (
            Settings {
                provider: Some("no-such-provider".into()),
                ..settings()
            },
            "settings.provider",
        ),
        (
            Settings {
                account: Some(AccountSettings {
                    registrar: " ".into(),
                    ..AccountSettings::default()
                }),
                ..settings()
            },
            "settings.account.registrar",
        ),
        (
            Settings {
                account: Some(AccountSettings {
                    registrar: "sip:127.0.0.1:9".into(),
                    user: Some("al ice".into()),
                    ..AccountSettings::default()
                }),
                ..settings()
            },
            "settings.account.user",
        ),
        (
            Settings {
                recheck_secs: 120,
                ..settings()
            },
            "settings.recheck_secs",
        ),
        (
            Settings {
                account_interval_secs: 5,
                ..settings()
            },
            "settings.account_interval_secs",
        ),
        (
            Settings {
                interval_secs: 0,
                recheck_secs: 0,
                ..settings()
            },
            "settings.interval_secs",
        ),
    ];
    for (bad, field) in cases {
        match f
            .agent
            .handle(Request::SetSettings {
                settings: bad,
                password: None,
            })
            .await
        {
            Err(ErrorReply::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(!f.dir.path().join("config.toml").exists(), "nothing saved");
    assert!(!f.agent.agent_status().configured);
    f.agent.stop_line().await;
}

#[tokio::test]
async fn requests_out_of_range_are_refused() {
    let f = fixture();
    f.agent.restart_line().await.unwrap();
    for request in [
        Request::History {
            hours: 0,
            line: None,
        },
        Request::History {
            hours: 10_000,
            line: None,
        },
        Request::PauseAlerts {
            minutes: 24 * 60 + 1,
        },
    ] {
        let name = request.name();
        assert!(
            matches!(
                f.agent.handle(request).await,
                Err(ErrorReply::Invalid { .. })
            ),
            "{name}"
        );
    }
    // No history store: an honest "not available", not an error.
    match f
        .agent
        .handle(Request::History {
            hours: 24,
            line: None,
        })
        .await
        .unwrap()
    {
        Response::History { history } => assert!(!history.available),
        other => panic!("{other:?}"),
    }
    // Pausing and resuming show in the status.
    for (minutes, paused) in [(60, true), (0, false)] {
        let Response::Status { status } = f
            .agent
            .handle(Request::PauseAlerts { minutes })
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            status.alerts_paused_until.is_some(),
            paused,
            "{minutes} min"
        );
    }
    f.agent.stop_line().await;
}

#[tokio::test]
async fn a_dashboard_that_cannot_start_is_a_typed_error() {
    let f = fixture();
    // The variable is read per call; no other test in this binary starts a dashboard.
    std::env::set_var(
        dashboard::DASHBOARD_ENV,
        f.dir.path().join("no-such-dashboard"),
    );
    let result = f.agent.handle(Request::OpenDashboard).await;
    std::env::remove_var(dashboard::DASHBOARD_ENV);
    match result {
        Err(ErrorReply::Dashboard { detail }) => assert!(detail.contains("no-such-dashboard")),
        other => panic!("{other:?}"),
    }
}

/// A loopback HTTP server answering every request with one RSS document.
fn rss_server(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed.rss", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[tokio::test]
async fn feed_posts_reach_the_ipc_reply_and_the_open_outage() {
    use dialtone_core::catalog::{Feed, FeedKind};
    use dialtone_core::diagnosis::Diagnosis;
    use dialtone_core::verdict::{Layer, Verdict};
    use dialtone_engine::feed::{FeedPoller, FetchLimits};
    let f = fixture_with(true);
    // An outage is open in the history, as the recorder would have left it.
    let now = Utc::now();
    let change = dialtone_engine::monitor::VerdictChanged {
        from: Verdict::Healthy,
        to: Verdict::ProviderOutage,
        from_since: now - chrono::TimeDelta::hours(1),
        since: now,
        at: now,
        diagnosis: Diagnosis {
            verdict: Verdict::ProviderOutage,
            failing_layer: Some(Layer::Provider),
            layers: Vec::new(),
            bindings: None,
            router: None,
            provider_name: None,
            checked_at: now,
        },
    };
    let episode = {
        let history = f.agent.history.clone().unwrap();
        let mut history = lock(&history);
        history.record_change(&change).unwrap();
        history.open_episode().unwrap().unwrap()
    };
    let url = rss_server(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>1&amp;1 Status</title>\
         <item><title>Störung Telefonie</title><pubDate>Tue, 01 Dec 2026 08:52:00 GMT</pubDate></item>\
         </channel></rss>",
    );
    let mut poller = FeedPoller::new(
        vec![Feed {
            kind: FeedKind::Rss,
            url: url.clone(),
            verified: true,
        }],
        // Tests only: the server is plain HTTP on 127.0.0.1.
        FetchLimits {
            allow_http_loopback: true,
            ..FetchLimits::default()
        },
    );
    let changed = poller
        .poll_due(Verdict::ProviderOutage, std::time::Instant::now())
        .await;
    assert_eq!(changed, [0], "{:?}", poller.feeds()[0].error);
    f.agent.feeds_polled(0, poller.feeds());
    let path = f.agent.history_path_of(0).unwrap();
    dialtone_engine::lines::record_posts(&path, &poller, &changed).await;
    // Seen again on the next poll: stored once.
    dialtone_engine::lines::record_posts(&path, &poller, &changed).await;

    match f.agent.handle(Request::Feeds { line: None }).await.unwrap() {
        Response::Feeds { feeds } => {
            assert!(feeds.available);
            assert_eq!(feeds.feeds.len(), 1);
            assert_eq!(feeds.feeds[0].url, url);
            assert_eq!(feeds.feeds[0].kind, "rss");
            assert_eq!(feeds.feeds[0].posts[0].title, "Störung Telefonie");
            assert!(feeds.feeds[0].fetched_at.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        lock(&f.agent.state).lines[0]
            .latest_post
            .as_ref()
            .map(|p| p.title.as_str()),
        Some("Störung Telefonie"),
        "the notification quotes it"
    );
    let history = f.agent.history.clone().unwrap();
    let stored = lock(&history).episode(episode).unwrap().status_posts;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].post.title, "Störung Telefonie");
    assert_eq!(stored[0].feed_url, url);
}

/// Records a closed provider outage (an hour ago, 20 minutes long) in the fixture's history
/// as the recorder would; returns its id.
fn closed_outage(f: &Fixture) -> i64 {
    use dialtone_core::diagnosis::Diagnosis;
    use dialtone_core::verdict::{Layer, Verdict};
    let start = Utc::now() - chrono::TimeDelta::hours(1);
    let end = start + chrono::TimeDelta::minutes(20);
    let change = |from, to, at| dialtone_engine::monitor::VerdictChanged {
        from,
        to,
        from_since: at - chrono::TimeDelta::hours(1),
        since: at,
        at,
        diagnosis: Diagnosis {
            verdict: to,
            failing_layer: (to == Verdict::ProviderOutage).then_some(Layer::Provider),
            layers: Vec::new(),
            bindings: None,
            router: None,
            provider_name: None,
            checked_at: at,
        },
    };
    let history = f.agent.history.clone().unwrap();
    let mut history = lock(&history);
    let opened = history
        .record_change(&change(Verdict::Healthy, Verdict::ProviderOutage, start))
        .unwrap();
    history
        .record_change(&change(Verdict::ProviderOutage, Verdict::Healthy, end))
        .unwrap();
    opened.episode_id().unwrap()
}

async fn episodes(agent: &Agent, days: u32) -> dialtone_ipc::protocol::EpisodesReply {
    match agent
        .handle(Request::Episodes { days, line: None })
        .await
        .unwrap()
    {
        Response::Episodes { episodes } => episodes,
        other => panic!("{other:?}"),
    }
}

fn report(episode: i64, channel: &str) -> Request {
    Request::AttachReport {
        episode,
        reported_at: Utc::now() - chrono::TimeDelta::minutes(50),
        channel: channel.into(),
        ticket: Some("  T-4711 ".into()),
        note: Some("Hotline said: \"<b>known</b>\"\nline 2".into()),
        line: None,
    }
}

#[tokio::test]
async fn episodes_carry_their_details_and_take_fault_reports() {
    let f = fixture_with(true);
    let id = closed_outage(&f);
    let reply = episodes(&f.agent, 7).await;
    assert!(reply.available && !reply.truncated);
    assert_eq!(reply.episodes.len(), 1, "{reply:?}");
    let e = &reply.episodes[0];
    assert_eq!(e.id, id);
    assert_eq!(e.verdict, dialtone_core::verdict::Verdict::ProviderOutage);
    assert_eq!(
        e.failing_layer,
        Some(dialtone_core::verdict::Layer::Provider)
    );
    assert_eq!(e.duration_secs, 20 * 60);
    assert_eq!(e.end.unwrap() - e.start, chrono::TimeDelta::minutes(20));
    assert!(e.reports.is_empty());

    assert_eq!(
        f.agent.handle(report(id, " hotline ")).await.unwrap(),
        Response::Done
    );
    let e = episodes(&f.agent, 7).await.episodes.remove(0);
    assert_eq!(e.reports.len(), 1);
    assert_eq!(e.reports[0].channel, "hotline", "trimmed");
    assert_eq!(e.reports[0].ticket.as_deref(), Some("T-4711"));
    assert!(e.reports[0].note.as_deref().unwrap().contains("\nline 2"));

    // The shortest window still holds an episode that ended within it; out-of-range windows
    // are refused.
    assert_eq!(episodes(&f.agent, 1).await.episodes.len(), 1);
    for days in [0, dialtone_ipc::protocol::MAX_EPISODE_DAYS + 1] {
        assert!(matches!(
            f.agent.handle(Request::Episodes { days, line: None }).await,
            Err(ErrorReply::Invalid { field, .. }) if field == "days"
        ));
    }
}

#[tokio::test]
async fn bad_fault_reports_get_typed_errors_and_store_nothing() {
    let f = fixture_with(true);
    let id = closed_outage(&f);
    let long = |n| "x".repeat(n);
    let with = |edit: &dyn Fn(&mut Request)| {
        let mut r = report(id, "hotline");
        edit(&mut r);
        r
    };
    let set = |field: &'static str, value: Option<String>| {
        move |r: &mut Request| {
            if let Request::AttachReport {
                channel,
                ticket,
                note,
                ..
            } = r
            {
                match field {
                    "channel" => *channel = value.clone().unwrap_or_default(),
                    "ticket" => *ticket = value.clone(),
                    _ => *note = value.clone(),
                }
            }
        }
    };
    let cases: Vec<(Request, &str)> = vec![
        (report(id + 100, "hotline"), "episode"),
        (report(0, "hotline"), "episode"),
        (with(&set("channel", Some("   ".into()))), "channel"),
        (with(&set("channel", Some(long(101)))), "channel"),
        (with(&set("channel", Some("hot\nline".into()))), "channel"),
        (with(&set("ticket", Some(long(101)))), "ticket"),
        (with(&set("ticket", Some("T\u{7}1".into()))), "ticket"),
        (with(&set("note", Some(long(2001)))), "note"),
        (
            with(&|r: &mut Request| {
                if let Request::AttachReport { reported_at, .. } = r {
                    *reported_at = Utc::now() + chrono::TimeDelta::days(2);
                }
            }),
            "reported_at",
        ),
    ];
    for (request, field) in cases {
        match f.agent.handle(request).await {
            Err(ErrorReply::Invalid { field: got, detail }) => {
                assert_eq!(got, field, "{detail}")
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let e = episodes(&f.agent, 7).await.episodes.remove(0);
    assert!(e.reports.is_empty(), "{:?}", e.reports);

    // Bounded per episode.
    for _ in 0..dialtone_ipc::protocol::MAX_REPORTS_PER_EPISODE {
        f.agent.handle(report(id, "hotline")).await.unwrap();
    }
    assert!(matches!(
        f.agent.handle(report(id, "hotline")).await,
        Err(ErrorReply::Invalid { field, .. }) if field == "episode"
    ));
}

#[tokio::test]
async fn the_outage_log_exports_as_csv_and_html_in_both_languages() {
    use dialtone_ipc::protocol::ExportFormat;
    let f = fixture_with(true);
    let id = closed_outage(&f);
    f.agent
        .handle(report(id, "<script>alert(1)</script>"))
        .await
        .unwrap();
    let export = |format, lang| {
        let agent = f.agent.clone();
        async move {
            match agent
                .handle(Request::ExportLog {
                    format,
                    lang,
                    line: None,
                })
                .await
                .unwrap()
            {
                Response::Export { file_name, content } => (file_name, content),
                other => panic!("{other:?}"),
            }
        }
    };
    let (name, csv) = export(ExportFormat::Csv, Lang::En).await;
    assert!(
        name.starts_with("dialtone-outages-") && name.ends_with(".csv"),
        "{name}"
    );
    let rows: Vec<_> = csv.lines().collect();
    assert!(rows[0].starts_with("episode,start (UTC)"), "{csv}");
    assert!(rows[1].starts_with(&format!("{id},")), "{csv}");
    assert!(
        rows[1].contains(",1200,0:20:00,provider outage,VoIP provider"),
        "{csv}"
    );

    let (name, html) = export(ExportFormat::Html, Lang::De).await;
    assert!(name.ends_with(".html"), "{name}");
    assert!(html.contains("<html lang=\"de\">"));
    assert!(
        html.contains("VoIP-Anbieter") && html.contains("0:20:00"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "the user's text is escaped"
    );
    let (_, html) = export(ExportFormat::Html, Lang::En).await;
    assert!(html.contains("VoIP provider") && html.contains("0:20:00"));

    // Without a history store: typed, not an empty file that looks like "no outages".
    let bare = fixture();
    match bare
        .agent
        .handle(Request::ExportLog {
            format: ExportFormat::Csv,
            lang: Lang::En,
            line: None,
        })
        .await
    {
        Err(ErrorReply::Unavailable { what, .. }) => assert_eq!(what, "history"),
        other => panic!("{other:?}"),
    }
    assert!(!episodes(&bare.agent, 7).await.available);
}

#[tokio::test]
async fn a_monitor_that_dies_is_shown_in_the_tray_and_restarted() {
    let f = fixture();
    f.agent.restart_line().await.unwrap();
    let first = super::lock(&f.agent.state).generation;
    assert!(f.agent.lines.lock().await.kill_monitor(0), "a running line");
    // The tray says so while the supervisor waits to restart …
    let labels = |model: &crate::tray::TrayModel| {
        model
            .menu
            .iter()
            .filter_map(|e| match e {
                crate::tray::MenuEntry::Label(text) => Some(text.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut shown = false;
    while tokio::time::Instant::now() < deadline && !shown {
        shown = labels(&f.agent.tray_model())
            .iter()
            .any(|l| l.contains("Monitoring stopped") || l.contains("Überwachung angehalten"));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(shown, "{:?}", labels(&f.agent.tray_model()));
    // … and then a new monitor runs and the label is gone.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let restarted = super::lock(&f.agent.state).generation > first;
        let clear = !labels(&f.agent.tray_model())
            .iter()
            .any(|l| l.contains("Monitoring stopped") || l.contains("Überwachung angehalten"));
        if restarted && clear {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not restarted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    f.agent.stop_line().await;
}

#[tokio::test]
async fn presentation_settings_apply_in_place_without_restarting_the_line() {
    let f = fixture();
    f.agent.restart_line().await.unwrap();
    let set = |settings: Settings| Request::SetSettings {
        settings,
        password: None,
    };
    f.agent.handle(set(settings())).await.unwrap();
    let generation = || super::lock(&f.agent.state).generation;
    let before = generation();
    // Language and notifications: the presenters change, the line (and its REGISTER) does not.
    let mut s = settings();
    s.language = Some(Lang::En);
    s.notifications = true;
    f.agent.handle(set(s.clone())).await.unwrap();
    assert_eq!(generation(), before, "no restart for presentation settings");
    assert_eq!(get(&f.agent).await.language, Some(Lang::En));
    // The interval is the line's: a new generation.
    s.interval_secs = 45;
    f.agent.handle(set(s)).await.unwrap();
    assert_eq!(generation(), before + 1);
    f.agent.stop_line().await;
}

/// Two lines, neither with a user (so no REGISTER and no keyring), on dead loopback ports.
const TWO_LINES: &str = r#"
[[line]]
label = "Home"
[line.account]
registrar = "sip:127.0.0.1:9;transport=udp"

[[line]]
label = "Office"
[line.account]
registrar = "sip:127.0.0.1:19;transport=udp"
"#;

#[tokio::test]
async fn several_lines_run_a_monitor_each_and_answer_by_label() {
    let f = fixture_config(true, Some(TWO_LINES));
    f.agent.restart_line().await.unwrap();
    assert_eq!(
        super::lock(&f.agent.state).generation,
        2,
        "one monitor per line"
    );
    assert!((0..2).all(|i| f.agent.handles.get(i).is_some()));
    let status = |line: Option<&str>| {
        let request = Request::Status {
            line: line.map(Into::into),
        };
        let agent = f.agent.clone();
        async move { agent.handle(request).await }
    };
    // No label: the first line, as a one-line client expects; every line is listed.
    let Response::Status { status: first } = status(None).await.unwrap() else {
        panic!("not a status");
    };
    assert_eq!(first.line.as_deref(), Some("Home"));
    let labels: Vec<&str> = first.lines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["Home", "Office"]);
    assert!(first.lines.iter().all(|l| l.configured));
    let Response::Status { status: office } = status(Some("office")).await.unwrap() else {
        panic!("not a status");
    };
    assert_eq!(office.line.as_deref(), Some("Office"));
    match status(Some("Attic")).await {
        Err(ErrorReply::Invalid { field, detail }) => {
            assert_eq!(field, "line");
            assert!(detail.contains("\"Office\""), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Each line is recorded in a file of its own, the one `dialtone log --line` reads; the
    // shared file is not used.
    let base = f.dir.path().join("history.sqlite3");
    for label in ["Home", "Office"] {
        let own = dialtone_engine::setup::line_history_path(&base, label);
        assert!(own.exists(), "{} for {label}", own.display());
        match f
            .agent
            .handle(Request::History {
                hours: 24,
                line: Some(label.into()),
            })
            .await
            .unwrap()
        {
            Response::History { history } => assert!(history.available),
            other => panic!("{other:?}"),
        }
    }
    assert!(!base.exists());
    // The form edits the shared settings only; the lines' accounts stay in the file.
    let shared = get(&f.agent).await;
    assert!(shared.lines_in_config);
    assert!(shared.provider.is_none() && shared.account.is_none());
    let generation = || super::lock(&f.agent.state).generation;
    let set = |settings: Settings, password: Option<dialtone_engine::secret::Secret>| {
        Request::SetSettings { settings, password }
    };
    let mut s = shared.clone();
    s.language = Some(Lang::De);
    f.agent.handle(set(s.clone(), None)).await.unwrap();
    assert_eq!(generation(), 2, "a language switch restarts no line");
    // A client still sending an account changes nothing about the lines.
    s.account = settings().account;
    s.interval_secs = 45;
    f.agent.handle(set(s.clone(), None)).await.unwrap();
    assert_eq!(generation(), 4, "the shared schedule restarts both lines");
    let saved = dialtone_engine::config_file::load(&f.dir.path().join("config.toml"))
        .unwrap()
        .unwrap();
    let lines = saved.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(saved.schedule.interval_secs, 45);
    assert!(saved.account.is_none());
    assert_eq!(
        lines[1].config.account.as_ref().unwrap().registrar,
        "sip:127.0.0.1:19;transport=udp"
    );
    // No password through the form: it would not say whose it is.
    match f
        .agent
        .handle(set(
            s,
            Some(dialtone_engine::secret::Secret::new("hunter2")),
        ))
        .await
    {
        Err(ErrorReply::Invalid { field, .. }) => assert_eq!(field, "password"),
        other => panic!("{other:?}"),
    }
    // One line restarting (its supervisor, a retried login) leaves the other running.
    let home_since = |agent: &Agent| agent.handles.get(0).unwrap().status().since;
    let before = home_since(&f.agent);
    f.agent.restart_lines(Some(vec![1])).await.unwrap();
    assert_eq!(generation(), 5);
    assert_eq!(home_since(&f.agent), before, "Home was not restarted");
    f.agent.stop_line().await;
}

#[test]
fn only_the_lines_whose_config_changed_restart() {
    let two = Config::parse(TWO_LINES, std::path::Path::new("test.toml")).unwrap();
    let mut other = two.clone();
    other.lines[1].account.as_mut().unwrap().user = Some("office".into());
    let changed =
        |a: &Config, b: &Config, password| handler::changed_lines(&a.lines(), &b.lines(), password);
    assert_eq!(changed(&two, &two, false), None);
    assert_eq!(changed(&two, &other, false), Some(Some(vec![1])));
    let mut schedule = two.clone();
    schedule.schedule.interval_secs = 45;
    assert_eq!(changed(&two, &schedule, false), Some(Some(vec![0, 1])));
    assert_eq!(changed(&two, &two, true), Some(None));
    assert_eq!(changed(&two, &Config::default(), false), Some(None));
}

#[test]
fn the_line_flag_picks_one_line_to_watch() {
    let two = Config::parse(TWO_LINES, std::path::Path::new("test.toml")).unwrap();
    assert_eq!(watched(&two, None).unwrap().len(), 2);
    let office = watched(&two, Some(" office ")).unwrap();
    assert_eq!(office.len(), 1);
    assert_eq!(office[0].label, "Office");
    match watched(&two, Some("Attic")) {
        Err(SetupError::NoSuchLine { label, labels }) => {
            assert_eq!(label, "Attic");
            assert_eq!(labels, ["Home", "Office"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_agent_without_a_socket_of_its_own_starts_no_dashboard() {
    // Whatever answers on the socket path is not this agent (another user's, or a stale
    // process): a dashboard started now would talk to it, and hand it the password the user
    // types in the settings. The tray's "Open dashboard" and a first run both go through here.
    let f = fixture_socket(false, None, true);
    for outcome in [
        f.agent.open_dashboard().map(|()| Response::Done),
        f.agent.handle(Request::OpenDashboard).await,
    ] {
        match outcome {
            Err(ErrorReply::Unavailable { what, detail }) => {
                assert_eq!(what, "dashboard");
                assert!(detail.contains("no IPC socket of its own"), "{detail}");
            }
            other => panic!("a dashboard was started: {other:?}"),
        }
    }
}

/// The tray agent sends the config's `[[alert]]` alerts as `dialtone watch` does, naming the
/// line and its provider as they are now, with its outbox beside the history.
#[tokio::test]
async fn the_agent_sends_alerts_for_confirmed_changes() {
    use crate::test_support::{change, diagnosis};
    use dialtone_core::verdict::Verdict;
    use dialtone_engine::lines::LineEvent;
    use dialtone_testkit::webhook::{ok, Recorder};
    let hook = Recorder::start(ok);
    let port = hook.port;
    // No path in the URL: nothing secret in it, so the test's 0644 config is accepted.
    let config = format!(
        "[account]\nregistrar = \"sip:127.0.0.1:9;transport=udp\"\n\
         [[alert]]\nurl = \"http://127.0.0.1:{}\"\n",
        hook.port
    );
    let f = fixture_config(true, Some(&config));
    assert!(f.agent.alerter.is_some(), "the config's target is alerted");
    let since = Utc::now();
    let outage = change(
        Verdict::Healthy,
        Verdict::ProviderOutage,
        since - chrono::TimeDelta::minutes(5),
        since,
        diagnosis(Verdict::ProviderOutage, None, since),
    );
    assert!(f.agent.post(present::Input::Line(LineEvent::Changed {
        index: 0,
        change: outage,
    })));
    let got =
        tokio::task::spawn_blocking(move || hook.wait_for(1, std::time::Duration::from_secs(10)))
            .await
            .unwrap();
    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["event"], "outage");
    assert_eq!(body["verdict"], "provider_outage");
    assert!(f.dir.path().join("alert-outbox.json").exists());

    // The dashboard's "Alerts" part: the target redacted, the outbox, a test to every target.
    let shown = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let alerts = loop {
        let Ok(Response::Alerts { alerts }) = f.agent.handle(Request::Alerts).await else {
            panic!("alerts answered otherwise");
        };
        if alerts
            .outbox
            .first()
            .is_some_and(|e| e.state == "delivered")
            || std::time::Instant::now() > deadline
        {
            break alerts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(alerts.targets.len(), 1);
    assert_eq!(alerts.targets[0].shown, shown);
    assert_eq!(alerts.targets[0].kind, "webhook");
    assert_eq!(alerts.outbox.len(), 1, "{alerts:?}");
    assert_eq!(alerts.outbox[0].state, "delivered");
    assert_eq!(alerts.outbox[0].event, "outage");
    match f.agent.handle(Request::TestAlerts { line: None }).await {
        Ok(Response::AlertsTested { results }) => {
            assert_eq!(results.len(), 1);
            assert!(results[0].delivered, "{results:?}");
            assert_eq!(results[0].target, shown);
        }
        other => panic!("{other:?}"),
    }
    f.agent.shutdown.cancel();
    f.agent.stop_line().await;
}

/// The tray's pause covers this agent's alerts too when it sends them: new alarms are held
/// back, the pause is in the outbox (so a restarted agent is still paused and shows it), and
/// resuming lifts both.
#[tokio::test]
async fn pausing_from_the_tray_pauses_the_agents_alerts_and_survives_a_restart() {
    use crate::test_support::{change, diagnosis};
    use dialtone_core::verdict::Verdict;
    use dialtone_engine::lines::LineEvent;
    use dialtone_testkit::webhook::{ok, Recorder};
    let hook = Recorder::start(ok);
    let config = format!(
        "[account]\nregistrar = \"sip:127.0.0.1:9;transport=udp\"\n\
         [[alert]]\nurl = \"http://127.0.0.1:{}\"\n",
        hook.port
    );
    let f = fixture_config(true, Some(&config));
    let alerter = f
        .agent
        .alerter
        .clone()
        .expect("the config's target is alerted");
    f.agent.on_menu(crate::tray::MenuAction::PauseAlerts).await;
    let until = alerter.paused_until().expect("the alerts are paused");
    assert_eq!(lock(&f.agent.state).paused_until, Some(until));
    let since = Utc::now();
    let outage = change(
        Verdict::Healthy,
        Verdict::ProviderOutage,
        since - chrono::TimeDelta::minutes(5),
        since,
        diagnosis(Verdict::ProviderOutage, None, since),
    );
    assert!(f.agent.post(present::Input::Line(LineEvent::Changed {
        index: 0,
        change: outage,
    })));
    let outbox = f.dir.path().join("alert-outbox.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&outbox).is_ok_and(|s| s.contains("paused_until")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the pause never reached the outbox"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(hook.requests().is_empty(), "a paused agent sent an alert");

    // The same outbox after a restart: still paused until the same time.
    let reopened = dialtone_engine::alert::outbox::Outbox::open(&outbox).unwrap();
    assert_eq!(reopened.paused_until(), Some(until));

    f.agent.on_menu(crate::tray::MenuAction::ResumeAlerts).await;
    assert_eq!(alerter.paused_until(), None);
    assert_eq!(lock(&f.agent.state).paused_until, None);
}
