//! How an operating system's or a library's error is worded in evidence.
//!
//! Probes used to store `io::Error`'s `Display` text ("Connection refused (os error 111)") as a
//! fact's `detail`, which put an errno and the same words twice in front of people. Probes now
//! store the error *kind* in words ([`io_error_words`], [`error_chain_words`]); presenters pass
//! every detail through [`detail_words`], which also cleans the old texts still arriving from
//! history rows and words them in the user's language.

use crate::locale::Lang;
use std::io;

/// The error kinds dialtone words, in English (as stored) and German.
///
/// The English words are also what probes store, so that a stored detail can be worded in
/// German when it is shown.
const KIND_WORDS: &[(&str, &str)] = &[
    ("connection refused", "Verbindung abgelehnt"),
    (
        "connection reset by the other side",
        "Verbindung von der Gegenseite zurückgesetzt",
    ),
    ("connection aborted", "Verbindung abgebrochen"),
    (
        "connection closed while sending",
        "Verbindung beim Senden geschlossen",
    ),
    (
        "connection closed early",
        "Verbindung vorzeitig geschlossen",
    ),
    ("not connected", "nicht verbunden"),
    ("no route to host", "keine Route zum Zielrechner"),
    ("network unreachable", "Netzwerk nicht erreichbar"),
    ("network down", "Netzwerk ausgefallen"),
    ("address not available", "Adresse nicht verfügbar"),
    ("address already in use", "Adresse bereits belegt"),
    ("timed out", "Zeitüberschreitung"),
    ("permission denied", "keine Berechtigung"),
    ("invalid data", "ungültige Daten"),
    ("not found", "nicht gefunden"),
    ("interrupted", "unterbrochen"),
    ("system error", "Systemfehler"),
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

/// An I/O error kind in words ("connection refused", "no route to host"), in English: what a
/// probe stores as a fact's detail.
pub fn io_kind_words(kind: io::ErrorKind) -> &'static str {
    use io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset by the other side",
        K::ConnectionAborted => "connection aborted",
        K::BrokenPipe => "connection closed while sending",
        K::UnexpectedEof => "connection closed early",
        K::NotConnected => "not connected",
        K::HostUnreachable => "no route to host",
        K::NetworkUnreachable => "network unreachable",
        K::NetworkDown => "network down",
        K::AddrNotAvailable => "address not available",
        K::AddrInUse => "address already in use",
        K::TimedOut | K::WouldBlock => "timed out",
        K::PermissionDenied => "permission denied",
        K::InvalidData => "invalid data",
        K::NotFound => "not found",
        K::Interrupted => "interrupted",
        _ => "system error",
    }
}

/// An I/O error in words for a fact's detail: the kind for an operating system error (never
/// its errno), or the wrapped library error's own text (e.g. a TLS certificate problem).
pub fn io_error_words(error: &io::Error) -> String {
    if let Some(code) = error.raw_os_error() {
        let words = io_kind_words(error.kind());
        // ENETUNREACH, EHOSTUNREACH and ENETDOWN on Linux, for a std that leaves them
        // uncategorised: the kind's words would say only "system error".
        return match (words, code) {
            ("system error", 101) => "network unreachable".into(),
            ("system error", 113) => "no route to host".into(),
            ("system error", 100) => "network down".into(),
            _ => words.into(),
        };
    }
    match error.get_ref() {
        Some(inner) => os_words(&inner.to_string()),
        None => io_kind_words(error.kind()).into(),
    }
}

/// An error and its causes in words, outermost first, for a fact's detail: I/O errors by
/// kind, and a cause whose words the outer error already carries left out (libraries often
/// repeat their cause in their own message).
pub fn error_chain_words(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let words = match e.downcast_ref::<io::Error>() {
            Some(io) => io_error_words(io),
            None => os_words(&e.to_string()),
        };
        let lower = words.to_lowercase();
        let said = parts.iter().any(|p| p.to_lowercase().contains(&lower));
        if !words.is_empty() && !said {
            // An outer message that only repeated this cause gives way to it.
            parts.retain(|p| !lower.contains(&p.to_lowercase()));
            parts.push(words);
        }
        current = e.source();
    }
    parts.join(": ")
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
        Lang::De => KIND_WORDS
            .iter()
            .fold(english, |text, (en, de)| text.replace(en, de)),
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
        for (en, _) in KIND_WORDS {
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
}
