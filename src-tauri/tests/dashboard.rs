//! The dashboard end to end: the real `dialtone-dashboard` binary in a real WebKit window,
//! driven over WebDriver, connected to a real engine. Each test starts its own Xvfb (a free
//! display number) and talks to WebKitWebDriver directly (`TAURI_WEBVIEW_AUTOMATION=true` in
//! the app's environment) over plain HTTP. WebKit allows one automation session at a time, so
//! the tests take turns.
//!
//! [`dashboard_end_to_end`] runs the window's whole sequence in one function, against an agent
//! the test can steer: the engine itself in this process (kamailio from testkit, a
//! [`LineProber`] against it with gateway 127.0.0.1, internet anchors = loopback listeners
//! owned by the test, no DNS name, 1 s re-checks; the monitor; the tests' shared scripted
//! agent in `common/agent.rs` following that monitor behind the real IPC server). The chain
//! shows healthy and the provider's posts fetched from a local RSS server are listed; kamailio
//! stops and the window shows the provider outage live; the IPC server goes away and comes
//! back, and the window says "reconnecting" and recovers; kamailio returns and the line is
//! healthy again; closing the window ends the dashboard process. At the default 1000 × 800,
//! during the outage, the verdict and the provider's first channel lie in view without
//! scrolling, in both languages, and the keyboard alone reaches and runs "Check now" and the
//! channel. Screenshots of every view, healthy and in the outage, in both languages, go to
//! `target/e2e/` (and, with `DIALTONE_UPDATE_SCREENSHOTS=1`, to `docs/screenshots/` for the
//! README).
//!
//! [`the_real_agent_status_check_now_outage_log_and_csv_export`] puts the real `dialtone
//! agent` binary behind the window instead, with nothing scripted: status, "Check now", the
//! outage log and the CSV export.
//!
//! "Nothing changed" is only asserted after a positive marker: a newer round in the window
//! (its verdict card's `data-checked-at`), or a status of the other line followed by a newer
//! round of the shown one. Time bounds are multiplied by testkit's slack factor.
//! Every helper process is stopped with SIGTERM (SIGKILL on WebKitWebDriver orphans it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed assertion

mod common;

use dialtone_testkit as support;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use common::agent::{ExportScript, Line, ScriptedAgent};
use common::RunningAgent;
use dialtone_core::catalog::Catalog;
use dialtone_core::config::Config;
use dialtone_core::diagnosis::Thresholds;
use dialtone_core::observation::Transport;
use dialtone_core::verdict::Verdict;
use dialtone_engine::monitor::{MonitorHandle, Schedule};
use dialtone_engine::probe::line::{LineProber, LineSettings};
use dialtone_ipc::protocol::{
    AgentStatus, ChannelKind, ChannelView, Event, ExportFormat, FeedsReply, ProviderInfo,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::kamailio::{Kamailio, KamailioOptions};
use tokio_util::sync::CancellationToken;

// ---------- the test's agent: the engine behind the real IPC server ----------

/// The first line: the engine probing kamailio, under the catalog-less registrar's name, with
/// its X channel second (the window puts it first).
fn home_line(monitor: MonitorHandle) -> Line {
    Line::monitored(
        "Home",
        monitor,
        ProviderInfo {
            id: None,
            name: "Test registrar".into(),
        },
        vec![
            ChannelView {
                kind: ChannelKind::StatusPage,
                label: "Test registrar status page".into(),
                label_de: Some("Statusseite von Test registrar".into()),
                url: "https://status.example.net/".into(),
            },
            ChannelView {
                kind: ChannelKind::X,
                label: "Test registrar on X (@testreg)".into(),
                label_de: Some("Test registrar auf X (@testreg)".into()),
                url: "https://x.com/testreg".into(),
            },
        ],
    )
}

/// The second line, "Office": its own monitor against a registrar of its own.
fn office_line(monitor: MonitorHandle) -> Line {
    Line::monitored(
        "Office",
        monitor,
        ProviderInfo {
            id: None,
            name: "Office registrar".into(),
        },
        vec![ChannelView {
            kind: ChannelKind::Website,
            label: "office.example.net".into(),
            label_de: None,
            url: "https://office.example.net/".into(),
        }],
    )
}

/// The agent's CSV export: the real rendering (dialtone::outage_log) has its own golden tests;
/// here the point is the file the dashboard writes, so one row per episode is enough.
fn csv_export() -> ExportScript {
    ExportScript {
        format: ExportFormat::Csv,
        file_name: "dialtone-outages-e2e.csv",
        render: |episodes| {
            let mut content = String::from("episode,failing layer\n");
            for e in episodes {
                let layer = e.failing_layer.map_or("", |l| l.as_str());
                content.push_str(&format!("{},{layer}\n", e.id));
            }
            content
        },
    }
}

// ---------- helper processes ----------

/// A child stopped with SIGTERM (then waited for) when dropped, also on a failed assertion.
struct Terminated {
    name: &'static str,
    child: Child,
}

impl Terminated {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Terminated {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return; // already waited for: its pid may be another process's by now
        }
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not exit within 10 s of SIGTERM", self.name);
    }
}

/// The environment the dashboard runs in under the test: the app inherits WebKitWebDriver's.
struct AppEnv {
    display: String,
    /// `PATH` with the test's recording `xdg-open` first.
    path: String,
    socket: PathBuf,
    /// Where the exports go (`user-dirs.dirs`), not the developer's Downloads.
    xdg_config: PathBuf,
}

impl AppEnv {
    /// Starts WebKitWebDriver on `port`, logging to `log`; `gtk_theme` sets the system theme
    /// the window sees (a dark one for the dark-mode check).
    fn driver(&self, port: u16, log: &Path, gtk_theme: Option<&str>) -> Terminated {
        let log = std::fs::File::create(log).unwrap();
        let mut command = Command::new("WebKitWebDriver");
        command
            .arg(format!("--port={port}"))
            .env("DISPLAY", &self.display)
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("PATH", &self.path)
            .env("DIALTONE_SOCKET", &self.socket)
            .env("LC_ALL", "C.UTF-8")
            .env("LANG", "C.UTF-8")
            .env("NO_AT_BRIDGE", "1")
            .env("GDK_BACKEND", "x11")
            .env("XDG_CONFIG_HOME", &self.xdg_config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(theme) = gtk_theme {
            command.env("GTK_THEME", theme);
        }
        Terminated {
            name: "WebKitWebDriver",
            child: command
                .spawn()
                .expect("WebKitWebDriver (package webkit2gtk-driver) must be installed"),
        }
    }
}

/// Starts Xvfb on a free display; returns it and the display name.
fn start_xvfb(logs: &Path) -> (Terminated, String) {
    for n in 90..190 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let log = std::fs::File::create(logs.join("xvfb.log")).unwrap();
        let child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x1000x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("Xvfb (package xvfb) must be installed");
        let mut xvfb = Terminated {
            name: "Xvfb",
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (xvfb, format!(":{n}"));
            }
            if let Ok(Some(_)) = xvfb.child.try_wait() {
                break; // lost a race for this display: try the next one
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display for Xvfb");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The resident memory of `pid` and its descendants, in kB (the dashboard plus WebKit's web
/// and network processes).
fn tree_rss_kb(pid: u32) -> u64 {
    let rss = |p: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    };
    rss(pid) + children(pid).into_iter().map(tree_rss_kb).sum::<u64>()
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// The proportional set size of `pid` and its descendants, in kB (shared pages counted once
/// across the tree, so this is what the window really costs).
fn tree_pss_kb(pid: u32) -> u64 {
    let pss = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0);
    pss + children(pid).into_iter().map(tree_pss_kb).sum::<u64>()
}

/// The dashboard process among the descendants of WebKitWebDriver.
fn find_dashboard(root: u32, binary: &Path) -> Option<u32> {
    for child in children(root) {
        if std::fs::read_link(format!("/proc/{child}/exe")).is_ok_and(|exe| exe == binary) {
            return Some(child);
        }
        if let Some(found) = find_dashboard(child, binary) {
            return Some(found);
        }
    }
    None
}

// ---------- WebDriver over plain HTTP ----------

struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl WebDriver {
    async fn wait_ready(http: &reqwest::Client, base: &str) {
        let deadline = Instant::now() + support::slack(Duration::from_secs(30));
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("WebKitWebDriver at {base} never became ready");
    }

    /// Creates the session (starting the dashboard), retrying: creation fails now and then
    /// under load (DESKTOP-NOTES).
    async fn session(base: String, binary: &Path) -> WebDriver {
        // `Err` only says a provider is installed already (the engine's feed code did it).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        WebDriver::wait_ready(&http, &base).await;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "webkitgtk:browserOptions": {"binary": binary, "args": []}
        }}});
        let mut last = String::new();
        for _ in 0..5 {
            match http
                .post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
            {
                Ok(r) => {
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if let Some(id) = v["value"]["sessionId"].as_str() {
                        return WebDriver {
                            http,
                            base,
                            session: id.to_string(),
                        };
                    }
                    last = v.to_string();
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("no WebDriver session: {last}");
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Presses and releases one key as the keyboard would (WebDriver actions: WebKit gets
    /// real key events, so focus moves and buttons activate as for a person).
    async fn press(&self, key: &str) {
        let done = self
            .cmd(
                reqwest::Method::POST,
                "/actions",
                Some(
                    json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                        {"type": "keyDown", "value": key},
                        {"type": "keyUp", "value": key}
                    ]}]}),
                ),
            )
            .await;
        assert_eq!(done, Value::Null, "key {key:?} not pressed: {done}");
    }

    /// Presses Tab until the focused element matches `selector`; panics after `limit` presses.
    /// Returns how many it took.
    async fn tab_to(&self, selector: &str, limit: usize) -> usize {
        let focused = format!("return document.activeElement.matches({selector:?});");
        for presses in 1..=limit {
            self.press(TAB).await;
            if self.js(&focused).await == true {
                return presses;
            }
        }
        let at = self
            .js("const e = document.activeElement; return e.id || e.outerHTML.slice(0, 80);")
            .await;
        panic!("{limit} presses of Tab never reached {selector}; focus is on {at}");
    }

    async fn screenshot(&self, paths: &[&Path]) {
        // Let WebKit paint what the DOM already shows: a snapshot right after a change can
        // still hold the previous frame.
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(0), 50)));", "args": []})),
        )
        .await;
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("screenshot as base64"))
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        for path in paths {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &png).unwrap();
        }
    }
}

/// WebDriver's code points for the keys the keyboard test presses.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Switches the window's language as the header's picker does.
async fn switch_lang(driver: &WebDriver, lang: &str) {
    driver
        .js(&format!(
            "const s = document.getElementById('ui-lang'); s.value = '{lang}'; \
             s.dispatchEvent(new Event('change')); return 0;"
        ))
        .await;
}

/// Takes a screenshot of each view (status, outages, settings) in English and German, as
/// `dashboard-VIEW-STATE-LANG.png` in the artefacts (and in `docs/screenshots/` with
/// `DIALTONE_UPDATE_SCREENSHOTS=1`); leaves the window on the status view in English.
async fn shoot_every_view(driver: &WebDriver, state: &str, artefacts: &Path, docs: &Path) {
    let update = std::env::var_os("DIALTONE_UPDATE_SCREENSHOTS").is_some();
    for lang in ["en", "de"] {
        switch_lang(driver, lang).await;
        for view in ["status", "outages", "settings"] {
            driver
                .js(&format!(
                    // A passing "Checking every layer…" notice is not part of the view.
                    "document.getElementById('message').hidden = true; \
                     document.querySelector('button.nav[data-view={view}]').click(); return 0;"
                ))
                .await;
            // The outages and settings views load from the agent when shown.
            poll_js(driver, &format!("the {view} view"), &format!(
                "return !document.getElementById('view-{view}').hidden \
                 && (('{view}' !== 'outages') || !document.getElementById('outages-none').hidden \
                     || !document.getElementById('outages-table').hidden) \
                 && (('{view}' !== 'settings') || document.getElementById('set-interval').value !== '');"
            ), |v| v == true)
            .await;
            let name = format!("dashboard-{view}-{state}-{lang}.png");
            let mut paths = vec![artefacts.join(&name)];
            if update {
                paths.push(docs.join(&name));
            }
            let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            driver.screenshot(&paths).await;
        }
    }
    switch_lang(driver, "en").await;
    driver
        .js("document.querySelector('button.nav[data-view=status]').click(); return 0;")
        .await;
}

/// Where the verdict and the first action lie in the window, and what the first actions say.
const READ_LAYOUT: &str = r#"
const rect = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
const first = document.querySelector('#first-channels button');
return {
  width: window.innerWidth, height: window.innerHeight, scrollY: window.scrollY,
  verdict: rect(document.getElementById('verdict-text')),
  channel: rect(first),
  firstHidden: document.getElementById('first').hidden,
  firstTitle: document.getElementById('first-title').textContent,
  buttons: [...document.querySelectorAll('#first-channels button')].map(b => ({
    text: b.textContent, kind: b.dataset.kind, primary: b.classList.contains('primary')})),
  post: document.getElementById('first-post').hidden ? null : document.getElementById('first-post').textContent,
  checkNowPrimary: document.getElementById('check-now').classList.contains('primary'),
  reason: document.getElementById('reason').textContent,
  detail: document.getElementById('detail').textContent,
  live: document.getElementById('headline').getAttribute('aria-live'),
  liveHoldsVerdict: document.getElementById('headline').contains(document.getElementById('verdict-text')),
};"#;

/// Checks that the verdict and the first official channel lie inside the viewport (no
/// scrolling) at the window's default size; returns the layout read.
async fn assert_provider_word_above_the_fold(driver: &WebDriver, lang: &str) -> Value {
    let layout = driver.js(READ_LAYOUT).await;
    let height = layout["height"].as_f64().unwrap();
    let width = layout["width"].as_f64().unwrap();
    assert!(
        (990.0..=1000.0).contains(&width) && (760.0..=800.0).contains(&height),
        "not the default 1000 x 800 window: {layout:#}"
    );
    assert_eq!(layout["scrollY"], 0, "{layout:#}");
    for what in ["verdict", "channel"] {
        let r = &layout[what];
        assert!(
            r.is_object()
                && r["top"].as_f64().unwrap() >= 0.0
                && r["bottom"].as_f64().unwrap() <= height
                && r["right"].as_f64().unwrap() <= width,
            "{what} not inside the {width} x {height} viewport ({lang}): {layout:#}"
        );
    }
    layout
}

/// Serves `body` as an RSS feed on a loopback port for the rest of the test; returns its URL.
fn serve_feed(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed.rss", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Fetches the feed at `url` with the agent's feed code (plain http allowed for loopback only,
/// as in the feed tests) and words it as the agent's `Feeds` reply does.
async fn fetch_feed(url: &str) -> FeedsReply {
    let feed = dialtone_core::catalog::Feed {
        kind: dialtone_core::catalog::FeedKind::Rss,
        url: url.to_string(),
        verified: true,
    };
    let limits = dialtone_engine::feed::FetchLimits {
        allow_http_loopback: true,
        ..dialtone_engine::feed::FetchLimits::default()
    };
    let update =
        dialtone_engine::feed::fetch(&feed, &dialtone_engine::feed::FeedState::default(), &limits)
            .await
            .unwrap_or_else(|e| panic!("fetching the test feed: {e:?}"));
    let dialtone_engine::feed::FeedUpdate::Changed { snapshot, .. } = update else {
        panic!("the first fetch of the test feed was not content");
    };
    FeedsReply {
        available: true,
        feeds: vec![dialtone_ipc::protocol::FeedView {
            url: url.to_string(),
            kind: "rss".into(),
            fetched_at: Some(Utc::now()),
            problem: None,
            indicator: None,
            posts: snapshot
                .posts
                .iter()
                .map(|p| dialtone_ipc::protocol::PostView {
                    title: p.title.clone(),
                    published: p.published,
                    link: p.link.clone(),
                })
                .collect(),
        }],
    }
}

/// What the window shows, read from the DOM.
const READ_DOM: &str = r#"
const chain = {};
for (const li of document.querySelectorAll('#chain > li')) chain[li.dataset.layer] = li.dataset.status;
return {
  verdict: document.getElementById('verdict-card').dataset.verdict,
  checkedAt: document.getElementById('verdict-card').dataset.checkedAt || null,
  words: document.getElementById('verdict-text').textContent,
  summary: document.getElementById('summary').textContent,
  banner: !document.getElementById('reconnecting').hidden,
  bannerText: document.getElementById('reconnecting').textContent,
  connection: document.body.dataset.connection || null,
  timeline: document.querySelectorAll('#timeline svg rect').length,
  channels: document.querySelectorAll('#channels button').length,
  feeds: document.getElementById('feeds').textContent,
  picker: document.getElementById('line-switch').hidden ? null : {
    label: document.querySelector('#line-switch span').textContent,
    value: document.getElementById('line-picker').value,
    options: [...document.getElementById('line-picker').options].map(o => o.textContent),
  },
  chain,
};"#;

/// Polls the DOM until `want` holds, for up to `limit` (times the test slack); panics with the
/// last state otherwise.
async fn wait_for(
    driver: &WebDriver,
    what: &str,
    limit: Duration,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let limit = support::slack(limit);
    let deadline = Instant::now() + limit;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = driver.js(READ_DOM).await;
        if want(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the window never showed {what} within {limit:?}; last: {last:#}");
}

/// Polls `script` until its result satisfies `want`, for up to 10 s (times the test slack).
async fn poll_js(
    driver: &WebDriver,
    what: &str,
    script: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + support::slack(Duration::from_secs(10));
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = driver.js(script).await;
        if want(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the window never showed {what}; last: {last:#}");
}

/// Opens the Outages view and polls its rows (each `[episode id, cell texts…]`) until `want`
/// holds.
async fn outage_rows(driver: &WebDriver, want: impl Fn(&[Value]) -> bool) -> Value {
    driver
        .js("document.querySelector('button.nav[data-view=outages]').click(); return 0;")
        .await;
    poll_js(
        driver,
        "the outage log",
        r#"return [...document.querySelectorAll('#outages-body tr')].map(tr =>
               [tr.dataset.episode, ...[...tr.children].map(td => td.textContent)]);"#,
        |rows| rows.as_array().is_some_and(|r| want(r)),
    )
    .await
}

/// Clicks "Export CSV" and returns the path the window says it wrote.
async fn export_csv(driver: &WebDriver) -> PathBuf {
    driver
        .js("document.getElementById('export-csv').click(); return 0;")
        .await;
    let saved = poll_js(
        driver,
        "the export's path",
        "return document.getElementById('export-result').dataset.path || '';",
        |p| p.as_str().is_some_and(|p| !p.is_empty()),
    )
    .await;
    PathBuf::from(saved.as_str().unwrap_or_default())
}

/// When the round the window shows was taken (its verdict card's `data-checked-at`).
fn dom_checked_at(dom: &Value) -> Option<DateTime<Utc>> {
    dom["checkedAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// When the round an agent's status shows was taken, as the window reads it (the diagnosis
/// that confirmed the verdict, else the latest).
fn status_checked_at(status: &AgentStatus) -> Option<DateTime<Utc>> {
    let status = &status.status;
    status
        .diagnosis
        .as_ref()
        .or(status.latest.as_ref())
        .map(|d| d.checked_at)
}

/// Waits until the window has shown `n` rounds newer than the one it shows now; returns the
/// DOM. The positive marker before asserting that something did not change.
async fn wait_for_rounds(driver: &WebDriver, n: usize) -> Value {
    let mut dom = driver.js(READ_DOM).await;
    for round in 1..=n {
        let shown = dom_checked_at(&dom);
        dom = wait_for(
            driver,
            &format!("newer round {round} of {n}"),
            Duration::from_secs(15),
            |d| dom_checked_at(d) > shown,
        )
        .await;
    }
    dom
}

/// Starts recording every verdict the window's card shows from now on (a MutationObserver:
/// a verdict shown for a moment between two checks is recorded too).
const WATCH_VERDICTS: &str = r#"
const card = document.getElementById('verdict-card');
if (window.__verdicts) window.__verdicts.observer.disconnect();
const seen = [card.dataset.verdict];
const observer = new MutationObserver((records) => {
  // Each record holds the value before its change; the current one is read at the end.
  for (const r of records) if (r.oldValue !== seen[seen.length - 1]) seen.push(r.oldValue);
});
observer.observe(card, {attributes: true, attributeFilter: ['data-verdict'], attributeOldValue: true});
window.__verdicts = {seen, observer};
return 0;"#;

/// Every verdict the card showed since [`WATCH_VERDICTS`] (each change once), the current one
/// last.
const SHOWN_VERDICTS: &str = r#"
const w = window.__verdicts;
const add = (v) => { if (v !== w.seen[w.seen.length - 1]) w.seen.push(v); };
w.observer.takeRecords().forEach((r) => add(r.oldValue));
add(document.getElementById('verdict-card').dataset.verdict);
return w.seen;"#;

/// Waits until the window, showing the line `shown`, has been sent a status of the line
/// `other` (one sent after this call) and has then drawn a newer round of `shown`; returns
/// the DOM and every verdict the window showed meanwhile. Statuses reach the window in the
/// order the agent sends them, so only then does "the window showed only `shown`" say that
/// `other`'s status arrived and was left aside.
async fn wait_past_a_status_of(
    driver: &WebDriver,
    agent: &ScriptedAgent,
    shown: &str,
    other: &str,
) -> (Value, Value) {
    driver.js(WATCH_VERDICTS).await;
    let mut events = agent.events.subscribe();
    // Every status of `shown` sent before the subscription is at most as new as this one.
    let mut newest = status_checked_at(&agent.status_of_label(shown));
    let mut other_seen = false;
    let limit = support::slack(Duration::from_secs(20));
    let deadline = tokio::time::Instant::now() + limit;
    let target = loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("no status of {other} and then a newer one of {shown} within {limit:?}")
            })
            .expect("the agent's events");
        let Event::Status(status) = event else {
            continue;
        };
        let at = status_checked_at(&status);
        match status.line.as_deref() {
            Some(line) if line == other => other_seen = true,
            Some(line) if line == shown => {
                if other_seen && at > newest {
                    break at;
                }
                newest = newest.max(at);
            }
            _ => {}
        }
    };
    let dom = wait_for(
        driver,
        &format!("{shown}'s round after {other}'s status"),
        Duration::from_secs(10),
        |d| dom_checked_at(d) >= target,
    )
    .await;
    (dom, driver.js(SHOWN_VERDICTS).await)
}

fn lower_layers_ok(dom: &Value) -> bool {
    ["device", "home_network", "internet"]
        .iter()
        .all(|l| dom["chain"][l] == "ok")
}

/// WebKit runs one automation session at a time (DESKTOP-NOTES): the tests of this file take
/// turns.
static ONE_SESSION: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_session() -> std::sync::MutexGuard<'static, ()> {
    // A failed test before this one still leaves the display and driver to the next.
    ONE_SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn dashboard_end_to_end() {
    let _turn = one_session();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_dialtone-dashboard"));
    let target = binary
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .expect("binary under target/")
        .to_path_buf();
    let artefacts = target.join("e2e");
    std::fs::create_dir_all(&artefacts).unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The line: kamailio, two anchors, the router at 127.0.0.1.
    let mut kamailio = Kamailio::start(KamailioOptions::default());
    let anchors: Vec<TcpListener> = (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let anchor_addr = anchors[0].local_addr().unwrap().to_string();
    let anchor_list = anchors
        .iter()
        .map(|a| format!("\"{}\"", a.local_addr().unwrap()))
        .collect::<Vec<_>>()
        .join(", ");
    let config_text = format!(
        "timeout_secs = 2\n[account]\nregistrar = \"{}\"\n[network]\nanchors = [{anchor_list}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n",
        kamailio.registrar_uri(Transport::Udp)
    );
    let config = Config::parse(&config_text, Path::new("e2e.toml")).unwrap();
    let catalog = Catalog::builtin().unwrap();
    let mut settings = LineSettings::from_config(&config, None, &catalog).unwrap();
    // What the agent does with a catalog provider: the diagnosis names it in its sentences.
    settings.provider_name = Some("Test registrar".into());
    let schedule = Schedule {
        interval_secs: 2,
        recheck_secs: 1,
        account_interval_secs: 900,
        confirmations: 2,
    };

    let shutdown = CancellationToken::new();
    // The provider's RSS feed, served by a local HTTP server and fetched by the real feed code.
    let feed_url = serve_feed(include_str!("../../tests/fixtures/feeds/rss.xml"));
    let mut ipc = rt.block_on(async {
        let prober = LineProber::new(settings).unwrap();
        let (monitor, _task) = dialtone_engine::monitor::spawn(
            prober,
            schedule.clone(),
            Thresholds::default(),
            shutdown.clone(),
        );
        let agent = ScriptedAgent::new(home_line(monitor), vec![csv_export()]);
        agent.follow(shutdown.clone());
        *agent.feeds.lock().unwrap() = fetch_feed(&feed_url).await;
        RunningAgent::serving(agent).await
    });
    let socket = ipc.path.clone();

    // Where the window's exports go (the XDG download dir of the app's environment).
    let export_dir = artefacts.join("downloads");
    let _ = std::fs::remove_dir_all(&export_dir);
    std::fs::create_dir_all(&export_dir).unwrap();
    let xdg_config = artefacts.join("xdg-config");
    std::fs::create_dir_all(&xdg_config).unwrap();
    std::fs::write(
        xdg_config.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", export_dir.display()),
    )
    .unwrap();

    // The system's link opener, as the window's channel buttons reach it: a script that only
    // records the URL (nothing is fetched; the test's traffic stays on this machine).
    let bin = artefacts.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let opened = artefacts.join("opened.txt");
    let _ = std::fs::remove_file(&opened);
    let opener = bin.join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // The display and the driver. The app inherits the driver's environment.
    let (_xvfb, display) = start_xvfb(&artefacts);
    let port = free_port();
    let app_env = AppEnv {
        display: display.clone(),
        path,
        socket: socket.clone(),
        xdg_config: xdg_config.clone(),
    };
    let driver_proc = app_env.driver(port, &artefacts.join("webkitwebdriver.log"), None);

    rt.block_on(async {
        let driver = WebDriver::session(format!("http://127.0.0.1:{port}"), &binary).await;

        // 1. Healthy, with every lower layer ticked, live from the agent.
        let dom = wait_for(&driver, "a healthy line", Duration::from_secs(30), |d| {
            d["verdict"] == "healthy" && d["chain"]["provider"] == "ok" && lower_layers_ok(d)
        })
        .await;
        assert_eq!(dom["words"], "Line works", "{dom:#}");
        assert_eq!(dom["banner"], false);
        assert_eq!(dom["picker"], Value::Null, "one line: no picker");
        assert_eq!(dom["channels"], 2, "the provider's channels as buttons");
        let steps = driver
            .js("return [...document.querySelectorAll('#chain > li .layer-name')].map(e => e.textContent);")
            .await;
        assert_eq!(
            steps,
            json!(["This computer", "Home network", "Router (its own view)", "Internet", "Provider", "Account"]),
            "the chain, router included"
        );
        let layout = driver.js(READ_LAYOUT).await;
        assert_eq!(layout["firstHidden"], true, "nothing to do while the line works: {layout:#}");
        assert!(layout["reason"].as_str().unwrap().is_empty(), "{layout:#}");
        // The provider's official posts, fetched from the local feed server, are listed.
        let dom = wait_for(&driver, "the feed's posts", Duration::from_secs(10), |d| {
            d["feeds"].as_str().is_some_and(|t| t.contains("Wartungsarbeiten"))
        })
        .await;
        let feeds = dom["feeds"].as_str().unwrap_or_default();
        assert!(feeds.contains("Störung"), "{feeds}");
        let title = driver.cmd(reqwest::Method::GET, "/title", None).await;
        assert_eq!(title, "dialtone");
        driver
            .screenshot(&[&artefacts.join("dashboard-healthy.png")])
            .await;
        shoot_every_view(&driver, "healthy", &artefacts, &docs).await;

        // 2. The registrar goes away: the provider outage appears without any click.
        kamailio.stop();
        let dom = wait_for(
            &driver,
            "the provider outage",
            Duration::from_secs(30),
            |d| d["verdict"] == "provider_outage" && d["chain"]["provider"] == "failed",
        )
        .await;
        assert_eq!(dom["words"], "Provider outage", "{dom:#}");
        assert!(
            lower_layers_ok(&dom),
            "blame stays with the provider: {dom:#}"
        );
        assert!(
            dom["summary"].as_str().unwrap().contains("Test registrar"),
            "{dom:#}"
        );
        // The timeline is drawn once the history is reloaded on the change.
        wait_for(&driver, "a timeline", Duration::from_secs(10), |d| {
            d["timeline"].as_u64().unwrap_or(0) >= 2
        })
        .await;
        driver.screenshot(&[&artefacts.join("dashboard.png")]).await;

        // The provider's word comes first, above the fold at the default window size: the
        // verdict, then its channels as buttons (X first, the primary one) and its latest
        // official post; "Check now" is secondary. The headline is announced when it changes.
        let layout = assert_provider_word_above_the_fold(&driver, "en").await;
        assert_eq!(layout["firstHidden"], false, "{layout:#}");
        assert_eq!(layout["firstTitle"], "What Test registrar says", "{layout:#}");
        assert_eq!(
            layout["buttons"],
            json!([
                {"text": "Test registrar on X (@testreg)", "kind": "x", "primary": true},
                {"text": "Test registrar status page", "kind": "status_page", "primary": false},
            ]),
            "{layout:#}"
        );
        let post = layout["post"].as_str().unwrap_or_default();
        assert!(
            post.starts_with("Latest from Test registrar (2 Mar 2026, ") && post.contains("Störung Telefonie"),
            "{layout:#}"
        );
        assert_eq!(layout["checkNowPrimary"], false, "{layout:#}");
        assert_eq!(layout["live"], "polite", "{layout:#}");
        assert_eq!(layout["liveHoldsVerdict"], true, "{layout:#}");
        // Plain words lead; the address and transport wait behind "Technical details".
        let reason = layout["reason"].as_str().unwrap();
        assert!(reason.contains("Test registrar"), "{layout:#}");
        for raw in ["127.0.0.1", "OPTIONS", "os error", "udp"] {
            assert!(!reason.contains(raw), "{raw:?} in the plain reason: {layout:#}");
        }
        // The summary above already says the internet works; the reason does not repeat it.
        assert!(!reason.contains("internet"), "said twice: {layout:#}");
        assert!(layout["detail"].as_str().unwrap().contains("127.0.0.1"), "{layout:#}");

        // The same in German: the longer words still leave the provider's word in view.
        switch_lang(&driver, "de").await;
        let layout = assert_provider_word_above_the_fold(&driver, "de").await;
        assert_eq!(layout["firstTitle"], "Was Test registrar sagt", "{layout:#}");
        assert_eq!(layout["buttons"][0]["text"], "Test registrar auf X (@testreg)", "{layout:#}");
        assert!(
            layout["post"].as_str().is_some_and(|p| p.starts_with("Neueste Meldung von Test registrar (2. März 2026, ")),
            "{layout:#}"
        );
        switch_lang(&driver, "en").await;

        // Keyboard only: Tab reaches "Check now" and Enter runs it; Tab goes on to the first
        // channel and Enter opens it; the focused control shows a visible outline.
        driver
            .js("document.activeElement.blur(); window.scrollTo(0, 0); return 0;")
            .await;
        let before = ipc.handler.seen.lock().unwrap().checks;
        driver.tab_to("#check-now", 12).await;
        let outline = driver
            .js("return getComputedStyle(document.activeElement).outlineStyle;")
            .await;
        assert_eq!(outline, "solid", "the focus is visible");
        driver.press(ENTER).await;
        poll_js(&driver, "check now by keyboard", "return document.getElementById('message').textContent;", |m| {
            m == "Checking every layer…"
        })
        .await;
        assert_eq!(ipc.handler.seen.lock().unwrap().checks, before + 1);
        driver.tab_to("#first-channels button", 10).await;
        let kind = driver.js("return document.activeElement.dataset.kind;").await;
        assert_eq!(kind, "x", "the first channel Tab reaches is X");
        driver.press(ENTER).await;
        let deadline = Instant::now() + support::slack(Duration::from_secs(10));
        loop {
            let got = std::fs::read_to_string(&opened).unwrap_or_default();
            if got.lines().any(|l| l == "https://x.com/testreg") {
                break;
            }
            assert!(Instant::now() < deadline, "Enter on the X button opened nothing: {got:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Checks keep re-rendering the window (one every 1–2 s here): the focused channel keeps
        // the keyboard's focus, and a "Technical details" the person opened stays open. Two
        // newer rounds shown first: only then has the chain really been drawn again.
        driver
            .js("document.querySelector('#layer-provider summary').click(); return 0;")
            .await;
        wait_for_rounds(&driver, 2).await;
        let kept = driver
            .js("return {focus: document.activeElement.dataset.kind || null, \
                         open: document.querySelector('#layer-provider details').open, \
                         shown: document.querySelector('#layer-provider details li').textContent};")
            .await;
        assert_eq!(kept["focus"], "x", "the focus was lost: {kept}");
        assert_eq!(kept["open"], true, "{kept}");
        assert!(kept["shown"].as_str().unwrap().contains("127.0.0.1"), "{kept}");
        shoot_every_view(&driver, "outage", &artefacts, &docs).await;

        // The language switches live, evidence included (rendered by the engine in both).
        let german = driver
            .js(r#"const s = document.getElementById('ui-lang'); s.value = 'de';
                   s.dispatchEvent(new Event('change'));
                   return [document.getElementById('verdict-text').textContent,
                           document.getElementById('summary').textContent,
                           document.querySelector('#layer-provider .layer-status').textContent,
                           document.querySelector('#channels button').textContent,
                           [...document.querySelectorAll('#chain > li .layer-name')].map(e => e.textContent)];"#)
            .await;
        // The router's own view has its step in the chain, between home network and internet.
        assert_eq!(
            german[4],
            json!(["Dieser Computer", "Heimnetz", "Router (seine eigene Sicht)", "Internet", "Anbieter", "Konto"]),
            "{german}"
        );
        assert_eq!(german[0], "Störung beim Anbieter", "{german}");
        assert!(german[1].as_str().unwrap().starts_with("Ihr Internet funktioniert"), "{german}");
        assert_eq!(german[2], "gestört", "{german}");
        // The catalog's German channel label, not the English one, with no kind before it.
        assert_eq!(german[3], "Test registrar auf X (@testreg)", "{german}");
        driver
            .js("const s = document.getElementById('ui-lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); return 0;")
            .await;

        // The CSP is in force in the real webview: an injected inline script does not run,
        // and the page cannot connect anywhere but Tauri's IPC (tried against a loopback
        // anchor, so nothing leaves the machine even if the policy were missing).
        let csp = driver
            .cmd(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": format!(r#"const done = arguments[arguments.length - 1];
                    const violated = [];
                    document.addEventListener('securitypolicyviolation', (e) => violated.push(e.effectiveDirective));
                    const s = document.createElement('script');
                    s.textContent = 'window.__inlineRan = true';
                    document.body.append(s);
                    const finish = (fetched) => setTimeout(
                        () => done({{inline: !!window.__inlineRan, fetched, violated}}), 100);
                    fetch('http://{anchor_addr}/').then(() => finish(true), () => finish(false));"#),
                    "args": []})),
            )
            .await;
        assert_eq!(
            csp,
            json!({"inline": false, "fetched": false, "violated": ["script-src-elem", "connect-src"]}),
            "CSP not enforced: {csp}"
        );

        // 3. The agent (its IPC endpoint) restarts: "reconnecting", then back with the state.
        ipc.stop().await;
        let dom = wait_for(
            &driver,
            "the reconnecting banner",
            Duration::from_secs(10),
            |d| d["banner"] == true && d["connection"] == "reconnecting",
        )
        .await;
        assert!(
            dom["bannerText"].as_str().unwrap().contains("reconnecting"),
            "{dom:#}"
        );
        driver
            .screenshot(&[&artefacts.join("dashboard-reconnecting.png")])
            .await;
        ipc.restart().await;
        wait_for(
            &driver,
            "the recovered link",
            Duration::from_secs(15),
            |d| {
                d["banner"] == false
                    && d["connection"] == "connected"
                    && d["verdict"] == "provider_outage"
            },
        )
        .await;

        // 4. The registrar is back: healthy again, live.
        tokio::task::block_in_place(|| kamailio.start_again());
        wait_for(&driver, "the recovery", Duration::from_secs(30), |d| {
            d["verdict"] == "healthy" && d["chain"]["provider"] == "ok"
        })
        .await;

        // "Check now" reaches the agent and says so.
        driver
            .js("document.getElementById('check-now').click(); return 0;")
            .await;
        poll_js(
            &driver,
            "the check-now notice",
            "return document.getElementById('message').textContent;",
            |m| m == "Checking every layer…",
        )
        .await;

        // The pause button silences notifications for an hour through the agent, says until
        // when, and resumes them.
        let pause = "const b = document.getElementById('pause-alerts'); \
                     return {text: b.textContent, paused: b.dataset.paused};";
        let before = driver.js(pause).await;
        assert_eq!(before["text"], "Pause notifications for 1 h", "{before}");
        driver
            .js("document.getElementById('pause-alerts').click(); return 0;")
            .await;
        poll_js(&driver, "notifications paused", pause, |v| {
            v["paused"] == "true"
                && v["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Resume notifications (paused until "))
        })
        .await;
        let until = ipc.handler.paused_until.lock().unwrap().expect("the agent was asked to pause");
        let minutes = (until - Utc::now()).num_minutes();
        assert!((58..=60).contains(&minutes), "paused for {minutes} min");
        driver
            .js("document.getElementById('pause-alerts').click(); return 0;")
            .await;
        poll_js(&driver, "notifications resumed", pause, |v| {
            v["paused"] == "false" && v["text"] == "Pause notifications for 1 h"
        })
        .await;
        assert!(ipc.handler.paused_until.lock().unwrap().is_none());

        // No tray host (stock GNOME): the agent says so, and the window tells how to get the
        // icon, in either language; the line goes once a host is there.
        let banner = "const b = document.getElementById('no-tray'); \
                      return {hidden: b.hidden, text: b.textContent};";
        assert_eq!(driver.js(banner).await["hidden"], true);
        let tray = |hidden: bool| {
            ipc.handler.tray_icon_hidden.store(hidden, Ordering::SeqCst);
            ipc.handler.announce();
        };
        tray(true);
        poll_js(&driver, "the no-tray line", banner, |v| {
            v["hidden"] == false
                && v["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("install the AppIndicator extension: sudo apt install gnome-shell-extension-appindicator"))
        })
        .await;
        let german = driver
            .js("const s = document.getElementById('ui-lang'); s.value = 'de'; \
                 s.dispatchEvent(new Event('change')); \
                 return document.getElementById('no-tray').textContent;")
            .await;
        assert!(
            german.as_str().is_some_and(|t| t.contains("AppIndicator-Erweiterung installieren")),
            "{german}"
        );
        driver
            .js("const s = document.getElementById('ui-lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); return 0;")
            .await;
        tray(false);
        poll_js(&driver, "the no-tray line gone", banner, |v| v["hidden"] == true).await;

        // Several lines: a second one, "Office", whose registrar answers nothing (a loopback
        // port nobody listens on). The window offers a picker, keeps showing the first line
        // while Office's statuses stream past, and shows Office once it is picked.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let office_registrar = format!("sip:{};transport=udp", dead.local_addr().unwrap());
        drop(dead);
        let office_config = Config::parse(
            &config_text.replace(&kamailio.registrar_uri(Transport::Udp), &office_registrar),
            Path::new("office.toml"),
        )
        .unwrap();
        let mut office_settings = LineSettings::from_config(&office_config, None, &catalog).unwrap();
        office_settings.provider_name = Some("Office registrar".into());
        let (office, _office_task) = dialtone_engine::monitor::spawn(
            LineProber::new(office_settings).unwrap(),
            schedule.clone(),
            Thresholds::default(),
            shutdown.clone(),
        );
        ipc.handler.add_line(office_line(office), shutdown.clone());
        ipc.handler.announce();
        let picked = wait_for(&driver, "the line picker", Duration::from_secs(20), |d| {
            d["picker"]["options"]
                .as_array()
                .is_some_and(|o| o.len() == 2 && o[1].as_str().is_some_and(|t| t.contains("Provider outage")))
        })
        .await;
        assert_eq!(picked["picker"]["label"], "Line", "{picked:#}");
        assert_eq!(picked["picker"]["value"], "Home", "{picked:#}");
        assert!(picked["picker"]["options"][0].as_str().unwrap().starts_with("Home: "), "{picked:#}");
        // Office's outage streams in, but Home is shown: once a status of Office's and then a
        // newer round of Home's reached the window.
        let (dom, shown) = wait_past_a_status_of(&driver, &ipc.handler, "Home", "Office").await;
        assert_eq!(shown, json!(["healthy"]), "only the picked line is shown: {dom:#}");
        // The picker takes the keyboard's focus; picking Office shows Office.
        let focused = driver
            .js("const p = document.getElementById('line-picker'); p.focus(); return document.activeElement.id;")
            .await;
        assert_eq!(focused, "line-picker");
        // A native <select> with its label: the keyboard reaches and changes it as any other.
        driver
            .js("const p = document.getElementById('line-picker'); p.value = 'Office'; \
                 p.dispatchEvent(new Event('change')); return 0;")
            .await;
        let dom = wait_for(&driver, "the Office line", Duration::from_secs(15), |d| {
            d["verdict"] == "provider_outage" && d["chain"]["provider"] == "failed"
        })
        .await;
        assert!(dom["summary"].as_str().unwrap().contains("Office registrar"), "{dom:#}");
        assert_eq!(dom["picker"]["value"], "Office", "{dom:#}");
        let office_view = poll_js(
            &driver,
            "Office's channels and its own (empty) timeline",
            r#"return {channels: document.getElementById('channels-title').textContent,
                       bars: document.querySelectorAll('#timeline svg rect').length,
                       timeline: document.getElementById('timeline').textContent};"#,
            |v| v["bars"] == 0 && v["channels"].as_str().is_some_and(|t| t.contains("Office registrar")),
        )
        .await;
        // A line with nothing recorded yet: the chart says what it will show, no empty frame.
        assert!(
            office_view["timeline"].as_str().unwrap().starts_with("Here you will see the last 24 hours"),
            "{office_view}"
        );
        assert!(office_view["channels"].as_str().unwrap().starts_with("Where Office registrar"), "{office_view}");
        let german = driver
            .js(r#"const s = document.getElementById('ui-lang'); s.value = 'de';
                   s.dispatchEvent(new Event('change'));
                   return [document.querySelector('#line-switch span').textContent,
                           document.getElementById('line-picker').selectedOptions[0].textContent];"#)
            .await;
        assert_eq!(german[0], "Anschluss", "{german}");
        assert!(german[1].as_str().unwrap().starts_with("Office: "), "{german}");
        assert!(german[1].as_str().unwrap().contains("Störung beim Anbieter"), "{german}");
        driver
            .js("const s = document.getElementById('ui-lang'); s.value = 'en'; s.dispatchEvent(new Event('change')); return 0;")
            .await;
        // Home's statuses keep streaming; Office stays shown.
        let (dom, shown) = wait_past_a_status_of(&driver, &ipc.handler, "Office", "Home").await;
        assert_eq!(shown, json!(["provider_outage"]), "only the picked line is shown: {dom:#}");
        driver.screenshot(&[&artefacts.join("dashboard-lines.png")]).await;
        // Back to Home, and then the second line goes away: one line, no picker.
        driver
            .js("const p = document.getElementById('line-picker'); p.value = 'Home'; \
                 p.dispatchEvent(new Event('change')); return 0;")
            .await;
        wait_for(&driver, "the Home line again", Duration::from_secs(10), |d| {
            d["verdict"] == "healthy" && d["picker"]["value"] == "Home"
        })
        .await;
        *ipc.handler.office.lock().unwrap() = None;
        ipc.handler.announce();
        wait_for(&driver, "no picker for one line", Duration::from_secs(10), |d| {
            d["picker"] == Value::Null && d["verdict"] == "healthy"
        })
        .await;

        // First run: an agent without settings makes the window open on the setup; choosing
        // the provider by its registrar's domain sets it up.
        ipc.handler.configured.store(false, Ordering::SeqCst);
        driver
            .js("setTimeout(() => location.reload(), 0); return 0;")
            .await;
        poll_js(
            &driver,
            "the first-run setup",
            r#"return {setup: !document.getElementById('view-setup').hidden,
                       words: document.getElementById('verdict-text').textContent};"#,
            |v| v["setup"] == true && v["words"] == "Not set up yet",
        )
        .await;
        driver
            .js(r#"const r = document.getElementById('setup-registrar'); r.value = 'sip.1und1.de';
                   r.dispatchEvent(new Event('change')); return 0;"#)
            .await;
        poll_js(
            &driver,
            "the detected provider",
            "return document.getElementById('setup-detected').textContent;",
            |t| t.as_str().is_some_and(|t| t.starts_with("Detected: 1")),
        )
        .await;
        driver.screenshot(&[&artefacts.join("dashboard-setup.png")]).await;
        driver
            .js("document.getElementById('setup-form').requestSubmit(); return 0;")
            .await;
        poll_js(
            &driver,
            "the status view after the setup",
            r#"return {status: !document.getElementById('view-status').hidden,
                       words: document.getElementById('verdict-text').textContent};"#,
            |v| v["status"] == true && v["words"] == "Line works",
        )
        .await;
        {
            let seen = ipc.handler.seen.lock().unwrap();
            let stored = seen.settings.as_ref().unwrap();
            assert_eq!(stored.provider.as_deref(), Some("1und1"));
            assert_eq!(
                stored.account.as_ref().map(|a| a.registrar.as_str()),
                Some("sip.1und1.de")
            );
        }

        // The outage is in the Outages view as one ended episode, blamed on the provider.
        let rows = outage_rows(&driver, |r| r.len() == 1 && r[0][2] != "ongoing").await;
        assert!(rows[0][4].as_str().unwrap().contains("Provider outage"), "{rows}");
        assert_eq!(rows[0][5], "Provider", "{rows}");

        // Attach a fault report in the form: it is listed with the episode.
        driver
            .js(r#"document.getElementById('report-at').value = '2026-03-02T10:05';
                   document.getElementById('report-channel').value = 'Hotline';
                   document.getElementById('report-ticket').value = 'T-4711';
                   document.querySelector('#report-form button[type=submit]').click();
                   return 0;"#)
            .await;
        let listed = poll_js(
            &driver,
            "the fault report in the episode's details",
            "return document.getElementById('episode-reports').textContent;",
            |text| text.as_str().is_some_and(|t| t.contains("T-4711")),
        )
        .await;
        assert!(listed.as_str().unwrap().contains("Hotline"), "{listed}");
        assert_eq!(ipc.handler.seen.lock().unwrap().reports.len(), 1);

        // Export CSV: the dashboard writes the file and the window says where.
        let saved = export_csv(&driver).await;
        assert_eq!(saved, export_dir.join("dialtone-outages-e2e.csv"));
        let csv = std::fs::read_to_string(&saved).unwrap();
        assert_eq!(csv.lines().nth(1), Some("1,provider"), "{csv}");
        driver.screenshot(&[&artefacts.join("dashboard-outages.png")]).await;

        // Settings: the agent's values in the form; the password field never shows one.
        driver
            .js("document.querySelector('button.nav[data-view=settings]').click(); return 0;")
            .await;
        let form = poll_js(
            &driver,
            "the settings form",
            r#"return {interval: document.getElementById('set-interval').value,
                       pwType: document.getElementById('set-password').type,
                       pwValue: document.getElementById('set-password').value,
                       pwState: document.getElementById('password-state').textContent,
                       providers: document.querySelectorAll('#set-provider option').length};"#,
            |f| f["interval"] == "30",
        )
        .await;
        assert_eq!(form["pwType"], "password", "{form}");
        assert_eq!(form["pwValue"], "", "{form}");
        assert_eq!(form["pwState"], "No password stored.", "{form}");
        assert!(form["providers"].as_u64().unwrap() > 3, "the catalog picker: {form}");
        driver.screenshot(&[&artefacts.join("dashboard-settings.png")]).await;

        // The Alerts part: the agent's target as it sent it (redacted), the outbox, and a
        // test alert whose outcome is shown per target.
        let alerts = poll_js(
            &driver,
            "the alert targets",
            r#"return {targets: document.getElementById('alerts-targets').textContent,
                       empty: !document.getElementById('alerts-outbox-empty').hidden};"#,
            |a| a["targets"].as_str().is_some_and(|t| t.contains("ntfys://ntfy.sh/***")),
        )
        .await;
        assert_eq!(alerts["empty"], true, "{alerts}");
        driver
            .js("document.getElementById('alerts-test').click(); return 0;")
            .await;
        poll_js(
            &driver,
            "the test alert's outcome",
            "return document.getElementById('alerts-results').textContent;",
            |r| r.as_str() == Some("ntfys://ntfy.sh/***: delivered"),
        )
        .await;

        // 5. Closing the window ends the dashboard process (and its WebKit helpers).
        let app = find_dashboard(driver_proc.pid(), &binary).expect("the dashboard process");
        let rss_mb = tree_rss_kb(app) as f64 / 1024.0;
        let pss_mb = tree_pss_kb(app) as f64 / 1024.0;
        let figures = format!(
            "dashboard + WebKit processes, window open (debug build): RSS {rss_mb:.0} MB, PSS {pss_mb:.0} MB\n"
        );
        eprint!("{figures}");
        std::fs::write(artefacts.join("dashboard-memory.txt"), figures).unwrap();
        driver.cmd(reqwest::Method::DELETE, "/window", None).await;
        let deadline = Instant::now() + support::slack(Duration::from_secs(15));
        while Path::new(&format!("/proc/{app}")).exists()
            && std::fs::read_to_string(format!("/proc/{app}/stat"))
                .is_ok_and(|s| !s.contains(") Z "))
        {
            assert!(
                Instant::now() < deadline,
                "the dashboard (pid {app}) still runs 15 s after its window closed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = driver.cmd(reqwest::Method::DELETE, "", None).await;

        // 6. The system's dark mode: the window follows it (GTK's dark Adwaita makes WebKit
        // report `prefers-color-scheme: dark`), with its own dark colours.
        let dark_port = free_port();
        let _dark_driver = app_env.driver(
            dark_port,
            &artefacts.join("webkitwebdriver-dark.log"),
            Some("Adwaita:dark"),
        );
        let dark = WebDriver::session(format!("http://127.0.0.1:{dark_port}"), &binary).await;
        wait_for(&dark, "the line in the dark window", Duration::from_secs(30), |d| {
            d["verdict"] == "healthy"
        })
        .await;
        let colours = dark
            .js("return {dark: matchMedia('(prefers-color-scheme: dark)').matches, \
                         background: getComputedStyle(document.documentElement).backgroundColor, \
                         text: getComputedStyle(document.body).color};")
            .await;
        assert_eq!(colours["dark"], true, "{colours}");
        assert_eq!(colours["background"], "rgb(22, 24, 27)", "{colours}");
        assert_eq!(colours["text"], "rgb(236, 236, 236)", "{colours}");
        let mut shots = vec![artefacts.join("dashboard-status-healthy-dark-en.png")];
        if std::env::var_os("DIALTONE_UPDATE_SCREENSHOTS").is_some() {
            shots.push(docs.join("dashboard-status-healthy-dark-en.png"));
        }
        let shots: Vec<&Path> = shots.iter().map(PathBuf::as_path).collect();
        dark.screenshot(&shots).await;
        let _ = dark.cmd(reqwest::Method::DELETE, "/window", None).await;
        let _ = dark.cmd(reqwest::Method::DELETE, "", None).await;
        ipc.stop().await;
    });
    shutdown.cancel();
    drop(driver_proc);
    drop(anchors);
}

// ---------- the real agent ----------

/// The `dialtone` binary of this build, which the real-agent test runs as the agent. Only the
/// root package's tests are handed `CARGO_BIN_EXE_dialtone`; the workspace's `cargo test` (what
/// CI runs) builds every package's binaries into the same folder before any test starts, so it
/// lies next to this test's executable. A focused `cargo test -p dialtone-dashboard` does not
/// build it: a missing or stale binary fails the test, saying how to build it, rather than
/// testing an old agent.
fn agent_binary() -> PathBuf {
    let agent = support::dialtone_bin();
    let build = "cargo build --locked --bin dialtone, or run the workspace's cargo test";
    let built = std::fs::metadata(&agent)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "no agent binary at {}: {e}; build it: {build}",
                agent.display()
            )
        });
    let newer: Vec<PathBuf> = agent_sources()
        .into_iter()
        .filter(|f| {
            std::fs::metadata(f)
                .and_then(|m| m.modified())
                .is_ok_and(|m| m > built)
        })
        .collect();
    assert!(
        newer.is_empty(),
        "the agent binary {} is older than {newer:?}: build it: {build}",
        agent.display()
    );
    agent
}

/// The files the agent binary is built from on this system: the sources of the app's crates,
/// their unit tests and other systems' code aside (changes there rebuild no Linux binary, and
/// a guard that `cargo build` cannot satisfy would be a trap). Manifests and files included
/// from elsewhere (icons, the autostart template) are left out too: this guards against a
/// forgotten rebuild; it is not cargo's own check.
fn agent_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    collect_sources(&root.join("src"), &mut files);
    for krate in ["core", "ipc", "engine", "platform"] {
        collect_sources(&root.join("crates").join(krate).join("src"), &mut files);
    }
    files
}

/// Adds the files under `dir` to `files`, unit tests and other systems' code aside.
fn collect_sources(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let skipped = [
            "tests",
            "tests.rs",
            "test_support.rs",
            "windows",
            "windows.rs",
            "macos",
        ];
        if skipped.iter().any(|s| name == *s) {
            continue;
        }
        if path.is_dir() {
            collect_sources(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Asks the agent at `socket` for its status until `want` holds (the socket may not be there
/// yet), for up to `limit` times the slack.
async fn agent_status_until(
    socket: &Path,
    what: &str,
    limit: Duration,
    want: impl Fn(&AgentStatus) -> bool,
) -> AgentStatus {
    let limit = support::slack(limit);
    let deadline = Instant::now() + limit;
    let mut last: String;
    loop {
        match dialtone_ipc::client::Client::connect(socket).await {
            Ok(mut client) => match client.status().await {
                Ok(status) if want(&status) => return status,
                Ok(status) => last = format!("{status:?}"),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        assert!(
            Instant::now() < deadline,
            "the agent never reported {what} within {limit:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real `dialtone agent` behind the real dashboard (issue 17, point 20): no scripted agent
/// anywhere. The agent runs from its own binary on a private home and runtime dir (no session
/// bus, so no tray; its history in its own SQLite file), checking kamailio on loopback every
/// 60 s, so any newer round within the test is one the window asked for. The window shows the
/// agent's own verdict and round; "Check now" brings a new round into the window; stopping
/// kamailio shows the provider outage in the window and in its outage log; the CSV the window
/// exports is the agent's rendering of that episode, byte for byte.
#[test]
fn the_real_agent_status_check_now_outage_log_and_csv_export() {
    let _turn = one_session();
    let started = Instant::now();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_dialtone-dashboard"));
    let agent_bin = agent_binary();
    let target = binary
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .expect("binary under target/")
        .to_path_buf();
    let artefacts = target.join("e2e").join("real-agent");
    let _ = std::fs::remove_dir_all(&artefacts);
    std::fs::create_dir_all(&artefacts).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The line and the agent watching it, from a private home.
    let mut kamailio = Kamailio::start(KamailioOptions::default());
    let anchor = TcpListener::bind("127.0.0.1:0").unwrap();
    let anchor_addr = anchor.local_addr().unwrap().to_string();
    let home = tempfile::Builder::new()
        .prefix("dialtone-e2e-agent-")
        .tempdir()
        .unwrap();
    let dir = home.path();
    // No tray host here: the agent opens "the dashboard" once, which is this script.
    let dashboard_script = dir.join("dashboard.sh");
    std::fs::write(&dashboard_script, "#!/bin/sh\nexit 0\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dashboard_script, std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let mut command = support::desktop::agent_command(&agent_bin, dir, &dashboard_script, None);
    command
        .arg("agent")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--catalog")
        .arg(dir.join("no-user-catalog.toml"))
        .arg("--db")
        .arg(dir.join("history.sqlite3"))
        .args(["--registrar", &kamailio.registrar_uri(Transport::Udp)])
        .args(["--gateway", "127.0.0.1", "--dns-name", "none"])
        .args(["--anchor", &anchor_addr, "--anchor", &anchor_addr])
        .args(["--timeout", "1", "--interval", "60", "--recheck", "1"])
        .args(["--lang", "en"]);
    let mut agent = Terminated {
        name: "dialtone agent",
        child: support::desktop::spawn_agent(&mut command, dir),
    };
    let socket = dir.join("agent.sock");
    let agent_log = || std::fs::read_to_string(dir.join("agent.err")).unwrap_or_default();
    rt.block_on(agent_status_until(
        &socket,
        "a healthy line",
        Duration::from_secs(20),
        |s| s.status.verdict == Verdict::Healthy,
    ));

    // The window's exports go to a download folder of the test's.
    let export_dir = artefacts.join("downloads");
    std::fs::create_dir_all(&export_dir).unwrap();
    let xdg_config = artefacts.join("xdg-config");
    std::fs::create_dir_all(&xdg_config).unwrap();
    std::fs::write(
        xdg_config.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", export_dir.display()),
    )
    .unwrap();
    let (_xvfb, display) = start_xvfb(&artefacts);
    let port = free_port();
    let app_env = AppEnv {
        display,
        path: std::env::var("PATH").unwrap_or_default(),
        socket: socket.clone(),
        xdg_config,
    };
    let driver_proc = app_env.driver(port, &artefacts.join("webkitwebdriver.log"), None);

    rt.block_on(async {
        let driver = WebDriver::session(format!("http://127.0.0.1:{port}"), &binary).await;

        // 1. The window shows the agent's verdict and the agent's very round.
        let dom = wait_for(
            &driver,
            "the agent's healthy line",
            Duration::from_secs(20),
            |d| d["verdict"] == "healthy" && lower_layers_ok(d) && d["chain"]["provider"] == "ok",
        )
        .await;
        assert_eq!(dom["words"], "Line works", "{dom:#}");
        assert_eq!(dom["connection"], "connected", "{dom:#}");
        let status =
            agent_status_until(&socket, "its status", Duration::from_secs(5), |_| true).await;
        assert_eq!(status.status.verdict, Verdict::Healthy);
        let round = status_checked_at(&status).expect("the agent has checked");
        wait_for(&driver, "the agent's round", Duration::from_secs(5), |d| {
            dom_checked_at(d) == Some(round)
        })
        .await;
        driver.screenshot(&[&artefacts.join("healthy.png")]).await;

        // 2. "Check now": a new round reaches the window. The agent's next scheduled round is
        // 60 s after the last one, so a newer round within seconds is the one asked for.
        driver
            .js("document.getElementById('check-now').click(); return 0;")
            .await;
        let checked = wait_for(
            &driver,
            "the round Check now asked for",
            Duration::from_secs(10),
            |d| dom_checked_at(d) > Some(round),
        )
        .await;
        let asked = dom_checked_at(&checked).unwrap();
        assert!(
            asked - round < chrono::TimeDelta::seconds(45),
            "a round {asked} long after {round}: the schedule's, not the click's"
        );
        assert_eq!(checked["verdict"], "healthy", "{checked:#}");
        let status = agent_status_until(&socket, "the new round", Duration::from_secs(5), |s| {
            status_checked_at(s) >= Some(asked)
        })
        .await;
        assert_eq!(status.status.verdict, Verdict::Healthy);

        // 3. The registrar goes away; "Check now" finds it, the re-checks confirm it, and the
        // window shows the provider outage.
        tokio::task::block_in_place(|| kamailio.stop());
        driver
            .js("document.getElementById('check-now').click(); return 0;")
            .await;
        let dom = wait_for(
            &driver,
            "the provider outage",
            Duration::from_secs(20),
            |d| d["verdict"] == "provider_outage" && d["chain"]["provider"] == "failed",
        )
        .await;
        assert!(
            lower_layers_ok(&dom),
            "blame stays with the provider: {dom:#}"
        );
        let status =
            agent_status_until(&socket, "the outage", Duration::from_secs(5), |_| true).await;
        assert_eq!(
            status.status.verdict,
            Verdict::ProviderOutage,
            "{}",
            agent_log()
        );
        driver.screenshot(&[&artefacts.join("outage.png")]).await;

        // 4. The outage log lists it, ongoing, blamed on the provider, under the agent's id.
        let episodes = {
            let mut client = dialtone_ipc::client::Client::connect(&socket)
                .await
                .unwrap();
            client.episodes(30).await.unwrap()
        };
        assert!(episodes.available, "{episodes:?}");
        let [episode] = episodes.episodes.as_slice() else {
            panic!("one episode in the agent's history: {episodes:?}");
        };
        assert_eq!(episode.verdict, Verdict::ProviderOutage, "{episode:?}");
        assert_eq!(episode.end, None, "{episode:?}");
        let rows = outage_rows(&driver, |r| !r.is_empty()).await;
        let row = &rows[0];
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
        assert_eq!(row[0], episode.id.to_string(), "{rows}");
        assert_eq!(row[2], "ongoing", "{rows}");
        assert!(
            row[4].as_str().unwrap().contains("Provider outage"),
            "{rows}"
        );
        assert_eq!(row[5], "Provider", "{rows}");
        driver.screenshot(&[&artefacts.join("outages.png")]).await;

        // 5. The CSV the window writes holds that episode: the agent's own rendering.
        let saved = export_csv(&driver).await;
        assert_eq!(
            saved.parent(),
            Some(export_dir.as_path()),
            "{}",
            saved.display()
        );
        let name = saved.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("dialtone-outages-") && name.ends_with(".csv"),
            "{name}"
        );
        let csv = std::fs::read_to_string(&saved).unwrap();
        let mut lines = csv.lines();
        assert!(
            lines
                .next()
                .is_some_and(|h| h.starts_with("episode,start (UTC),end (UTC),")),
            "{csv}"
        );
        let fields: Vec<&str> = lines
            .next()
            .expect("the episode's row")
            .split(',')
            .collect();
        assert_eq!(fields[0], episode.id.to_string(), "{csv}");
        assert_eq!(
            fields[1],
            episode.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "{csv}"
        );
        assert_eq!(fields[2], "", "an ongoing episode has no end: {csv}");
        // The export's own words (crates/core's outage-log wording), not the window's.
        assert_eq!(
            &fields[6..9],
            ["ongoing", "provider outage", "VoIP provider"],
            "{csv}"
        );
        assert_eq!(lines.next(), None, "one episode: {csv}");
        let mut client = dialtone_ipc::client::Client::connect(&socket)
            .await
            .unwrap();
        let (_, rendered) = client
            .export_log(ExportFormat::Csv, dialtone_core::locale::Lang::En)
            .await
            .unwrap();
        assert_eq!(csv, rendered, "the window wrote what the agent rendered");

        let _ = driver.cmd(reqwest::Method::DELETE, "/window", None).await;
        let _ = driver.cmd(reqwest::Method::DELETE, "", None).await;
    });
    drop(driver_proc);
    let status = support::stop(&mut agent.child, Duration::from_secs(10))
        .expect("the agent stops on SIGTERM");
    assert!(status.success(), "{status}: {}", agent_log());
    eprintln!(
        "the real agent behind the dashboard: {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
}
