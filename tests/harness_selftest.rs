//! Proves the kamailio harness in `tests/support` does what other tests rely on, using
//! sipsak and openssl (independent clients) rather than dialtone's own SIP code.
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion

use dialtone_testkit as support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dialtone_core::observation::Transport;
use support::kamailio::{Kamailio, KamailioOptions};

fn alice() -> Vec<(String, String)> {
    vec![
        ("alice".into(), "secret".into()),
        ("bob".into(), "hunter2".into()),
    ]
}

/// Runs sipsak with `args`, returning (success, everything it printed).
fn sipsak(args: &[&str]) -> (bool, String) {
    let out = Command::new("sipsak")
        .args(args)
        .output()
        .expect("sipsak is installed");
    (out.status.success(), support::printed(&out))
}

#[test]
fn options_over_udp_answers_200_without_auth() {
    let k = Kamailio::start(KamailioOptions {
        users: alice(),
        ..Default::default()
    });
    let uri = format!("sip:{}:{}", k.domain(), k.udp_port());
    let (ok, text) = sipsak(&["-vv", "-s", &uri]);
    assert!(ok, "sipsak OPTIONS failed:\n{text}");
    assert!(text.contains("SIP/2.0 200 OK"), "no 200 in:\n{text}");
    assert_eq!(
        k.registrar_uri(Transport::Udp),
        format!("sip:127.0.0.1:{};transport=udp", k.udp_port())
    );
}

#[test]
fn options_over_tcp_answers_200() {
    let k = Kamailio::start(KamailioOptions::default());
    let uri = format!("sip:{}:{}", k.domain(), k.tcp_port());
    let (ok, text) = sipsak(&["-vv", "--transport", "tcp", "-s", &uri]);
    assert!(ok, "sipsak OPTIONS over TCP failed:\n{text}");
    assert!(text.contains("SIP/2.0 200 OK"), "no 200 in:\n{text}");
}

#[test]
fn tls_certificate_verifies_against_the_harness_ca_for_ip_and_localhost() {
    let k = Kamailio::start(KamailioOptions {
        tls: true,
        ..Default::default()
    });
    let ca = k.ca_cert_path();
    assert!(std::fs::read_to_string(&ca)
        .expect("CA file")
        .contains("BEGIN CERTIFICATE"));
    let connect = format!("127.0.0.1:{}", k.tls_port());
    for check in [
        ["-verify_ip", "127.0.0.1"],
        ["-verify_hostname", "localhost"],
    ] {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &connect, "-CAfile"])
            .arg(&ca)
            .args(["-verify_return_error", "-brief"])
            .args(check)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl is installed");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("Verification: OK"),
            "TLS verification with {check:?} failed:\n{text}"
        );
    }
    // A name the certificate does not carry must fail verification, or the check above
    // proves nothing.
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &connect, "-CAfile"])
        .arg(&ca)
        .args([
            "-verify_return_error",
            "-brief",
            "-verify_hostname",
            "not-this.example",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl is installed");
    assert!(!out.status.success(), "a wrong host name verified");
}

#[test]
fn wrong_password_gets_403_and_unknown_user_too() {
    let k = Kamailio::start(KamailioOptions {
        users: alice(),
        ..Default::default()
    });
    for (user, pass) in [("alice", "wrong"), ("mallory", "secret")] {
        let contact = format!("sip:{user}@127.0.0.1:45999");
        let target = format!("sip:{user}@127.0.0.1:{}", k.udp_port());
        let (ok, text) = sipsak(&["-vv", "-U", "-C", &contact, "-s", &target, "-a", pass]);
        assert!(
            !ok,
            "sipsak REGISTER with bad credentials succeeded:\n{text}"
        );
        assert!(
            text.contains("403"),
            "expected 403 for {user}/{pass}:\n{text}"
        );
        // The harness's own client sees the same.
        let reply = k.query(user, pass).expect("reply");
        assert_eq!(reply.status, 403, "{}", reply.text);
    }
}

#[test]
fn register_contact_adds_a_binding_visible_in_a_register_query() {
    let k = Kamailio::start(KamailioOptions {
        users: alice(),
        ..Default::default()
    });
    let before = k.query("alice", "secret").expect("query");
    assert_eq!(before.status, 200, "{}", before.text);
    assert!(before.contacts().is_empty(), "{}", before.text);

    let contact = k.register_contact("alice", "secret", 300);
    let after = k.query("alice", "secret").expect("query");
    assert_eq!(after.status, 200, "{}", after.text);
    let contacts = after.contacts();
    assert_eq!(contacts.len(), 1, "{}", after.text);
    assert!(contacts[0].contains(&contact), "{contacts:?}");
    assert!(contacts[0].contains("expires="), "{contacts:?}");
    // Bob's line is untouched.
    let bob = k.query("bob", "hunter2").expect("query");
    assert!(bob.contacts().is_empty(), "{}", bob.text);
}

#[test]
fn reply_503_answers_every_request_503_with_retry_after() {
    let mut k = Kamailio::start(KamailioOptions {
        users: alice(),
        reply_503: true,
        ..Default::default()
    });
    let uri = format!("sip:{}:{}", k.domain(), k.udp_port());
    let (ok, text) = sipsak(&["-vv", "-s", &uri]);
    assert!(!ok, "sipsak took 503 as success:\n{text}");
    assert!(text.contains("503 Service Unavailable"), "{text}");
    assert!(text.contains("Retry-After: 120"), "{text}");
    let reg = k.query("alice", "secret").expect("reply");
    assert_eq!(reg.status, 503);

    // Switching it off on the same ports brings back normal service.
    let port = k.udp_port();
    k.set_reply_503(false);
    assert_eq!(k.udp_port(), port);
    let (ok, text) = sipsak(&["-vv", "-s", &uri]);
    assert!(ok && text.contains("200 OK"), "{text}");
}

#[test]
fn stop_silences_it_and_start_again_restores_it_on_the_same_port() {
    let mut k = Kamailio::start(KamailioOptions::default());
    let pid = k.pid().expect("running");
    assert!(k.ping(Duration::from_secs(1)).is_some());
    k.stop();
    assert!(!k.is_running());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "kamailio {pid} still alive after stop"
    );
    assert!(
        k.ping(Duration::from_secs(1)).is_none(),
        "answered after stop"
    );
    let uri = format!("sip:{}:{}", k.domain(), k.udp_port());
    let (ok, _) = sipsak(&["-s", &uri]);
    assert!(!ok, "sipsak got an answer from a stopped kamailio");

    let port = k.udp_port();
    k.start_again();
    assert_eq!(k.udp_port(), port);
    let reply = k.ping(Duration::from_secs(1)).expect("answers again");
    assert_eq!(reply.status, 200);
}

#[test]
fn kill_is_immediate_and_drop_stops_the_process() {
    let mut k = Kamailio::start(KamailioOptions::default());
    k.kill();
    assert!(k.ping(Duration::from_millis(500)).is_none());
    k.start_again();
    let pid = k.pid().expect("running");
    drop(k);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "kamailio {pid} survived drop"
    );
}

#[test]
fn parallel_instances_get_distinct_ports_and_all_answer() {
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| Kamailio::start(KamailioOptions::default())))
        .collect();
    let ks: Vec<Kamailio> = handles
        .into_iter()
        .map(|h| h.join().expect("start"))
        .collect();
    let mut ports: Vec<u16> = ks
        .iter()
        .flat_map(|k| [k.udp_port(), k.tcp_port()])
        .collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 8, "port clash: {ports:?}");
    for k in &ks {
        assert_eq!(k.ping(Duration::from_secs(1)).expect("answer").status, 200);
    }
}

#[test]
fn sha256_challenge_when_asked() {
    let k = Kamailio::start(KamailioOptions {
        users: alice(),
        digest_algorithm: Some("SHA-256".into()),
        ..Default::default()
    });
    // The harness client speaks only MD5, so it hands back the challenge itself.
    let reply = k
        .register_raw("alice", "secret", Some(("sip:alice@127.0.0.1:1", 60)))
        .expect("reply");
    let challenge = reply.header_values("WWW-Authenticate").join(",");
    assert!(
        challenge.contains("algorithm=SHA-256"),
        "challenge was: {challenge}\n{}",
        reply.text
    );
}

/// `scripts/test` says at once, before installing anything, when it cannot run the whole
/// suite: in CI not as root (the root-only tests would fail), elsewhere neither root nor sudo.
/// Run as `nobody` on a copy of the script (the checkout may not be readable to nobody).
#[test]
fn scripts_test_refuses_to_run_without_root() {
    if !support::require_root("run scripts/test as another user") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.path().join("scripts/lib")).unwrap();
    for file in ["scripts/test", "scripts/lib/setup.sh"] {
        std::fs::copy(root.join(file), dir.path().join(file)).unwrap();
    }
    for sub in ["", "scripts", "scripts/lib"] {
        let path = dir.path().join(sub);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run_as_nobody = |ci: Option<&str>| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash"])
            .arg(dir.path().join("scripts/test"))
            .env("HOME", dir.path())
            .env_remove("CI")
            .stdin(std::process::Stdio::null());
        if let Some(ci) = ci {
            cmd.env("CI", ci);
        }
        let out = cmd.output().expect("setpriv runs");
        (out.status.code(), support::printed(&out))
    };
    let (code, said) = run_as_nobody(Some("true"));
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("CI is set but this runs as nobody"), "{said}");
    assert!(!said.contains("== installing"), "{said}");
    // Without CI and without sudo rights: the same, in other words.
    let (code, said) = run_as_nobody(None);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("needs root, or sudo rights"), "{said}");
}
