//! Alerts that reach the phone (issue 19), end to end with real parts: `dialtone watch` against
//! kamailio, e-mail through a real SMTP server (Debian's python3-aiosmtpd, STARTTLS with a test
//! CA and plain), Apprise for real (Debian's `apprise`) to a local json:// endpoint, a webhook
//! receiver, and an ntfy server.
//!
//! No ntfy server is packaged in Debian or on PyPI: the ntfy endpoint here is a scripted server
//! that implements ntfy's publish API as ntfy's documentation describes it (a POST of the
//! message to `/TOPIC` with the headers Title, Priority, Tags, Click and Actions, answered with
//! the message as JSON).

#![allow(clippy::unwrap_used)]

use dialtone_core::observation::Transport;
use dialtone_testkit as support;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::kamailio::{Kamailio, KamailioOptions};
use support::smtp::Smtpd;
use support::webhook::{ntfy_publish, ok, Recorder, Request};

/// Debian's aiosmtpd, or the test fails under CI (and is skipped, saying so, elsewhere).
fn smtpd(dir: &Path, tls: Option<(&Path, &Path)>) -> Option<Smtpd> {
    support::gate::require(
        support::smtp::available(),
        "Debian's python3-aiosmtpd (a real SMTP server)",
    )
    .then(|| Smtpd::start(dir, tls))
}

/// A provider of the test's own, with an X account and a status page and no feeds (nothing
/// leaves the machine).
const CATALOG: &str = r#"
[[provider]]
id = "testprov"
name = "Testprov"
channels = [
    { kind = "status_page", label = "Status page", label_de = "Statusseite", url = "https://status.testprov.example/" },
    { kind = "x", label = "Testprov on X", label_de = "Testprov auf X", url = "https://x.com/testprov" },
]
"#;

/// Writes the catalog and a config (mode 0600) with `extra` appended; the config's path.
fn config(dir: &Path, registrar: &str, anchors: &[TcpListener], extra: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("providers.toml"), CATALOG).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "provider = \"testprov\"\n[account]\nregistrar = \"{registrar}\"\n\
             [network]\nanchors = [{}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\
             [thresholds]\nexpect_binding = false\n{extra}",
            support::anchors_toml(anchors)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `dialtone SUB` with the test's config, catalog, history and home.
fn dialtone(dir: &Path, sub: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
    cmd.args(sub)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--catalog")
        .arg(dir.join("providers.toml"))
        .arg("--db")
        .arg(dir.join("history.sqlite3"))
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_STATE_HOME", dir)
        .env("HOME", dir)
        .env("RUST_LOG", "info")
        .env(dialtone::cli::alert::RETRY_MAX_VAR, "1")
        .env("DIALTONE_TEST_NTFY_TOKEN", "tk_testtoken")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd
}

fn watch(dir: &Path) -> (Child, std::sync::mpsc::Receiver<(Instant, String)>) {
    let mut cmd = dialtone(dir, &["watch"]);
    cmd.args(["--json", "--lang", "en"])
        .args(support::FAST_ROUNDS);
    support::spawn_with_lines(&mut cmd).unwrap()
}

fn next_change(rx: &std::sync::mpsc::Receiver<(Instant, String)>, to: &str) -> Value {
    support::change_to(rx, to, Duration::from_secs(30))
}

fn kamailio(tls: bool) -> Kamailio {
    Kamailio::start(KamailioOptions {
        tls,
        ..KamailioOptions::default()
    })
}

#[test]
fn an_outage_and_its_recovery_reach_mail_ntfy_and_webhook_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kamailio(true);
    let Some(smtp) = smtpd(
        dir.path(),
        Some((&k.dir().join("server.pem"), &k.dir().join("server.key"))),
    ) else {
        return;
    };
    let ntfy = Recorder::start(ntfy_publish);
    let hook = Recorder::start(ok);
    let anchors = support::loopback_anchors();
    let extra = format!(
        "[[alert]]\nurl = \"mailto:line@example.org\"\nlang = \"de\"\n\
         [[alert]]\nurl = \"ntfy://127.0.0.1:{}/line-7f3k\"\nlang = \"en\"\ntoken_env = \"DIALTONE_TEST_NTFY_TOKEN\"\n\
         [[alert]]\nurl = \"http://127.0.0.1:{}/hook\"\nlabel = \"Büro\"\nlang = \"en\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\nfrom = \"dialtone <dialtone@example.org>\"\nca_file = \"{}\"\n",
        ntfy.port,
        hook.port,
        smtp.port,
        k.ca_cert_path().display()
    );
    config(
        dir.path(),
        &k.registrar_uri(Transport::Udp),
        &anchors,
        &extra,
    );
    let (mut child, rx) = watch(dir.path());
    next_change(&rx, "healthy");

    k.stop();
    let outage = next_change(&rx, "provider_outage");
    let mails = smtp.wait_for(1, Duration::from_secs(20));
    let pushes = ntfy.wait_for(1, Duration::from_secs(20));
    let hooks = hook.wait_for(1, Duration::from_secs(20));
    let (subject, body, raw) = (&mails[0].subject, &mails[0].body, &mails[0].raw);
    assert_eq!(subject, "Telefonie von Testprov gestört", "{raw}");
    assert!(
        body.contains("Testprov auf X: https://x.com/testprov"),
        "{body}"
    );
    assert!(body.contains("Anschluss: testprov"), "{body}");
    let p = &pushes[0];
    assert_eq!(p.path, "/line-7f3k");
    assert_eq!(p.headers["title"], "Testprov telephony is down");
    assert_eq!(p.headers["priority"], "high");
    assert_eq!(p.headers["tags"], "warning");
    assert_eq!(p.headers["authorization"], "Bearer tk_testtoken");
    assert_eq!(p.headers["click"], "https://x.com/testprov");
    assert_eq!(
        p.headers["actions"],
        "view, Testprov on X, https://x.com/testprov; view, Status page, https://status.testprov.example/"
    );
    let h: Value = serde_json::from_str(&hooks[0].body).unwrap();
    assert_eq!(h["event"], "outage");
    assert_eq!(h["line"], "Büro");
    assert_eq!(h["verdict"], "provider_outage");
    assert_eq!(h["previous"], "healthy");
    assert_eq!(h["since"], outage["since"]);
    assert_eq!(h["channels"][0]["url"], "https://x.com/testprov");
    let mut keys: Vec<&String> = h.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "channels",
            "duration_s",
            "event",
            "headline",
            "lang",
            "line",
            "post",
            "previous",
            "reason",
            "since",
            "until",
            "verdict"
        ]
    );

    k.start_again();
    let recovery = next_change(&rx, "healthy");
    let mails = smtp.wait_for(2, Duration::from_secs(20));
    let pushes = ntfy.wait_for(2, Duration::from_secs(20));
    let hooks = hook.wait_for(2, Duration::from_secs(20));
    let (subject, body, raw) = (&mails[1].subject, &mails[1].body, &mails[1].raw);
    assert_eq!(subject, "Ihr Anschluss funktioniert wieder", "{raw}");
    assert!(
        body.starts_with("Die Telefonie von Testprov war von "),
        "{body}"
    );
    assert!(body.contains(" gestört ("), "the duration: {body}");
    assert_eq!(pushes[1].headers["priority"], "default");
    assert_eq!(pushes[1].headers["tags"], "white_check_mark");
    let h: Value = serde_json::from_str(&hooks[1].body).unwrap();
    assert_eq!(h["event"], "recovery");
    assert_eq!(h["since"], outage["since"]);
    assert_eq!(h["until"], recovery["since"]);
    assert!(h["duration_s"].as_i64().unwrap() >= 1, "{h:#}");

    // Nothing twice.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.mails().len(), 2);
    assert_eq!(ntfy.requests().len(), 2);
    assert_eq!(hook.requests().len(), 2);
    support::stop(&mut child, Duration::from_secs(5)).expect("watch stops on SIGTERM");
    println!("--- the outage mail as received ---\n{}", mails[0].raw);
    println!(
        "--- the recovery webhook body as received ---\n{}",
        hooks[1].body
    );
}

#[test]
fn alert_test_reaches_plain_smtp_and_apprise_and_names_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = smtpd(dir.path(), None) else {
        return;
    };
    let has_apprise = Command::new("apprise")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !support::gate::require(has_apprise, "the apprise command (Debian's apprise)") {
        return;
    }
    let json = Recorder::start(ok);
    let anchors = support::loopback_anchors();
    let extra = format!(
        "[[alert]]\nurl = \"mailto:line@example.org\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"dialtone@example.org\"\n",
        smtp.port
    );
    config(dir.path(), "sip:127.0.0.1:9", &anchors, &extra);
    let apprise = format!("apprise:json://127.0.0.1:{}/notify-secret", json.port);
    let out = dialtone(
        dir.path(),
        &["--lang", "de", "alert", "test", "--alert", &apprise],
    )
    .output()
    .unwrap();
    let printed = support::printed(&out);
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains("mailto:***@example.org: delivered"),
        "{printed}"
    );
    assert!(
        printed.contains("apprise:json://***: delivered"),
        "{printed}"
    );
    assert!(!printed.contains("notify-secret"), "{printed}");
    let mails = smtp.wait_for(1, Duration::from_secs(5));
    assert_eq!(mails[0].subject, "dialtone-Testalarm");
    let got = json.wait_for(1, Duration::from_secs(5));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["title"], "dialtone-Testalarm", "{body:#}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Dies ist ein Test"),
        "{body:#}"
    );

    // A target that cannot be reached: named (redacted) with the reason, exit status not 0.
    let closed = support::free_port();
    let hook = format!("http://127.0.0.1:{closed}/hook-secret");
    let out = dialtone(dir.path(), &["alert", "test", "--alert", &hook])
        .output()
        .unwrap();
    let printed = support::printed(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains(&format!("http://127.0.0.1:{closed}/***: not delivered")),
        "{printed}"
    );
    assert!(!printed.contains("hook-secret"), "{printed}");

    // A config whose alert URL carries a secret must be the owner's alone: refused, naming
    // the file and the key, never the secret.
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            format!("{text}[[alert]]\nurl = \"ntfys://ntfy.example/topic-secret\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = dialtone(dir.path(), &["alert", "list"]).output().unwrap();
        let printed = support::printed(&out);
        assert_eq!(out.status.code(), Some(3), "{printed}");
        assert!(
            printed.contains("alert[1].url") && printed.contains("chmod 600"),
            "{printed}"
        );
        assert!(printed.contains(&path.display().to_string()), "{printed}");
        assert!(!printed.contains("topic-secret"), "{printed}");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // The SMTP password's keyring entry needs a login to belong to (none here: no AUTH).
    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["password", "--smtp-login", "--config"])
        .arg(dir.path().join("config.toml"))
        .args(["set", "--stdin"])
        .env("HOME", dir.path())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed = support::printed(&out);
    assert_eq!(out.status.code(), Some(3), "{printed}");
    assert!(printed.contains("[smtp] host and user"), "{printed}");

    // `alert list` shows the targets redacted.
    let ntfy = "ntfys://ntfy.example/topic-secret";
    let out = dialtone(dir.path(), &["alert", "list", "--alert", ntfy])
        .output()
        .unwrap();
    let printed = support::printed(&out);
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains("mailto:***@example.org [email]"),
        "{printed}"
    );
    assert!(
        printed.contains("ntfys://ntfy.example/*** [ntfy]"),
        "{printed}"
    );
    assert!(!printed.contains("topic-secret"), "{printed}");
}

/// `dialtone SUB --config … --catalog … THEN` (a subcommand's own flags come before its
/// action, as with `dialtone password`) on the test's files, joined to `desktop`'s bus (its
/// Secret Service), with `stdin` as its input; its output.
fn on_desktop(
    dir: &Path,
    desktop: &support::desktop::Desktop,
    sub: &[&str],
    then: &[&str],
    stdin: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(sub)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--catalog")
        .arg(dir.join("providers.toml"))
        .args(then)
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_STATE_HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("HOME", dir)
        .env("RUST_LOG", "info")
        .env_remove("DIALTONE_TEST_NTFY_TOKEN")
        .envs(desktop.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A target's token kept in the OS keyring: stored with `dialtone alert token set` into a real
/// Secret Service (gnome-keyring-daemon on a private session bus), read back when alerts are
/// set up, sent to the ntfy server as `Authorization: Bearer` and put into an Apprise URL's
/// `{token}`, and never printed or logged; `alert token clear` forgets it.
#[test]
fn a_token_from_the_keyring_reaches_ntfy_as_bearer_and_apprise_in_place_and_nowhere_else() {
    use support::desktop::Desktop;
    if !support::gate::require(
        Desktop::keyring_available(),
        "gnome-keyring-daemon (package gnome-keyring, a real Secret Service)",
    ) {
        return;
    }
    let has_apprise = Command::new("apprise")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !support::gate::require(has_apprise, "the apprise command (Debian's apprise)") {
        return;
    }
    let mut desktop = Desktop::start_without_tray_host(false);
    desktop.start_keyring();
    let dir = tempfile::tempdir().unwrap();
    let ntfy = Recorder::start(ntfy_publish);
    let json = Recorder::start(ok);
    let anchors = support::loopback_anchors();
    let extra = format!(
        "[[alert]]\nurl = \"ntfy://127.0.0.1:{}/kr-topic-secret\"\nlang = \"en\"\n\
         [[alert]]\nurl = \"apprise:json://127.0.0.1:{}/hook/{{token}}\"\n\
         [[alert]]\nurl = \"mailto:line@example.org\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\nfrom = \"d@example.org\"\n",
        ntfy.port, json.port
    );
    config(dir.path(), "sip:127.0.0.1:9", &anchors, &extra);
    let (ntfy_token, apprise_token) = ("tk_kr_ntfy_8h2m", "kr-apprise-4q9z");
    let secrets = [ntfy_token, apprise_token, "kr-topic-secret"];
    let clean = |printed: &str| {
        for s in secrets {
            assert!(!printed.contains(s), "{s} shown: {printed}");
        }
    };

    // Without a token, the Apprise URL with {token} cannot be set up: named, redacted.
    let out = on_desktop(dir.path(), &desktop, &["alert", "list"], &[], "");
    let printed = support::printed(&out);
    assert_eq!(out.status.code(), Some(3), "{printed}");
    assert!(
        printed.contains(
            "apprise:json://***: the URL has {token} but no token was found: set token_env, \
             or store one with `dialtone alert token set 2`"
        ),
        "{printed}"
    );

    for (n, token) in [("1", ntfy_token), ("2", apprise_token)] {
        let out = on_desktop(
            dir.path(),
            &desktop,
            &["alert", "token"],
            &["set", n, "--stdin"],
            &format!("{token}\n"),
        );
        let printed = support::printed(&out);
        assert!(out.status.success(), "{printed}");
        assert!(
            printed.contains("keyring entry dialtone/alert:"),
            "{printed}"
        );
        clean(&printed);
    }
    // An e-mail target takes no token, and there is no target 4.
    for n in ["3", "4"] {
        let out = on_desktop(
            dir.path(),
            &desktop,
            &["alert", "token"],
            &["set", n, "--stdin"],
            "x\n",
        );
        assert_eq!(out.status.code(), Some(3), "{}", support::printed(&out));
    }

    let out = on_desktop(dir.path(), &desktop, &["alert", "list"], &[], "");
    let printed = support::printed(&out);
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains(&format!(
            "1. ntfy://127.0.0.1:{}/*** [ntfy] events: outage, recovery, account, token from keyring dialtone/alert:",
            ntfy.port
        )),
        "{printed}"
    );
    assert!(
        printed.contains("2. apprise:json://*** [apprise]") && printed.contains("3. mailto:"),
        "{printed}"
    );
    clean(&printed);

    // The test alert: ntfy gets the token as Bearer, apprise the URL with it in place.
    let out = on_desktop(dir.path(), &desktop, &["alert", "test"], &[], "");
    let printed = support::printed(&out);
    assert!(
        printed.contains(&format!("ntfy://127.0.0.1:{}/***: delivered", ntfy.port))
            && printed.contains("apprise:json://***: delivered"),
        "{printed}"
    );
    clean(&printed);
    let pushes = ntfy.wait_for(1, Duration::from_secs(10));
    assert_eq!(pushes[0].path, "/kr-topic-secret");
    assert_eq!(
        pushes[0].headers["authorization"],
        format!("Bearer {ntfy_token}")
    );
    let posts = json.wait_for(1, Duration::from_secs(10));
    assert_eq!(posts[0].path, format!("/hook/{apprise_token}"));

    // Forgotten: ntfy is sent without a token again.
    let out = on_desktop(
        dir.path(),
        &desktop,
        &["alert", "token"],
        &["clear", "1"],
        "",
    );
    assert!(out.status.success(), "{}", support::printed(&out));
    let out = on_desktop(dir.path(), &desktop, &["alert", "test"], &[], "");
    let printed = support::printed(&out);
    assert!(
        printed.contains(&format!("ntfy://127.0.0.1:{}/***: delivered", ntfy.port)),
        "{printed}"
    );
    clean(&printed);
    let pushes = ntfy.wait_for(2, Duration::from_secs(10));
    assert!(
        !pushes[1].headers.contains_key("authorization"),
        "{:?}",
        pushes[1].headers
    );
}

/// Rejects TCP to a loopback port for as long as it lives: an nftables table of the test's own,
/// removed on drop (root only).
struct Blocked {
    table: String,
}

impl Blocked {
    fn port(port: u16) -> Option<Blocked> {
        if !support::gate::require_root("block the webhook's port with nftables") {
            return None;
        }
        let table = format!("dialtone_alerts_{}_{port}", std::process::id());
        let script = format!(
            "table inet {table} {{\n chain out {{\n  type filter hook output priority 0; policy accept;\n  \
             ip daddr 127.0.0.1 tcp dport {port} reject with tcp reset\n }}\n}}\n"
        );
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "nft refused {script}");
        Some(Blocked { table })
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .status();
    }
}

/// The outbox's alerts, read from its file.
fn outbox(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("alert-outbox.json")).unwrap_or_default();
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["entries"].as_array().cloned())
        .unwrap_or_default()
}

/// An outage while the webhook's port is blocked, its recovery, then the port restored: both
/// alerts arrive once, in order, with their original times; with `restart`, `watch` is killed
/// (SIGKILL) during the outage and started again, which must neither lose the alert nor alert
/// the same outage twice.
fn outbox_run(restart: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kamailio(false);
    let hook = Recorder::start(ok);
    let Some(blocked) = Blocked::port(hook.port) else {
        return;
    };
    let anchors = support::loopback_anchors();
    let extra = format!("[[alert]]\nurl = \"http://127.0.0.1:{}/hook\"\n", hook.port);
    config(
        dir.path(),
        &k.registrar_uri(Transport::Udp),
        &anchors,
        &extra,
    );
    let (mut child, mut rx) = watch(dir.path());
    next_change(&rx, "healthy");
    k.stop();
    let outage = next_change(&rx, "provider_outage");
    // Tries fail meanwhile (the port answers with a reset).
    let deadline = Instant::now() + Duration::from_secs(10);
    let tried = |dir: &Path| {
        outbox(dir)
            .first()
            .and_then(|e| e["attempts"].as_u64())
            .unwrap_or(0)
    };
    while tried(dir.path()) < 2 {
        assert!(
            Instant::now() < deadline,
            "no failed tries: {:#?}",
            outbox(dir.path())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    if restart {
        child.kill().unwrap();
        child.wait().unwrap();
        let (again, again_rx) = watch(dir.path());
        (child, rx) = (again, again_rx);
        let seen = next_change(&rx, "provider_outage");
        assert_eq!(seen["from"], "unknown");
    }
    k.start_again();
    let recovery = next_change(&rx, "healthy");
    std::thread::sleep(Duration::from_secs(2));
    assert!(hook.requests().is_empty(), "the port is blocked");
    let waiting = outbox(dir.path());
    assert_eq!(waiting.len(), 2, "{waiting:#?}");
    assert!(
        waiting.iter().all(|e| e["state"] == "pending"),
        "{waiting:#?}"
    );

    drop(blocked);
    let got = hook.wait_for(2, Duration::from_secs(15));
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["event"], "outage");
    assert_eq!(bodies[0]["since"], outage["since"], "its original time");
    assert_eq!(bodies[1]["event"], "recovery");
    assert_eq!(
        bodies[1]["since"], outage["since"],
        "the outage's start, from before any restart"
    );
    assert_eq!(bodies[1]["until"], recovery["since"]);
    // Each with its own id, sent along.
    assert_ne!(
        got[0].headers["x-dialtone-id"],
        got[1].headers["x-dialtone-id"]
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        hook.requests().len(),
        2,
        "never twice: {:#?}",
        hook.requests()
    );
    support::stop(&mut child, Duration::from_secs(5)).expect("watch stops on SIGTERM");
    let done = outbox(dir.path());
    assert!(done.iter().all(|e| e["state"] == "delivered"), "{done:#?}");
    // `alert list` shows both, delivered, the target redacted.
    let out = dialtone(dir.path(), &["alert", "list"]).output().unwrap();
    let listed = support::printed(&out);
    assert!(out.status.success(), "{listed}");
    let shown = format!("http://127.0.0.1:{}/***", hook.port);
    let rows: Vec<&str> = listed
        .lines()
        .filter(|l| l.contains(&format!("to {shown}: delivered")))
        .collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows[0].contains(" outage ") && rows[1].contains(" recovery "),
        "{listed}"
    );
    assert!(!listed.contains("/hook"), "{listed}");
}

#[test]
fn alerts_wait_in_the_outbox_while_the_webhook_is_blocked_and_arrive_once_in_order() {
    outbox_run(false);
}

#[test]
fn the_outbox_survives_a_killed_watch_and_the_outage_is_not_alerted_twice() {
    outbox_run(true);
}

/// A target that accepts and never answers.
fn silent() -> (u16, Arc<Mutex<Vec<TcpStream>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    (port, held)
}

/// A target answering 500 with a 50 MB body, streamed.
fn flood() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = s.read(&mut buf);
                let size = 50 * 1024 * 1024;
                let head = format!("HTTP/1.1 500 Flood\r\ncontent-length: {size}\r\n\r\n");
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..size / chunk.len() {
                    if s.write_all(&chunk).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn redirect_loop(_: &Request) -> (u16, Vec<u8>) {
    (302, Vec::new())
}

/// The sum of `dialtone_checks_total` on the exporter at `port`.
fn checks(port: u16) -> u64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with("dialtone_checks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The peak resident memory of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn hostile_targets_cost_bounded_time_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kamailio(false);
    let (quiet, _held) = silent();
    let failing = Recorder::start(|_| (500, b"{\"error\":\"nope\"}".to_vec()));
    let looping = Recorder::start(redirect_loop);
    let huge = flood();
    let anchors = support::loopback_anchors();
    let extra = format!(
        "[[alert]]\nurl = \"http://127.0.0.1:{quiet}/silent\"\n\
         [[alert]]\nurl = \"http://127.0.0.1:{}/500\"\n\
         [[alert]]\nurl = \"http://127.0.0.1:{}/loop\"\n\
         [[alert]]\nurl = \"http://127.0.0.1:{huge}/huge\"\n",
        failing.port, looping.port
    );
    config(
        dir.path(),
        &k.registrar_uri(Transport::Udp),
        &anchors,
        &extra,
    );
    let metrics = support::free_port();
    let mut cmd = dialtone(dir.path(), &["watch"]);
    cmd.args(["--json", "--lang", "en"])
        .args(support::FAST_ROUNDS)
        .args(["--metrics", &metrics.to_string()]);
    let (mut child, rx) = support::spawn_with_lines(&mut cmd).unwrap();
    next_change(&rx, "healthy");
    k.stop();
    next_change(&rx, "provider_outage");
    k.start_again();
    let started = Instant::now();
    next_change(&rx, "healthy");
    // Two good checks at a 1 s re-check confirm the recovery, whatever the targets do.
    assert!(
        started.elapsed() < support::gate::slack(Duration::from_secs(8)),
        "{:?}",
        started.elapsed()
    );
    // Every target is being tried (and failing) now; the rounds keep their 1 s schedule.
    let tries = |dir: &Path| {
        outbox(dir)
            .iter()
            .map(|e| e["attempts"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while tries(dir.path()) < 6 {
        assert!(Instant::now() < deadline, "{:#?}", outbox(dir.path()));
        std::thread::sleep(Duration::from_millis(200));
    }
    let before = checks(metrics);
    std::thread::sleep(Duration::from_secs(10));
    let rounds = checks(metrics) - before;
    // A monitor held up by a target would manage one or two (the silent one holds a try for
    // 15 s); a loaded CI machine may stretch the 1 s interval a little.
    assert!(rounds >= 6, "{rounds} rounds in 10 s at a 1 s interval");
    // The silent target's first try ends at its deadline (15 s).
    let deadline = Instant::now() + Duration::from_secs(25);
    let silent_failed = |dir: &Path| {
        outbox(dir).iter().any(|e| {
            e["shown"]
                .as_str()
                .is_some_and(|s| s.contains(&format!(":{quiet}")))
                && e["last_error"].is_string()
        })
    };
    while !silent_failed(dir.path()) {
        assert!(Instant::now() < deadline, "{:#?}", outbox(dir.path()));
        std::thread::sleep(Duration::from_millis(200));
    }
    let peak = peak_rss_kib(child.id());
    assert!(
        peak < 48 * 1024,
        "peak RSS {peak} KiB: a 50 MB body must not be read"
    );
    let entries = outbox(dir.path());
    for e in &entries {
        assert_eq!(e["state"], "pending", "{e:#}");
        let why = e["last_error"].as_str().unwrap_or("");
        assert!(
            !why.contains("/silent") && !why.contains("/huge"),
            "redacted: {why}"
        );
    }
    let says = |port: u16| {
        entries
            .iter()
            .filter(|e| e["shown"].as_str().unwrap().contains(&format!(":{port}")))
            .filter_map(|e| e["last_error"].as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(says(quiet).contains("no answer"), "{}", says(quiet));
    assert!(says(failing.port).contains("500"), "{}", says(failing.port));
    assert!(
        says(looping.port).contains("redirects"),
        "{}",
        says(looping.port)
    );
    assert!(says(huge).contains("500"), "{}", says(huge));
    println!("hostile targets: {rounds} rounds in 10 s, peak RSS {peak} KiB");
    support::stop(&mut child, Duration::from_secs(5)).expect("watch stops on SIGTERM");
}
