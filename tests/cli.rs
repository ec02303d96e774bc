//! End to end through the `dialtone` binary against a real kamailio registrar on loopback:
//! `check` gives the right verdict, JSON and exit code for each layer's failure, and `watch`
//! prints confirmed changes. Internet anchors are TCP listeners the test owns; the gateway is
//! 127.0.0.1; no traffic leaves loopback.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;
use dialtone_testkit::layer;

use dialtone_core::observation::Transport;
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::kamailio::{Kamailio, KamailioOptions};
use support::netns::DropPorts;

const PASSWORD: &str = "s3cr3t-Pa55";

/// Two internet anchors that accept connections for as long as the value lives.
struct Anchors {
    listeners: Vec<TcpListener>,
}

impl Anchors {
    fn start() -> Anchors {
        let listeners = (0..2)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind anchor"))
            .collect();
        Anchors { listeners }
    }

    fn args(&self) -> Vec<String> {
        self.listeners
            .iter()
            .flat_map(|l| ["--anchor".to_string(), l.local_addr().unwrap().to_string()])
            .collect()
    }

    fn ports(&self) -> Vec<u16> {
        self.listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect()
    }
}

fn kamailio(tls: bool) -> Kamailio {
    Kamailio::start(KamailioOptions {
        users: vec![("alice".into(), PASSWORD.into())],
        tls,
        ..KamailioOptions::default()
    })
}

/// A `dialtone` command with no config file of its own and everything pointed at loopback.
fn dialtone(sub: &str, registrar: &str, anchors: &Anchors) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
    let dir = std::env::temp_dir().join(format!("dialtone-cli-{}", std::process::id()));
    cmd.arg(sub);
    if sub == "check" {
        cmd.args(["--timeout", "2"]);
    }
    cmd.args(["--config"])
        .arg(dir.join("no-such-config.toml"))
        .args(["--registrar", registrar])
        .args(["--gateway", "127.0.0.1", "--dns-name", "none"])
        .args(anchors.args())
        .args(["--lang", "en"])
        .env("DIALTONE_TEST_PASSWORD", PASSWORD)
        .env("DIALTONE_WRONG_PASSWORD", "not-the-password")
        .env("XDG_CONFIG_HOME", &dir)
        .env("HOME", &dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd
}

fn with_user<'a>(cmd: &'a mut Command, password_var: &str) -> &'a mut Command {
    cmd.args(["--user", "alice", "--password-env", password_var])
}

fn run_json(cmd: &mut Command) -> (Value, Output) {
    let out = cmd.arg("--json").output().expect("run dialtone");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out)
}

/// `dialtone check --json` against `registrar`: the report and the process's output.
fn check_json(registrar: &str, anchors: &Anchors) -> (Value, Output) {
    run_json(&mut dialtone("check", registrar, anchors))
}

fn assert_verdict(json: &Value, out: &Output, verdict: &str, code: i32) {
    assert_eq!(json["verdict"], verdict, "{json:#}");
    assert_eq!(out.status.code(), Some(code), "{json:#}");
    assert_eq!(json["exit_code"], code);
}

#[test]
fn options_over_udp_tcp_and_tls_is_healthy() {
    let k = kamailio(true);
    let anchors = Anchors::start();
    for transport in [Transport::Udp, Transport::Tcp, Transport::Tls] {
        let mut cmd = dialtone("check", &k.registrar_uri(transport), &anchors);
        if transport == Transport::Tls {
            cmd.arg("--ca-file").arg(k.ca_cert_path());
        }
        let (json, out) = run_json(&mut cmd);
        assert_verdict(&json, &out, "healthy", 0);
        assert_eq!(json["summary"], "Your line works: every check passed.");
        let provider = layer(&json, "provider");
        assert_eq!(provider["status"], "ok", "{transport:?}: {provider:#}");
        assert!(provider["latency_ms"].as_f64().unwrap() > 0.0);
        let evidence = provider["evidence"].to_string();
        assert!(evidence.contains("OPTIONS"), "{evidence}");
        assert_eq!(layer(&json, "internet")["status"], "ok");
        assert_eq!(layer(&json, "home_network")["status"], "ok");
        assert_eq!(layer(&json, "account")["status"], "skipped");
        assert!(chrono::DateTime::parse_from_rfc3339(json["checked_at"].as_str().unwrap()).is_ok());
        assert_eq!(json["layers"].as_array().unwrap().len(), 6);
    }
}

#[test]
fn tls_without_trusting_the_certificate_is_a_provider_outage() {
    let k = kamailio(true);
    let anchors = Anchors::start();
    let (json, out) = check_json(&k.registrar_uri(Transport::Tls), &anchors);
    assert_verdict(&json, &out, "provider_outage", 12);
    let evidence = layer(&json, "provider")["evidence"]
        .to_string()
        .to_lowercase();
    assert!(
        evidence.contains("tls") || evidence.contains("certificate"),
        "{evidence}"
    );
}

#[test]
fn no_binding_is_an_account_problem_until_a_phone_registers() {
    let k = kamailio(false);
    let anchors = Anchors::start();
    let registrar = k.registrar_uri(Transport::Udp);

    let (json, out) = run_json(with_user(
        &mut dialtone("check", &registrar, &anchors),
        "DIALTONE_TEST_PASSWORD",
    ));
    assert_verdict(&json, &out, "account_problem", 11);
    assert_eq!(json["failing_layer"], "account");
    assert_eq!(json["bindings"], serde_json::json!([]));
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .contains("No phone or router is registered"),
        "{json:#}"
    );

    // With `--expect-binding no` the same line is healthy.
    let (json, out) = run_json(
        with_user(
            &mut dialtone("check", &registrar, &anchors),
            "DIALTONE_TEST_PASSWORD",
        )
        .args(["--expect-binding", "no"]),
    );
    assert_verdict(&json, &out, "healthy", 0);

    // A real UA (sipsak) registers: now the phone can ring.
    let contact = k.register_contact("alice", PASSWORD, 600);
    let (json, out) = run_json(with_user(
        &mut dialtone("check", &registrar, &anchors),
        "DIALTONE_TEST_PASSWORD",
    ));
    assert_verdict(&json, &out, "healthy", 0);
    let bindings = json["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 1, "{json:#}");
    assert!(bindings[0]["contact"].as_str().unwrap().contains(&contact));
    let expires = bindings[0]["expires"].as_u64().unwrap();
    assert!((1..=600).contains(&expires), "expires {expires}");

    // Our queries added nothing: the registrar still holds exactly the one binding.
    let reply = k.query("alice", PASSWORD).unwrap();
    assert_eq!(reply.contacts().len(), 1, "{}", reply.text);
}

#[test]
fn wrong_password_is_an_account_problem_and_never_shown() {
    let k = kamailio(false);
    let anchors = Anchors::start();
    let out = with_user(
        &mut dialtone("check", &k.registrar_uri(Transport::Udp), &anchors),
        "DIALTONE_WRONG_PASSWORD",
    )
    .arg("--json")
    .output()
    .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_verdict(&json, &out, "account_problem", 11);
    assert_eq!(layer(&json, "account")["status"], "failed");
    assert!(
        layer(&json, "account")["evidence"]
            .to_string()
            .contains("403"),
        "{json:#}"
    );
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .contains("rejects the login"),
        "{json:#}"
    );
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains("not-the-password"),
            "password leaked: {text}"
        );
    }
    // The text form and debug logging do not leak it either (the technical detail, with the
    // server's code, is what `--verbose` shows).
    let out = with_user(
        &mut dialtone("check", &k.registrar_uri(Transport::Udp), &anchors),
        "DIALTONE_WRONG_PASSWORD",
    )
    .arg("--verbose")
    .env("RUST_LOG", "trace")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(11));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("not-the-password"), "password leaked: {all}");
    assert!(all.contains("403"), "{all}");
}

#[test]
fn stopped_registrar_with_working_internet_is_a_provider_outage() {
    let mut k = kamailio(false);
    let anchors = Anchors::start();
    let registrar = k.registrar_uri(Transport::Udp);
    k.stop();
    let started = Instant::now();
    let (json, out) = check_json(&registrar, &anchors);
    assert_verdict(&json, &out, "provider_outage", 12);
    assert_eq!(json["failing_layer"], "provider");
    assert_eq!(layer(&json, "internet")["status"], "ok");
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .starts_with("Your internet works"),
        "{json:#}"
    );
    // Bounded by the 2 s timeout (plus start-up), not by SIP's 32 s Timer F.
    assert!(
        started.elapsed() < support::slack(Duration::from_secs(10)),
        "{:?}",
        started.elapsed()
    );

    // Over TCP the closed port is refused at once.
    let (json, out) = check_json(
        &format!("sip:127.0.0.1:{};transport=tcp", k.tcp_port()),
        &anchors,
    );
    assert_verdict(&json, &out, "provider_outage", 12);
}

#[test]
fn a_registrar_answering_503_is_a_provider_outage_with_the_servers_words() {
    let mut k = kamailio(false);
    k.set_reply_503(true);
    let anchors = Anchors::start();
    let (json, out) = check_json(&k.registrar_uri(Transport::Udp), &anchors);
    assert_verdict(&json, &out, "provider_outage", 12);
    let evidence = layer(&json, "provider")["evidence"].to_string();
    assert!(evidence.contains("503"), "{evidence}");
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .contains("reports a failure"),
        "{json:#}"
    );
}

#[test]
fn anchors_down_is_internet_down() {
    let k = kamailio(false);
    let anchors = Anchors::start();
    let Some(_drop) = DropPorts::new(&anchors.ports()) else {
        return;
    };
    let (json, out) = check_json(&k.registrar_uri(Transport::Udp), &anchors);
    assert_verdict(&json, &out, "internet_down", 13);
    assert_eq!(json["failing_layer"], "internet");
    assert_eq!(layer(&json, "home_network")["status"], "ok");
    assert_eq!(layer(&json, "provider")["status"], "skipped");
}

#[test]
fn config_errors_name_the_key_and_file_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[account]\nregistrar = \"sip:127.0.0.1:5060\"\nregistar = \"x\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("account.registar"), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["check", "--registrar", "sip:", "--config"])
        .arg(dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["check", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors are clap's 2");

    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args([
            "check",
            "--registrar",
            "sip:127.0.0.1:5060",
            "--user",
            "alice",
        ])
        .args(["--password-env", "DIALTONE_SURELY_UNSET", "--config"])
        .arg(dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DIALTONE_SURELY_UNSET"));
}

#[test]
fn a_config_file_drives_the_check() {
    let k = kamailio(false);
    let anchors = Anchors::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let list = anchors
        .listeners
        .iter()
        .map(|l| format!("\"{}\"", l.local_addr().unwrap()))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        &path,
        format!(
            "[account]\nregistrar = \"{}\"\nuser = \"alice\"\npassword_env = \"DIALTONE_TEST_PASSWORD\"\n\
             [network]\nanchors = [{list}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\
             [thresholds]\nexpect_binding = false\n",
            k.registrar_uri(Transport::Tcp)
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["check", "--json", "--lang", "de", "--config"])
        .arg(&path)
        .env("DIALTONE_TEST_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_verdict(&json, &out, "healthy", 0);
    assert_eq!(
        json["summary"],
        "Ihr Anschluss funktioniert: alle Prüfungen waren in Ordnung."
    );
    assert_eq!(layer(&json, "account")["status"], "ok");
}

#[test]
fn watch_prints_each_confirmed_change() {
    let mut k = kamailio(false);
    let anchors = Anchors::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let (mut child, rx) = support::spawn_with_lines(
        dialtone("watch", &k.registrar_uri(Transport::Udp), &anchors)
            .arg("--db")
            .arg(&db)
            .arg("--json")
            .args(support::FAST_ROUNDS),
    )
    .unwrap();
    let next = |rx: &std::sync::mpsc::Receiver<(Instant, String)>| -> Value {
        support::next_json(rx, Duration::from_secs(20))
    };
    let first = next(&rx);
    assert_eq!(first["event"], "verdict_changed");
    assert_eq!(first["from"], "unknown");
    assert_eq!(first["to"], "healthy");

    let stopped_at = Instant::now();
    k.stop();
    let second = next(&rx);
    assert_eq!(second["from"], "healthy");
    assert_eq!(second["to"], "provider_outage", "{second:#}");
    assert_eq!(second["verdict"], "provider_outage");
    // Two confirmations at a 1 s re-check with a 1 s timeout: well under 10 s.
    assert!(
        stopped_at.elapsed() < support::slack(Duration::from_secs(10)),
        "{:?}",
        stopped_at.elapsed()
    );

    k.start_again();
    let third = next(&rx);
    assert_eq!(third["to"], "healthy");
    assert!(third["lasted_secs"].as_i64().unwrap() >= 1, "{third:#}");

    // SIGTERM ends it cleanly.
    support::sigterm(&child).unwrap();
    let status = support::exited_within(&mut child, Duration::from_secs(5))
        .expect("watch did not stop on SIGTERM");
    assert!(status.success(), "{status}");

    // The outage is one episode in the history, with the provider as the failing layer and
    // the duration `watch` reported.
    let csv = support::export_log(&db, "csv", "en", &dir.path().join("outages.csv"));
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(rows[0].contains("VoIP provider"), "{csv}");
    let fields: Vec<&str> = rows[0].split(',').collect();
    let duration: i64 = fields[5].parse().unwrap();
    let reported = third["lasted_secs"].as_i64().unwrap();
    assert!(
        (duration - reported).abs() <= 1,
        "csv {duration} s, watch said {reported} s"
    );
    let start = chrono::DateTime::parse_from_rfc3339(fields[1]).unwrap();
    let began = chrono::DateTime::parse_from_rfc3339(second["since"].as_str().unwrap()).unwrap();
    assert!(
        (start - began).num_milliseconds().abs() < 1000,
        "episode starts {start}, the outage began {began}"
    );

    // The printable report says the same in both languages: one episode, the provider as
    // the failing layer, the CSV's duration.
    let hms = format!(
        "{}:{:02}:{:02}",
        duration / 3600,
        duration / 60 % 60,
        duration % 60
    );
    for (lang, layer, duration_label) in [
        ("en", "VoIP provider", "Duration (h:mm:ss)"),
        ("de", "VoIP-Anbieter", "Dauer (h:mm:ss)"),
    ] {
        let html_path = dir.path().join(format!("outages-{lang}.html"));
        let html = support::export_log(&db, "html", lang, &html_path);
        assert_eq!(html.matches("<h3>Episode #").count(), 1, "{html}");
        assert!(
            html.contains(&format!("<td>{layer}</td>")),
            "{lang}: no failing layer {layer:?} in {html}"
        );
        assert!(
            html.contains(&format!("<th>{duration_label}</th><td>{hms}</td>")),
            "{lang}: no duration {hms} in {html}"
        );
    }

    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["--lang", "en", "log", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.to_lowercase().contains("provider"), "{listing}");
}

#[test]
fn a_registrar_domain_is_located_by_naptr_and_srv_through_the_given_dns_server() {
    let k = kamailio(false);
    let anchors = Anchors::start();
    let naptr_tcp = "--naptr-record=voip.test,10,50,s,SIP+D2T,,_sip._tcp.voip.test";
    let srv_tcp = format!(
        "--srv-host=_sip._tcp.voip.test,sip.voip.test,{},10,50",
        k.tcp_port()
    );
    let host = "--host-record=sip.voip.test,127.0.0.1";
    let dns = support::dns::Dnsmasq::start(&[
        naptr_tcp,
        &srv_tcp,
        host,
        "--host-record=example.test,127.0.0.9",
    ]);
    let server = dns.addr().to_string();

    let (json, out) = run_json(
        dialtone("check", "voip.test", &anchors)
            .args(["--dns-server", &server])
            .args(["--dns-name", "example.test"]),
    );
    assert_verdict(&json, &out, "healthy", 0);
    let provider = layer(&json, "provider");
    let facts = provider["facts"].to_string();
    assert!(
        facts.contains("NAPTR") && facts.contains("SRV"),
        "{provider:#}"
    );
    assert!(
        provider["evidence"].to_string().contains("TCP") || facts.contains("tcp"),
        "{provider:#}"
    );
    let internet = layer(&json, "internet");
    assert_eq!(internet["status"], "ok", "{internet:#}");

    // A registrar name that never existed while other names resolve: not the internet, and
    // not a provider outage either (a typo looks exactly like this): unknown, with what to
    // check. (tests/faults.rs covers a known registrar whose records go away: an outage.)
    let (json, out) = run_json(
        dialtone("check", "gone.voip.test", &anchors)
            .args(["--dns-server", &server])
            .args(["--dns-name", "example.test"]),
    );
    assert_verdict(&json, &out, "unknown", 15);
    assert_eq!(layer(&json, "internet")["status"], "ok");
    let evidence = layer(&json, "provider")["evidence"].to_string();
    assert!(evidence.contains("gone.voip.test"), "{evidence}");
    assert!(evidence.contains("never been found"), "{evidence}");
}
