//! The evidence vocabulary of a diagnosis: structured facts, as the rules find them.
//!
//! Facts carry numbers (milliseconds, counts, codes) rather than sentences so that the CLI's
//! JSON stays machine-readable and every presenter can word them in the user's language, in
//! two registers: [`Fact::render`] technical and [`Fact::plain`] for people (both in
//! [`crate::words`]).

use crate::observation::{
    DnsOutcome, LedgerAction, ReachMethod, SipTarget, Transport, TransportFailure,
};
use crate::router::{NatKind, RouterErrorKind, VoipStatus};
use crate::verdict::Layer;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One piece of evidence. Structured, so that every presenter can word it in German or English.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// The layer was not checked, with why (free text, for cases no other fact describes).
    NotChecked {
        /// Why not.
        why: String,
    },
    /// The layer was not checked because a lower layer failed first: its result would mean
    /// nothing.
    LowerLayerFailed {
        /// The lower layer that failed.
        layer: Layer,
    },
    /// This round did not probe the layer (not configured, or not due).
    NotProbed {
        /// The layer.
        layer: Layer,
    },
    /// No network interface is up with an address (loopback aside).
    NoInterface,
    /// This computer could not open a socket for these checks (too many open files or
    /// connections): nothing was sent, so their failure says nothing about what they check.
    CannotOpenSocket {
        /// What each check was for: a host, an address, a name.
        checks: Vec<String>,
    },
    /// Interfaces that are up and have an address.
    InterfacesUp {
        /// Their kernel names.
        names: Vec<String>,
    },
    /// The routing table has no default route.
    NoDefaultRoute,
    /// The default route.
    DefaultRoute {
        /// The interface it leaves through.
        interface: String,
        /// The next hop, absent on point-to-point links.
        gateway: Option<IpAddr>,
    },
    /// No gateway address is known (point-to-point link, or none configured).
    NoGateway,
    /// The router answered.
    GatewayAnswered {
        /// Its address.
        address: IpAddr,
        /// How it answered.
        method: ReachMethod,
        /// Round-trip time in milliseconds.
        rtt_ms: f64,
    },
    /// The router did not answer in time.
    GatewayTimeout {
        /// Its address.
        address: IpAddr,
        /// How long we waited, in milliseconds.
        after_ms: f64,
    },
    /// The router answered only once the internet probes had given up: its first packets were
    /// lost, so the home network passed nothing while the anchors were asked.
    GatewayLate {
        /// Its address.
        address: IpAddr,
        /// When it finally answered, in milliseconds.
        rtt_ms: f64,
        /// How long the internet checks that failed were waited for, in milliseconds.
        anchors_after_ms: f64,
    },
    /// The local stack said the router cannot be reached.
    GatewayUnreachable {
        /// Its address.
        address: IpAddr,
        /// The error's kind in words ("no route to host"); older rows may hold the OS's text.
        detail: String,
    },
    /// How many internet anchors answered.
    AnchorsAnswered {
        /// How many answered.
        answered: usize,
        /// How many were tried.
        total: usize,
        /// How many must answer for the internet to count as up.
        required: usize,
    },
    /// One anchor did not answer in time.
    AnchorTimeout {
        /// `host:port` as configured.
        target: String,
        /// How long we waited, in milliseconds.
        after_ms: f64,
    },
    /// One anchor could not be reached (no route, unreachable).
    AnchorUnreachable {
        /// `host:port` as configured.
        target: String,
        /// The error's kind in words ("no route to host"); older rows may hold the OS's text.
        detail: String,
    },
    /// A DNS lookup and its result.
    Dns {
        /// The name looked up.
        name: String,
        /// What came back.
        result: DnsResult,
    },
    /// The registrar's name became SIP targets (RFC 3263).
    RegistrarResolved {
        /// The registrar as configured.
        registrar: String,
        /// The record types that produced the targets, e.g. `["NAPTR", "SRV", "A"]`.
        path: Vec<String>,
        /// How many targets came out.
        targets: usize,
        /// Time spent resolving, in milliseconds.
        rtt_ms: f64,
    },
    /// A SIP request got a final response.
    SipResponse {
        /// `OPTIONS` or `REGISTER`.
        method: String,
        /// Where it went.
        target: TargetRef,
        /// Status code.
        code: u16,
        /// Reason phrase as sent.
        reason: String,
        /// Round-trip time in milliseconds.
        rtt_ms: f64,
        /// How many times the request was sent.
        transmissions: u32,
        /// The server's `Retry-After`, in seconds.
        retry_after: Option<u32>,
    },
    /// We gave up waiting for a SIP response (a local timeout, not something the server said).
    SipTimeout {
        /// `OPTIONS` or `REGISTER`.
        method: String,
        /// Where it went.
        target: TargetRef,
        /// How many times the request was sent.
        transmissions: u32,
        /// How long we waited in total, in milliseconds.
        elapsed_ms: f64,
    },
    /// The transport failed before a SIP response came back.
    SipTransportFailed {
        /// `OPTIONS` or `REGISTER`.
        method: String,
        /// Where it went.
        target: TargetRef,
        /// What kind of failure.
        kind: TransportFailure,
        /// The error's kind in words, or the TLS library's; older rows may hold the OS's text.
        detail: String,
    },
    /// The registrar resolved, but no SIP request was sent.
    NoSipTarget {
        /// The registrar as configured.
        registrar: String,
    },
    /// Messages that arrived but did not belong to our request (garbage, spoofed, stray).
    StrayMessages {
        /// How many.
        count: u32,
    },
    /// A measurement over its threshold.
    OverThreshold {
        /// What was measured.
        measure: Measure,
        /// The value.
        value: f64,
        /// The threshold it exceeded.
        limit: f64,
    },
    /// The provider accepted the login.
    LoginAccepted {
        /// The account's address-of-record.
        aor: String,
        /// How many phones/routers are registered.
        bindings: usize,
    },
    /// A phone or router registered on the line.
    Registered {
        /// Its Contact URI.
        contact: String,
        /// Seconds until the registration expires, when the registrar said.
        expires: Option<u32>,
    },
    /// No phone or router is registered on the line.
    NoBinding,
    /// The provider rejected the login.
    LoginRejected {
        /// Status code (403, or 401 after we answered the challenge).
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Account checks are paused after a rejected login, so that retries cannot lock the account.
    AccountSuspended {
        /// When the login was rejected.
        since: DateTime<Utc>,
        /// The status code of that rejection.
        code: u16,
    },
    /// The registrar asked to wait (`Retry-After`); no login is sent before `until`.
    AccountDeferred {
        /// The earliest next login.
        until: DateTime<Utc>,
        /// The status code that asked for the wait.
        code: u16,
    },
    /// A registrar never heard from here stays silent or has no name: dialtone cannot tell
    /// whether it is down, ignores computers, or is misspelt.
    RegistrarNeverAnswered {
        /// The registrar as configured.
        registrar: String,
        /// `true` when its name does not exist (and never resolved from here).
        name_not_found: bool,
    },
    /// The registrar ignores OPTIONS checks but answers the REGISTER query: alive.
    RegistrarIgnoresOptions {
        /// The registrar as configured.
        registrar: String,
    },
    /// A registrar that has answered OPTIONS before was silent to them this round, yet
    /// answered the REGISTER query: reachable, so not an outage, but messages go missing.
    RegistrarAnsweredLoginOnly {
        /// The registrar as configured.
        registrar: String,
    },
    /// The resolver says a name that always exists does not: DNS is broken or hijacked.
    DnsDeniesKnownName {
        /// The name (e.g. `example.com`).
        name: String,
    },
    /// The provider's login challenge uses a method dialtone cannot answer.
    UnsupportedChallenge {
        /// What was offered.
        detail: String,
    },
    /// The REGISTER query got no final answer (see the accompanying SIP fact).
    AccountNoAnswer,
    /// No login is sent while the login ledger cannot be used: a guard that forgets could
    /// resend a rejected password.
    LoginChecksPaused {
        /// What could not be done with the file.
        action: LedgerAction,
        /// The file.
        path: String,
        /// The operating system's error, as written.
        detail: String,
    },
    /// The router's status interface answered.
    RouterFound {
        /// Its model name, when the description gave one.
        model: Option<String>,
        /// Where it answered.
        url: String,
    },
    /// Asking the router went wrong, or it refused: a finding of the router layer only.
    RouterProblem {
        /// What kind of problem.
        kind: RouterErrorKind,
        /// Which request and what happened.
        detail: String,
    },
    /// The router's physical WAN link, in its own words.
    RouterLink {
        /// As sent, e.g. `Up`, `Down`.
        status: String,
        /// Whether that means up.
        up: bool,
    },
    /// The router's WAN connection, in its own words.
    RouterConnection {
        /// As sent, e.g. `Connected`, `Disconnected`.
        status: String,
        /// Whether that means connected.
        connected: bool,
        /// `NewLastConnectionError`, when it named one.
        last_error: Option<String>,
        /// Seconds the connection has been up, when connected.
        uptime_s: Option<u64>,
    },
    /// The WAN connection came up only a short while ago: the router reconnected.
    RouterReconnected {
        /// Seconds since.
        uptime_s: u64,
    },
    /// The router reports its link or connection down, but the internet answers.
    RouterContradicted,
    /// What the router's external IPv4 address says about NAT.
    RouterNat {
        /// The kind.
        nat: NatKind,
        /// The address, when it has one.
        address: Option<String>,
    },
    /// One of the router's phone accounts.
    RouterVoip {
        /// Account index in the router.
        index: u32,
        /// The number, when known.
        number: Option<String>,
        /// Its registration state.
        status: VoipStatus,
    },
    /// The registrar does not answer dialtone, but the router is registered with it.
    RouterStillRegistered {
        /// How many of its numbers are registered.
        numbers: usize,
    },
    /// The registrar answered dialtone before and does not now, while the router still
    /// reports numbers registered: its word lasts only until its next registration renewal
    /// fails, so it does not vouch for the line.
    RouterRegisteredUntilRenewal {
        /// How many of its numbers it reports registered.
        numbers: usize,
    },
}

/// A SIP target, as shown in evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRef {
    /// The host name it came from.
    pub host: String,
    /// The transport.
    pub transport: Transport,
    /// Address and port.
    pub address: SocketAddr,
}

impl From<&SipTarget> for TargetRef {
    fn from(target: &SipTarget) -> Self {
        TargetRef {
            host: target.host.clone(),
            transport: target.transport,
            address: target.address,
        }
    }
}

/// The result of a DNS lookup, as shown in evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DnsResult {
    /// Addresses or records came back.
    Resolved {
        /// How many addresses.
        addresses: usize,
        /// How long the lookup took, in milliseconds.
        rtt_ms: f64,
    },
    /// The name does not exist (NXDOMAIN or NODATA).
    NotFound {
        /// The resolver's words.
        detail: String,
    },
    /// The server answered with an error, or the lookup could not be sent.
    Failed {
        /// The resolver's words.
        detail: String,
    },
    /// No answer before the deadline.
    Timeout {
        /// How long we waited, in milliseconds.
        after_ms: f64,
    },
}

impl From<&DnsOutcome> for DnsResult {
    fn from(outcome: &DnsOutcome) -> Self {
        match outcome {
            DnsOutcome::Resolved { addresses, rtt } => DnsResult::Resolved {
                addresses: addresses.len(),
                rtt_ms: millis(*rtt),
            },
            DnsOutcome::NotFound { detail } => DnsResult::NotFound {
                detail: detail.to_string(),
            },
            DnsOutcome::Failed { detail } => DnsResult::Failed {
                detail: detail.to_string(),
            },
            DnsOutcome::Timeout { after } => DnsResult::Timeout {
                after_ms: millis(*after),
            },
        }
    }
}

/// What an [`Fact::OverThreshold`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The router's round-trip time, ms.
    GatewayRtt,
    /// The fastest anchor's round-trip time, ms.
    AnchorRtt,
    /// The DNS lookup time, ms.
    DnsRtt,
    /// The SIP round-trip time, ms.
    SipRtt,
    /// Retransmissions one SIP request needed (count).
    Retransmissions,
    /// Stray or spoofed messages ignored during one request (count).
    StrayMessages,
}

/// A duration in milliseconds, with sub-millisecond precision kept for loopback measurements.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Whether a registrar's answer says the server itself failed: 5xx/6xx, and a 408 sent by the
/// registrar (its own timeout towards a backend; our local timeout is no answer at all).
pub fn server_failed(code: u16) -> bool {
    code >= 500 || code == 408
}

impl Fact {
    /// Whether this fact describes something wrong (rather than something that worked).
    ///
    /// Presenters use it to pick the one-line reason of a failing layer.
    pub fn is_problem(&self) -> bool {
        match self {
            Fact::NoInterface
            | Fact::CannotOpenSocket { .. }
            | Fact::LoginChecksPaused { .. }
            | Fact::NoDefaultRoute
            | Fact::GatewayTimeout { .. }
            | Fact::GatewayLate { .. }
            | Fact::GatewayUnreachable { .. }
            | Fact::AnchorTimeout { .. }
            | Fact::AnchorUnreachable { .. }
            | Fact::SipTimeout { .. }
            | Fact::SipTransportFailed { .. }
            | Fact::NoSipTarget { .. }
            | Fact::OverThreshold { .. }
            | Fact::NoBinding
            | Fact::LoginRejected { .. }
            | Fact::AccountSuspended { .. }
            | Fact::AccountDeferred { .. }
            | Fact::DnsDeniesKnownName { .. }
            | Fact::RegistrarNeverAnswered { .. }
            | Fact::UnsupportedChallenge { .. }
            | Fact::AccountNoAnswer
            | Fact::RouterContradicted
            | Fact::RouterStillRegistered { .. }
            | Fact::RegistrarAnsweredLoginOnly { .. }
            | Fact::RouterRegisteredUntilRenewal { .. } => true,
            // A router that tells nothing is no router evidence, not a fault; a broken answer,
            // a refused login or a switch to turn on is something to act on.
            Fact::RouterProblem { kind, .. } => *kind != RouterErrorKind::NoAnswer,
            Fact::RouterLink { up, .. } => !up,
            Fact::RouterConnection { connected, .. } => !connected,
            Fact::RouterVoip { status, .. } => *status == VoipStatus::NotRegistered,
            Fact::Dns { result, .. } => !matches!(result, DnsResult::Resolved { .. }),
            Fact::SipResponse { code, .. } => server_failed(*code),
            Fact::AnchorsAnswered {
                answered, required, ..
            } => answered < required,
            Fact::NotChecked { .. }
            | Fact::LowerLayerFailed { .. }
            | Fact::NotProbed { .. }
            | Fact::InterfacesUp { .. }
            | Fact::DefaultRoute { .. }
            | Fact::NoGateway
            | Fact::GatewayAnswered { .. }
            | Fact::RegistrarResolved { .. }
            | Fact::StrayMessages { .. }
            | Fact::LoginAccepted { .. }
            | Fact::RegistrarIgnoresOptions { .. }
            | Fact::Registered { .. }
            | Fact::RouterFound { .. }
            | Fact::RouterReconnected { .. }
            | Fact::RouterNat { .. } => false,
        }
    }
}
