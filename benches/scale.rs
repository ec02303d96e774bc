//! Scale: one `dialtone watch` process watching 200 SIP accounts (an office, a reseller's
//! desk) from one config file with 200 `[[line]]` tables, the way an admin runs it, against one
//! local kamailio with 200 digest users, at a 10 s interval, with the Prometheus exporter on.
//! Measures the process's CPU and RSS from /proc/PID and checks every account's confirmed
//! verdict twice: from the watch's JSON changes and from a scrape of its metrics. Half the
//! accounts have a registered binding (healthy), the rest none (account problem: no phone
//! registered), a few of those a wrong password (account problem: login rejected).
//!
//! Run: `cargo bench --bench scale [-- --quick]` (quick: 60 s measured instead of 300 s).
//! Prints Markdown; exits non-zero when any verdict is wrong.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone_core::observation::Transport;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::kamailio::{Kamailio, KamailioOptions};

const ACCOUNTS: usize = 200;
/// Accounts 0..BOUND get a real binding (sipsak); the rest have none.
const BOUND: usize = 100;
/// Accounts WRONG_FROM.. use a wrong password.
const WRONG_FROM: usize = 190;
const TICKS: f64 = 100.0;

fn user(i: usize) -> String {
    format!("u{i:03}")
}

fn password(i: usize) -> String {
    format!("pw-{i:03}-x")
}

/// (utime + stime) ticks and VmRSS kB of process `pid`.
fn sample(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    (ticks, rss)
}

/// The expected verdict of account `i` and the account fact that must explain it.
fn expected(i: usize) -> (&'static str, Option<&'static str>) {
    if i >= WRONG_FROM {
        ("account_problem", Some("login_rejected"))
    } else if i >= BOUND {
        ("account_problem", Some("no_binding"))
    } else {
        ("healthy", None)
    }
}

/// The config an admin would write: the shared network once, one `[[line]]` per account.
fn config(k: &Kamailio, anchors: &[String]) -> String {
    let anchors = anchors
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "[network]\nanchors = [{anchors}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\n\
         [schedule]\ninterval_secs = 10\n\n[router]\nurl = \"off\"\n"
    );
    for i in 0..ACCOUNTS {
        text += &format!(
            "\n[[line]]\nlabel = \"{u}\"\n[line.account]\nregistrar = \"{}\"\nuser = \"{u}\"\n\
             password_env = \"DT_PW_{u}\"\n",
            k.registrar_uri(Transport::Udp),
            u = user(i)
        );
    }
    text
}

fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

/// Why account `i`'s state is wrong, if it is: its last confirmed change on the watch's
/// output, and its verdict series in the scrape.
fn wrong(i: usize, last: &HashMap<String, Value>, metrics: &str) -> Option<String> {
    let (verdict, fact) = expected(i);
    let u = user(i);
    let Some(change) = last.get(&u) else {
        return Some(format!("{u}: no confirmed verdict"));
    };
    if change["to"] != verdict {
        return Some(format!(
            "{u}: {} instead of {verdict} ({})",
            change["to"], change["failing_layer"]
        ));
    }
    let series = format!("dialtone_line_verdict{{line=\"{u}\",verdict=\"{verdict}\"}} 1");
    if !metrics.contains(&series) {
        return Some(format!("{u}: the metrics lack {series}"));
    }
    let fact = fact?;
    let evidence = change["layers"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["layer"] == "account"))
        .map(|l| l["facts"].to_string())
        .unwrap_or_default();
    (!evidence.contains(fact)).then(|| format!("{u}: no {fact} in {evidence}"))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let measure_secs = if quick { 60 } else { 300 };
    let users = (0..ACCOUNTS).map(|i| (user(i), password(i))).collect();
    let k = Kamailio::start(KamailioOptions {
        users,
        ..KamailioOptions::default()
    });
    for i in 0..BOUND {
        k.register_contact(&user(i), &password(i), 3600);
    }
    // Anchors that accept (and drop) connections, so 400 connects every 10 s never fill the
    // accept queue.
    let anchors: Vec<String> = (0..2)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap().to_string();
            std::thread::spawn(move || {
                for conn in l.incoming() {
                    drop(conn);
                }
            });
            addr
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config(&k, &anchors)).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(support::dialtone_bin());
    cmd.args([
        "watch",
        "--json",
        "--no-history",
        "--lang",
        "en",
        "--config",
    ])
    .arg(&path)
    .args(["--metrics", &port.to_string()])
    .env("HOME", dir.path())
    .env("XDG_STATE_HOME", dir.path().join("state"))
    .env("XDG_RUNTIME_DIR", dir.path())
    .env_remove("DBUS_SESSION_BUS_ADDRESS")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    for i in 0..ACCOUNTS {
        let pw = if i >= WRONG_FROM {
            "not-the-password".to_string()
        } else {
            password(i)
        };
        cmd.env(format!("DT_PW_{}", user(i)), pw);
    }
    let started = Instant::now();
    let mut watch = cmd.spawn().unwrap();
    let pid = watch.id();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let mut last: HashMap<String, Value> = HashMap::new();
    let drain = |last: &mut HashMap<String, Value>, wait: Duration| {
        if let Ok(change) = rx.recv_timeout(wait) {
            let line = change["line"].as_str().unwrap_or_default().to_string();
            last.insert(line, change);
        }
    };
    // Every account confirms its first verdict after two rounds (one re-check apart).
    let deadline = Instant::now() + Duration::from_secs(120);
    while last.len() < ACCOUNTS {
        assert!(
            Instant::now() < deadline,
            "only {} of {ACCOUNTS} accounts confirmed a verdict within 120 s",
            last.len()
        );
        drain(&mut last, Duration::from_millis(200));
    }
    let confirmed_after = started.elapsed();
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(5) {
        drain(&mut last, Duration::from_millis(100));
    }
    let (t0, _) = sample(pid);
    let window = Instant::now();
    let mut max_rss = 0;
    let mut scrapes = 0;
    let mut last_scrape = Instant::now();
    while window.elapsed() < Duration::from_secs(measure_secs) {
        drain(&mut last, Duration::from_millis(500));
        max_rss = max_rss.max(sample(pid).1);
        // A Prometheus server's cadence.
        if last_scrape.elapsed() >= Duration::from_secs(15) {
            scrape(port);
            scrapes += 1;
            last_scrape = Instant::now();
        }
    }
    let (t1, rss_end) = sample(pid);
    let wall = window.elapsed().as_secs_f64();
    let cpu_pct = (t1 - t0) as f64 / TICKS / wall * 100.0;
    let metrics = scrape(port);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = watch.wait();
    let errors: Vec<String> = (0..ACCOUNTS)
        .filter_map(|i| wrong(i, &last, &metrics))
        .collect();
    let count = |v: &str| last.values().filter(|c| c["to"] == v).count();

    println!("### Scale: 200 accounts in one process\n");
    println!(
        "One `dialtone watch --metrics` process (its one-thread runtime) on a config with \
         {ACCOUNTS} `[[line]]` tables at a 10 s interval, against one local kamailio with \
         {ACCOUNTS} digest users: accounts 0–{} registered by sipsak (expected healthy), \
         {BOUND}–{} without a binding (account problem, no binding), {WRONG_FROM}–{} with a \
         wrong password (account problem, login rejected, then suspended). CPU and RSS are the \
         process's (`/proc/PID`), measured over **{measure_secs} s** ({}) after every account \
         confirmed its first verdict, with the exporter scraped every 15 s ({scrapes} scrapes); \
         the REGISTER query runs once per account at start (its 15-minute interval does not \
         come round in the window), OPTIONS, gateway and anchors every 10 s. Each verdict is \
         checked on the watch's JSON output and in the last scrape.\n",
        BOUND - 1,
        WRONG_FROM - 1,
        ACCOUNTS - 1,
        if quick {
            "quick mode; the full run is 300 s"
        } else {
            "full run"
        }
    );
    support::table_head(&["figure", "value"]);
    println!(
        "| all {ACCOUNTS} first verdicts confirmed after | {:.1} s |",
        confirmed_after.as_secs_f64()
    );
    println!("| CPU over {wall:.0} s | {cpu_pct:.2} % of one core |");
    println!(
        "| RSS end / max | {:.1} MB / {:.1} MB |",
        rss_end as f64 / 1024.0,
        max_rss as f64 / 1024.0
    );
    println!("| scrape size | {:.0} kB |", metrics.len() as f64 / 1024.0);
    println!(
        "| verdicts: healthy / account_problem / other | {} / {} / {} |",
        count("healthy"),
        count("account_problem"),
        ACCOUNTS - count("healthy") - count("account_problem")
    );
    println!(
        "| every account's verdict right (JSON and metrics) | {} |",
        if errors.is_empty() {
            "yes".to_string()
        } else {
            format!("**no**: {} wrong", errors.len())
        }
    );
    println!();
    for e in &errors {
        println!("- wrong: {e}");
    }
    if !errors.is_empty() {
        std::process::exit(1);
    }
}
