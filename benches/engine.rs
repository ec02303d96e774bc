//! Engine figures against a real kamailio on loopback: `dialtone check` wall time (median and
//! max of N runs) and the idle cost of `dialtone watch` (CPU % and RSS sampled from /proc).
//!
//! Run: `cargo bench --bench engine` (env `DIALTONE_BENCH_CHECKS`, default 10;
//! `DIALTONE_BENCH_WATCH_SECS`, default 60). Prints a Markdown table.
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use dialtone::observation::Transport;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::kamailio::{Kamailio, KamailioOptions};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clock ticks per second for /proc/<pid>/stat times (100 on every Linux we run on).
const TICKS: f64 = 100.0;

/// (utime + stime) in ticks and VmRSS in kB of a process.
fn sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks, rss))
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. a filter) is ignored.
    let checks = env_number("DIALTONE_BENCH_CHECKS", 10).max(1);
    let watch_secs = env_number("DIALTONE_BENCH_WATCH_SECS", 60).max(5);
    let k = Kamailio::start(KamailioOptions {
        users: vec![("alice".into(), "bench-pw".into())],
        ..KamailioOptions::default()
    });
    k.register_contact("alice", "bench-pw", 3600);
    let anchors: Vec<TcpListener> = (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let base = |sub: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
        cmd.arg(sub)
            .arg("--config")
            .arg(dir.path().join("none.toml"))
            .args(["--registrar", &k.registrar_uri(Transport::Udp)])
            .args(["--user", "alice", "--password-env", "DIALTONE_BENCH_PW"])
            .args(["--gateway", "127.0.0.1", "--dns-name", "none"])
            .env("DIALTONE_BENCH_PW", "bench-pw")
            .env("XDG_CONFIG_HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for a in &anchors {
            cmd.args(["--anchor", &a.local_addr().unwrap().to_string()]);
        }
        cmd
    };

    let mut times = Vec::new();
    for _ in 0..checks {
        let started = Instant::now();
        let status = base("check").status().unwrap();
        times.push(started.elapsed());
        assert_eq!(
            status.code(),
            Some(0),
            "check against local kamailio must be healthy"
        );
    }
    times.sort();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];

    let mut watch = base("watch").spawn().unwrap();
    let pid = watch.id();
    // Let it start, take its first verdict and settle into the 30 s cadence.
    std::thread::sleep(Duration::from_secs(3));
    let (t0, _) = sample(pid).unwrap();
    let started = Instant::now();
    let mut max_rss = 0;
    while started.elapsed() < Duration::from_secs(watch_secs) {
        std::thread::sleep(Duration::from_millis(500));
        if let Some((_, rss)) = sample(pid) {
            max_rss = max_rss.max(rss);
        }
    }
    let (t1, rss_end) = sample(pid).unwrap();
    let wall = started.elapsed().as_secs_f64();
    let cpu_pct = (t1 - t0) as f64 / TICKS / wall * 100.0;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = watch.wait();

    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| `dialtone check` wall time, median of {checks} (UDP, REGISTER query, 2 anchors) | {:.1} ms |",
        median.as_secs_f64() * 1000.0
    );
    println!(
        "| `dialtone check` wall time, max | {:.1} ms |",
        max.as_secs_f64() * 1000.0
    );
    println!("| `dialtone watch` idle CPU over {wall:.0} s | {cpu_pct:.3} % |");
    println!(
        "| `dialtone watch` RSS, end / max | {:.1} MB / {:.1} MB |",
        rss_end as f64 / 1024.0,
        max_rss as f64 / 1024.0
    );
}
