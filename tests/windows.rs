//! The Windows build under wine (the only Windows here), against a real kamailio on loopback:
//! `dialtone.exe check` names each layer's failure as on Linux (silent anchors need root for
//! nftables, as CI runs), and the login ledger holds a
//! rejected password back on the next check (so the ledger and its lock work on Windows); the
//! agent serves its named pipe and a second start finds it there and hands over; with the
//! registrar's UDP port closed the agent reports the refusal and idles instead of spinning.
//!
//! Needs wine and MinGW-w64 (`scripts/lib/setup.sh` `install_windows_deps`) and the cross-built
//! agent: `cargo build --target x86_64-pc-windows-gnu -p dialtone` (scripts/test builds it
//! before the tests). Without them the tests say so and pass, except in CI, where they fail.
//!
//! What wine cannot show: another user's client being refused by the pipe (wine runs every
//! program as one user, so both ends always have the same SID), toasts (no WinRT), and
//! anything that depends on Windows' own ACL enforcement. Each prefix runs on an Xvfb display
//! of its own (wine's desktop process needs one).
#![allow(clippy::unwrap_used)]

use dialtone_core::observation::Transport;
use dialtone_testkit::kamailio::{Kamailio, KamailioOptions};
use dialtone_testkit::wine::{self, windows_path, Prefix};
use dialtone_testkit::{layer, require, slack};
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "w1ne-Pa55";

/// A prefix with `dialtone.exe` in it, or `None` (skipped) where wine or the build is missing.
fn prefix() -> Option<Prefix> {
    let exe = wine::exe("dialtone");
    if !require(
        wine::available() && exe.exists(),
        &format!(
            "wine and MinGW-w64 (scripts/lib/setup.sh install_windows_deps) and {} \
             (cargo build --target {} -p dialtone)",
            exe.display(),
            wine::TARGET
        ),
    ) {
        return None;
    }
    let started = Instant::now();
    let prefix = Prefix::new(&[&exe]);
    println!("wine prefix ready in {:?}", started.elapsed());
    Some(prefix)
}

/// Two internet anchors that accept connections while the value lives.
struct Anchors(Vec<TcpListener>);

impl Anchors {
    fn start() -> Anchors {
        Anchors(
            (0..2)
                .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
                .collect(),
        )
    }

    fn ports(&self) -> Vec<u16> {
        self.0
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect()
    }

    fn args(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|l| ["--anchor".to_string(), l.local_addr().unwrap().to_string()])
            .collect()
    }
}

/// The line's flags: the registrar, everything else on loopback, no config file.
fn line_args(prefix: &Prefix, registrar: &str, anchors: &[String]) -> Vec<String> {
    let config = windows_path(&prefix.scratch("config").join("none.toml"));
    let mut args: Vec<String> = [
        "--registrar",
        registrar,
        "--gateway",
        "127.0.0.1",
        "--dns-name",
        "none",
        "--expect-binding",
        "no",
        "--lang",
        "en",
        "--config",
        &config,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend_from_slice(anchors);
    args
}

/// `dialtone.exe check --json` with `extra` flags: the report and the process's output.
fn check(prefix: &Prefix, line: &[String], extra: &[&str]) -> (Value, Output) {
    let started = Instant::now();
    let out = prefix
        .command("dialtone.exe")
        .args(["check", "--json", "--timeout", "2"])
        .args(line)
        .args(extra)
        .env("DIALTONE_RIGHT", PASSWORD)
        .env("DIALTONE_WRONG", "not-the-password")
        .output()
        .unwrap();
    println!("check {extra:?} under wine: {:?}", started.elapsed());
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out)
}

fn assert_verdict(json: &Value, out: &Output, verdict: &str, code: i32) {
    assert_eq!(json["verdict"], verdict, "{json:#}");
    assert_eq!(out.status.code(), Some(code), "{json:#}");
}

#[test]
fn check_under_wine_names_each_layer_and_holds_a_rejected_login_back() {
    let Some(prefix) = prefix() else { return };
    let mut k = Kamailio::start(KamailioOptions {
        users: vec![("alice".into(), PASSWORD.into())],
        ..KamailioOptions::default()
    });
    let anchors = Anchors::start();
    let registrar = k.registrar_uri(Transport::Udp);
    let line = line_args(&prefix, &registrar, &anchors.args());
    let right = ["--user", "alice", "--password-env", "DIALTONE_RIGHT"];
    let wrong = ["--user", "alice", "--password-env", "DIALTONE_WRONG"];

    // The right login: the REGISTER query's digest works, every layer is fine.
    let (json, out) = check(&prefix, &line, &right);
    assert_verdict(&json, &out, "healthy", 0);
    assert_eq!(layer(&json, "account")["status"], "ok", "{json:#}");
    assert_eq!(layer(&json, "internet")["status"], "ok", "{json:#}");

    // The wrong password: rejected once, never shown.
    let before = k.authenticated_registers();
    let (json, out) = check(&prefix, &line, &wrong);
    assert_verdict(&json, &out, "account_problem", 11);
    assert!(
        layer(&json, "account")["evidence"]
            .to_string()
            .contains("403"),
        "{json:#}"
    );
    assert!(!json.to_string().contains("not-the-password"));
    assert_eq!(k.authenticated_registers() - before, 1, "{}", k.log());
    // The ledger is in %LOCALAPPDATA% (there is no state dir on Windows).
    let ledgers: Vec<_> = std::fs::read_dir(prefix.drive_c().join("users"))
        .unwrap()
        .filter_map(|user| {
            let path = user
                .ok()?
                .path()
                .join("AppData/Local/dialtone/data/logins.json");
            path.exists().then_some(path)
        })
        .collect();
    assert_eq!(ledgers.len(), 1, "no login ledger under %LOCALAPPDATA%");

    // The next check with the same password sends nothing and says why.
    let (json, out) = check(&prefix, &line, &wrong);
    assert_verdict(&json, &out, "account_problem", 11);
    assert_eq!(
        k.authenticated_registers() - before,
        1,
        "the rejected password went out again:\n{}",
        k.log()
    );
    assert!(
        json.to_string().contains("rejected"),
        "the held-back login is not explained: {json:#}"
    );

    // The anchors go silent (their SYNs dropped; root, as CI runs): the internet is down while
    // the router still answers.
    if let Some(_silent) = dialtone_testkit::netns::DropPorts::new(&anchors.ports()) {
        let (json, out) = check(&prefix, &line, &[]);
        assert_verdict(&json, &out, "internet_down", 13);
        assert_eq!(layer(&json, "home_network")["status"], "ok", "{json:#}");
    }

    // kamailio stopped, the internet fine: the provider's outage, within the timeout.
    k.stop();
    let started = Instant::now();
    let (json, out) = check(&prefix, &line, &[]);
    assert_verdict(&json, &out, "provider_outage", 12);
    assert_eq!(json["failing_layer"], "provider");
    assert!(
        started.elapsed() < slack(Duration::from_secs(15)),
        "{:?}",
        started.elapsed()
    );
}

/// Kills the program under wine when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_agent_serves_its_pipe_and_a_second_start_hands_over() {
    let Some(prefix) = prefix() else { return };
    let k = Kamailio::start(KamailioOptions::default());
    let anchors = Anchors::start();
    // A metrics port: once it answers, the agent is past binding its pipe (it binds first).
    let metrics = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = prefix.scratch("agent").join("config.toml");
    std::fs::write(&config, format!("[metrics]\nlisten = \"{metrics}\"\n")).unwrap();
    let pipe = format!(r"\\.\pipe\dialtone-test-{}", std::process::id());
    let mut line = line_args(&prefix, &k.registrar_uri(Transport::Udp), &anchors.args());
    // The config with the metrics replaces the empty one.
    let at = line.iter().position(|a| a == "--config").unwrap();
    line[at + 1] = windows_path(&config);

    let mut agent = Running(
        prefix
            .command("dialtone.exe")
            .arg("agent")
            .args(&line)
            .arg("--no-history")
            .env("DIALTONE_SOCKET", &pipe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(metrics).is_err() {
        assert!(
            agent.0.try_wait().unwrap().is_none(),
            "the agent under wine ended before it served"
        );
        assert!(
            started.elapsed() < slack(Duration::from_secs(30)),
            "the agent under wine never served its metrics"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A second start (no arguments, as from the Start menu) finds the agent on the pipe, asks
    // it to open the dashboard and ends; the first one goes on.
    let second = prefix
        .command("dialtone.exe")
        .env("DIALTONE_SOCKET", &pipe)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{said}");
    assert!(said.contains("already running"), "{said}");
    assert!(
        agent.0.try_wait().unwrap().is_none(),
        "the first agent ended"
    );
}

#[test]
fn the_version_names_the_commit_on_windows_too() {
    let Some(prefix) = prefix() else { return };
    let out = prefix
        .command("dialtone.exe")
        .arg("--version")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    // Built from this checkout (scripts/test builds it right before the tests): its commit,
    // else (a source tarball) "unknown", as on Linux.
    let commit = head.unwrap_or_else(|| "unknown".into());
    assert!(
        shown.contains(&format!("(commit {commit})")),
        "{shown} does not name {commit}: rebuild with cargo build --target {} -p dialtone",
        wine::TARGET
    );
}

#[test]
fn watch_under_wine_confirms_an_outage_and_its_end() {
    let Some(prefix) = prefix() else { return };
    let mut k = Kamailio::start(KamailioOptions::default());
    let anchors = Anchors::start();
    // The history in SQLite on the Windows side too (WAL, the private file).
    let db = windows_path(&prefix.scratch("watch").join("history.sqlite3"));
    let (child, lines) = dialtone_testkit::spawn_with_lines(
        prefix
            .command("dialtone.exe")
            .arg("watch")
            .args(line_args(
                &prefix,
                &k.registrar_uri(Transport::Udp),
                &anchors.args(),
            ))
            .arg("--json")
            .args(dialtone_testkit::FAST_ROUNDS)
            .args(["--db", &db]),
    )
    .unwrap();
    let _watch = Running(child);
    let next = || -> Value { dialtone_testkit::next_json(&lines, Duration::from_secs(20)) };
    let first = next();
    assert_eq!(first["to"], "healthy", "{first:#}");
    k.stop();
    let second = next();
    assert_eq!(second["from"], "healthy");
    assert_eq!(second["to"], "provider_outage", "{second:#}");
    k.start_again();
    let third = next();
    assert_eq!(third["to"], "healthy", "{third:#}");
    assert!(third["lasted_secs"].as_i64().unwrap() >= 1, "{third:#}");
}

#[test]
fn the_dashboard_without_webview2_says_where_to_get_it_and_ends_without_a_panic() {
    /// Whether `xdotool` (finds the dashboard's message box and answers it) is installed.
    fn xdotool_available() -> bool {
        std::process::Command::new("xdotool")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `xdotool args` on `display`: its standard output.
    fn xdotool(display: &str, args: &[&str]) -> String {
        let out = std::process::Command::new("xdotool")
            .args(args)
            .env("DISPLAY", display)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    let dashboard = wine::exe("dialtone-dashboard");
    let loader = dashboard.with_file_name("WebView2Loader.dll");
    if !require(
        wine::available() && dashboard.exists() && loader.exists() && xdotool_available(),
        &format!(
            "wine, xdotool (scripts/lib/setup.sh install_windows_deps) and {} beside \
             WebView2Loader.dll (cargo build --target {} -p dialtone-dashboard)",
            dashboard.display(),
            wine::TARGET
        ),
    ) {
        return;
    }
    // wine has no WebView2 runtime: the case of a Windows without it.
    let prefix = Prefix::new(&[&dashboard, &loader]);
    let stderr = prefix.scratch("dashboard").join("stderr.log");
    let started = Instant::now();
    let mut running = Running(
        prefix
            .command("dialtone-dashboard.exe")
            .env("DIALTONE_SOCKET", r"\\.\pipe\dialtone-no-agent")
            .env("LANG", "en_US.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap(),
    );
    // The message box, found on the prefix's X display by its title (the core's words).
    let title = dialtone_core::words::no_webview_words(dialtone_core::locale::Lang::En).title;
    let window = loop {
        let found = xdotool(prefix.display(), &["search", "--name", title]);
        if let Some(id) = found.lines().next().filter(|id| !id.is_empty()) {
            break id.to_string();
        }
        let ended = running.0.try_wait().unwrap();
        assert!(
            ended.is_none() && started.elapsed() < slack(Duration::from_secs(30)),
            "no window titled {title:?} after {:?} (ended: {ended:?}); stderr: {}",
            started.elapsed(),
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    println!("message box {window} up after {:?}", started.elapsed());
    // The box waits for its answer: the process must still be there.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "ended without an answer"
    );
    // A screenshot for the test's artefacts (and docs/screenshots), where ImageMagick is there.
    let shot = prefix.scratch("dashboard").join("no-webview2-box.png");
    let _ = std::process::Command::new("import")
        .args(["-display", prefix.display(), "-window", "root"])
        .arg(&shot)
        .status();
    if shot.exists() {
        let keep = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/screenshots/dashboard-no-webview2-en.png");
        let _ = std::fs::create_dir_all(keep.parent().unwrap());
        let _ = std::fs::copy(&shot, &keep);
        println!("screenshot: {}", keep.display());
    }
    // "No" (its mnemonic, N): the box closes without opening a browser on this machine.
    xdotool(prefix.display(), &["windowfocus", &window]);
    xdotool(prefix.display(), &["key", "n"]);
    let code = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < slack(Duration::from_secs(45)),
            "the dashboard did not end after the box was answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let said = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(code, Some(6), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    assert!(said.contains("WebView2 runtime"), "{said}");
    assert!(
        said.contains("https://developer.microsoft.com/microsoft-edge/webview2/"),
        "{said}"
    );
    // The box was answered, so it is gone (not merely hidden behind the ended process).
    assert_eq!(
        xdotool(prefix.display(), &["search", "--name", title]).trim(),
        "",
        "the box is still up"
    );
}

/// A loopback UDP port nobody listens on: a SIP request there draws ICMP port-unreachable.
fn closed_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The agent's metrics text, or `None` while it does not answer.
fn scrape(metrics: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect_timeout(&metrics, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

/// The CPU time (user + system, every thread) process `pid` has used so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which may hold spaces) close with ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Regression: after an ICMP port-unreachable wine marks the SIP socket closed for reading while
/// a receive finds nothing; tokio keeps that readiness for good and its `recv` retried without
/// yielding, so the agent spun in the OPTIONS receive and never finished a round (still
/// unknown). `check` and `watch` (one-thread runtimes) met the refusal on the next send instead:
/// a race they happened to win. A closed port is evidence, as on Linux: the agent confirms
/// provider_outage within a few timeouts, and idles between checks.
#[test]
fn the_agent_reports_a_closed_registrar_port_and_does_not_spin() {
    let Some(prefix) = prefix() else { return };
    let anchors = Anchors::start();
    let metrics = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = prefix.scratch("closed").join("config.toml");
    std::fs::write(&config, format!("[metrics]\nlisten = \"{metrics}\"\n")).unwrap();
    let registrar = format!("sip:127.0.0.1:{};transport=udp", closed_udp_port());
    let mut line = line_args(&prefix, &registrar, &anchors.args());
    let at = line.iter().position(|a| a == "--config").unwrap();
    line[at + 1] = windows_path(&config);
    let pipe = format!(r"\\.\pipe\dialtone-closed-{}", std::process::id());
    let mut agent = Running(
        prefix
            .command("dialtone.exe")
            .arg("agent")
            .args(&line)
            .args(["--timeout", "2", "--interval", "30", "--recheck", "2"])
            .arg("--no-history")
            .env("DIALTONE_SOCKET", &pipe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let outage = "dialtone_line_verdict{line=";
    let text = loop {
        assert!(
            agent.0.try_wait().unwrap().is_none(),
            "the agent under wine ended"
        );
        let text = scrape(metrics).unwrap_or_default();
        let confirmed = text.lines().any(|l| {
            l.starts_with(outage) && l.contains("verdict=\"provider_outage\"") && l.ends_with(" 1")
        });
        if confirmed {
            break text;
        }
        assert!(
            started.elapsed() < slack(Duration::from_secs(40)),
            "no provider_outage from the agent within 40 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    println!(
        "agent under wine: provider_outage confirmed after {:?}",
        started.elapsed()
    );
    assert!(
        text.lines().any(|l| l.starts_with("dialtone_layer_up{")
            && l.contains("layer=\"provider\"")
            && l.ends_with(" 0")),
        "the provider layer is not the one down:\n{text}"
    );

    // Confirmed; the next check is 30 s away: the agent idles. The spinning receive cost the
    // wine process about 200 ticks in 4 s (half a core, the wine server busy besides); an idle
    // agent a few ticks over the whole span.
    let pid = agent.0.id();
    let span = Duration::from_secs(4);
    let before = cpu_ticks(pid);
    std::thread::sleep(span);
    let used = cpu_ticks(pid) - before;
    println!("agent under wine: {used} clock ticks of CPU in {span:?} while idle");
    assert!(
        used < 50,
        "the agent used {used} ticks (1/100 s each) in {span:?} between checks"
    );
}
