//! An HTTP receiver on loopback for the alert tests and benchmarks: it records every request
//! (path, headers, body, when it arrived) and answers each with a reply the test chooses — a
//! webhook that accepts, one that fails (500), one that redirects to itself, or an ntfy server.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// One HTTP request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request target (`/hook`).
    pub path: String,
    /// The headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The body (as text).
    pub body: String,
    /// When its body had arrived.
    pub at: SystemTime,
}

/// The status and body answering a request; a 3xx also gets a `Location` back to the same
/// path (a redirect loop).
pub type Reply = fn(&Request) -> (u16, Vec<u8>);

/// The receiver (see the module's doc). Requests answered with a status below 300 count as
/// accepted and are recorded.
pub struct Recorder {
    /// Its loopback port.
    pub port: u16,
    got: Arc<Mutex<Vec<Request>>>,
}

/// Accepts everything with `{}`.
pub fn ok(_: &Request) -> (u16, Vec<u8>) {
    (200, b"{}".to_vec())
}

/// ntfy's answer to a publish (`POST /TOPIC`, the message as body): the message as JSON, as
/// ntfy's documentation describes it.
pub fn ntfy_publish(r: &Request) -> (u16, Vec<u8>) {
    let topic = r.path.trim_start_matches('/');
    let answer = serde_json::json!({
        "id": "test1", "time": 0, "event": "message", "topic": topic, "message": r.body,
        "title": r.headers.get("title"), "priority": r.headers.get("priority"),
    });
    (200, answer.to_string().into_bytes())
}

impl Recorder {
    /// Listens on a free loopback port, answering with `reply`.
    pub fn start(reply: Reply) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the HTTP receiver");
        let port = listener.local_addr().expect("its address").port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, reply, &seen));
            }
        });
        Recorder { port, got }
    }

    /// The accepted requests so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until `n` requests were accepted; panics with what came after `within`.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Request> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.requests().len() >= n {
                return self.requests();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{n} requests expected within {within:?}, got {:#?}",
            self.requests()
        );
    }
}

fn serve(stream: TcpStream, reply: Reply, seen: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: SystemTime::now(),
    };
    let (status, answer) = reply(&request);
    if status < 300 {
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.clone());
    }
    let location = if (300..400).contains(&status) {
        format!("location: {}\r\n", request.path)
    } else {
        String::new()
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\n{location}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    );
    let mut stream = stream;
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&answer));
}
