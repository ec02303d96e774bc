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
        "/lib/systemd/system/dialtone-watch.service".into(),
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
    // Stripped: a debug build keeps ~250 MB of debug info per binary otherwise.
    assert!(
        listed["/usr/bin/dialtone"] < std::fs::metadata(agent).unwrap().len() / 2,
        "the agent was not stripped"
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
