//! The dashboard's commands on Tauri's mock runtime, with the app's real context (config and
//! capabilities), against a fixture agent behind the real IPC server: round trips, typed
//! errors, input and link validation, the ACL, the outage log (details, fault reports, exports
//! written by the dashboard), and the event pump's reconnect logic.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion

mod common;

use dialtone_testkit as support;

use common::RunningAgent;
use dialtone_dashboard::agent::Agent;
use dialtone_dashboard::events::{self, Backoff, Connection, Outgoing, Sink};
use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};
use tokio_util::sync::CancellationToken;

/// The mock app wired to `agent`, and its main window.
fn app(agent: &RunningAgent) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = dialtone_dashboard::run_app(
        mock_builder(),
        Agent::new(agent.path().to_path_buf()).with_export_dir(downloads(agent)),
        Backoff::default(),
    )
    .build(dialtone_dashboard::context())
    .unwrap();
    let window = main_window(&app);
    (app, window)
}

/// Where the mock app writes exports: inside the fixture's temp dir, never the real Downloads.
fn downloads(agent: &RunningAgent) -> std::path::PathBuf {
    agent.dir.path().join("Downloads")
}

/// The window the capability grants to ("main"); the mock runtime does not open the config's
/// windows by itself, so it is opened here under the same label.
fn main_window(app: &App<MockRuntime>) -> WebviewWindow<MockRuntime> {
    app.get_webview_window("main").unwrap_or_else(|| {
        tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::default())
            .build()
            .unwrap()
    })
}

/// Invokes `cmd` as the window's JS would; `Ok(json)` or the command's error as JSON.
fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

/// Runs `f` with a started fixture agent and the mock app; the agent's server runs on
/// Tauri's async runtime while the test thread blocks on IPC responses.
fn with_app(f: impl FnOnce(&mut RunningAgent, &WebviewWindow<MockRuntime>)) {
    let mut agent = tauri::async_runtime::block_on(RunningAgent::start());
    let (_app, window) = app(&agent);
    f(&mut agent, &window);
    tauri::async_runtime::block_on(agent.stop());
}

#[test]
fn status_is_rendered_in_both_languages() {
    with_app(|_agent, window| {
        let view = invoke(window, "status", json!({})).unwrap();
        assert_eq!(view["verdict"], "healthy");
        assert_eq!(view["configured"], true);
        assert_eq!(
            view["summary"]["en"],
            "Your line works: every check up to Example Telecom passed."
        );
        assert_eq!(
            view["summary"]["de"],
            "Ihr Anschluss funktioniert: alle Prüfungen bis Example Telecom waren in Ordnung."
        );
        let layers = view["layers"].as_array().unwrap();
        let names: Vec<_> = layers
            .iter()
            .map(|l| l["layer"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "device",
                "home_network",
                "router",
                "internet",
                "provider",
                "account"
            ]
        );
        let provider = &layers[4];
        assert_eq!(provider["status"], "ok");
        // The chain's sentence is plain; the SIP code is in the technical detail beside it.
        let en = provider["evidence"]["en"][0]["detail"].as_str().unwrap();
        let de = provider["evidence"]["de"][0]["detail"].as_str().unwrap();
        assert!(en.contains("200"), "{en}");
        assert_ne!(en, de, "evidence is worded per language");
        let plain = provider["evidence"]["en"][0]["text"].as_str().unwrap();
        assert!(
            !plain.contains("200") && !plain.contains("OPTIONS"),
            "{plain}"
        );
    });
}

#[test]
fn an_outage_shows_the_failing_layer_and_its_reason() {
    with_app(|agent, window| {
        agent
            .handler
            .set_verdict(dialtone_core::verdict::Verdict::ProviderOutage);
        let view = invoke(window, "status", json!({})).unwrap();
        assert_eq!(view["verdict"], "provider_outage");
        assert_eq!(view["layers"][4]["status"], "failed");
        assert_eq!(view["layers"][4]["evidence"]["en"][0]["problem"], true);
        let summary = view["summary"]["en"].as_str().unwrap();
        assert!(summary.contains("Example Telecom"), "{summary}");
        assert!(view["reason"]["de"].as_str().is_some());
    });
}

#[test]
fn history_check_now_channels_feeds_and_pause_round_trip() {
    with_app(|agent, window| {
        let history = invoke(window, "history", json!({"hours": 24})).unwrap();
        assert_eq!(history["hours"], 24);
        assert_eq!(history["points"].as_array().unwrap().len(), 48);
        assert_eq!(history["outages"][0]["failing_layer"], "provider");

        assert_eq!(invoke(window, "check_now", json!({})).unwrap(), Value::Null);
        assert_eq!(agent.handler.seen.lock().unwrap().checks, 1);

        let channels = invoke(window, "channels", json!({})).unwrap();
        assert_eq!(channels["provider"]["name"], "Example Telecom");
        assert_eq!(channels["channels"].as_array().unwrap().len(), 3);
        // X first; the crowd page last, not official, marked once in each language.
        assert_eq!(channels["channels"][0]["kind"], "x");
        let crowd = &channels["channels"][2];
        assert_eq!(crowd["official"], false);
        assert_eq!(
            crowd["label"]["en"],
            "outage reports (crowd) (crowd reports, not official)"
        );
        assert_eq!(
            crowd["label"]["de"],
            "outage reports (crowd) (Crowd-Meldungen, nicht offiziell)"
        );

        let feeds = invoke(window, "feeds", json!({})).unwrap();
        let title = feeds["feeds"][0]["posts"][0]["title"].as_str().unwrap();
        // Passed through as data: the UI sets it with textContent, never as HTML.
        assert!(title.contains("<script>"), "{title}");

        let paused = invoke(window, "pause_alerts", json!({"minutes": 60})).unwrap();
        assert!(paused["alerts_paused_until"].is_string());
    });
}

#[test]
fn out_of_range_input_is_refused_before_the_agent_sees_it() {
    with_app(|agent, window| {
        for hours in [0, 169, 100_000] {
            let err = invoke(window, "history", json!({ "hours": hours })).unwrap_err();
            assert_eq!(err["kind"], "invalid", "{err}");
            assert_eq!(err["field"], "hours");
        }
        let err = invoke(window, "pause_alerts", json!({"minutes": 10_000})).unwrap_err();
        assert_eq!(err["kind"], "invalid");
        // Not a number at all: Tauri's own argument check refuses it.
        assert!(invoke(window, "history", json!({"hours": "all"})).is_err());
        assert_eq!(agent.handler.seen.lock().unwrap().checks, 0);
    });
}

#[test]
fn settings_round_trip_and_typed_errors_reach_the_ui() {
    with_app(|agent, window| {
        let mut settings = invoke(window, "settings", json!({})).unwrap();
        assert_eq!(settings["password_stored"], false);
        settings["provider"] = json!("1und1");
        settings["account"] = json!({"registrar": "  sip.1und1.de ", "user": "", "auth_user": null,
            "domain": null, "transport": null});
        let stored = invoke(window, "save_settings", json!({ "settings": settings })).unwrap();
        assert_eq!(stored["provider"], "1und1");
        // Trimmed, and an emptied user field means "no user".
        assert_eq!(stored["account"]["registrar"], "sip.1und1.de");
        assert_eq!(stored["account"]["user"], Value::Null);
        assert_eq!(
            agent
                .handler
                .seen
                .lock()
                .unwrap()
                .settings
                .as_ref()
                .unwrap()
                .provider
                .as_deref(),
            Some("1und1")
        );

        // The dashboard's own checks (the schedule's range table starts at 1 s).
        let mut bad = stored.clone();
        bad["interval_secs"] = json!(0);
        let err = invoke(window, "save_settings", json!({ "settings": bad })).unwrap_err();
        assert_eq!(
            (err["kind"].as_str(), err["field"].as_str()),
            (Some("invalid"), Some("interval_secs"))
        );
        let mut bad = stored.clone();
        bad["account"]["registrar"] = json!("sip.example.net; rm -rf");
        let err = invoke(window, "save_settings", json!({ "settings": bad })).unwrap_err();
        assert_eq!(err["field"], "account.registrar");
        // A password smuggled into the settings is refused by the wire type itself.
        let mut bad = stored.clone();
        bad["password"] = json!("hunter2");
        assert!(invoke(window, "save_settings", json!({ "settings": bad })).is_err());

        // The agent's own refusal arrives typed, with its field.
        let mut refused = stored.clone();
        refused["interval_secs"] = json!(3600);
        let err = invoke(window, "save_settings", json!({ "settings": refused })).unwrap_err();
        assert_eq!(err["kind"], "agent");
        assert_eq!(err["error"]["code"], "invalid");
        assert_eq!(err["error"]["field"], "settings.interval_secs");
    });
}

/// The settings a config stands for, as the agent hands them to the form.
fn settings_of(config: &dialtone_core::config::Config) -> dialtone_ipc::protocol::Settings {
    dialtone_ipc::protocol::Settings {
        interval_secs: config.schedule.interval_secs,
        recheck_secs: config.schedule.recheck_secs,
        account_interval_secs: config.schedule.account_interval_secs,
        ..dialtone_ipc::protocol::Settings::default()
    }
}

#[test]
fn the_settings_form_and_config_loading_give_the_same_answer() {
    use dialtone_core::config::Config;
    use dialtone_dashboard::commands::validate_settings;
    let cases = [
        ("[schedule]\ninterval_secs = 2\nrecheck_secs = 1\n", true),
        ("[schedule]\ninterval_secs = 30\nrecheck_secs = 5\n", true),
        ("[schedule]\ninterval_secs = 0\n", false),
        ("[schedule]\ninterval_secs = 10\nrecheck_secs = 20\n", false),
        ("[schedule]\naccount_interval_secs = 59\n", false),
        ("[schedule]\naccount_interval_secs = 90000\n", false),
    ];
    for (text, valid) in cases {
        let config = Config::parse(text, std::path::Path::new("config.toml")).unwrap();
        let loaded = config.validate("config.toml");
        let form = validate_settings(settings_of(&config));
        assert_eq!(
            loaded.is_ok(),
            valid,
            "{text}: config loading said {loaded:?}"
        );
        assert_eq!(form.is_ok(), valid, "{text}: the form said {form:?}");
        if let (Err(loaded), Err(form)) = (loaded, form) {
            // Same rule, same words: the form names the field, the file the key.
            let form = form.to_string();
            let loaded = loaded.to_string();
            let detail = loaded.rsplit(": ").next().unwrap();
            assert!(form.contains(detail), "{form} vs {loaded}");
        }
    }
    // A form saved unchanged from a 2 s config keeps its 2 s.
    let config = Config::parse(
        "[schedule]\ninterval_secs = 2\nrecheck_secs = 1\n",
        std::path::Path::new("config.toml"),
    )
    .unwrap();
    assert_eq!(
        validate_settings(settings_of(&config))
            .unwrap()
            .interval_secs,
        2
    );
}

#[test]
fn every_catalog_channel_opens_from_the_dashboard_as_from_the_tray() {
    let catalog = dialtone_core::catalog::Catalog::builtin().unwrap();
    let mut urls: Vec<String> = catalog
        .providers()
        .iter()
        .flat_map(|p| p.channels.iter().map(|c| c.url.clone()))
        .collect();
    // How users write hotlines in their own providers.toml: with spaces.
    urls.push("tel:+49 721 96000".into());
    for url in &urls {
        let tray = dialtone_core::link::checked(url, urls.iter().map(String::as_str));
        let dashboard = dialtone_dashboard::links::validate(url, urls.iter().map(String::as_str));
        assert!(tray.is_ok(), "{url}: the tray refused it: {tray:?}");
        assert_eq!(
            dashboard.ok().as_deref(),
            tray.as_ref().ok().map(|l| l.as_str()),
            "{url}"
        );
    }
}

#[test]
fn try_the_login_again_reaches_the_agent_once_per_click() {
    with_app(|agent, window| {
        invoke(window, "retry_login", json!({})).unwrap();
        assert_eq!(agent.handler.seen.lock().unwrap().login_retries, 1);
    });
}

#[test]
fn the_password_goes_to_the_agent_and_never_comes_back() {
    with_app(|agent, window| {
        for bad in ["", "line\nbreak", &"x".repeat(300)] {
            let err = invoke(window, "set_password", json!({ "password": bad })).unwrap_err();
            assert_eq!(err["kind"], "invalid");
            assert!(!err.to_string().contains("line\nbreak"));
        }
        let ok = invoke(window, "set_password", json!({"password": "correct horse"})).unwrap();
        assert_eq!(ok, Value::Null);
        assert!(agent.handler.seen.lock().unwrap().password_ok);
        let err = invoke(window, "set_password", json!({"password": "wrong horse"})).unwrap_err();
        assert_eq!(err["error"]["code"], "keyring");
        assert!(!err.to_string().contains("wrong horse"), "{err}");
        let settings = invoke(window, "settings", json!({})).unwrap();
        assert!(!settings.to_string().contains("horse"), "{settings}");
    });
}

#[test]
fn only_listed_https_and_tel_links_are_opened() {
    with_app(|_agent, window| {
        for hostile in [
            "https://evil.example/",
            "http://x.com/exampletel",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://x.com/exampletel?redirect=https://evil.example",
            "https://x.com@evil.example/exampletel",
            "tel:+49800123456;ext=1",
        ] {
            let err = invoke(window, "open_channel", json!({ "url": hostile })).unwrap_err();
            assert_eq!(err["kind"], "link_refused", "{hostile}: {err}");
        }
        // Listed links pass validation; actually opening them would start a browser, so the
        // positive case is covered by `links::validate` itself against the agent's list.
        let listed = tauri::async_runtime::block_on(dialtone_dashboard::commands::allowed_links(
            &Agent::new(_agent.path().to_path_buf()),
        ))
        .unwrap();
        assert!(listed.contains(&"https://x.com/exampletel".to_string()));
        assert!(listed.contains(&"tel:+49800123456".to_string()));
        assert!(listed.contains(&"https://status.example.net/incidents/42".to_string()));
        for url in &listed {
            dialtone_dashboard::links::validate(url, listed.iter().map(String::as_str)).unwrap();
        }
    });
}

#[test]
fn a_post_link_opens_only_on_its_feeds_host_or_a_channels() {
    with_app(|agent, window| {
        let listed = tauri::async_runtime::block_on(dialtone_dashboard::commands::allowed_links(
            &Agent::new(agent.path().to_path_buf()),
        ))
        .unwrap();
        // The agent lists the post (its feed carries it), but its host is neither the feed's
        // (status.example.net) nor a channel's.
        assert!(listed.contains(&"https://status.example.net/incidents/42".to_string()));
        assert!(
            !listed.contains(&"https://evil.example/exampletel".to_string()),
            "{listed:?}"
        );
        let err = invoke(
            window,
            "open_channel",
            json!({ "url": "https://evil.example/exampletel" }),
        )
        .unwrap_err();
        assert_eq!(err["kind"], "link_refused", "{err}");
    });
}

#[test]
fn catalog_picker_and_detection_work_without_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::new(dir.path().join("nobody-here.sock"));
    let app = dialtone_dashboard::run_app(mock_builder(), agent, Backoff::default())
        .build(dialtone_dashboard::context())
        .unwrap();
    let window = main_window(&app);
    let providers = invoke(&window, "providers", json!({})).unwrap();
    assert!(providers
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "1und1"));
    let found = invoke(
        &window,
        "detect_provider",
        json!({"registrar": "sip.1und1.de"}),
    )
    .unwrap();
    assert_eq!(found["id"], "1und1");
    let none = invoke(
        &window,
        "detect_provider",
        json!({"registrar": "sip.nowhere.invalid"}),
    )
    .unwrap();
    assert_eq!(none, Value::Null);
    let lang = invoke(&window, "system_lang", json!({})).unwrap();
    assert!(lang == "en" || lang == "de");

    // And with no agent the requests fail typed, naming the socket.
    let err = invoke(&window, "status", json!({})).unwrap_err();
    assert_eq!(err["kind"], "agent_unreachable");
    assert!(err["socket"]
        .as_str()
        .unwrap()
        .ends_with("nobody-here.sock"));
    assert_eq!(
        invoke(&window, "connection", json!({})).unwrap(),
        "reconnecting"
    );
}

#[test]
fn the_window_may_not_call_plugins_it_was_not_granted() {
    with_app(|_agent, window| {
        // The opener plugin is not registered and no capability grants it; shell and fs do
        // not exist in this app at all.
        for cmd in [
            "plugin:opener|open_url",
            "plugin:shell|execute",
            "plugin:fs|read_file",
        ] {
            let result = invoke(
                window,
                cmd,
                json!({"url": "https://evil.example/", "path": "/etc/passwd"}),
            );
            assert!(result.is_err(), "{cmd} answered {result:?}");
        }
    });
}

#[test]
fn the_commands_are_granted_to_the_dashboard_window_only() {
    let agent = tauri::async_runtime::block_on(RunningAgent::start());
    let (app, main) = app(&agent);
    assert!(invoke(&main, "status", json!({})).is_ok());
    // Same app, same commands, a window the capability does not name: refused by the ACL,
    // which shows the app manifest's per-command permissions are in force.
    let other = tauri::WebviewWindowBuilder::new(&app, "other", tauri::WebviewUrl::default())
        .build()
        .unwrap();
    let err = invoke(&other, "status", json!({})).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
}

#[test]
fn episodes_show_their_details_and_take_fault_reports() {
    with_app(|agent, window| {
        let reply = invoke(window, "episodes", json!({"days": 30})).unwrap();
        assert_eq!(reply["available"], true);
        let e = &reply["episodes"][0];
        assert_eq!(e["id"], 1);
        assert_eq!(e["failing_layer"], "provider");
        assert_eq!(e["duration_secs"], 7200);
        assert!(e["evidence"]["de"]
            .as_str()
            .unwrap()
            .contains("keine Antwort"));
        assert!(e["posts"][0]["title"].as_str().unwrap().contains("Störung"));
        assert_eq!(e["reports"], json!([]));

        // The form's local date-time is read in the system zone; blanks mean "not given".
        let ok = invoke(
            window,
            "attach_report",
            json!({"episode": 1, "reportedAt": "2020-03-02T10:05", "channel": " Hotline ",
                   "ticket": "T-4711", "note": "  "}),
        )
        .unwrap();
        assert_eq!(ok, Value::Null);
        let reply = invoke(window, "episodes", json!({"days": 30})).unwrap();
        let report = &reply["episodes"][0]["reports"][0];
        assert_eq!(report["channel"], "Hotline");
        assert_eq!(report["ticket"], "T-4711");
        assert_eq!(report["note"], Value::Null);
        let at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(report["reported_at"].clone()).unwrap();
        let local = at.with_timezone(&chrono::Local).naive_local();
        assert_eq!(local.to_string(), "2020-03-02 10:05:00");

        // Refused by the dashboard before the agent sees it, with the field named.
        for (args, field) in [
            (
                json!({"episode": 1, "reportedAt": "yesterday", "channel": "hotline"}),
                "reported_at",
            ),
            (
                json!({"episode": 1, "reportedAt": "2099-01-01T00:00", "channel": "hotline"}),
                "reported_at",
            ),
            (
                json!({"episode": 1, "reportedAt": "2020-03-02", "channel": ""}),
                "channel",
            ),
            (
                json!({"episode": 1, "reportedAt": "2020-03-02", "channel": "x".repeat(101)}),
                "channel",
            ),
            (
                json!({"episode": 1, "reportedAt": "2020-03-02", "channel": "web", "note": "n".repeat(2001)}),
                "note",
            ),
            (
                json!({"episode": 0, "reportedAt": "2020-03-02", "channel": "web"}),
                "episode",
            ),
        ] {
            let err = invoke(window, "attach_report", args).unwrap_err();
            assert_eq!(
                (err["kind"].as_str(), err["field"].as_str()),
                (Some("invalid"), Some(field)),
                "{err}"
            );
        }
        assert_eq!(agent.handler.seen.lock().unwrap().reports.len(), 1);
        // A missing episode is the agent's to know: its typed refusal reaches the UI.
        let err = invoke(
            window,
            "attach_report",
            json!({"episode": 99, "reportedAt": "2020-03-02", "channel": "web"}),
        )
        .unwrap_err();
        assert_eq!(err["kind"], "agent");
        assert_eq!(err["error"]["field"], "episode");
        for days in [0, 100_000] {
            let err = invoke(window, "episodes", json!({ "days": days })).unwrap_err();
            assert_eq!(err["field"], "days");
        }
    });
}

#[test]
fn exports_are_written_to_the_download_directory_and_never_overwritten() {
    with_app(|agent, window| {
        let dir = downloads(agent);
        let first = invoke(window, "export_log", json!({"format": "csv", "lang": "de"})).unwrap();
        let first = std::path::PathBuf::from(first.as_str().unwrap());
        assert_eq!(first, dir.join("dialtone-outages-2026-03-02.csv"));
        assert_eq!(
            std::fs::read_to_string(&first).unwrap(),
            "episode,start\n1,x\n"
        );
        let second = invoke(window, "export_log", json!({"format": "csv", "lang": "de"})).unwrap();
        assert_eq!(
            second.as_str().unwrap(),
            dir.join("dialtone-outages-2026-03-02-2.csv")
                .to_str()
                .unwrap()
        );
        assert!(first.exists(), "the first export is kept");

        // The agent's hostile file name is not followed out of the directory.
        let html = invoke(
            window,
            "export_log",
            json!({"format": "html", "lang": "en"}),
        )
        .unwrap();
        let html = std::path::PathBuf::from(html.as_str().unwrap());
        assert_eq!(html.parent().unwrap(), dir);
        assert_eq!(html.file_name().unwrap(), "dialtone-outages.html");
        assert!(!agent
            .dir
            .path()
            .parent()
            .unwrap()
            .join("escape.html")
            .exists());
        assert_eq!(
            agent.handler.seen.lock().unwrap().exports,
            [
                (
                    dialtone_ipc::protocol::ExportFormat::Csv,
                    dialtone_core::locale::Lang::De
                ),
                (
                    dialtone_ipc::protocol::ExportFormat::Csv,
                    dialtone_core::locale::Lang::De
                ),
                (
                    dialtone_ipc::protocol::ExportFormat::Html,
                    dialtone_core::locale::Lang::En
                ),
            ]
        );

        // No path from the window: an extra argument is ignored, a bad format refused.
        let path = invoke(
            window,
            "export_log",
            json!({"format": "csv", "lang": "en", "path": "/tmp/x.csv"}),
        )
        .unwrap();
        assert!(
            path.as_str().unwrap().starts_with(dir.to_str().unwrap()),
            "{path}"
        );
        assert!(invoke(window, "export_log", json!({"format": "pdf", "lang": "en"})).is_err());
    });
}

/// A sink that forwards to a channel, so the pump's output can be awaited.
struct ChannelSink(mpsc::Sender<Outgoing>);

impl Sink for ChannelSink {
    fn send(&self, message: Outgoing) -> bool {
        self.0.send(message).is_ok()
    }
}

/// The next message that satisfies `want`, within `limit`.
fn next_matching(
    rx: &mpsc::Receiver<Outgoing>,
    limit: Duration,
    want: impl Fn(&Outgoing) -> bool,
) -> Outgoing {
    let limit = support::slack(limit);
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(m) if want(&m) => return m,
            Ok(_) => {}
            Err(e) => panic!("no matching message within {limit:?}: {e}"),
        }
    }
}

#[test]
fn the_event_pump_reports_reconnecting_and_recovers_after_an_agent_restart() {
    let mut agent = tauri::async_runtime::block_on(RunningAgent::start());
    let link = Agent::new(agent.path().to_path_buf());
    let (tx, rx) = mpsc::channel();
    let stop = CancellationToken::new();
    let backoff = Backoff {
        first: Duration::from_millis(50),
        max: Duration::from_millis(400),
    };
    tauri::async_runtime::spawn(events::pump(
        link.clone(),
        ChannelSink(tx),
        backoff,
        stop.clone(),
    ));
    let is = |c: Connection| move |m: &Outgoing| *m == Outgoing::Connection(c);
    next_matching(&rx, Duration::from_secs(5), is(Connection::Connected));
    next_matching(&rx, Duration::from_secs(5), |m| {
        matches!(m, Outgoing::Status(_))
    });
    assert!(link.is_connected());

    // Live events flow.
    agent
        .handler
        .set_verdict(dialtone_core::verdict::Verdict::ProviderOutage);
    match next_matching(&rx, Duration::from_secs(5), |m| {
        matches!(m, Outgoing::Changed(_))
    }) {
        Outgoing::Changed(change) => {
            assert_eq!(change.to, dialtone_core::verdict::Verdict::ProviderOutage)
        }
        _ => unreachable!(),
    }

    // The agent goes away: "reconnecting", once.
    tauri::async_runtime::block_on(agent.stop());
    next_matching(&rx, Duration::from_secs(5), is(Connection::Reconnecting));
    assert!(!link.is_connected());
    // Retries (50 ms backoff, up to 400 ms) fail while the agent is away. Seen, not slept
    // for: a stand-in on the socket path hangs up on each attempt (so none subscribes) until
    // three have come; only then does the absence of a second "reconnecting" below say that
    // retries do not repeat it.
    let stand_in = std::os::unix::net::UnixListener::bind(agent.path()).unwrap();
    stand_in.set_nonblocking(true).unwrap();
    let limit = support::slack(Duration::from_secs(5));
    let deadline = std::time::Instant::now() + limit;
    let mut attempts = 0;
    while attempts < 3 {
        match stand_in.accept() {
            Ok((hung_up, _)) => {
                drop(hung_up);
                attempts += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "only {attempts} reconnection attempts within {limit:?}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("the stand-in socket: {e}"),
        }
    }
    drop(stand_in);
    std::fs::remove_file(agent.path()).unwrap();

    // It comes back on the same socket: the pump re-subscribes and sends the status at once.
    // Its "connected" proves the retries ran all along; only then does the absence of a
    // second "reconnecting" among everything sent before it mean something.
    tauri::async_runtime::block_on(agent.restart());
    let mut before_connected = Vec::new();
    let limit = support::slack(Duration::from_secs(5));
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Outgoing::Connection(Connection::Connected)) => break,
            Ok(m) => before_connected.push(m),
            Err(e) => panic!("not connected again within {limit:?}: {e}"),
        }
    }
    let repeated = before_connected
        .iter()
        .filter(|m| **m == Outgoing::Connection(Connection::Reconnecting))
        .count();
    assert_eq!(
        repeated, 0,
        "the banner is announced once per outage, not per retry"
    );
    match next_matching(&rx, Duration::from_secs(5), |m| {
        matches!(m, Outgoing::Status(_))
    }) {
        Outgoing::Status(view) => {
            assert_eq!(
                view.verdict,
                dialtone_core::verdict::Verdict::ProviderOutage
            )
        }
        _ => unreachable!(),
    }
    assert!(link.is_connected());
    stop.cancel();
    tauri::async_runtime::block_on(agent.stop());
}
