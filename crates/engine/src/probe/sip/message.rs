//! SIP messages on the wire: building our requests (with rsip) and reading responses defensively.
//!
//! Requests are built with rsip's types. Responses are validated by rsip and then read by a small
//! scanner of our own, because rsip 0.4 drops the reason phrase as sent, treats compact header
//! forms (`v:`, `i:`, `m:`) as unknown, fails on comma-separated Contact lists and has no typed
//! Retry-After (see shared/SIP-NOTES.md). Everything here is pure: no I/O.

use dialtone_core::observation::{Binding, SipTarget, Transport};
use rand::RngExt;
use std::net::{IpAddr, SocketAddr};

/// Largest header section (status line + headers) we accept: a whole UDP datagram, and as much
/// as kamailio's own 64 kB buffer on a stream. Real responses are a few KiB, but an answer is an
/// answer however odd its headers (a registrar listing many bindings, a chatty proxy); beyond
/// this a message is reported as too large, not ignored.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Largest body we accept on a stream (responses to OPTIONS/REGISTER rarely carry one).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The RFC 3261 magic cookie every branch must start with.
const BRANCH_COOKIE: &str = "z9hG4bK";

/// Why bytes could not be read as a SIP response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No blank line ends the header section.
    #[error("no end of headers (CRLFCRLF) found")]
    Unterminated,
    /// The header section is larger than [`MAX_HEADER_BYTES`].
    #[error("header section of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The header section is not UTF-8.
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// The first line is not `SIP/2.0 CODE REASON`.
    #[error("not a SIP/2.0 status line")]
    BadStatusLine,
    /// A header line has no colon.
    #[error("malformed header line")]
    BadHeader,
    /// rsip refused the message.
    #[error("rejected by the SIP parser: {0}")]
    Rejected(String),
}

/// A SIP response as read off the wire: status, reason as sent, and its headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipResponse {
    /// Status code, 100..=699.
    pub code: u16,
    /// Reason phrase exactly as the server sent it.
    pub reason: String,
    /// Headers in order; names lower-cased with compact forms expanded (`v` → `via`).
    pub headers: Vec<(String, String)>,
}

/// The identifiers a response must echo to belong to our request (RFC 3261 §17.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionId {
    /// The top Via's branch parameter.
    pub branch: String,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number.
    pub cseq: u32,
    /// The CSeq method (`OPTIONS`, `REGISTER`).
    pub method: String,
}

impl SipResponse {
    /// All values of the header `name` (lower-case long form), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of the header `name` (lower-case long form).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The branch parameter of the topmost Via.
    pub fn top_via_branch(&self) -> Option<&str> {
        let via = self.header("via")?;
        let top = split_top_level(via, ',').into_iter().next()?;
        param_value(top.split_once(';')?.1, "branch")
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.header("call-id").map(str::trim)
    }

    /// The CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let mut parts = self.header("cseq")?.split_whitespace();
        let number = parts.next()?.parse().ok()?;
        let method = parts.next()?;
        Some((number, method))
    }

    /// Whether this response belongs to the transaction `id` (branch, Call-ID, CSeq number and
    /// method all match).
    pub fn matches(&self, id: &TransactionId) -> bool {
        self.top_via_branch() == Some(id.branch.as_str())
            && self.call_id() == Some(id.call_id.as_str())
            && self.cseq() == Some((id.cseq, id.method.as_str()))
    }

    /// What differs when this response answers our request (same CSeq number and method) but
    /// with another branch or Call-ID: `Some("other branch")`, `Some("other Call-ID")` or
    /// `Some("other branch and Call-ID")`. A SIP ALG in a router that rewrites these on the way out
    /// and not back does exactly that; a response to another request (other CSeq) is `None`.
    pub fn rewritten(&self, id: &TransactionId) -> Option<&'static str> {
        if self.cseq() != Some((id.cseq, id.method.as_str())) {
            return None;
        }
        let branch = self.top_via_branch() != Some(id.branch.as_str());
        let call_id = self.call_id() != Some(id.call_id.as_str());
        match (branch, call_id) {
            (true, true) => Some("other branch and Call-ID"),
            (true, false) => Some("other branch"),
            (false, true) => Some("other Call-ID"),
            (false, false) => None,
        }
    }

    /// The status line as sent, e.g. `SIP/2.0 100 Trying` (the evidence of what came).
    pub fn status_line(&self) -> String {
        format!("SIP/2.0 {} {}", self.code, self.reason)
            .chars()
            .take(120)
            .collect()
    }

    /// `Retry-After` in seconds (RFC 3261 §20.33: delta-seconds, optional comment and params).
    pub fn retry_after(&self) -> Option<u32> {
        retry_after_secs(self.header("retry-after")?)
    }

    /// The `Expires` header in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.header("expires")?.trim().parse().ok()
    }

    /// The bindings listed in the Contact headers (one header may carry several, comma-separated).
    /// A contact without its own `;expires=` takes the Expires header's value.
    pub fn bindings(&self) -> Vec<Binding> {
        let default_expires = self.expires();
        self.header_values("contact")
            .flat_map(|v| split_top_level(v, ','))
            .filter_map(|c| parse_contact(c, default_expires))
            .collect()
    }
}

/// Reads `bytes` as one SIP response. A datagram's body is whatever follows the blank line.
///
/// Never panics; anything that is not a well-formed response is an error.
pub fn parse_response(bytes: &[u8]) -> Result<SipResponse, ParseError> {
    let end = find_header_end(bytes).ok_or(if bytes.len() > MAX_HEADER_BYTES {
        ParseError::TooLarge(bytes.len())
    } else {
        ParseError::Unterminated
    })?;
    if end > MAX_HEADER_BYTES {
        return Err(ParseError::TooLarge(end));
    }
    let head = std::str::from_utf8(&bytes[..end]).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = head.split("\r\n");
    let status = lines.next().ok_or(ParseError::BadStatusLine)?;
    let (code, reason) = parse_status_line(status)?;

    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (RFC 3261 §7.3.1).
            let (_, value) = headers.last_mut().ok_or(ParseError::BadHeader)?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(ParseError::BadHeader)?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ParseError::BadHeader);
        }
        headers.push((long_header_name(name), value.trim().to_string()));
    }

    // rsip is the reference parser: whatever it refuses, we refuse too.
    rsip::Response::try_from(bytes).map_err(|e| ParseError::Rejected(e.to_string()))?;

    Ok(SipResponse {
        code,
        reason: reason.to_string(),
        headers,
    })
}

/// Position just before the CRLFCRLF that ends the header section, if any.
pub(crate) fn find_header_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_status_line(line: &str) -> Result<(u16, &str), ParseError> {
    let rest = line
        .strip_prefix("SIP/2.0 ")
        .ok_or(ParseError::BadStatusLine)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadStatusLine);
    }
    let code: u16 = code.parse().map_err(|_| ParseError::BadStatusLine)?;
    if !(100..=699).contains(&code) {
        return Err(ParseError::BadStatusLine);
    }
    Ok((code, reason.trim()))
}

/// Lower-cases a header name and expands RFC 3261 §7.3.3 compact forms.
fn long_header_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let long = match lower.as_str() {
        "v" => "via",
        "i" => "call-id",
        "m" => "contact",
        "f" => "from",
        "t" => "to",
        "l" => "content-length",
        "c" => "content-type",
        "e" => "content-encoding",
        "k" => "supported",
        "s" => "subject",
        _ => return lower,
    };
    long.to_string()
}

/// Splits on `sep` outside double quotes and angle brackets (Contact and Via lists).
pub(crate) fn split_top_level(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = false;
    let mut start = 0;
    for (i, ch) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => angle = true,
            '>' if !in_quotes => angle = false,
            c if c == sep && !in_quotes && !angle => {
                parts.push(value[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// The value of `name` in a `;`-separated parameter list (case-insensitive name).
fn param_value<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

fn parse_contact(contact: &str, default_expires: Option<u32>) -> Option<Binding> {
    let contact = contact.trim();
    if contact == "*" || contact.is_empty() {
        return None;
    }
    let (uri, params) = match (contact.find('<'), contact.find('>')) {
        (Some(open), Some(close)) if open < close => {
            (&contact[open + 1..close], &contact[close + 1..])
        }
        (None, None) => match contact.split_once(';') {
            Some((uri, params)) => (uri, params),
            None => (contact, ""),
        },
        _ => return None,
    };
    let uri = uri.trim();
    if uri.is_empty() {
        return None;
    }
    let expires = param_value(params, "expires")
        .and_then(|v| v.parse().ok())
        .or(default_expires);
    Some(Binding {
        contact: uri.to_string(),
        expires,
    })
}

/// A random token for tags, Call-IDs and branches (hex, 64 bits of randomness per half).
pub(crate) fn random_token() -> String {
    let mut rng = rand::rng();
    format!("{:016x}{:08x}", rng.random::<u64>(), rng.random::<u32>())
}

/// A fresh RFC 3261 branch (`z9hG4bK` + random).
pub(crate) fn new_branch() -> String {
    format!("{BRANCH_COOKIE}{}", random_token())
}

/// `host` as it goes into a SIP URI (IPv6 literals bracketed).
pub(crate) fn uri_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_string(),
    }
}

fn via_transport(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
    }
}

/// What a request we send needs besides the method: where it goes and who it claims to be.
#[derive(Debug, Clone)]
pub(crate) struct RequestSpec<'a> {
    /// `OPTIONS` or `REGISTER`.
    pub method: rsip::Method,
    /// The Request-URI.
    pub request_uri: String,
    /// The From address (without tag).
    pub from_uri: String,
    /// The To address.
    pub to_uri: String,
    /// The From tag.
    pub from_tag: &'a str,
    /// Transaction identifiers (branch, Call-ID, CSeq).
    pub id: &'a TransactionId,
    /// Extra headers, e.g. `Authorization` (name, value).
    pub extra: Vec<(String, String)>,
}

/// Serialises a request with rsip. `local` is our address on the connection (Via sent-by).
pub(crate) fn build_request(
    spec: &RequestSpec<'_>,
    target: &SipTarget,
    local: SocketAddr,
) -> Result<Vec<u8>, rsip::Error> {
    use rsip::headers::{self, UntypedHeader};
    let uri = rsip::Uri::try_from(spec.request_uri.as_str())?;
    let sent_by = match local.ip() {
        IpAddr::V6(v6) => format!("[{v6}]:{}", local.port()),
        IpAddr::V4(v4) => format!("{v4}:{}", local.port()),
    };
    let mut hs = rsip::Headers::default();
    hs.push(rsip::Header::Via(headers::Via::new(format!(
        "SIP/2.0/{} {sent_by};branch={};rport",
        via_transport(target.transport),
        spec.id.branch
    ))));
    hs.push(rsip::Header::MaxForwards(headers::MaxForwards::default()));
    hs.push(rsip::Header::From(headers::From::new(format!(
        "<{}>;tag={}",
        spec.from_uri, spec.from_tag
    ))));
    hs.push(rsip::Header::To(headers::To::new(format!(
        "<{}>",
        spec.to_uri
    ))));
    hs.push(rsip::Header::CallId(headers::CallId::new(
        spec.id.call_id.clone(),
    )));
    hs.push(rsip::Header::CSeq(headers::CSeq::new(format!(
        "{} {}",
        spec.id.cseq, spec.id.method
    ))));
    hs.push(rsip::Header::UserAgent(headers::UserAgent::new(format!(
        "dialtone/{}",
        env!("CARGO_PKG_VERSION")
    ))));
    for (name, value) in &spec.extra {
        hs.push(rsip::Header::Other(name.clone(), value.clone()));
    }
    // rsip does not add Content-Length; streams need it to find the end of the message.
    hs.push(rsip::Header::ContentLength(
        headers::ContentLength::default(),
    ));
    let request = rsip::Request {
        method: spec.method,
        uri,
        version: rsip::Version::V2,
        headers: hs,
        body: Vec::new(),
    };
    Ok(request.to_string().into_bytes())
}

/// The longest `Retry-After` in seconds that is read as given: a larger one (even one beyond
/// a `u32`) is read as this, the hour that is the longest wait dialtone obeys anyway. Ignoring
/// an absurd value would mean sending the next login at once to a registrar that asked for a
/// pause.
pub const MAX_RETRY_AFTER_SECS: u32 = 3600;

/// The delta-seconds of a `Retry-After` value (`300`, `300 (maintenance)`, `300;duration=60`);
/// a number too large for a `u32` is [`MAX_RETRY_AFTER_SECS`].
pub fn retry_after_secs(value: &str) -> Option<u32> {
    let digits: String = value
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return None;
    }
    // Only digits are left, so the one way to fail is a number beyond a u32.
    Some(digits.parse().unwrap_or(MAX_RETRY_AFTER_SECS))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OK: &str = "SIP/2.0 200 Fine Thanks\r\n\
        v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport=5060, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKother\r\n\
        From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\ni: call-1\r\nCSeq: 7 OPTIONS\r\n\
        Contact: <sip:alice@10.0.0.2:5060;transport=udp>;expires=300;q=0.5, \"Bob, Jr\" <sip:bob@h>, <sip:c@h;x=\"a,b\">\r\n\
        Expires: 60\r\nRetry-After: 120 (maintenance);duration=3600\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn reads_compact_headers_reason_and_ids() {
        let r = parse_response(OK.as_bytes()).unwrap();
        assert_eq!(r.code, 200);
        assert_eq!(r.reason, "Fine Thanks");
        assert_eq!(r.top_via_branch(), Some("z9hG4bKabc"));
        assert_eq!(r.call_id(), Some("call-1"));
        assert_eq!(r.cseq(), Some((7, "OPTIONS")));
        assert_eq!(r.retry_after(), Some(120));
        assert_eq!(retry_after_secs("none"), None);
        // Beyond a u32: the hour, not nothing (nothing would send the next login at once).
        assert_eq!(
            retry_after_secs("4294967296 (later)"),
            Some(MAX_RETRY_AFTER_SECS)
        );
        assert_eq!(retry_after_secs(&"9".repeat(40)), Some(3600));
        assert_eq!(retry_after_secs("4294967295"), Some(u32::MAX));
        let id = TransactionId {
            branch: "z9hG4bKabc".into(),
            call_id: "call-1".into(),
            cseq: 7,
            method: "OPTIONS".into(),
        };
        assert!(r.matches(&id));
        assert!(!r.matches(&TransactionId {
            cseq: 8,
            ..id.clone()
        }));
        assert!(!r.matches(&TransactionId {
            branch: "z9hG4bKother".into(),
            ..id
        }));
    }

    #[test]
    fn splits_contact_lists_on_top_level_commas() {
        let r = parse_response(OK.as_bytes()).unwrap();
        assert_eq!(
            r.bindings(),
            vec![
                Binding {
                    contact: "sip:alice@10.0.0.2:5060;transport=udp".into(),
                    expires: Some(300)
                },
                Binding {
                    contact: "sip:bob@h".into(),
                    expires: Some(60)
                },
                Binding {
                    contact: "sip:c@h;x=\"a,b\"".into(),
                    expires: Some(60)
                },
            ]
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            &b""[..],
            b"\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"SIP/2.0 99 Low\r\n\r\n",
            b"SIP/2.0 2000 X\r\n\r\n",
            b"SIP/2.0 200 OK\nVia: x\n\n",
            b"SIP/2.0 200 OK\r\nnocolon\r\n\r\n",
            b"SIP/2.0 200 OK\r\nX: \xff\xfe\r\n\r\n",
            b"\x00\x01\x02garbage",
        ] {
            assert!(
                parse_response(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut big = b"SIP/2.0 200 OK\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES));
        big.extend(b"\r\n\r\n");
        assert!(matches!(parse_response(&big), Err(ParseError::TooLarge(_))));
    }

    #[test]
    fn builds_a_request_rsip_and_we_can_read() {
        let id = TransactionId {
            branch: new_branch(),
            call_id: random_token(),
            cseq: 1,
            method: "OPTIONS".into(),
        };
        let target = SipTarget {
            transport: Transport::Udp,
            address: "127.0.0.1:5060".parse().unwrap(),
            host: "127.0.0.1".into(),
        };
        let spec = RequestSpec {
            method: rsip::Method::Options,
            request_uri: "sip:127.0.0.1:5060".into(),
            from_uri: "sip:dialtone@127.0.0.1".into(),
            to_uri: "sip:127.0.0.1".into(),
            from_tag: "t1",
            id: &id,
            extra: vec![],
        };
        let bytes = build_request(&spec, &target, "127.0.0.1:4000".parse().unwrap()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"),
            "{text}"
        );
        assert!(text.contains(&format!(
            "Via: SIP/2.0/UDP 127.0.0.1:4000;branch={};rport\r\n",
            id.branch
        )));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
        assert!(rsip::Request::try_from(&bytes[..]).is_ok());
    }
}
