//! Status feeds against a local HTTP server on 127.0.0.1: real-world-shaped fixtures
//! (Statuspage summary, RSS 2.0, Atom, German titles) and hostile servers (invalid XML, a 50 MB
//! body, a trickling server, redirects to http, redirect loops, web pages instead of feeds).
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use dialtone_core::catalog::{Feed, FeedKind};
use dialtone_core::verdict::Verdict;
use dialtone_engine::feed::{
    fetch, next_poll, FeedPoller, FeedProblem, FeedSnapshot, FeedState, FeedUpdate, FetchLimits,
    Indicator, HEALTHY_INTERVAL, UNHEALTHY_INTERVAL,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FIFTY_MB: usize = 50 * 1024 * 1024;

/// What the test server saw and did.
#[derive(Default)]
struct Log {
    /// Requests per path.
    hits: Mutex<HashMap<String, usize>>,
    /// Request headers of the last request per path (lower-case names).
    headers: Mutex<HashMap<String, HashMap<String, String>>>,
    /// Body bytes the /huge handlers managed to write before the client hung up.
    huge_written: AtomicUsize,
    /// Set when a /huge handler stopped writing.
    huge_done: AtomicUsize,
}

struct Server {
    base: String,
    log: Arc<Log>,
}

impl Server {
    /// A feed of `kind` at `path` on this server.
    fn feed(&self, kind: FeedKind, path: &str) -> Feed {
        feed(kind, format!("{}{path}", self.base))
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/feeds/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A 200 answer of `content_type`.
fn ok(stream: &mut TcpStream, content_type: &str, body: &[u8]) {
    respond(stream, "200 OK", &[("Content-Type", content_type)], body);
}

/// A redirect (`status` is 301 or 302) to `location`, with no body.
fn redirect(stream: &mut TcpStream, status: &str, location: &str) {
    respond(stream, status, &[("Location", location)], b"");
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// Streams `total` bytes of a never-ending RSS item list, without a Content-Length (so only
/// the client's streaming cap can stop it), or with an honest one when `declare` is set.
fn stream_huge(stream: &mut TcpStream, log: &Log, declare: bool) {
    let length = if declare {
        format!("Content-Length: {FIFTY_MB}\r\n")
    } else {
        String::new()
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/rss+xml\r\n{length}\r\n<rss version=\"2.0\"><channel>"
    );
    if stream.write_all(head.as_bytes()).is_err() {
        log.huge_done.fetch_add(1, Ordering::SeqCst);
        return;
    }
    let chunk = "<item><title>Störung Telefonie</title></item>".repeat(1400);
    let mut written = 0;
    while written < FIFTY_MB {
        match stream.write(chunk.as_bytes()) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n,
        }
    }
    log.huge_written.fetch_add(written, Ordering::SeqCst);
    log.huge_done.fetch_add(1, Ordering::SeqCst);
}

fn handle(mut stream: TcpStream, log: Arc<Log>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request).to_string();
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    *log.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    log.headers
        .lock()
        .unwrap()
        .insert(path.clone(), headers.clone());

    match path.as_str() {
        "/rss.xml" => {
            if headers.get("if-none-match").map(String::as_str) == Some("\"rss-v1\"") {
                respond(&mut stream, "304 Not Modified", &[("ETag", "\"rss-v1\"")], b"");
            } else {
                respond(
                    &mut stream,
                    "200 OK",
                    &[("Content-Type", "application/rss+xml; charset=utf-8"), ("ETag", "\"rss-v1\"")],
                    &fixture("rss.xml"),
                );
            }
        }
        "/history.atom" => {
            let stamp = "Mon, 02 Mar 2026 08:58:12 GMT";
            if headers.get("if-modified-since").map(String::as_str) == Some(stamp) {
                respond(&mut stream, "304 Not Modified", &[], b"");
            } else {
                respond(
                    &mut stream,
                    "200 OK",
                    &[("Content-Type", "application/atom+xml"), ("Last-Modified", stamp)],
                    &fixture("atom.xml"),
                );
            }
        }
        "/sp/api/v2/summary.json" => ok(
            &mut stream,
            "application/json; charset=utf-8",
            &fixture("statuspage_summary.json"),
        ),
        "/invalid.xml" => ok(
            &mut stream,
            "application/rss+xml",
            b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>St\xc3\xb6rung</titel></item></rss>",
        ),
        "/invalid.json" => ok(&mut stream, "application/json", b"{\"status\": {\"indicator\": "),
        "/portal" => ok(
            &mut stream,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><body>Bitte melden Sie sich am WLAN an.</body></html>",
        ),
        "/huge.xml" => stream_huge(&mut stream, &log, false),
        "/huge-declared.xml" => stream_huge(&mut stream, &log, true),
        "/slow.xml" => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n");
            for _ in 0..200 {
                if stream.write_all(b"<").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        "/to-http" => redirect(&mut stream, "302 Found", "http://status.example-provider.de/rss.xml"),
        "/to-localhost" => redirect(&mut stream, "301 Moved Permanently", "http://localhost/rss.xml"),
        "/loop" => redirect(&mut stream, "302 Found", "/loop"),
        "/moved" => redirect(&mut stream, "301 Moved Permanently", "/rss.xml"),
        "/gone" => respond(&mut stream, "503 Service Unavailable", &[], b"busy"),
        _ => respond(&mut stream, "404 Not Found", &[], b""),
    }
}

fn server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Log::default());
    let shared = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let log = shared.clone();
            std::thread::spawn(move || handle(stream, log));
        }
    });
    Server { base, log }
}

fn feed(kind: FeedKind, url: String) -> Feed {
    Feed {
        kind,
        url,
        verified: true,
    }
}

fn test_limits() -> FetchLimits {
    FetchLimits {
        timeout: Duration::from_secs(3),
        allow_http_loopback: true,
        ..FetchLimits::default()
    }
}

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> chrono::DateTime<Utc> {
    chrono_tz::Europe::Berlin
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .unwrap()
        .with_timezone(&Utc)
}

/// The first fetch of `feed` (no state yet, the test limits), which must bring content: the
/// snapshot and the state to send next time.
async fn first_fetch(feed: &Feed) -> (FeedSnapshot, FeedState) {
    let got = fetch(feed, &FeedState::default(), &test_limits())
        .await
        .unwrap();
    let FeedUpdate::Changed { snapshot, state } = got else {
        panic!("expected content, got {got:?}");
    };
    (snapshot, state)
}

/// Asserts that fetching `feed` again with `state` finds it unchanged (the server's 304).
async fn assert_unchanged(feed: &Feed, state: &FeedState) {
    assert_eq!(
        fetch(feed, state, &test_limits()).await.unwrap(),
        FeedUpdate::Unchanged
    );
}

/// Asserts when the newest post was published and where it links to.
fn assert_first_post(snapshot: &FeedSnapshot, published: chrono::DateTime<Utc>, link: &str) {
    assert_eq!(snapshot.posts[0].published, Some(published));
    assert_eq!(snapshot.posts[0].link.as_deref(), Some(link));
}

async fn problem(feed: &Feed, limits: &FetchLimits) -> (String, FeedProblem) {
    let status = fetch(feed, &FeedState::default(), limits)
        .await
        .unwrap_err();
    (status.url, status.problem)
}

#[tokio::test]
async fn feeds_statuspage_summary_gives_indicator_components_and_incidents() {
    let s = server();
    let (snapshot, _) = first_fetch(&s.feed(FeedKind::Statuspage, "/sp/")).await;
    assert_eq!(snapshot.indicator, Some(Indicator::Major));
    // The group header is left out; its member carries the status.
    let components: Vec<_> = snapshot
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        components,
        vec![
            ("Telefonie", "major_outage"),
            ("Internet (DSL/Glasfaser)", "operational")
        ]
    );
    assert_eq!(snapshot.posts.len(), 2);
    assert_eq!(snapshot.posts[0].title, "Störung Telefonie");
    assert_first_post(
        &snapshot,
        berlin(2026, 3, 2, 9, 52, 11),
        "https://stspg.io/abc123",
    );
    // An http shortlink is replaced by the page's own https incident link.
    assert_eq!(
        snapshot.posts[1].link.as_deref(),
        Some("https://status.example-provider.de/incidents/m2kd9s0aa1xz")
    );
    let accept = s.log.headers.lock().unwrap()["/sp/api/v2/summary.json"]["accept"].clone();
    assert_eq!(accept, "application/json");
}

#[tokio::test]
async fn feeds_rss_latest_first_with_cleaned_titles_and_https_links_and_etag_304() {
    let s = server();
    let rss = s.feed(FeedKind::Rss, "/rss.xml");
    let (snapshot, state) = first_fetch(&rss).await;
    let titles: Vec<_> = snapshot.posts.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Störung Telefonie – Festnetz in Teilen Bayerns",
            "Behoben: Störung E-Mail",
            "Wartungsarbeiten in der Nacht zum 28.02."
        ]
    );
    assert_first_post(
        &snapshot,
        berlin(2026, 3, 2, 9, 52, 0),
        "https://www.example-provider.de/stoerungen/telefonie-0203",
    );
    assert_eq!(
        snapshot.posts[1].link, None,
        "a javascript: link is dropped"
    );
    assert_eq!(snapshot.indicator, None);
    assert_eq!(state.etag.as_deref(), Some("\"rss-v1\""));

    assert_unchanged(&rss, &state).await;
    let sent = s.log.headers.lock().unwrap()["/rss.xml"].clone();
    assert_eq!(
        sent.get("if-none-match").map(String::as_str),
        Some("\"rss-v1\"")
    );
    assert_eq!(s.log.hits.lock().unwrap()["/rss.xml"], 2);
}

#[tokio::test]
async fn feeds_atom_with_last_modified_and_304() {
    let s = server();
    let atom = s.feed(FeedKind::Atom, "/history.atom");
    let (snapshot, state) = first_fetch(&atom).await;
    assert_eq!(snapshot.posts[0].title, "Störung Telefonie");
    assert_first_post(
        &snapshot,
        berlin(2026, 3, 2, 9, 52, 11),
        "https://status.example-provider.de/incidents/1002",
    );
    assert_eq!(snapshot.posts[1].link, None, "an http link is dropped");
    assert_eq!(
        state.last_modified.as_deref(),
        Some("Mon, 02 Mar 2026 08:58:12 GMT")
    );
    assert_unchanged(&atom, &state).await;
}

#[tokio::test]
async fn feeds_broken_content_is_a_status_naming_the_feed() {
    let s = server();
    let limits = test_limits();
    let url = format!("{}/invalid.xml", s.base);
    let (named, p) = problem(&feed(FeedKind::Rss, url.clone()), &limits).await;
    assert_eq!(named, url);
    assert!(matches!(p, FeedProblem::InvalidXml(_)), "{p:?}");

    let (_, p) = problem(&s.feed(FeedKind::Statuspage, "/invalid.json#"), &limits).await;
    // `{base}/invalid.json#/api/v2/summary.json` is a fragment: the server sees /invalid.json.
    assert!(matches!(p, FeedProblem::InvalidJson(_)), "{p:?}");

    let (_, p) = problem(&s.feed(FeedKind::Atom, "/portal"), &limits).await;
    assert!(
        matches!(&p, FeedProblem::NotAFeed(ct) if ct.starts_with("text/html")),
        "{p:?}"
    );

    // The RSS fixture is not Statuspage JSON: wrong content for the kind.
    let status = fetch(
        &s.feed(FeedKind::Statuspage, "/rss.xml#"),
        &FeedState::default(),
        &limits,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(status.problem, FeedProblem::InvalidJson(_)),
        "{status}"
    );
    assert!(status.to_string().contains("/rss.xml"), "{status}");

    let (_, p) = problem(&s.feed(FeedKind::Rss, "/gone"), &limits).await;
    assert_eq!(p, FeedProblem::HttpStatus { status: 503 });
}

#[tokio::test]
async fn feeds_fifty_megabytes_are_cut_off_while_streaming() {
    let s = server();
    let limits = test_limits();
    let started = Instant::now();
    let (_, p) = problem(&s.feed(FeedKind::Rss, "/huge.xml"), &limits).await;
    assert_eq!(
        p,
        FeedProblem::TooLarge {
            limit: limits.max_body
        }
    );
    assert!(started.elapsed() < dialtone_testkit::slack(Duration::from_secs(3)));
    // The server stops because the client hung up, long before 50 MB.
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.log.huge_done.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        // Yield to the runtime: hyper closes the dropped connection on its own task.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        s.log.huge_done.load(Ordering::SeqCst),
        1,
        "server still writing"
    );
    let written = s.log.huge_written.load(Ordering::SeqCst);
    assert!(written < FIFTY_MB / 2, "server wrote {written} bytes");

    // A declared Content-Length over the limit is refused before the body is read.
    let (_, p) = problem(&s.feed(FeedKind::Rss, "/huge-declared.xml"), &limits).await;
    assert_eq!(
        p,
        FeedProblem::TooLarge {
            limit: limits.max_body
        }
    );
}

#[tokio::test]
async fn feeds_a_trickling_server_hits_the_deadline() {
    let s = server();
    let limits = FetchLimits {
        timeout: Duration::from_secs(1),
        ..test_limits()
    };
    let started = Instant::now();
    let (_, p) = problem(&s.feed(FeedKind::Rss, "/slow.xml"), &limits).await;
    assert_eq!(
        p,
        FeedProblem::Timeout {
            after: Duration::from_secs(1)
        }
    );
    assert!(
        started.elapsed() < dialtone_testkit::slack(Duration::from_secs(3)),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn feeds_redirects_only_to_https_and_only_three() {
    let s = server();
    let limits = test_limits();
    let (url, p) = problem(&s.feed(FeedKind::Rss, "/to-http"), &limits).await;
    assert_eq!(
        p,
        FeedProblem::RedirectToInsecure {
            location: "http://status.example-provider.de/rss.xml".into()
        }
    );
    assert!(url.ends_with("/to-http"));
    // Even the test switch allows http only to loopback IP literals, not to names.
    let (_, p) = problem(&s.feed(FeedKind::Rss, "/to-localhost"), &limits).await;
    assert!(matches!(p, FeedProblem::RedirectToInsecure { .. }), "{p:?}");

    let (_, p) = problem(&s.feed(FeedKind::Rss, "/loop"), &limits).await;
    assert_eq!(p, FeedProblem::TooManyRedirects { limit: 3 });
    assert_eq!(
        s.log.hits.lock().unwrap()["/loop"],
        4,
        "the first request and three redirects"
    );

    // A redirect within the allowed scheme is followed.
    let got = fetch(
        &s.feed(FeedKind::Rss, "/moved"),
        &FeedState::default(),
        &limits,
    )
    .await;
    assert!(matches!(got, Ok(FeedUpdate::Changed { .. })), "{got:?}");
}

#[tokio::test]
async fn feeds_production_limits_refuse_plain_http_without_connecting() {
    let s = server();
    let (_, p) = problem(&s.feed(FeedKind::Rss, "/rss.xml"), &FetchLimits::default()).await;
    assert_eq!(
        p,
        FeedProblem::NotHttps {
            scheme: "http".into()
        }
    );
    assert!(
        s.log.hits.lock().unwrap().is_empty(),
        "no request may be sent"
    );
    let (_, p) = problem(
        &feed(FeedKind::Rss, "not a url".into()),
        &FetchLimits::default(),
    )
    .await;
    assert!(matches!(p, FeedProblem::BadUrl(_)), "{p:?}");
}

#[test]
fn feeds_poll_hourly_when_healthy_and_every_two_minutes_otherwise() {
    assert_eq!(HEALTHY_INTERVAL, Duration::from_secs(3600));
    assert_eq!(UNHEALTHY_INTERVAL, Duration::from_secs(120));
    assert_eq!(next_poll(Verdict::Healthy, None), Duration::ZERO);
    assert_eq!(
        next_poll(Verdict::Healthy, Some(Duration::from_secs(600))),
        Duration::from_secs(3000)
    );
    assert_eq!(
        next_poll(Verdict::Unknown, Some(Duration::from_secs(600))),
        Duration::from_secs(3000)
    );
    // The line just failed 10 minutes after an hourly poll: poll now, not in 50 minutes.
    assert_eq!(
        next_poll(Verdict::ProviderOutage, Some(Duration::from_secs(600))),
        Duration::ZERO
    );
    assert_eq!(
        next_poll(Verdict::Degraded, Some(Duration::from_secs(30))),
        Duration::from_secs(90)
    );
    for verdict in [
        Verdict::AccountProblem,
        Verdict::InternetDown,
        Verdict::LocalProblem,
    ] {
        assert_eq!(
            next_poll(verdict, Some(Duration::from_secs(100))),
            Duration::from_secs(20)
        );
    }
}

#[tokio::test]
async fn feeds_poller_keeps_state_and_reports_changes_once() {
    let s = server();
    let mut poller = FeedPoller::new(
        vec![
            s.feed(FeedKind::Rss, "/rss.xml"),
            s.feed(FeedKind::Rss, "/invalid.xml"),
        ],
        test_limits(),
    );
    let t0 = Instant::now();
    assert_eq!(poller.next_due(Verdict::Healthy, t0), Some(Duration::ZERO));
    assert_eq!(poller.poll_due(Verdict::Healthy, t0).await, vec![0]);
    assert!(poller.feeds()[0].error.is_none());
    assert!(poller.feeds()[1].error.is_some());
    assert_eq!(
        poller.next_due(Verdict::Healthy, t0),
        Some(HEALTHY_INTERVAL)
    );
    // Not due while healthy; due at once when the line fails two minutes later.
    let t1 = t0 + UNHEALTHY_INTERVAL;
    assert!(poller.poll_due(Verdict::Healthy, t1).await.is_empty());
    assert_eq!(s.log.hits.lock().unwrap()["/rss.xml"], 1);
    assert!(
        poller
            .poll_due(Verdict::ProviderOutage, t1)
            .await
            .is_empty(),
        "304: nothing new"
    );
    assert_eq!(s.log.hits.lock().unwrap()["/rss.xml"], 2);
    assert!(poller.feeds()[0].snapshot.is_some());
}
