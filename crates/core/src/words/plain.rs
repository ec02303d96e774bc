//! The plain register: every fact as a sentence for people, in English or German.
//!
//! [`Fact::render`] is the technical register (transport, address, SIP code, round-trip time)
//! for admins, `check --verbose`, `--json` and the outage log. The plain one leads in the tray,
//! the notification, the dashboard headline and `dialtone check`, so it names no protocol verb
//! (OPTIONS, REGISTER), no address and port, no status code and no operating-system error: it
//! says what happened in words a person whose phone is dead can act on.
//!
//! Plain sentences start with a capital and end without a full stop, so that a presenter (and
//! [`crate::diagnosis::Diagnosis::plain_reason`]) can join them.

use super::span_words;
use crate::diagnosis::{server_failed, DnsResult, Fact, Measure};
use crate::locale::Lang;
use crate::observation::TransportFailure;
use crate::router::{NatKind, RouterErrorKind, VoipStatus};
use crate::verdict::Layer;

/// How the provider's phone server is named in a plain sentence.
struct Server<'a> {
    provider: Option<&'a str>,
}

impl Server<'_> {
    /// "1&1's phone server" / "your provider's phone server".
    fn en(&self) -> String {
        match self.provider {
            Some(p) => format!("{p}'s phone server"),
            None => "your provider's phone server".into(),
        }
    }

    /// "Telefonie-Server von 1&1" / "Telefonie-Server Ihres Anbieters", without its article
    /// (which depends on the case the sentence needs).
    fn de(&self) -> String {
        match self.provider {
            Some(p) => format!("Telefonie-Server von {p}"),
            None => "Telefonie-Server Ihres Anbieters".into(),
        }
    }

    /// The provider after "bei": "1&1" / "Ihrem Anbieter"; "with 1&1" / "with your provider".
    fn with(&self, lang: Lang) -> String {
        match (self.provider, lang) {
            (Some(p), Lang::En) => format!("with {p}"),
            (None, Lang::En) => "with your provider".into(),
            (Some(p), Lang::De) => format!("bei {p}"),
            (None, Lang::De) => "bei Ihrem Anbieter".into(),
        }
    }

    /// "Telefonie-Servers von 1&1" / "Telefonie-Servers Ihres Anbieters", after "des".
    fn de_genitive(&self) -> String {
        self.de()
            .replacen("Telefonie-Server", "Telefonie-Servers", 1)
    }

    /// The provider as the subject: "1&1" / "your provider", "1&1" / "Ihr Anbieter".
    fn who(&self, lang: Lang) -> String {
        match (self.provider, lang) {
            (Some(p), _) => p.to_string(),
            (None, Lang::En) => "your provider".into(),
            (None, Lang::De) => "Ihr Anbieter".into(),
        }
    }

    /// "Der Telefonie-Server von 1&1 {de}" or "1&1's phone server {en}".
    fn says(&self, lang: Lang, en: &str, de: &str) -> String {
        match lang {
            Lang::En => format!("{} {en}", self.en()),
            Lang::De => format!("Der {} {de}", self.de()),
        }
    }
}

/// The first letter as a capital: sentences may open with "your provider". Names keep
/// their own spelling ("sipgate", "dialtone").
fn capitalised(text: String, provider: Option<&str>) -> String {
    let named = provider.is_some_and(|p| !p.is_empty() && text.starts_with(p));
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() && !named && !text.starts_with("dialtone") => {
            first.to_uppercase().chain(chars).collect()
        }
        _ => text,
    }
}

impl Fact {
    /// This fact as a plain sentence for people, naming the provider generically ("your
    /// provider's phone server"). See [`Fact::plain_for`].
    pub fn plain(&self, lang: Lang) -> String {
        self.plain_for(lang, None)
    }

    /// This fact as a plain sentence for people ("1&1's phone server turned the connection
    /// away", "Your router does not answer"), naming the provider when its name is known.
    /// The technical detail is [`Fact::render`].
    pub fn plain_for(&self, lang: Lang, provider: Option<&str>) -> String {
        capitalised(self.plain_words(lang, &Server { provider }), provider)
    }

    /// This fact as a plain sentence where it was seen: a DNS lookup in the provider layer is
    /// the phone server's name ("1&1's phone server cannot be found"), not just any name.
    pub fn plain_in(&self, layer: Layer, lang: Lang, provider: Option<&str>) -> String {
        let server = Server { provider };
        match (self, layer) {
            (Fact::Dns { result, .. }, Layer::Provider) => capitalised(
                match result {
                    DnsResult::Resolved { .. } => server.says(lang, "was found", "wurde gefunden"),
                    DnsResult::NotFound { .. } => server.says(
                        lang,
                        "cannot be found: its name does not exist",
                        "ist nicht auffindbar: seinen Namen gibt es nicht",
                    ),
                    DnsResult::Failed { .. } | DnsResult::Timeout { .. } => match lang {
                        Lang::En => format!("The address of {} cannot be looked up", server.en()),
                        Lang::De => format!(
                            "Die Adresse des {} lässt sich nicht nachschlagen",
                            server.de_genitive()
                        ),
                    },
                },
                provider,
            ),
            _ => self.plain_for(lang, provider),
        }
    }

    fn plain_words(&self, lang: Lang, server: &Server<'_>) -> String {
        let pick = |en: &str, de: &str| lang.pick(en, de).to_string();
        match self {
            Fact::NotChecked { .. } => pick("This was not checked", "Das wurde nicht geprüft"),
            Fact::LowerLayerFailed { layer } => {
                let who = super::layer_words(*layer, lang);
                match lang {
                    Lang::En => format!("Not checked, because {who} already fails"),
                    Lang::De => {
                        format!("Nicht geprüft, weil schon {who} nicht funktioniert")
                    }
                }
            }
            Fact::NotProbed { layer } => match layer {
                Layer::Account => pick(
                    "Not checked: no login details are set up",
                    "Nicht geprüft: keine Zugangsdaten eingerichtet",
                ),
                Layer::HomeNetwork => pick(
                    "Not checked: the router check is switched off",
                    "Nicht geprüft: die Router-Prüfung ist abgeschaltet",
                ),
                Layer::Provider => pick(
                    "Not checked: no phone server (SIP registrar) is set up",
                    "Nicht geprüft: kein Telefonie-Server (SIP-Registrar) eingerichtet",
                ),
                Layer::Internet => pick(
                    "Not checked: no internet test points are set up",
                    "Nicht geprüft: keine Prüfpunkte im Internet eingerichtet",
                ),
                Layer::Router => pick(
                    "Not checked: asking the router is switched off",
                    "Nicht geprüft: die Abfrage des Routers ist abgeschaltet",
                ),
                Layer::Device => pick("Not checked this time", "Diesmal nicht geprüft"),
            },
            Fact::CannotOpenSocket { .. } => pick(
                "This computer could not open a socket (too many open files or connections), so dialtone could not check the line",
                "Dieser Computer konnte keinen Socket öffnen (zu viele offene Dateien oder Verbindungen), darum konnte dialtone den Anschluss nicht prüfen",
            ),
            Fact::LoginChecksPaused { action, path, .. } => {
                let cannot = super::render::ledger_action_words(*action, path, lang);
                match lang {
                    Lang::En => format!("Login checks are paused: dialtone {cannot}, where it keeps track of logins"),
                    Lang::De => format!("Anmeldeprüfungen sind pausiert: {cannot}; dort hält dialtone die Anmeldungen fest"),
                }
            }
            Fact::NoInterface => pick(
                "This computer has no network connection: is Wi-Fi off or the cable unplugged?",
                "Dieser Computer hat keine Netzwerkverbindung: Ist das WLAN aus oder das Kabel gezogen?",
            ),
            Fact::InterfacesUp { .. } => pick(
                "This computer is connected to a network",
                "Dieser Computer ist mit einem Netzwerk verbunden",
            ),
            Fact::NoDefaultRoute => pick(
                "This computer does not know the way to the internet",
                "Dieser Computer kennt keinen Weg ins Internet",
            ),
            Fact::DefaultRoute { gateway, .. } => match gateway {
                Some(_) => pick(
                    "This computer knows the way to your router",
                    "Dieser Computer kennt den Weg zu Ihrem Router",
                ),
                None => pick(
                    "This computer knows the way to the internet",
                    "Dieser Computer kennt den Weg ins Internet",
                ),
            },
            Fact::NoGateway => pick(
                "This connection has no router to ask",
                "Diese Verbindung hat keinen Router, den man fragen könnte",
            ),
            Fact::GatewayAnswered { .. } => pick("Your router answers", "Ihr Router antwortet"),
            Fact::GatewayTimeout { .. } => {
                pick("Your router does not answer", "Ihr Router antwortet nicht")
            }
            Fact::GatewayLate { .. } => pick(
                "Your router answered only very late: your home network is losing data",
                "Ihr Router hat erst sehr spät geantwortet: Ihr Heimnetz verliert Daten",
            ),
            Fact::GatewayUnreachable { .. } => pick(
                "This computer cannot reach your router",
                "Dieser Computer erreicht Ihren Router nicht",
            ),
            Fact::AnchorsAnswered {
                answered,
                total,
                required,
            } => match (lang, *answered) {
                _ if answered == total => pick("The internet answers", "Das Internet antwortet"),
                (_, 0) => pick(
                    "No test point on the internet answers",
                    "Kein Prüfpunkt im Internet antwortet",
                ),
                (Lang::En, a) if a >= *required => {
                    format!("{a} of {total} test points on the internet answer")
                }
                (Lang::De, a) if a >= *required => {
                    format!("{a} von {total} Prüfpunkten im Internet antworten")
                }
                (Lang::En, a) => {
                    format!("Only {a} of {total} test points on the internet answer")
                }
                (Lang::De, a) => {
                    format!("Nur {a} von {total} Prüfpunkten im Internet antworten")
                }
            },
            Fact::AnchorTimeout { .. } => pick(
                "A test point on the internet does not answer",
                "Ein Prüfpunkt im Internet antwortet nicht",
            ),
            Fact::AnchorUnreachable { .. } => pick(
                "A test point on the internet cannot be reached",
                "Ein Prüfpunkt im Internet ist nicht erreichbar",
            ),
            Fact::Dns { name, result } => match (result, lang) {
                (DnsResult::Resolved { .. }, _) => pick(
                    "Looking up names (DNS) works",
                    "Die Namensauflösung (DNS) funktioniert",
                ),
                (DnsResult::NotFound { .. }, Lang::En) => {
                    format!("The name {name} does not exist")
                }
                (DnsResult::NotFound { .. }, Lang::De) => format!("Den Namen {name} gibt es nicht"),
                (DnsResult::Failed { .. }, _) => pick(
                    "Looking up names (DNS) fails",
                    "Die Namensauflösung (DNS) schlägt fehl",
                ),
                (DnsResult::Timeout { .. }, _) => pick(
                    "Looking up names (DNS) gets no answer",
                    "Die Namensauflösung (DNS) bekommt keine Antwort",
                ),
            },
            Fact::RegistrarResolved { .. } => server.says(lang, "was found", "wurde gefunden"),
            Fact::SipResponse {
                code, retry_after, ..
            } => {
                if !server_failed(*code) {
                    return server.says(lang, "answers", "antwortet");
                }
                let mut text = server.says(lang, "reports a failure", "meldet eine Störung");
                if let Some(secs) = retry_after {
                    let span = span_words(u64::from(*secs), lang);
                    text.push_str(&match lang {
                        Lang::En => format!(" and asks to wait {span}"),
                        Lang::De => format!(" und bittet, {span} zu warten"),
                    });
                }
                text
            }
            Fact::SipTimeout { .. } => server.says(lang, "does not answer", "antwortet nicht"),
            Fact::SipTransportFailed { kind, .. } => match kind {
                TransportFailure::Refused => server.says(
                    lang,
                    "turned the connection away",
                    "hat die Verbindung abgewiesen",
                ),
                TransportFailure::Unreachable => {
                    server.says(lang, "cannot be reached", "ist nicht erreichbar")
                }
                TransportFailure::Closed => server.says(
                    lang,
                    "hung up without answering",
                    "hat die Verbindung ohne Antwort beendet",
                ),
                TransportFailure::Tls => match lang {
                    Lang::En => format!("The secure connection to {} failed", server.en()),
                    Lang::De => format!(
                        "Die sichere Verbindung zum {} kam nicht zustande",
                        server.de()
                    ),
                },
                TransportFailure::Protocol => server.says(
                    lang,
                    "answered with something dialtone cannot read",
                    "antwortete mit etwas, das dialtone nicht lesen kann",
                ),
                TransportFailure::TooLarge => server.says(
                    lang,
                    "answered with far too much data",
                    "antwortete mit viel zu vielen Daten",
                ),
                TransportFailure::ProvisionalOnly => server.says(
                    lang,
                    "said only that it is working on the request, and never answered it",
                    "sagte nur, dass er die Anfrage bearbeitet, und beantwortete sie nie",
                ),
                TransportFailure::Incomplete => server.says(
                    lang,
                    "began to answer but never finished",
                    "begann zu antworten, wurde aber nie fertig",
                ),
                TransportFailure::Mismatched => pick(
                    "Answers came back that do not match dialtone's questions: a SIP setting in your router (SIP ALG) may be changing them",
                    "Es kamen Antworten zurück, die nicht zu den Fragen von dialtone passen: eine SIP-Funktion Ihres Routers (SIP-ALG) verändert sie vielleicht",
                ),
            },
            Fact::NoSipTarget { .. } => match lang {
                Lang::En => format!("No address was found for {}", server.en()),
                Lang::De => format!("Für den {} wurde keine Adresse gefunden", server.de()),
            },
            Fact::StrayMessages { .. } => pick(
                "Unexpected messages arrived and were ignored",
                "Unerwartete Nachrichten kamen an und wurden ignoriert",
            ),
            Fact::OverThreshold { measure, .. } => match measure {
                Measure::GatewayRtt => {
                    pick("Your router answers slowly", "Ihr Router antwortet langsam")
                }
                Measure::AnchorRtt => {
                    pick("The internet answers slowly", "Das Internet antwortet langsam")
                }
                Measure::DnsRtt => pick(
                    "Looking up names (DNS) is slow",
                    "Die Namensauflösung (DNS) ist langsam",
                ),
                Measure::SipRtt => server.says(lang, "answers slowly", "antwortet langsam"),
                Measure::Retransmissions => match lang {
                    Lang::En => format!("Messages to {} get lost on the way", server.en()),
                    Lang::De => format!(
                        "Nachrichten an den {} gehen unterwegs verloren",
                        server.de()
                    ),
                },
                Measure::StrayMessages => pick(
                    "Many unexpected messages arrive: something on the way interferes",
                    "Viele unerwartete Nachrichten kommen an: etwas auf dem Weg stört",
                ),
            },
            Fact::LoginAccepted { .. } => match lang {
                Lang::En => format!("{} accepts your login", server.who(lang)),
                Lang::De => format!("{} akzeptiert Ihre Anmeldung", server.who(lang)),
            },
            Fact::Registered { .. } => pick(
                "A phone or router is registered on your line",
                "Ein Telefon oder Router ist an Ihrem Anschluss angemeldet",
            ),
            Fact::NoBinding => pick(
                "No phone or router is registered on your line",
                "An Ihrem Anschluss ist kein Telefon und kein Router angemeldet",
            ),
            Fact::LoginRejected { .. } => match lang {
                Lang::En => format!(
                    "{} rejects your login: check the user name and password",
                    server.who(lang)
                ),
                Lang::De => format!(
                    "{} lehnt Ihre Anmeldung ab: prüfen Sie Benutzername und Passwort",
                    server.who(lang)
                ),
            },
            Fact::AccountSuspended { .. } => pick(
                "dialtone stopped trying your login after it was rejected, so that your account is not locked",
                "dialtone versucht Ihre Anmeldung nicht mehr, seit sie abgelehnt wurde, damit Ihr Konto nicht gesperrt wird",
            ),
            Fact::AccountDeferred { code, until } => {
                let (who, when) = (server.who(lang), until.format("%H:%M UTC"));
                match (lang, server_failed(*code)) {
                    (Lang::En, true) => format!("{who} could not take logins; waiting until {when} to check again, as it asked"),
                    (Lang::De, true) => format!("{who} konnte keine Anmeldungen annehmen; die nächste Prüfung wartet bis {when}, wie verlangt"),
                    (Lang::En, false) => format!("waiting until {when} to check the login, as {who} asked"),
                    (Lang::De, false) => format!("die Anmeldeprüfung wartet bis {when}, wie {who} es verlangt hat"),
                }
            }
            Fact::RegistrarNeverAnswered { name_not_found, .. } => match name_not_found {
                true => server.says(
                    lang,
                    "was never found from this computer: check its name in the settings",
                    "wurde von diesem Computer aus nie gefunden: prüfen Sie seinen Namen in den Einstellungen",
                ),
                false => server.says(
                    lang,
                    "has never answered this computer, so dialtone cannot tell yet whether it works",
                    "hat diesem Computer noch nie geantwortet, darum kann dialtone noch nicht sagen, ob er funktioniert",
                ),
            },
            Fact::RegistrarIgnoresOptions { .. } => server.says(
                lang,
                "ignores simple checks but answers the login check: it works",
                "ignoriert einfache Prüfungen, beantwortet aber die Anmeldeprüfung: er funktioniert",
            ),
            Fact::RegistrarAnsweredLoginOnly { .. } => server.says(
                lang,
                "missed this round's simple checks but answered the login check: it is reachable, yet messages to it go missing",
                "hat die einfachen Prüfungen dieser Runde verpasst, aber die Anmeldeprüfung beantwortet: er ist erreichbar, doch Nachrichten an ihn gehen verloren",
            ),
            Fact::DnsDeniesKnownName { .. } => pick(
                "Looking up names (DNS) gives false answers: is this a Wi-Fi with a login page, or a filter?",
                "Die Namensauflösung (DNS) liefert falsche Antworten: Ist das ein WLAN mit Anmeldeseite oder ein Filter?",
            ),
            Fact::UnsupportedChallenge { .. } => match lang {
                Lang::En => format!(
                    "{} asks for a login method dialtone does not support",
                    server.who(lang)
                ),
                Lang::De => format!(
                    "{} verlangt ein Anmeldeverfahren, das dialtone nicht beherrscht",
                    server.who(lang)
                ),
            },
            Fact::AccountNoAnswer => pick(
                "The login check got no answer",
                "Die Anmeldeprüfung bekam keine Antwort",
            ),
            Fact::RouterFound { model, .. } => match (model, lang) {
                (Some(m), Lang::En) => format!("Your router ({m}) tells dialtone how it is doing"),
                (Some(m), Lang::De) => format!("Ihr Router ({m}) gibt dialtone Auskunft"),
                (None, _) => pick(
                    "Your router tells dialtone how it is doing",
                    "Ihr Router gibt dialtone Auskunft",
                ),
            },
            Fact::RouterProblem { kind, .. } => match kind {
                RouterErrorKind::NoAnswer => pick(
                    "Your router does not say how it is doing",
                    "Ihr Router gibt keine Auskunft über seinen Zustand",
                ),
                RouterErrorKind::BadAnswer => pick(
                    "Your router's answer could not be read",
                    "Die Antwort Ihres Routers war nicht lesbar",
                ),
                RouterErrorKind::StatusHidden => pick(
                    "Your router keeps its status to itself: allow status information over UPnP in its settings",
                    "Ihr Router gibt seinen Status nicht heraus: erlauben Sie in seinen Einstellungen Statusinformationen über UPnP",
                ),
                RouterErrorKind::LoginRejected => pick(
                    "Your router rejected dialtone's login: check the router password",
                    "Ihr Router lehnte die Anmeldung von dialtone ab: prüfen Sie das Router-Passwort",
                ),
                RouterErrorKind::LoginSuspended => pick(
                    "dialtone stopped logging in to your router until its password changes",
                    "dialtone meldet sich nicht mehr am Router an, bis das Router-Passwort geändert wird",
                ),
                RouterErrorKind::Busy => pick(
                    "Your router is busy: dialtone asks it less often",
                    "Ihr Router ist ausgelastet: dialtone fragt ihn seltener",
                ),
                RouterErrorKind::WrongRouter => pick(
                    "This network's router is not the one the router login belongs to: dialtone does not log in to it",
                    "Der Router dieses Netzes ist nicht der, zu dem die Router-Anmeldung gehört: dialtone meldet sich nicht an ihm an",
                ),
                RouterErrorKind::LoginPaused => pick(
                    "dialtone cannot keep track of its router logins (its state folder is not writable): it does not log in to the router",
                    "dialtone kann seine Router-Anmeldungen nicht festhalten (sein Statusordner ist nicht beschreibbar): es meldet sich nicht am Router an",
                ),
            },
            Fact::RouterLink { up, .. } => match up {
                true => pick(
                    "Your router's internet line is up",
                    "Die Internetleitung Ihres Routers steht",
                ),
                false => pick(
                    "Your router's internet line is down",
                    "Die Internetleitung Ihres Routers ist unterbrochen",
                ),
            },
            Fact::RouterConnection { connected, .. } => match connected {
                true => pick(
                    "Your router is connected to the internet",
                    "Ihr Router ist mit dem Internet verbunden",
                ),
                false => pick(
                    "Your router is not connected to the internet",
                    "Ihr Router ist nicht mit dem Internet verbunden",
                ),
            },
            Fact::RouterReconnected { uptime_s } => {
                let span = span_words(*uptime_s, lang);
                match lang {
                    Lang::En => format!("Your router reconnected to the internet {span} ago"),
                    Lang::De => {
                        format!("Ihr Router hat sich vor {span} neu mit dem Internet verbunden")
                    }
                }
            }
            Fact::RouterContradicted => pick(
                "Your router says its internet connection is down, yet the internet answers",
                "Ihr Router meldet seine Internetverbindung als getrennt, doch das Internet antwortet",
            ),
            Fact::RouterNat { nat, .. } => match nat {
                NatKind::Public => pick(
                    "Your router has a public internet address of its own: incoming calls can reach it",
                    "Ihr Router hat eine eigene öffentliche Internetadresse: eingehende Anrufe erreichen ihn",
                ),
                NatKind::Cgnat => pick(
                    "Your router shares its internet address with other customers: incoming calls arrive only while it stays registered",
                    "Ihr Router teilt seine Internetadresse mit anderen Kunden: eingehende Anrufe kommen nur an, solange er angemeldet bleibt",
                ),
                NatKind::DsLite => pick(
                    "Your router has no IPv4 address of its own (DS-Lite): incoming calls depend on IPv6 or on its registration",
                    "Ihr Router hat keine eigene IPv4-Adresse (DS-Lite): eingehende Anrufe hängen von IPv6 oder von seiner Anmeldung ab",
                ),
                NatKind::Unknown => pick(
                    "Your router's internet address says nothing about how calls reach it",
                    "Die Internetadresse Ihres Routers sagt nichts darüber, wie Anrufe ihn erreichen",
                ),
            },
            Fact::RouterVoip {
                index,
                number,
                status,
            } => {
                let who = match (number, lang) {
                    (Some(n), Lang::En) => format!("Your number {n}"),
                    (Some(n), Lang::De) => format!("Ihre Rufnummer {n}"),
                    (None, Lang::En) => format!("Phone account {index} in your router"),
                    (None, Lang::De) => format!("Das Telefonie-Konto {index} in Ihrem Router"),
                };
                let state = match status {
                    VoipStatus::Disabled => lang.pick("is switched off", "ist abgeschaltet"),
                    VoipStatus::NotRegistered => {
                        return match lang {
                            Lang::En => format!("{who} is not registered {}", server.with(lang)),
                            Lang::De => format!("{who} ist {} nicht angemeldet", server.with(lang)),
                        };
                    }
                    VoipStatus::Registered => lang.pick("is registered", "ist angemeldet"),
                    VoipStatus::Connected => lang.pick(
                        "is registered and in a call",
                        "ist angemeldet und im Gespräch",
                    ),
                    VoipStatus::Unknown => {
                        lang.pick("is in an unknown state", "ist in unbekanntem Zustand")
                    }
                };
                format!("{who} {state}")
            }
            Fact::RouterStillRegistered { .. } => server.says(
                lang,
                "does not answer dialtone, but your router is registered with it: calls should work",
                "antwortet dialtone nicht, aber Ihr Router ist dort angemeldet: Anrufe sollten funktionieren",
            ),
            Fact::RouterRegisteredUntilRenewal { .. } => server.says(
                lang,
                "answered dialtone before and does not now; your router still shows itself registered, but only until its next renewal",
                "hat dialtone schon geantwortet und tut es jetzt nicht; Ihr Router zeigt sich noch als angemeldet, aber nur bis zur nächsten Erneuerung",
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::diagnosis::TargetRef;
    use crate::observation::Transport;

    fn refused() -> Fact {
        Fact::SipTransportFailed {
            method: "OPTIONS".into(),
            target: TargetRef {
                host: "127.0.0.1".into(),
                transport: Transport::Udp,
                address: "127.0.0.1:27060".parse().unwrap(),
            },
            kind: TransportFailure::Refused,
            // As older versions stored it, and history rows still carry it.
            detail: "Connection refused (os error 111)".into(),
        }
    }

    #[test]
    fn a_refused_connection_reads_plainly_in_both_languages() {
        let fact = refused();
        assert_eq!(
            fact.plain_for(Lang::En, Some("1&1")),
            "1&1's phone server turned the connection away"
        );
        assert_eq!(
            fact.plain_for(Lang::De, Some("1&1")),
            "Der Telefonie-Server von 1&1 hat die Verbindung abgewiesen"
        );
        assert_eq!(
            fact.plain(Lang::En),
            "Your provider's phone server turned the connection away"
        );
        assert_eq!(
            fact.plain(Lang::De),
            "Der Telefonie-Server Ihres Anbieters hat die Verbindung abgewiesen"
        );
    }

    #[test]
    fn the_technical_text_says_the_kind_once_and_no_errno() {
        let fact = refused();
        assert_eq!(
            fact.render(Lang::En),
            "OPTIONS to 127.0.0.1:27060 (udp): connection refused"
        );
        assert_eq!(
            fact.render(Lang::De),
            "OPTIONS an 127.0.0.1:27060 (udp): Verbindung abgelehnt"
        );
        let unreachable = Fact::GatewayUnreachable {
            address: "192.168.1.1".parse().unwrap(),
            detail: "connect to 192.168.1.1:80: No route to host (os error 113)".into(),
        };
        assert_eq!(
            unreachable.render(Lang::En),
            "router 192.168.1.1 unreachable (connect to 192.168.1.1:80: no route to host)"
        );
        assert_eq!(
            unreachable.plain(Lang::En),
            "This computer cannot reach your router"
        );
        assert_eq!(
            unreachable.plain(Lang::De),
            "Dieser Computer erreicht Ihren Router nicht"
        );
    }

    #[test]
    fn plain_sentences_start_with_a_capital_unless_they_name_dialtone() {
        assert_eq!(
            Fact::LoginRejected {
                code: 403,
                reason: "Forbidden".into()
            }
            .plain(Lang::De),
            "Ihr Anbieter lehnt Ihre Anmeldung ab: prüfen Sie Benutzername und Passwort"
        );
        assert!(Fact::AccountSuspended {
            since: chrono::Utc::now(),
            code: 403
        }
        .plain(Lang::En)
        .starts_with("dialtone stopped"));
        assert_eq!(
            Fact::GatewayTimeout {
                address: "192.168.1.1".parse().unwrap(),
                after_ms: 2000.0
            }
            .plain(Lang::De),
            "Ihr Router antwortet nicht"
        );
    }

    fn target() -> TargetRef {
        TargetRef {
            host: "sip.1und1.de".into(),
            transport: Transport::Tcp,
            address: "212.227.0.1:5060".parse().unwrap(),
        }
    }

    /// One fact of every kind (and of every kind's variants), with details as older versions
    /// stored them.
    fn every_fact() -> Vec<Fact> {
        let at = chrono::Utc::now();
        let gw: std::net::IpAddr = "192.168.1.1".parse().unwrap();
        let mut facts = vec![
            Fact::NotChecked {
                why: "paused".into(),
            },
            Fact::NoInterface,
            Fact::CannotOpenSocket {
                checks: vec!["198.51.100.1:443".into()],
            },
            Fact::LoginChecksPaused {
                action: crate::observation::LedgerAction::Write,
                path: "/root/.local/state/dialtone/logins.json".into(),
                detail: "Permission denied (os error 13)".into(),
            },
            Fact::InterfacesUp {
                names: vec!["eth0".into()],
            },
            Fact::NoDefaultRoute,
            Fact::DefaultRoute {
                interface: "eth0".into(),
                gateway: Some(gw),
            },
            Fact::DefaultRoute {
                interface: "ppp0".into(),
                gateway: None,
            },
            Fact::NoGateway,
            Fact::GatewayAnswered {
                address: gw,
                method: crate::observation::ReachMethod::IcmpEcho,
                rtt_ms: 2.0,
            },
            Fact::GatewayTimeout {
                address: gw,
                after_ms: 2000.0,
            },
            Fact::GatewayLate {
                address: gw,
                rtt_ms: 2100.0,
                anchors_after_ms: 2000.0,
            },
            Fact::GatewayUnreachable {
                address: gw,
                detail: "No route to host (os error 113)".into(),
            },
            Fact::AnchorTimeout {
                target: "198.51.100.1:443".into(),
                after_ms: 2000.0,
            },
            Fact::AnchorUnreachable {
                target: "198.51.100.2:443".into(),
                detail: "connect to 198.51.100.2:443: Network is unreachable (os error 101)".into(),
            },
            Fact::RegistrarResolved {
                registrar: "sip.1und1.de".into(),
                path: vec!["SRV".into(), "A".into()],
                targets: 2,
                rtt_ms: 12.0,
            },
            Fact::SipTimeout {
                method: "OPTIONS".into(),
                target: target(),
                transmissions: 7,
                elapsed_ms: 8000.0,
            },
            Fact::NoSipTarget {
                registrar: "sip.1und1.de".into(),
            },
            Fact::StrayMessages { count: 3 },
            Fact::LoginAccepted {
                aor: "sip:alice@sip.1und1.de".into(),
                bindings: 1,
            },
            Fact::Registered {
                contact: "sip:alice@192.168.1.20:5060".into(),
                expires: Some(300),
            },
            Fact::NoBinding,
            Fact::LoginRejected {
                code: 403,
                reason: "Forbidden".into(),
            },
            Fact::AccountSuspended {
                since: at,
                code: 403,
            },
            Fact::AccountDeferred {
                until: at,
                code: 503,
            },
            Fact::AccountDeferred {
                until: at,
                code: 423,
            },
            Fact::RegistrarNeverAnswered {
                registrar: "sip.1und1.de".into(),
                name_not_found: true,
            },
            Fact::RegistrarNeverAnswered {
                registrar: "sip.1und1.de".into(),
                name_not_found: false,
            },
            Fact::RegistrarIgnoresOptions {
                registrar: "sip.1und1.de".into(),
            },
            Fact::RegistrarAnsweredLoginOnly {
                registrar: "sip.1und1.de".into(),
            },
            Fact::DnsDeniesKnownName {
                name: "example.com".into(),
            },
            Fact::UnsupportedChallenge {
                detail: "algorithm=SHA-512-256".into(),
            },
            Fact::AccountNoAnswer,
            Fact::RouterFound {
                model: Some("FRITZ!Box 7590".into()),
                url: "http://192.168.1.1:49000/igddesc.xml".into(),
            },
            Fact::RouterFound {
                model: None,
                url: "http://192.168.1.1:49000/igddesc.xml".into(),
            },
            Fact::RouterLink {
                status: "Up".into(),
                up: true,
            },
            Fact::RouterLink {
                status: "Down".into(),
                up: false,
            },
            Fact::RouterConnection {
                status: "Connected".into(),
                connected: true,
                last_error: None,
                uptime_s: Some(3600),
            },
            Fact::RouterConnection {
                status: "Disconnected".into(),
                connected: false,
                last_error: Some("ERROR_NO_CARRIER".into()),
                uptime_s: None,
            },
            Fact::RouterReconnected { uptime_s: 120 },
            Fact::RouterContradicted,
            Fact::RouterStillRegistered { numbers: 1 },
            Fact::RouterRegisteredUntilRenewal { numbers: 1 },
        ];
        for layer in Layer::ALL {
            facts.push(Fact::LowerLayerFailed { layer });
            facts.push(Fact::NotProbed { layer });
        }
        for (answered, total, required) in [(2, 2, 2), (1, 2, 2), (0, 2, 2), (2, 3, 2)] {
            facts.push(Fact::AnchorsAnswered {
                answered,
                total,
                required,
            });
        }
        for result in [
            DnsResult::Resolved {
                addresses: 1,
                rtt_ms: 15.0,
            },
            DnsResult::NotFound {
                detail: "sip.1und1.de: no such domain (NXDOMAIN)".into(),
            },
            DnsResult::Failed {
                detail:
                    "sip.1und1.de A via 192.168.1.1:53: io error: Connection refused (os error 111)"
                        .into(),
            },
            DnsResult::Timeout { after_ms: 3000.0 },
        ] {
            facts.push(Fact::Dns {
                name: "sip.1und1.de".into(),
                result,
            });
        }
        for (code, retry_after) in [(200, None), (503, Some(120)), (404, None)] {
            facts.push(Fact::SipResponse {
                method: "REGISTER".into(),
                target: target(),
                code,
                reason: "Reason".into(),
                rtt_ms: 40.0,
                transmissions: 2,
                retry_after,
            });
        }
        for (kind, detail) in [
            (
                TransportFailure::Refused,
                "Connection refused (os error 111)",
            ),
            (
                TransportFailure::Unreachable,
                "No route to host (os error 113)",
            ),
            (
                TransportFailure::Closed,
                "Connection reset by peer (os error 104)",
            ),
            (
                TransportFailure::Tls,
                "invalid peer certificate: UnknownIssuer",
            ),
            (TransportFailure::Protocol, "not SIP"),
            (TransportFailure::TooLarge, ""),
            (TransportFailure::ProvisionalOnly, "SIP/2.0 100 Trying"),
            (TransportFailure::Incomplete, "SIP/2.0 200 OK, 40 bytes"),
            (
                TransportFailure::Mismatched,
                "2× SIP/2.0 200 OK, other Call-ID",
            ),
        ] {
            facts.push(Fact::SipTransportFailed {
                method: "OPTIONS".into(),
                target: target(),
                kind,
                detail: detail.into(),
            });
        }
        for measure in [
            Measure::GatewayRtt,
            Measure::AnchorRtt,
            Measure::DnsRtt,
            Measure::SipRtt,
            Measure::Retransmissions,
            Measure::StrayMessages,
        ] {
            facts.push(Fact::OverThreshold {
                measure,
                value: 900.0,
                limit: 500.0,
            });
        }
        for kind in [
            RouterErrorKind::NoAnswer,
            RouterErrorKind::BadAnswer,
            RouterErrorKind::StatusHidden,
            RouterErrorKind::LoginRejected,
            RouterErrorKind::LoginSuspended,
            RouterErrorKind::Busy,
            RouterErrorKind::WrongRouter,
            RouterErrorKind::LoginPaused,
        ] {
            facts.push(Fact::RouterProblem {
                kind,
                detail:
                    "GET http://192.168.1.1:49000/igddesc.xml: Connection refused (os error 111)"
                        .into(),
            });
        }
        for nat in [
            NatKind::Public,
            NatKind::Cgnat,
            NatKind::DsLite,
            NatKind::Unknown,
        ] {
            facts.push(Fact::RouterNat {
                nat,
                address: Some("100.64.1.2".into()),
            });
        }
        for status in [
            VoipStatus::Disabled,
            VoipStatus::NotRegistered,
            VoipStatus::Registered,
            VoipStatus::Connected,
            VoipStatus::Unknown,
        ] {
            facts.push(Fact::RouterVoip {
                index: 1,
                number: Some("4930123456".into()),
                status,
            });
            facts.push(Fact::RouterVoip {
                index: 2,
                number: None,
                status,
            });
        }
        facts
    }

    #[test]
    fn every_fact_has_both_registers_in_both_languages_without_raw_words() {
        for fact in every_fact() {
            for provider in [None, Some("1&1")] {
                let en = fact.plain_for(Lang::En, provider);
                let de = fact.plain_for(Lang::De, provider);
                assert!(!en.is_empty() && en != de, "{fact:?}: {en:?} / {de:?}");
                for (lang, plain) in [(Lang::En, en), (Lang::De, de)] {
                    for raw in [
                        "os error", "OPTIONS", "REGISTER", ":5060", ":443", ":49000", "192.168.",
                        "(", "  ",
                    ] {
                        // Parentheses are fine around words (a model name, "DNS"), not around
                        // codes: only flag them with a digit inside.
                        if raw == "(" {
                            let inner = plain.split('(').nth(1).unwrap_or_default();
                            let inner = inner.split(')').next().unwrap_or_default();
                            assert!(
                                !inner.chars().any(|c| c.is_ascii_digit())
                                    || inner.contains("FRITZ"),
                                "{fact:?} {lang:?}: {plain:?}"
                            );
                            continue;
                        }
                        assert!(
                            !plain.contains(raw),
                            "{fact:?} {lang:?} plain has {raw:?}: {plain:?}"
                        );
                    }
                    assert!(
                        !plain.ends_with('.'),
                        "{plain:?}: plain sentences end without a full stop"
                    );
                }
            }
            for lang in [Lang::En, Lang::De] {
                let technical = fact.render(lang);
                let lower = technical.to_lowercase();
                assert!(
                    !lower.contains("os error") && !lower.contains("errno"),
                    "{technical:?}"
                );
                assert!(
                    !lower.contains("connection refused (connection refused"),
                    "{technical:?}"
                );
                for layer in Layer::ALL {
                    assert!(!fact.plain_in(layer, lang, Some("1&1")).is_empty());
                }
            }
        }
    }

    #[test]
    fn old_router_details_are_worded_in_german() {
        let fact = Fact::RouterProblem {
            kind: RouterErrorKind::BadAnswer,
            detail: "GET http://192.168.1.1:49000/igddesc.xml: Connection refused (os error 111)"
                .into(),
        };
        assert_eq!(
            fact.render(Lang::De),
            "die Antwort des Routers war unbrauchbar (GET http://192.168.1.1:49000/igddesc.xml: Verbindung abgelehnt)"
        );
    }

    #[test]
    fn a_missing_registrar_name_is_the_phone_server_in_the_provider_layer() {
        let fact = Fact::Dns {
            name: "sip.1und1.de".into(),
            result: DnsResult::NotFound {
                detail: "NXDOMAIN".into(),
            },
        };
        assert_eq!(
            fact.plain_in(Layer::Provider, Lang::En, Some("1&1")),
            "1&1's phone server cannot be found: its name does not exist"
        );
        assert_eq!(
            fact.plain_in(Layer::Provider, Lang::De, None),
            "Der Telefonie-Server Ihres Anbieters ist nicht auffindbar: seinen Namen gibt es nicht"
        );
        assert_eq!(
            fact.plain_in(Layer::Internet, Lang::De, None),
            "Den Namen sip.1und1.de gibt es nicht"
        );
        let failed = Fact::Dns {
            name: "sip.1und1.de".into(),
            result: DnsResult::Timeout { after_ms: 3000.0 },
        };
        assert_eq!(
            failed.plain_in(Layer::Provider, Lang::De, Some("1&1")),
            "Die Adresse des Telefonie-Servers von 1&1 lässt sich nicht nachschlagen"
        );
    }

    fn diagnosis(
        verdict: crate::verdict::Verdict,
        failing: Layer,
        evidence: Vec<Fact>,
    ) -> crate::diagnosis::Diagnosis {
        use crate::diagnosis::{Diagnosis, LayerReport};
        use crate::verdict::LayerStatus;
        let layers = Layer::ALL
            .iter()
            .map(|layer| LayerReport {
                layer: *layer,
                status: match layer {
                    l if *l == failing => LayerStatus::Failed,
                    Layer::Router => LayerStatus::Skipped,
                    l if *l < failing => LayerStatus::Ok,
                    _ => LayerStatus::Skipped,
                },
                evidence: if *layer == failing {
                    evidence.clone()
                } else {
                    vec![]
                },
                latency_ms: None,
            })
            .collect();
        Diagnosis {
            verdict,
            failing_layer: Some(failing),
            layers,
            bindings: None,
            router: None,
            provider_name: Some("1&1".into()),
            checked_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_plain_reason_says_whose_fault_it_is_not() {
        use crate::verdict::Verdict;
        let d = diagnosis(Verdict::ProviderOutage, Layer::Provider, vec![refused()]);
        assert_eq!(
            d.plain_reason(Lang::En).unwrap(),
            "1&1's phone server turned the connection away; your internet is fine"
        );
        assert_eq!(
            d.plain_reason(Lang::De).unwrap(),
            "Der Telefonie-Server von 1&1 hat die Verbindung abgewiesen; Ihr Internet funktioniert"
        );
        // The technical reason is the same fact, for admins.
        assert_eq!(
            d.reason(Lang::En).unwrap(),
            "OPTIONS to 127.0.0.1:27060 (udp): connection refused"
        );
        assert_eq!(d.headline(Lang::En), d.plain_reason(Lang::En).unwrap());
        // Under the summary ("Your internet works, but …") the cause stands alone.
        assert_eq!(
            d.plain_cause(Lang::En).unwrap(),
            "1&1's phone server turned the connection away"
        );
        assert!(d.summary(Lang::En).starts_with("Your internet works"));
        assert_eq!(
            d.plain_cause(Lang::De).unwrap(),
            "Der Telefonie-Server von 1&1 hat die Verbindung abgewiesen"
        );
        assert_eq!(
            d.plain_evidence(Layer::Provider, Lang::De),
            vec!["Der Telefonie-Server von 1&1 hat die Verbindung abgewiesen".to_string()]
        );
        assert!(d.plain_evidence(Layer::Device, Lang::En).is_empty());

        let router = Fact::GatewayTimeout {
            address: "192.168.1.1".parse().unwrap(),
            after_ms: 2000.0,
        };
        let d = diagnosis(Verdict::LocalProblem, Layer::HomeNetwork, vec![router]);
        assert_eq!(
            d.plain_reason(Lang::En).unwrap(),
            "Your router does not answer"
        );
        assert_eq!(
            d.plain_reason(Lang::De).unwrap(),
            "Ihr Router antwortet nicht"
        );

        let login = Fact::LoginRejected {
            code: 403,
            reason: "Forbidden".into(),
        };
        let d = diagnosis(Verdict::AccountProblem, Layer::Account, vec![login]);
        assert_eq!(
            d.plain_reason(Lang::En).unwrap(),
            "1&1 rejects your login: check the user name and password"
        );
    }

    #[test]
    fn a_healthy_line_has_no_plain_reason_and_its_headline_is_the_verdict() {
        use crate::verdict::Verdict;
        let mut d = diagnosis(Verdict::Healthy, Layer::Account, vec![]);
        d.failing_layer = None;
        assert_eq!(d.plain_reason(Lang::En), None);
        assert_eq!(
            d.headline(Lang::En),
            "Your line works: every check up to 1&1 passed."
        );
        assert_eq!(
            d.headline(Lang::De),
            "Ihr Anschluss funktioniert: alle Prüfungen bis 1&1 waren in Ordnung."
        );
    }
}
