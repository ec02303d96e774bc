//! Alert benchmarks (issue 19) against real parts: from a confirmed outage (kamailio stopped)
//! to the alert accepted by a reachable target — a webhook receiver and a real SMTP server
//! (aiosmtpd), both on loopback — over 20 outages; and the idle memory of `dialtone watch` with
//! alert targets configured, side by side with none. Prints Markdown; `scripts/bench` runs it
//! as the `alerts` section.
//!
//! Run: `cargo bench --bench alerts [-- --quick]` (`--quick`: 60 s of idle instead of 600).
//! The binary measured is the build's own `dialtone` (release under `cargo bench`).
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use dialtone_core::observation::Transport;
use dialtone_testkit as support;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime};
use support::kamailio::{Kamailio, KamailioOptions};
use support::smtp::Smtpd;
use support::webhook::{ok, Recorder};

/// Outages measured.
const TRIALS: usize = 20;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    assert!(
        support::smtp::available(),
        "needs Debian's python3-aiosmtpd"
    );
    println!("### Alerts\n");
    let bin = support::dialtone_bin();
    println!(
        "Binary: `{}`. Targets on loopback, so the figures are dialtone's own share: the watch \
         checks every 1 s while a change is being confirmed (2 confirmations, 1 s timeout).\n",
        bin.display()
    );
    latency();
    footprint(if quick { 60 } else { 600 }, quick);
}

/// Writes `dir/config.toml` for `registrar` with `alerts` appended.
fn config(dir: &Path, registrar: &str, anchors: &[std::net::TcpListener], alerts: &str) {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[account]\nregistrar = \"{registrar}\"\n[network]\nanchors = [{}]\n\
             gateway = \"127.0.0.1\"\ndns_name = \"none\"\n[thresholds]\nexpect_binding = false\n{alerts}",
            support::anchors_toml(anchors)
        ),
    )
    .unwrap();
    restrict(&dir.join("config.toml"));
}

/// 0600, as a config holding alert secrets must be.
fn restrict(path: &Path) {
    let status = Command::new("chmod").arg("600").arg(path).status().unwrap();
    assert!(status.success());
}

fn watch(dir: &Path, args: &[&str]) -> Command {
    face(dir, "watch", args)
}

/// `dialtone watch` or `dialtone agent` on the config in `dir`, with its state there and no
/// session bus (the agent then has no tray and no notifications: what is measured is the
/// engine and the alerts, side by side with `watch`; the Desktop section measures the tray).
fn face(dir: &Path, face: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(support::dialtone_bin());
    cmd.arg(face)
        .args(args)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--db")
        .arg(dir.join("history.sqlite3"))
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_STATE_HOME", dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd
}

fn next_change(rx: &Receiver<(Instant, String)>, to: &str) -> Value {
    support::change_to(rx, to, Duration::from_secs(30))
}

fn millis_after(at: SystemTime, since: DateTime<Utc>) -> f64 {
    let at: DateTime<Utc> = at.into();
    (at - since).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

/// Median, p95 (nearest rank) and max of `ms`.
fn stats(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    (rank(0.5), rank(0.95), ms[ms.len() - 1])
}

fn latency() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Kamailio::start(KamailioOptions::default());
    let hook = Recorder::start(ok);
    let smtp = Smtpd::start(dir.path(), None);
    let anchors = support::loopback_anchors();
    // Outages only, and no hourly limit in the way of twenty of them.
    let alerts = format!(
        "[[alert]]\nurl = \"http://127.0.0.1:{}/hook\"\nevents = [\"outage\"]\nper_hour = 1000\n\
         [[alert]]\nurl = \"mailto:line@example.org\"\nevents = [\"outage\"]\nper_hour = 1000\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"dialtone@example.org\"\n",
        hook.port, smtp.port
    );
    config(
        dir.path(),
        &k.registrar_uri(Transport::Udp),
        &anchors,
        &alerts,
    );
    let (mut child, rx) =
        support::spawn_with_lines(watch(dir.path(), &["--json"]).args(support::FAST_ROUNDS))
            .unwrap();
    next_change(&rx, "healthy");
    let (mut webhook, mut mail) = (Vec::new(), Vec::new());
    for i in 0..TRIALS {
        k.stop();
        let outage = next_change(&rx, "provider_outage");
        let at: DateTime<Utc> = outage["at"].as_str().unwrap().parse().unwrap();
        let got = hook.wait_for(i + 1, Duration::from_secs(20));
        webhook.push(millis_after(got[i].at, at));
        let mails = smtp.wait_for(i + 1, Duration::from_secs(20));
        mail.push(millis_after(mails[i].at, at));
        k.start_again();
        next_change(&rx, "healthy");
    }
    let _ = support::stop(&mut child, Duration::from_secs(5));
    support::table_head(&[
        "target (loopback)",
        "outages",
        "median",
        "p95",
        "max",
        "target",
        "met",
    ]);
    for (what, ms) in [
        ("webhook (HTTP POST, JSON)", webhook),
        ("e-mail (SMTP, aiosmtpd)", mail),
    ] {
        let n = ms.len();
        let (median, p95, max) = stats(ms);
        println!(
            "| {what} | {n} | {median:.0} ms | {p95:.0} ms | {max:.0} ms | ≤ 2 s median | {} |",
            if median <= 2000.0 { "yes" } else { "**no**" }
        );
    }
    println!(
        "\nFrom the outage's confirmation (`at` of the change `watch --json` prints) to the \
         target's receipt (the webhook's request complete; the Maildir file aiosmtpd wrote).\n"
    );
}

/// VmRSS of `pid` in KiB.
fn rss(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// One idle `watch` or `agent` (`which`) for `secs`; (RSS at the end, max), in MB.
fn idle(which: &str, secs: u64, alerts: &str, smtp_port: u16, k: &Kamailio) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let anchors = support::loopback_anchors();
    let alerts = alerts.replace("SMTP_PORT", &smtp_port.to_string());
    config(
        dir.path(),
        &k.registrar_uri(Transport::Udp),
        &anchors,
        &alerts,
    );
    let mut child: Child = face(dir.path(), which, &[])
        // The agent's own endpoint in the scratch dir, and no dashboard to start.
        .env("DIALTONE_SOCKET", dir.path().join("agent.sock"))
        .env("DIALTONE_DASHBOARD", "/bin/true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let started = Instant::now();
    let mut max = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(500));
        max = max.max(rss(child.id()).unwrap_or(0));
    }
    let end = rss(child.id()).unwrap_or(0);
    let _ = support::stop(&mut child, Duration::from_secs(5));
    (end as f64 / 1024.0, max as f64 / 1024.0)
}

fn footprint(secs: u64, quick: bool) {
    let k = Kamailio::start(KamailioOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtpd::start(dir.path(), None);
    let hook = Recorder::start(ok);
    let targets = format!(
        "[[alert]]\nurl = \"http://127.0.0.1:{}/hook\"\n[[alert]]\nurl = \"ntfy://127.0.0.1:{}/topic\"\n\
         [[alert]]\nurl = \"mailto:line@example.org\"\n[[alert]]\nurl = \"apprise:json://127.0.0.1:{}/a\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = SMTP_PORT\nsecurity = \"none\"\nfrom = \"dialtone@example.org\"\n",
        hook.port, hook.port, hook.port
    );
    let rows = std::thread::scope(|scope| {
        let runs: Vec<_> = ["watch", "agent"]
            .into_iter()
            .map(|which| {
                let (k, targets, port) = (&k, &targets, smtp.port);
                (
                    which,
                    scope.spawn(move || idle(which, secs, "", port, k)),
                    scope.spawn(move || idle(which, secs, targets, port, k)),
                )
            })
            .collect();
        runs.into_iter()
            .map(|(which, none, with)| (which, none.join().unwrap(), with.join().unwrap()))
            .collect::<Vec<_>>()
    });
    println!(
        "Idle `dialtone watch` and `dialtone agent` (default settings, healthy line; the agent \
         without a session bus, so without tray and notifications: the Desktop section measures \
         those) over **{secs} s**{}, `VmRSS` every 0.5 s after 8 s of settling; all four at the \
         same time.\n",
        if quick {
            " (quick mode; the full run is 600 s)"
        } else {
            ""
        }
    );
    support::table_head(&["process", "alert targets", "RSS end", "RSS max"]);
    for (which, none, with) in rows {
        println!(
            "| `dialtone {which}` | none | {:.1} MB | {:.1} MB |",
            none.0, none.1
        );
        println!(
            "| `dialtone {which}` | 4 (webhook, ntfy, e-mail, Apprise) | {:.1} MB | {:.1} MB |",
            with.0, with.1
        );
    }
    println!();
}
