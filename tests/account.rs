//! The REGISTER query (`AccountProber`) against a real kamailio registrar over UDP, TCP and TLS,
//! and against scripted UDP peers for challenges kamailio will not send.
//!
//! The scripted peers check our `Authorization` header with their own digest code (md-5 and
//! sha2 directly), so a wrong hash in dialtone cannot be mirrored by the test.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone_core::observation::{AccountOutcome, SipOutcome, SipTarget, Transport};
use dialtone_engine::probe::sip::{AccountProber, AccountSettings, SipSettings};
use dialtone_engine::secret::Secret;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::kamailio::{Kamailio, KamailioOptions};
use support::sip::{find_header, header, loopback_target, reply};
use tokio::net::UdpSocket;

/// Upper bound on any single query; far above the probe timeouts used here.
const GUARD: Duration = Duration::from_secs(20);

const PASSWORD: &str = "s3cret-pw";

fn sip(timeout_ms: u64) -> SipSettings {
    SipSettings {
        timeout: Duration::from_millis(timeout_ms),
        ..SipSettings::default()
    }
}

fn account(user: &str, password: &str) -> AccountSettings {
    AccountSettings {
        aor: format!("sip:{user}@127.0.0.1"),
        auth_user: user.into(),
        password: Secret::new(password),
    }
}

async fn run(
    prober: &AccountProber,
    targets: &[SipTarget],
    s: &SipSettings,
) -> dialtone_core::observation::AccountObservation {
    tokio::time::timeout(GUARD, prober.query(targets, s))
        .await
        .expect("query exceeded the guard time")
        .expect("query could run")
}

fn users() -> Vec<(String, String)> {
    vec![
        ("alice".into(), PASSWORD.into()),
        ("bob".into(), "other-pw".into()),
    ]
}

/// A registrar that knows alice and bob; `more` sets the rest.
fn kamailio(more: KamailioOptions) -> Kamailio {
    Kamailio::start(KamailioOptions {
        users: users(),
        ..more
    })
}

/// `k`'s address for `transport`, as the prober's target.
fn kamailio_target(k: &Kamailio, transport: Transport) -> SipTarget {
    loopback_target(transport, SocketAddr::new(k.ip(), k.port(transport)))
}

/// One query as `user` to `target` by a fresh prober, at a 4 s probe timeout.
async fn query_once(
    user: &str,
    password: &str,
    target: SipTarget,
) -> dialtone_core::observation::AccountObservation {
    let prober = AccountProber::new(account(user, password));
    run(&prober, &[target], &sip(4_000)).await
}

/// Asserts that kamailio accepted the login and listed no binding (quoting its log if not).
fn assert_accepted_without_bindings(
    obs: &dialtone_core::observation::AccountObservation,
    k: &Kamailio,
) {
    assert_eq!(
        obs.outcome,
        AccountOutcome::Accepted { bindings: vec![] },
        "{obs:?}\n{}",
        k.log()
    );
}

fn response_code(obs: &dialtone_core::observation::AccountObservation) -> Option<u16> {
    match &obs.exchange.as_ref()?.outcome {
        SipOutcome::Response { code, .. } => Some(*code),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Real kamailio
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn kamailio_udp_right_password_without_binding_is_accepted_and_adds_none() {
    let k = kamailio(KamailioOptions::default());
    let obs = query_once("alice", PASSWORD, kamailio_target(&k, Transport::Udp)).await;
    assert_accepted_without_bindings(&obs, &k);
    assert_eq!(obs.aor, "sip:alice@127.0.0.1");
    assert_eq!(response_code(&obs), Some(200));
    // The harness's own client confirms kamailio still holds no binding for alice.
    let reply = k.query("alice", PASSWORD).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.contacts().is_empty(), "{}", reply.text);
}

#[tokio::test]
async fn kamailio_lists_a_real_binding_over_udp_and_tcp_and_adds_none() {
    let k = kamailio(KamailioOptions::default());
    let contact = k.register_contact("alice", PASSWORD, 300);
    let prober = AccountProber::new(account("alice", PASSWORD));
    for t in [
        kamailio_target(&k, Transport::Udp),
        kamailio_target(&k, Transport::Tcp),
    ] {
        let obs = run(&prober, std::slice::from_ref(&t), &sip(4_000)).await;
        let AccountOutcome::Accepted { bindings } = &obs.outcome else {
            panic!("{:?}: {obs:?}\n{}", t.transport, k.log());
        };
        assert_eq!(bindings.len(), 1, "{bindings:?}");
        assert_eq!(bindings[0].contact, contact);
        let expires = bindings[0].expires.expect("kamailio sends ;expires=");
        assert!((250..=300).contains(&expires), "expires {expires}");
        assert_eq!(obs.exchange.as_ref().unwrap().target, t);
    }
    let reply = k.query("alice", PASSWORD).unwrap();
    assert_eq!(reply.contacts().len(), 1, "{}", reply.text);
}

#[tokio::test]
async fn kamailio_over_tls_with_the_harness_ca() {
    let k = kamailio(KamailioOptions {
        tls: true,
        ..Default::default()
    });
    let contact = k.register_contact("alice", PASSWORD, 120);
    let prober = AccountProber::new(account("alice", PASSWORD));
    let t = kamailio_target(&k, Transport::Tls);
    let settings = SipSettings {
        extra_ca: Some(k.ca_cert_path()),
        ..sip(4_000)
    };
    let obs = run(&prober, std::slice::from_ref(&t), &settings).await;
    let AccountOutcome::Accepted { bindings } = &obs.outcome else {
        panic!("{obs:?}\n{}", k.log());
    };
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].contact, contact);
    // Without the CA the certificate is not trusted: a transport failure, not an answer.
    let obs = run(&prober, &[t], &sip(4_000)).await;
    assert_eq!(obs.outcome, AccountOutcome::NoAnswer);
    assert!(
        matches!(
            obs.exchange.unwrap().outcome,
            SipOutcome::TransportFailed { .. }
        ),
        "untrusted certificate must fail the handshake"
    );
}

#[tokio::test]
async fn kamailio_sha256_challenge_is_answered() {
    let k = kamailio(KamailioOptions {
        digest_algorithm: Some("SHA-256".into()),
        ..Default::default()
    });
    let obs = query_once("bob", "other-pw", kamailio_target(&k, Transport::Udp)).await;
    assert_accepted_without_bindings(&obs, &k);
}

/// The datagram a test sends after the requests it counts: see [`received_all`].
const MARKER: &[u8] = b"dialtone-test-marker";

/// Sends [`MARKER`] to `to` and waits until `arrived` counts it. Datagrams on loopback are
/// queued at the receiver as they are sent, so by then everything sent to `to` before this
/// call has been received: the positive marker before asserting that nothing more was sent
/// (instead of sleeping and hoping a stray datagram would have arrived by then).
async fn received_all(to: SocketAddr, arrived: impl Fn() -> u32) {
    let before = arrived();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(MARKER, to).await.unwrap();
    let limit = support::slack(Duration::from_secs(5));
    let deadline = std::time::Instant::now() + limit;
    while arrived() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the marker did not reach {to} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A UDP relay in front of kamailio that counts the requests it forwards, so a test can prove
/// how many REGISTERs actually left the prober; and the [`MARKER`]s it received (not
/// forwarded).
async fn counting_relay(upstream: SocketAddr) -> (SocketAddr, Arc<AtomicU32>, Arc<AtomicU32>) {
    let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    back.connect(upstream).await.unwrap();
    let addr = front.local_addr().unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let markers = Arc::new(AtomicU32::new(0));
    let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let (f, b, c, cl) = (front.clone(), back.clone(), count.clone(), client.clone());
    let m = markers.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = f.recv_from(&mut buf).await {
            if &buf[..n] == MARKER {
                m.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            if buf[..n].starts_with(b"REGISTER ") {
                c.fetch_add(1, Ordering::SeqCst);
            }
            *cl.lock().unwrap() = Some(from);
            let _ = b.send(&buf[..n]).await;
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = back.recv(&mut buf).await {
            let to = *client.lock().unwrap();
            if let Some(to) = to {
                let _ = front.send_to(&buf[..n], to).await;
            }
        }
    });
    (addr, count, markers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kamailio_wrong_password_is_rejected_then_suspended_without_sending() {
    let k = kamailio(KamailioOptions::default());
    let (relay, count, markers) = counting_relay(SocketAddr::new(k.ip(), k.udp_port())).await;
    let relayed_all = || received_all(relay, || markers.load(Ordering::SeqCst));
    let t = [loopback_target(Transport::Udp, relay)];
    let prober = AccountProber::new(account("alice", "wrong-pw"));
    let obs = run(&prober, &t, &sip(4_000)).await;
    assert_eq!(
        obs.outcome,
        AccountOutcome::Rejected {
            code: 403,
            reason: "Forbidden".into()
        },
        "{obs:?}\n{}",
        k.log()
    );
    // The challenge and our one answer.
    assert_eq!(count.load(Ordering::SeqCst), 2);

    let again = run(&prober, &t, &sip(4_000)).await;
    let AccountOutcome::Suspended { since, code } = again.outcome else {
        panic!("expected Suspended, got {again:?}");
    };
    assert_eq!((since, code), (obs.checked_at, 403));
    assert_eq!(again.exchange, None);
    // Whatever the query sent has reached the relay before counting.
    relayed_all().await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "a suspended query sent REGISTER"
    );

    // Same credentials again: still suspended, still silent.
    prober.set_account(account("alice", "wrong-pw")).await;
    let again = run(&prober, &t, &sip(4_000)).await;
    assert!(matches!(again.outcome, AccountOutcome::Suspended { .. }));
    relayed_all().await;
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // New credentials lift the suspension and are sent through the same relay.
    prober.set_account(account("alice", PASSWORD)).await;
    let fixed = run(&prober, &t, &sip(4_000)).await;
    assert_eq!(fixed.outcome, AccountOutcome::Accepted { bindings: vec![] });
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn kamailio_unknown_user_is_rejected() {
    let k = kamailio(KamailioOptions::default());
    let obs = query_once("mallory", PASSWORD, kamailio_target(&k, Transport::Tcp)).await;
    assert!(
        matches!(obs.outcome, AccountOutcome::Rejected { code: 403, .. }),
        "{obs:?}"
    );
}

#[tokio::test]
async fn kamailio_stopped_is_no_answer_over_udp_and_tcp() {
    let mut k = kamailio(KamailioOptions::default());
    let udp = kamailio_target(&k, Transport::Udp);
    let tcp = kamailio_target(&k, Transport::Tcp);
    k.stop();
    let prober = AccountProber::new(account("alice", PASSWORD));
    for t in [udp, tcp] {
        let obs = run(&prober, std::slice::from_ref(&t), &sip(1_500)).await;
        assert_eq!(obs.outcome, AccountOutcome::NoAnswer, "{obs:?}");
        let ex = obs.exchange.expect("the failed exchange is recorded");
        assert_eq!(ex.target, t);
        assert_eq!(ex.method, "REGISTER");
        assert!(
            matches!(
                ex.outcome,
                SipOutcome::Timeout | SipOutcome::TransportFailed { .. }
            ),
            "{ex:?}"
        );
    }
    // NoAnswer is no rejection: nothing is suspended.
    assert_eq!(prober.suspended().await, None);
}

// ---------------------------------------------------------------------------------------------
// Scripted peers
// ---------------------------------------------------------------------------------------------

/// Parameters of a `Digest k=v, k="v"` value (our own parser, independent of dialtone's).
fn digest_params(value: &str) -> HashMap<String, String> {
    let body = value.strip_prefix("Digest ").expect("Digest scheme");
    let mut out = HashMap::new();
    let mut rest = body;
    while !rest.trim().is_empty() {
        let (k, after) = rest.split_once('=').expect("k=v");
        let after = after.trim_start();
        let (v, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').expect("closing quote");
            (&q[..end], &q[end + 1..])
        } else {
            after.split_once(',').map_or((after, ""), |(v, t)| (v, t))
        };
        out.insert(k.trim().to_string(), v.trim().to_string());
        rest = tail.trim_start_matches([',', ' ']);
    }
    out
}

/// Recomputes the digest response of `request`'s `auth_header` and compares everything the
/// server can check. `Err` says what is wrong.
fn check_digest(
    request: &str,
    auth_header: &str,
    password: &str,
    realm: &str,
    nonce: &str,
    algorithm: &str,
) -> Result<(), String> {
    let value = find_header(request, auth_header).ok_or(format!("no {auth_header}"))?;
    let p = digest_params(value);
    let get = |k: &str| p.get(k).cloned().ok_or(format!("no {k} in {value}"));
    let uri = request
        .split(' ')
        .nth(1)
        .ok_or("no request-URI")?
        .to_string();
    if get("uri")? != uri {
        return Err(format!("uri {} != request-URI {uri}", get("uri")?));
    }
    for (k, want) in [("realm", realm), ("nonce", nonce), ("algorithm", algorithm)] {
        if get(k)? != want {
            return Err(format!("{k} is {} not {want}", get(k)?));
        }
    }
    let h = |s: String| -> String {
        if algorithm.starts_with("SHA-256") {
            hex::encode(Sha256::digest(s.as_bytes()))
        } else {
            hex::encode(Md5::digest(s.as_bytes()))
        }
    };
    let user = get("username")?;
    let mut ha1 = h(format!("{user}:{realm}:{password}"));
    if algorithm.ends_with("-sess") {
        ha1 = h(format!("{ha1}:{nonce}:{}", get("cnonce")?));
    }
    let expected = match p.get("qop").map(String::as_str) {
        None => h(format!("{ha1}:{nonce}:{}", h(format!("REGISTER:{uri}")))),
        Some(qop) => {
            let nc = get("nc")?;
            if nc != "00000001" {
                return Err(format!("nc {nc}"));
            }
            let ha2 = if qop == "auth-int" {
                h(format!("REGISTER:{uri}:{}", h(String::new())))
            } else {
                h(format!("REGISTER:{uri}"))
            };
            h(format!("{ha1}:{nonce}:{nc}:{}:{qop}:{ha2}", get("cnonce")?))
        }
    };
    if get("response")? != expected {
        return Err(format!("response {} != {expected}", get("response")?));
    }
    Ok(())
}

/// A scripted UDP registrar. Every request is logged; `script` returns the datagrams to send.
/// [`MARKER`]s are counted apart and not answered.
struct Peer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    markers: Arc<AtomicU32>,
}

impl Peer {
    async fn start<F>(mut script: F) -> Peer
    where
        F: FnMut(&str) -> Vec<Vec<u8>> + Send + 'static,
    {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let markers = Arc::new(AtomicU32::new(0));
        let log = requests.clone();
        let m = markers.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if &buf[..n] == MARKER {
                    m.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                log.lock().unwrap().push(text.clone());
                for datagram in script(&text) {
                    let _ = socket.send_to(&datagram, from).await;
                }
            }
        });
        Peer {
            addr,
            requests,
            markers,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until everything sent to the peer so far has reached it ([`received_all`]).
    async fn received_all(&self) {
        received_all(self.addr, || self.markers.load(Ordering::SeqCst)).await;
    }

    fn target(&self) -> SipTarget {
        loopback_target(Transport::Udp, self.addr)
    }
}

/// A registrar that challenges with `challenges` and answers 200 (with two bindings) to a
/// correct answer for the challenge using `algorithm`, 403 with the mismatch otherwise.
async fn verifying_peer(challenges: &'static [&'static str], algorithm: &'static str) -> Peer {
    Peer::start(move |req| {
        if find_header(req, "authorization").is_none() {
            let extra: String = challenges
                .iter()
                .map(|c| format!("WWW-Authenticate: {c}\r\n"))
                .collect();
            return vec![reply(req, "401 Unauthorized", &extra)];
        }
        let nonce = if algorithm.starts_with("SHA") {
            "sha-nonce"
        } else {
            "md5-nonce"
        };
        match check_digest(req, "authorization", PASSWORD, "test.realm", nonce, algorithm) {
            Ok(()) => vec![reply(
                req,
                "200 OK",
                "Contact: <sip:phone@192.0.2.9:5060>;expires=120, <sip:router@192.0.2.1;transport=tcp>\r\nExpires: 600\r\n",
            )],
            Err(why) => vec![reply(req, &format!("403 {why}"), "")],
        }
    })
    .await
}

fn assert_accepted_with_two_bindings(obs: &dialtone_core::observation::AccountObservation) {
    let AccountOutcome::Accepted { bindings } = &obs.outcome else {
        panic!("not accepted: {obs:?}");
    };
    let got: Vec<_> = bindings
        .iter()
        .map(|b| (b.contact.as_str(), b.expires))
        .collect();
    assert_eq!(
        got,
        vec![
            ("sip:phone@192.0.2.9:5060", Some(120)),
            ("sip:router@192.0.2.1;transport=tcp", Some(600)),
        ]
    );
}

/// A [`verifying_peer`] offering `challenges` and expecting `algorithm`, queried as alice: it
/// must accept, listing its two bindings. The peer (with the requests it saw) and the answer.
async fn alice_accepted_by(
    challenges: &'static [&'static str],
    algorithm: &'static str,
) -> (Peer, dialtone_core::observation::AccountObservation) {
    let peer = verifying_peer(challenges, algorithm).await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert_accepted_with_two_bindings(&obs);
    (peer, obs)
}

#[tokio::test]
async fn scripted_sha256_challenge_and_the_shape_of_both_requests() {
    let (peer, obs) = alice_accepted_by(
        &["Digest realm=\"test.realm\", nonce=\"sha-nonce\", qop=\"auth\", algorithm=SHA-256, opaque=\"op 1\""],
        "SHA-256",
    )
    .await;
    let reqs = peer.requests();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    let uri = format!("sip:127.0.0.1:{}", peer.addr.port());
    for (i, r) in reqs.iter().enumerate() {
        assert!(r.starts_with(&format!("REGISTER {uri} SIP/2.0\r\n")), "{r}");
        assert!(
            find_header(r, "contact").is_none(),
            "a query has no Contact:\n{r}"
        );
        assert!(find_header(r, "m").is_none());
        assert!(find_header(r, "expires").is_none(), "{r}");
        assert!(header(r, "from").starts_with("<sip:alice@127.0.0.1>;tag="));
        assert_eq!(header(r, "to"), "<sip:alice@127.0.0.1>");
        assert_eq!(header(r, "cseq"), format!("{} REGISTER", i + 1));
        assert!(!r.contains(PASSWORD));
    }
    assert_eq!(header(&reqs[0], "call-id"), header(&reqs[1], "call-id"));
    assert_eq!(header(&reqs[0], "from"), header(&reqs[1], "from"));
    assert_ne!(
        header(&reqs[0], "via"),
        header(&reqs[1], "via"),
        "new branch"
    );
    let auth = digest_params(header(&reqs[1], "authorization"));
    assert_eq!(auth["opaque"], "op 1");
    assert_eq!(auth["qop"], "auth");
    assert!(!format!("{obs:?}").contains(PASSWORD));
}

#[tokio::test]
async fn scripted_md5_sess_challenge() {
    alice_accepted_by(
        &["Digest realm=\"test.realm\", nonce=\"md5-nonce\", qop=\"auth\", algorithm=MD5-sess"],
        "MD5-sess",
    )
    .await;
}

#[tokio::test]
async fn scripted_rfc2069_challenge_without_qop() {
    let (peer, _) =
        alice_accepted_by(&["Digest realm=\"test.realm\", nonce=\"md5-nonce\""], "MD5").await;
    let auth = header(&peer.requests()[1], "authorization").to_string();
    assert!(!auth.contains("nc=") && !auth.contains("qop="), "{auth}");
}

#[tokio::test]
async fn scripted_auth_int_only_is_answered_with_the_empty_body_hash() {
    alice_accepted_by(
        &["Digest realm=\"test.realm\", nonce=\"sha-nonce\", qop=\"auth-int\", algorithm=SHA-256"],
        "SHA-256",
    )
    .await;
}

#[tokio::test]
async fn scripted_two_challenges_picks_sha256_whatever_the_order() {
    const MD5: &str =
        "Digest realm=\"test.realm\", nonce=\"md5-nonce\", qop=\"auth\", algorithm=MD5";
    const SHA: &str =
        "Digest realm=\"test.realm\", nonce=\"sha-nonce\", qop=\"auth\", algorithm=SHA-256";
    for challenges in [&[MD5, SHA], &[SHA, MD5]] {
        alice_accepted_by(challenges, "SHA-256").await;
    }
}

#[tokio::test]
async fn scripted_407_is_answered_with_proxy_authorization() {
    let peer = Peer::start(|req| {
        if find_header(req, "proxy-authorization").is_none() {
            return vec![reply(
                req,
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Digest realm=\"test.realm\", nonce=\"md5-nonce\", qop=\"auth\"\r\n",
            )];
        }
        match check_digest(req, "proxy-authorization", PASSWORD, "test.realm", "md5-nonce", "MD5") {
            Ok(()) => vec![reply(req, "200 OK", "")],
            Err(why) => vec![reply(req, &format!("403 {why}"), "")],
        }
    })
    .await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert_eq!(obs.outcome, AccountOutcome::Accepted { bindings: vec![] });
}

/// A registrar that challenges every request, optionally with `stale=true` after an answer.
async fn always_challenging_peer(stale: bool) -> Peer {
    let n = AtomicU32::new(0);
    Peer::start(move |req| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        let stale = if stale && i > 0 { ", stale=true" } else { "" };
        vec![reply(
            req,
            "401 Unauthorized",
            &format!(
                "WWW-Authenticate: Digest realm=\"test.realm\", nonce=\"n{i}\", qop=\"auth\"{stale}\r\n"
            ),
        )]
    })
    .await
}

#[tokio::test]
async fn scripted_401_after_answer_is_rejected_and_then_suspended() {
    let peer = always_challenging_peer(false).await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert_eq!(
        obs.outcome,
        AccountOutcome::Rejected {
            code: 401,
            reason: "Unauthorized".into()
        }
    );
    assert_eq!(peer.requests().len(), 2);
    let again = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert!(matches!(
        again.outcome,
        AccountOutcome::Suspended { code: 401, .. }
    ));
    peer.received_all().await;
    assert_eq!(peer.requests().len(), 2, "suspended query sent something");
    prober.reset().await;
    let after_reset = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert!(matches!(
        after_reset.outcome,
        AccountOutcome::Rejected { .. }
    ));
    assert_eq!(peer.requests().len(), 4);
}

#[tokio::test]
async fn scripted_stale_nonce_gets_exactly_one_retry() {
    let peer = always_challenging_peer(true).await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert!(matches!(
        obs.outcome,
        AccountOutcome::Rejected { code: 401, .. }
    ));
    let reqs = peer.requests();
    // Challenge, answer, stale → answer with the new nonce, stale again → give up.
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    let nonce = |r: &str| digest_params(header(r, "authorization"))["nonce"].clone();
    assert_eq!(
        (nonce(&reqs[1]), nonce(&reqs[2])),
        ("n0".into(), "n1".into())
    );
    assert_eq!(header(&reqs[2], "cseq"), "3 REGISTER");
}

#[tokio::test]
async fn scripted_503_with_retry_after_is_no_answer_carrying_the_code() {
    let peer = Peer::start(|req| vec![reply(req, "503 Maintenance", "Retry-After: 300\r\n")]).await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert_eq!(obs.outcome, AccountOutcome::NoAnswer);
    match obs.exchange.unwrap().outcome {
        SipOutcome::Response {
            code,
            reason,
            retry_after,
            ..
        } => assert_eq!(
            (code, reason.as_str(), retry_after),
            (503, "Maintenance", Some(300))
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(prober.suspended().await, None);
}

#[tokio::test]
async fn scripted_unsupported_or_garbage_challenges() {
    for (challenge, needle) in [
        (
            "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256, qop=\"auth\"",
            "SHA-512-256",
        ),
        ("Digest realm=\"r\", nonce=\"n\", algorithm=ROT13", "ROT13"),
        (
            "Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"",
            "auth-conf",
        ),
        ("Basic realm=\"r\"", "Basic"),
        ("Digest realm=\"unterminated, nonce=n", "unterminated"),
        ("Digest ,,=garbage", "malformed"),
    ] {
        let peer = Peer::start(move |req| {
            vec![reply(
                req,
                "401 Unauthorized",
                &format!("WWW-Authenticate: {challenge}\r\n"),
            )]
        })
        .await;
        let prober = AccountProber::new(account("alice", PASSWORD));
        let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
        let AccountOutcome::UnsupportedChallenge { detail } = &obs.outcome else {
            panic!("{challenge}: {obs:?}");
        };
        assert!(detail.contains(needle), "{challenge}: {detail}");
        assert_eq!(
            peer.requests().len(),
            1,
            "no answer to what we cannot answer"
        );
        assert_eq!(prober.suspended().await, None);
    }
    // A 401 with no challenge at all.
    let peer = Peer::start(|req| vec![reply(req, "401 Unauthorized", "")]).await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[peer.target()], &sip(3_000)).await;
    assert!(matches!(
        obs.outcome,
        AccountOutcome::UnsupportedChallenge { .. }
    ));
}

#[tokio::test]
async fn scripted_failover_to_the_next_target() {
    // A TCP port nobody listens on: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = loopback_target(Transport::Tcp, closed.local_addr().unwrap());
    drop(closed);
    let busy = Peer::start(|req| vec![reply(req, "503 Busy", "")]).await;
    let good = verifying_peer(
        &["Digest realm=\"test.realm\", nonce=\"md5-nonce\", qop=\"auth\""],
        "MD5",
    )
    .await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[dead, busy.target(), good.target()], &sip(3_000)).await;
    assert_accepted_with_two_bindings(&obs);
    assert_eq!(obs.exchange.unwrap().target, good.target());
    assert_eq!(busy.requests().len(), 1);
}

/// Alice's query to `first`, then to a peer that would accept her, with `timeout_ms` per
/// try: what came of it (no final answer), and that second peer.
async fn first_then_a_good_one(
    first: &Peer,
    timeout_ms: u64,
) -> (dialtone_core::observation::AccountObservation, Peer) {
    let good = verifying_peer(
        &["Digest realm=\"test.realm\", nonce=\"md5-nonce\", qop=\"auth\""],
        "MD5",
    )
    .await;
    let prober = AccountProber::new(account("alice", PASSWORD));
    let obs = run(&prober, &[first.target(), good.target()], &sip(timeout_ms)).await;
    assert_eq!(obs.outcome, AccountOutcome::NoAnswer, "{obs:?}");
    (obs, good)
}

/// A peer script that challenges a REGISTER without credentials and answers one with them
/// as `with_credentials` says.
fn challenge_then(
    with_credentials: impl Fn(&str) -> Vec<Vec<u8>> + Send + 'static,
) -> impl FnMut(&str) -> Vec<Vec<u8>> + Send + 'static {
    move |req| {
        if find_header(req, "authorization").is_none() {
            vec![reply(
                req,
                "401 Unauthorized",
                "WWW-Authenticate: Digest realm=\"test.realm\", nonce=\"n1\", algorithm=MD5\r\n",
            )]
        } else {
            with_credentials(req)
        }
    }
}

#[tokio::test]
async fn scripted_no_failover_once_credentials_went_out() {
    // The first target challenges, then fails the REGISTER that carries the credentials; the
    // second would accept them. Passing the same login on would be one more failed login to
    // count at the provider: the query ends at the first target.
    let failing = Peer::start(challenge_then(|req| {
        vec![reply(req, "500 Server Internal Error", "")]
    }))
    .await;
    let (obs, good) = first_then_a_good_one(&failing, 3_000).await;
    let exchange = obs
        .exchange
        .expect("the failing answer is kept as evidence");
    assert_eq!(exchange.target, failing.target());
    let with_credentials = failing
        .requests()
        .iter()
        .filter(|r| find_header(r, "authorization").is_some())
        .count();
    assert_eq!(with_credentials, 1, "{:?}", failing.requests());
    assert!(
        good.requests().is_empty(),
        "the login went on to the next target: {:?}",
        good.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_queries_are_serialised() {
    // The peer answers after a delay and records how many transactions overlap.
    let in_flight = Arc::new(AtomicU32::new(0));
    let max_seen = Arc::new(AtomicU32::new(0));
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let (inf, max) = (in_flight.clone(), max_seen.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (s, inf, max) = (socket.clone(), inf.clone(), max.clone());
            tokio::spawn(async move {
                let now = inf.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
                inf.fetch_sub(1, Ordering::SeqCst);
                let _ = s.send_to(&reply(&req, "200 OK", ""), from).await;
            });
        }
    });
    let prober = Arc::new(AccountProber::new(account("alice", PASSWORD)));
    let t = vec![loopback_target(Transport::Udp, addr)];
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (p, t) = (prober.clone(), t.clone());
            tokio::spawn(async move { run(&p, &t, &sip(3_000)).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.unwrap().outcome,
            AccountOutcome::Accepted { bindings: vec![] }
        );
    }
    assert_eq!(max_seen.load(Ordering::SeqCst), 1, "queries overlapped");
}

#[tokio::test]
async fn scripted_no_failover_after_a_timeout_once_credentials_went_out() {
    // The first target challenges, then never answers the REGISTER that carries the
    // credentials (they may well have arrived and been counted); the second would accept them.
    // A timeout after the login went out ends the query like an answer does.
    let silent = Peer::start(challenge_then(|_| Vec::new())).await;
    let (obs, good) = first_then_a_good_one(&silent, 1_500).await;
    let exchange = obs
        .exchange
        .expect("the silent exchange is kept as evidence");
    assert_eq!(exchange.target, silent.target());
    assert!(
        matches!(exchange.outcome, SipOutcome::Timeout),
        "{:?}",
        exchange.outcome
    );
    assert!(
        good.requests().is_empty(),
        "the login went on to the next target after a timeout: {:?}",
        good.requests()
    );
}

#[tokio::test]
async fn scripted_retry_after_beyond_a_u32_defers_for_the_hour() {
    // 2^32 and far beyond: too large for a u32, so it was ignored and the next query went out
    // at once. It is capped at the hour instead.
    for huge in ["4294967296", "99999999999999999999999"] {
        let header = format!("Retry-After: {huge}\r\n");
        let peer = Peer::start(move |req| vec![reply(req, "503 Maintenance", &header)]).await;
        let prober = AccountProber::new(account("alice", PASSWORD));
        let first = run(&prober, &[peer.target()], &sip(3_000)).await;
        assert_eq!(first.outcome, AccountOutcome::NoAnswer, "{huge}: {first:?}");
        let second = run(&prober, &[peer.target()], &sip(3_000)).await;
        let AccountOutcome::Deferred { until, code } = second.outcome else {
            panic!("{huge}: the Retry-After was ignored: {second:?}");
        };
        assert_eq!(code, 503);
        assert_eq!(
            until,
            first.checked_at + chrono::TimeDelta::hours(1),
            "{huge}"
        );
        assert_eq!(peer.requests().len(), 1, "{huge}: sent again");
    }
}

/// A prober of alice whose login ledger is `ledger` (a new guard each call: a new run).
fn guarded(ledger: &std::path::Path) -> AccountProber {
    let settings = account("alice", PASSWORD);
    let guard = dialtone_engine::probe::sip::guard::LoginGuard::new(
        Some(ledger.to_path_buf()),
        "sip:127.0.0.1",
        &settings.aor,
        &settings.auth_user,
        &settings.password,
    );
    AccountProber::with_guard(settings, guard)
}

#[tokio::test]
async fn the_login_is_recorded_before_it_is_sent_and_holds_a_restart_back() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("state/logins.json");
    // The registrar reads the ledger when the login arrives: it must already be there, or a
    // crash between sending and recording would let the next run log in again at once.
    let seen_before: Arc<Mutex<Vec<bool>>> = Arc::default();
    let (seen, path) = (seen_before.clone(), ledger.clone());
    let peer = Peer::start(move |req| {
        if find_header(req, "authorization").is_none() {
            return vec![reply(
                req,
                "401 Unauthorized",
                "WWW-Authenticate: Digest realm=\"test.realm\", nonce=\"n1\", algorithm=MD5\r\n",
            )];
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        seen.lock().unwrap().push(text.contains("\"attempt\""));
        vec![reply(req, "200 OK", "")]
    })
    .await;
    let obs = run(&guarded(&ledger), &[peer.target()], &sip(3_000)).await;
    assert_eq!(obs.outcome, AccountOutcome::Accepted { bindings: vec![] });
    assert_eq!(
        *seen_before.lock().unwrap(),
        vec![true],
        "not recorded first"
    );
    // A restart (a new prober, a new guard) within the minute sends nothing.
    let sent = peer.requests().len();
    let err = guarded(&ledger)
        .query(&[peer.target()], &sip(3_000))
        .await
        .expect_err("a second login within the minute");
    assert!(err.to_string().contains("less than a minute ago"), "{err}");
    assert_eq!(peer.requests().len(), sent, "the restart logged in again");
}

#[tokio::test]
async fn an_unusable_login_ledger_sends_no_login_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // Where the state dir should be, a file (root cannot make a directory there either).
    std::fs::write(dir.path().join("state"), "").unwrap();
    let ledger = dir.path().join("state/logins.json");
    let peer = Peer::start(|req| vec![reply(req, "200 OK", "")]).await;
    let err = guarded(&ledger)
        .query(&[peer.target()], &sip(3_000))
        .await
        .expect_err("no login without a ledger");
    let text = err.to_string();
    assert!(
        text.starts_with("login checks paused: cannot")
            && text.contains(&ledger.display().to_string()),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(peer.requests().is_empty(), "{:?}", peer.requests());
}

/// The line's own round with a login ledger it cannot use: the account layer says why, in
/// the evidence and in both languages, instead of only in the log (issue 17, point 5).
#[tokio::test]
async fn a_round_with_an_unusable_login_ledger_says_why_in_the_account_layer() {
    use dialtone_core::diagnosis::{diagnose, Fact, Thresholds};
    use dialtone_core::locale::Lang;
    use dialtone_core::verdict::{Layer, LayerStatus};
    use dialtone_engine::probe::line::{LineProber, LineSettings};
    use dialtone_engine::probe::{ProbeScope, Prober};

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("state"), "").unwrap();
    let ledger = dir.path().join("state/logins.json");
    let peer = Peer::start(|req| vec![reply(req, "200 OK", "")]).await;
    let anchors = support::loopback_anchors();
    let text = format!(
        "[account]\nregistrar = \"sip:{}\"\nuser = \"alice\"\n\
         [network]\nanchors = [{}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\
         [router]\nurl = \"off\"\n[thresholds]\nexpect_binding = false\n",
        peer.addr,
        support::anchors_toml(&anchors)
    );
    let config =
        dialtone_core::config::Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let catalog = dialtone_core::catalog::Catalog::builtin().unwrap();
    let mut settings =
        LineSettings::from_config(&config, Some(Secret::new(PASSWORD)), &catalog).unwrap();
    settings.login_ledger = Some(ledger.clone());
    let prober = LineProber::new(settings).unwrap();
    let snapshot = prober.probe(ProbeScope { account: true }).await;
    let d = diagnose(&snapshot, &Thresholds::default());
    let account = d.layer(Layer::Account).unwrap();
    let all = format!("{:#?}", d.layers);
    assert_eq!(account.status, LayerStatus::Skipped, "{all}");
    assert!(
        matches!(
            account.evidence.first(),
            Some(Fact::LoginChecksPaused { .. })
        ),
        "{all}"
    );
    let path = ledger.display().to_string();
    let en = account.evidence[0].render(Lang::En);
    assert!(
        en.starts_with(&format!(
            "login checks paused: cannot create the directory of {path}"
        )),
        "{en}"
    );
    let de = account.evidence[0].render(Lang::De);
    assert!(
        de.starts_with(&format!(
            "Anmeldeprüfungen pausiert: das Verzeichnis von {path} kann nicht angelegt werden"
        )),
        "{de}"
    );
    let plain = d.plain_evidence(Layer::Account, Lang::En);
    assert!(
        plain[0].starts_with("Login checks are paused: dialtone cannot"),
        "{plain:?}"
    );
    let plain_de = d.plain_evidence(Layer::Account, Lang::De);
    assert!(
        plain_de[0].starts_with("Anmeldeprüfungen sind pausiert: das Verzeichnis von"),
        "{plain_de:?}"
    );
    assert!(
        !format!("{en}{de}{plain:?}").contains("os error"),
        "{en} {de}"
    );
    // Nothing went out but the OPTIONS check: no REGISTER, so no password.
    let requests = peer.requests();
    assert!(
        !requests.iter().any(|r| r.starts_with("REGISTER")),
        "{requests:?}"
    );
}
