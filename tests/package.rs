//! The Debian package: `scripts/package` builds it, and this checks what a user would get —
//! its files and control fields (`dpkg-deb -c`/`-I`), dpkg installs it into a throwaway root
//! (its own database, `dpkg --root`) and removes it again, the binaries run from there, its
//! dependencies are installed on this system, and `lintian` finds no errors.
//!
//! Which binaries: the debug ones this `cargo test` run has already built, packaged with
//! `scripts/package --profile dev --no-build`. A release build of both binaries costs ~11 min
//! on the CI machine (the dashboard ~7, the agent ~4), and a fresh `cargo build -p dialtone`
//! from inside the test would resolve features without the dev-dependencies (tokio's
//! test-util, …) and rebuild much of the tree. What is checked here — the file list, the
//! control fields, the library dependencies dpkg-shlibdeps finds, the generated man pages and
//! completions, the commit in `--version` — is the same for both profiles; users get release
//! from a plain `scripts/package`.
//!
//! The dashboard binary comes from the same run (`cargo test` at the workspace root builds it);
//! run alone, build it first: `cargo build -p dialtone-dashboard`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dpkg` working on the throwaway root `root` instead of this system.
fn dpkg_in(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display()));
    cmd
}

/// Installs `deb` into `root` as dpkg installs it on a system: a database of its own (empty),
/// maintainer scripts run outside a chroot (the root has no shell to run them with), and the
/// dependencies not looked for there (the root has no libraries; the caller checks them on
/// this system).
fn install_into(root: &Path, deb: &Path) {
    let db = root.join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(db.join(dir)).unwrap();
    }
    for file in ["status", "available"] {
        std::fs::write(db.join(file), "").unwrap();
    }
    run(dpkg_in(root)
        .args(["--force-depends", "--force-script-chrootless", "-i"])
        .arg(deb));
}

/// `dpkg-deb -I`'s control fields (continuation lines folded into their field).
fn control(deb: &Path) -> BTreeMap<String, String> {
    let text = run(Command::new("dpkg-deb").args(["-f"]).arg(deb));
    let mut fields = BTreeMap::new();
    let mut last = String::new();
    for line in text.lines() {
        if line.starts_with(' ') {
            if let Some(v) = fields.get_mut(&last) {
                *v = format!("{v}\n{line}");
            }
        } else if let Some((k, v)) = line.split_once(':') {
            last = k.to_string();
            fields.insert(last.clone(), v.trim().to_string());
        }
    }
    fields
}

/// The package's regular files with their sizes, from `dpkg-deb -c`.
fn files(deb: &Path) -> BTreeMap<String, u64> {
    run(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let path = cols[5].trim_start_matches('.').to_string();
            (path, cols[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn the_package_installs_the_app_and_passes_lintian() {
    let agent = Path::new(env!("CARGO_BIN_EXE_dialtone"));
    let dashboard = agent.with_file_name("dialtone-dashboard");
    assert!(
        dashboard.is_file(),
        "{} is missing: `cargo test` at the workspace root builds it, or `cargo build -p dialtone-dashboard`",
        dashboard.display()
    );
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let stdout = run(Command::new(repo().join("scripts/package"))
        .args(["--profile", "dev", "--no-build", "--fast", "--output"])
        .arg(out.path()));
    let packaging = started.elapsed();
    let deb = PathBuf::from(stdout.lines().last().unwrap().trim());
    assert!(deb.is_file(), "the last line names the package: {stdout}");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        deb.file_name().unwrap().to_str().unwrap(),
        format!("dialtone_{version}-1_amd64.deb")
    );

    // The control fields: the WebKit stack comes with the dashboard, the tray's home on GNOME
    // is recommended.
    let fields = control(&deb);
    assert_eq!(fields["Package"], "dialtone");
    assert_eq!(fields["Version"], format!("{version}-1"));
    let depends = &fields["Depends"];
    for lib in ["libc6", "libwebkit2gtk-4.1-0", "libgtk-3-0"] {
        assert!(depends.contains(lib), "Depends lacks {lib}: {depends}");
    }
    assert!(
        fields["Recommends"].contains("gnome-shell-extension-appindicator"),
        "{fields:?}"
    );
    // The newest changelog entry is this version (lintian would not catch a stale one).
    let changelog = std::fs::read_to_string(repo().join("packaging/changelog")).unwrap();
    assert!(
        changelog.starts_with(&format!("dialtone ({version}-1) ")),
        "packaging/changelog's first entry is not {version}-1"
    );

    let listed = files(&deb);
    let mut wanted = vec![
        "/usr/bin/dialtone".to_string(),
        "/usr/bin/dialtone-dashboard".into(),
        "/usr/share/applications/dialtone.desktop".into(),
        "/usr/share/dialtone/autostart/dialtone.desktop".into(),
        "/usr/share/doc/dialtone/copyright".into(),
        "/usr/share/doc/dialtone/changelog.Debian.gz".into(),
        "/usr/share/man/man1/dialtone.1.gz".into(),
        "/usr/share/man/man1/dialtone-check.1.gz".into(),
        "/usr/share/man/man1/dialtone-dashboard.1.gz".into(),
        "/usr/share/bash-completion/completions/dialtone".into(),
        "/usr/share/zsh/vendor-completions/_dialtone".into(),
        "/usr/share/fish/vendor_completions.d/dialtone.fish".into(),
    ];
    for size in [16, 22, 24, 32, 48, 64, 128, 256, 512] {
        wanted.push(format!(
            "/usr/share/icons/hicolor/{size}x{size}/apps/dialtone.png"
        ));
    }
    let missing: Vec<&String> = wanted.iter().filter(|f| !listed.contains_key(*f)).collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}; the package has {listed:#?}"
    );
    // Installed-Size (KiB) accounts for the files (dpkg rounds each up, and counts dirs).
    let installed_kib: u64 = fields["Installed-Size"].parse().unwrap();
    let files_kib = listed.values().sum::<u64>() / 1024;
    assert!(
        installed_kib >= files_kib && installed_kib <= files_kib + files_kib / 20 + 64,
        "Installed-Size {installed_kib} KiB for {files_kib} KiB of files"
    );

    // Installed by dpkg into a throwaway root (its own database: what dpkg records is checked,
    // not only what the archive holds), the binaries run from there.
    let root = tempfile::tempdir().unwrap();
    install_into(root.path(), &deb);
    let status = run(dpkg_in(root.path()).args(["-s", "dialtone"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    let owned = run(dpkg_in(root.path()).args(["-L", "dialtone"]));
    for path in ["/usr/bin/dialtone", "/usr/bin/dialtone-dashboard"] {
        assert!(
            owned.lines().any(|l| l == path),
            "dpkg does not own {path}: {owned}"
        );
    }
    // The throwaway root has no libraries: what the package depends on is installed here.
    for package in depends
        .split(',')
        .filter_map(|d| d.split_whitespace().next())
    {
        let state = run(Command::new("dpkg-query")
            .args(["-W", "-f", "${Status}"])
            .arg(package));
        assert_eq!(state, "install ok installed", "{package}, a dependency");
    }
    let bin = root.path().join("usr/bin/dialtone");
    // Stripped: no symbol table nor the line tables a debug build keeps.
    for installed in [&bin, &root.path().join("usr/bin/dialtone-dashboard")] {
        let kind = run(Command::new("file").arg("-b").arg(installed));
        assert!(
            kind.contains(", stripped"),
            "{} was not stripped: {kind}",
            installed.display()
        );
    }
    let shown = run(Command::new(&bin).arg("--version"));
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_string(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        );
    assert_eq!(
        shown.trim(),
        format!("dialtone {version} (commit {commit})")
    );
    let help = run(Command::new(&bin).args(["check", "--help"]));
    assert!(help.contains("--registrar"), "{help}");
    // The completions come from the real command line: bash loads them, and they know the
    // subcommands and flags.
    let completion = root
        .path()
        .join("usr/share/bash-completion/completions/dialtone");
    let registered = run(Command::new("bash").arg("-c").arg(format!(
        "source '{}' && complete -p dialtone",
        completion.display()
    )));
    assert!(registered.contains("dialtone"), "{registered}");
    let bash = std::fs::read_to_string(&completion).unwrap();
    assert!(bash.contains("--registrar") && bash.contains("providers"));
    assert!(
        !bash.contains("package-files"),
        "the packaging entry is not offered"
    );
    let man =
        run(Command::new("zcat").arg(root.path().join("usr/share/man/man1/dialtone-check.1.gz")));
    assert!(man.contains("\n.TH dialtone-check 1 "), "{man}");
    assert!(man.contains("registrar"));
    // The autostart template shipped is the one the agent writes
    // (crates/platform/src/linux/autostart.rs compiles it in).
    assert_eq!(
        std::fs::read(
            root.path()
                .join("usr/share/dialtone/autostart/dialtone.desktop")
        )
        .unwrap(),
        std::fs::read(repo().join("packaging/dialtone-autostart.desktop")).unwrap()
    );
    let desktop =
        std::fs::read_to_string(root.path().join("usr/share/applications/dialtone.desktop"))
            .unwrap();
    assert!(desktop.contains("\nExec=dialtone\n") && desktop.contains("\nIcon=dialtone\n"));

    check_watch_service(root.path());

    // And removed again: dpkg takes away every file it installed.
    run(dpkg_in(root.path()).args(["-r", "dialtone"]));
    assert!(!bin.exists(), "removing the package left {}", bin.display());

    // lintian: no errors. Warnings are printed for the record.
    let started_lintian = Instant::now();
    let report = Command::new("lintian")
        .arg("--no-tag-display-limit")
        .arg(&deb)
        .output()
        .expect("lintian (package lintian; scripts/test installs it)");
    let text = String::from_utf8_lossy(&report.stdout);
    eprintln!(
        "package: {} bytes, Installed-Size {installed_kib} KiB; scripts/package {packaging:.1?}, lintian {:.1?}\nlintian:\n{text}",
        std::fs::metadata(&deb).unwrap().len(),
        started_lintian.elapsed()
    );
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
    // lintian exits non-zero on errors only (warnings leave it at 0 by default).
    assert!(
        report.status.success(),
        "lintian failed: {text}\n{}",
        String::from_utf8_lossy(&report.stderr)
    );
}

/// The exposure score `systemd-analyze security` may give the watch service at most: its scale
/// runs from 0 (locked down) to 10, and up to 2 is what systemd itself labels "OK".
const MAX_EXPOSURE: f64 = 2.0;

/// The always-on box's service (packaging/dialtone-watch.service) as dpkg installed it into
/// `root`: systemd's own checker has nothing to say about it, its exposure score stays in
/// systemd's "OK" band, and `dialtone watch` started the way the unit starts it (an unprivileged
/// user, the unit's environment) reads its config from /etc/dialtone and records into
/// /var/lib/dialtone, the folder systemd makes writable for it.
fn check_watch_service(root: &Path) {
    let unit = root.join("lib/systemd/system/dialtone-watch.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    let man = root.join("usr/share/man/man1/dialtone-watch.1.gz");
    assert!(
        man.is_file(),
        "the unit's Documentation= names {}",
        man.display()
    );

    // `verify` resolves what the unit pulls in (sysinit.target, network-online.target, …) and
    // its ExecStart inside --root: a root with this system's unit files, the installed unit and
    // the installed binary.
    let sysroot = tempfile::tempdir().unwrap();
    let units = sysroot.path().join("lib/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg("/lib/systemd/system/.")
        .arg(&units));
    std::fs::copy(&unit, units.join("dialtone-watch.service")).unwrap();
    std::fs::create_dir_all(sysroot.path().join("usr/bin")).unwrap();
    std::fs::copy(
        root.join("usr/bin/dialtone"),
        sysroot.path().join("usr/bin/dialtone"),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", sysroot.path().display()))
        .arg(units.join("dialtone-watch.service"))
        .output()
        .expect("systemd-analyze (package systemd; scripts/test installs it)");
    // verify exits 0 on settings it ignores: anything it prints is a finding.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {}\n{said}",
        verify.status
    );

    let security = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit));
    let score: f64 = security
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for dialtone-watch.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{security}"));
    eprintln!("systemd-analyze security dialtone-watch.service: {score}");
    assert!(
        score <= MAX_EXPOSURE,
        "exposure {score} > {MAX_EXPOSURE}:\n{security}"
    );

    if !dialtone_testkit::gate::require_root("run dialtone watch as the service's own user") {
        return;
    }
    run_as_the_service(root, &text);
}

/// `dialtone watch` as the unit runs it: the unit's Environment= with every absolute folder
/// moved under a scratch root, as a user id of its own (systemd's DynamicUser), with the
/// folders systemd would make (state and cache owned by that user, 0700; the configuration
/// folder root's, world-readable). The line is on loopback with nothing answering, so the first
/// verdict comes at once.
fn run_as_the_service(root: &Path, unit: &str) {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    const UID: u32 = 61_873;

    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let env: Vec<(String, PathBuf)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(str::split_whitespace)
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), base.path().join(v.trim_start_matches('/'))))
        .collect();
    assert!(
        env.iter().any(|(k, _)| k == "XDG_STATE_HOME"),
        "the unit sets the XDG folders: {env:?}"
    );
    let config = base.path().join("etc/dialtone");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::set_permissions(
        base.path().join("etc"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o755)).unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = silent.local_addr().unwrap().port();
    drop(silent);
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[account]\nregistrar = \"sip:127.0.0.1:{closed}\"\n\n[network]\n\
             anchors = [\"127.0.0.1:{closed}\"]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        config.join("config.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    for dir in ["var/lib/dialtone", "var/cache/dialtone"] {
        let dir = base.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for up in [
            dir.parent().unwrap(),
            dir.parent().unwrap().parent().unwrap(),
        ] {
            std::fs::set_permissions(up, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        run(Command::new("chown").arg(format!("{UID}:{UID}")).arg(&dir));
    }

    let mut watch = Command::new("setpriv")
        .args([
            format!("--reuid={UID}"),
            format!("--regid={UID}"),
            "--clear-groups".into(),
        ])
        .arg(root.join("usr/bin/dialtone"))
        .args(["watch", "--json", "--interval", "1", "--recheck", "1"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A watch that prints nothing must not hang the test: it is stopped after a bound.
    let pid = watch.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(dialtone_testkit::gate::slack(
            std::time::Duration::from_secs(30),
        ));
        let _ = Command::new("kill").arg(pid).status();
    });
    let mut first = String::new();
    let read = BufReader::new(watch.stdout.take().unwrap()).read_line(&mut first);
    let _ = watch.kill();
    let done = watch.wait_with_output().unwrap();
    read.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    let event: serde_json::Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("watch's first line {first:?}: {e}\nstderr:\n{stderr}"));
    assert_eq!(event["verdict"], "provider_outage", "{first}");
    // It read /etc/dialtone/config.toml: the registrar it checked is the one written there.
    assert!(first.contains(&format!("127.0.0.1:{closed}")), "{first}");
    // Everything it keeps is in the state folder, owned by the service's user.
    let history = base.path().join("var/lib/dialtone/history.sqlite3");
    let meta = std::fs::metadata(&history)
        .unwrap_or_else(|e| panic!("{}: {e}\nstderr:\n{stderr}", history.display()));
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), UID);
}
