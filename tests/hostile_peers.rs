//! OPTIONS against scripted peers that misbehave in ways a real registrar will not: garbage,
//! oversized headers, mismatched or spoofed responses, loss, silence, 503 and provisional replies.
//!
//! Every test runs under an overall tokio timeout so a hang fails instead of blocking the suite.
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone_core::observation::{SipExchange, SipOutcome, SipTarget, Transport, TransportFailure};
use dialtone_engine::probe::sip::{options, options_first_answer, SipSettings};
use std::net::SocketAddr;
use std::time::Duration;
use support::sip::{header, loopback_target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Upper bound on any single test; far above the probe timeouts used here.
const GUARD: Duration = Duration::from_secs(15);

fn settings(timeout_ms: u64) -> SipSettings {
    SipSettings {
        timeout: Duration::from_millis(timeout_ms),
        ..SipSettings::default()
    }
}

/// A response to `request` (the bytes a peer received) echoing its dialog headers, with
/// `extra` headers.
fn reply(request: &[u8], status: &str, extra: &str) -> Vec<u8> {
    let request = std::str::from_utf8(request).expect("our request is UTF-8");
    support::sip::reply(request, status, extra)
}

/// Starts a UDP peer on loopback; `script` is called with each request (1-based count) and
/// returns datagrams to send back from the same socket.
async fn udp_peer<F>(mut script: F) -> SocketAddr
where
    F: FnMut(u32, &[u8]) -> Vec<Vec<u8>> + Send + 'static,
{
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut count = 0;
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            count += 1;
            for datagram in script(count, &buf[..n]) {
                let _ = socket.send_to(&datagram, from).await;
            }
        }
    });
    addr
}

async fn probe(t: SipTarget, s: SipSettings) -> SipExchange {
    tokio::time::timeout(GUARD, options(&t, &s))
        .await
        .expect("probe exceeded the guard time")
        .expect("probe could run")
}

/// [`probe`] of the peer at `addr` over `transport` with a `timeout_ms` budget.
async fn probe_at(transport: Transport, addr: SocketAddr, timeout_ms: u64) -> SipExchange {
    probe(loopback_target(transport, addr), settings(timeout_ms)).await
}

/// OPTIONS to `targets` in turn until one answers, within the guard time.
async fn first_answer(targets: &[SipTarget], timeout_ms: u64) -> Vec<SipExchange> {
    tokio::time::timeout(GUARD, options_first_answer(targets, &settings(timeout_ms)))
        .await
        .expect("the round exceeded the guard time")
        .expect("the round could run")
}

/// A loopback port nothing listens on for `transport` (bound, then released).
async fn closed_port(transport: Transport) -> SocketAddr {
    if transport == Transport::Udp {
        UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
    } else {
        TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
    }
}

fn code_of(exchange: &SipExchange) -> Option<u16> {
    match &exchange.outcome {
        SipOutcome::Response { code, .. } => Some(*code),
        _ => None,
    }
}

#[tokio::test]
async fn udp_garbage_only_is_reported_as_not_sip() {
    let addr = udp_peer(|_, _| vec![b"\x00\xffnot sip at all\r\n\r\n".to_vec()]).await;
    let ex = probe_at(Transport::Udp, addr, 2_000).await;
    // The registrar answered, with garbage: that is what the evidence says, not "no answer".
    assert_failure(&ex, TransportFailure::Protocol);
    // Sent at 0, 0.5 s and 1.5 s; every answer was garbage.
    assert_eq!(ex.transmissions, 3);
    assert_eq!(ex.ignored, 3);
    assert!(
        ex.elapsed >= Duration::from_millis(1_900)
            && ex.elapsed < support::slack(Duration::from_secs(3))
    );
}

#[tokio::test]
async fn udp_garbage_before_the_real_answer_is_skipped() {
    let addr = udp_peer(|_, req| {
        vec![
            b"SIP/2.0 200 OK\nbare: lf\n\n".to_vec(),
            vec![0xde, 0xad, 0xbe, 0xef],
            reply(req, "200 OK", ""),
        ]
    })
    .await;
    let ex = probe_at(Transport::Udp, addr, 2_000).await;
    assert_eq!(code_of(&ex), Some(200));
    assert_eq!(ex.ignored, 2);
    assert_eq!(ex.transmissions, 1);
}

#[tokio::test]
async fn udp_a_large_but_valid_answer_is_accepted() {
    // A 60 kB header section in one datagram: odd, but within the transport's limit, and an
    // answer is an answer.
    let addr = udp_peer(|_, req| {
        let padding = format!("X-Padding: {}\r\n", "a".repeat(60_000));
        vec![reply(req, "200 OK", &padding)]
    })
    .await;
    let ex = probe_at(Transport::Udp, addr, 2_000).await;
    assert_eq!(code_of(&ex), Some(200), "{ex:?}");
    assert_eq!(ex.ignored, 0);
}

#[tokio::test]
async fn tcp_an_answer_past_the_limit_is_reported_as_too_large() {
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        let padding = format!("X-Padding: {}\r\n", "a".repeat(70_000));
        let _ = s.write_all(&reply(&req, "200 OK", &padding)).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 3_000).await;
    assert_failure(&ex, TransportFailure::TooLarge);
    // In the user's words: an answer dialtone refused, not a silent server.
    let fact = dialtone_core::diagnosis::Fact::SipTransportFailed {
        method: ex.method.clone(),
        target: (&ex.target).into(),
        kind: TransportFailure::TooLarge,
        detail: String::new(),
    };
    assert!(fact
        .render(dialtone_core::locale::Lang::En)
        .contains("too large to accept"));
}

#[tokio::test]
async fn udp_mismatched_branch_call_id_and_cseq_are_ignored() {
    let addr = udp_peer(|_, req| {
        let good = String::from_utf8(reply(req, "200 OK", "")).unwrap();
        let text = std::str::from_utf8(req).unwrap();
        let branch = header(text, "via")
            .split(';')
            .find_map(|p| p.strip_prefix("branch="))
            .unwrap()
            .to_string();
        let call_id = header(text, "call-id").to_string();
        vec![
            good.replace(&branch, "z9hG4bKforged").into_bytes(),
            good.replace(&call_id, "someone-elses-call").into_bytes(),
            good.replace("CSeq: 1 OPTIONS", "CSeq: 2 OPTIONS")
                .into_bytes(),
            good.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")
                .into_bytes(),
            good.into_bytes(),
        ]
    })
    .await;
    let ex = probe_at(Transport::Udp, addr, 2_000).await;
    assert_eq!(code_of(&ex), Some(200));
    assert_eq!(ex.ignored, 4);
}

#[tokio::test]
async fn udp_response_from_another_port_is_not_accepted() {
    // The peer answers correctly, but from a different socket (a spoofed source port). The
    // probe's connected socket never accepts it: the kernel drops it before we see it, so it
    // is not even counted, and the probe times out.
    let spoofer = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let s2 = spoofer.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let _ = s2.send_to(&reply(&buf[..n], "200 OK", ""), from).await;
        }
    });
    let ex = probe_at(Transport::Udp, addr, 1_200).await;
    assert_eq!(ex.outcome, SipOutcome::Timeout);
    assert_eq!(ex.transmissions, 2);
}

#[tokio::test]
async fn udp_spoofed_answer_first_then_the_real_one() {
    let spoofer = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let _ = spoofer
                .send_to(&reply(&buf[..n], "503 Spoofed", ""), from)
                .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = socket.send_to(&reply(&buf[..n], "200 OK", ""), from).await;
        }
    });
    let ex = probe_at(Transport::Udp, addr, 2_000).await;
    assert_eq!(code_of(&ex), Some(200));
}

#[tokio::test]
async fn udp_loss_answer_only_to_the_third_transmission() {
    let addr = udp_peer(|n, req| {
        if n == 3 {
            vec![reply(req, "200 OK", "")]
        } else {
            vec![]
        }
    })
    .await;
    let ex = probe_at(Transport::Udp, addr, 8_000).await;
    assert_eq!(code_of(&ex), Some(200));
    assert_eq!(ex.transmissions, 3);
    // Transmissions at 0, T1 = 0.5 s and 0.5 + 2·T1 = 1.5 s; the rtt counts from the first.
    let SipOutcome::Response { rtt, .. } = ex.outcome else {
        unreachable!()
    };
    assert!(
        rtt >= Duration::from_millis(1_450) && rtt < Duration::from_millis(2_000),
        "rtt {rtt:?}"
    );
}

#[tokio::test]
async fn udp_503_with_retry_after_is_a_response() {
    let addr = udp_peer(|_, req| {
        vec![reply(
            req,
            "503 Service Unavailable",
            "Retry-After: 120 (maintenance)\r\n",
        )]
    })
    .await;
    let ex = probe_at(Transport::Udp, addr, 2_000).await;
    match ex.outcome {
        SipOutcome::Response {
            code, retry_after, ..
        } => assert_eq!((code, retry_after), (503, Some(120))),
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn udp_trying_then_final_answer() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let req = buf[..n].to_vec();
        let _ = socket.send_to(&reply(&req, "100 Trying", ""), from).await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let _ = socket.send_to(&reply(&req, "200 OK", ""), from).await;
    });
    let ex = probe_at(Transport::Udp, addr, 4_000).await;
    assert_eq!(code_of(&ex), Some(200));
    // After the 100 the retransmission interval is T2 (4 s): nothing was resent before the 200.
    assert_eq!(ex.transmissions, 1);
    assert_eq!(ex.ignored, 0);
}

#[tokio::test]
async fn udp_closed_port_is_refused() {
    let closed = closed_port(Transport::Udp).await;
    let ex = probe_at(Transport::Udp, closed, 2_000).await;
    assert!(
        matches!(
            ex.outcome,
            SipOutcome::TransportFailed {
                kind: TransportFailure::Refused,
                ..
            }
        ),
        "{:?}",
        ex.outcome
    );
    assert!(ex.elapsed < Duration::from_secs(1));
}

/// Starts a TCP peer that runs `script` on each accepted connection.
async fn tcp_peer<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(script(stream));
        }
    });
    addr
}

/// Reads one request (up to the blank line) from a stream.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    data
}

/// Asserts that the exchange failed at the transport in the way `kind`.
fn assert_failure(ex: &SipExchange, kind: TransportFailure) {
    assert_eq!(failure(ex), Some(kind), "{ex:?}");
}

fn failure(ex: &SipExchange) -> Option<TransportFailure> {
    match ex.outcome {
        SipOutcome::TransportFailed { kind, .. } => Some(kind),
        _ => None,
    }
}

#[tokio::test]
async fn tcp_silent_peer_times_out_in_time() {
    let addr = tcp_peer(|mut s| async move {
        let _ = read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 1_500).await;
    assert_eq!(ex.outcome, SipOutcome::Timeout);
    assert_eq!(ex.transmissions, 1);
    assert!(
        ex.elapsed >= Duration::from_millis(1_400)
            && ex.elapsed < support::slack(Duration::from_secs(3))
    );
}

#[tokio::test]
async fn tcp_garbage_is_a_protocol_failure() {
    let addr = tcp_peer(|mut s| async move {
        let _ = read_request(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 3_000).await;
    assert_failure(&ex, TransportFailure::Protocol);
    assert!(ex.elapsed < Duration::from_secs(1));
}

#[tokio::test]
async fn tcp_endless_header_is_cut_off() {
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        let head = reply(&req, "200 OK", "");
        // The status line and the start of a header that never ends: 256 KiB, no blank line.
        let _ = s.write_all(&head[..head.len() - 4]).await;
        let _ = s.write_all(b"\r\nX-Flood: ").await;
        for _ in 0..64 {
            if s.write_all(&[b'a'; 4096]).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 3_000).await;
    assert_failure(&ex, TransportFailure::TooLarge);
}

#[tokio::test]
async fn tcp_closed_port_is_refused() {
    let closed = closed_port(Transport::Tcp).await;
    let ex = probe_at(Transport::Tcp, closed, 2_000).await;
    assert_failure(&ex, TransportFailure::Refused);
}

#[tokio::test]
async fn tcp_peer_that_hangs_up_is_closed() {
    let addr = tcp_peer(|mut s| async move {
        let _ = read_request(&mut s).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 2_000).await;
    assert_failure(&ex, TransportFailure::Closed);
}

#[tokio::test]
async fn tcp_frames_trying_stray_and_body_in_one_write() {
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        let mut out = b"\r\n\r\n".to_vec(); // keep-alive CRLFs
        out.extend(reply(&req, "100 Trying", ""));
        let stray = String::from_utf8(reply(&req, "200 OK", ""))
            .unwrap()
            .replace("Call-ID: ", "Call-ID: x");
        out.extend(stray.into_bytes());
        let with_body = String::from_utf8(reply(&req, "200 OK", ""))
            .unwrap()
            .replace("Content-Length: 0\r\n\r\n", "l: 5\r\n\r\nhello");
        out.extend(with_body.into_bytes());
        let _ = s.write_all(&out).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 2_000).await;
    assert_eq!(code_of(&ex), Some(200), "{ex:?}");
    assert_eq!(ex.ignored, 1);
}

#[tokio::test]
async fn tls_to_a_peer_that_is_not_tls_fails_as_tls() {
    let addr = tcp_peer(|mut s| async move {
        let _ = s.write_all(b"SIP/2.0 200 OK\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tls, addr, 2_000).await;
    assert_failure(&ex, TransportFailure::Tls);
}

#[tokio::test]
async fn first_answer_moves_on_from_a_dead_target() {
    let dead = closed_port(Transport::Tcp).await;
    let live = udp_peer(|_, req| vec![reply(req, "405 Method Not Allowed", "")]).await;
    let never = udp_peer(|_, _| panic!("the third target must not be tried")).await;
    let targets = [
        loopback_target(Transport::Tcp, dead),
        loopback_target(Transport::Udp, live),
        loopback_target(Transport::Udp, never),
    ];
    let exchanges = first_answer(&targets, 2_000).await;
    assert_eq!(exchanges.len(), 2);
    assert_eq!(failure(&exchanges[0]), Some(TransportFailure::Refused));
    assert_eq!(code_of(&exchanges[1]), Some(405));
    assert_eq!(exchanges[1].target.address, live);
}

#[tokio::test]
async fn silent_targets_share_one_budget() {
    // Three registrars that swallow every datagram: the round must end after about one
    // timeout, not one timeout per target (which would double the time to confirm an outage).
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(udp_peer(|_, _| Vec::new()).await);
    }
    let targets: Vec<SipTarget> = silent
        .iter()
        .map(|a| loopback_target(Transport::Udp, *a))
        .collect();
    let started = std::time::Instant::now();
    let exchanges = first_answer(&targets, 1_500).await;
    let took = started.elapsed();
    assert!(
        took < support::slack(Duration::from_millis(2_600)),
        "took {took:?}"
    );
    assert!(took >= Duration::from_millis(1_400), "took {took:?}");
    assert!(
        !exchanges.is_empty() && exchanges.len() <= 2,
        "{exchanges:?}"
    );
    assert!(exchanges
        .iter()
        .all(|x| matches!(x.outcome, SipOutcome::Timeout)));
    // The first target had the whole budget, so it was retransmitted (at 0 and 0.5 s).
    assert!(exchanges[0].transmissions >= 2, "{:?}", exchanges[0]);
}

// ---- Misbehaving registrars as a new user meets them (issue 17, point 12) ----
//
// No real registrar does any of this: scripted peers on loopback stand in for a broken
// server (only `100 Trying`, a trickled or oversized answer) and for a SIP ALG in the router
// that rewrites the Call-ID on the way. An answer is an answer: the evidence says what came
// and from where, the registrar counts as heard from, and the verdict is not "cannot tell".

/// The diagnosis of a round in which everything below the provider works and the registrar,
/// never heard from here before, gave `exchange`.
fn diagnosed(exchange: &SipExchange) -> dialtone_core::diagnosis::Diagnosis {
    use dialtone_core::observation::*;
    let now = chrono::Utc::now();
    let gateway: std::net::IpAddr = "192.168.1.1".parse().unwrap();
    let answered = || Reach::Answered {
        method: ReachMethod::TcpConnect,
        rtt: Duration::from_millis(20),
    };
    let snapshot = Snapshot {
        taken_at: now,
        device: DeviceObservation {
            interfaces: vec![Interface {
                name: "eth0".into(),
                addresses: vec!["192.168.1.10".parse().unwrap()],
            }],
            default_route: Some(DefaultRoute {
                interface: "eth0".into(),
                gateway: Some(gateway),
            }),
        },
        home_network: Some(GatewayObservation {
            address: Some(gateway),
            source: GatewaySource::Detected,
            reach: Some(answered()),
        }),
        router: None,
        internet: Some(InternetObservation {
            dns: None,
            anchors: vec![
                AnchorObservation {
                    target: "198.51.100.1:443".into(),
                    reach: answered(),
                },
                AnchorObservation {
                    target: "198.51.100.2:443".into(),
                    reach: answered(),
                },
            ],
        }),
        provider: Some(ProviderObservation {
            registrar: format!("sip:{}", exchange.target.address),
            provider_name: None,
            resolution: Resolution::Resolved {
                targets: vec![exchange.target.clone()],
                path: vec!["literal".into()],
                rtt: Duration::ZERO,
            },
            exchanges: vec![exchange.clone()],
            acquaintance: Some(Acquaintance {
                resolved: true,
                ..Acquaintance::default()
            }),
        }),
        account: None,
    };
    dialtone_core::diagnosis::diagnose(&snapshot, &Default::default())
}

/// The provider layer's evidence in English, the technical register.
fn provider_evidence(d: &dialtone_core::diagnosis::Diagnosis) -> String {
    use dialtone_core::locale::Lang;
    d.layer(dialtone_core::verdict::Layer::Provider)
        .map(|r| {
            r.evidence
                .iter()
                .map(|f| f.render(Lang::En))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

/// An answer that is no final answer: the registrar's failure, never "cannot tell".
fn assert_provider_failure_not_silence(ex: &SipExchange, says: &str) {
    use dialtone_core::verdict::Verdict;
    assert!(ex.outcome.heard_from(), "{ex:?}");
    let d = diagnosed(ex);
    let evidence = provider_evidence(&d);
    assert_eq!(d.verdict, Verdict::ProviderOutage, "{evidence}");
    assert!(!d.registrar_never_answered(), "{evidence}");
    assert!(!evidence.contains("stays silent"), "{evidence}");
    assert!(evidence.contains(says), "{evidence} lacks {says:?}");
    // From where: the target's address is in the evidence.
    assert!(
        evidence.contains(&ex.target.address.to_string()),
        "{evidence}"
    );
}

#[tokio::test]
async fn udp_only_100_trying_is_an_answer_not_silence() {
    let addr = udp_peer(|_, req| vec![reply(req, "100 Trying", "")]).await;
    let ex = probe_at(Transport::Udp, addr, 1_500).await;
    let SipOutcome::TransportFailed { kind, detail } = &ex.outcome else {
        panic!("{ex:?}");
    };
    assert_eq!(*kind, TransportFailure::ProvisionalOnly, "{ex:?}");
    assert_eq!(detail, "SIP/2.0 100 Trying");
    // Provisional answers to our request are not stray messages.
    assert_eq!(ex.ignored, 0, "{ex:?}");
    assert_provider_failure_not_silence(&ex, "answered only provisionally");
}

#[tokio::test]
async fn tcp_only_100_trying_is_an_answer_not_silence() {
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        let _ = s.write_all(&reply(&req, "100 Trying", "")).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 1_000).await;
    assert_failure(&ex, TransportFailure::ProvisionalOnly);
    assert_provider_failure_not_silence(&ex, "SIP/2.0 100 Trying");
}

/// Writes `bytes` in `pieces` pieces spread evenly over `over`.
async fn trickle(s: &mut tokio::net::TcpStream, bytes: &[u8], pieces: usize, over: Duration) {
    let size = bytes.len().div_ceil(pieces);
    let pause = over / pieces as u32;
    for chunk in bytes.chunks(size) {
        if s.write_all(chunk).await.is_err() {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

#[tokio::test]
async fn tcp_a_correct_answer_trickled_past_the_timeout_is_a_late_answer() {
    // The whole 200 OK takes 1.6 s to arrive; the probe's timeout is 1 s.
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        trickle(
            &mut s,
            &reply(&req, "200 OK", ""),
            16,
            Duration::from_millis(1_600),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 1_000).await;
    let SipOutcome::Response { code, rtt, .. } = &ex.outcome else {
        panic!("a late answer is an answer: {ex:?}");
    };
    assert_eq!(*code, 200);
    assert!(*rtt > Duration::from_secs(1), "{rtt:?}");
    // Late but correct: the line works, slowly.
    let d = diagnosed(&ex);
    assert_eq!(
        d.verdict,
        dialtone_core::verdict::Verdict::Degraded,
        "{}",
        provider_evidence(&d)
    );
    assert!(provider_evidence(&d).contains("200 OK"));
}

#[tokio::test]
async fn tcp_an_answer_that_never_finishes_is_incomplete_with_its_status_line() {
    // A few bytes every half second: not done after the timeout and its grace (2 × 1 s).
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        trickle(
            &mut s,
            &reply(&req, "200 OK", ""),
            60,
            Duration::from_secs(30),
        )
        .await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 1_000).await;
    assert_failure(&ex, TransportFailure::Incomplete);
    assert!(
        ex.elapsed >= Duration::from_millis(1_900)
            && ex.elapsed < support::slack(Duration::from_secs(3)),
        "{ex:?}"
    );
    assert_provider_failure_not_silence(&ex, "SIP/2.0 200 OK");
}

#[tokio::test]
async fn tcp_an_answer_just_over_64_kib_says_what_came() {
    let addr = tcp_peer(|mut s| async move {
        let req = read_request(&mut s).await;
        let padding = format!("X-Padding: {}\r\n", "a".repeat(66_000));
        let _ = s.write_all(&reply(&req, "200 OK", &padding)).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let ex = probe_at(Transport::Tcp, addr, 2_000).await;
    assert_failure(&ex, TransportFailure::TooLarge);
    assert_provider_failure_not_silence(&ex, "SIP/2.0 200 OK");
}

#[tokio::test]
async fn udp_answers_rewritten_on_the_way_name_a_sip_alg() {
    // Every answer comes back from the registrar's address with another Call-ID, as a SIP
    // ALG that rewrites it on the way out and not on the way back would deliver it.
    let addr = udp_peer(|_, req| {
        let good = String::from_utf8(reply(req, "200 OK", "")).unwrap();
        let call_id = header(std::str::from_utf8(req).unwrap(), "call-id").to_string();
        vec![good.replace(&call_id, "alg-rewritten").into_bytes()]
    })
    .await;
    let ex = probe_at(Transport::Udp, addr, 1_500).await;
    let SipOutcome::TransportFailed { kind, detail } = &ex.outcome else {
        panic!("{ex:?}");
    };
    assert_eq!(*kind, TransportFailure::Mismatched, "{ex:?}");
    assert!(detail.contains("SIP/2.0 200 OK, other Call-ID"), "{detail}");
    assert_provider_failure_not_silence(&ex, "SIP ALG");
}

/// The line's own rounds: a registrar that only ever said `100 Trying` has been heard from,
/// so when it later falls silent that is an outage, not "has never answered this computer".
#[tokio::test]
async fn a_registrar_that_only_said_trying_counts_as_heard_from_in_later_rounds() {
    use dialtone_core::diagnosis::{diagnose, Thresholds};
    use dialtone_core::verdict::Verdict;
    use dialtone_engine::probe::line::{LineProber, LineSettings};
    use dialtone_engine::probe::{ProbeScope, Prober};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let silent = Arc::new(AtomicBool::new(false));
    let quiet = silent.clone();
    let addr = udp_peer(move |_, req| {
        if quiet.load(Ordering::SeqCst) {
            vec![]
        } else {
            vec![reply(req, "100 Trying", "")]
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let anchors = support::loopback_anchors();
    let text = format!(
        "[account]\nregistrar = \"sip:{addr}\"\n\
         [network]\nanchors = [{}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\
         [router]\nurl = \"off\"\n",
        support::anchors_toml(&anchors)
    );
    let config =
        dialtone_core::config::Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let catalog = dialtone_core::catalog::Catalog::builtin().unwrap();
    let mut settings = LineSettings::from_config(&config, None, &catalog).unwrap();
    settings.login_ledger = Some(dir.path().join("logins.json"));
    settings.timeout = Duration::from_millis(1_200);
    settings.sip.timeout = settings.timeout;
    let round = |settings: LineSettings| async move {
        // A new prober each round, as after a restart: what it knows comes from the ledger.
        let prober = LineProber::new(settings).unwrap();
        let snapshot = tokio::time::timeout(GUARD, prober.probe(ProbeScope::default()))
            .await
            .expect("a round within the guard time");
        diagnose(&snapshot, &Thresholds::default())
    };
    let first = round(settings.clone()).await;
    assert_eq!(
        first.verdict,
        Verdict::ProviderOutage,
        "{:#?}",
        first.layers
    );
    assert!(!first.registrar_never_answered());
    silent.store(true, Ordering::SeqCst);
    let second = round(settings).await;
    assert_eq!(
        second.verdict,
        Verdict::ProviderOutage,
        "{:#?}",
        second.layers
    );
    assert!(
        !second.registrar_never_answered(),
        "it answered before: {:#?}",
        second.layers
    );
}
