//! The sentences a person reads first: a diagnosis' summary (the verdict in the user's
//! words, naming the provider), its one-line reason in the technical and the plain register,
//! and the headline that picks between them. Which fact is the reason is a rule of the
//! diagnosis ([`Diagnosis`]); how it is said is here.

use crate::diagnosis::{server_failed, Diagnosis, Fact};
use crate::locale::Lang;
use crate::router::VoipStatus;
use crate::verdict::{Layer, LayerStatus, Verdict};

impl Diagnosis {
    /// One sentence for the user, in their words ("Your line works: every check up to 1&1
    /// passed.").
    pub fn summary(&self, lang: Lang) -> String {
        let de = lang == Lang::De;
        let name = self.provider_name.as_deref();
        match self.verdict {
            // More than the verdict's two words above it: what was checked, and up to whom.
            Verdict::Healthy => match (de, name) {
                (false, Some(p)) => format!("Your line works: every check up to {p} passed."),
                (false, None) => "Your line works: every check passed.".to_string(),
                (true, Some(p)) => {
                    format!("Ihr Anschluss funktioniert: alle Prüfungen bis {p} waren in Ordnung.")
                }
                (true, None) => {
                    "Ihr Anschluss funktioniert: alle Prüfungen waren in Ordnung.".to_string()
                }
            },
            Verdict::Degraded if self.has_fact(|f| matches!(f, Fact::RouterStillRegistered { .. })) => {
                match (de, name) {
                    (false, Some(p)) => format!("Your router is registered with {p}, but {p}'s server does not answer dialtone: calls should work."),
                    (false, None) => "Your router is registered with your provider, but its server does not answer dialtone: calls should work.".to_string(),
                    (true, Some(p)) => format!("Ihr Router ist bei {p} angemeldet, aber der Server von {p} antwortet dialtone nicht: Anrufe sollten funktionieren."),
                    (true, None) => "Ihr Router ist bei Ihrem Anbieter angemeldet, aber dessen Server antwortet dialtone nicht: Anrufe sollten funktionieren.".to_string(),
                }
            }
            Verdict::Degraded if self.failing_layer == Some(Layer::Account) && self.has_fact(|f| matches!(f, Fact::AccountDeferred { .. })) => {
                let who = name.map_or_else(|| lang.pick("Your provider", "Ihr Anbieter").to_string(), str::to_string);
                match de {
                    false => format!("{who} answers, but asked dialtone to wait before it checks the login again."),
                    true => format!("{who} antwortet, bat aber, mit der nächsten Anmeldeprüfung zu warten."),
                }
            }
            Verdict::Degraded => lang
                .pick(
                    "Your line works, but it is slow or losing packets.",
                    "Ihr Anschluss funktioniert, ist aber langsam oder verliert Pakete.",
                )
                .to_string(),
            Verdict::ProviderOutage => {
                let server_said = self
                    .failing_report()
                    .is_some_and(|r| {
                        r.evidence.iter().any(|f| match f {
                            Fact::SipResponse { code, .. } | Fact::AccountDeferred { code, .. } => {
                                server_failed(*code)
                            }
                            _ => false,
                        })
                    });
                // The sentence is the same in every case but for whose telephony it is and what
                // it does; German puts the owner after "die Telefonie".
                let what = match (de, server_said) {
                    (false, false) => "is not answering",
                    (false, true) => "reports a failure",
                    (true, false) => "antwortet nicht",
                    (true, true) => "meldet eine Störung",
                };
                match (de, name) {
                    (false, Some(p)) => format!("Your internet works, but {p}'s telephony {what}."),
                    (false, None) => {
                        format!("Your internet works, but your provider's telephony {what}.")
                    }
                    (true, Some(p)) => {
                        format!("Ihr Internet funktioniert, aber die Telefonie von {p} {what}.")
                    }
                    (true, None) => format!(
                        "Ihr Internet funktioniert, aber die Telefonie Ihres Anbieters {what}."
                    ),
                }
            }
            Verdict::AccountProblem => {
                let facts = self
                    .failing_report()
                    .map(|r| r.evidence.as_slice())
                    .unwrap_or_default();
                let not_registered = facts.iter().any(|f| matches!(f, Fact::NoBinding));
                let unsupported = facts
                    .iter()
                    .any(|f| matches!(f, Fact::UnsupportedChallenge { .. }));
                let router_unregistered = facts.iter().any(|f| {
                    matches!(f, Fact::RouterVoip { status: VoipStatus::NotRegistered, .. })
                }) && !facts.iter().any(|f| {
                    matches!(f, Fact::LoginRejected { .. } | Fact::AccountSuspended { .. })
                });
                if router_unregistered {
                    return match (de, name) {
                        (false, Some(p)) => format!("Your router is not registered with {p}."),
                        (false, None) => "Your router is not registered with your provider.".to_string(),
                        (true, Some(p)) => format!("Ihr Router ist bei {p} nicht angemeldet."),
                        (true, None) => "Ihr Router ist bei Ihrem Anbieter nicht angemeldet.".to_string(),
                    };
                }
                match (de, not_registered, unsupported, name) {
                    (false, true, _, Some(p)) => {
                        format!("No phone or router is registered on your {p} line.")
                    }
                    (false, true, _, None) => {
                        "No phone or router is registered on your line.".to_string()
                    }
                    (true, true, _, Some(p)) => {
                        format!("An Ihrem {p}-Anschluss ist kein Telefon und kein Router angemeldet.")
                    }
                    (true, true, _, None) => {
                        "An Ihrem Anschluss ist kein Telefon und kein Router angemeldet.".to_string()
                    }
                    (false, false, true, p) => format!(
                        "{} asks for a login method dialtone does not support.",
                        p.unwrap_or("Your provider")
                    ),
                    (true, false, true, p) => format!(
                        "{} verlangt ein Anmeldeverfahren, das dialtone nicht beherrscht.",
                        p.unwrap_or("Ihr Anbieter")
                    ),
                    (false, false, false, p) => {
                        format!("{} rejects the login.", p.unwrap_or("Your provider"))
                    }
                    (true, false, false, p) => {
                        format!("{} lehnt die Anmeldung ab.", p.unwrap_or("Ihr Anbieter"))
                    }
                }
            }
            Verdict::InternetDown if self.failing_layer == Some(Layer::Router) => {
                // The connection's word ("Disconnected") is what the router's own status page
                // shows; the physical link's ("Down") stands in when it gave none.
                let words = self.failing_report().and_then(|r| {
                    let connection = r.evidence.iter().find_map(|f| match f {
                        Fact::RouterConnection { status, connected: false, .. } => Some(status.clone()),
                        _ => None,
                    });
                    connection.or_else(|| {
                        r.evidence.iter().find_map(|f| match f {
                            Fact::RouterLink { status, up: false } => Some(status.clone()),
                            _ => None,
                        })
                    })
                });
                let words = words.unwrap_or_default();
                if de {
                    format!("Ihr Router meldet, dass seine Internetverbindung unterbrochen ist („{words}“): Ihr Internetzugang ist gestört.")
                } else {
                    format!("Your router reports that its internet connection is down (\"{words}\"): your internet access is down.")
                }
            }
            Verdict::InternetDown => {
                let router_ok = self.layer(Layer::HomeNetwork).is_some_and(|r| {
                    matches!(r.status, LayerStatus::Ok | LayerStatus::Degraded)
                });
                match (de, router_ok) {
                    (false, true) => "Your router is reachable but the internet is not: your internet access is down.",
                    (false, false) => "The internet is not reachable: your internet access is down.",
                    (true, true) => "Ihr Router ist erreichbar, das Internet aber nicht: Ihr Internetzugang ist gestört.",
                    (true, false) => "Das Internet ist nicht erreichbar: Ihr Internetzugang ist gestört.",
                }
                .to_string()
            }
            Verdict::LocalProblem if self.has_fact(|f| matches!(f, Fact::CannotOpenSocket { .. })) => lang
                .pick(
                    "This computer could not open a socket for the checks (too many open files or connections): that says nothing about your line, your internet or your provider.",
                    "Dieser Computer konnte für die Prüfungen keinen Socket öffnen (zu viele offene Dateien oder Verbindungen): das sagt nichts über Ihren Anschluss, Ihr Internet oder Ihren Anbieter.",
                )
                .to_string(),
            Verdict::LocalProblem => lang
                .pick(
                    "This computer or your home network has no connection: check Wi-Fi, cable and router.",
                    "Dieser Computer oder Ihr Heimnetz hat keine Verbindung: prüfen Sie WLAN, Kabel und Router.",
                )
                .to_string(),
            Verdict::Unknown => {
                let provider_unconfigured = self.layer(Layer::Provider).is_some_and(|r| {
                    r.evidence.contains(&Fact::NotProbed {
                        layer: Layer::Provider,
                    })
                });
                let never_answered = self.registrar_never_answered();
                if provider_unconfigured {
                    lang.pick(
                        "Your connection works, but the phone line was not checked: no SIP registrar is configured.",
                        "Ihre Verbindung funktioniert, aber der Telefonanschluss wurde nicht geprüft: kein SIP-Registrar eingerichtet.",
                    )
                } else if never_answered {
                    lang.pick(
                        "Your internet works, but dialtone cannot tell yet whether your phone line does: the registrar has never answered from this computer.",
                        "Ihr Internet funktioniert, aber dialtone kann noch nicht sagen, ob Ihr Telefonanschluss funktioniert: der Registrar hat von diesem Computer aus noch nie geantwortet.",
                    )
                } else {
                    lang.pick("Not checked yet.", "Noch nicht geprüft.")
                }
                .to_string()
            }
        }
    }

    /// The failing (or degraded) layer's one-line reason in the technical register (transport,
    /// address, SIP code, round-trip time), for `check --verbose`, `--json`, the dashboard's
    /// details and the outage log; `None` when every layer is fine. People read
    /// [`Diagnosis::plain_reason`] first.
    pub fn reason(&self, lang: Lang) -> Option<String> {
        Some(self.reason_fact()?.render(lang))
    }

    /// The failing (or degraded) layer's one-line reason in plain words, naming the provider
    /// ("1&1's phone server turned the connection away; your internet is fine"): what the
    /// tray, the notification, the dashboard headline and `dialtone check` lead with. `None`
    /// when every layer is fine. The same fact as [`Diagnosis::reason`].
    pub fn plain_reason(&self, lang: Lang) -> Option<String> {
        let (mut text, below) = self.plain_parts(lang)?;
        if let Some(below) = below {
            text.push_str("; ");
            text.push_str(below);
        }
        Some(text)
    }

    /// [`Diagnosis::plain_reason`] without its second half (whose fault it is not), for a place
    /// that shows it under [`Diagnosis::summary`], which already says so ("Your internet works,
    /// but …"): the dashboard's card would otherwise say it twice.
    pub fn plain_cause(&self, lang: Lang) -> Option<String> {
        self.plain_parts(lang).map(|(cause, _)| cause)
    }

    /// The plain reason's two halves: what failed, and the working layer below it, if any.
    fn plain_parts(&self, lang: Lang) -> Option<(String, Option<&'static str>)> {
        let report = self.failing_report()?;
        let mut fact = self.reason_fact()?;
        if self.verdict == Verdict::ProviderOutage && matches!(fact, Fact::AccountNoAnswer) {
            // "No answer to the login check" says less than the server's own failure that
            // follows it, which is why the verdict blames the provider.
            if let Some(said) = report
                .evidence
                .iter()
                .find(|f| f.is_problem() && !matches!(f, Fact::AccountNoAnswer))
            {
                fact = said;
            }
        }
        let text = fact.plain_in(report.layer, lang, self.provider_name.as_deref());
        let works = |layer| {
            self.layer(layer)
                .is_some_and(|r| matches!(r.status, LayerStatus::Ok | LayerStatus::Degraded))
        };
        // Whose fault it is not: the layer below that works, said once and only for a failure
        // (a question to the user already ends the sentence).
        let below = match report.layer {
            _ if report.status != LayerStatus::Failed || text.ends_with('?') => None,
            // An account layer blames the provider only when its registrations are out.
            Layer::Provider | Layer::Account
                if works(Layer::Internet)
                    && (report.layer == Layer::Provider
                        || self.verdict == Verdict::ProviderOutage) =>
            {
                Some(lang.pick("your internet is fine", "Ihr Internet funktioniert"))
            }
            Layer::Internet if works(Layer::HomeNetwork) => {
                Some(lang.pick("your router answers", "Ihr Router antwortet"))
            }
            _ => None,
        };
        Some((text, below))
    }

    /// The one line a person reads first: the plain reason when a layer failed or degraded,
    /// else the verdict's sentence ([`Diagnosis::summary`]).
    pub fn headline(&self, lang: Lang) -> String {
        self.plain_reason(lang)
            .unwrap_or_else(|| self.summary(lang))
    }

    /// One layer's evidence as plain sentences, in the order of [`LayerReport::evidence`]
    /// (whose [`Fact::render`] is the technical detail of each); empty for a layer not in
    /// the diagnosis.
    pub fn plain_evidence(&self, layer: Layer, lang: Lang) -> Vec<String> {
        let provider = self.provider_name.as_deref();
        self.layer(layer)
            .map(|r| {
                r.evidence
                    .iter()
                    .map(|f| f.plain_in(layer, lang, provider))
                    .collect()
            })
            .unwrap_or_default()
    }
}
