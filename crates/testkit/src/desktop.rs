//! A private desktop session for GUI tests: Xvfb, a D-Bus session bus of the test's own (no
//! service activation, so nothing starts unless the test starts it), optionally dunst as the
//! notification daemon, and a `dbus-monitor` that records every `Notify` call.
//!
//! A tray host is there by default: a minimal StatusNotifierWatcher (what KDE or GNOME's
//! AppIndicator extension provide) that accepts and lists registrations, so the agent sees a
//! desktop that shows its icon; [`Desktop::start_without_tray_host`] is stock GNOME instead.
//!
//! The bus address and `DISPLAY` are handed to the child processes (see [`Desktop::env`]); the
//! test process joins the bus only as that watcher.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running private session; everything is stopped when it is dropped.
pub struct Desktop {
    dir: tempfile::TempDir,
    address: String,
    display: Option<String>,
    children: Vec<Child>,
    /// The stand-in tray host's connection (dropping it releases the name).
    watcher: Option<(zbus::blocking::Connection, Arc<Mutex<Vec<String>>>)>,
}

/// The StatusNotifierWatcher's well-known name and object path.
const WATCHER_NAME: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";

/// A StatusNotifierWatcher that takes every registration and reports a host, as KDE's and the
/// GNOME extension's do (both hard-wire `IsStatusNotifierHostRegistered` to true).
struct Watcher {
    items: Arc<Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, service: &str) {
        if let Ok(mut items) = self.items.lock() {
            items.push(service.to_string());
        }
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=@BUS@</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not come up within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Desktop {
    /// Whether a Secret Service can be started for [`Desktop::start_keyring`].
    pub fn keyring_available() -> bool {
        Command::new("gnome-keyring-daemon")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts the bus with a tray host, and with `notifications` also Xvfb, dunst and the
    /// Notify recorder.
    pub fn start(notifications: bool) -> Desktop {
        let mut desktop = Desktop::start_without_tray_host(notifications);
        desktop.start_tray_host();
        desktop
    }

    /// [`Desktop::start`] without a tray host: no StatusNotifierWatcher, as on stock GNOME.
    pub fn start_without_tray_host(notifications: bool) -> Desktop {
        let dir = tempfile::Builder::new()
            .prefix("dialtone-desktop-")
            .tempdir()
            .expect("temp dir");
        let bus = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("@BUS@", &bus.display().to_string()),
        )
        .expect("bus config");
        let address = format!("unix:path={}", bus.display());
        let mut desktop = Desktop {
            dir,
            address,
            display: None,
            children: Vec::new(),
            watcher: None,
        };
        desktop.start_service(
            Command::new("dbus-daemon")
                .arg(format!("--config-file={}", config.display()))
                .arg("--nofork"),
            "the private bus (dbus-daemon, package dbus)",
            |d| d.busctl(&["list"]).is_some(),
        );
        if notifications {
            desktop.start_xvfb();
            desktop.start_notify_recorder();
            let mut dunst = Command::new("dunst");
            dunst.envs(desktop.env());
            desktop.start_service(&mut dunst, "dunst", |d| {
                d.busctl(&["list"])
                    .is_some_and(|out| out.contains("org.freedesktop.Notifications"))
            });
        }
        desktop
    }

    /// Spawns the session service `cmd` (its output discarded), to be stopped with the
    /// session, and waits up to 10 s until `ready` says it serves.
    fn start_service(&mut self, cmd: &mut Command, what: &str, ready: impl Fn(&Desktop) -> bool) {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        self.children.push(child);
        let session: &Desktop = self;
        wait_for(what, Duration::from_secs(10), || ready(session));
    }

    /// Starts a real Secret Service on the bus: gnome-keyring-daemon (secrets component only)
    /// with its keyrings in the session's temp dir, its login keyring created and unlocked with
    /// a throwaway password, so that the `keyring` crate's calls work as on a desktop.
    pub fn start_keyring(&mut self) {
        let home = self.dir.path().join("keyring-home");
        let runtime = self.dir.path().join("keyring-run");
        for dir in [&home, &runtime] {
            std::fs::create_dir_all(dir).expect("keyring dirs");
            std::fs::set_permissions(
                dir,
                <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
            )
            .expect("keyring dir mode");
        }
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(self.env())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("gnome-keyring-daemon (package gnome-keyring): {e}"));
        // --unlock reads the login keyring's password from stdin up to its end.
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, b"dialtone-test").expect("keyring password");
        }
        self.children.push(child);
        let login = home.join("data/keyrings/login.keyring");
        let session: &Desktop = self;
        wait_for("gnome-keyring-daemon", Duration::from_secs(10), || {
            login.exists()
                && session
                    .busctl(&["list"])
                    .is_some_and(|out| out.contains("org.freedesktop.secrets"))
        });
    }

    fn start_tray_host(&mut self) {
        let items = Arc::new(Mutex::new(Vec::new()));
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .and_then(|b| b.name(WATCHER_NAME))
            .and_then(|b| {
                b.serve_at(
                    WATCHER_PATH,
                    Watcher {
                        items: items.clone(),
                    },
                )
            })
            .and_then(|b| b.build())
            .expect("the stand-in StatusNotifierWatcher on the private bus");
        self.watcher = Some((connection, items));
    }

    /// The items registered with the tray host so far (their bus names), in order.
    pub fn tray_items(&self) -> Vec<String> {
        self.watcher
            .as_ref()
            .and_then(|(_, items)| items.lock().ok().map(|i| i.clone()))
            .unwrap_or_default()
    }

    fn start_xvfb(&mut self) {
        // `-displayfd` makes Xvfb pick a free display and tell us which: no guessing, no race
        // with other test binaries.
        let (xvfb, lines) = crate::spawn_with_lines(Command::new("Xvfb").args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "640x480x24",
        ]))
        .expect("Xvfb (package xvfb)");
        let (_, line) = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("Xvfb announces its display");
        self.display = Some(format!(":{}", line.trim()));
        self.children.push(xvfb);
    }

    fn start_notify_recorder(&mut self) {
        let log = std::fs::File::create(self.notify_log()).expect("notify log");
        let monitor = Command::new("dbus-monitor")
            .arg("--address")
            .arg(&self.address)
            .arg("interface='org.freedesktop.Notifications',member='Notify'")
            // The daemon's replies carry the ids it gave the notifications.
            .arg("type='method_return',sender='org.freedesktop.Notifications'")
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor");
        self.children.push(monitor);
        // dbus-monitor prints its own NameAcquired/NameLost signals once it is attached.
        wait_for("dbus-monitor", Duration::from_secs(10), || {
            std::fs::metadata(self.notify_log()).is_ok_and(|m| m.len() > 0)
        });
    }

    /// The private bus's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The variables a child needs to join this session.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("DBUS_SESSION_BUS_ADDRESS".to_string(), self.address.clone())];
        if let Some(display) = &self.display {
            env.push(("DISPLAY".to_string(), display.clone()));
        }
        env
    }

    /// A temp dir that lives as long as the session.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn notify_log(&self) -> PathBuf {
        self.dir.path().join("notify.log")
    }

    /// Everything `Notify` was called with so far (dbus-monitor's text).
    pub fn notifications(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.notify_log()) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// The ids the daemon returned for `Notify` calls, in order.
    pub fn notification_ids(&self) -> Vec<u32> {
        let log = self.notifications();
        let mut ids = Vec::new();
        // (sender, serial) of each Notify call, to match the daemon's replies to them.
        let mut calls: Vec<(String, String)> = Vec::new();
        let mut lines = log.lines().peekable();
        while let Some(line) = lines.next() {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .map(|v| v.trim_end_matches(';').to_string())
            };
            if line.starts_with("method call") && line.contains("member=Notify") {
                if let (Some(sender), Some(serial)) = (field("sender="), field("serial=")) {
                    calls.push((sender, serial));
                }
            } else if line.starts_with("method return") {
                let (Some(dest), Some(reply)) = (field("destination="), field("reply_serial="))
                else {
                    continue;
                };
                if calls.iter().any(|(s, n)| *s == dest && *n == reply) {
                    if let Some(id) = lines
                        .peek()
                        .and_then(|l| l.trim().strip_prefix("uint32 "))
                        .and_then(|v| v.parse().ok())
                    {
                        ids.push(id);
                    }
                }
            }
        }
        ids
    }

    /// How many notifications dunst holds, shown or in its history.
    pub fn dunst_count(&self) -> u32 {
        ["displayed", "history"]
            .iter()
            .map(|which| {
                Command::new("dunstctl")
                    .args(["count", which])
                    .envs(self.env())
                    .output()
                    .ok()
                    .and_then(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .trim()
                            .parse::<u32>()
                            .ok()
                    })
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Emits `ActionInvoked(id, key)` as the notification server does when a button is clicked.
    pub fn invoke_action(&self, id: u32, key: &str) {
        let _ = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--type=signal",
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications.ActionInvoked",
            ])
            .arg(format!("uint32:{id}"))
            .arg(format!("string:{key}"))
            .status();
    }

    /// Runs `busctl --address=… --json=short ARGS`; `None` when it fails.
    pub fn busctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("busctl")
            .arg(format!("--address={}", self.address))
            .arg("--json=short")
            .arg("--")
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // The watcher's connection before the bus goes away under it.
        drop(self.watcher.take());
        // Newest first: the recorder and dunst before the bus and the X server they use.
        for child in self.children.iter_mut().rev() {
            if crate::stop(child, Duration::from_secs(3)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// `program` (a dialtone build) set up as the agent runs in a session, with nothing inherited
/// but `PATH`: its home, config, data and runtime folders in `dir`, its socket at
/// `dir/agent.sock`, `dashboard` as the dashboard it starts, a warnings-only log, and
/// `desktop`'s session (bus, display) when there is one.
pub fn agent_command(
    program: &Path,
    dir: &Path,
    dashboard: &Path,
    desktop: Option<&Desktop>,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir)
        .env("DIALTONE_SOCKET", dir.join("agent.sock"))
        .env("DIALTONE_DASHBOARD", dashboard)
        .env("RUST_LOG", "warn");
    if let Some(desktop) = desktop {
        cmd.envs(desktop.env());
    }
    cmd
}

/// Spawns `cmd` (an [`agent_command`]) with no terminal and its stderr in `dir/agent.err`,
/// where a test reads what the agent logged.
pub fn spawn_agent(cmd: &mut Command, dir: &Path) -> Child {
    let err = std::fs::File::create(dir.join("agent.err")).expect("create agent.err");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn the agent")
}
