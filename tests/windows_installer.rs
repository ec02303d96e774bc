//! The Windows installer (`scripts/package --windows`, packaging/windows/dialtone.nsi) under
//! wine, in a fresh prefix of its own: a silent install puts the program under
//! `%LOCALAPPDATA%\Programs\dialtone`, the Start-menu shortcut and the "Apps & features" entry
//! in place (and the Run value only when asked); the installed `dialtone.exe` names its commit
//! and checks a real kamailio on loopback with the config in `%APPDATA%\dialtone`; an upgrade
//! over an older install keeps that config and the history the program wrote, and keeps the
//! start at login; an upgrade while dialtone runs stops it and starts the agent again; a silent
//! uninstall stops the agent and removes the program, shortcut, entry and Run value and leaves
//! the user's files, unless asked to purge them. About 25 s: wineboot (~6 s) runs while the
//! installers are built, and wine's null display driver spares each program the wait for a
//! desktop that a machine without X never shows.
//!
//! Needs wine, MinGW-w64 and makensis (`scripts/lib/setup.sh` `install_windows_package_deps`)
//! and the cross-built agent (`cargo build --target x86_64-pc-windows-gnu -p dialtone --bin
//! dialtone`, which scripts/test runs before the tests). Without them the test says so and
//! passes, except in CI, where it fails.
//!
//! What wine cannot show: the shortcut's AppUserModelID (wine's shell link accepts the property
//! but does not store it, so the `.lnk` under wine lacks it; the test checks the installer sets
//! the same id the toasts use), toasts themselves, Windows' own "Apps & features" listing (only
//! the registry it reads), and a UAC-free install (wine never prompts).
#![allow(clippy::unwrap_used)]

use dialtone_core::observation::Transport;
use dialtone_testkit::kamailio::{Kamailio, KamailioOptions};
use dialtone_testkit::{gate, slack};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TRIPLE: &str = "x86_64-pc-windows-gnu";
/// The 64-bit loader: the plain `wine` launcher tries the 32-bit one first.
const WINE64: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver";
const UNINSTALL_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\dialtone";
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cmd`'s output, through files rather than pipes: wine's helper processes (services,
/// explorer), started by whichever program runs first, inherit its output and outlive it, and
/// reading a pipe to its end would wait for them.
fn output(cmd: &mut Command) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let status = cmd
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

fn run(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cross-built agent, beside this run's own binaries under the target's folder.
fn windows_exe() -> PathBuf {
    let host = Path::new(env!("CARGO_BIN_EXE_dialtone"));
    let profile = host.parent().unwrap();
    profile
        .parent()
        .unwrap()
        .join(TRIPLE)
        .join(profile.file_name().unwrap())
        .join("dialtone.exe")
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A wine prefix of its own (its own HOME too), booted, with the test-only
/// `bcryptprimitives.dll` in its system folder: Rust ≥ 1.78 programs import `ProcessPrng`,
/// which Windows 10/11 have and wine 8.0 lacks. It goes to system32 rather than beside the
/// program, so the installed folder is exactly what the installer put there. Its wine server
/// is stopped when dropped.
struct Prefix {
    dir: tempfile::TempDir,
}

impl Prefix {
    fn boot() -> Prefix {
        let dir = tempfile::Builder::new()
            .prefix("dialtone-wininst-")
            .tempdir()
            .unwrap();
        let prefix = Prefix { dir };
        std::fs::create_dir_all(prefix.home()).unwrap();
        let started = Instant::now();
        run(prefix.wine().args(["wineboot", "-i"]));
        // wine's null display driver: without an X display every program that links user32
        // (the installer, dialtone.exe) would wait seconds for a desktop that never comes. It
        // applies to the helper processes started after it, so the server is restarted.
        run(prefix.wine().args([
            "reg",
            "add",
            r"HKCU\Software\Wine\Drivers",
            "/v",
            "Graphics",
            "/d",
            "null",
            "/f",
        ]));
        prefix.server(&["-k"]);
        prefix.server(&["-w"]);
        // Then one server for the whole test, rather than one per program after each pause.
        prefix.server(&["-p"]);
        println!("wineboot -i: {:?}", started.elapsed());
        let shim = prefix.dir.path().join("shim");
        std::fs::create_dir_all(&shim).unwrap();
        std::fs::write(
            shim.join("shim.c"),
            "#include <windows.h>\n#include <ntsecapi.h>\nBOOL WINAPI ProcessPrng(PBYTE data, \
             SIZE_T len) { return RtlGenRandom(data, (ULONG)len); }\n",
        )
        .unwrap();
        std::fs::write(
            shim.join("shim.def"),
            "LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n",
        )
        .unwrap();
        run(Command::new("x86_64-w64-mingw32-gcc")
            .args([
                "-shared",
                "-o",
                "bcryptprimitives.dll",
                "shim.c",
                "shim.def",
            ])
            .arg("-ladvapi32")
            .current_dir(&shim));
        std::fs::copy(
            shim.join("bcryptprimitives.dll"),
            prefix
                .path()
                .join("drive_c/windows/system32/bcryptprimitives.dll"),
        )
        .unwrap();
        prefix
    }

    fn server(&self, args: &[&str]) {
        // Not `run`: the server may be gone already (-k, -w), which is what is asked.
        let _ = Command::new(WINESERVER)
            .args(args)
            .env("WINEPREFIX", self.path())
            .env("HOME", self.home())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }

    /// `wine64` in this prefix, quiet, without a display (a silent install needs none).
    fn wine(&self) -> Command {
        let mut cmd = Command::new(WINE64);
        cmd.env("WINEPREFIX", self.path())
            .env("WINEDEBUG", "-all")
            .env("HOME", self.home())
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null());
        cmd
    }

    /// The Windows user's profile folder (Linux path): wine names it after the Unix user.
    fn profile(&self) -> PathBuf {
        let users = self.path().join("drive_c/users");
        std::fs::read_dir(&users)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().is_some_and(|n| n != "Public"))
            .unwrap_or_else(|| panic!("no user profile under {}", users.display()))
    }

    fn install_dir(&self) -> PathBuf {
        self.profile().join("AppData/Local/Programs/dialtone")
    }

    fn shortcut(&self) -> PathBuf {
        self.profile()
            .join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs/dialtone.lnk")
    }

    /// `%APPDATA%\dialtone`: the config and the history.
    fn roaming(&self) -> PathBuf {
        self.profile().join("AppData/Roaming/dialtone")
    }

    /// `%LOCALAPPDATA%\dialtone`: the login ledger.
    fn local(&self) -> PathBuf {
        self.profile().join("AppData/Local/dialtone")
    }

    /// The value `name` under `key`, read back with wine's `reg query`; None when absent.
    fn reg(&self, key: &str, name: &str) -> Option<String> {
        let out = output(self.wine().args(["reg", "query", key, "/v", name]));
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|line| {
                let mut parts = line.trim().splitn(3, "    ");
                (parts.next()? == name && parts.next()?.starts_with("REG_"))
                    .then(|| parts.next().unwrap_or("").trim().to_string())
            })
    }

    /// Runs `installer` (Linux path) with `args` and waits for it.
    fn install(&self, installer: &Path, args: &[&str]) {
        let started = Instant::now();
        run(self.wine().arg(installer).args(args));
        println!("{} {args:?}: {:?}", installer.display(), started.elapsed());
    }

    /// The installed uninstaller, silent, with `args`. It copies itself to the temp folder and
    /// runs from there (so it can delete itself), the first process returning at once: the
    /// uninstall is over when its entry is gone.
    fn uninstall(&self, args: &[&str]) {
        let started = Instant::now();
        let uninstaller = self.install_dir().join("uninstall.exe");
        run(self.wine().arg(&uninstaller).arg("/S").args(args));
        let deadline = Instant::now() + slack(Duration::from_secs(30));
        while self.install_dir().exists() || self.reg(UNINSTALL_KEY, "DisplayName").is_some() {
            assert!(
                Instant::now() < deadline,
                "the silent uninstall did not finish: {:?} left",
                std::fs::read_dir(self.install_dir())
                    .map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        println!("uninstall /S {args:?}: {:?}", started.elapsed());
    }

    /// The Linux processes of this prefix's running `dialtone.exe`s (wine runs each Windows
    /// process as one Linux process, its command line the Windows one).
    fn dialtone_processes(&self) -> Vec<u32> {
        let prefix = format!("WINEPREFIX={}", self.path().display());
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let read = |name: &str| std::fs::read(entry.path().join(name)).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&read("cmdline"))
                .to_lowercase()
                .replace('/', "\\");
            let ours = read("environ")
                .split(|b| *b == 0)
                .any(|var| var == prefix.as_bytes());
            if ours && cmdline.contains(r"programs\dialtone\dialtone.exe") {
                found.push(pid);
            }
        }
        found
    }

    /// The installed `dialtone.exe` with `args`.
    fn dialtone(&self, args: &[&str]) -> Output {
        output(
            self.wine()
                .arg(self.install_dir().join("dialtone.exe"))
                .args(args),
        )
    }

    /// `check --json` of the installed program with only the config in `%APPDATA%`.
    fn check(&self) -> Value {
        let done = self.dialtone(&["check", "--json", "--lang", "en"]);
        serde_json::from_slice(&done.stdout).unwrap_or_else(|e| {
            panic!(
                "check --json: {e} ({})\n{}",
                done.status,
                String::from_utf8_lossy(&done.stderr)
            )
        })
    }

    /// `watch --json` of the installed program until its first verdict and its first round in
    /// the `history` file; then stopped. Returns the verdict and the rounds recorded.
    fn watch_once(&self, history: &Path) -> (Value, i64) {
        let mut child = self
            .wine()
            .arg(self.install_dir().join("dialtone.exe"))
            .args(["watch", "--json", "--interval", "1", "--lang", "en"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str(&line) {
                    let _ = tx.send(event);
                }
            }
        });
        let event = rx.recv_timeout(slack(Duration::from_secs(30)));
        // The recorder commits on a thread of its own, maybe after the verdict is printed.
        let deadline = Instant::now() + slack(Duration::from_secs(20));
        let rounds = loop {
            match recorded_checks(history) {
                Some(n) if n > 0 => break n,
                _ if Instant::now() > deadline => break 0,
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        (event.expect("watch under wine reported no verdict"), rounds)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        self.server(&["-k"]);
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// How many rounds the history file at `path` holds, read while the program under wine may
/// still write it: read-only, because a writable connection that believed itself the last one
/// would checkpoint and remove the WAL (SQLite's locks under wine and on Linux do not see each
/// other); WAL frames carry checksums, so a half-written one is not read. None when it cannot
/// be read yet.
fn recorded_checks(path: &Path) -> Option<i64> {
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    db.query_row("SELECT count(*) FROM checks", [], |row| row.get(0))
        .ok()
}

/// How many rounds the history file at `path` holds, once no program uses it.
fn checks(path: &Path) -> i64 {
    let db = rusqlite::Connection::open(path).unwrap();
    db.query_row("SELECT count(*) FROM checks", [], |row| row.get(0))
        .unwrap()
}

/// `value`'s define in the .nsi (`!define NAME "value"`).
fn nsi_define(nsi: &str, name: &str) -> String {
    nsi.lines()
        .find_map(|l| l.strip_prefix(&format!("!define {name} \"")))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("!define {name} in dialtone.nsi"))
        .to_string()
}

/// A `const NAME: &str = "value";` (or `r"value"`) of a Rust source.
fn rust_const(source: &str, name: &str) -> String {
    let line = source
        .lines()
        .find(|l| l.contains(&format!("const {name}: &str = ")))
        .unwrap_or_else(|| panic!("const {name}"));
    let value = line.split(" = ").nth(1).unwrap().trim_end_matches(';');
    value.trim_start_matches('r').trim_matches('"').to_string()
}

/// The installer and the platform code agree on what they both write or read: the toasts'
/// AppUserModelID on the shortcut (which wine cannot show) and the Run value's key and name.
#[test]
fn the_installer_uses_the_platform_codes_app_id_and_run_value() {
    let nsi = std::fs::read_to_string(repo().join("packaging/windows/dialtone.nsi")).unwrap();
    let windows = repo().join("crates/platform/src/windows");
    let notify = std::fs::read_to_string(windows.join("notify.rs")).unwrap();
    let autostart = std::fs::read_to_string(windows.join("autostart.rs")).unwrap();
    assert_eq!(
        nsi_define(&nsi, "APP_ID"),
        rust_const(&notify, "APP_USER_MODEL_ID")
    );
    assert_eq!(
        nsi_define(&nsi, "RUN_KEY"),
        rust_const(&autostart, "RUN_KEY")
    );
    assert_eq!(
        nsi_define(&nsi, "RUN_VALUE"),
        rust_const(&autostart, "RUN_VALUE_NAME")
    );
    // The value itself is the quoted executable path, as autostart::run_value writes it.
    assert!(
        nsi.contains(r#"WriteRegStr HKCU "${RUN_KEY}" "${RUN_VALUE}" '"$INSTDIR\dialtone.exe"'"#),
        "the Run value is the quoted exe path"
    );
    assert!(nsi.contains("RequestExecutionLevel user"));
    assert!(nsi.contains(r#"InstallDir "$LOCALAPPDATA\Programs\dialtone""#));
}

#[test]
fn silent_install_upgrade_and_uninstall_under_wine_keep_the_users_config_and_history() {
    let exe = windows_exe();
    if !gate::require(
        exe.is_file()
            && exe.with_file_name("dialtone-dashboard.exe").is_file()
            && Path::new(WINE64).exists()
            && installed("makensis")
            && installed("x86_64-w64-mingw32-gcc"),
        &format!(
            "wine, MinGW-w64 and makensis (scripts/lib/setup.sh install_windows_package_deps) \
             and {} with the dashboard beside it (cargo build --target {TRIPLE} -p dialtone \
             -p dialtone-dashboard --bins)",
            exe.display()
        ),
    ) {
        return;
    }
    let started = Instant::now();
    // wine sets up the prefix (10 s or so) while the installers are built.
    let booting = std::thread::spawn(Prefix::boot);
    let out = tempfile::tempdir().unwrap();
    let stdout = run(Command::new(repo().join("scripts/package"))
        .args(["--windows", "--profile", "dev", "--no-build", "--fast"])
        .arg("--output")
        .arg(out.path()));
    let installer = PathBuf::from(stdout.lines().last().unwrap().trim());
    assert_eq!(
        installer,
        out.path().join(format!(
            "dialtone-{}-x86_64-setup.exe",
            env!("CARGO_PKG_VERSION")
        )),
        "{stdout}"
    );
    let kind = run(Command::new("file").arg("-b").arg(&installer));
    assert!(kind.contains("PE32+") && kind.contains("x86-64"), "{kind}");
    // An "older release": the same script at an earlier version, from the files just staged.
    let stage = exe.parent().unwrap().join("installer-files");
    let older = out.path().join("dialtone-0.0.1-x86_64-setup.exe");
    run(Command::new("makensis")
        .args([
            "-V2",
            "-INPUTCHARSET",
            "UTF8",
            "-DVERSION=0.0.1",
            "-DCOMMIT=older",
        ])
        .arg(format!("-DSOURCE={}", stage.display()))
        .arg(format!("-DOUTFILE={}", older.display()))
        .arg("-DCOMPRESSOR=zlib")
        .arg(repo().join("packaging/windows/dialtone.nsi")));
    println!("both installers built: {:?}", started.elapsed());

    let mut k = Kamailio::start(KamailioOptions::default());
    let anchors: Vec<TcpListener> = (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let p = booting.join().unwrap();
    println!("prefix ready: {:?}", started.elapsed());

    // 1. The older release, silently, without start at login.
    p.install(&older, &["/S"]);
    let dir = p.install_dir();
    for file in ["dialtone.exe", "dialtone.ico", "uninstall.exe"] {
        assert!(dir.join(file).is_file(), "{file} not installed in {dir:?}");
    }
    // The "older release" is built without the dashboard (no -DDASHBOARD), as releases before
    // it were: the upgrade below brings it.
    assert!(!dir.join("dialtone-dashboard.exe").exists());
    assert!(!dir.join("bcryptprimitives.dll").exists());
    let lnk = std::fs::read(p.shortcut()).expect("the Start-menu shortcut");
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(&lnk, br"AppData\Local\Programs\dialtone\dialtone.exe"),
        "the shortcut starts the installed program"
    );
    assert!(contains(&lnk, &utf16("dialtone.ico")), "and shows its icon");
    let install_location = p.reg(UNINSTALL_KEY, "InstallLocation").unwrap();
    assert!(
        install_location.ends_with(r"\AppData\Local\Programs\dialtone"),
        "{install_location}"
    );
    assert_eq!(
        p.reg(UNINSTALL_KEY, "DisplayName").as_deref(),
        Some("dialtone")
    );
    assert_eq!(
        p.reg(UNINSTALL_KEY, "DisplayVersion").as_deref(),
        Some("0.0.1")
    );
    assert_eq!(
        p.reg(UNINSTALL_KEY, "QuietUninstallString"),
        Some(format!(r#""{install_location}\uninstall.exe" /S"#))
    );
    assert_eq!(
        p.reg(UNINSTALL_KEY, "UninstallString"),
        Some(format!(r#""{install_location}\uninstall.exe""#))
    );
    assert_eq!(
        p.reg(RUN_KEY, "dialtone"),
        None,
        "no start at login unasked"
    );

    // The installed program: its version, a check and a watch round with the user's config.
    let version = p.dialtone(&["--version"]);
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.starts_with(&format!("dialtone {} (commit ", env!("CARGO_PKG_VERSION")))
            && !version.contains("unknown"),
        "{version}"
    );
    let config = p.roaming().join("config/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "timeout_secs = 2\n[account]\nregistrar = \"{}\"\n[network]\nanchors = [\"{}\", \
             \"{}\"]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n[router]\nurl = \"off\"\n",
            k.registrar_uri(Transport::Udp),
            anchors[0].local_addr().unwrap(),
            anchors[1].local_addr().unwrap()
        ),
    )
    .unwrap();
    let report = p.check();
    assert_eq!(report["verdict"], "healthy", "{report:#}");
    let history = p.roaming().join("data/history.sqlite3");
    let (first, checks_before) = p.watch_once(&history);
    assert_eq!(first["verdict"], "healthy", "{first:#}");
    assert!(checks_before > 0, "watch recorded its round in {history:?}");
    let users_files = snapshot(&p.roaming());

    // 2. The upgrade: this release over the older one, asking for start at login.
    p.install(&installer, &["/S", "/AUTOSTART=1"]);
    for file in ["dialtone-dashboard.exe", "WebView2Loader.dll"] {
        assert!(
            p.install_dir().join(file).is_file(),
            "the upgrade did not install {file}"
        );
    }
    assert_eq!(
        p.reg(UNINSTALL_KEY, "DisplayVersion").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        p.reg(RUN_KEY, "dialtone"),
        Some(format!(r#""{install_location}\dialtone.exe""#)),
        "the same value the app's own switch writes"
    );
    assert_eq!(
        snapshot(&p.roaming()),
        users_files,
        "the upgrade left config and history as they were"
    );
    assert!(p.shortcut().is_file());
    let report = p.check();
    assert_eq!(
        report["verdict"], "healthy",
        "the upgraded program reads the kept config: {report:#}"
    );
    // The configured registrar is the one asked: stopped, it is the provider's outage.
    k.stop();
    let report = p.check();
    assert_eq!(report["verdict"], "provider_outage", "{report:#}");

    // A later silent upgrade without the switch keeps the user's choice. A dialtone of the
    // user's runs meanwhile (holding dialtone.exe open, which Windows would not let the
    // installer replace): the installer stops it, and starts the agent again afterwards.
    let mut running = p
        .wine()
        .arg(p.install_dir().join("dialtone.exe"))
        .args(["watch", "--interval", "1", "--no-history"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + slack(Duration::from_secs(10));
    while p.dialtone_processes().is_empty() {
        assert!(Instant::now() < deadline, "the watch never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    p.install(&installer, &["/S"]);
    let stopped = (0..100).find_map(|_| {
        let done = running.try_wait().unwrap();
        if done.is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        done
    });
    if stopped.is_none() {
        let _ = running.kill();
        panic!("the upgrade left the running dialtone running");
    }
    let _ = running.wait();
    assert!(p.reg(RUN_KEY, "dialtone").is_some(), "start at login kept");
    assert_eq!(
        p.dialtone_processes().len(),
        1,
        "the agent started again after the upgrade"
    );

    // 3. The silent uninstall: it stops the agent, and program, shortcut, entry and Run value
    // go; the user's config and history stay (the agent may have added to the history).
    let config_text = std::fs::read(&config).unwrap();
    p.uninstall(&[]);
    assert!(!p.install_dir().exists());
    assert!(p.dialtone_processes().is_empty(), "the agent was stopped");
    assert!(!p.shortcut().exists(), "shortcut removed");
    assert_eq!(p.reg(UNINSTALL_KEY, "UninstallString"), None);
    assert_eq!(p.reg(RUN_KEY, "dialtone"), None, "Run value removed");
    assert_eq!(std::fs::read(&config).unwrap(), config_text, "config kept");
    assert!(checks(&history) >= checks_before, "history kept");
    assert!(p.local().join("data").is_dir(), "the login ledger kept");

    // 4. Asked to, the uninstaller deletes the user's settings and history too.
    p.install(&installer, &["/S"]);
    assert_eq!(p.reg(RUN_KEY, "dialtone"), None);
    p.uninstall(&["/PURGE=1"]);
    assert!(!p.roaming().exists(), "purged {:?}", p.roaming());
    assert!(!p.local().exists(), "purged {:?}", p.local());
    println!("whole test: {:?}", started.elapsed());
}
