//! The evidence vocabulary of a diagnosis: structured facts, worded in English or German.
//!
//! Facts carry numbers (milliseconds, counts, codes) rather than sentences so that the CLI's
//! JSON stays machine-readable and every presenter can word them in the user's language, in
//! two registers: [`Fact::render`] technical (this file), [`Fact::plain`] for people
//! (`plain.rs`).

use super::detail::{detail_suffix, detail_words};
use crate::locale::Lang;
use crate::observation::{DnsOutcome, ReachMethod, SipTarget, Transport, TransportFailure};
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
                detail: detail.clone(),
            },
            DnsOutcome::Failed { detail } => DnsResult::Failed {
                detail: detail.clone(),
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

/// "35 ms", "2.4 ms" or "8.0 s" / "8,0 s": the way a person reads a latency.
pub(super) fn duration_words(ms: f64, lang: Lang) -> String {
    let text = if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    };
    match lang {
        Lang::En => text,
        Lang::De => text.replace('.', ","),
    }
}

/// Whether a registrar's answer says the server itself failed: 5xx/6xx, and a 408 sent by the
/// registrar (its own timeout towards a backend; our local timeout is no answer at all).
pub fn server_failed(code: u16) -> bool {
    code >= 500 || code == 408
}

/// A layer's name in the user's words, for "not checked" evidence.
pub fn layer_words(layer: Layer, lang: Lang) -> &'static str {
    match layer {
        Layer::Device => lang.pick("this computer", "dieser Computer"),
        Layer::HomeNetwork => lang.pick("the home network", "das Heimnetz"),
        Layer::Router => lang.pick("the router", "der Router"),
        Layer::Internet => lang.pick("the internet access", "der Internetzugang"),
        Layer::Provider => lang.pick("the provider", "der Anbieter"),
        Layer::Account => lang.pick("the account", "das Konto"),
    }
}

/// "45 s", "12 min", "3 h 05 min", "1 day", "2 days 3 h" / "2 Tagen 3 h": how long something
/// lasted.
pub(super) fn span_words(secs: u64, lang: Lang) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        let days = match (d, lang) {
            (1, Lang::En) => "1 day".to_string(),
            (1, Lang::De) => "1 Tag".to_string(),
            (_, Lang::En) => format!("{d} days"),
            (_, Lang::De) => format!("{d} Tagen"),
        };
        if h > 0 {
            format!("{days} {h} h")
        } else {
            days
        }
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

fn router_problem_words(kind: RouterErrorKind, detail: &str, lang: Lang) -> String {
    let de = lang == Lang::De;
    let detail = detail_words(detail, lang);
    match (kind, de) {
        (RouterErrorKind::NoAnswer, false) => format!("the router gives no status (no UPnP IGD answered: {detail}); no router evidence this round"),
        (RouterErrorKind::NoAnswer, true) => format!("der Router gibt keinen Status (kein UPnP-IGD antwortete: {detail}); diese Runde ohne Angaben des Routers"),
        (RouterErrorKind::BadAnswer, false) => format!("the router's answer was unusable ({detail})"),
        (RouterErrorKind::BadAnswer, true) => format!("die Antwort des Routers war unbrauchbar ({detail})"),
        (RouterErrorKind::StatusHidden, false) => format!("the router keeps its status to itself ({detail}); on a FRITZ!Box switch on \"Statusinformationen über UPnP übertragen\""),
        (RouterErrorKind::StatusHidden, true) => format!("der Router gibt seinen Status nicht heraus ({detail}); bei einer FRITZ!Box „Statusinformationen über UPnP übertragen“ einschalten"),
        (RouterErrorKind::LoginRejected, false) => format!("the router rejected the login ({detail}); dialtone will not try again until the router password changes"),
        (RouterErrorKind::LoginRejected, true) => format!("der Router lehnte die Anmeldung ab ({detail}); dialtone versucht es erst wieder, wenn das Router-Passwort geändert wird"),
        (RouterErrorKind::LoginSuspended, false) => format!("router login paused after a rejection ({detail}) until the router password changes"),
        (RouterErrorKind::LoginSuspended, true) => format!("Anmeldung am Router pausiert nach einer Ablehnung ({detail}), bis das Router-Passwort geändert wird"),
        (RouterErrorKind::Busy, false) => format!("the router is busy ({detail}): dialtone asks it less often"),
        (RouterErrorKind::Busy, true) => format!("der Router ist überlastet ({detail}): dialtone fragt ihn seltener"),
    }
}

fn method_words(method: ReachMethod, lang: Lang) -> String {
    match method {
        ReachMethod::IcmpEcho => lang.pick("ping", "Ping").to_string(),
        ReachMethod::TcpConnect => lang.pick("TCP connect", "TCP-Verbindung").to_string(),
        ReachMethod::TcpRefused => lang
            .pick("TCP reset, port closed", "TCP-Reset, Port geschlossen")
            .to_string(),
        ReachMethod::Http(code) => format!("HTTP {code}"),
    }
}

fn failure_words(kind: TransportFailure, lang: Lang) -> &'static str {
    match kind {
        TransportFailure::Refused => lang.pick("connection refused", "Verbindung abgelehnt"),
        TransportFailure::Unreachable => lang.pick("unreachable", "nicht erreichbar"),
        TransportFailure::Closed => lang.pick(
            "connection closed before an answer",
            "Verbindung vor der Antwort geschlossen",
        ),
        TransportFailure::Tls => lang.pick("TLS handshake failed", "TLS-Aufbau fehlgeschlagen"),
        TransportFailure::Protocol => lang.pick(
            "the server sent something that is not SIP",
            "der Server sendete etwas, das kein SIP ist",
        ),
        TransportFailure::TooLarge => lang.pick(
            "the server answered with a message too large to accept",
            "der Server antwortete mit einer Nachricht, die zu groß ist, um sie anzunehmen",
        ),
    }
}

impl TargetRef {
    /// "sip.1und1.de (udp 212.227.0.1:5060)".
    fn words(&self) -> String {
        if self.host == self.address.ip().to_string() {
            format!("{} ({})", self.address, self.transport.as_str())
        } else {
            format!(
                "{} ({} {})",
                self.host,
                self.transport.as_str(),
                self.address
            )
        }
    }
}

impl Fact {
    /// This fact in the technical register, for admins: transport, address, SIP code,
    /// round-trip time and the error's kind in words (never an errno, never said twice). The
    /// plain sentence for people is [`Fact::plain`].
    pub fn render(&self, lang: Lang) -> String {
        let de = lang == Lang::De;
        let t = |ms: f64| duration_words(ms, lang);
        match self {
            Fact::NotChecked { why } => {
                format!("{}: {why}", lang.pick("not checked", "nicht geprüft"))
            }
            Fact::LowerLayerFailed { layer } => {
                let who = layer_words(*layer, lang);
                if de {
                    format!("nicht geprüft: {who} funktioniert schon nicht")
                } else {
                    format!("not checked: {who} already fails")
                }
            }
            Fact::NotProbed { layer } => match layer {
                Layer::Account => lang
                    .pick(
                        "not checked: no account credentials configured",
                        "nicht geprüft: keine Zugangsdaten eingerichtet",
                    )
                    .to_string(),
                Layer::HomeNetwork => lang
                    .pick(
                        "not checked: the router check is switched off",
                        "nicht geprüft: die Router-Prüfung ist abgeschaltet",
                    )
                    .to_string(),
                Layer::Provider => lang
                    .pick(
                        "not checked: no SIP registrar configured",
                        "nicht geprüft: kein SIP-Registrar eingerichtet",
                    )
                    .to_string(),
                Layer::Internet => lang
                    .pick(
                        "not checked: no internet anchors configured",
                        "nicht geprüft: keine Internet-Ankerpunkte eingerichtet",
                    )
                    .to_string(),
                Layer::Router => lang
                    .pick(
                        "not checked: asking the router is switched off",
                        "nicht geprüft: die Abfrage des Routers ist abgeschaltet",
                    )
                    .to_string(),
                Layer::Device => lang
                    .pick("not checked this round", "in dieser Runde nicht geprüft")
                    .to_string(),
            },
            Fact::NoInterface => lang
                .pick(
                    "no network interface is up with an address (Wi-Fi off? cable unplugged?)",
                    "keine Netzwerkschnittstelle ist aktiv und hat eine Adresse (WLAN aus? Kabel gezogen?)",
                )
                .to_string(),
            Fact::InterfacesUp { names } => {
                let list = names.join(", ");
                if de {
                    format!("aktive Schnittstelle(n): {list}")
                } else {
                    format!("interface(s) up: {list}")
                }
            }
            Fact::NoDefaultRoute => lang
                .pick(
                    "no default route: this computer does not know the way to the internet",
                    "keine Standardroute: dieser Computer kennt keinen Weg ins Internet",
                )
                .to_string(),
            Fact::DefaultRoute { interface, gateway } => match (gateway, de) {
                (Some(gw), false) => format!("default route via {gw} on {interface}"),
                (Some(gw), true) => format!("Standardroute über {gw} auf {interface}"),
                (None, false) => format!("default route on {interface} (point-to-point)"),
                (None, true) => format!("Standardroute auf {interface} (Punkt-zu-Punkt)"),
            },
            Fact::NoGateway => lang
                .pick(
                    "no router address known (point-to-point link)",
                    "keine Router-Adresse bekannt (Punkt-zu-Punkt-Verbindung)",
                )
                .to_string(),
            Fact::GatewayAnswered {
                address,
                method,
                rtt_ms,
            } => {
                let how = method_words(*method, lang);
                if de {
                    format!("Router {address} antwortete in {} ({how})", t(*rtt_ms))
                } else {
                    format!("router {address} answered in {} ({how})", t(*rtt_ms))
                }
            }
            Fact::GatewayTimeout { address, after_ms } => {
                if de {
                    format!("Router {address}: keine Antwort innerhalb von {}", t(*after_ms))
                } else {
                    format!("router {address}: no answer within {}", t(*after_ms))
                }
            }
            Fact::GatewayLate {
                address,
                rtt_ms,
                anchors_after_ms,
            } => {
                if de {
                    format!(
                        "Router {address} antwortete erst nach {}, als die Internet-Prüfungen nach {} schon aufgegeben hatten: das Heimnetz hat Pakete verloren",
                        t(*rtt_ms),
                        t(*anchors_after_ms)
                    )
                } else {
                    format!(
                        "router {address} answered only after {}, when the internet checks had already given up after {}: the home network lost packets",
                        t(*rtt_ms),
                        t(*anchors_after_ms)
                    )
                }
            }
            Fact::GatewayUnreachable { address, detail } => {
                let what = lang.pick("unreachable", "nicht erreichbar");
                let why = detail_suffix(what, detail, lang);
                if de {
                    format!("Router {address} {what}{why}")
                } else {
                    format!("router {address} {what}{why}")
                }
            }
            Fact::AnchorsAnswered {
                answered,
                total,
                required,
            } => {
                if de {
                    format!(
                        "{answered}/{total} Internet-Ankerpunkte antworteten (mindestens {required} nötig)"
                    )
                } else {
                    format!("{answered}/{total} internet anchors answered ({required} needed)")
                }
            }
            Fact::AnchorTimeout { target, after_ms } => {
                if de {
                    format!(
                        "Ankerpunkt {target}: keine Antwort innerhalb von {}",
                        t(*after_ms)
                    )
                } else {
                    format!("anchor {target}: no answer within {}", t(*after_ms))
                }
            }
            Fact::AnchorUnreachable { target, detail } => {
                let what = lang.pick("unreachable", "nicht erreichbar");
                let why = detail_suffix(what, detail, lang);
                if de {
                    format!("Ankerpunkt {target} {what}{why}")
                } else {
                    format!("anchor {target} {what}{why}")
                }
            }
            Fact::Dns { name, result } => match (result, de) {
                (DnsResult::Resolved { addresses, rtt_ms }, false) => {
                    format!("DNS: {name} resolved in {} ({addresses} address(es))", t(*rtt_ms))
                }
                (DnsResult::Resolved { addresses, rtt_ms }, true) => {
                    format!("DNS: {name} aufgelöst in {} ({addresses} Adresse(n))", t(*rtt_ms))
                }
                (DnsResult::NotFound { detail }, false) => {
                    let why = detail_suffix("not found", detail, lang);
                    format!("DNS: {name} not found{why}")
                }
                (DnsResult::NotFound { detail }, true) => {
                    let why = detail_suffix("nicht gefunden", detail, lang);
                    format!("DNS: {name} nicht gefunden{why}")
                }
                (DnsResult::Failed { detail }, false) => {
                    let why = detail_suffix("failed", detail, lang);
                    format!("DNS: lookup of {name} failed{why}")
                }
                (DnsResult::Failed { detail }, true) => {
                    let why = detail_suffix("fehlgeschlagen", detail, lang);
                    format!("DNS: Abfrage von {name} fehlgeschlagen{why}")
                }
                (DnsResult::Timeout { after_ms }, false) => {
                    format!("DNS: no answer for {name} within {}", t(*after_ms))
                }
                (DnsResult::Timeout { after_ms }, true) => {
                    format!("DNS: keine Antwort für {name} innerhalb von {}", t(*after_ms))
                }
            },
            Fact::RegistrarResolved {
                registrar,
                path,
                targets,
                rtt_ms,
            } => {
                let via = path.join(" → ");
                if de {
                    format!(
                        "{registrar} aufgelöst über {via}: {targets} Ziel(e) in {}",
                        t(*rtt_ms)
                    )
                } else {
                    format!(
                        "{registrar} resolved via {via}: {targets} target(s) in {}",
                        t(*rtt_ms)
                    )
                }
            }
            Fact::SipResponse {
                method,
                target,
                code,
                reason,
                rtt_ms,
                transmissions,
                retry_after,
            } => {
                let to = target.words();
                let retry = match (retry_after, de) {
                    (Some(secs), false) => format!(" (retry after {secs} s)"),
                    (Some(secs), true) => format!(" (erneut versuchen nach {secs} s)"),
                    (None, _) => String::new(),
                };
                let sent = match (*transmissions > 1, de) {
                    (true, false) => format!(", after {transmissions} transmissions"),
                    (true, true) => format!(", nach {transmissions} Sendungen"),
                    (false, _) => String::new(),
                };
                let rtt = t(*rtt_ms);
                if server_failed(*code) {
                    if de {
                        format!(
                            "{method} an {to}: der Server antwortete {code} {reason}{retry} nach {rtt}{sent}"
                        )
                    } else {
                        format!(
                            "{method} to {to}: the server answered {code} {reason}{retry} after {rtt}{sent}"
                        )
                    }
                } else if de {
                    format!("{method} an {to}: {code} {reason} in {rtt}{sent}")
                } else {
                    format!("{method} to {to}: {code} {reason} in {rtt}{sent}")
                }
            }
            Fact::SipTimeout {
                method,
                target,
                transmissions,
                elapsed_ms,
            } => {
                let to = target.words();
                if de {
                    format!(
                        "{method} an {to}: keine Antwort nach {transmissions} Sendungen in {}",
                        t(*elapsed_ms)
                    )
                } else {
                    format!(
                        "{method} to {to}: no answer after {transmissions} transmissions over {}",
                        t(*elapsed_ms)
                    )
                }
            }
            Fact::SipTransportFailed {
                method,
                target,
                kind,
                detail,
            } => {
                let to = target.words();
                let what = failure_words(*kind, lang);
                let why = detail_suffix(what, detail, lang);
                if de {
                    format!("{method} an {to}: {what}{why}")
                } else {
                    format!("{method} to {to}: {what}{why}")
                }
            }
            Fact::NoSipTarget { registrar } => {
                if de {
                    format!("{registrar}: kein Ziel, an das SIP gesendet werden konnte")
                } else {
                    format!("{registrar}: no target to send SIP to")
                }
            }
            Fact::StrayMessages { count } => {
                if de {
                    format!("{count} fremde oder gefälschte Nachricht(en) verworfen")
                } else {
                    format!("{count} stray or spoofed message(s) ignored")
                }
            }
            Fact::OverThreshold {
                measure,
                value,
                limit,
            } => {
                let (what_en, what_de, is_time) = match measure {
                    Measure::GatewayRtt => ("router round-trip", "Router-Laufzeit", true),
                    Measure::AnchorRtt => {
                        ("fastest anchor round-trip", "schnellste Anker-Laufzeit", true)
                    }
                    Measure::DnsRtt => ("DNS lookup time", "DNS-Antwortzeit", true),
                    Measure::SipRtt => ("SIP round-trip", "SIP-Laufzeit", true),
                    Measure::Retransmissions => {
                        ("SIP retransmissions", "SIP-Wiederholungen", false)
                    }
                    Measure::StrayMessages => {
                        ("stray SIP messages", "fremde SIP-Nachrichten", false)
                    }
                };
                let (v, l) = if is_time {
                    (t(*value), t(*limit))
                } else {
                    (format!("{value:.0}"), format!("{limit:.0}"))
                };
                if de {
                    format!("{what_de} {v} liegt über der Schwelle von {l}")
                } else {
                    format!("{what_en} {v} is over the threshold of {l}")
                }
            }
            Fact::LoginAccepted { aor, bindings } => {
                if de {
                    format!(
                        "der Anbieter akzeptierte die Anmeldung für {aor}; {bindings} Gerät(e) registriert"
                    )
                } else {
                    format!(
                        "the provider accepted the login for {aor}; {bindings} device(s) registered"
                    )
                }
            }
            Fact::Registered { contact, expires } => match (expires, de) {
                (Some(secs), false) => format!("registered: {contact} (expires in {secs} s)"),
                (Some(secs), true) => format!("registriert: {contact} (läuft ab in {secs} s)"),
                (None, false) => format!("registered: {contact}"),
                (None, true) => format!("registriert: {contact}"),
            },
            Fact::NoBinding => lang
                .pick(
                    "no phone or router is registered on this line",
                    "kein Telefon und kein Router ist an diesem Anschluss angemeldet",
                )
                .to_string(),
            Fact::LoginRejected { code, reason } => {
                if de {
                    format!("der Anbieter lehnte die Anmeldung ab ({code} {reason})")
                } else {
                    format!("the provider rejected the login ({code} {reason})")
                }
            }
            Fact::AccountSuspended { since, code } => {
                let when = since.format("%Y-%m-%d %H:%M UTC");
                if de {
                    format!(
                        "Kontoprüfung pausiert nach abgelehnter Anmeldung ({code}, {when}), bis das Passwort geändert oder die Anmeldung erneut versucht wird"
                    )
                } else {
                    format!(
                        "account checks paused after a rejected login ({code}, {when}) until the password is changed or the login is tried again"
                    )
                }
            }
            Fact::RegistrarNeverAnswered {
                registrar,
                name_not_found,
            } => match (de, name_not_found) {
                (false, false) => format!(
                    "{registrar} has never answered from this computer and stays silent: check the registrar's name; the provider may ignore checks from computers (add your SIP login, or let dialtone read your router)"
                ),
                (true, false) => format!(
                    "{registrar} hat von diesem Computer aus noch nie geantwortet und schweigt: prüfen Sie den Namen des Registrars; der Anbieter ignoriert vielleicht Prüfungen von Computern (SIP-Zugangsdaten eintragen oder dialtone den Router lesen lassen)"
                ),
                (false, true) => format!(
                    "{registrar} has never been found from this computer (the name does not exist): check the registrar's name in the settings"
                ),
                (true, true) => format!(
                    "{registrar} wurde von diesem Computer aus nie gefunden (den Namen gibt es nicht): prüfen Sie den Namen des Registrars in den Einstellungen"
                ),
            },
            Fact::RegistrarIgnoresOptions { registrar } => {
                if de {
                    format!(
                        "{registrar} beantwortet keine OPTIONS-Prüfungen; seine Antwort auf die REGISTER-Abfrage zeigt, dass er läuft"
                    )
                } else {
                    format!(
                        "{registrar} does not answer OPTIONS checks; its answer to the REGISTER query shows it is alive"
                    )
                }
            }
            Fact::DnsDeniesKnownName { name } => {
                if de {
                    format!(
                        "das DNS bestreitet {name}, das es immer gibt: DNS gestört oder umgeleitet (WLAN-Anmeldeseite, DNS-Filter)"
                    )
                } else {
                    format!(
                        "the DNS denies {name}, which always exists: DNS broken or hijacked (Wi-Fi login page, DNS filter)"
                    )
                }
            }
            Fact::AccountDeferred { until, code } => {
                let when = until.format("%Y-%m-%d %H:%M:%S UTC");
                if de {
                    format!(
                        "der Registrar bat zu warten ({code}, Retry-After): nächste Anmeldung frühestens {when}"
                    )
                } else {
                    format!(
                        "the registrar asked to wait ({code}, Retry-After): next login not before {when}"
                    )
                }
            }
            Fact::UnsupportedChallenge { detail } => {
                let detail = detail_words(detail, lang);
                if de {
                    format!("der Anbieter verlangt ein Anmeldeverfahren, das dialtone nicht beherrscht ({detail})")
                } else {
                    format!("the provider asks for a login method dialtone does not support ({detail})")
                }
            }
            Fact::AccountNoAnswer => lang
                .pick(
                    "the login check (REGISTER query) got no final answer",
                    "die Anmeldeprüfung (REGISTER-Abfrage) bekam keine endgültige Antwort",
                )
                .to_string(),
            Fact::RouterFound { model, url } => match (model, de) {
                (Some(m), false) => format!("router {m} answers at {url}"),
                (Some(m), true) => format!("Router {m} antwortet unter {url}"),
                (None, false) => format!("the router answers at {url}"),
                (None, true) => format!("der Router antwortet unter {url}"),
            },
            Fact::RouterProblem { kind, detail } => router_problem_words(*kind, detail, lang),
            Fact::RouterLink { status, .. } => {
                if de {
                    format!("der Router meldet seine Internetleitung als „{status}“")
                } else {
                    format!("the router reports its internet line as \"{status}\"")
                }
            }
            Fact::RouterConnection {
                status,
                last_error,
                uptime_s,
                ..
            } => {
                let mut text = if de {
                    format!("der Router meldet seine Internetverbindung als „{status}“")
                } else {
                    format!("the router reports its internet connection as \"{status}\"")
                };
                if let Some(error) = last_error {
                    text.push_str(&if de {
                        format!(" (letzter Fehler: {error})")
                    } else {
                        format!(" (last error: {error})")
                    });
                }
                if let Some(secs) = uptime_s {
                    let span = span_words(*secs, lang);
                    text.push_str(&if de {
                        format!(", seit {span}")
                    } else {
                        format!(", for {span}")
                    });
                }
                text
            }
            Fact::RouterReconnected { uptime_s } => {
                let span = span_words(*uptime_s, lang);
                if de {
                    format!("der Router hat sich vor {span} neu mit dem Internet verbunden")
                } else {
                    format!("the router reconnected to the internet {span} ago")
                }
            }
            Fact::RouterContradicted => lang
                .pick(
                    "the router reports its connection down, but the internet answers (a second router, or the router in IP-client mode?)",
                    "der Router meldet seine Verbindung als getrennt, doch das Internet antwortet (ein zweiter Router oder der Router als IP-Client?)",
                )
                .to_string(),
            Fact::RouterNat { nat, address } => {
                let a = address.as_deref().unwrap_or("-");
                match (nat, de) {
                    (NatKind::Public, false) => format!("external IPv4 {a}: a public address, inbound calls can reach the router"),
                    (NatKind::Public, true) => format!("externe IPv4 {a}: eine öffentliche Adresse, eingehende Anrufe erreichen den Router"),
                    (NatKind::Cgnat, false) => format!("external IPv4 {a}: carrier-grade NAT, no public IPv4 address; inbound calls arrive only while the router keeps its registration alive"),
                    (NatKind::Cgnat, true) => format!("externe IPv4 {a}: Carrier-Grade-NAT, keine öffentliche IPv4-Adresse; eingehende Anrufe kommen nur an, solange der Router seine Anmeldung aufrechterhält"),
                    (NatKind::DsLite, false) => "no external IPv4 address (DS-Lite): inbound IPv4 needs the provider's help; the router registers over IPv6 or keeps its NAT binding alive".to_string(),
                    (NatKind::DsLite, true) => "keine externe IPv4-Adresse (DS-Lite): eingehendes IPv4 geht nur mit Hilfe des Anbieters; der Router meldet sich über IPv6 an oder hält seine NAT-Bindung offen".to_string(),
                    (NatKind::Unknown, false) => "the router's external IPv4 address says nothing about NAT".to_string(),
                    (NatKind::Unknown, true) => "die externe IPv4-Adresse des Routers sagt nichts über NAT".to_string(),
                }
            }
            Fact::RouterVoip {
                index,
                number,
                status,
            } => {
                let who = match (number, de) {
                    (Some(n), false) => format!("number {n}"),
                    (Some(n), true) => format!("Rufnummer {n}"),
                    (None, false) => format!("account {index}"),
                    (None, true) => format!("Konto {index}"),
                };
                let state = match status {
                    VoipStatus::Disabled => lang.pick("switched off", "deaktiviert"),
                    VoipStatus::NotRegistered => lang.pick("not registered", "nicht angemeldet"),
                    VoipStatus::Registered => lang.pick("registered", "angemeldet"),
                    VoipStatus::Connected => lang.pick("registered, in a call", "angemeldet, im Gespräch"),
                    VoipStatus::Unknown => lang.pick("state unknown", "Zustand unbekannt"),
                };
                format!("{}: {who} {state}", lang.pick("router", "Router"))
            }
            Fact::RouterStillRegistered { numbers } => {
                if de {
                    format!("der Registrar antwortet dialtone nicht, aber Ihr Router hat {numbers} Rufnummer(n) dort angemeldet: Anrufe sollten funktionieren")
                } else {
                    format!("the registrar does not answer dialtone, but your router has {numbers} number(s) registered with it: calls should work")
                }
            }
        }
    }

    /// Whether this fact describes something wrong (rather than something that worked).
    ///
    /// Presenters use it to pick the one-line reason of a failing layer.
    pub fn is_problem(&self) -> bool {
        match self {
            Fact::NoInterface
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
            | Fact::RouterStillRegistered { .. } => true,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally_in_both_languages() {
        assert_eq!(duration_words(8000.0, Lang::En), "8.0 s");
        assert_eq!(duration_words(8000.0, Lang::De), "8,0 s");
        assert_eq!(duration_words(35.4, Lang::En), "35 ms");
        assert_eq!(duration_words(2.44, Lang::De), "2,4 ms");
    }

    #[test]
    fn facts_round_trip_through_json_with_a_tag() {
        let fact = Fact::SipTimeout {
            method: "OPTIONS".into(),
            target: TargetRef {
                host: "sip.1und1.de".into(),
                transport: Transport::Udp,
                address: "212.227.0.1:5060".parse().unwrap(),
            },
            transmissions: 7,
            elapsed_ms: 8000.0,
        };
        let json = serde_json::to_value(&fact).unwrap();
        assert_eq!(json["fact"], "sip_timeout");
        assert_eq!(json["target"]["transport"], "udp");
        let back: Fact = serde_json::from_value(json).unwrap();
        assert_eq!(back, fact);
        assert_eq!(
            fact.render(Lang::En),
            "OPTIONS to sip.1und1.de (udp 212.227.0.1:5060): no answer after 7 transmissions over 8.0 s"
        );
        assert_eq!(
            fact.render(Lang::De),
            "OPTIONS an sip.1und1.de (udp 212.227.0.1:5060): keine Antwort nach 7 Sendungen in 8,0 s"
        );
    }

    #[test]
    fn german_decimal_comma_does_not_touch_addresses() {
        let fact = Fact::GatewayAnswered {
            address: "192.168.1.1".parse().unwrap(),
            method: ReachMethod::IcmpEcho,
            rtt_ms: 2.5,
        };
        assert_eq!(
            fact.render(Lang::De),
            "Router 192.168.1.1 antwortete in 2,5 ms (Ping)"
        );
    }
}
