//! Desktop benchmarks on a private desktop session (Xvfb, its own D-Bus session bus, dunst)
//! against a local kamailio, all in one run: launch → first verdict in the tray, the idle
//! agent's RSS/PSS/CPU with the dashboard never opened, the dashboard opened through the
//! agent's IPC (`OpenDashboard`) and closed again (the agent's RSS before and after), and the
//! dashboard started with its window hidden as the reference a single-process design would
//! cost. Prints Markdown; `scripts/bench` writes it to `docs/benchmarks/6-desktop.md`.
//!
//! Run: `cargo bench --bench desktop [-- --quick]` (release), or in debug
//! `cargo test --bench desktop -- --quick`. The binaries measured are `DIALTONE_BENCH_BIN`
//! and `DIALTONE_BENCH_DASHBOARD`, by default `target/release/…` when present, else
//! `target/debug/…` (the table names the build). `DIALTONE_BENCH_IDLE_SECS` sets the idle
//! time (default 600, 60 with `--quick`).
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone_core::observation::Transport;
use dialtone_ipc::client::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use support::desktop::Desktop;
use support::kamailio::{Kamailio, KamailioOptions};

/// Clock ticks per second for /proc times (USER_HZ, 100 on every Linux we run on).
const TICKS: f64 = 100.0;

/// The tray title of a healthy line, in English.
const HEALTHY: &str = "dialtone: Line works";

/// Launches for the launch → first verdict row.
const LAUNCHES: usize = 5;

/// How long the dashboard gets to load before it is measured: the webview, its web and
/// network processes and the first status/history replies are all in by then.
const DASHBOARD_SETTLE: Duration = Duration::from_secs(5);

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let idle_secs: u64 = std::env::var("DIALTONE_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 60 } else { 600 });
    let agent_bin = binary("DIALTONE_BENCH_BIN", "dialtone");
    let dashboard_bin = binary("DIALTONE_BENCH_DASHBOARD", "dialtone-dashboard");
    if std::env::args().any(|a| a == "--launch-only") {
        // For the package section: the installed binaries' first start, nothing else.
        let (median, max) = launches(&agent_bin, &dashboard_bin);
        println!(
            "| launch → \"Line works\" in the tray ({}) | {:.0} ms | {:.0} ms |",
            agent_bin.display(),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
        return;
    }
    desktop(&agent_bin, &dashboard_bin, idle_secs, quick);
}

/// `$var`, else `target/release/NAME` when it exists, else `target/debug/NAME`.
fn binary(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    // CARGO_BIN_EXE_dialtone is `<target>/<profile>/dialtone`, whichever profile built us.
    let target = Path::new(env!("CARGO_BIN_EXE_dialtone"))
        .parent()
        .and_then(Path::parent)
        .unwrap();
    let release = target.join("release").join(name);
    if release.is_file() {
        release
    } else {
        target.join("debug").join(name)
    }
}

/// Launch → first verdict of [`LAUNCHES`] fresh agents on a desktop of their own: (median, max).
fn launches(agent_bin: &Path, dashboard_bin: &Path) -> (Duration, Duration) {
    let stage = Stage::start();
    let (mut times, _last) = stage.launch(agent_bin, dashboard_bin, "launch");
    times.sort();
    (times[LAUNCHES / 2], times[LAUNCHES - 1])
}

/// A private desktop and a healthy line on loopback, for the agents under measurement. The
/// fields drop in this order: the line before the desktop.
struct Stage {
    _anchor: TcpListener,
    _k: Kamailio,
    desktop: Desktop,
    registrar: String,
    anchor: String,
}

impl Stage {
    fn start() -> Stage {
        let desktop = Desktop::start(true);
        let k = Kamailio::start(KamailioOptions::default());
        let anchor = TcpListener::bind("127.0.0.1:0").unwrap();
        Stage {
            anchor: anchor.local_addr().unwrap().to_string(),
            registrar: k.registrar_uri(Transport::Udp),
            _anchor: anchor,
            _k: k,
            desktop,
        }
    }

    /// [`LAUNCHES`] fresh agents one after the other (each stopped before the next starts),
    /// from the folders `NAME-0`, `NAME-1`, …, each timed from its launch to [`HEALTHY`] in
    /// the tray: the times in launch order, and the last agent, still running.
    fn launch(&self, agent_bin: &Path, dashboard_bin: &Path, name: &str) -> (Vec<Duration>, Agent) {
        let mut times = Vec::new();
        let mut agent = None;
        for n in 0..LAUNCHES {
            drop(agent.take());
            let dir = self.desktop.dir().join(format!("{name}-{n}"));
            let launched = Instant::now();
            let a = start_agent(
                agent_bin,
                dashboard_bin,
                &self.desktop,
                &dir,
                &self.registrar,
                &self.anchor,
            );
            times.push(a.wait_for_title(&self.desktop, HEALTHY, launched));
            agent = Some(a);
        }
        (times, agent.unwrap())
    }
}

/// "release" / "debug" from the binary's folder, with the path and when it was built, so a
/// stale or unoptimised binary is visible in the table.
fn build_of(path: &Path) -> String {
    let profile = match path.parent().and_then(Path::file_name) {
        Some(d) if d == "release" => "release",
        Some(d) if d == "debug" => "**debug** (unoptimised)",
        _ => "custom",
    };
    let built = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| utc(t, "%Y-%m-%d %H:%M UTC"))
        .unwrap_or_else(|_| "missing".into());
    format!("{profile}, `{}`, built {built}", path.display())
}

fn utc(t: SystemTime, format: &str) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format(format)
        .to_string()
}

/// The fields of /proc/PID/stat after the command name (state is [0], ppid [1], utime [11],
/// stime [12]).
fn stat(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and ')'; the fields start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// utime + stime in ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat(pid)?;
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A `Key:   N kB` line of a /proc file, in kB.
fn kb(file: &str, key: &str) -> Option<u64> {
    file.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// (RSS, PSS) in kB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    Some((kb(&status, "VmRSS:")?, kb(&rollup, "Pss:")?))
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `root` and every live descendant of it (the dashboard's WebKit web and network processes,
/// and whatever those start).
fn tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = stat(pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut all = vec![root];
    let mut i = 0;
    while i < all.len() {
        all.extend(children.get(&all[i]).into_iter().flatten());
        i += 1;
    }
    all.retain(|pid| Path::new(&format!("/proc/{pid}")).exists());
    all
}

/// Total RSS and PSS of a process tree in kB, and "name ×count" of its members.
fn tree_memory(root: u32) -> (u64, u64, String) {
    let mut rss = 0;
    let mut pss = 0;
    let mut names: Vec<(String, usize)> = Vec::new();
    for pid in tree(root) {
        if let Some((r, p)) = memory(pid) {
            rss += r;
            pss += p;
            let name = comm(pid);
            match names.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => names.push((name, 1)),
            }
        }
    }
    let names = names
        .iter()
        .map(|(n, c)| format!("`{n}` ×{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    (rss, pss, names)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn sigterm(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
}

/// SIGTERM to `pids` (WebKit processes get nothing harsher), then waits up to `within` for
/// all of them to be gone; the ones still there.
fn terminate_all(pids: &[u32], within: Duration) -> Vec<u32> {
    for pid in pids {
        sigterm(*pid);
    }
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|pid| {
                // A zombie is gone as far as memory goes; its parent reaps it.
                stat(*pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
            })
            .collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running agent, stopped with SIGTERM on drop.
struct Agent {
    child: Child,
    dir: PathBuf,
}

impl Agent {
    fn item(&self) -> String {
        format!("org.kde.StatusNotifierItem-{}-1", self.child.id())
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.err")).unwrap_or_default()
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("agent.sock")
    }

    fn title(&self, desktop: &Desktop) -> Option<String> {
        let out = desktop.busctl(&[
            "get-property",
            &self.item(),
            "/StatusNotifierItem",
            "org.kde.StatusNotifierItem",
            "Title",
        ])?;
        serde_json::from_str::<Value>(&out).ok()?["data"]
            .as_str()
            .map(str::to_string)
    }

    /// Time from `launched` until the tray title reads `want` (polled every 10 ms).
    fn wait_for_title(&self, desktop: &Desktop, want: &str, launched: Instant) -> Duration {
        loop {
            if self.title(desktop).as_deref() == Some(want) {
                return launched.elapsed();
            }
            assert!(
                launched.elapsed() < Duration::from_secs(30),
                "title {want:?} not shown within 30 s; agent stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            sigterm(self.child.id());
            let _ = self.child.wait();
        }
    }
}

/// Starts the agent at default settings against `registrar`, with only the lower layers
/// pointed at loopback (gateway, anchors, no DNS name) so nothing leaves the machine.
fn start_agent(
    bin: &Path,
    dashboard: &Path,
    desktop: &Desktop,
    dir: &Path,
    registrar: &str,
    anchor: &str,
) -> Agent {
    std::fs::create_dir_all(dir).unwrap();
    // XDG_RUNTIME_DIR must be private to the user, or GLib/WebKit in the dashboard complain.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = support::desktop::agent_command(bin, dir, dashboard, Some(desktop));
    // Inherited by the dashboard: the same settings as its end-to-end test under Xvfb.
    cmd.env("LC_ALL", "C.UTF-8")
        .env("NO_AT_BRIDGE", "1")
        .env("GDK_BACKEND", "x11")
        .arg("agent")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--db")
        .arg(dir.join("history.sqlite3"))
        .args(["--provider", "1und1", "--registrar", registrar])
        .args(["--gateway", "127.0.0.1", "--dns-name", "none"])
        .args(["--anchor", anchor, "--anchor", anchor])
        .args(["--lang", "en"]);
    Agent {
        child: support::desktop::spawn_agent(&mut cmd, dir),
        dir: dir.to_path_buf(),
    }
}

/// The dashboard process the agent started (a child of the agent named like the program).
fn dashboard_child(agent: u32, within: Duration) -> Option<u32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let found = tree(agent).into_iter().skip(1).find(|pid| {
            stat(*pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) == Some(agent)
                && comm(*pid).starts_with("dialtone-dashbo")
        });
        if found.is_some() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Waits until the dashboard's webview has a web process (the page is being loaded), then
/// [`DASHBOARD_SETTLE`]; false when no web process showed up within 30 s.
fn wait_loaded(dashboard: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tree(dashboard)
        .iter()
        .any(|pid| comm(*pid).starts_with("WebKitWebProces"))
    {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(DASHBOARD_SETTLE);
    true
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

fn desktop(agent_bin: &Path, dashboard_bin: &Path, idle_secs: u64, quick: bool) {
    let stage = Stage::start();
    let desktop = &stage.desktop;
    let measured = utc(SystemTime::now(), "%Y-%m-%d %H:%M UTC");

    // 1. Launch → first verdict, 5 fresh agents in a row; the last one stays for the rest.
    let (mut launches, agent) = stage.launch(agent_bin, dashboard_bin, "agent");
    for (n, took) in launches.iter().enumerate() {
        eprintln!("desktop: launch {n}: {took:?}");
    }
    let pid = agent.child.id();
    launches.sort();
    let median = launches[LAUNCHES / 2];
    let max = launches[LAUNCHES - 1];

    // 2. Idle, dashboard never opened.
    eprintln!("desktop: idle for {idle_secs} s");
    let t0 = cpu_ticks(pid).unwrap();
    let started = Instant::now();
    let mut max_rss = 0;
    while started.elapsed() < Duration::from_secs(idle_secs) {
        std::thread::sleep(Duration::from_millis(500));
        if let Some((rss, _)) = memory(pid) {
            max_rss = max_rss.max(rss);
        }
    }
    let idle_wall = started.elapsed().as_secs_f64();
    let idle_cpu = (cpu_ticks(pid).unwrap() - t0) as f64 / TICKS / idle_wall * 100.0;
    let (idle_rss, idle_pss) = memory(pid).unwrap();
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| kb(&s, "Threads:"))
        .unwrap_or(0);

    // 3. The dashboard opened by the agent over IPC, measured once loaded, then closed.
    eprintln!("desktop: opening the dashboard through the agent");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (before_rss, _) = memory(pid).unwrap();
    rt.block_on(async {
        let mut client = Client::connect(&agent.socket()).await.unwrap();
        client.open_dashboard().await.unwrap();
    });
    let dash = dashboard_child(pid, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no dashboard process; agent stderr:\n{}", agent.stderr()));
    let loaded = wait_loaded(dash);
    let (open_rss, open_pss, open_names) = tree_memory(dash);
    let open_pids = tree(dash);
    // SIGTERM to the dashboard only: its WebKit processes end when their UI process goes.
    let closing = Instant::now();
    let left = terminate_all(&[dash], Duration::from_secs(10));
    let left_tree: Vec<u32> = open_pids
        .iter()
        .copied()
        .filter(|p| stat(*p).is_some_and(|f| f.first().is_some_and(|s| s != "Z")))
        .collect();
    let stragglers = terminate_all(&left_tree, Duration::from_secs(10));
    let closed_in = closing.elapsed();
    // Give the agent a moment to drop the dashboard's connections before measuring it.
    std::thread::sleep(Duration::from_secs(3));
    let (after_rss, _) = memory(pid).unwrap();
    let delta = after_rss as i64 - before_rss as i64;

    // 4. The same dashboard with its window hidden, next to the agent in the same run.
    eprintln!("desktop: the dashboard with its window hidden");
    let hidden = Command::new(dashboard_bin)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &agent.dir)
        .env("XDG_RUNTIME_DIR", &agent.dir)
        .env("DIALTONE_SOCKET", agent.socket())
        .env("DIALTONE_DASHBOARD_HIDDEN", "1")
        .env("LC_ALL", "C.UTF-8")
        .env("NO_AT_BRIDGE", "1")
        .env("GDK_BACKEND", "x11")
        .env("RUST_LOG", "warn")
        .envs(desktop.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let hidden_row = match hidden {
        Ok(mut child) => {
            let hpid = child.id();
            let hidden_loaded = wait_loaded(hpid);
            let (rss, pss, names) = tree_memory(hpid);
            let pids = tree(hpid);
            let still_running = matches!(child.try_wait(), Ok(None));
            let _ = terminate_all(&[hpid], Duration::from_secs(10));
            let _ = child.wait();
            let _ = terminate_all(&pids, Duration::from_secs(10));
            format!(
                "| dashboard with its window hidden (`DIALTONE_DASHBOARD_HIDDEN=1`), all its \
                 processes{} | {} | {} | {names} |",
                if hidden_loaded && still_running {
                    ""
                } else {
                    " (**did not load / exited**)"
                },
                mb(rss),
                mb(pss)
            )
        }
        Err(e) => format!("| dashboard with its window hidden | — | — | not started: {e} |"),
    };

    let idle_ok = idle_rss.max(max_rss) as f64 / 1024.0 <= 15.0 && idle_cpu <= 0.1;
    println!("### Desktop: tray agent and dashboard\n");
    println!(
        "Measured {measured} in one run on a private desktop (Xvfb, a D-Bus session bus of its \
         own, dunst) against a local kamailio, agent at default settings (30 s interval, 2 \
         confirmations; only gateway and anchors pointed at loopback, no DNS name).\n"
    );
    support::table_head(&["binary", "build"]);
    println!("| agent (`dialtone agent`) | {} |", build_of(agent_bin));
    println!(
        "| dashboard (`dialtone-dashboard`) | {} |",
        build_of(dashboard_bin)
    );
    println!();
    println!(
        "Launch → first verdict: from spawning the agent to its StatusNotifierItem's `Title` \
         reading \"{HEALTHY}\" (polled over D-Bus every 10 ms), {LAUNCHES} launches, each a \
         fresh agent with no history.\n"
    );
    support::table_head(&["figure", "median", "max", "target", "met"]);
    println!(
        "| launch → \"Line works\" in the tray | {:.0} ms | {:.0} ms | ≤ 1 s | {} |",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        met(max <= Duration::from_secs(1))
    );
    println!();
    println!(
        "Agent idle, dashboard never opened, over **{idle_secs} s**{} after its first verdict: \
         CPU from `/proc/PID/stat` (utime+stime), RSS from `VmRSS` (sampled every 0.5 s), \
         PSS from `smaps_rollup` at the end.\n",
        if quick {
            " (quick mode; the full run is 600 s)"
        } else {
            ""
        }
    );
    support::table_head(&["figure", "value", "target", "met"]);
    println!(
        "| CPU | {idle_cpu:.3} % of one core | ≤ 0.1 % | {} |",
        met(idle_cpu <= 0.1)
    );
    println!(
        "| RSS end / max | {} / {} | ≤ 15 MB | {} |",
        mb(idle_rss),
        mb(max_rss.max(idle_rss)),
        met(idle_ok)
    );
    println!("| PSS end | {} | | |", mb(idle_pss));
    println!("| threads | {threads} | | |");
    println!();
    println!(
        "Dashboard: opened by the agent (IPC `OpenDashboard`, `DIALTONE_DASHBOARD` pointing at \
         the binary above; its window maps on the private Xvfb), measured {} s after its \
         WebKit web process appeared; closed with **SIGTERM to the dashboard process** (no \
         window manager runs to deliver a close), after which its WebKit processes exit by \
         themselves. Totals are over the dashboard and all its descendants; RSS counts shared \
         pages once per process, PSS shares them out. The hidden-window row is the same \
         binary started directly with its window hidden at start-up, as the reference a \
         single-process design (tray and webview in one process) would cost all day.\n",
        DASHBOARD_SETTLE.as_secs()
    );
    support::table_head(&["figure", "RSS", "PSS", "processes"]);
    println!(
        "| dashboard open, all its processes{} | {} | {} | {open_names} |",
        if loaded {
            ""
        } else {
            " (**no web process within 30 s**)"
        },
        mb(open_rss),
        mb(open_pss)
    );
    println!("{hidden_row}");
    println!();
    support::table_head(&["agent RSS", "value", "target", "met"]);
    println!("| before opening the dashboard | {} | | |", mb(before_rss));
    println!(
        "| 3 s after the dashboard closed ({} processes gone in {:.1} s{}) | {} ({:+.2} MB) | \
         within 1 MB of before | {} |",
        open_pids.len(),
        closed_in.as_secs_f64(),
        if left.is_empty() && stragglers.is_empty() {
            String::new()
        } else {
            format!(", **{} still running**", stragglers.len().max(left.len()))
        },
        mb(after_rss),
        delta as f64 / 1024.0,
        met(delta.unsigned_abs() <= 1024)
    );
    println!();
    drop(agent);
}
