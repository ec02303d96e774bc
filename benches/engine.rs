//! Engine benchmarks against real parts: detection latency (namespace lab, default and fast
//! settings), false alarms under random loss, the cost of one probe round next to sipsak's
//! single OPTIONS, and the idle footprint of `dialtone watch`. Each section prints Markdown;
//! `scripts/bench` runs them all and writes `docs/benchmarks.md`.
//!
//! Run one: `cargo bench --bench engine -- SECTION [--quick]`, SECTION one of `detection`,
//! `false-alarms`, `probe-cost`, `footprint` (or `all`). `--quick` shortens the soaks
//! (what was run is printed with the figures). Needs root for the namespace lab.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone_core::observation::Transport;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use support::kamailio::Kamailio;
use support::lab::{Lab, LabOptions};

/// Clock ticks per second for /proc times (USER_HZ, 100 on every Linux we run on).
const TICKS: f64 = 100.0;

/// Outage verdicts: a change to one of these is an alarm the user sees.
const ALARMS: [&str; 4] = [
    "local_problem",
    "internet_down",
    "provider_outage",
    "account_problem",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; the first other word is the section.
    let section = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(String::as_str)
        .unwrap_or("all");
    let all = section == "all";
    if all || section == "detection" {
        detection();
    }
    if all || section == "false-alarms" {
        false_alarms(quick);
    }
    if all || section == "probe-cost" {
        probe_cost();
    }
    if all || section == "footprint" {
        footprint(quick);
    }
}

/// A small xorshift generator: uniform fault times need no statistical-grade randomness, and
/// the seed is printed so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn seeded() -> (Rng, u64) {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
        (Rng(seed), seed)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How the provider fails in a detection trial.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// SIGKILL: the port is closed at once, so the probe is refused (ICMP) immediately.
    Kill,
    /// nftables drop of the SIP port: the probe waits for its whole timeout.
    Drop,
}

/// One trial: a fresh lab, `watch` with `args`, a fault `delay` after its first healthy line;
/// returns the time from the fault to the confirmed provider outage, or why not.
fn trial(args: &[String], failure: Failure, delay: Duration) -> Result<Duration, String> {
    let mut lab = Lab::start(LabOptions::default());
    let mut watch_args: Vec<&str> = args.iter().map(String::as_str).collect();
    watch_args.push("--no-history");
    let mut w = lab.watch(&watch_args);
    let (_, first) = w
        .next(Duration::from_secs(60))
        .ok_or("no first verdict within 60 s")?;
    if first["to"] != "healthy" {
        return Err(format!("first verdict {} (not healthy)", first["to"]));
    }
    std::thread::sleep(delay);
    let failed = Instant::now();
    match failure {
        Failure::Kill => lab.kamailio.kill(),
        Failure::Drop => {
            let rules = format!(
                "table inet dtbench {{\n chain i {{ type filter hook input priority 0; udp dport {} drop; }}\n}}\n",
                lab.kamailio.udp_port()
            );
            lab.nft(lab.provider(), &rules);
        }
    }
    let (at, change) = w
        .next(Duration::from_secs(120))
        .ok_or("no confirmed change within 120 s of the fault")?;
    if change["to"] != "provider_outage" || change["failing_layer"] != "provider" {
        return Err(format!(
            "confirmed {} (layer {}) instead of provider_outage",
            change["to"], change["failing_layer"]
        ));
    }
    Ok(at - failed)
}

/// Runs `trials` trials, `parallel` at a time, each fault uniformly random within `spread`.
fn trials(
    args: &[String],
    failure: Failure,
    count: usize,
    parallel: usize,
    spread: f64,
    rng: &mut Rng,
) -> (Vec<Duration>, Vec<String>) {
    let mut times = Vec::new();
    let mut errors = Vec::new();
    let delays: Vec<Duration> = (0..count)
        .map(|_| Duration::from_secs_f64(rng.next_f64() * spread))
        .collect();
    for batch in delays.chunks(parallel) {
        let handles: Vec<_> = batch
            .iter()
            .map(|d| {
                let (args, d) = (args.to_vec(), *d);
                std::thread::spawn(move || trial(&args, failure, d))
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(Ok(t)) => times.push(t),
                Ok(Err(e)) => errors.push(e),
                Err(_) => errors.push("trial panicked".into()),
            }
        }
    }
    times.sort();
    (times, errors)
}

/// The q-quantile (nearest rank) of sorted `v`.
fn quantile(v: &[Duration], q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn detection() {
    let (mut rng, seed) = Rng::seeded();
    // 20 trials even in quick mode: the trials run in parallel, so fewer would save little.
    let count = 20;
    println!("### Detection latency\n");
    println!(
        "From the moment the provider fails (in the namespace lab: kamailio SIGKILLed, or an \
         nftables drop of its SIP port) to the confirmed `provider_outage` line of `dialtone \
         watch --json`; the fault lands uniformly at random within the healthy interval after \
         the first healthy line. {count} trials per row, run 10 at a time, each with its own \
         lab and kamailio. Nearest-rank quantiles. Seed {seed}.\n"
    );
    support::table_head(&[
        "settings", "failure", "trials", "median", "p95", "max", "target", "met",
    ]);
    let default: Vec<String> = Vec::new();
    let fast: Vec<String> = ["--interval", "5", "--recheck", "2", "--timeout", "2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows: [(&str, &[String], f64, Failure, f64); 4] = [
        (
            "default (30 s / 5 s / 5 s timeout)",
            &default,
            30.0,
            Failure::Kill,
            45.0,
        ),
        (
            "default (30 s / 5 s / 5 s timeout)",
            &default,
            30.0,
            Failure::Drop,
            45.0,
        ),
        (
            "fast `--interval 5 --recheck 2 --timeout 2`",
            &fast,
            5.0,
            Failure::Kill,
            10.0,
        ),
        (
            "fast `--interval 5 --recheck 2 --timeout 2`",
            &fast,
            5.0,
            Failure::Drop,
            10.0,
        ),
    ];
    let mut notes = Vec::new();
    for (name, args, spread, failure, target) in rows {
        let (times, errors) = trials(args, failure, count, 10, spread, &mut rng);
        let p95 = quantile(&times, 0.95);
        println!(
            "| {name} | {failure:?} | {} | {:.1} s | {:.1} s | {:.1} s | p95 ≤ {target:.0} s | {} |",
            times.len(),
            quantile(&times, 0.5).as_secs_f64(),
            p95.as_secs_f64(),
            times.last().copied().unwrap_or_default().as_secs_f64(),
            if errors.is_empty() && p95.as_secs_f64() <= target {
                "yes"
            } else {
                "**no**"
            }
        );
        for e in errors {
            notes.push(format!("- {name}, {failure:?}: trial failed: {e}"));
        }
    }
    println!();
    for n in notes {
        println!("{n}");
    }
    println!();
}

fn false_alarms(quick: bool) {
    let secs: u64 = if quick { 600 } else { 1800 };
    let lines = 4;
    let handles: Vec<_> = (0..lines)
        .map(|_| {
            std::thread::spawn(move || {
                let lab = Lab::start(LabOptions::default());
                let mut w = lab.watch(&["--no-history"]);
                w.wait_for("healthy", Duration::from_secs(60));
                lab.set_loss(20);
                w.collect_until(Instant::now() + Duration::from_secs(secs));
                let changes: Vec<serde_json::Value> =
                    w.seen.iter().skip(1).map(|(_, j)| j.clone()).collect();
                changes
            })
        })
        .collect();
    let mut alarms = Vec::new();
    let mut degraded = 0;
    let mut changes = 0;
    for h in handles {
        let seen = h.join().unwrap_or_default();
        changes += seen.len();
        degraded += seen.iter().filter(|j| j["to"] == "degraded").count();
        alarms.extend(
            seen.into_iter()
                .filter(|j| ALARMS.contains(&j["to"].as_str().unwrap_or_default())),
        );
    }
    println!("### False alarms under 20 % random loss\n");
    println!(
        "{lines} lines watched in parallel, each in its own namespace lab, at default settings \
         (30 s interval, 5 s re-check, 5 s timeout, 2 confirmations) for **{secs} s** \
         ({}) of 20 % random loss in each direction on the provider's link (nftables \
         `numgen random mod 100 < 20 drop` where the `internet` namespace forwards to and from \
         the provider, `Lab::set_loss`), i.e. about {} probe rounds per line.\n",
        if quick {
            "quick mode: 10 minutes; the full run is 1800 s"
        } else {
            "the full 30 minutes"
        },
        secs / 30
    );
    support::table_head(&["figure", "value", "target"]);
    println!(
        "| outage alarms (changes to an outage verdict), all lines | {} | 0 |",
        alarms.len()
    );
    println!("| changes to degraded | {degraded} | (allowed) |");
    println!("| all confirmed changes | {changes} | |");
    println!();
    for a in &alarms {
        println!(
            "- alarm: {} → {} (layer {}): {}",
            a["from"], a["to"], a["failing_layer"], a["reason"]
        );
    }
    println!();
}

/// Children's user+sys CPU so far, in seconds (cutime + cstime of waited-for children).
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14).
    let ticks: u64 = f[13].parse::<u64>().unwrap() + f[14].parse::<u64>().unwrap();
    ticks as f64 / TICKS
}

/// Runs `make()` `n` times in a row; (median wall time, mean CPU per run).
fn measure(n: usize, mut make: impl FnMut() -> Command, expect: i32) -> (Duration, f64) {
    let cpu0 = children_cpu();
    let mut walls = Vec::new();
    for _ in 0..n {
        let started = Instant::now();
        let status = make()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        walls.push(started.elapsed());
        assert_eq!(status.code(), Some(expect), "unexpected exit status");
    }
    walls.sort();
    (walls[n / 2], (children_cpu() - cpu0) / n as f64)
}

/// A loopback kamailio with `alice` registered, two anchors, and a `dialtone SUB` command.
struct Loopback {
    k: Kamailio,
    anchors: Vec<TcpListener>,
    dir: tempfile::TempDir,
}

impl Loopback {
    fn start() -> Loopback {
        let k = Kamailio::with_user("alice", "bench-pw");
        k.register_contact("alice", "bench-pw", 3600);
        Loopback {
            k,
            anchors: support::loopback_anchors(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn dialtone(&self, sub: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
        cmd.arg(sub)
            .arg("--config")
            .arg(self.dir.path().join("none.toml"))
            .args(["--registrar", &self.k.registrar_uri(Transport::Udp)])
            .args(["--user", "alice", "--password-env", "DIALTONE_BENCH_PW"])
            .args(["--gateway", "127.0.0.1", "--dns-name", "none"])
            .env("DIALTONE_BENCH_PW", "bench-pw")
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path())
            .env("HOME", self.dir.path());
        support::anchor_args(&mut cmd, &self.anchors);
        cmd
    }
}

fn probe_cost() {
    let lb = Loopback::start();
    let checks = 20;
    let options = 200;
    let (d_wall, d_cpu) = measure(checks, || lb.dialtone("check"), 0);
    let target = format!("sip:alice@127.0.0.1:{}", lb.k.udp_port());
    let (s_wall, s_cpu) = measure(
        options,
        || {
            let mut c = Command::new("sipsak");
            c.args(["-s", &target]);
            c
        },
        0,
    );
    println!("### Probe cost\n");
    println!(
        "One full `dialtone check` (process start, device/gateway/2 anchors, SIP OPTIONS, \
         authenticated REGISTER query over UDP) against a local kamailio, next to `sipsak -s \
         {target}` sending one OPTIONS to the same kamailio, in the same run. Wall time is the \
         median; CPU is user+sys of the child processes from `/proc/self/stat` (cutime + \
         cstime, 10 ms ticks), averaged over {checks} checks and {options} sipsak runs so the \
         tick resolution does not dominate.\n"
    );
    support::table_head(&[
        "probe",
        "runs",
        "wall (median)",
        "CPU per run",
        "ratio to sipsak (wall / CPU)",
    ]);
    println!(
        "| `dialtone check` | {checks} | {:.1} ms | {:.1} ms | {:.1}× / {:.1}× |",
        d_wall.as_secs_f64() * 1e3,
        d_cpu * 1e3,
        d_wall.as_secs_f64() / s_wall.as_secs_f64(),
        d_cpu / s_cpu.max(1e-6)
    );
    println!(
        "| `sipsak -s` (one OPTIONS) | {options} | {:.1} ms | {:.2} ms | 1× |",
        s_wall.as_secs_f64() * 1e3,
        s_cpu * 1e3
    );
    println!();
}

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

/// One footprint row: `dialtone watch` at default settings, idle (healthy line) for `secs`;
/// with `metrics`, serving the exporter and scraped every 15 s as a Prometheus server would.
fn footprint_watch(secs: u64, metrics: bool) -> String {
    let lb = Loopback::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = lb.dialtone("watch");
    cmd.arg("--no-history");
    if metrics {
        cmd.args(["--metrics", &port.to_string()]);
    }
    let mut watch = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = watch.id();
    // Let it start, confirm its first verdict and settle into the 30 s cadence.
    std::thread::sleep(Duration::from_secs(8));
    let scrape = || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::io::Write::write_all(&mut stream, b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut stream, &mut body).unwrap();
        assert!(body.contains("dialtone_line_verdict"), "{body}");
    };
    let (t0, _) = sample(pid).unwrap();
    let started = Instant::now();
    let mut max_rss = 0;
    let mut last_scrape: Option<Instant> = None;
    let mut scrapes = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(500));
        if metrics && last_scrape.is_none_or(|t| t.elapsed() >= Duration::from_secs(15)) {
            scrape();
            scrapes += 1;
            last_scrape = Some(Instant::now());
        }
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
    let met = cpu_pct <= 0.05 && max_rss as f64 / 1024.0 <= 10.0;
    let what = if metrics {
        format!("`dialtone watch --metrics`, scraped every 15 s ({scrapes} scrapes)")
    } else {
        "`dialtone watch` (default settings, healthy line, metrics off)".to_string()
    };
    format!(
        "| {what} | {wall:.0} s | {cpu_pct:.3} % | \
         {:.1} MB / {:.1} MB | ≤ 0.05 %, ≤ 10 MB | {} |",
        rss_end as f64 / 1024.0,
        max_rss as f64 / 1024.0,
        if met { "yes" } else { "**no**" }
    )
}

fn footprint(quick: bool) {
    let secs = if quick { 60 } else { 600 };
    println!("### Footprint\n");
    println!(
        "Idle cost over **{secs} s** ({}), sampled from `/proc/PID/stat` (utime+stime) and \
         `VmRSS` every 0.5 s, after an 8 s settling period.\n",
        if quick {
            "quick mode; the full run is 600 s"
        } else {
            "the full 10 minutes"
        }
    );
    support::table_head(&[
        "process",
        "measured over",
        "CPU",
        "RSS end / max",
        "target",
        "met",
    ]);
    // Side by side, at the same time: the exporter's cost is the difference of the rows.
    let (off, on) = std::thread::scope(|scope| {
        let off = scope.spawn(|| footprint_watch(secs, false));
        let on = scope.spawn(|| footprint_watch(secs, true));
        (off.join().unwrap(), on.join().unwrap())
    });
    println!("{off}");
    println!("{on}");
    // The tray agent and the dashboard need a private desktop; they are measured in their
    // own section (`benches/desktop.rs`), pointed to here so the table stays complete.
    println!(
        "| tray agent (dashboard never opened) | see *Desktop: tray agent and dashboard* | | | ≤ 0.1 %, ≤ 15 MB | there |"
    );
    println!(
        "| dashboard (Tauri) with its window hidden, reference for a single-process design | see *Desktop: tray agent and dashboard* | | | — | — |"
    );
    println!();
}
