//! The always-on box's package: `scripts/package --arch arm64` packs the cross-compiled agent
//! (arm64, no dashboard, with the watch service), and the packaged binary runs here under
//! qemu-user against a real kamailio on loopback: `check` finds the line healthy with the
//! account's REGISTER, and `watch` confirms an outage when kamailio stops and its end when it
//! is back.
//!
//! The arm64 binary is the one scripts/test builds before `cargo test` (`cargo build --target
//! aarch64-unknown-linux-gnu -p dialtone --bin dialtone`, the dev profile): building it from
//! inside a test would hold the build directory while other tests need it. Run alone:
//! `source scripts/lib/setup.sh && install_arm64_deps && cargo build --target
//! aarch64-unknown-linux-gnu -p dialtone --bin dialtone`, then this test.
#![allow(clippy::unwrap_used)]

use dialtone_testkit::gate;
use dialtone_testkit::kamailio::{Kamailio, KamailioOptions};

use dialtone_core::observation::Transport;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TRIPLE: &str = "aarch64-unknown-linux-gnu";
const PASSWORD: &str = "pi-Pa55word";

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

/// The cross-built agent: beside this run's own binaries, under the target's folder.
fn arm64_binary() -> PathBuf {
    let host = Path::new(env!("CARGO_BIN_EXE_dialtone"));
    // target/debug/dialtone → target/aarch64-unknown-linux-gnu/debug/dialtone
    let profile = host.parent().unwrap();
    let target = profile.parent().unwrap();
    target
        .join(TRIPLE)
        .join(profile.file_name().unwrap())
        .join("dialtone")
}

/// The packaged binary under qemu-user, its C library from Debian's arm64 cross packages.
fn qemu(bin: &Path, home: &Path) -> Command {
    let mut cmd = Command::new("qemu-aarch64");
    cmd.args(["-L", "/usr/aarch64-linux-gnu"])
        .arg(bin)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("PI_PASSWORD", PASSWORD)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd
}

#[test]
fn the_arm64_package_holds_the_agent_and_runs_check_and_watch_under_qemu() {
    let arm = arm64_binary();
    let have_qemu = Command::new("qemu-aarch64")
        .arg("--version")
        .output()
        .is_ok();
    if !gate::require(
        arm.is_file() && have_qemu,
        &format!(
            "the arm64 build at {} and qemu-aarch64 (scripts/test makes both)",
            arm.display()
        ),
    ) {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let stdout = run(Command::new(repo().join("scripts/package"))
        .args([
            "--arch",
            "arm64",
            "--profile",
            "dev",
            "--no-build",
            "--fast",
            "--output",
        ])
        .arg(out.path()));
    let deb = PathBuf::from(stdout.lines().last().unwrap().trim());
    assert_eq!(
        deb.file_name().unwrap().to_str().unwrap(),
        format!("dialtone_{}-1_arm64.deb", env!("CARGO_PKG_VERSION")),
        "{stdout}"
    );
    let fields = run(Command::new("dpkg-deb").arg("-f").arg(&deb));
    assert!(fields.contains("\nArchitecture: arm64\n"), "{fields}");
    assert!(fields.contains("\nDepends: libc6 (>= 2.34)\n"), "{fields}");
    assert!(!fields.contains("webkit"), "no desktop stack: {fields}");

    let root = out.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let bin = root.join("usr/bin/dialtone");
    for file in [
        "usr/bin/dialtone",
        "lib/systemd/system/dialtone-watch.service",
        "usr/share/man/man1/dialtone-watch.1.gz",
        "usr/share/bash-completion/completions/dialtone",
    ] {
        assert!(
            root.join(file).is_file(),
            "{file} is missing from {}",
            deb.display()
        );
    }
    for absent in [
        "usr/bin/dialtone-dashboard",
        "usr/share/man/man1/dialtone-dashboard.1.gz",
        "usr/share/applications/dialtone.desktop",
    ] {
        assert!(
            !root.join(absent).exists(),
            "{absent} in the headless package"
        );
    }
    // An arm64 executable, stripped, that needs nothing but the C library the package depends
    // on (libc6 carries libc, libm and the loader; libgcc-s1 is Priority: required).
    let kind = run(Command::new("file").arg("-b").arg(&bin));
    assert!(
        kind.contains("ARM aarch64") && kind.contains(", stripped"),
        "{kind}"
    );
    let dynamic = run(Command::new("aarch64-linux-gnu-readelf")
        .arg("-d")
        .arg(&bin));
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    for lib in &needed {
        assert!(
            [
                "libc.so.6",
                "libm.so.6",
                "libgcc_s.so.1",
                "ld-linux-aarch64.so.1"
            ]
            .contains(lib),
            "{lib} is needed but not covered by Depends: {needed:?}"
        );
    }
    let symbols = run(Command::new("aarch64-linux-gnu-objdump")
        .arg("-T")
        .arg(&bin));
    let newest = symbols
        .split("GLIBC_")
        .skip(1)
        .filter_map(|s| {
            let v: String = s
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            Some((parts.next()?, parts.next().unwrap_or(0)))
        })
        .max()
        .unwrap();
    assert!(
        newest <= (2, 34),
        "needs GLIBC_{}.{}, Depends says 2.34",
        newest.0,
        newest.1
    );

    let home = out.path().join("home");
    let version = run(qemu(&bin, &home).arg("--version"));
    assert!(version.starts_with("dialtone "), "{version}");

    let mut k = Kamailio::start(KamailioOptions {
        users: vec![("pi".into(), PASSWORD.into())],
        ..KamailioOptions::default()
    });
    let anchors: Vec<TcpListener> = (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let line_args = |cmd: &mut Command| {
        cmd.args(["--registrar", &k.registrar_uri(Transport::Udp)])
            .args([
                "--gateway",
                "127.0.0.1",
                "--dns-name",
                "none",
                "--router",
                "off",
            ])
            .args(["--timeout", "2", "--lang", "en", "--json"]);
        for a in &anchors {
            cmd.arg("--anchor").arg(a.local_addr().unwrap().to_string());
        }
    };

    // check, with the account: OPTIONS and the authenticated REGISTER query from the arm64
    // binary, which finds the binding a phone holds (registered here as the FRITZ!Box would).
    k.register_contact("pi", PASSWORD, 600);
    let logins = k.authenticated_registers();
    let mut check = qemu(&bin, &home);
    check.args(["check", "--user", "pi", "--password-env", "PI_PASSWORD"]);
    line_args(&mut check);
    let done = check.output().unwrap();
    let report: Value = serde_json::from_slice(&done.stdout).unwrap_or_else(|e| {
        panic!(
            "check --json: {e}\n{}",
            String::from_utf8_lossy(&done.stderr)
        )
    });
    assert_eq!(report["verdict"], "healthy", "{report:#}");
    assert_eq!(done.status.code(), Some(0));
    let account = dialtone_testkit::layer(&report, "account");
    assert_eq!(account["status"], "ok", "{account:#}");
    assert_eq!(
        k.authenticated_registers(),
        logins + 1,
        "one login, from the arm64 check"
    );

    // watch: healthy, then the outage confirmed when kamailio stops, then its end.
    let mut watch = qemu(&bin, &home);
    watch.args(["watch", "--interval", "1", "--recheck", "1", "--no-history"]);
    line_args(&mut watch);
    let mut child = watch
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str(&line) {
                if tx.send(event).is_err() {
                    break;
                }
            }
        }
    });
    let wait_for = |verdict: &str| -> Value {
        loop {
            let event = rx
                .recv_timeout(gate::slack(Duration::from_secs(40)))
                .unwrap_or_else(|_| panic!("watch under qemu never reported {verdict}"));
            if event["verdict"] == verdict {
                return event;
            }
        }
    };
    wait_for("healthy");
    k.stop();
    let outage = wait_for("provider_outage");
    assert_eq!(outage["event"], "verdict_changed", "{outage:#}");
    assert_eq!(outage["from"], "healthy");
    k.start_again();
    let back = wait_for("healthy");
    assert_eq!(back["from"], "provider_outage", "{back:#}");
    let _ = child.kill();
    let _ = child.wait();
}
