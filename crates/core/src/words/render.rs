//! The technical register: every fact worded for admins (transport, address, SIP code,
//! round-trip time and the error's kind in words, never an errno, never said twice), for
//! `check --verbose`, `--json`, the dashboard's technical details and the outage log. The
//! plain register for people is in `plain.rs`.

use super::{detail_suffix, detail_words, duration_words, layer_words, span_words};
use crate::diagnosis::{server_failed, DnsResult, Fact, Measure, TargetRef};
use crate::locale::Lang;
use crate::observation::{LedgerAction, ReachMethod, TransportFailure};
use crate::router::{NatKind, RouterErrorKind, VoipStatus};
use crate::verdict::Layer;

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
        (RouterErrorKind::WrongRouter, false) => format!("this is not the router the login belongs to ({detail}); no login was sent to it"),
        (RouterErrorKind::WrongRouter, true) => format!("das ist nicht der Router, zu dem die Anmeldung gehört ({detail}); keine Anmeldung an ihn gesendet"),
        (RouterErrorKind::LoginPaused, false) => format!("router login checks paused: {detail}; no login was sent"),
        (RouterErrorKind::LoginPaused, true) => format!("Anmeldeprüfungen am Router pausiert: {detail}; keine Anmeldung gesendet"),
    }
}

/// "cannot write /path" / "/path kann nicht geschrieben werden".
pub(super) fn ledger_action_words(action: LedgerAction, path: &str, lang: Lang) -> String {
    match (action, lang) {
        (LedgerAction::Lock, Lang::En) => format!("cannot lock {path}"),
        (LedgerAction::Read, Lang::En) => format!("cannot read {path}"),
        (LedgerAction::Write, Lang::En) => format!("cannot write {path}"),
        (LedgerAction::CreateDirectory, Lang::En) => {
            format!("cannot create the directory of {path}")
        }
        (LedgerAction::Lock, Lang::De) => format!("{path} kann nicht gesperrt werden"),
        (LedgerAction::Read, Lang::De) => format!("{path} kann nicht gelesen werden"),
        (LedgerAction::Write, Lang::De) => format!("{path} kann nicht geschrieben werden"),
        (LedgerAction::CreateDirectory, Lang::De) => {
            format!("das Verzeichnis von {path} kann nicht angelegt werden")
        }
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

/// Why each layer was not probed this round, in English and German.
const NOT_PROBED: [(Layer, &str, &str); 6] = [
    (
        Layer::Account,
        "not checked: no account credentials configured",
        "nicht geprüft: keine Zugangsdaten eingerichtet",
    ),
    (
        Layer::HomeNetwork,
        "not checked: the router check is switched off",
        "nicht geprüft: die Router-Prüfung ist abgeschaltet",
    ),
    (
        Layer::Provider,
        "not checked: no SIP registrar configured",
        "nicht geprüft: kein SIP-Registrar eingerichtet",
    ),
    (
        Layer::Internet,
        "not checked: no internet anchors configured",
        "nicht geprüft: keine Internet-Ankerpunkte eingerichtet",
    ),
    (
        Layer::Router,
        "not checked: asking the router is switched off",
        "nicht geprüft: die Abfrage des Routers ist abgeschaltet",
    ),
    (
        Layer::Device,
        "not checked this round",
        "in dieser Runde nicht geprüft",
    ),
];

/// What each kind of transport failure is called, in English and German.
const TRANSPORT_FAILURES: [(TransportFailure, &str, &str); 9] = [
    (
        TransportFailure::Refused,
        "connection refused",
        "Verbindung abgelehnt",
    ),
    (
        TransportFailure::Unreachable,
        "unreachable",
        "nicht erreichbar",
    ),
    (
        TransportFailure::Closed,
        "connection closed before an answer",
        "Verbindung vor der Antwort geschlossen",
    ),
    (
        TransportFailure::Tls,
        "TLS handshake failed",
        "TLS-Aufbau fehlgeschlagen",
    ),
    (
        TransportFailure::Protocol,
        "the server sent something that is not SIP",
        "der Server sendete etwas, das kein SIP ist",
    ),
    (
        TransportFailure::TooLarge,
        "the server answered with a message too large to accept",
        "der Server antwortete mit einer Nachricht, die zu groß ist, um sie anzunehmen",
    ),
    (
        TransportFailure::ProvisionalOnly,
        "the server answered only provisionally, never with a final answer",
        "der Server antwortete nur vorläufig, nie endgültig",
    ),
    (
        TransportFailure::Incomplete,
        "the server's answer was still incomplete when dialtone stopped waiting",
        "die Antwort des Servers war noch unvollständig, als dialtone aufhörte zu warten",
    ),
    (
        TransportFailure::Mismatched,
        "answers came that were changed on the way and no longer match the request: a SIP ALG in the router may be rewriting SIP",
        "es kamen Antworten, die unterwegs verändert wurden und nicht mehr zur Anfrage passen: vielleicht schreibt ein SIP-ALG im Router SIP um",
    ),
];

fn failure_words(kind: TransportFailure, lang: Lang) -> &'static str {
    TRANSPORT_FAILURES
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map_or("", |(_, en, de)| lang.pick(en, de))
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
            Fact::NotProbed { layer } => NOT_PROBED
                .iter()
                .find(|(l, _, _)| l == layer)
                .map_or("", |(_, en, de)| lang.pick(en, de))
                .to_string(),
            Fact::CannotOpenSocket { checks } => {
                let list = checks.join(", ");
                if de {
                    format!("dieser Computer konnte keinen Socket öffnen, um {list} zu prüfen (zu viele offene Dateien oder Verbindungen); nichts wurde gesendet")
                } else {
                    format!("this computer could not open a socket to check {list} (too many open files or connections); nothing was sent")
                }
            }
            Fact::LoginChecksPaused {
                action,
                path,
                detail,
            } => {
                let why = detail_words(detail, lang);
                let cannot = ledger_action_words(*action, path, lang);
                if de {
                    format!("Anmeldeprüfungen pausiert: {cannot} ({why}); bis das wieder geht, wird keine Anmeldung gesendet")
                } else {
                    format!("login checks paused: {cannot} ({why}); no login is sent until it can")
                }
            }
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
            Fact::RegistrarAnsweredLoginOnly { registrar } => {
                if de {
                    format!(
                        "{registrar} hat in dieser Runde auf keine OPTIONS-Prüfung geantwortet (sonst schon), aber die REGISTER-Abfrage beantwortet: er ist erreichbar; Nachrichten an ihn gehen verloren"
                    )
                } else {
                    format!(
                        "{registrar} answered none of this round's OPTIONS checks (it does as a rule), but answered the REGISTER query: it is reachable; messages to it go missing"
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
            Fact::RouterRegisteredUntilRenewal { numbers } => {
                if de {
                    format!("der Registrar hat dialtone schon geantwortet und tut es jetzt nicht; Ihr Router meldet noch {numbers} Rufnummer(n) als angemeldet, das gilt aber nur bis zur nächsten Erneuerung")
                } else {
                    format!("the registrar answered dialtone before and does not now; your router still reports {numbers} number(s) registered, which holds only until its next renewal")
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::diagnosis::TargetRef;
    use crate::observation::{Detail, Transport};

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

    /// A refused connection as the SIP probe records it ([`Detail::io`] of ECONNREFUSED),
    /// worded in a fact: by its kind, said once, in both languages (the probe's own test
    /// checks the recording).
    #[test]
    fn a_refused_connection_is_worded_by_its_kind_without_an_errno() {
        for transport in [Transport::Udp, Transport::Tcp] {
            let detail = Detail::io(&std::io::Error::from_raw_os_error(111));
            assert_eq!(detail, "connection refused");
            let port = 27060;
            let fact = Fact::SipTransportFailed {
                method: "OPTIONS".into(),
                target: TargetRef {
                    host: "127.0.0.1".into(),
                    transport,
                    address: format!("127.0.0.1:{port}").parse().unwrap(),
                },
                kind: TransportFailure::Refused,
                detail: detail.to_string(),
            };
            let proto = transport.as_str();
            assert_eq!(
                fact.render(Lang::En),
                format!("OPTIONS to 127.0.0.1:{port} ({proto}): connection refused")
            );
            assert_eq!(
                fact.render(Lang::De),
                format!("OPTIONS an 127.0.0.1:{port} ({proto}): Verbindung abgelehnt")
            );
        }
    }

    #[test]
    fn every_layer_says_why_it_was_not_probed() {
        for (layer, en, de) in NOT_PROBED {
            assert_eq!(Fact::NotProbed { layer }.render(Lang::En), en);
            assert_eq!(Fact::NotProbed { layer }.render(Lang::De), de);
        }
        for layer in Layer::ALL {
            assert!(!Fact::NotProbed { layer }.render(Lang::En).is_empty());
        }
    }

    #[test]
    fn every_transport_failure_has_its_words() {
        for (kind, en, de) in TRANSPORT_FAILURES {
            assert_eq!(failure_words(kind, Lang::En), en);
            assert_eq!(failure_words(kind, Lang::De), de);
        }
        use TransportFailure as F;
        for kind in [
            F::Refused,
            F::Unreachable,
            F::Closed,
            F::Tls,
            F::Protocol,
            F::TooLarge,
            F::ProvisionalOnly,
            F::Incomplete,
            F::Mismatched,
        ] {
            assert!(!failure_words(kind, Lang::En).is_empty(), "{kind:?}");
        }
    }
}
