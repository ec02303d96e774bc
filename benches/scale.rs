//! Scale: one process watching 200 SIP accounts (an office, a reseller's desk) through the
//! `dialtone` library: 200 [`LineProber`]s, each with its own `monitor::spawn`, in one tokio
//! runtime, against one local kamailio with 200 digest users, at a 10 s interval. Measures the
//! process's own CPU and RSS from /proc/self and checks every account's confirmed verdict:
//! half with a registered binding (healthy), the rest without (account problem: no phone
//! registered), a few of those with a wrong password (account problem: login rejected).
//!
//! Run: `cargo bench --bench scale [-- --quick]` (quick: 60 s measured instead of 300 s).
//! Prints Markdown; exits non-zero when any verdict is wrong.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone::monitor::{self, MonitorHandle, Schedule};
use dialtone::probe::line::{LineProber, LineSettings};
use dialtone::secret::Secret;
use dialtone_core::catalog::Catalog;
use dialtone_core::config::{AccountConfig, Config};
use dialtone_core::diagnosis::Thresholds;
use dialtone_core::observation::Transport;
use dialtone_core::verdict::{Layer, Verdict};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use support::kamailio::{Kamailio, KamailioOptions};
use tokio_util::sync::CancellationToken;

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

/// (utime + stime) ticks and VmRSS kB of this process.
fn self_sample() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    (ticks, rss)
}

/// The expected verdict of account `i` and the account fact that must explain it.
fn expected(i: usize) -> (Verdict, Option<&'static str>) {
    if i >= WRONG_FROM {
        (Verdict::AccountProblem, Some("login_rejected"))
    } else if i >= BOUND {
        (Verdict::AccountProblem, Some("no_binding"))
    } else {
        (Verdict::Healthy, None)
    }
}

/// Why account `i`'s confirmed state is wrong, if it is.
fn wrong(i: usize, handle: &MonitorHandle) -> Option<String> {
    let status = handle.status();
    let (verdict, fact) = expected(i);
    if status.verdict != verdict {
        return Some(format!(
            "{}: {:?} instead of {verdict:?} ({:?})",
            user(i),
            status.verdict,
            status.diagnosis.as_ref().map(|d| d.failing_layer)
        ));
    }
    let fact = fact?;
    let evidence = status
        .diagnosis
        .as_ref()
        .and_then(|d| d.layers.iter().find(|l| l.layer == Layer::Account))
        .map(|l| serde_json::to_string(&l.evidence).unwrap())
        .unwrap_or_default();
    (!evidence.contains(fact)).then(|| format!("{}: no {fact} in {evidence}", user(i)))
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
    let catalog = Catalog::builtin().unwrap();
    let schedule = Schedule {
        interval_secs: 10,
        ..Schedule::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let handles: Vec<MonitorHandle> = rt.block_on(async {
        (0..ACCOUNTS)
            .map(|i| {
                let mut network = Config::default().network;
                network.anchors = anchors.clone();
                network.gateway = "127.0.0.1".into();
                network.dns_name = "none".into();
                let config = Config {
                    account: Some(AccountConfig {
                        registrar: k.registrar_uri(Transport::Udp),
                        user: Some(user(i)),
                        ..AccountConfig::default()
                    }),
                    network,
                    ..Config::default()
                };
                let pw = if i >= WRONG_FROM {
                    "not-the-password".to_string()
                } else {
                    password(i)
                };
                let line = LineSettings::from_config(&config, Some(Secret::new(pw)), &catalog)
                    .expect("line settings");
                let prober = LineProber::new(line).expect("prober");
                let (handle, _task) = monitor::spawn(
                    prober,
                    schedule.clone(),
                    Thresholds::default(),
                    shutdown.clone(),
                );
                handle
            })
            .collect()
    });
    // Every account confirms its first verdict after two rounds (one re-check apart).
    let deadline = Instant::now() + Duration::from_secs(120);
    while handles
        .iter()
        .any(|h| h.status().verdict == Verdict::Unknown)
    {
        assert!(
            Instant::now() < deadline,
            "not every account confirmed a verdict within 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let confirmed_after = started.elapsed();
    let settle = Duration::from_secs(5);
    std::thread::sleep(settle);
    let (t0, _) = self_sample();
    let window = Instant::now();
    let mut max_rss = 0;
    while window.elapsed() < Duration::from_secs(measure_secs) {
        std::thread::sleep(Duration::from_millis(500));
        max_rss = max_rss.max(self_sample().1);
    }
    let (t1, rss_end) = self_sample();
    let wall = window.elapsed().as_secs_f64();
    let cpu_pct = (t1 - t0) as f64 / TICKS / wall * 100.0;
    let errors: Vec<String> = handles
        .iter()
        .enumerate()
        .filter_map(|(i, h)| wrong(i, h))
        .collect();
    let count = |v: Verdict| handles.iter().filter(|h| h.status().verdict == v).count();
    shutdown.cancel();
    drop(rt);

    println!("### Scale: 200 accounts in one process\n");
    println!(
        "One process, one tokio runtime (2 worker threads), {ACCOUNTS} `LineProber`s each with \
         its own `monitor::spawn` at a 10 s interval, against one local kamailio with \
         {ACCOUNTS} digest users: accounts 0–{} registered by sipsak (expected healthy), \
         {BOUND}–{} without a binding (account problem, no binding), {WRONG_FROM}–{} with a \
         wrong password (account problem, login rejected). CPU and RSS are the process's own \
         (`/proc/self`), measured over **{measure_secs} s** ({}) after every account confirmed \
         its first verdict; the REGISTER query runs once per account at start (its 15-minute \
         interval does not come round in the window), OPTIONS, gateway and anchors every 10 s.\n",
        BOUND - 1,
        WRONG_FROM - 1,
        ACCOUNTS - 1,
        if quick {
            "quick mode; the full run is 300 s"
        } else {
            "full run"
        }
    );
    println!("| figure | value |");
    println!("|---|---|");
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
    println!(
        "| verdicts: healthy / account_problem / other | {} / {} / {} |",
        count(Verdict::Healthy),
        count(Verdict::AccountProblem),
        ACCOUNTS - count(Verdict::Healthy) - count(Verdict::AccountProblem)
    );
    println!(
        "| every account's verdict right | {} |",
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
