//! The words of an alert that leaves the machine (ntfy, e-mail, webhook, Apprise), in English
//! and German: the headline (an e-mail's subject), the reason with the original times ("Your
//! internet was down from 09:45 to 10:40"), the provider's channels (X first, then the status
//! page) and the latest official post. Rendered when the alert is raised, so an alert that
//! waits in the outbox while the internet is down still tells the times it happened.

use crate::alert::{AlertMessage, ChannelLink, PostLink};
use crate::catalog::{Channel, ChannelKind};
use crate::diagnosis::Diagnosis;
use crate::locale::Lang;
use crate::status_post::StatusPost;
use crate::verdict::Verdict;
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

/// How old an official post may be and still be quoted (as the desktop notification does).
const POST_MAX_AGE: TimeDelta = TimeDelta::hours(12);

/// What an alert says, besides the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertEvent {
    /// The line went bad (outage, account, degraded, local: by the verdict).
    Bad,
    /// The line works again; the bad state lasted from `since` to `until`.
    Recovery,
    /// The line changed too often for one message each: this one stands for the rest.
    Unstable {
        /// How many changes the hour saw.
        changes: u32,
    },
    /// `dialtone alert test`.
    Test,
}

/// The facts an alert is made of.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    /// What happened.
    pub event: AlertEvent,
    /// The line's name for this target.
    pub line: &'a str,
    /// The verdict now.
    pub verdict: Verdict,
    /// The verdict before.
    pub previous: Verdict,
    /// When the bad state began.
    pub since: DateTime<Utc>,
    /// When it ended (a recovery).
    pub until: Option<DateTime<Utc>>,
    /// When the change was confirmed (the reference for "today" and a post's age).
    pub at: DateTime<Utc>,
    /// The diagnosis that confirmed a bad state (its plain reason is the alert's).
    pub diagnosis: Option<&'a Diagnosis>,
    /// The provider's name.
    pub provider: Option<&'a str>,
    /// The provider's catalog channels.
    pub channels: &'a [Channel],
    /// The provider's latest official post.
    pub post: Option<&'a StatusPost>,
    /// The user's time zone offset at the time.
    pub offset: FixedOffset,
}

/// An alert in one language: the documented message and its plain-text body (e-mail, ntfy,
/// Apprise).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderedAlert {
    /// The webhook's body, and the parts every transport takes.
    pub message: AlertMessage,
    /// The message as text: reason, line, time, post, links.
    pub text: String,
}

/// The event's name in the webhook body.
fn event_name(facts: &AlertFacts<'_>) -> &'static str {
    match facts.event {
        AlertEvent::Recovery => "recovery",
        AlertEvent::Unstable { .. } => "unstable",
        AlertEvent::Test => "test",
        AlertEvent::Bad => {
            crate::alert::EventKind::of(facts.verdict).map_or("unknown", |k| k.as_str())
        }
    }
}

/// The headline: the verdict in a few words, or the recovery, the instability, the test.
fn headline(facts: &AlertFacts<'_>, lang: Lang) -> String {
    let de = lang == Lang::De;
    let p = facts.provider;
    match facts.event {
        AlertEvent::Recovery => lang
            .pick("Your line works again", "Ihr Anschluss funktioniert wieder")
            .into(),
        AlertEvent::Unstable { .. } => lang
            .pick("Your line is unstable", "Ihr Anschluss ist instabil")
            .into(),
        AlertEvent::Test => lang
            .pick("dialtone test alert", "dialtone-Testalarm")
            .into(),
        AlertEvent::Bad => match (facts.verdict, de, p) {
            (Verdict::ProviderOutage, false, Some(p)) => format!("{p} telephony is down"),
            (Verdict::ProviderOutage, false, None) => "Provider's telephony is down".into(),
            (Verdict::ProviderOutage, true, Some(p)) => format!("Telefonie von {p} gestört"),
            (Verdict::ProviderOutage, true, None) => "Telefonie des Anbieters gestört".into(),
            (Verdict::InternetDown, ..) => lang.pick("Internet is down", "Internet gestört").into(),
            (Verdict::AccountProblem, ..) => lang
                .pick(
                    "Login or registration problem",
                    "Problem mit Anmeldung oder Registrierung",
                )
                .into(),
            (Verdict::Degraded, ..) => lang
                .pick(
                    "Line works, but slow",
                    "Anschluss funktioniert, aber langsam",
                )
                .into(),
            (Verdict::LocalProblem, ..) => lang
                .pick(
                    "No connection on this computer or home network",
                    "Keine Verbindung an diesem Computer oder im Heimnetz",
                )
                .into(),
            (Verdict::Healthy | Verdict::Unknown, ..) => lang
                .pick("Line state changed", "Zustand des Anschlusses geändert")
                .into(),
        },
    }
}

/// "09:45" on the reference's day, else with the date.
fn clock(at: DateTime<Utc>, reference: DateTime<Utc>, offset: FixedOffset, lang: Lang) -> String {
    let local = at.with_timezone(&offset);
    if local.date_naive() == reference.with_timezone(&offset).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        match lang {
            Lang::En => local.format("%-d %b %H:%M").to_string(),
            Lang::De => local.format("%d.%m. %H:%M").to_string(),
        }
    }
}

/// The reason: the diagnosis's plain words with "since", or how long the bad state lasted.
fn reason(facts: &AlertFacts<'_>, lang: Lang) -> String {
    let at = |t| clock(t, facts.at, facts.offset, lang);
    match facts.event {
        AlertEvent::Recovery => {
            let until = facts.until.unwrap_or(facts.at);
            let (a, b) = (at(facts.since), at(until));
            let lasted = super::span_words((until - facts.since).num_seconds().max(0).unsigned_abs(), lang);
            let p = facts.provider;
            match (facts.previous, lang, p) {
                (Verdict::InternetDown, Lang::En, _) => format!("Your internet was down from {a} to {b} ({lasted})."),
                (Verdict::InternetDown, Lang::De, _) => format!("Ihr Internet war von {a} bis {b} gestört ({lasted})."),
                (Verdict::ProviderOutage, Lang::En, Some(p)) => format!("{p}'s telephony was down from {a} to {b} ({lasted})."),
                (Verdict::ProviderOutage, Lang::De, Some(p)) => format!("Die Telefonie von {p} war von {a} bis {b} gestört ({lasted})."),
                (Verdict::ProviderOutage, Lang::En, None) => format!("The provider's telephony was down from {a} to {b} ({lasted})."),
                (Verdict::ProviderOutage, Lang::De, None) => format!("Die Telefonie des Anbieters war von {a} bis {b} gestört ({lasted})."),
                (Verdict::AccountProblem, Lang::En, _) => format!("The login problem lasted from {a} to {b} ({lasted})."),
                (Verdict::AccountProblem, Lang::De, _) => format!("Das Anmeldeproblem dauerte von {a} bis {b} ({lasted})."),
                (_, Lang::En, _) => format!("The problem lasted from {a} to {b} ({lasted})."),
                (_, Lang::De, _) => format!("Das Problem dauerte von {a} bis {b} ({lasted})."),
            }
        }
        AlertEvent::Unstable { changes } => match lang {
            Lang::En => format!("It changed state {changes} times within the hour; further changes are held back for now. Latest: {}.", headline(&AlertFacts { event: AlertEvent::Bad, ..facts.clone() }, lang)),
            Lang::De => format!("Er hat innerhalb einer Stunde {changes}-mal den Zustand gewechselt; weitere Wechsel werden vorerst zurückgehalten. Zuletzt: {}.", headline(&AlertFacts { event: AlertEvent::Bad, ..facts.clone() }, lang)),
        },
        AlertEvent::Test => lang
            .pick(
                "This is a test: alerts from dialtone reach you here.",
                "Dies ist ein Test: Alarme von dialtone erreichen Sie hier.",
            )
            .into(),
        AlertEvent::Bad => {
            let cause = facts
                .diagnosis
                .filter(|d| d.verdict == facts.verdict)
                .map(|d| d.headline(lang))
                .unwrap_or_else(|| headline(facts, lang));
            let since = at(facts.since);
            match lang {
                Lang::En => format!("{cause}. Since {since}."),
                Lang::De => format!("{cause}. Seit {since}."),
            }
        }
    }
}

/// The provider's official channels to offer: X first, then the status page (https only).
fn channels(facts: &AlertFacts<'_>, lang: Lang) -> Vec<ChannelLink> {
    [ChannelKind::X, ChannelKind::StatusPage]
        .into_iter()
        .filter_map(|kind| facts.channels.iter().find(|c| c.kind == kind))
        .filter(|c| c.url.starts_with("https://"))
        .map(|c| ChannelLink {
            label: match lang {
                Lang::De => c.label_de.clone().unwrap_or_else(|| c.label.clone()),
                Lang::En => c.label.clone(),
            },
            url: c.url.clone(),
        })
        .collect()
}

/// An alert in `lang` (see the module's doc).
pub fn render_alert(facts: &AlertFacts<'_>, lang: Lang) -> RenderedAlert {
    let fresh = facts.post.filter(|post| {
        post.published
            .is_some_and(|t| (facts.at - t).abs() <= POST_MAX_AGE)
    });
    let bad = facts.event == AlertEvent::Bad;
    let post = fresh.filter(|_| bad).map(|p| PostLink {
        title: p.title.clone(),
        published: p.published,
        url: p.link.clone(),
    });
    let recovery = facts.event == AlertEvent::Recovery;
    let until = facts.until.filter(|_| recovery);
    let message = AlertMessage {
        event: event_name(facts).to_string(),
        line: facts.line.to_string(),
        verdict: facts.verdict,
        previous: facts.previous,
        since: facts.since,
        until,
        duration_s: until.map(|u| (u - facts.since).num_seconds().max(0)),
        headline: headline(facts, lang),
        reason: reason(facts, lang),
        lang,
        channels: if bad || facts.event == AlertEvent::Test {
            channels(facts, lang)
        } else {
            Vec::new()
        },
        post,
    };
    let text = text(&message, facts, lang);
    RenderedAlert { message, text }
}

/// The plain-text body: reason, line, time, the post, the links.
fn text(message: &AlertMessage, facts: &AlertFacts<'_>, lang: Lang) -> String {
    let mut out = message.reason.clone();
    out.push_str("\n\n");
    out.push_str(&format!(
        "{}: {}\n",
        lang.pick("Line", "Anschluss"),
        message.line
    ));
    let when = clock(facts.at, facts.at, facts.offset, lang);
    let date = facts
        .at
        .with_timezone(&facts.offset)
        .format("%Y-%m-%d")
        .to_string();
    out.push_str(&format!("{}: {date} {when}\n", lang.pick("Time", "Zeit")));
    if let Some(post) = &message.post {
        let who = facts.provider.unwrap_or(lang.pick("Provider", "Anbieter"));
        let at = post
            .published
            .map(|t| clock(t, facts.at, facts.offset, lang))
            .unwrap_or_default();
        out.push('\n');
        out.push_str(&match lang {
            Lang::En => format!("{who} status, {at}: {}", post.title),
            Lang::De => format!("{who}-Status, {at}: {}", post.title),
        });
        if let Some(url) = &post.url {
            out.push_str(&format!("\n{url}"));
        }
        out.push('\n');
    }
    if !message.channels.is_empty() {
        out.push('\n');
        for c in &message.channels {
            out.push_str(&format!("{}: {}\n", c.label, c.url));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn channels() -> Vec<Channel> {
        let ch = |kind, label: &str, de: Option<&str>, url: &str| Channel {
            kind,
            label: label.into(),
            label_de: de.map(str::to_string),
            url: url.into(),
            verified: true,
            note: None,
        };
        vec![
            ch(
                ChannelKind::StatusPage,
                "Status page",
                Some("Statusseite"),
                "https://status.example.org",
            ),
            ch(
                ChannelKind::X,
                "1&1 on X (@1und1)",
                Some("1&1 auf X (@1und1)"),
                "https://x.com/1und1",
            ),
            ch(ChannelKind::Hotline, "Hotline", None, "tel:+4972196000"),
        ]
    }

    fn facts<'a>(
        event: AlertEvent,
        channels: &'a [Channel],
        post: Option<&'a StatusPost>,
    ) -> AlertFacts<'a> {
        let since = Utc.with_ymd_and_hms(2026, 12, 24, 8, 45, 0).unwrap();
        AlertFacts {
            event,
            line: "Home",
            verdict: if event == AlertEvent::Recovery {
                Verdict::Healthy
            } else {
                Verdict::InternetDown
            },
            previous: if event == AlertEvent::Recovery {
                Verdict::InternetDown
            } else {
                Verdict::Healthy
            },
            since,
            until: (event == AlertEvent::Recovery).then(|| since + TimeDelta::minutes(55)),
            at: since + TimeDelta::minutes(56),
            diagnosis: None,
            provider: Some("1&1"),
            channels,
            post,
            offset: FixedOffset::east_opt(3600).unwrap(),
        }
    }

    /// The fixtures pin every word of an outage and a recovery alert in both languages, and the
    /// webhook's JSON.
    #[test]
    fn outage_and_recovery_alerts_in_both_languages() {
        let ch = channels();
        let post = StatusPost {
            title: "Störung im Raum Karlsruhe".into(),
            published: Some(Utc.with_ymd_and_hms(2026, 12, 24, 9, 30, 0).unwrap()),
            link: Some("https://status.example.org/incidents/1".into()),
        };
        let outage = facts(AlertEvent::Bad, &ch, Some(&post));
        let de = render_alert(&outage, Lang::De);
        assert_eq!(de.message.headline, "Internet gestört");
        assert_eq!(de.message.reason, "Internet gestört. Seit 09:45.");
        assert_eq!(
            de.text,
            "Internet gestört. Seit 09:45.\n\nAnschluss: Home\nZeit: 2026-12-24 10:41\n\n\
             1&1-Status, 10:30: Störung im Raum Karlsruhe\nhttps://status.example.org/incidents/1\n\n\
             1&1 auf X (@1und1): https://x.com/1und1\nStatusseite: https://status.example.org\n"
        );
        let en = render_alert(&outage, Lang::En);
        assert_eq!(en.message.headline, "Internet is down");
        assert_eq!(en.message.reason, "Internet is down. Since 09:45.");
        assert_eq!(en.message.channels[0].url, "https://x.com/1und1", "X first");
        let json = serde_json::to_value(&en.message).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = [
            "event",
            "line",
            "verdict",
            "previous",
            "since",
            "until",
            "duration_s",
            "headline",
            "reason",
            "lang",
            "channels",
            "post",
        ];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(json["event"], "outage");
        assert_eq!(json["verdict"], "internet_down");
        assert_eq!(json["lang"], "en");
        assert_eq!(json["post"]["title"], "Störung im Raum Karlsruhe");

        let recovery = facts(AlertEvent::Recovery, &ch, None);
        let de = render_alert(&recovery, Lang::De);
        assert_eq!(de.message.headline, "Ihr Anschluss funktioniert wieder");
        assert_eq!(
            de.message.reason,
            "Ihr Internet war von 09:45 bis 10:40 gestört (55 min)."
        );
        assert_eq!(de.message.duration_s, Some(3300));
        assert!(de.message.channels.is_empty());
        let en = render_alert(&recovery, Lang::En);
        assert_eq!(
            en.message.reason,
            "Your internet was down from 09:45 to 10:40 (55 min)."
        );
        assert_eq!(en.message.event, "recovery");
        assert_eq!(en.text, "Your internet was down from 09:45 to 10:40 (55 min).\n\nLine: Home\nTime: 2026-12-24 10:41\n");
    }

    #[test]
    fn provider_outage_unstable_and_test_words() {
        let ch = channels();
        let mut f = facts(AlertEvent::Bad, &ch, None);
        f.verdict = Verdict::ProviderOutage;
        assert_eq!(
            render_alert(&f, Lang::De).message.headline,
            "Telefonie von 1&1 gestört"
        );
        assert_eq!(
            render_alert(&f, Lang::En).message.headline,
            "1&1 telephony is down"
        );
        f.event = AlertEvent::Unstable { changes: 5 };
        let de = render_alert(&f, Lang::De).message;
        assert_eq!(de.headline, "Ihr Anschluss ist instabil");
        assert_eq!(de.reason, "Er hat innerhalb einer Stunde 5-mal den Zustand gewechselt; weitere Wechsel werden vorerst zurückgehalten. Zuletzt: Telefonie von 1&1 gestört.");
        assert_eq!(de.event, "unstable");
        f.event = AlertEvent::Test;
        assert_eq!(
            render_alert(&f, Lang::En).message.headline,
            "dialtone test alert"
        );
        assert_eq!(
            render_alert(&f, Lang::De).message.reason,
            "Dies ist ein Test: Alarme von dialtone erreichen Sie hier."
        );
        // A stale post is not quoted.
        let old = StatusPost {
            title: "old".into(),
            published: Some(f.at - TimeDelta::days(3)),
            link: None,
        };
        let mut f = facts(AlertEvent::Bad, &ch, Some(&old));
        f.verdict = Verdict::ProviderOutage;
        assert_eq!(render_alert(&f, Lang::En).message.post, None);
    }
}
