//! A computer that cannot open another socket (EMFILE: e.g. a flood of idle connections to
//! the metrics exporter used up the open-file limit) must never read as a provider or
//! internet outage: the probes that sent nothing say "this computer could not open a socket",
//! a local finding (issue 17, point 10).
//!
//! The round runs in a child process (this test binary again) under `prlimit --nofile`, which
//! opens files until the limit is reached and then runs one real round of the line's probes
//! against loopback: anchors, a gateway and a registrar that would all answer.
#![allow(clippy::unwrap_used)]

use dialtone_core::catalog::Catalog;
use dialtone_core::config::Config;
use dialtone_core::diagnosis::{diagnose, Fact, Thresholds};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{Layer, Verdict};
use dialtone_engine::probe::line::{LineProber, LineSettings};
use dialtone_engine::probe::{ProbeScope, Prober};
use std::path::Path;
use std::process::Command;

/// Set in the child: run the round instead of starting a child.
const CHILD: &str = "DIALTONE_TEST_NO_SOCKET_CHILD";
/// The child prints this after its round, so the parent knows the round really ran.
const DONE: &str = "no-socket round done";
const TEST: &str = "a_computer_out_of_sockets_is_a_local_finding_never_an_outage";

#[test]
fn a_computer_out_of_sockets_is_a_local_finding_never_an_outage() {
    if std::env::var_os(CHILD).is_some() {
        return out_of_sockets_round();
    }
    let out = Command::new("prlimit")
        .arg("--nofile=256:256")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run prlimit (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(DONE),
        "the round under a 256-file limit failed or never ran:\n{stdout}\n{stderr}"
    );
}

/// The child's part: everything set up while sockets can still be opened, then the file
/// table filled, then one round.
fn out_of_sockets_round() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A registrar, two anchors and a "gateway" that would all answer on loopback.
    let anchors: Vec<_> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let registrar = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // A DNS server on loopback that would be asked (and never answers).
    let dns = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // One TCP anchor and one HTTP anchor: their errors come through different libraries.
    let list = format!(
        "\"{}\", \"http://{}/generate_204\"",
        anchors[0].local_addr().unwrap(),
        anchors[1].local_addr().unwrap()
    );
    let text = format!(
        "[account]\nregistrar = \"sip:{}\"\n\
         [network]\nanchors = [{list}]\ngateway = \"127.0.0.1\"\ndns_name = \"example.com\"\n\
         dns_server = \"{}\"\n[router]\nurl = \"off\"\n",
        registrar.local_addr().unwrap(),
        dns.local_addr().unwrap()
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let mut settings = LineSettings::from_config(&config, None, &Catalog::builtin().unwrap())
        .expect("settings from the config");
    settings.login_ledger = Some(dir.path().join("logins.json"));
    settings.timeout = std::time::Duration::from_secs(2);
    settings.sip.timeout = settings.timeout;
    let prober = runtime
        .block_on(async { LineProber::new(settings) })
        .unwrap();

    // Fill this process' file table: every further socket() fails with EMFILE.
    let mut held = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => held.push(file),
            Err(e) if e.raw_os_error() == Some(24) => break,
            Err(e) => panic!("unexpected error while filling the file table: {e}"),
        }
        assert!(held.len() < 100_000, "the file limit did not apply");
    }
    let snapshot = runtime.block_on(prober.probe(ProbeScope { account: false }));
    drop(held);

    let d = diagnose(&snapshot, &Thresholds::default());
    let evidence = |layer| -> Vec<String> {
        d.layer(layer)
            .map(|r| r.evidence.iter().map(|f| f.render(Lang::En)).collect())
            .unwrap_or_default()
    };
    let all = format!("{:#?}\n{:?}", d.layers, snapshot);
    // Never someone else's outage: the lowest failing layer is this computer.
    assert_eq!(d.verdict, Verdict::LocalProblem, "{all}");
    assert_eq!(d.failing_layer, Some(Layer::Device), "{all}");
    let device = d.layer(Layer::Device).unwrap();
    let Some(Fact::CannotOpenSocket { checks }) = device.evidence.first() else {
        panic!("the device layer must say it could not open a socket: {all}");
    };
    // The anchors and the registrar were among the checks that could not run.
    for anchor in &anchors {
        let addr = anchor.local_addr().unwrap().to_string();
        assert!(checks.iter().any(|c| c.contains(&addr)), "{addr}: {all}");
    }
    assert!(checks.iter().any(|c| c == "example.com"), "DNS: {all}");
    let sip = registrar.local_addr().unwrap().to_string();
    assert!(checks.iter().any(|c| c.contains(&sip)), "{sip}: {all}");
    // In the words people read first, both languages.
    assert!(
        d.headline(Lang::En)
            .starts_with("This computer could not open a socket"),
        "{}",
        d.headline(Lang::En)
    );
    assert!(
        d.headline(Lang::De)
            .starts_with("Dieser Computer konnte keinen Socket öffnen"),
        "{}",
        d.headline(Lang::De)
    );
    // The probes' own evidence says why, by its kind, with no errno.
    let provider = evidence(Layer::Provider).join(" | ");
    assert!(provider.contains("could not open a socket"), "{provider}");
    assert!(!provider.contains("os error"), "{provider}");
    println!("{DONE}");
}
