//! The agent's tray under wine on Xvfb (issue 18): `dialtone.exe agent` in a wine virtual
//! desktop with a taskbar (`explorer /desktop=shell,…`), against a SIP responder on loopback
//! (see [`Registrar`] for why not kamailio). Its icon appears in wine's notification area in
//! the verdict's colour, and the tooltip there follows an outage: healthy, then a provider
//! outage once the registrar falls silent.
//!
//! **How the tooltip is read.** Not from the agent's log: from wine's explorer, the process
//! that owns the tray. `Shell_NotifyIcon` sends the icon's data to the `Shell_TrayWnd` window
//! as `WM_COPYDATA`; explorer's systray code copies `szTip` into a common-controls tooltip of
//! the icon's window. With `WINEDEBUG=+tooltips` on that explorer, comctl32 traces the text
//! the tooltip shows when the mouse rests on the icon (`TOOLTIPS_GetTipText L"…"`), so the
//! test moves the mouse there (xdotool) and reads the text off explorer's trace: what reached
//! the tray, as a user would see it. (`+systray` alone traces icon ids, not the text; a
//! stand-in `Shell_TrayWnd` of our own would have taken the icon away from wine's real tray,
//! which the screenshot shows.) Only lines from explorer's tray thread count: that thread is
//! the one tracing `add_icon` when the icon arrives.
//!
//! **How the icon is seen.** A screenshot of the X display (ImageMagick's `import`): the
//! taskbar's notification area must hold pixels of exactly the verdict's fill colour
//! ([`dialtone::tray::icon::colour`]); where they are is where the mouse goes.
//!
//! With `DIALTONE_SCREENSHOTS=DIR` the two screenshots are written there
//! (`scripts/screenshot-tray --windows` does, into docs/screenshots/). Needs wine, MinGW-w64,
//! Xvfb, ImageMagick and xdotool (`scripts/lib/setup.sh` `install_test_deps`) and the
//! cross-built `dialtone.exe` (scripts/test builds it before the tests).
#![allow(clippy::unwrap_used)]

use dialtone::tray::icon::colour;
use dialtone::tray::model::headline;
use dialtone_core::locale::Lang;
use dialtone_core::verdict::Verdict;
use dialtone_testkit::wine::{self, windows_path, Prefix};
use dialtone_testkit::{require, slack};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The virtual desktop's size; it sits at the display's top left corner.
const DESKTOP: (u32, u32) = (800, 600);
/// The rows at the desktop's bottom holding the taskbar (and the tray at its right end).
const TASKBAR_ROWS: u32 = 40;
/// Fill pixels that make an icon: a 16 px disc has about 150, less its glyph.
const MIN_FILL: usize = 40;
const IMPORT: &str = "/usr/bin/import";

/// A registrar on loopback that answers every SIP request with 200 OK until it falls silent
/// (its socket stays open and answers nothing, a registrar that stopped working): an outage.
///
/// Not kamailio, and not a closed port. Under wine the agent, once its registrar's port was
/// closed (kamailio stopped, or this socket dropped), ran one failing round and then, in about
/// half of the runs here, no other for tens of seconds (`dialtone_checks_total` stayed at one
/// `provider_outage`), so the outage was never confirmed; with a silent registrar its rounds
/// time out and come every 2 s. That is the agent's probing under wine (the SIP side), not the
/// tray, which this test is about; tests/windows.rs runs the checks against kamailio.
struct Registrar {
    port: u16,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Registrar {
    fn start() -> Registrar {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let silent = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (quiet, finished) = (silent.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_535];
            while !finished.load(Ordering::SeqCst) {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if quiet.load(Ordering::SeqCst) {
                    continue;
                }
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let complete = ["via", "from", "to", "call-id", "cseq"]
                    .iter()
                    .all(|h| dialtone_testkit::sip::find_header(&request, h).is_some());
                if complete {
                    let answer = dialtone_testkit::sip::reply(&request, "200 OK", "");
                    let _ = socket.send_to(&answer, peer);
                }
            }
        });
        Registrar { port, silent, done }
    }

    fn uri(&self) -> String {
        format!("sip:127.0.0.1:{};transport=udp", self.port)
    }

    /// From now on nothing is answered.
    fn fall_silent(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Registrar {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The explorer that runs the desktop (and, inside it, the agent); killed with the prefix.
struct Desktop(Child);

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every stderr line of `child`, as it comes.
fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = Vec::new();
        // Bytes, not `lines()`: one line that is not UTF-8 must not end the reading.
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            if tx
                .send(String::from_utf8_lossy(&line).trim_end().to_string())
                .is_err()
            {
                break;
            }
            line.clear();
        }
    });
    rx
}

/// explorer's trace, read as it comes: the tray thread (the one that adds our icon) and the
/// tooltip texts it showed.
struct Trace {
    lines: Receiver<String>,
    tray_thread: Option<String>,
    /// Every line, for a failure's message.
    seen: Vec<String>,
}

impl Trace {
    /// Takes one line of the trace: the tooltip text it shows, if it is the tray's.
    fn take(&mut self, line: String) -> Option<String> {
        const TIP: &str = ":trace:tooltips:TOOLTIPS_GetTipText L\"";
        self.seen.push(line);
        let line = self.seen.last()?;
        // "0104:trace:systray:add_icon id=0x2, hwnd=…": 0104 is explorer's tray thread.
        let thread = line.split(':').next().unwrap_or_default();
        if line.contains(":trace:systray:add_icon ") {
            self.tray_thread = Some(thread.to_string());
            return None;
        }
        let at = line.find(TIP)?;
        if self.tray_thread.as_deref() != Some(thread) {
            return None;
        }
        let text = &line[at + TIP.len()..];
        Some(text.strip_suffix('"').unwrap_or(text).to_string())
    }

    /// Reads what came until `deadline`, returning the first tooltip text of the tray thread.
    fn next_tip(&mut self, deadline: Instant) -> Option<String> {
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(tip) = self.take(line) {
                        return Some(tip);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Reads what comes until a line with `what` (true) or `deadline` (false).
    fn wait_for(&mut self, what: &str, deadline: Instant) -> bool {
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(what);
                    self.take(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Takes everything that came so far, forgetting the tips in it.
    fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.take(line);
        }
    }

    /// The last lines but the tooltip control's chatter, for a failure's message.
    fn tail(&mut self) -> String {
        self.drain();
        let said: Vec<&str> = self
            .seen
            .iter()
            .map(String::as_str)
            .filter(|l| !l.contains(":trace:tooltips:") || l.contains("GetTipText"))
            .collect();
        said[said.len().saturating_sub(60)..].join("\n")
    }
}

/// The display's pixels (RGB, `DESKTOP` wide rows of the desktop only).
fn screenshot(display: &str) -> Vec<u8> {
    let out = Command::new(IMPORT)
        .args(["-display", display, "-silent", "-window", "root"])
        .args(["-crop", &format!("{}x{}+0+0", DESKTOP.0, DESKTOP.1)])
        .args(["-depth", "8", "rgb:-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), (DESKTOP.0 * DESKTOP.1 * 3) as usize);
    out.stdout
}

/// The fill pixels of `verdict`'s icon in the taskbar: how many, and their centre.
fn icon_in_taskbar(pixels: &[u8], verdict: Verdict) -> (usize, (u32, u32)) {
    let want = colour(verdict);
    let (mut n, mut sx, mut sy) = (0usize, 0u64, 0u64);
    for y in DESKTOP.1 - TASKBAR_ROWS..DESKTOP.1 {
        for x in 0..DESKTOP.0 {
            let at = ((y * DESKTOP.0 + x) * 3) as usize;
            if pixels[at..at + 3] == want {
                n += 1;
                sx += u64::from(x);
                sy += u64::from(y);
            }
        }
    }
    let centre = match n {
        0 => (0, 0),
        _ => ((sx / n as u64) as u32, (sy / n as u64) as u32),
    };
    (n, centre)
}

/// Waits until `verdict`'s icon shows in the taskbar; its centre.
fn wait_for_icon(
    display: &str,
    verdict: Verdict,
    within: Duration,
    trace: &mut Trace,
    metrics: std::net::SocketAddr,
) -> (u32, u32) {
    let started = Instant::now();
    loop {
        let (n, centre) = icon_in_taskbar(&screenshot(display), verdict);
        if n >= MIN_FILL {
            println!(
                "{} icon in wine's tray after {:?}: {n} fill pixels around {centre:?}",
                verdict.as_str(),
                started.elapsed()
            );
            return centre;
        }
        assert!(
            started.elapsed() < within,
            "no {} icon ({:?}) in wine's tray within {within:?} ({n} pixels); explorer said:\n{}\n\
             the agent's metrics:\n{}",
            verdict.as_str(),
            colour(verdict),
            trace.tail(),
            scrape(metrics)
        );
        // The next look when explorer changes an icon, or in a second: a screenshot costs
        // the busy machine more than reading the trace.
        trace.wait_for(
            ":trace:systray:modify_icon ",
            Instant::now() + Duration::from_secs(1),
        );
    }
}

/// The agent's own metrics (its checks and verdicts), for a failure's message: whether the
/// agent went on checking.
fn scrape(metrics: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&metrics, Duration::from_secs(2))
    else {
        return format!("{metrics} does not answer");
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with("dialtone_"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn xdotool(display: &str, args: &[&str]) {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .unwrap();
    assert!(status.success(), "xdotool {args:?}: {status}");
}

/// Rests the mouse on the icon (after leaving it, so the tooltip shows anew) and returns the
/// text explorer's tooltip shows.
fn hover_tip(display: &str, at: (u32, u32), trace: &mut Trace) -> Option<String> {
    xdotool(display, &["mousemove", "400", "300"]);
    std::thread::sleep(Duration::from_millis(200));
    // Only a tip shown from now on counts.
    trace.drain();
    let (x, y) = (at.0.to_string(), at.1.to_string());
    xdotool(display, &["mousemove", &x, &y]);
    std::thread::sleep(Duration::from_millis(100));
    // A second move inside the icon: wine relays a motion within its window to the tooltip.
    let x1 = (at.0 + 1).to_string();
    xdotool(display, &["mousemove", &x1, &y]);
    // The tooltip shows after its initial delay (500 ms).
    trace.next_tip(Instant::now() + Duration::from_secs(3))
}

/// Hovers until the tooltip starts with `words` (the tray may still be applying the change
/// the icon already shows).
fn tip_saying(display: &str, at: (u32, u32), words: &str, trace: &mut Trace) -> String {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < slack(Duration::from_secs(8)) {
        let tip = hover_tip(display, at, trace);
        if let Some(tip) = tip.as_deref().filter(|t| t.starts_with(words)) {
            return tip.to_string();
        }
        last = tip.or(last);
    }
    panic!(
        "wine's tray tooltip never said {words:?} (last: {last:?}); explorer said:\n{}",
        trace.tail()
    );
}

/// Keeps a screenshot of the tray's corner (taskbar and tooltip) as `name` in
/// `DIALTONE_SCREENSHOTS`, when set.
fn keep_screenshot(display: &str, name: &str) {
    let Some(dir) = std::env::var_os("DIALTONE_SCREENSHOTS").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    // The tip is traced as it is about to show: let it be drawn.
    std::thread::sleep(Duration::from_millis(500));
    let path = dir.join(name);
    let status = Command::new(IMPORT)
        .args(["-display", display, "-silent", "-window", "root"])
        .args(["-crop", "480x96+320+504", "+repage"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "import {}: {status}", path.display());
    println!("== {}", path.display());
}

/// The marker of the first-run hint in the prefix's `%LOCALAPPDATA%\dialtone\data`.
fn hint_marker(drive_c: &Path) -> Option<PathBuf> {
    std::fs::read_dir(drive_c.join("users"))
        .ok()?
        .flatten()
        .map(|user| {
            user.path()
                .join("AppData/Local/dialtone/data/tray-hint-given")
        })
        .find(|p| p.exists())
}

#[test]
fn the_icon_shows_in_wines_tray_and_its_tooltip_follows_an_outage() {
    let exe = wine::exe("dialtone");
    let tools = ["xdotool", IMPORT]
        .iter()
        .all(|t| Command::new(t).arg("-version").output().is_ok());
    if !require(
        wine::available() && exe.exists() && tools,
        &format!(
            "wine, MinGW-w64, ImageMagick and xdotool (scripts/lib/setup.sh install_test_deps) \
             and {} (cargo build --target {} -p dialtone)",
            exe.display(),
            wine::TARGET
        ),
    ) {
        return;
    }
    let started = Instant::now();
    let prefix = Prefix::new(&[&exe]);
    println!("wine prefix ready in {:?}", started.elapsed());
    let registrar = Registrar::start();
    let anchors = dialtone_testkit::loopback_anchors();
    // A metrics port, read when the tray does not follow (did the agent go on checking?).
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = prefix.scratch("tray").join("config.toml");
    std::fs::write(&config, format!("[metrics]\nlisten = \"{metrics}\"\n")).unwrap();
    let config = windows_path(&config);
    let mut agent_args: Vec<String> = vec![
        format!("/desktop=shell,{}x{}", DESKTOP.0, DESKTOP.1),
        windows_path(&prefix.bin().join("dialtone.exe")),
        "agent".into(),
        "--registrar".into(),
        registrar.uri(),
        "--gateway".into(),
        "127.0.0.1".into(),
        "--dns-name".into(),
        "none".into(),
        "--expect-binding".into(),
        "no".into(),
        "--lang".into(),
        "en".into(),
        "--config".into(),
        config,
        "--no-history".into(),
    ];
    for anchor in &anchors {
        agent_args.push("--anchor".into());
        agent_args.push(anchor.local_addr().unwrap().to_string());
    }
    agent_args.extend(
        ["--interval", "2", "--recheck", "1", "--timeout", "1"]
            .iter()
            .map(|s| s.to_string()),
    );
    // explorer runs the desktop with its taskbar and starts the agent inside it; its trace
    // (and the agent's log, which the test ignores) come on this stderr.
    let mut child = prefix
        .windows_command("explorer")
        .args(&agent_args)
        .env("WINEDEBUG", "-all,+systray,+tooltips")
        // The verdict changes in the agent's log, for a failure's message.
        .env("RUST_LOG", "dialtone=info,dialtone_engine=info,warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let _desktop = Desktop(child);
    let mut trace = Trace {
        lines,
        tray_thread: None,
        seen: Vec::new(),
    };
    let display = prefix.display().to_string();

    let at = wait_for_icon(
        &display,
        Verdict::Healthy,
        slack(Duration::from_secs(20)),
        &mut trace,
        metrics,
    );
    let healthy = headline(Verdict::Healthy, None, None, Lang::En);
    let tip = tip_saying(&display, at, &format!("{healthy} since "), &mut trace);
    println!(
        "healthy tooltip in wine's tray: {tip:?} after {:?}",
        started.elapsed()
    );
    assert!(
        trace.tray_thread.is_some(),
        "explorer never traced adding the icon"
    );
    keep_screenshot(&display, "windows-tray-healthy.png");

    println!(
        "the agent's checks before the stop: {:?}",
        scrape(metrics)
            .lines()
            .filter(|l| l.starts_with("dialtone_checks_total"))
            .collect::<Vec<_>>()
    );
    registrar.fall_silent();
    // Confirmed after two failed checks (the tracker's hysteresis).
    let at = wait_for_icon(
        &display,
        Verdict::ProviderOutage,
        slack(Duration::from_secs(20)),
        &mut trace,
        metrics,
    );
    let outage = headline(Verdict::ProviderOutage, None, None, Lang::En);
    let tip = tip_saying(&display, at, &format!("{outage} since "), &mut trace);
    println!(
        "outage tooltip in wine's tray: {tip:?} after {:?}",
        started.elapsed()
    );
    keep_screenshot(&display, "windows-tray-outage.png");

    // The first-run hint was handed to the notifier (wine has no toasts to show it) and
    // remembered, so the next start does not say it again.
    assert!(
        hint_marker(&prefix.drive_c()).is_some(),
        "no tray-hint-given under {}",
        prefix.drive_c().join("users").display()
    );
    println!("wall time {:?}", started.elapsed());
}
