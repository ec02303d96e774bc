//! What the probes saw in one round of checks: plain data, no judgement.
//!
//! A probe never fails with "the server did not answer": that is an observation, recorded here.
//! Diagnosis reads these structs; it does no I/O of its own. What went wrong is recorded as a
//! kind ([`FailureKind`], in a [`Detail`]), never in words: the words are made in
//! [`crate::words`] when a finding is shown.

pub use crate::router::RouterObservation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Everything one round of probes observed, lowest layer first.
///
/// A layer is `None` when it was not probed this round (not configured, or not due).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When the round started.
    pub taken_at: DateTime<Utc>,
    /// This computer's interfaces and default route.
    pub device: DeviceObservation,
    /// The default gateway (router).
    pub home_network: Option<GatewayObservation>,
    /// The router's own view (UPnP IGD / TR-064); `None` when switched off.
    #[serde(default)]
    pub router: Option<RouterObservation>,
    /// DNS and the internet anchors.
    pub internet: Option<InternetObservation>,
    /// The SIP registrar, probed with OPTIONS.
    pub provider: Option<ProviderObservation>,
    /// The authenticated REGISTER query (rare; may be older than `taken_at`).
    pub account: Option<AccountObservation>,
}

/// This computer's network state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceObservation {
    /// Up, non-loopback interfaces that have at least one address.
    pub interfaces: Vec<Interface>,
    /// The default route, if the routing table has one.
    pub default_route: Option<DefaultRoute>,
}

/// One usable network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Kernel name, e.g. `wlan0`.
    pub name: String,
    /// Its addresses (link-local ones included).
    pub addresses: Vec<IpAddr>,
}

/// The route packets to the internet take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRoute {
    /// The interface the route leaves through.
    pub interface: String,
    /// The next hop; `None` for a point-to-point link (e.g. a VPN or PPP device).
    pub gateway: Option<IpAddr>,
}

/// How an attempt to reach a host ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Reach {
    /// The host answered. A refused TCP connection counts: only a live host sends a reset.
    Answered {
        /// How it answered.
        method: ReachMethod,
        /// Round-trip time of that answer.
        rtt: Duration,
    },
    /// Nothing came back before the deadline.
    Timeout {
        /// How long we waited.
        after: Duration,
    },
    /// The local stack or a router said the host cannot be reached (no route, unreachable).
    Unreachable {
        /// What failed: the error's kind and what the probe was doing.
        detail: Detail,
    },
}

impl Reach {
    /// Whether the host answered.
    pub fn answered(&self) -> bool {
        matches!(self, Reach::Answered { .. })
    }

    /// The round-trip time, when it answered.
    pub fn rtt(&self) -> Option<Duration> {
        match self {
            Reach::Answered { rtt, .. } => Some(*rtt),
            _ => None,
        }
    }
}

/// The kind of answer that proved a host alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReachMethod {
    /// An ICMP echo reply.
    IcmpEcho,
    /// A completed TCP handshake.
    TcpConnect,
    /// A TCP reset (connection refused): the host is up, the port closed.
    TcpRefused,
    /// An HTTP response with this status.
    Http(u16),
}

/// Whether the gateway was found in the routing table or set by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewaySource {
    /// Read from the routing table.
    Detected,
    /// From the config file or `--gateway`.
    Configured,
}

/// The router check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayObservation {
    /// The gateway's address; `None` when none is known (no default route, none configured).
    pub address: Option<IpAddr>,
    /// Where the address came from.
    pub source: GatewaySource,
    /// The outcome; `None` when there was no address to try.
    pub reach: Option<Reach>,
}

/// The internet check: one DNS lookup and N anchors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetObservation {
    /// The DNS lookup of a well-known name; `None` when disabled (`--dns-name none`).
    pub dns: Option<DnsObservation>,
    /// One entry per configured anchor.
    pub anchors: Vec<AnchorObservation>,
}

/// One DNS lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsObservation {
    /// The name looked up.
    pub name: String,
    /// What came back.
    pub outcome: DnsOutcome,
}

/// The result of a DNS lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DnsOutcome {
    /// Addresses (or records) came back.
    Resolved {
        /// The addresses found (empty for record types other than A/AAAA).
        addresses: Vec<IpAddr>,
        /// How long the lookup took.
        rtt: Duration,
    },
    /// The server answered that the name has no such records (NXDOMAIN or NODATA).
    NotFound {
        /// The name and what was missing.
        detail: Detail,
    },
    /// The server answered with an error (SERVFAIL, REFUSED) or the lookup could not be sent.
    Failed {
        /// The lookup and the server's answer or the error's kinds.
        detail: Detail,
    },
    /// No answer before the deadline.
    Timeout {
        /// How long we waited.
        after: Duration,
    },
}

/// One internet anchor (an independent, well-known host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorObservation {
    /// `host:port` as configured.
    pub target: String,
    /// The outcome.
    pub reach: Reach,
}

/// SIP transport protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// SIP over UDP (RFC 3261 §18, with retransmissions).
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (`sips:` or `transport=tls`).
    Tls,
}

impl Transport {
    /// The lowercase token used in SIP URIs and Via headers' parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// One concrete place to send SIP to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipTarget {
    /// The transport to use.
    pub transport: Transport,
    /// Address and port.
    pub address: SocketAddr,
    /// The host name it came from (used for TLS server-name checks and in evidence).
    pub host: String,
}

/// How the registrar's name became targets (RFC 3263).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Resolution {
    /// Targets to try, in order.
    Resolved {
        /// The targets.
        targets: Vec<SipTarget>,
        /// The records that produced them, e.g. `["NAPTR", "SRV", "A"]` or `["literal"]`.
        path: Vec<String>,
        /// Time spent resolving.
        rtt: Duration,
    },
    /// The name could not be turned into any target.
    Failed {
        /// The last lookup's outcome.
        outcome: DnsOutcome,
        /// The name that failed (the registrar host, or an SRV target).
        name: String,
    },
}

/// The provider check: resolution plus OPTIONS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderObservation {
    /// The registrar as configured (`sip:…` URI or bare domain).
    pub registrar: String,
    /// The provider's display name, when known from the catalog or config.
    pub provider_name: Option<String>,
    /// Name resolution.
    pub resolution: Resolution,
    /// One exchange per target tried, in order; stops at the first target that answers.
    pub exchanges: Vec<SipExchange>,
    /// What dialtone has seen of this registrar from here before this round (kept across
    /// processes); `None` when not known (then silence is judged as from a known registrar).
    #[serde(default)]
    pub acquaintance: Option<Acquaintance>,
}

/// What dialtone has seen of a registrar from this computer before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Acquaintance {
    /// Its name has resolved at least once.
    pub resolved: bool,
    /// It has answered OPTIONS at least once.
    pub answered_options: bool,
    /// It has answered a REGISTER query at least once.
    pub answered_register: bool,
}

/// One SIP request/response transaction (including retransmissions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SipExchange {
    /// `OPTIONS` or `REGISTER`.
    pub method: String,
    /// Where it went.
    pub target: SipTarget,
    /// How it ended.
    pub outcome: SipOutcome,
    /// How many times the request was sent (1 = no retransmission).
    pub transmissions: u32,
    /// Messages received but ignored: garbage, oversized, or not matching the request
    /// (wrong branch, Call-ID, CSeq or source). Spoofing shows up here.
    pub ignored: u32,
    /// From first send to the final outcome.
    pub elapsed: Duration,
}

/// How a SIP transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SipOutcome {
    /// A final response arrived. Any response proves the server alive.
    Response {
        /// Status code, e.g. 200, 401, 503.
        code: u16,
        /// Reason phrase as sent.
        reason: String,
        /// Time from the first transmission to this response.
        rtt: Duration,
        /// The `Retry-After` value in seconds, when present.
        retry_after: Option<u32>,
    },
    /// We gave up waiting (RFC 3261 treats this as a local 408).
    Timeout,
    /// The transport failed (refused, unreachable, reset, TLS handshake failure, a stream that
    /// broke framing); RFC 3261 §8.1.3.1 treats this as a local 503.
    TransportFailed {
        /// What kind of failure.
        kind: TransportFailure,
        /// The error's kind ("connection refused"), or the TLS library's message.
        detail: Detail,
    },
}

impl SipOutcome {
    /// Whether the target answered in SIP at all: a final response, or one of the answers
    /// dialtone could not use (a provisional answer only, an incomplete, oversized or
    /// mismatched one). Such a registrar has been heard from: its silence later is news, and
    /// this round is not "silence" either.
    pub fn heard_from(&self) -> bool {
        match self {
            SipOutcome::Response { .. } => true,
            SipOutcome::TransportFailed { kind, .. } => matches!(
                kind,
                TransportFailure::TooLarge
                    | TransportFailure::ProvisionalOnly
                    | TransportFailure::Incomplete
                    | TransportFailure::Mismatched
            ),
            SipOutcome::Timeout => false,
        }
    }
}

/// Categories of transport failure: how a transaction ended without a final answer dialtone
/// could accept. The last four are answers all the same (see [`SipOutcome::heard_from`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportFailure {
    /// TCP reset on connect, or ICMP port unreachable on UDP.
    Refused,
    /// No route / host or network unreachable.
    Unreachable,
    /// The connection was closed or reset mid-transaction.
    Closed,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The peer sent bytes that are not SIP (on a stream: framing lost; on UDP: only such
    /// datagrams came back).
    Protocol,
    /// The peer answered with a message larger than dialtone accepts (64 kB of headers, the
    /// UDP datagram limit; 64 kB of body). The detail names the status line that came.
    TooLarge,
    /// Only a provisional answer came (`100 Trying`), never a final one: the server took the
    /// request and did not finish it. The detail is the status line.
    ProvisionalOnly,
    /// An answer had begun to arrive (on a stream) and was still incomplete when dialtone
    /// stopped waiting. The detail is its status line and how much came.
    Incomplete,
    /// Answers came from the target that do not belong to this request: the branch or the
    /// Call-ID differs while method and sequence number match. A SIP ALG in the router
    /// rewriting messages does that. The detail is the status line and what differed.
    Mismatched,
}

/// A registration binding reported by the registrar (a phone or router on this line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The Contact URI.
    pub contact: String,
    /// Seconds until it expires, when the registrar said.
    pub expires: Option<u32>,
}

/// The authenticated REGISTER query (no Contact: it lists bindings and adds none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountObservation {
    /// When this query ran (account checks are rare, so it may predate the snapshot).
    pub checked_at: DateTime<Utc>,
    /// The account's address-of-record, e.g. `sip:alice@example.net`.
    pub aor: String,
    /// What the registrar said.
    pub outcome: AccountOutcome,
    /// The last transaction of the query (after the digest challenge), when one ran.
    pub exchange: Option<SipExchange>,
}

/// The result of a REGISTER query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AccountOutcome {
    /// 200 OK: the credentials work; these are the current bindings (possibly none).
    Accepted {
        /// Current bindings.
        bindings: Vec<Binding>,
    },
    /// The registrar rejected the credentials (403, or 401 again after we answered the challenge).
    Rejected {
        /// The status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Not sent: an earlier rejection stands, and retrying could lock the account out.
    Suspended {
        /// When the rejection happened.
        since: DateTime<Utc>,
        /// Its status code.
        code: u16,
    },
    /// Not sent: the registrar asked to wait (`Retry-After`) and the time has not come.
    Deferred {
        /// The earliest next authenticated request.
        until: DateTime<Utc>,
        /// The status code that carried the `Retry-After`.
        code: u16,
    },
    /// The registrar's challenge uses something we cannot answer (e.g. an unknown algorithm).
    UnsupportedChallenge {
        /// What was offered.
        detail: String,
    },
    /// No final answer to the query: see `exchange` (timeout, transport failure, 5xx).
    NoAnswer,
    /// Not sent: the login ledger (which remembers rejections and waits across restarts and
    /// processes) cannot be used, and a guard that forgets could resend a rejected password.
    Paused {
        /// What could not be done with the file.
        action: LedgerAction,
        /// The file.
        path: String,
        /// The operating system's error, as written (worded when shown).
        detail: String,
    },
}

/// What could not be done with the login ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAction {
    /// Lock it against other processes.
    Lock,
    /// Read it.
    Read,
    /// Write it (or its lock file).
    Write,
    /// Create the directory it lives in.
    CreateDirectory,
}

/// What kind of failure an attempt met, as the operating system, the resolver or a library
/// reported it: a kind, not words. [`crate::words`] words it when it is shown (never an errno,
/// in English or German), so a probe never has to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The other side refused the connection (a TCP reset, an ICMP port unreachable).
    Refused,
    /// The other side reset the connection.
    Reset,
    /// The connection was aborted on this side.
    Aborted,
    /// The connection closed while sending (a broken pipe).
    ClosedWhileSending,
    /// The connection closed before all that was expected arrived.
    ClosedEarly,
    /// The socket is not connected.
    NotConnected,
    /// No route to the host (host unreachable).
    NoRoute,
    /// The network is unreachable.
    NetworkUnreachable,
    /// The network is down.
    NetworkDown,
    /// The local address is not available.
    AddressNotAvailable,
    /// The local address is already in use.
    AddressInUse,
    /// The operation timed out.
    TimedOut,
    /// The operating system denied permission.
    PermissionDenied,
    /// What arrived is not valid.
    InvalidData,
    /// Something asked for does not exist.
    NotFound,
    /// The operation was interrupted.
    Interrupted,
    /// Another operating-system error.
    System,
    /// The name does not exist (NXDOMAIN).
    NoSuchDomain,
    /// The name has no records of this type (`A/AAAA`, `SRV`, `NAPTR`).
    NoRecords(String),
    /// The DNS server answered with this response code (`SERVFAIL`, `REFUSED`).
    DnsServerAnswered(String),
    /// This computer could not open a socket: too many open files or connections (EMFILE,
    /// ENFILE), or no buffer space (ENOBUFS). A local finding: nothing was sent.
    NoSocket,
    /// The registrar's TLS certificate does not name the SIP domain (RFC 5922 §4); it may
    /// name the SRV target, which unauthenticated DNS supplied and so proves nothing.
    CertificateNotForSipDomain,
    /// An error with no kind of its own here (a TLS certificate problem, a resolver's protocol
    /// error): its message as the library wrote it, errno and all (cleaned when shown).
    Other(String),
}

impl FailureKind {
    /// The kind of an I/O error: an operating system's error by its kind (never its errno), a
    /// wrapped library error by its message.
    pub fn of_io(error: &io::Error) -> FailureKind {
        if let Some(code) = error.raw_os_error() {
            // ENETUNREACH, EHOSTUNREACH and ENETDOWN on Linux, for a std that leaves them
            // uncategorised: the kind alone would say only "system error".
            return match (FailureKind::of_io_kind(error.kind()), code) {
                // EMFILE, ENFILE, ENOBUFS (Linux); WSAEMFILE, WSAENOBUFS (Windows).
                (_, 23 | 24 | 105 | 10024 | 10055) => FailureKind::NoSocket,
                (FailureKind::System, 101) => FailureKind::NetworkUnreachable,
                (FailureKind::System, 113) => FailureKind::NoRoute,
                (FailureKind::System, 100) => FailureKind::NetworkDown,
                (kind, _) => kind,
            };
        }
        match error.get_ref() {
            Some(inner) => FailureKind::Other(inner.to_string()),
            None => FailureKind::of_io_kind(error.kind()),
        }
    }

    /// The kind of an I/O error kind; kinds dialtone does not tell apart are [`FailureKind::System`].
    pub fn of_io_kind(kind: io::ErrorKind) -> FailureKind {
        use io::ErrorKind as K;
        match kind {
            K::ConnectionRefused => FailureKind::Refused,
            K::ConnectionReset => FailureKind::Reset,
            K::ConnectionAborted => FailureKind::Aborted,
            K::BrokenPipe => FailureKind::ClosedWhileSending,
            K::UnexpectedEof => FailureKind::ClosedEarly,
            K::NotConnected => FailureKind::NotConnected,
            K::HostUnreachable => FailureKind::NoRoute,
            K::NetworkUnreachable => FailureKind::NetworkUnreachable,
            K::NetworkDown => FailureKind::NetworkDown,
            K::AddrNotAvailable => FailureKind::AddressNotAvailable,
            K::AddrInUse => FailureKind::AddressInUse,
            K::TimedOut | K::WouldBlock => FailureKind::TimedOut,
            K::PermissionDenied => FailureKind::PermissionDenied,
            K::InvalidData => FailureKind::InvalidData,
            K::NotFound => FailureKind::NotFound,
            K::Interrupted => FailureKind::Interrupted,
            _ => FailureKind::System,
        }
    }

    /// The kind of one error, without its causes: an I/O error by its kind, any other by its
    /// message.
    pub fn of_error(error: &(dyn std::error::Error + 'static)) -> FailureKind {
        match error.downcast_ref::<io::Error>() {
            Some(io) => FailureKind::of_io(io),
            None => FailureKind::Other(error.to_string()),
        }
    }

    /// The kinds of an error and its causes, outermost first.
    pub fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<FailureKind> {
        std::iter::successors(Some(error), |e| e.source())
            .map(FailureKind::of_error)
            .collect()
    }
}

/// What a probe found wrong, for an observation's `detail`: what it was doing, outermost first
/// (`connect to 192.0.2.1:80`, in the technical register and shown as written), and the
/// failure's kinds, outermost first. Kept and serialised as its English words (what history rows
/// and older versions hold): [`crate::words`] makes them, and words them in German.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct Detail {
    /// What the probe was doing, outermost first, each as written.
    pub context: Vec<String>,
    /// The failure and its causes, outermost first; empty when the context says it all.
    pub causes: Vec<FailureKind>,
}

impl Detail {
    /// A failure of one kind.
    pub fn of(kind: FailureKind) -> Detail {
        Detail {
            context: Vec::new(),
            causes: vec![kind],
        }
    }

    /// An I/O error by its kind ([`FailureKind::of_io`]).
    pub fn io(error: &io::Error) -> Detail {
        Detail::of(FailureKind::of_io(error))
    }

    /// One error without its causes ([`FailureKind::of_error`]).
    pub fn error(error: &(dyn std::error::Error + 'static)) -> Detail {
        Detail::of(FailureKind::of_error(error))
    }

    /// An error and its causes ([`FailureKind::chain`]); said once each when worded.
    pub fn chain(error: &(dyn std::error::Error + 'static)) -> Detail {
        Detail {
            context: Vec::new(),
            causes: FailureKind::chain(error),
        }
    }

    /// The same failure, met while doing `what` (`resolve example.com`): `what` goes first.
    pub fn within(mut self, what: impl Into<String>) -> Detail {
        self.context.insert(0, what.into());
        self
    }

    /// Whether this computer could not open a socket for it ([`FailureKind::NoSocket`]): a
    /// local finding, whatever the probe was trying to reach.
    pub fn no_socket(&self) -> bool {
        self.causes.contains(&FailureKind::NoSocket)
            || self.english().contains(crate::words::NO_SOCKET_WORDS)
    }

    /// Whether its English words contain `text`.
    pub fn contains(&self, text: &str) -> bool {
        self.english().contains(text)
    }

    /// Its English words (its `Display`, made in [`crate::words`]): what a fact keeps.
    fn english(&self) -> String {
        self.to_string()
    }
}

/// A text kept as written: a probe's own description, or a detail as older versions stored it.
impl From<String> for Detail {
    fn from(text: String) -> Detail {
        Detail {
            context: vec![text],
            causes: Vec::new(),
        }
    }
}

impl From<&str> for Detail {
    fn from(text: &str) -> Detail {
        Detail::from(text.to_string())
    }
}

/// Two details are the same when they say the same: a detail read back from its words
/// equals the one it was made from.
impl PartialEq for Detail {
    fn eq(&self, other: &Detail) -> bool {
        self.english() == other.english()
    }
}

impl Eq for Detail {}

/// A detail equals the text of its English words.
impl PartialEq<str> for Detail {
    fn eq(&self, other: &str) -> bool {
        self.english() == other
    }
}

impl PartialEq<&str> for Detail {
    fn eq(&self, other: &&str) -> bool {
        self.english() == *other
    }
}

/// Its English words, as stored.
impl From<Detail> for String {
    fn from(detail: Detail) -> String {
        detail.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EMFILE, ENFILE and ENOBUFS at socket() are this computer's own trouble, whatever the
    /// probe meant to reach; kept across a round trip through the stored words too.
    #[test]
    fn a_socket_that_cannot_be_opened_is_known_by_its_kind() {
        for errno in [23, 24, 105] {
            let detail = Detail::io(&io::Error::from_raw_os_error(errno)).within("connect");
            assert!(detail.no_socket(), "{errno}: {detail}");
            let stored = Detail::from(String::from(detail.clone()));
            assert!(stored.no_socket(), "{errno}: {stored}");
        }
        let refused = Detail::io(&io::Error::from_raw_os_error(111));
        assert!(!refused.no_socket());
    }

    /// Answers dialtone could not use are answers; silence and transport failures are not.
    #[test]
    fn what_counts_as_heard_from() {
        let failed = |kind| SipOutcome::TransportFailed {
            kind,
            detail: Detail::default(),
        };
        for kind in [
            TransportFailure::ProvisionalOnly,
            TransportFailure::Incomplete,
            TransportFailure::TooLarge,
            TransportFailure::Mismatched,
        ] {
            assert!(failed(kind).heard_from(), "{kind:?}");
        }
        for kind in [
            TransportFailure::Refused,
            TransportFailure::Unreachable,
            TransportFailure::Closed,
            TransportFailure::Tls,
            TransportFailure::Protocol,
        ] {
            assert!(!failed(kind).heard_from(), "{kind:?}");
        }
        assert!(!SipOutcome::Timeout.heard_from());
    }
}
