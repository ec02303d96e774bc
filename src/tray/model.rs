//! What the tray shows, as plain data: [`tray_model`] turns the agent's status into the icon,
//! tooltip, title and menu. Pure (no I/O, no clock): the time is passed in, so tests pin it.
//! With several lines the tray shows the worst of them ([`worst_line`]), names it, and lists
//! every line with its state; with one line it looks as it always did.

use chrono::{DateTime, FixedOffset, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact};
use dialtone_core::locale::Lang;
use dialtone_core::router::VoipStatus;
use dialtone_core::verdict::{Layer, Verdict};
use dialtone_engine::monitor::Status;
use dialtone_ipc::protocol::ChannelView;

/// Everything the tray shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayModel {
    /// The verdict the icon shows (changes only with the confirmed one; not set up:
    /// [`Verdict::Unknown`]).
    pub icon: Verdict,
    /// The tooltip: the verdict in words and since when.
    pub tooltip: String,
    /// The title (some hosts show it next to the icon).
    pub title: String,
    /// The menu, top to bottom.
    pub menu: Vec<MenuEntry>,
}

/// One menu entry.
#[derive(Debug, Clone, PartialEq)]
pub enum MenuEntry {
    /// Text only (status line, reason): shown disabled.
    Label(String),
    /// A clickable item.
    Action {
        /// What clicking does.
        action: MenuAction,
        /// The label.
        text: String,
    },
    /// A check item.
    Check {
        /// What clicking does.
        action: MenuAction,
        /// The label.
        text: String,
        /// Whether it is ticked.
        checked: bool,
    },
    /// A submenu.
    Submenu {
        /// The label.
        text: String,
        /// Its entries.
        entries: Vec<MenuEntry>,
    },
    /// A separator line.
    Separator,
}

/// What a menu click asks the agent to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MenuAction {
    /// Check every layer now.
    CheckNow,
    /// Open the provider's channel with this index in [`TrayContext::channels`].
    OpenChannel(usize),
    /// Start the dashboard.
    OpenDashboard,
    /// Lift the suspension after a rejected login and try it once more.
    RetryLogin,
    /// Pause notifications for an hour.
    PauseAlerts,
    /// Resume notifications.
    ResumeAlerts,
    /// Toggle the XDG autostart entry.
    ToggleStartAtLogin,
    /// Stop the agent.
    Quit,
}

impl MenuAction {
    /// The menu item id this action travels under.
    pub fn id(self) -> String {
        match self {
            MenuAction::CheckNow => "check_now".into(),
            MenuAction::OpenChannel(i) => format!("channel:{i}"),
            MenuAction::OpenDashboard => "open_dashboard".into(),
            MenuAction::RetryLogin => "retry_login".into(),
            MenuAction::PauseAlerts => "pause_alerts".into(),
            MenuAction::ResumeAlerts => "resume_alerts".into(),
            MenuAction::ToggleStartAtLogin => "start_at_login".into(),
            MenuAction::Quit => "quit".into(),
        }
    }

    /// The action behind a menu item id; `None` for ids we did not make.
    pub fn from_id(id: &str) -> Option<MenuAction> {
        Some(match id {
            "check_now" => MenuAction::CheckNow,
            "open_dashboard" => MenuAction::OpenDashboard,
            "retry_login" => MenuAction::RetryLogin,
            "pause_alerts" => MenuAction::PauseAlerts,
            "resume_alerts" => MenuAction::ResumeAlerts,
            "start_at_login" => MenuAction::ToggleStartAtLogin,
            "quit" => MenuAction::Quit,
            other => MenuAction::OpenChannel(other.strip_prefix("channel:")?.parse().ok()?),
        })
    }
}

/// One watched line as the tray lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrayLine<'a> {
    /// Its label.
    pub label: &'a str,
    /// Its confirmed verdict.
    pub verdict: Verdict,
    /// Whether it has a provider or registrar.
    pub configured: bool,
    /// Its provider's display name, when known.
    pub provider: Option<&'a str>,
}

/// The line the tray stands for: the one with the worst confirmed verdict by
/// [`Verdict::severity`] among the configured lines (`(verdict, configured)` each), the first
/// of equally bad ones (the config's order is the user's), the first line when none is
/// configured. `Unknown` ranks lowest: a line not yet checked never hides a known outage.
pub fn worst_line(lines: &[(Verdict, bool)]) -> usize {
    lines
        .iter()
        .enumerate()
        .filter(|(_, (_, configured))| *configured)
        // max_by_key keeps the last of equals; the reversed index makes it the first.
        .max_by_key(|(i, (verdict, _))| (verdict.severity(), std::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| i)
}

/// What the tray needs besides the monitor's status.
#[derive(Debug, Clone, Copy)]
pub struct TrayContext<'a> {
    /// Every line, in the config's order; with more than one, the tray names the line it shows
    /// and lists them all. Empty or one: the single-line tray.
    pub lines: &'a [TrayLine<'a>],
    /// The label of the line whose status is shown (the worst, see [`worst_line`]).
    pub shown: Option<&'a str>,
    /// Whether a provider or registrar is configured (first run: `false`).
    pub configured: bool,
    /// The provider's display name, when known.
    pub provider: Option<&'a str>,
    /// The provider's channels (catalog order).
    pub channels: &'a [ChannelView],
    /// Notifications (and, with [`TrayContext::sends_alerts`], new alerts) are paused until
    /// then.
    pub alerts_paused_until: Option<DateTime<Utc>>,
    /// Whether this agent sends the config's `[[alert]]` targets their alerts (so the pause
    /// covers them too); not when it has none or a `dialtone watch` sends them.
    pub sends_alerts: bool,
    /// Whether the autostart entry exists.
    pub start_at_login: bool,
    /// The user's UTC offset, for "since 09:12".
    pub offset: FixedOffset,
    /// Why the line monitor stopped, while it is being restarted.
    pub monitor_failure: Option<&'a str>,
}

/// The verdict in a few words, for the title, tooltip and status line.
pub fn verdict_words(verdict: Verdict, provider: Option<&str>, lang: Lang) -> String {
    let de = lang == Lang::De;
    match (verdict, de) {
        (Verdict::Healthy, false) => "Line works".into(),
        (Verdict::Healthy, true) => "Anschluss funktioniert".into(),
        (Verdict::Degraded, false) => "Line works, but slow".into(),
        (Verdict::Degraded, true) => "Anschluss funktioniert, aber langsam".into(),
        (Verdict::ProviderOutage, false) => match provider {
            Some(p) => format!("{p} telephony is down"),
            None => "Provider's telephony is down".into(),
        },
        (Verdict::ProviderOutage, true) => match provider {
            Some(p) => format!("Telefonie von {p} gestört"),
            None => "Telefonie des Anbieters gestört".into(),
        },
        (Verdict::AccountProblem, false) => "Login or registration problem".into(),
        (Verdict::AccountProblem, true) => "Problem mit Anmeldung oder Registrierung".into(),
        (Verdict::InternetDown, false) => "Internet is down".into(),
        (Verdict::InternetDown, true) => "Internet gestört".into(),
        (Verdict::LocalProblem, false) => "No connection on this computer or home network".into(),
        (Verdict::LocalProblem, true) => {
            "Keine Verbindung an diesem Computer oder im Heimnetz".into()
        }
        (Verdict::Unknown, false) => "Not checked yet".into(),
        (Verdict::Unknown, true) => "Noch nicht geprüft".into(),
    }
}

/// The verdict in a few words, naming the router when its own view decided it: "Router
/// reports: internet down" rather than "Internet is down", "Router not registered with 1&1"
/// rather than "Login or registration problem". Otherwise [`verdict_words`].
pub fn headline(
    verdict: Verdict,
    diagnosis: Option<&Diagnosis>,
    provider: Option<&str>,
    lang: Lang,
) -> String {
    let router_decided = diagnosis.filter(|d| d.verdict == verdict).and_then(|d| {
        let failing = d.layer(d.failing_layer?)?;
        let router_words = failing.evidence.iter().any(|f| {
            matches!(
                f,
                Fact::RouterVoip {
                    status: VoipStatus::NotRegistered,
                    ..
                } | Fact::RouterConnection {
                    connected: false,
                    ..
                } | Fact::RouterLink { up: false, .. }
            )
        });
        router_words.then_some(failing.layer)
    });
    // A registrar never heard from here is not an outage, and not "not checked" either: it
    // was checked and stayed silent, which may be its habit with computers (issue: field
    // truth). Say that the line is not confirmed yet, naming who has not answered.
    let never_answered = verdict == Verdict::Unknown
        && diagnosis
            .filter(|d| d.verdict == verdict)
            .is_some_and(Diagnosis::registrar_never_answered);
    if never_answered {
        return match (lang, provider) {
            (Lang::En, Some(p)) => format!("Not confirmed yet: {p} has not answered"),
            (Lang::En, None) => "Not confirmed yet: the registrar has not answered".into(),
            (Lang::De, Some(p)) => format!("Noch nicht bestätigt: {p} hat nicht geantwortet"),
            (Lang::De, None) => "Noch nicht bestätigt: der Registrar hat nicht geantwortet".into(),
        };
    }
    match (verdict, router_decided, provider) {
        (Verdict::InternetDown, Some(Layer::Router), _) => lang
            .pick(
                "Router reports: internet down",
                "Router meldet: Internet getrennt",
            )
            .to_string(),
        (Verdict::AccountProblem, Some(Layer::Account), Some(p)) => match lang {
            Lang::En => format!("Router not registered with {p}"),
            Lang::De => format!("Router bei {p} nicht angemeldet"),
        },
        (Verdict::AccountProblem, Some(Layer::Account), None) => lang
            .pick(
                "Router not registered with the provider",
                "Router beim Anbieter nicht angemeldet",
            )
            .to_string(),
        _ => verdict_words(verdict, provider, lang),
    }
}

/// "09:12" today, else "3 Dec 09:12" / "03.12. 09:12".
pub fn clock_time(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    offset: FixedOffset,
    lang: Lang,
) -> String {
    let local = at.with_timezone(&offset);
    if local.date_naive() == now.with_timezone(&offset).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        match lang {
            Lang::En => local.format("%-d %b %H:%M").to_string(),
            Lang::De => local.format("%d.%m. %H:%M").to_string(),
        }
    }
}

/// "12 s", "5 min", "3 h" (the same in both languages).
pub fn elapsed(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - from).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

/// The tray for this status.
pub fn tray_model(
    status: &Status,
    ctx: &TrayContext<'_>,
    lang: Lang,
    now: DateTime<Utc>,
) -> TrayModel {
    let t = |en: &str, de: &str| lang.pick(en, de).to_string();
    // "Office: " before what concerns the shown line, when there are several to tell apart.
    let named = match (ctx.lines.len() > 1, ctx.shown) {
        (true, Some(label)) => format!("{label}: "),
        _ => String::new(),
    };
    let words = if ctx.configured {
        headline(
            status.verdict,
            status.diagnosis.as_ref(),
            ctx.provider,
            lang,
        )
    } else {
        t("Not set up", "Nicht eingerichtet")
    };
    let since = clock_time(status.since, now, ctx.offset, lang);
    let tooltip = if !ctx.configured {
        t(
            "Not set up: choose your provider in the dashboard.",
            "Nicht eingerichtet: wählen Sie Ihren Anbieter im Dashboard.",
        )
    } else if status.verdict == Verdict::Unknown {
        format!("{named}{words}")
    } else {
        match lang {
            Lang::En => format!("{named}{words} since {since}"),
            Lang::De => format!("{named}{words} seit {since}"),
        }
    };
    let checked = status.latest.as_ref().map(|d| elapsed(d.checked_at, now));
    let status_line = match (&checked, lang) {
        (Some(ago), Lang::En) => format!("{named}{words} — checked {ago} ago"),
        (Some(ago), Lang::De) => format!("{named}{words} — vor {ago} geprüft"),
        (None, _) => format!("{named}{words}"),
    };
    let mut menu = vec![MenuEntry::Label(status_line)];
    if let Some(why) = ctx.monitor_failure {
        menu.push(MenuEntry::Label(match lang {
            Lang::En => format!("Monitoring stopped ({why}); restarting…"),
            Lang::De => format!("Überwachung angehalten ({why}); wird neu gestartet …"),
        }));
    }
    let reason = (ctx.configured && !status.verdict.is_working())
        .then(|| status.diagnosis.as_ref().and_then(|d| d.plain_reason(lang)))
        .flatten();
    if let Some(reason) = reason {
        menu.push(MenuEntry::Label(format!("{named}{reason}")));
    }
    if ctx.lines.len() > 1 {
        // Every line with its own state, so the healthy ones are seen to be healthy too.
        menu.push(MenuEntry::Separator);
        for line in ctx.lines {
            let state = if line.configured {
                verdict_words(line.verdict, line.provider, lang)
            } else {
                t("Not set up", "Nicht eingerichtet")
            };
            menu.push(MenuEntry::Label(format!("{}: {state}", line.label)));
        }
    }
    menu.push(MenuEntry::Separator);
    menu.push(MenuEntry::Action {
        action: MenuAction::CheckNow,
        text: t("Check now", "Jetzt prüfen"),
    });
    if status
        .latest
        .as_ref()
        .is_some_and(Diagnosis::login_suspended)
    {
        // One attempt with the same password, on the user's word (they fixed it at the
        // provider, or the provider lifted a lock).
        menu.push(MenuEntry::Action {
            action: MenuAction::RetryLogin,
            text: t("Try the login again", "Anmeldung erneut versuchen"),
        });
    }
    if !ctx.channels.is_empty() {
        let text = match (ctx.provider, lang) {
            (Some(p), Lang::En) => format!("{p}'s channels"),
            (Some(p), Lang::De) => format!("Kanäle von {p}"),
            (None, _) => t("Provider's channels", "Kanäle des Anbieters"),
        };
        let entries = ctx
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| MenuEntry::Action {
                action: MenuAction::OpenChannel(i),
                text: c.shown_label(lang),
            })
            .collect();
        menu.push(MenuEntry::Submenu { text, entries });
    }
    menu.push(MenuEntry::Action {
        action: MenuAction::OpenDashboard,
        text: if ctx.configured {
            t("Open dashboard", "Dashboard öffnen")
        } else {
            t("Set up in the dashboard", "Im Dashboard einrichten")
        },
    });
    // Says what the pause covers: this agent's desktop notifications, and its alerts to the
    // config's targets only when it is the one sending them (a `watch` elsewhere is not paused).
    let what = match (ctx.sends_alerts, lang) {
        (false, Lang::En) => "notifications",
        (false, Lang::De) => "Meldungen",
        (true, Lang::En) => "notifications and alerts",
        (true, Lang::De) => "Meldungen und Alarme",
    };
    match ctx.alerts_paused_until.filter(|until| *until > now) {
        Some(until) => {
            let at = clock_time(until, now, ctx.offset, lang);
            menu.push(MenuEntry::Action {
                action: MenuAction::ResumeAlerts,
                text: match lang {
                    Lang::En => format!("Resume {what} (paused until {at})"),
                    Lang::De => format!("{what} fortsetzen (pausiert bis {at})"),
                },
            });
        }
        None => menu.push(MenuEntry::Action {
            action: MenuAction::PauseAlerts,
            text: match lang {
                Lang::En => format!("Pause {what} for 1 hour"),
                Lang::De => format!("{what} 1 Stunde pausieren"),
            },
        }),
    }
    menu.push(MenuEntry::Check {
        action: MenuAction::ToggleStartAtLogin,
        text: t("Start at login", "Beim Anmelden starten"),
        checked: ctx.start_at_login,
    });
    menu.push(MenuEntry::Separator);
    menu.push(MenuEntry::Action {
        action: MenuAction::Quit,
        text: t("Quit", "Beenden"),
    });
    TrayModel {
        icon: if ctx.configured {
            status.verdict
        } else {
            Verdict::Unknown
        },
        title: format!("dialtone: {named}{words}"),
        tooltip,
        menu,
    }
}
