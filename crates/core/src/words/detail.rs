//! How a probe's finding is worded in evidence: the kinds of failure ([`FailureKind`]) and
//! the details that carry them ([`Detail`]), in English and German.
//!
//! Probes used to store `io::Error`'s `Display` text ("Connection refused (os error 111)") as a
//! fact's `detail`, which put an errno and the same words twice in front of people. Probes now
//! record the error's *kind*; a [`Detail`]'s English words (its `Display`) are what a fact
//! keeps, and presenters pass every detail through [`detail_words`], which also cleans the old
//! texts still arriving from history rows and words them in the user's language.

use crate::locale::Lang;
use crate::observation::{Detail, FailureKind};
use std::fmt;
use std::io;

/// How [`FailureKind::NoSocket`] is said in English: what a stored detail keeps, and what
/// [`Detail::no_socket`] recognises in one read back from history.
pub const NO_SOCKET_WORDS: &str =
    "this computer could not open a socket (too many open files or connections)";

/// The failure kinds with fixed words, in English (as stored) and German.
///
/// The English words are also what a fact keeps, so that a stored detail can be worded in
/// German when it is shown. The order is the order German replaces them in.
static KINDS: [(FailureKind, &str, &str); 19] = [
    (
        FailureKind::NoSocket,
        NO_SOCKET_WORDS,
        "dieser Computer konnte keinen Socket öffnen (zu viele offene Dateien oder Verbindungen)",
    ),
    (
        FailureKind::CertificateNotForSipDomain,
        "the certificate does not name the SIP domain",
        "das Zertifikat nennt die SIP-Domain nicht",
    ),
    (
        FailureKind::Refused,
        "connection refused",
        "Verbindung abgelehnt",
    ),
    (
        FailureKind::Reset,
        "connection reset by the other side",
        "Verbindung von der Gegenseite zurückgesetzt",
    ),
    (
        FailureKind::Aborted,
        "connection aborted",
        "Verbindung abgebrochen",
    ),
    (
        FailureKind::ClosedWhileSending,
        "connection closed while sending",
        "Verbindung beim Senden geschlossen",
    ),
    (
        FailureKind::ClosedEarly,
        "connection closed early",
        "Verbindung vorzeitig geschlossen",
    ),
    (
        FailureKind::NotConnected,
        "not connected",
        "nicht verbunden",
    ),
    (
        FailureKind::NoRoute,
        "no route to host",
        "keine Route zum Zielrechner",
    ),
    (
        FailureKind::NetworkUnreachable,
        "network unreachable",
        "Netzwerk nicht erreichbar",
    ),
    (
        FailureKind::NetworkDown,
        "network down",
        "Netzwerk ausgefallen",
    ),
    (
        FailureKind::AddressNotAvailable,
        "address not available",
        "Adresse nicht verfügbar",
    ),
    (
        FailureKind::AddressInUse,
        "address already in use",
        "Adresse bereits belegt",
    ),
    (FailureKind::TimedOut, "timed out", "Zeitüberschreitung"),
    (
        FailureKind::PermissionDenied,
        "permission denied",
        "keine Berechtigung",
    ),
    (FailureKind::InvalidData, "invalid data", "ungültige Daten"),
    (FailureKind::NotFound, "not found", "nicht gefunden"),
    (FailureKind::Interrupted, "interrupted", "unterbrochen"),
    (FailureKind::System, "system error", "Systemfehler"),
];

/// What the C libraries and the kernels say, mapped to dialtone's words (matched ignoring
/// case). Only the operating system's own messages: a server's "404 Not Found" is its word
/// and stays as sent.
const OS_TEXTS: &[(&str, &str)] = &[
    ("connection refused", "connection refused"),
    ("no route to host", "no route to host"),
    ("permission denied", "permission denied"),
    ("address already in use", "address already in use"),
    (
        "connection reset by peer",
        "connection reset by the other side",
    ),
    ("software caused connection abort", "connection aborted"),
    ("cannot assign requested address", "address not available"),
    ("can't assign requested address", "address not available"),
    ("network is unreachable", "network unreachable"),
    ("network is down", "network down"),
    ("host is unreachable", "no route to host"),
    ("connection timed out", "timed out"),
    ("operation timed out", "timed out"),
    ("transport endpoint is not connected", "not connected"),
    ("broken pipe", "connection closed while sending"),
];

/// A failure kind in English words: the table's, a DNS answer's, or a library's message
/// cleaned of errnos ([`os_words`]).
fn kind_words(kind: &FailureKind) -> String {
    match kind {
        FailureKind::NoSuchDomain => "no such domain (NXDOMAIN)".into(),
        FailureKind::NoRecords(records) => format!("no {records} records"),
        FailureKind::DnsServerAnswered(code) => format!("server answered {code}"),
        FailureKind::Other(message) => os_words(message),
        fixed => fixed_words(fixed).into(),
    }
}

/// The table's English words for a kind with fixed words ("system error" for any other).
fn fixed_words(kind: &FailureKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _, _)| k == kind)
        .map_or("system error", |(_, en, _)| *en)
}

/// Failure kinds outermost first in words, joined by ": ", with a cause whose words the outer
/// one already carries left out (libraries often repeat their cause in their own message).
fn chain_words(kinds: &[FailureKind]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for kind in kinds {
        let words = kind_words(kind);
        let lower = words.to_lowercase();
        let said = parts.iter().any(|p| p.to_lowercase().contains(&lower));
        if !words.is_empty() && !said {
            // An outer message that only repeated this cause gives way to it.
            parts.retain(|p| !lower.contains(&p.to_lowercase()));
            parts.push(words);
        }
    }
    parts.join(": ")
}

/// A detail's English words, as a fact keeps them: what the probe was doing, then the
/// failure's kinds, joined by ": ".
impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.context.clone();
        if !self.causes.is_empty() {
            parts.push(chain_words(&self.causes));
        }
        f.write_str(&parts.join(": "))
    }
}

/// An I/O error kind in words ("connection refused", "no route to host"), in English.
pub fn io_kind_words(kind: io::ErrorKind) -> &'static str {
    fixed_words(&FailureKind::of_io_kind(kind))
}

/// An I/O error in words for a fact's detail: the kind for an operating system error (never
/// its errno), or the wrapped library error's own text (e.g. a TLS certificate problem).
pub fn io_error_words(error: &io::Error) -> String {
    kind_words(&FailureKind::of_io(error))
}

/// An error and its causes in words, outermost first, for a fact's detail: I/O errors by
/// kind, and a cause whose words the outer error already carries left out.
pub fn error_chain_words(error: &(dyn std::error::Error + 'static)) -> String {
    chain_words(&FailureKind::chain(error))
}

/// An error text with its errno suffixes removed and the C library's words replaced by
/// dialtone's ("Connection refused (os error 111)" → "connection refused"), in English.
pub fn os_words(text: &str) -> String {
    let mut out = strip_os_error(text);
    for (os, ours) in OS_TEXTS {
        out = replace_ignoring_case(&out, os, ours);
    }
    collapse_repeats(&out)
}

/// A stored detail as shown in `lang`: cleaned of errnos and repeats ([`os_words`]), dialtone's
/// error words in German for German (matched as dialtone writes them, lowercase, so that a
/// server's "404 Not Found" is not translated).
pub fn detail_words(detail: &str, lang: Lang) -> String {
    let english = os_words(detail);
    match lang {
        Lang::En => english,
        Lang::De => KINDS
            .iter()
            .fold(english, |text, (_, en, de)| text.replace(en, de)),
    }
}

/// " (detail)" after `what`, or nothing when the detail is empty or says nothing `what` does
/// not already say ("connection refused (connection refused)" is said once).
pub(crate) fn detail_suffix(what: &str, detail: &str, lang: Lang) -> String {
    let words = detail_words(detail, lang);
    // ASCII case only: the byte positions found in `lower` must fit `words`.
    let lower_what = what.to_ascii_lowercase();
    let lower = words.to_ascii_lowercase();
    if lower.trim().is_empty() || lower_what.contains(lower.trim()) {
        return String::new();
    }
    // "192.0.2.1:5060: connection refused" after "connection refused": the address only.
    let rest = match lower.find(&lower_what) {
        Some(at) if !lower_what.is_empty() => {
            let mut rest = String::new();
            rest.push_str(&words[..at]);
            rest.push_str(&words[at + lower_what.len()..]);
            rest.trim_matches(|c: char| c == ':' || c == ',' || c.is_whitespace())
                .to_string()
        }
        _ => words,
    };
    if rest.is_empty() {
        String::new()
    } else {
        format!(" ({rest})")
    }
}

/// Removes every " (os error N)" and "os error N" from `text`.
fn strip_os_error(text: &str) -> String {
    let mut out = text.to_string();
    let lower = |s: &str| s.to_ascii_lowercase();
    while let Some(at) = lower(&out).find("os error") {
        let digits_end = out[at + 8..]
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == ' '))
            .map_or(out.len(), |(i, _)| at + 8 + i);
        let (mut start, mut end) = (at, digits_end);
        // The parentheses around it, and the space before them.
        if out[..start].ends_with('(') && out[end..].starts_with(')') {
            start -= 1;
            end += 1;
        }
        while out[..start].ends_with(' ') {
            start -= 1;
        }
        out.replace_range(start..end, "");
    }
    out.trim().to_string()
}

/// Replaces every occurrence of `from` (ignoring ASCII case) with `to`.
fn replace_ignoring_case(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_string();
    }
    let lower_text = text.to_ascii_lowercase();
    let lower_from = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in lower_text.match_indices(&lower_from) {
        out.push_str(&text[last..at]);
        out.push_str(to);
        last = at + from.len();
    }
    out.push_str(&text[last..]);
    out
}

/// "connection refused (connection refused)" and "connection refused: connection refused"
/// said once.
fn collapse_repeats(text: &str) -> String {
    let mut out = text.to_string();
    loop {
        let before = out.clone();
        for (_, en, _) in &KINDS {
            for doubled in [format!("{en} ({en})"), format!("{en}: {en}")] {
                out = replace_ignoring_case(&out, &doubled, en);
            }
        }
        if out == before {
            return out;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_lose_their_errno_and_their_repeat() {
        assert_eq!(
            os_words("Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(
            os_words("connection refused (Connection refused (os error 111))"),
            "connection refused"
        );
        assert_eq!(
            os_words("connect to 192.168.1.1:80: No route to host (os error 113)"),
            "connect to 192.168.1.1:80: no route to host"
        );
        assert_eq!(os_words("Network is unreachable"), "network unreachable");
        assert_eq!(os_words("os error 99"), "");
        // A server's words stay as sent, in both languages.
        assert_eq!(os_words("GET /x: 404 Not Found"), "GET /x: 404 Not Found");
        assert_eq!(
            detail_words("GET /x: 404 Not Found", Lang::De),
            "GET /x: 404 Not Found"
        );
        assert_eq!(
            os_words("invalid peer certificate: UnknownIssuer"),
            "invalid peer certificate: UnknownIssuer"
        );
    }

    #[test]
    fn io_errors_are_worded_by_kind() {
        let refused = io::Error::from_raw_os_error(111);
        assert_eq!(io_error_words(&refused), "connection refused");
        assert_eq!(
            io_error_words(&io::Error::from_raw_os_error(113)),
            "no route to host"
        );
        assert_eq!(
            io_error_words(&io::Error::from_raw_os_error(101)),
            "network unreachable"
        );
        assert_eq!(
            io_error_words(&io::Error::from_raw_os_error(99)),
            "address not available"
        );
        let tls = io::Error::new(io::ErrorKind::InvalidData, "invalid peer certificate");
        assert_eq!(io_error_words(&tls), "invalid peer certificate");
        let bare = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(io_error_words(&bare), "timed out");
    }

    #[test]
    fn an_error_chain_says_each_thing_once() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "tcp connect error: {}", self.0)
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(io::Error::from_raw_os_error(111));
        assert_eq!(
            error_chain_words(&e),
            "tcp connect error: connection refused"
        );
    }

    #[test]
    fn details_are_worded_in_german_and_said_once() {
        assert_eq!(
            detail_words("No route to host (os error 113)", Lang::De),
            "keine Route zum Zielrechner"
        );
        assert_eq!(
            detail_suffix(
                "connection refused",
                "Connection refused (os error 111)",
                Lang::En
            ),
            ""
        );
        assert_eq!(
            detail_suffix("Verbindung abgelehnt", "connection refused", Lang::De),
            ""
        );
        assert_eq!(
            detail_suffix("unreachable", "no route to host", Lang::En),
            " (no route to host)"
        );
        assert_eq!(
            detail_suffix(
                "connection refused",
                "192.0.2.1:5060: connection refused",
                Lang::En
            ),
            " (192.0.2.1:5060)"
        );
        assert_eq!(detail_suffix("TLS handshake failed", "", Lang::En), "");
    }

    #[test]
    fn every_fixed_kind_has_its_words_and_reads_back_in_german() {
        let mut seen = Vec::new();
        for (kind, en, de) in &KINDS {
            assert!(!seen.contains(kind), "{kind:?} twice");
            seen.push(kind.clone());
            let detail = Detail::of(kind.clone());
            assert_eq!(detail.to_string(), *en);
            assert_eq!(detail_words(&detail.to_string(), Lang::De), *de);
        }
    }

    #[test]
    fn a_detail_is_what_the_probe_did_then_the_kinds() {
        let detail =
            Detail::io(&io::Error::from_raw_os_error(113)).within("connect to 192.0.2.1:80");
        assert_eq!(
            detail.to_string(),
            "connect to 192.0.2.1:80: no route to host"
        );
        let dns = Detail::of(FailureKind::NoSuchDomain)
            .within("missing.test")
            .within("resolve missing.test");
        assert_eq!(
            dns.to_string(),
            "resolve missing.test: missing.test: no such domain (NXDOMAIN)"
        );
        assert!(dns.contains("missing.test"));
        assert_eq!(
            Detail::of(FailureKind::DnsServerAnswered("SERVFAIL".into()))
                .within("example.com A/AAAA via 192.0.2.53:53")
                .to_string(),
            "example.com A/AAAA via 192.0.2.53:53: server answered SERVFAIL"
        );
        assert_eq!(
            Detail::of(FailureKind::NoRecords("SRV".into())).to_string(),
            "no SRV records"
        );
        // Kept and read back as its English words; an old text stays as it was written.
        let json = serde_json::to_string(&detail).unwrap();
        assert_eq!(json, "\"connect to 192.0.2.1:80: no route to host\"");
        let back: Detail = serde_json::from_str(&json).unwrap();
        assert_eq!(back, detail);
        let old = Detail::from("No route to host (os error 113)");
        assert_eq!(old.to_string(), "No route to host (os error 113)");
        assert_eq!(detail_words(&old.to_string(), Lang::En), "no route to host");
    }
}
