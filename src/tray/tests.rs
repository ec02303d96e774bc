//! Table tests of the tray model: verdict → icon, tooltip, menu, in both languages.
#![allow(clippy::unwrap_used)]

use super::model::elapsed;
use super::*;
use crate::test_support::{at, diagnosis, router_disconnected};
use chrono::{DateTime, FixedOffset, Utc};
use dialtone_core::diagnosis::Fact;
use dialtone_core::diagnosis::{Diagnosis, Thresholds};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{Layer, Verdict};
use dialtone_engine::monitor::Status;
use dialtone_ipc::protocol::{ChannelKind, ChannelView};

fn status(verdict: Verdict, since: DateTime<Utc>, d: Option<Diagnosis>) -> Status {
    Status {
        verdict,
        since,
        diagnosis: d.clone(),
        latest: d,
        thresholds: Thresholds::default(),
    }
}

/// A line whose `verdict` was confirmed at 09:50 and checked last at 09:52 (failing as
/// `failing` says); the tests look at it at 09:54.
fn checked(verdict: Verdict, failing: Option<(Layer, Fact)>) -> Status {
    let d = diagnosis(verdict, failing, at(9, 52, 0));
    status(verdict, at(9, 50, 0), Some(d))
}

fn channels() -> Vec<ChannelView> {
    vec![
        ChannelView {
            kind: ChannelKind::X,
            label: "1&1 on X (@1und1)".into(),
            label_de: Some("1&1 auf X (@1und1)".into()),
            url: "https://x.com/1und1".into(),
        },
        ChannelView {
            kind: ChannelKind::Hotline,
            label: "Hotline 0721 9600".into(),
            label_de: None,
            url: "tel:+49721-9600".into(),
        },
        ChannelView {
            kind: ChannelKind::Crowd,
            label: "allestörungen.de: 1&1 (crowd reports, not official)".into(),
            label_de: None,
            url: "https://allestoerungen.de/stoerung/1und1/".into(),
        },
    ]
}

fn ctx(channels: &[ChannelView]) -> TrayContext<'_> {
    TrayContext {
        configured: true,
        provider: Some("1&1"),
        channels,
        alerts_paused_until: None,
        sends_alerts: false,
        start_at_login: false,
        offset: FixedOffset::east_opt(3600).unwrap(),
        monitor_failure: None,
        lines: &[],
        shown: None,
    }
}

/// The texts of the menu's labels (its lines that are not items), top first.
fn label_texts(menu: &[MenuEntry]) -> Vec<&str> {
    menu.iter()
        .filter_map(|e| match e {
            MenuEntry::Label(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn labels(menu: &[MenuEntry]) -> Vec<String> {
    menu.iter()
        .map(|e| match e {
            MenuEntry::Label(t) => format!("[{t}]"),
            MenuEntry::Action { text, .. } => text.clone(),
            MenuEntry::Check { text, checked, .. } => format!("{text} ({checked})"),
            MenuEntry::Submenu { text, entries } => {
                format!("{text} > {}", labels(entries).join(" | "))
            }
            MenuEntry::Separator => "---".into(),
        })
        .collect()
}

#[test]
fn healthy_line_in_english() {
    let ch = channels();
    let s = status(
        Verdict::Healthy,
        at(8, 12, 0),
        Some(diagnosis(Verdict::Healthy, None, at(9, 0, 0))),
    );
    let m = tray_model(&s, &ctx(&ch), Lang::En, at(9, 0, 12));
    assert_eq!(m.icon, Verdict::Healthy);
    assert_eq!(m.tooltip, "Line works since 09:12");
    assert_eq!(m.title, "dialtone: Line works");
    assert_eq!(
        labels(&m.menu),
        [
            "[Line works — checked 12 s ago]",
            "---",
            "Check now",
            "1&1's channels > 1&1 on X (@1und1) | Hotline 0721 9600 | allestörungen.de: 1&1 (crowd reports, not official)",
            "Open dashboard",
            "Pause notifications for 1 hour",
            "Start at login (false)",
            "---",
            "Quit",
        ]
    );
}

#[test]
fn provider_outage_in_german_names_the_reason() {
    let ch = channels();
    let fact = Fact::NoSipTarget {
        registrar: "sip.1und1.de".into(),
    };
    let s = checked(Verdict::ProviderOutage, Some((Layer::Provider, fact)));
    let reason = s
        .diagnosis
        .as_ref()
        .unwrap()
        .plain_reason(Lang::De)
        .unwrap();
    let mut c = ctx(&ch);
    c.alerts_paused_until = Some(at(10, 50, 0));
    c.start_at_login = true;
    let m = tray_model(&s, &c, Lang::De, at(9, 54, 0));
    assert_eq!(m.icon, Verdict::ProviderOutage);
    assert_eq!(m.tooltip, "Telefonie von 1&1 gestört seit 10:50");
    assert_eq!(
        labels(&m.menu),
        [
            "[Telefonie von 1&1 gestört — vor 2 min geprüft]".to_string(),
            format!("[{reason}]"),
            "---".into(),
            "Jetzt prüfen".into(),
            "Kanäle von 1&1 > 1&1 auf X (@1und1) | Hotline 0721 9600 | allestörungen.de: 1&1 (Crowd-Meldungen, nicht offiziell)".into(),
            "Dashboard öffnen".into(),
            "Meldungen fortsetzen (pausiert bis 11:50)".into(),
            "Beim Anmelden starten (true)".into(),
            "---".into(),
            "Beenden".into(),
        ]
    );
}

#[test]
fn every_verdict_has_its_icon_and_words() {
    let ch = channels();
    for verdict in Verdict::ALL {
        let s = status(verdict, at(9, 0, 0), None);
        for lang in [Lang::En, Lang::De] {
            let m = tray_model(&s, &ctx(&ch), lang, at(9, 0, 5));
            assert_eq!(m.icon, verdict);
            assert!(m.title.len() > "dialtone: ".len(), "{verdict} {lang:?}");
            assert!(!m.menu.is_empty());
        }
    }
    let words: std::collections::HashSet<_> = Verdict::ALL
        .into_iter()
        .map(|v| model::verdict_words(v, Some("1&1"), Lang::De))
        .collect();
    assert_eq!(words.len(), Verdict::ALL.len());
}

#[test]
fn first_run_says_not_set_up() {
    let s = status(Verdict::Unknown, at(9, 0, 0), None);
    let mut c = ctx(&[]);
    c.configured = false;
    c.provider = None;
    let en = tray_model(&s, &c, Lang::En, at(9, 0, 1));
    let de = tray_model(&s, &c, Lang::De, at(9, 0, 1));
    assert_eq!(en.icon, Verdict::Unknown);
    assert_eq!(en.title, "dialtone: Not set up");
    assert_eq!(de.title, "dialtone: Nicht eingerichtet");
    assert!(labels(&de.menu).contains(&"Im Dashboard einrichten".to_string()));
    assert!(!labels(&en.menu).iter().any(|l| l.contains("channels")));
}

#[test]
fn an_older_since_shows_the_date() {
    let s = status(
        Verdict::InternetDown,
        at(9, 0, 0) - chrono::TimeDelta::days(2),
        None,
    );
    let m = tray_model(&s, &ctx(&[]), Lang::De, at(9, 0, 0));
    assert_eq!(m.tooltip, "Internet gestört seit 29.11. 10:00");
    let m = tray_model(&s, &ctx(&[]), Lang::En, at(9, 0, 0));
    assert_eq!(m.tooltip, "Internet is down since 29 Nov 10:00");
}

#[test]
fn menu_ids_round_trip_and_foreign_ids_are_ignored() {
    for action in [
        MenuAction::CheckNow,
        MenuAction::OpenChannel(3),
        MenuAction::OpenDashboard,
        MenuAction::PauseAlerts,
        MenuAction::ResumeAlerts,
        MenuAction::ToggleStartAtLogin,
        MenuAction::Quit,
    ] {
        assert_eq!(MenuAction::from_id(&action.id()), Some(action));
    }
    for foreign in ["", "channel:", "channel:-1", "channel:x", "7", "quit "] {
        assert_eq!(MenuAction::from_id(foreign), None, "{foreign:?}");
    }
}

#[test]
fn elapsed_rounds_down_in_units() {
    assert_eq!(elapsed(at(9, 0, 0), at(9, 0, 59)), "59 s");
    assert_eq!(elapsed(at(9, 0, 0), at(9, 5, 1)), "5 min");
    assert_eq!(elapsed(at(9, 0, 0), at(12, 0, 0)), "3 h");
    // A clock step backwards never shows a negative age.
    assert_eq!(elapsed(at(9, 0, 5), at(9, 0, 0)), "0 s");
}

#[test]
fn crowd_channels_are_labelled_as_crowd() {
    let crowd = &channels()[2];
    // A user's own crowd entry without the marker still gets it.
    let mut own = crowd.clone();
    own.label = "downdetector".into();
    // A German crowd label keeps one marker, in the user's language.
    let mut own_de = own.clone();
    own_de.label_de = Some("Störungsmelder (Crowd-Meldungen, nicht offiziell)".into());
    for (channel, lang, shown) in [
        (
            crowd,
            Lang::En,
            "allestörungen.de: 1&1 (crowd reports, not official)",
        ),
        (
            crowd,
            Lang::De,
            "allestörungen.de: 1&1 (Crowd-Meldungen, nicht offiziell)",
        ),
        (&own, Lang::En, "downdetector (crowd reports, not official)"),
        (
            &own_de,
            Lang::De,
            "Störungsmelder (Crowd-Meldungen, nicht offiziell)",
        ),
        (
            &own_de,
            Lang::En,
            "downdetector (crowd reports, not official)",
        ),
    ] {
        assert_eq!(channel.shown_label(lang), shown, "{lang:?}: {channel:?}");
    }
}

#[test]
fn channel_labels_follow_the_language_with_english_as_fallback() {
    let all = channels();
    assert_eq!(all[0].shown_label(Lang::De), "1&1 auf X (@1und1)");
    assert_eq!(all[0].shown_label(Lang::En), "1&1 on X (@1und1)");
    // No German label: the English one in both.
    assert_eq!(all[1].shown_label(Lang::De), "Hotline 0721 9600");
}

#[test]
fn the_router_layer_is_named_in_title_tooltip_and_reason() {
    let router_down = diagnosis(
        Verdict::InternetDown,
        Some(router_disconnected(Some("ERROR_NO_CARRIER"))),
        at(9, 0, 0),
    );
    let st = status(Verdict::InternetDown, at(8, 58, 0), Some(router_down));
    let ch = channels();
    let ctx = ctx(&ch);
    let en = tray_model(&st, &ctx, Lang::En, at(9, 0, 10));
    assert_eq!(en.tooltip, "Router reports: internet down since 09:58");
    assert_eq!(
        label_texts(&en.menu)[..2],
        [
            "Router reports: internet down — checked 10 s ago",
            // The plain reason: the router's own word ("Disconnected", ERROR_NO_CARRIER) is
            // in the dashboard's details and `check --verbose`.
            "Your router is not connected to the internet",
        ]
    );
    let de = tray_model(&st, &ctx, Lang::De, at(9, 0, 10));
    assert_eq!(de.tooltip, "Router meldet: Internet getrennt seit 09:58");

    let not_registered = diagnosis(
        Verdict::AccountProblem,
        Some((
            Layer::Account,
            Fact::RouterVoip {
                index: 0,
                number: Some("4930123456".into()),
                status: dialtone_core::router::VoipStatus::NotRegistered,
            },
        )),
        at(9, 0, 0),
    );
    let st = status(Verdict::AccountProblem, at(8, 58, 0), Some(not_registered));
    let en = tray_model(&st, &ctx, Lang::En, at(9, 0, 10));
    assert_eq!(en.tooltip, "Router not registered with 1&1 since 09:58");
    let de = tray_model(&st, &ctx, Lang::De, at(9, 0, 10));
    assert_eq!(de.tooltip, "Router bei 1&1 nicht angemeldet seit 09:58");
}

#[test]
fn the_worst_configured_line_is_shown_first_of_equals() {
    use super::model::worst_line;
    use Verdict::*;
    assert_eq!(worst_line(&[]), 0);
    assert_eq!(worst_line(&[(Healthy, true)]), 0);
    assert_eq!(worst_line(&[(Healthy, true), (ProviderOutage, true)]), 1);
    assert_eq!(
        worst_line(&[(InternetDown, true), (ProviderOutage, true)]),
        0
    );
    // Equally bad: the config's first one.
    assert_eq!(
        worst_line(&[
            (Healthy, true),
            (AccountProblem, true),
            (AccountProblem, true)
        ]),
        1
    );
    // A line not checked yet never hides a known problem, nor does a healthy one.
    assert_eq!(worst_line(&[(Unknown, true), (Degraded, true)]), 1);
    assert_eq!(worst_line(&[(Unknown, true), (Healthy, true)]), 1);
    // A line without provider or registrar has nothing to report.
    assert_eq!(worst_line(&[(Healthy, true), (LocalProblem, false)]), 0);
    assert_eq!(worst_line(&[(Unknown, false), (Unknown, false)]), 0);
}

#[test]
fn several_lines_name_the_shown_one_and_list_each() {
    use super::model::TrayLine;
    let ch = channels();
    let lines = [
        TrayLine {
            label: "Home",
            verdict: Verdict::Healthy,
            configured: true,
            provider: Some("1&1"),
        },
        TrayLine {
            label: "Office",
            verdict: Verdict::ProviderOutage,
            configured: true,
            provider: None,
        },
    ];
    let ctx = TrayContext {
        lines: &lines,
        shown: Some("Office"),
        provider: None,
        ..ctx(&ch)
    };
    let d = diagnosis(
        Verdict::ProviderOutage,
        Some((
            Layer::Provider,
            Fact::NoSipTarget {
                registrar: "sip.office.example".into(),
            },
        )),
        at(9, 0, 0),
    );
    let st = status(Verdict::ProviderOutage, at(8, 58, 0), Some(d));
    let en = tray_model(&st, &ctx, Lang::En, at(9, 0, 10));
    assert_eq!(en.icon, Verdict::ProviderOutage);
    assert_eq!(
        en.tooltip,
        "Office: Provider's telephony is down since 09:58"
    );
    assert_eq!(en.title, "dialtone: Office: Provider's telephony is down");
    let texts = label_texts(&en.menu);
    assert!(texts[0].starts_with("Office: Provider's telephony is down — checked 10 s ago"));
    assert!(
        texts[1].starts_with("Office: "),
        "the reason names the line: {texts:?}"
    );
    assert!(texts.contains(&"Home: Line works"), "{texts:?}");
    assert!(
        texts.contains(&"Office: Provider's telephony is down"),
        "{texts:?}"
    );
    let de = tray_model(&st, &ctx, Lang::De, at(9, 0, 10));
    assert_eq!(
        de.tooltip,
        "Office: Telefonie des Anbieters gestört seit 09:58"
    );
    assert!(de
        .menu
        .contains(&MenuEntry::Label("Home: Anschluss funktioniert".into())));
    // One line: nothing of this shows.
    let one = tray_model(
        &st,
        &TrayContext {
            lines: &lines[1..],
            shown: Some("Office"),
            provider: None,
            ..ctx
        },
        Lang::En,
        at(9, 0, 10),
    );
    assert_eq!(one.tooltip, "Provider's telephony is down since 09:58");
    assert!(!one
        .menu
        .iter()
        .any(|e| matches!(e, MenuEntry::Label(t) if t.starts_with("Office"))));
}

#[test]
fn a_registrar_never_heard_from_is_not_confirmed_yet_rather_than_not_checked() {
    let ch = channels();
    let silent = Fact::RegistrarNeverAnswered {
        registrar: "sip.1und1.de".into(),
        name_not_found: false,
    };
    let s = checked(Verdict::Unknown, Some((Layer::Provider, silent)));
    let en = tray_model(&s, &ctx(&ch), Lang::En, at(9, 54, 0));
    assert_eq!(en.icon, Verdict::Unknown);
    assert_eq!(
        en.title,
        "dialtone: Not confirmed yet: 1&1 has not answered"
    );
    let de = tray_model(&s, &ctx(&ch), Lang::De, at(9, 54, 0));
    assert_eq!(
        de.tooltip,
        "Noch nicht bestätigt: 1&1 hat nicht geantwortet"
    );
    // Before any check it still says so.
    let fresh = status(Verdict::Unknown, at(9, 50, 0), None);
    let m = tray_model(&fresh, &ctx(&ch), Lang::En, at(9, 54, 0));
    assert_eq!(m.title, "dialtone: Not checked yet");
}

#[test]
fn a_suspended_login_offers_one_more_try_in_the_menu() {
    let ch = channels();
    let held = Fact::AccountSuspended {
        since: at(9, 0, 0),
        code: 403,
    };
    let s = checked(Verdict::AccountProblem, Some((Layer::Account, held)));
    for (lang, item) in [
        (Lang::En, "Try the login again"),
        (Lang::De, "Anmeldung erneut versuchen"),
    ] {
        let m = tray_model(&s, &ctx(&ch), lang, at(9, 54, 0));
        let retry = m.menu.iter().find_map(|e| match e {
            MenuEntry::Action {
                action: MenuAction::RetryLogin,
                text,
            } => Some(text.clone()),
            _ => None,
        });
        assert_eq!(
            retry.as_deref(),
            Some(item),
            "{lang:?}: {:?}",
            labels(&m.menu)
        );
    }
    // A working line offers no such item.
    let fine = checked(Verdict::Healthy, None);
    let m = tray_model(&fine, &ctx(&ch), Lang::En, at(9, 54, 0));
    assert!(!labels(&m.menu).iter().any(|l| l == "Try the login again"));
}

/// The pause item says what it pauses: the desktop notifications, and the alerts only when
/// this agent is the one sending them (a `watch` elsewhere is not paused by it).
#[test]
fn the_pause_item_names_alerts_only_when_this_agent_sends_them() {
    let ch = channels();
    let s = checked(Verdict::Healthy, None);
    let item = |sends_alerts: bool, paused: bool, lang: Lang| {
        let mut c = ctx(&ch);
        c.sends_alerts = sends_alerts;
        c.alerts_paused_until = paused.then(|| at(10, 50, 0));
        let m = tray_model(&s, &c, lang, at(9, 54, 0));
        labels(&m.menu)
            .into_iter()
            .find(|l| l.to_lowercase().contains("paus"))
            .unwrap()
    };
    let cases = [
        (false, false, Lang::En, "Pause notifications for 1 hour"),
        (
            true,
            false,
            Lang::En,
            "Pause notifications and alerts for 1 hour",
        ),
        (
            false,
            true,
            Lang::En,
            "Resume notifications (paused until 11:50)",
        ),
        (
            true,
            true,
            Lang::En,
            "Resume notifications and alerts (paused until 11:50)",
        ),
        (false, false, Lang::De, "Meldungen 1 Stunde pausieren"),
        (
            true,
            false,
            Lang::De,
            "Meldungen und Alarme 1 Stunde pausieren",
        ),
        (
            false,
            true,
            Lang::De,
            "Meldungen fortsetzen (pausiert bis 11:50)",
        ),
        (
            true,
            true,
            Lang::De,
            "Meldungen und Alarme fortsetzen (pausiert bis 11:50)",
        ),
    ];
    for (sends, paused, lang, want) in cases {
        assert_eq!(item(sends, paused, lang), want, "{sends} {paused} {lang:?}");
    }
}
