//! A deliberately small SIP client used by the harness itself: an OPTIONS ping to tell when
//! kamailio is ready, and a digest-authenticated REGISTER query to verify bindings.
//!
//! It is independent of dialtone's own SIP code on purpose: the harness must be able to
//! confirm what the registrar holds without trusting the code under test.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dialtone_core::observation::{SipTarget, Transport};
use md5::{Digest, Md5};

/// A SIP response as far as the harness cares.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code, e.g. 200.
    pub status: u16,
    /// The whole response text, for assertions and failure messages.
    pub text: String,
}

impl Reply {
    /// Values of every header named `name` (case-insensitive), split on top-level commas.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in self.text.split("\r\n").skip(1) {
            if line.is_empty() {
                break;
            }
            let Some((h, v)) = line.split_once(':') else {
                continue;
            };
            if h.trim().eq_ignore_ascii_case(name) {
                out.extend(split_top_level(v.trim()));
            }
        }
        out
    }

    /// The Contact bindings of a REGISTER reply.
    pub fn contacts(&self) -> Vec<String> {
        let mut v = self.header_values("Contact");
        v.extend(self.header_values("m"));
        v
    }
}

fn split_top_level(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth_angle = false;
    let mut quoted = false;
    let mut cur = String::new();
    for ch in v.chars() {
        match ch {
            '"' => quoted = !quoted,
            '<' if !quoted => depth_angle = true,
            '>' if !quoted => depth_angle = false,
            ',' if !quoted && !depth_angle => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{}x{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

fn exchange(sock: &UdpSocket, to: SocketAddr, msg: &str, wait: Duration) -> Option<Reply> {
    sock.send_to(msg.as_bytes(), to).ok()?;
    sock.set_read_timeout(Some(wait)).ok()?;
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let status = text
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok());
        // Provisional replies (1xx) are not the answer we wait for.
        match status {
            Some(s) if s >= 200 => return Some(Reply { status: s, text }),
            _ => continue,
        }
    }
}

/// Sends one OPTIONS over UDP from `sock` to `to` and waits up to `wait` for a final reply.
pub fn options_once(sock: &UdpSocket, to: SocketAddr, wait: Duration) -> Option<Reply> {
    let local = sock.local_addr().ok()?;
    let msg = format!(
        "OPTIONS sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:harness@{ip}>;tag={tag}\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {callid}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        branch = unique("z9hG4bK"),
        ip = local.ip(),
        tag = unique("t"),
        callid = unique("c"),
    );
    exchange(sock, to, &msg, wait)
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

fn param(challenge: &str, name: &str) -> Option<String> {
    // Parameters look like name="value" or name=token, separated by commas.
    for part in split_top_level(challenge.trim_start_matches("Digest").trim()) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case(name) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// Sends an authenticated REGISTER for `user` over UDP to `to` (from a socket bound by the
/// caller), with `contact` as the binding to add or none for a query. MD5 digest only.
pub fn register(
    sock: &UdpSocket,
    to: SocketAddr,
    domain: &str,
    user: &str,
    password: &str,
    contact: Option<(&str, u32)>,
) -> Result<Reply, String> {
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let uri = format!("sip:{domain}");
    let callid = unique("reg");
    let from_tag = unique("t");
    let contact_lines = match contact {
        Some((c, expires)) => format!("Contact: <{c}>\r\nExpires: {expires}\r\n"),
        None => String::new(),
    };
    let build = |cseq: u32, auth: &str| {
        format!(
            "REGISTER {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{domain}>;tag={from_tag}\r\n\
             To: <sip:{user}@{domain}>\r\n\
             Call-ID: {callid}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             {contact_lines}{auth}\
             Content-Length: 0\r\n\r\n",
            branch = unique("z9hG4bK"),
        )
    };
    let wait = Duration::from_secs(3);
    let first = exchange(sock, to, &build(1, ""), wait)
        .ok_or_else(|| format!("REGISTER to {to}: no reply"))?;
    if first.status != 401 {
        return Ok(first);
    }
    let challenge = first.header_values("WWW-Authenticate").join(", ");
    // The harness speaks MD5 only; any other challenge is handed back to the caller as is.
    if let Some(alg) = param(&challenge, "algorithm") {
        if !alg.eq_ignore_ascii_case("MD5") {
            return Ok(first);
        }
    }
    let realm = param(&challenge, "realm").ok_or("challenge without realm")?;
    let nonce = param(&challenge, "nonce").ok_or("challenge without nonce")?;
    let opaque = param(&challenge, "opaque");
    let qop = param(&challenge, "qop");
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("REGISTER:{uri}"));
    let cnonce = unique("cn");
    let (response, qop_part) = match qop.as_deref() {
        Some(q) if q.split(',').any(|x| x.trim() == "auth") => (
            md5_hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")),
            format!(", qop=auth, nc=00000001, cnonce=\"{cnonce}\""),
        ),
        _ => (md5_hex(&format!("{ha1}:{nonce}:{ha2}")), String::new()),
    };
    let opaque_part = opaque
        .map(|o| format!(", opaque=\"{o}\""))
        .unwrap_or_default();
    let auth = format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", \
         uri=\"{uri}\", response=\"{response}\", algorithm=MD5{qop_part}{opaque_part}\r\n"
    );
    exchange(sock, to, &build(2, &auth), wait)
        .ok_or_else(|| format!("authenticated REGISTER to {to}: no reply"))
}

// ---------------------------------------------------------------------------------------------
// Scripted peers: what a test's fake registrar needs to read a request and answer it.

/// The SIP target of a scripted peer at `address` on loopback.
pub fn loopback_target(transport: Transport, address: SocketAddr) -> SipTarget {
    SipTarget {
        transport,
        address,
        host: "127.0.0.1".into(),
    }
}

/// The value of the first header `name` (case-insensitive) of a SIP message, if it has one.
pub fn find_header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
}

/// [`find_header`] for a header the message must have (panics, quoting it, otherwise).
pub fn header<'a>(message: &'a str, name: &str) -> &'a str {
    find_header(message, name).unwrap_or_else(|| panic!("no {name} in:\n{message}"))
}

/// A response to `request` echoing its Via, From, To, Call-ID and CSeq, with `extra` headers.
pub fn reply(request: &str, status: &str, extra: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=srv\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
        header(request, "via"),
        header(request, "from"),
        header(request, "to"),
        header(request, "call-id"),
        header(request, "cseq"),
    )
    .into_bytes()
}
