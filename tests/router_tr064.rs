//! The router layer against the scripted FRITZ!Box of [`dialtone_testkit::fritzbox`] (shaped
//! as AVM's published TR-064 documents describe the box). The registrar is a real kamailio on
//! loopback. No traffic leaves loopback.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;
use dialtone_testkit::layer;

use dialtone_core::observation::Transport;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::kamailio::Kamailio;

use support::fritzbox::{FritzBox, BOX_SIP_PASSWORD, ROUTER_PASSWORD, ROUTER_USER};

/// `dialtone --lang en SUB` with only what every run here needs: its own config, state and
/// home in `dir`, the loopback gateway, no DNS probe, a 2 s timeout and the anchors.
fn bare(sub: &str, anchors: &[TcpListener], dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
    cmd.args(["--lang", "en", sub, "--config"])
        .arg(dir.join("config.toml"))
        .args([
            "--timeout",
            "2",
            "--gateway",
            "127.0.0.1",
            "--dns-name",
            "none",
        ])
        .env("XDG_CONFIG_HOME", dir)
        .env("HOME", dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    support::anchor_args(&mut cmd, anchors);
    cmd
}

/// [`bare`] with a registrar and the scripted box logged into with the right password, with a
/// debug log (so the secret checks see every line the agent can write).
fn dialtone(
    sub: &str,
    registrar: &str,
    anchors: &[TcpListener],
    fritz: &FritzBox,
    dir: &std::path::Path,
) -> Command {
    let mut cmd = bare(sub, anchors, dir);
    cmd.args(["--registrar", registrar])
        .args(["--router", &fritz.url(), "--router-user", ROUTER_USER])
        .args(["--router-password-env", "DT_ROUTER_PW"])
        .env("DT_ROUTER_PW", ROUTER_PASSWORD)
        .env("RUST_LOG", "dialtone=debug")
        .env("XDG_DATA_HOME", dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_RUNTIME_DIR", dir.join("run"));
    cmd
}

fn json_of(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What most tests here stand on: a real registrar, a scripted box with these accounts, two
/// anchors and a scratch folder for config, state and history.
struct Rig {
    k: Kamailio,
    fritz: FritzBox,
    anchors: Vec<TcpListener>,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new(accounts: &[(&str, &str)]) -> Rig {
        Rig {
            k: Kamailio::with_user("alice", "kama-Pa55"),
            fritz: FritzBox::start(accounts),
            anchors: support::loopback_anchors(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// [`dialtone`] against this rig's registrar and box.
    fn dialtone(&self, sub: &str) -> Command {
        dialtone(
            sub,
            &self.k.registrar_uri(Transport::Udp),
            &self.anchors,
            &self.fritz,
            self.dir.path(),
        )
    }

    /// One `check` with `args`, to its end.
    fn check(&self, args: &[&str]) -> Output {
        self.dialtone("check").args(args).output().unwrap()
    }

    /// A `watch --json` confirming every second, with `more` set up by the caller, stopped
    /// with SIGTERM (as a service manager stops it) after `run`.
    fn watch(&self, run: Duration, stderr: Stdio, more: impl FnOnce(&mut Command)) -> Output {
        let mut cmd = self.dialtone("watch");
        cmd.args(["--json", "--interval", "1", "--recheck", "1"]);
        more(&mut cmd);
        let child = cmd.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        std::thread::sleep(run);
        let _ = support::sigterm(&child);
        child.wait_with_output().unwrap()
    }
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [BOX_SIP_PASSWORD, ROUTER_PASSWORD] {
        assert!(!text.contains(secret), "{what} contains a password: {text}");
    }
}

/// The router layer's evidence in one report, as text.
fn router_evidence(report: &Value) -> String {
    layer(report, "router")["evidence"].to_string()
}

#[test]
fn not_registered_on_the_box_is_an_account_problem_while_the_registrar_answers() {
    let rig = Rig::new(&[("4930123456", "not registered"), ("4930999", "disabled")]);
    let out = rig.check(&["--json"]);
    let json = json_of(&out);
    assert_eq!(json["verdict"], "account_problem", "{json:#}");
    assert_eq!(out.status.code(), Some(11));
    assert_eq!(json["failing_layer"], "account", "{json:#}");
    // The provider is named from the registrar the box uses (the catalog knows sip.1und1.de;
    // no packet goes there).
    assert_eq!(
        json["summary"], "Your router is not registered with 1&1.",
        "{json:#}"
    );
    assert_eq!(json["reason"], "router: number 4930123456 not registered");
    assert_eq!(layer(&json, "provider")["status"], "ok", "{json:#}");
    assert_eq!(layer(&json, "router")["status"], "ok", "{json:#}");
    let router = &json["router"];
    assert_eq!(router["model"], "FRITZ!Box 7590");
    assert_eq!(router["connection"], "connected");
    assert_eq!(router["nat"], "cgnat");
    assert_eq!(
        router["voip"],
        serde_json::json!([
            {"index": 0, "number": "4930123456", "status": "not_registered", "registrar": "sip.1und1.de"},
            {"index": 1, "number": "4930999", "status": "disabled", "registrar": "sip.1und1.de"},
        ]),
        "{router:#}"
    );
    // The output and the debug log carry neither the box's SIP password nor the router's.
    assert_no_secret("stdout", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
    // Requests this round: igddesc + 3 IGD actions + tr64desc + GetSecurityPort (this box
    // has no https) + GetMaxVoIPNumbers (401, then answered) + 2 × (status, account) answered
    // up front + the 713 past the last account.
    let s = rig.fritz.script();
    assert_eq!(s.rejected, 0);
    assert!(s.requests.len() <= 13, "{:#?}", s.requests);

    drop(s);
    // The text face, as a person reads it.
    let out = rig.check(&["--verbose"]);
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    // The plain headline leads; --verbose lists the router's own words per layer.
    assert!(
        text.starts_with("⚿ Your number 4930123456 is not registered with 1&1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "router: number 4930123456 not registered; router: number 4930999 switched off"
        ),
        "{text}"
    );

    // German.
    let json = json_of(&rig.check(&["--lang", "de", "--json"]));
    assert_eq!(json["summary"], "Ihr Router ist bei 1&1 nicht angemeldet.");
    assert_eq!(
        json["reason"],
        "Router: Rufnummer 4930123456 nicht angemeldet"
    );
}

#[test]
fn registered_on_the_box_with_a_silent_registrar_is_degraded_not_an_outage() {
    let fritz = FritzBox::start(&[("4930123456", "registered")]);
    let a = support::loopback_anchors();
    let dir = tempfile::tempdir().unwrap();
    // A registrar port nothing listens on.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let uri = format!(
        "sip:127.0.0.1:{};transport=udp",
        silent.local_addr().unwrap().port()
    );
    drop(silent);
    let out = dialtone("check", &uri, &a, &fritz, dir.path())
        .arg("--json")
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(json["verdict"], "degraded", "{json:#}");
    assert_eq!(layer(&json, "provider")["status"], "degraded", "{json:#}");
    assert_eq!(layer(&json, "account")["status"], "ok", "{json:#}");
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .starts_with("Your router is registered with 1&1, but 1&1's server does not answer"),
        "{json:#}"
    );
}

/// The seed's case with a box in front: the registrar answered this computer, then it stops.
/// The box goes on reporting its number registered until its next renewal fails, minutes
/// later; that must not turn the outage into "works, but badly".
#[test]
fn a_registrar_that_answered_before_and_stops_is_an_outage_despite_the_box() {
    let mut rig = Rig::new(&[("4930123456", "registered")]);
    let mut child = rig
        .dialtone("watch")
        .args(["--json", "--no-history"])
        .args(["--interval", "1", "--recheck", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || -> Value {
        let line = lines.next().expect("watch printed a change").unwrap();
        serde_json::from_str(&line).unwrap()
    };
    // Heard from: the first confirmed verdict is a working line.
    let first = next();
    assert_eq!(first["verdict"], "healthy", "{first:#}");
    rig.k.stop();
    let outage = next();
    let _ = support::sigterm(&child);
    let _ = child.wait();
    assert_eq!(outage["verdict"], "provider_outage", "{outage:#}");
    assert_eq!(layer(&outage, "provider")["status"], "failed", "{outage:#}");
    let evidence = layer(&outage, "provider")["evidence"].to_string();
    assert!(evidence.contains("until its next renewal"), "{evidence}");
}

#[test]
fn a_wrong_router_password_is_asked_once_then_suspended() {
    let rig = Rig::new(&[("4930123456", "registered")]);
    let out = rig.watch(Duration::from_secs(6), Stdio::piped(), |cmd| {
        cmd.arg("--no-history")
            .env("DT_ROUTER_PW", "not-the-box-password");
    });
    let s = rig.fritz.script();
    assert_eq!(s.rejected, 1, "asked once: {:#?}", s.requests);
    assert_eq!(s.authorized, 1, "{:#?}", s.requests);
    drop(s);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The first confirmed line is healthy (the IGD says connected, the registrar answers) and
    // carries the router's finding.
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let evidence = router_evidence(&first);
    assert!(
        evidence.contains("the router rejected the login (user dialtone)"),
        "{evidence}"
    );
    assert_no_secret("stderr", &out.stderr);
    assert_no_secret("stdout", &out.stdout);
    // Another process later (a restart, a `check`): the rejection is in the login guard's
    // ledger, so the box is not asked with that password again.
    let again = rig
        .dialtone("check")
        .arg("--json")
        .env("DT_ROUTER_PW", "not-the-box-password")
        .output()
        .unwrap();
    assert_eq!(
        rig.fritz.script().rejected,
        1,
        "asked again after a restart"
    );
    let evidence = router_evidence(&json_of(&again));
    assert!(evidence.contains("dialtone"), "{evidence}");
    let ledger =
        std::fs::read_to_string(rig.dir.path().join("state/dialtone/logins.json")).unwrap();
    assert!(!ledger.contains("not-the-box-password"), "{ledger}");
}

#[test]
fn http_503_from_the_box_backs_off() {
    let rig = Rig::new(&[("4930123456", "registered")]);
    rig.fritz.script().busy = 100;
    let out = rig.watch(Duration::from_secs(5), Stdio::null(), |cmd| {
        cmd.arg("--no-history");
    });
    // One 503, then 30 s of silence towards the box's TR-064 side.
    let s = rig.fritz.script();
    assert_eq!(s.answered_busy, 1, "{:#?}", s.requests);
    drop(s);
    let first: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["to"], "healthy", "{first:#}");
    let evidence = router_evidence(&first);
    assert!(evidence.contains("the router is busy"), "{evidence}");
}

#[test]
fn a_description_of_several_megabytes_is_a_router_finding_only() {
    let rig = Rig::new(&[("4930123456", "not registered")]);
    rig.fritz.script().huge_description = Some(4 * 1024 * 1024);
    let json = json_of(&rig.check(&["--json"]));
    // The IGD part still works; the TR-064 description is refused; nothing else changes.
    assert_eq!(json["verdict"], "healthy", "{json:#}");
    let evidence = router_evidence(&json);
    assert!(
        evidence.contains("the router's answer was unusable (GET")
            && evidence.contains("larger than 512 KiB"),
        "{evidence}"
    );
    assert_eq!(json["router"]["voip"], serde_json::json!([]));
}

#[test]
fn a_whole_run_keeps_both_passwords_out_of_output_config_history_and_logs() {
    let rig = Rig::new(&[("4930123456", "registered"), ("4930999", "not registered")]);
    let dir = rig.dir.path();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[router]\nurl = \"{}\"\nuser = \"{ROUTER_USER}\"\npassword_env = \"DT_ROUTER_PW\"\n",
            rig.fritz.url()
        ),
    )
    .unwrap();
    let db = dir.join("history.sqlite3");
    let out = rig.watch(Duration::from_secs(5), Stdio::piped(), |cmd| {
        cmd.arg("--db").arg(&db);
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"account_problem\""),
        "the not-registered number is an account problem: {stdout}"
    );
    assert!(rig.fritz.script().authorized > 0, "the box was logged into");
    assert_no_secret("stdout", &out.stdout);
    assert_no_secret("stderr", &out.stderr);
    assert_no_secret("config", &std::fs::read(dir.join("config.toml")).unwrap());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_no_secret(&path.display().to_string(), &std::fs::read(&path).unwrap());
        }
    }
    // The history holds the router's evidence (so the outage log can show it).
    let export = support::export_log(&db, "csv", "en", &dir.join("log.csv"));
    assert!(
        export.contains("SIP account") || export.contains("account"),
        "{export}"
    );
    assert_no_secret("export", export.as_bytes());
}

#[tokio::test]
async fn a_round_asks_the_box_a_handful_of_times() {
    use dialtone_core::config::RouterUrl;
    use dialtone_core::secret::Secret;
    use dialtone_engine::probe::router::soap::Login;
    use dialtone_engine::probe::router::{RouterProber, RouterSettings};

    let fritz = FritzBox::start(&[("4930123456", "registered")]);
    let prober = RouterProber::new(RouterSettings {
        target: RouterUrl::At(url::Url::parse(&fritz.url()).unwrap()),
        login: Some(Login {
            user: ROUTER_USER.into(),
            password: Secret::new(ROUTER_PASSWORD),
        }),
        timeout: Duration::from_secs(2),
        ledger: None,
    });
    let first = prober.probe(None).await.unwrap();
    assert_eq!(first.voip.len(), 1, "{first:?}");
    let n1 = fritz.script().requests.len();
    let second = prober.probe(None).await.unwrap();
    assert_eq!(second.voip, first.voip);
    assert_eq!(second.connection.as_deref(), Some("Connected"));
    let requests = fritz.script().requests.clone();
    let n2 = requests.len() - n1;
    println!(
        "first round: {n1} requests; next round: {n2}: {:#?}",
        &requests[n1..]
    );
    // First: igddesc, 3 IGD actions, tr64desc, GetSecurityPort (this box has no https),
    // GetMaxVoIPNumbers (challenge + answer), the account's status and number, the 713 past
    // it. Then: 3 IGD actions, the status (digest answered up front), the 713.
    assert_eq!(n1, 11, "{requests:#?}");
    assert_eq!(n2, 5, "{:#?}", &requests[n1..]);
    assert_eq!(fritz.script().rejected, 0);
}

#[test]
fn upnp_status_switched_off_is_explained_and_changes_no_verdict() {
    let rig = Rig::new(&[("4930123456", "registered")]);
    rig.fritz.script().igd_hidden = true;
    // A bad router user is a config error naming the key.
    let out = rig.check(&["--router-user", ""]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("router.user"));
    // Without a login: the IGD part only.
    let out = bare("check", &rig.anchors, rig.dir.path())
        .arg("--json")
        .args(["--registrar", &rig.k.registrar_uri(Transport::Udp)])
        .args(["--router", &rig.fritz.url()])
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(json["verdict"], "healthy", "{json:#}");
    let router = layer(&json, "router");
    assert_eq!(router["status"], "skipped", "{json:#}");
    let evidence = router["evidence"].to_string();
    assert!(
        evidence.contains("the router keeps its status to itself")
            && evidence.contains("Statusinformationen über UPnP übertragen")
            && evidence.contains("SOAP fault 606 Action Not Authorized"),
        "{evidence}"
    );
    assert_eq!(json["router"]["reachable"], true, "{json:#}");
    assert_eq!(json["router"]["connection"], Value::Null, "{json:#}");
}

#[test]
fn with_only_the_router_login_the_boxs_registration_is_the_line() {
    // No registrar set up at all: the SIP login lives only in the box.
    let fritz = FritzBox::start(&[("4930123456", "registered")]);
    let a = support::loopback_anchors();
    let dir = tempfile::tempdir().unwrap();
    let out = bare("check", &a, dir.path())
        .arg("--json")
        .args(["--router", &fritz.url(), "--router-user", ROUTER_USER])
        .args(["--router-password-env", "DT_ROUTER_PW"])
        .env("DT_ROUTER_PW", ROUTER_PASSWORD)
        .output()
        .unwrap();
    let json = json_of(&out);
    assert_eq!(json["verdict"], "healthy", "{json:#}");
    assert_eq!(json["provider"], "1&1", "{json:#}");
    assert_eq!(layer(&json, "provider")["status"], "skipped", "{json:#}");
    assert_eq!(layer(&json, "account")["status"], "ok", "{json:#}");
    assert_no_secret("stdout", &out.stdout);
}
