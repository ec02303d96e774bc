//! The router login goes only where it belongs (issue 17, points 1, 5 and 7): to the box it was
//! first accepted by (over https where the box offers it), never to another network's gateway (a *stranger* stand-in that offers
//! MD5 digest without `qop`), one login per box at a time across the lines of one process and
//! across processes, and not at all while the login ledger cannot be used. The boxes are the
//! scripted FRITZ!Box of [`dialtone_testkit::fritzbox`] on loopback; `router.url = "auto"`
//! finds them at the gateway's port 49000, so each box gets a loopback address of its own
//! (127.x.y.z, x.y from this process's id so parallel runs do not meet).
#![allow(clippy::unwrap_used)]

use dialtone_core::config::RouterUrl;
use dialtone_core::router::{RouterErrorKind, RouterObservation};
use dialtone_core::secret::Secret;
use dialtone_engine::probe::router::soap::Login;
use dialtone_engine::probe::router::{RouterProber, RouterSettings};
use dialtone_testkit as support;
use dialtone_testkit::fritzbox::{FritzBox, HOME_UDN, ROUTER_PASSWORD, ROUTER_USER, STRANGER_UDN};
use dialtone_testkit::layer;
use serde_json::Value;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// A loopback address of this test process: `127.x.y.n`.
fn address(n: u8) -> IpAddr {
    let pid = std::process::id();
    let x = ((pid >> 8) & 0xff) as u8 | 0x40;
    let y = (pid & 0xff) as u8;
    IpAddr::from([127, x, y, n])
}

/// Where `auto` looks for the box of gateway `ip`.
fn at_gateway(ip: IpAddr) -> String {
    format!("{ip}:49000")
}

fn login(password: &str) -> Login {
    Login {
        user: ROUTER_USER.into(),
        password: Secret::new(password),
    }
}

/// A prober as a line builds it: `auto`, with the login and the ledger at `ledger`.
fn prober(password: &str, ledger: Option<PathBuf>) -> RouterProber {
    RouterProber::new(RouterSettings {
        target: RouterUrl::Auto,
        login: Some(login(password)),
        timeout: Duration::from_secs(2),
        ledger,
    })
}

/// One round of every line, all started at once.
async fn all_at_once(lines: &[Arc<RouterProber>], ip: IpAddr) -> Vec<Option<RouterObservation>> {
    let tasks: Vec<_> = lines
        .iter()
        .map(|line| {
            let line = line.clone();
            tokio::spawn(async move { line.probe(Some(ip)).await })
        })
        .collect();
    let mut rounds = Vec::new();
    for task in tasks {
        rounds.push(task.await.unwrap());
    }
    rounds
}

fn kind(observation: &RouterObservation) -> Option<RouterErrorKind> {
    observation.error.as_ref().map(|e| e.kind)
}

fn detail(observation: &RouterObservation) -> String {
    observation
        .error
        .as_ref()
        .map(|e| e.detail.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn after_a_network_change_the_login_goes_to_its_own_box_only() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("state/logins.json");
    let (home_ip, away_ip) = (address(2), address(3));
    let home = FritzBox::start_at(&at_gateway(home_ip), &[("4930123456", "registered")]);
    let stranger = FritzBox::stranger_at(&at_gateway(away_ip));
    let line = prober(ROUTER_PASSWORD, Some(ledger.clone()));

    let first = line.probe(Some(home_ip)).await.unwrap();
    assert_eq!(first.voip.len(), 1, "{first:?}");
    assert!(home.script().authorized > 0);
    let pinned = std::fs::read_to_string(&ledger).unwrap();
    assert!(pinned.contains(HOME_UDN), "the box is remembered: {pinned}");
    assert!(!pinned.contains(ROUTER_PASSWORD), "{pinned}");

    // Another network: its gateway is another box. Its description is read (no login needed
    // for that), and nothing with a login goes to it.
    let away = line.probe(Some(away_ip)).await.unwrap();
    assert_eq!(
        stranger.script().authorized,
        0,
        "{:#?}",
        stranger.script().requests
    );
    assert_eq!(kind(&away), Some(RouterErrorKind::WrongRouter), "{away:?}");
    assert!(
        detail(&away).contains(STRANGER_UDN) && detail(&away).contains(HOME_UDN),
        "{away:?}"
    );
    assert!(away.voip.is_empty());

    // A fresh process (a restart, `check`) knows the box from the ledger.
    let restarted = prober(ROUTER_PASSWORD, Some(ledger.clone()));
    let away = restarted.probe(Some(away_ip)).await.unwrap();
    assert_eq!(kind(&away), Some(RouterErrorKind::WrongRouter), "{away:?}");
    assert_eq!(stranger.script().authorized, 0);

    // Back home: the login works, nothing was suspended by the stranger.
    let back = line.probe(Some(home_ip)).await.unwrap();
    assert_eq!(back.voip.len(), 1, "{back:?}");
    assert_eq!(kind(&back), None, "{back:?}");
}

#[tokio::test]
async fn the_same_gateway_address_on_another_network_gets_no_cached_login() {
    // The usual case: 192.168.178.1 at home and in the holiday flat, two different boxes. The
    // network watcher says the network changed; the box at the address is now a stranger that
    // offers MD5 without qop and its own nonce.
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("logins.json");
    let ip = address(4);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    let line = prober(ROUTER_PASSWORD, Some(ledger.clone()));
    let home = line.probe(Some(ip)).await.unwrap();
    assert_eq!(home.voip.len(), 1, "{home:?}");
    let before = fritz.script().authorized;
    {
        let mut s = fritz.script();
        s.udn = STRANGER_UDN.into();
        s.stranger = true;
    }
    line.network_changed();
    for _ in 0..2 {
        let away = line.probe(Some(ip)).await.unwrap();
        assert_eq!(kind(&away), Some(RouterErrorKind::WrongRouter), "{away:?}");
    }
    // Home again: no suspension, no rejection recorded under the home box.
    {
        let mut s = fritz.script();
        assert_eq!(s.authorized, before, "{:#?}", s.requests);
        assert_eq!(s.rejected, 0);
        s.udn = String::new();
        s.stranger = false;
    }
    line.network_changed();
    let again = line.probe(Some(ip)).await.unwrap();
    assert_eq!(again.voip.len(), 1, "{again:?}");
    assert_eq!(kind(&again), None, "{again:?}");
    let ledger = std::fs::read_to_string(&ledger).unwrap();
    assert!(!ledger.contains("suspended\": {"), "{ledger}");
}

#[tokio::test]
async fn a_box_with_https_gets_the_login_over_tls_only() {
    // The FRITZ!Box names its TLS port in DeviceInfo:GetSecurityPort (no login needed).
    let ip = address(9);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]).with_tls();
    let dir = tempfile::tempdir().unwrap();
    let line = prober(ROUTER_PASSWORD, Some(dir.path().join("logins.json")));
    for _ in 0..2 {
        let seen = line.probe(Some(ip)).await.unwrap();
        assert_eq!(seen.voip.len(), 1, "{seen:?}");
        assert_eq!(kind(&seen), None, "{seen:?}");
    }
    let s = fritz.script();
    assert!(s.authorized > 0, "{:#?}", s.requests);
    assert_eq!(
        s.authorized_plain, 0,
        "a login went over plain http: {:#?}",
        s.requests
    );
}

#[tokio::test]
async fn a_box_that_does_not_say_who_it_is_gets_no_login() {
    let ip = address(5);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    fritz.script().udn = "  ".into();
    let dir = tempfile::tempdir().unwrap();
    let line = prober(ROUTER_PASSWORD, Some(dir.path().join("logins.json")));
    let seen = line.probe(Some(ip)).await.unwrap();
    assert_eq!(kind(&seen), Some(RouterErrorKind::WrongRouter), "{seen:?}");
    assert_eq!(fritz.script().authorized, 0);
    // The IGD part (no login) still tells.
    assert_eq!(seen.connection.as_deref(), Some("Connected"), "{seen:?}");
}

#[tokio::test]
async fn lines_of_one_process_log_in_one_at_a_time_and_a_rejection_stops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("logins.json");
    let ip = address(6);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    fritz.script().delay = Duration::from_millis(50);
    // Four lines, one box, one (right) password: every round of every line logs in, but one
    // after another.
    let lines: Vec<_> = (0..4)
        .map(|_| Arc::new(prober(ROUTER_PASSWORD, Some(ledger.clone()))))
        .collect();
    let rounds = all_at_once(&lines, ip).await;
    for round in &rounds {
        let round = round.as_ref().unwrap();
        assert_eq!(round.voip.len(), 1, "{round:?}");
    }
    assert_eq!(fritz.script().max_in_flight, 1, "logins overlapped");

    // A wrong password: the first line's login is rejected, the others read that before they
    // send anything.
    let ip = address(7);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    fritz.script().delay = Duration::from_millis(50);
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("logins.json");
    let lines: Vec<_> = (0..4)
        .map(|_| Arc::new(prober("not-the-box-password", Some(ledger.clone()))))
        .collect();
    let rounds = all_at_once(&lines, ip).await;
    let s = fritz.script();
    assert_eq!(s.rejected, 1, "{:#?}", s.requests);
    assert_eq!(s.authorized, 1, "{:#?}", s.requests);
    drop(s);
    // The rejection is the box's (point 6: the ledger key is its identity and the user).
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert!(
        text.contains(&format!(
            "\"router {HOME_UDN}|{ROUTER_USER}|{ROUTER_USER}\""
        )),
        "{text}"
    );
    let kinds: Vec<_> = rounds.iter().map(|r| kind(r.as_ref().unwrap())).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Some(RouterErrorKind::LoginRejected))
            .count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Some(RouterErrorKind::LoginSuspended))
            .count(),
        3,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_unusable_login_ledger_sends_no_login_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the state dir should be (as after a root-owned dir, a read-only home).
    std::fs::write(dir.path().join("state"), "").unwrap();
    let ip = address(8);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    let line = prober(ROUTER_PASSWORD, Some(dir.path().join("state/logins.json")));
    let seen = line.probe(Some(ip)).await.unwrap();
    assert_eq!(
        fritz.script().authorized,
        0,
        "{:#?}",
        fritz.script().requests
    );
    assert_eq!(kind(&seen), Some(RouterErrorKind::LoginPaused), "{seen:?}");
    assert!(
        detail(&seen).starts_with("cannot create the directory of")
            && detail(&seen).contains("state/logins.json"),
        "{seen:?}"
    );
    assert!(seen.voip.is_empty());
}

/// `dialtone check --json` with the router at the gateway `gateway` (`auto`), the right or a
/// wrong router password, state in `dir` (or `state` for the state dir).
fn check(
    dir: &Path,
    state: &Path,
    gateway: IpAddr,
    password: &str,
    anchors: &[TcpListener],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
    cmd.args(["--lang", "en", "check", "--json", "--config"])
        .arg(dir.join("config.toml"))
        .args(["--timeout", "2", "--gateway", &gateway.to_string()])
        .args(["--dns-name", "none"])
        .args(["--router", "auto", "--router-user", ROUTER_USER])
        .args(["--router-password-env", "DT_ROUTER_PW"])
        .env("DT_ROUTER_PW", password)
        .env("XDG_CONFIG_HOME", dir)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_STATE_HOME", state)
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    support::anchor_args(&mut cmd, anchors);
    cmd
}

fn report(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_stranger_gateway_never_sees_the_router_login_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let anchors = support::loopback_anchors();
    let (home_ip, away_ip) = (address(10), address(11));
    let home = FritzBox::start_at(&at_gateway(home_ip), &[("4930123456", "registered")]);
    let stranger = FritzBox::stranger_at(&at_gateway(away_ip));
    let at_home = report(
        &check(dir.path(), &state, home_ip, ROUTER_PASSWORD, &anchors)
            .output()
            .unwrap(),
    );
    assert_eq!(
        at_home["router"]["voip"].as_array().map(Vec::len),
        Some(1),
        "{at_home:#}"
    );
    assert!(home.script().authorized > 0);
    // The laptop in a café, a new process: the café's gateway gets no Authorization header.
    let out = check(dir.path(), &state, away_ip, ROUTER_PASSWORD, &anchors)
        .output()
        .unwrap();
    let away = report(&out);
    let s = stranger.script();
    assert_eq!(s.authorized, 0, "{:#?}", s.requests);
    assert!(
        s.requests.iter().any(|r| r.contains("tr64desc.xml")),
        "its description was read: {:#?}",
        s.requests
    );
    drop(s);
    let evidence = layer(&away, "router")["evidence"].to_string();
    assert!(
        evidence.contains("this is not the router the login belongs to")
            && evidence.contains("no login was sent"),
        "{evidence}"
    );
    // Home again: still fine (the stranger suspended nothing).
    let again = report(
        &check(dir.path(), &state, home_ip, ROUTER_PASSWORD, &anchors)
            .output()
            .unwrap(),
    );
    assert_eq!(
        again["router"]["voip"].as_array().map(Vec::len),
        Some(1),
        "{again:#}"
    );
}

#[test]
fn a_check_next_to_another_process_logs_in_after_it_not_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let anchors = support::loopback_anchors();
    let ip = address(12);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    fritz.script().delay = Duration::from_millis(300);
    // Two processes at once with a wrong password (the agent's round and a `check`): the box
    // sees one rejected login, not two.
    let children: Vec<_> = (0..2)
        .map(|_| {
            check(dir.path(), &state, ip, "not-the-box-password", &anchors)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let reports: Vec<Value> = children
        .into_iter()
        .map(|c| report(&c.wait_with_output().unwrap()))
        .collect();
    let s = fritz.script();
    assert_eq!(s.rejected, 1, "{:#?}", s.requests);
    assert_eq!(s.authorized, 1, "{:#?}", s.requests);
    drop(s);
    let evidence: Vec<String> = reports
        .iter()
        .map(|r| layer(r, "router")["evidence"].to_string())
        .collect();
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("the router rejected the login"))
            && evidence
                .iter()
                .any(|e| e.contains("router login paused after a rejection")),
        "{evidence:#?}"
    );
}

#[test]
fn a_check_whose_state_dir_cannot_be_written_says_login_checks_paused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::write(&state, "").unwrap();
    let anchors = support::loopback_anchors();
    let ip = address(13);
    let fritz = FritzBox::start_at(&at_gateway(ip), &[("4930123456", "registered")]);
    let out = check(dir.path(), &state, ip, ROUTER_PASSWORD, &anchors)
        .output()
        .unwrap();
    let json = report(&out);
    assert_eq!(
        fritz.script().authorized,
        0,
        "{:#?}",
        fritz.script().requests
    );
    let evidence = layer(&json, "router")["evidence"].to_string();
    assert!(
        evidence.contains("router login checks paused: cannot")
            && evidence.contains("no login was sent"),
        "{evidence}"
    );
}
