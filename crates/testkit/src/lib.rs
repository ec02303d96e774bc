//! Shared support for dialtone's integration tests: a real kamailio registrar, network
//! namespaces for fault injection, a DNS server inside them, and the lab network
//! (client ─ router ─ internet ─ provider) built from all three.
//!
//! A crate of its own (`publish = false`), so every test crate (the agent's tests, the
//! dashboard's tests, the benchmarks) links the same harnesses without `#[path]` includes, and
//! an unused part is simply not called rather than dead code in each test binary.

pub mod desktop;
pub mod dns;
pub mod fritzbox;
pub mod gate;
pub mod igd;
pub mod kamailio;
pub mod lab;
pub mod netns;
pub mod sip;
pub mod smtp;
pub mod webhook;
pub mod wine;

pub use gate::{in_ci, require, require_root, slack};

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// The layer `name` of a `dialtone check --json` report (panics, naming the report, when it
/// has none).
pub fn layer<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["layers"]
        .as_array()
        .and_then(|layers| layers.iter().find(|l| l["layer"] == name))
        .unwrap_or_else(|| panic!("no layer {name} in {json:#}"))
}

/// The layers of every report, in the chain's order (the router between home network and
/// internet).
pub const LAYER_ORDER: [&str; 6] = [
    "device",
    "home_network",
    "router",
    "internet",
    "provider",
    "account",
];

/// The `layer` names of a report's `layers`, in its order.
pub fn layer_names(json: &serde_json::Value) -> Vec<&str> {
    json["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in {json:#}"))
        .iter()
        .map(|l| l["layer"].as_str().expect("a layer's name"))
        .collect()
}

/// The `dialtone` binary of the build that runs this test or benchmark: next to the test
/// executable's `deps/` folder (`target/debug/dialtone` for `cargo test`,
/// `target/release/dialtone` for the benchmarks). Cargo builds it before the root package's
/// integration tests and benchmarks.
pub fn dialtone_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's folder");
    let profile = if deps.ends_with("deps") {
        deps.parent().expect("the profile folder")
    } else {
        deps
    };
    profile.join(format!("dialtone{}", std::env::consts::EXE_SUFFIX))
}

/// Runs `dialtone --lang LANG log --db DB --export FORMAT --output OUTPUT`, panics with its
/// stderr unless it succeeded, and returns the exported file's text.
pub fn export_log(db: &Path, format: &str, lang: &str, output: &Path) -> String {
    run_ok(
        Command::new(crate::dialtone_bin())
            .args(["--lang", lang, "log", "--db"])
            .arg(db)
            .args(["--export", format, "--output"])
            .arg(output),
        &format!("dialtone log --export {format}"),
    );
    std::fs::read_to_string(output).expect("read the export")
}

/// Runs `cmd` to its end and returns its output; panics, naming `what` and quoting its stderr,
/// unless it succeeded (a set-up step must not half-succeed).
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Everything a finished process printed, stdout then stderr, as one text (sipsak, for one,
/// splits its verdict between the two).
pub fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Sends `child` SIGTERM, the way a service manager or a session ends the agent, so a test
/// exercises its clean shutdown; the caller decides whether a child already gone matters.
pub fn sigterm(child: &Child) -> nix::Result<()> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
}

/// Waits up to `within` for `child` to exit and returns its status, or `None` when it is
/// still running then (the caller decides whether to kill it or fail).
pub fn exited_within(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`sigterm`], then [`exited_within`]; a child that is already gone is fine.
pub fn stop(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let _ = sigterm(child);
    exited_within(child, within)
}

/// Spawns `cmd` with its stderr discarded and its stdout's lines delivered as they arrive,
/// each stamped with its arrival, read on a thread of their own so that a test can wait for
/// the next one with a timeout.
pub fn spawn_with_lines(
    cmd: &mut Command,
) -> std::io::Result<(Child, Receiver<(Instant, String)>)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let stdout = child.stdout.take().expect("a piped stdout");
    Ok((child, line_reader(stdout)))
}

/// The fastest schedule the command line takes (a round a second, one recheck, one-second
/// timeouts): what the tests and benchmarks that watch a line run it with.
pub const FAST_ROUNDS: [&str; 6] = ["--interval", "1", "--recheck", "1", "--timeout", "1"];

/// The next line of a [`spawn_with_lines`] child as JSON (a `watch --json` change), within
/// `within` (times the test slack); panics naming the wait, or the line that is not JSON.
pub fn next_json(lines: &Receiver<(Instant, String)>, within: Duration) -> serde_json::Value {
    json_line(lines, slack(within), "a line")
}

fn json_line(
    lines: &Receiver<(Instant, String)>,
    within: Duration,
    what: &str,
) -> serde_json::Value {
    let (_, line) = lines
        .recv_timeout(within)
        .unwrap_or_else(|e| panic!("no {what} within {within:?} ({e})"));
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// Skips `watch --json` changes until one goes `to` the verdict, within `within` in all
/// (times the test slack).
pub fn change_to(
    lines: &Receiver<(Instant, String)>,
    to: &str,
    within: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + slack(within);
    let what = format!("change to {to}");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let change = json_line(lines, left, &what);
        if change["to"] == to {
            return change;
        }
    }
}

fn line_reader(stdout: impl Read + Send + 'static) -> Receiver<(Instant, String)> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Two internet anchors on loopback: listeners that accept for as long as they live, so the
/// internet layer sees the internet up without a packet leaving the machine.
pub fn loopback_anchors() -> Vec<TcpListener> {
    (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback anchor"))
        .collect()
}

/// `anchors` as the items of a TOML array (`"127.0.0.1:P1", "127.0.0.1:P2"`), for a config
/// file's `[network] anchors = […]`.
pub fn anchors_toml(anchors: &[TcpListener]) -> String {
    anchors
        .iter()
        .map(|a| format!("\"{}\"", a.local_addr().expect("a bound anchor's address")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A free loopback TCP port: bound, then released for the server the test starts next.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Points `cmd` (a `dialtone` run) at `anchors` with one `--anchor ADDR` each.
pub fn anchor_args(cmd: &mut Command, anchors: &[TcpListener]) {
    for a in anchors {
        let addr = a.local_addr().expect("a bound anchor's address");
        cmd.args(["--anchor", &addr.to_string()]);
    }
}

/// Prints the head of a Markdown table with `columns`: the header row and its rule, as the
/// benchmarks print their results.
pub fn table_head(columns: &[&str]) {
    println!("| {} |", columns.join(" | "));
    println!("|{}", "---|".repeat(columns.len()));
}
