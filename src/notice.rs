//! Desktop notifications on confirmed verdict changes: the words ([`notice`], pure) and the
//! [`Notifier`] that shows them through the platform seam's notifier
//! ([`dialtone_platform::notify`]; on Linux the freedesktop notification service).
//!
//! One notification per outage: a change between two outage verdicts replaces the open
//! notification, and the recovery notice replaces it too, so the user sees at most one
//! dialtone notification about the line at a time.

use crate::tray::model::{clock_time, headline};
use chrono::{FixedOffset, TimeDelta};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::Verdict;
use dialtone_engine::feed::StatusPost;
use dialtone_engine::monitor::VerdictChanged;
use dialtone_ipc::protocol::{ChannelKind, ChannelView};
use dialtone_platform::notify;
use std::sync::mpsc;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// The line stopped working (or the kind of outage changed).
    Outage,
    /// The line works again after an outage.
    Recovery,
    /// The line works but got slow, or stopped being slow.
    Quality,
    /// Something about dialtone itself, said once (the tray's first-run hint): it neither
    /// replaces the line's notification nor is replaced by it.
    Hint,
}

/// A button on the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoticeAction {
    /// The action key sent back by the notification server.
    pub key: String,
    /// The button's label.
    pub label: String,
    /// The link it opens (a catalog channel; checked again before it is opened).
    pub url: String,
}

/// One notification's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// What kind of news it is.
    pub kind: NoticeKind,
    /// The headline.
    pub summary: String,
    /// The explanation: whose side the problem is on, the provider's latest post, or how long
    /// the outage lasted.
    pub body: String,
    /// Buttons (only shown where the server supports actions).
    pub actions: Vec<NoticeAction>,
}

/// The provider as a notification names it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProviderRef<'a> {
    /// Display name, when known.
    pub name: Option<&'a str>,
    /// Its channels (catalog order).
    pub channels: &'a [ChannelView],
}

/// How old an official post may be and still be quoted: an old "Störung behoben" from last week
/// says nothing about today's outage.
pub(crate) const POST_MAX_AGE: TimeDelta = TimeDelta::hours(12);

/// "2 h 5 min", "12 min", "40 s".
pub(crate) fn duration_words(d: TimeDelta, lang: Lang) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => match lang {
            Lang::En => format!("{d} d {h} h"),
            Lang::De => format!("{d} T {h} h"),
        },
    }
}

/// The notification for a confirmed change; `None` when there is nothing to tell (the first
/// verdict after start being a working one, or a change to "unknown").
pub(crate) fn notice(
    change: &VerdictChanged,
    provider: ProviderRef<'_>,
    latest_post: Option<&StatusPost>,
    lang: Lang,
    offset: FixedOffset,
) -> Option<Notice> {
    let (from, to) = (change.from, change.to);
    if to == Verdict::Unknown || (from == Verdict::Unknown && to.is_working()) {
        return None;
    }
    let name = provider.name.or(change.diagnosis.provider_name.as_deref());
    if from.is_outage() && to.is_working() {
        let lasted = duration_words(change.since - change.from_since, lang);
        let start = clock_time(change.from_since, change.since, offset, lang);
        let end = clock_time(change.since, change.since, offset, lang);
        let (summary, body) = match lang {
            Lang::En => (
                "Your line works again".to_string(),
                format!("The outage lasted {lasted} ({start}–{end})."),
            ),
            Lang::De => (
                "Ihr Anschluss funktioniert wieder".to_string(),
                format!("Die Störung dauerte {lasted} ({start}–{end})."),
            ),
        };
        return Some(Notice {
            kind: NoticeKind::Recovery,
            summary,
            body,
            actions: Vec::new(),
        });
    }
    let kind = if to.is_working() {
        NoticeKind::Quality
    } else {
        NoticeKind::Outage
    };
    let summary = if to == Verdict::Healthy {
        lang.pick(
            "Your line is fast again",
            "Ihr Anschluss ist wieder schnell",
        )
        .to_string()
    } else {
        headline(to, Some(&change.diagnosis), name, lang)
    };
    let mut body = change.diagnosis.summary(lang);
    let fresh = latest_post.filter(|post| {
        post.published
            .is_some_and(|at| change.at - at <= POST_MAX_AGE && at - change.at <= POST_MAX_AGE)
    });
    if let (Some(post), NoticeKind::Outage) = (fresh, kind) {
        let who = name.unwrap_or(lang.pick("Provider", "Anbieter"));
        let when = post
            .published
            .map(|at| clock_time(at, change.at, offset, lang))
            .unwrap_or_default();
        body.push('\n');
        body.push_str(&match lang {
            Lang::En => format!("{who} status, {when}: {}", post.title),
            Lang::De => format!("{who}-Status, {when}: {}", post.title),
        });
    }
    let mut actions = Vec::new();
    if kind == NoticeKind::Outage {
        let who = name.unwrap_or(lang.pick("the provider", "den Anbieter"));
        let first = |kind: ChannelKind| provider.channels.iter().position(|c| c.kind == kind);
        if let Some(i) = first(ChannelKind::X) {
            actions.push(NoticeAction {
                key: format!("channel:{i}"),
                label: match lang {
                    Lang::En => format!("Open {who} on X"),
                    Lang::De => format!("{who} auf X öffnen"),
                },
                url: provider.channels[i].url.clone(),
            });
        }
        if let Some(i) = first(ChannelKind::StatusPage) {
            actions.push(NoticeAction {
                key: format!("channel:{i}"),
                label: lang
                    .pick("Open status page", "Statusseite öffnen")
                    .to_string(),
                url: provider.channels[i].url.clone(),
            });
        }
    }
    Some(Notice {
        kind,
        summary,
        body,
        actions,
    })
}

/// The tray's first-run hint where the OS may hide a new icon (Windows 11's overflow): where
/// the icon is and how to pin it.
pub(crate) fn overflow_hint(lang: Lang) -> Notice {
    let words = dialtone_core::words::overflow_hint(lang);
    Notice {
        kind: NoticeKind::Hint,
        summary: words.summary.to_string(),
        body: words.body.to_string(),
        actions: Vec::new(),
    }
}

/// A notification waiting to be shown, with the links its buttons may open.
struct Job {
    notice: Notice,
    allowed: Vec<String>,
}

/// Shows notices one after another on a thread of its own: the notifier's calls block (on
/// Linux D-Bus calls), and the monitor must never wait for them.
pub(crate) struct Notifier {
    jobs: mpsc::Sender<Job>,
}

impl Notifier {
    /// Starts the notifier thread; `None` when no thread could be started (then nothing is
    /// shown, and the agent goes on).
    pub(crate) fn spawn() -> Option<Notifier> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("dialtone-notify".into())
            .spawn(move || worker(inbox));
        match started {
            Ok(_) => Some(Notifier { jobs }),
            Err(e) => {
                tracing::warn!("cannot start the notification thread: {e}; no notifications");
                None
            }
        }
    }

    /// Queues a notice; `allowed` are the links (catalog and settings) its buttons may open.
    pub(crate) fn show(&self, notice: Notice, allowed: Vec<String>) {
        let _ = self.jobs.send(Job { notice, allowed });
    }
}

fn worker(inbox: mpsc::Receiver<Job>) {
    // The notification about the outage in progress, replaced by the next change.
    let mut current: Option<notify::NotificationId> = None;
    let mut actions_supported: Option<bool> = None;
    let mut warned = false;
    // A replaced notification keeps its id, so the threads waiting on the old and the new one
    // would both see a click on it: only the newest may act.
    let newest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    for (generation, job) in (1u64..).zip(inbox) {
        newest.store(generation, std::sync::atomic::Ordering::SeqCst);
        let supported = *actions_supported.get_or_insert_with(notify::actions_supported);
        let buttons = if supported {
            buttons(&job.notice.actions, &job.allowed)
        } else {
            Vec::new()
        };
        let toast = notify::Toast {
            app: "dialtone",
            summary: &job.notice.summary,
            body: &job.notice.body,
            icon: match job.notice.kind {
                NoticeKind::Outage => notify::Icon::Warning,
                NoticeKind::Recovery | NoticeKind::Quality | NoticeKind::Hint => {
                    notify::Icon::Information
                }
            },
            replaces: match job.notice.kind {
                NoticeKind::Hint => None,
                _ => current,
            },
            actions: &buttons,
        };
        match notify::show(&toast) {
            Ok(handle) => {
                warned = false;
                current = match job.notice.kind {
                    NoticeKind::Outage => Some(handle.id()),
                    NoticeKind::Recovery | NoticeKind::Quality => None,
                    NoticeKind::Hint => current,
                };
                if !buttons.is_empty() {
                    let actions = job.notice.actions.clone();
                    let allowed = job.allowed;
                    let newest = newest.clone();
                    // Waiting for a click blocks until the notification closes: on a thread of
                    // its own, so the next change is shown meanwhile.
                    let _ = std::thread::Builder::new()
                        .name("dialtone-notify-action".into())
                        .spawn(move || {
                            handle.wait_for_action(|key| {
                                if newest.load(std::sync::atomic::Ordering::SeqCst) == generation {
                                    on_action(key, &actions, &allowed);
                                }
                            });
                        });
                }
            }
            Err(e) => {
                if !warned {
                    tracing::warn!(
                        "no desktop notifications ({e}); the tray still shows the line's state"
                    );
                    warned = true;
                }
                // A daemon may come up later (login races): ask for its capabilities again then.
                actions_supported = None;
            }
        }
    }
}

/// The notice's buttons whose links pass the gate, each with its checked link: on Windows a
/// button opens its link itself (the click never comes back to [`on_action`]), so the gate is
/// applied before the button exists.
fn buttons(actions: &[NoticeAction], allowed: &[String]) -> Vec<notify::Action> {
    actions
        .iter()
        .filter_map(|a| {
            let link = crate::link::checked(&a.url, allowed.iter().map(String::as_str))
                .map_err(|e| tracing::warn!("no button for it: {e}"))
                .ok()?;
            Some(notify::Action {
                key: a.key.clone(),
                label: a.label.clone(),
                link: link.as_str().to_string(),
            })
        })
        .collect()
}

fn on_action(key: &str, actions: &[NoticeAction], allowed: &[String]) {
    let Some(action) = actions.iter().find(|a| a.key == key) else {
        return; // "__closed" and the default action
    };
    crate::link::open_if_allowed(&action.url, allowed);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::{self, router_disconnected};
    use chrono::{DateTime, Utc};
    use dialtone_core::diagnosis::{Diagnosis, Fact};
    use dialtone_core::verdict::Layer;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        test_support::at(h, m, 0)
    }

    fn offset() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }

    fn diagnosis(verdict: Verdict, failing: Option<(Layer, Fact)>) -> Diagnosis {
        test_support::diagnosis(verdict, failing, at(8, 52))
    }

    fn change(
        from: Verdict,
        to: Verdict,
        from_since: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> VerdictChanged {
        let failing = (!to.is_working()).then(|| {
            (
                Layer::Provider,
                Fact::NoSipTarget {
                    registrar: "sip.1und1.de".into(),
                },
            )
        });
        test_support::change(from, to, from_since, since, diagnosis(to, failing))
    }

    /// 1&1 went down at 08:55 after a good start at 07:00.
    fn provider_outage() -> VerdictChanged {
        change(
            Verdict::Healthy,
            Verdict::ProviderOutage,
            at(7, 0),
            at(8, 55),
        )
    }

    /// 1&1 with `channels`.
    fn one_and_one(channels: &[ChannelView]) -> ProviderRef<'_> {
        ProviderRef {
            name: Some("1&1"),
            channels,
        }
    }

    fn channels() -> Vec<ChannelView> {
        vec![
            ChannelView {
                kind: ChannelKind::Crowd,
                label: "allestörungen.de".into(),
                label_de: None,
                url: "https://allestoerungen.de/stoerung/1und1/".into(),
            },
            ChannelView {
                kind: ChannelKind::X,
                label: "@1und1".into(),
                label_de: None,
                url: "https://x.com/1und1".into(),
            },
            ChannelView {
                kind: ChannelKind::StatusPage,
                label: "status".into(),
                label_de: None,
                url: "https://status.example.net/".into(),
            },
        ]
    }

    fn post() -> StatusPost {
        StatusPost {
            title: "Störung Telefonie".into(),
            published: Some(at(8, 52)),
            link: None,
        }
    }

    /// The notice of [`provider_outage`] with 1&1's channels and a fresh status post.
    fn provider_outage_notice(lang: Lang) -> Notice {
        let ch = channels();
        notice(
            &provider_outage(),
            one_and_one(&ch),
            Some(&post()),
            lang,
            offset(),
        )
        .unwrap()
    }

    #[test]
    fn outage_in_english_says_whose_side_and_quotes_the_provider() {
        let n = provider_outage_notice(Lang::En);
        assert_eq!(n.kind, NoticeKind::Outage);
        assert_eq!(n.summary, "1&1 telephony is down");
        assert_eq!(
            n.body,
            "Your internet works, but 1&1's telephony is not answering.\n1&1 status, 09:52: Störung Telefonie"
        );
        assert_eq!(
            n.actions,
            [
                NoticeAction {
                    key: "channel:1".into(),
                    label: "Open 1&1 on X".into(),
                    url: "https://x.com/1und1".into()
                },
                NoticeAction {
                    key: "channel:2".into(),
                    label: "Open status page".into(),
                    url: "https://status.example.net/".into()
                },
            ]
        );
    }

    #[test]
    fn a_router_outage_names_the_router_and_quotes_it() {
        let ch = channels();
        let mut c = change(Verdict::Healthy, Verdict::InternetDown, at(7, 0), at(8, 55));
        c.diagnosis = diagnosis(Verdict::InternetDown, Some(router_disconnected(None)));
        let provider = one_and_one(&ch);
        let n = notice(&c, provider, None, Lang::En, offset()).unwrap();
        assert_eq!(n.summary, "Router reports: internet down");
        assert_eq!(
            n.body,
            "Your router reports that its internet connection is down (\"Disconnected\"): your internet access is down."
        );
        let n = notice(&c, provider, None, Lang::De, offset()).unwrap();
        assert_eq!(n.summary, "Router meldet: Internet getrennt");
        assert_eq!(
            n.body,
            "Ihr Router meldet, dass seine Internetverbindung unterbrochen ist („Disconnected“): Ihr Internetzugang ist gestört."
        );
    }

    #[test]
    fn outage_in_german() {
        let n = provider_outage_notice(Lang::De);
        assert_eq!(n.summary, "Telefonie von 1&1 gestört");
        assert_eq!(
            n.body,
            "Ihr Internet funktioniert, aber die Telefonie von 1&1 antwortet nicht.\n1&1-Status, 09:52: Störung Telefonie"
        );
        let labels: Vec<_> = n.actions.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels, ["1&1 auf X öffnen", "Statusseite öffnen"]);
    }

    #[test]
    fn recovery_says_how_long_it_lasted() {
        let c = change(
            Verdict::ProviderOutage,
            Verdict::Healthy,
            at(8, 40),
            at(10, 52),
        );
        let en = notice(
            &c,
            ProviderRef::default(),
            Some(&post()),
            Lang::En,
            offset(),
        )
        .unwrap();
        assert_eq!(en.kind, NoticeKind::Recovery);
        assert_eq!(en.summary, "Your line works again");
        assert_eq!(en.body, "The outage lasted 2 h 12 min (09:40–11:52).");
        assert!(en.actions.is_empty());
        let de = notice(&c, ProviderRef::default(), None, Lang::De, offset()).unwrap();
        assert_eq!(de.summary, "Ihr Anschluss funktioniert wieder");
        assert_eq!(de.body, "Die Störung dauerte 2 h 12 min (09:40–11:52).");
    }

    #[test]
    fn an_old_post_is_not_quoted() {
        let ch = channels();
        let c = provider_outage();
        let old = StatusPost {
            published: Some(at(8, 55) - TimeDelta::days(3)),
            ..post()
        };
        let provider = one_and_one(&ch);
        let n = notice(&c, provider, Some(&old), Lang::En, offset()).unwrap();
        assert!(!n.body.contains("Störung Telefonie"), "{}", n.body);
    }

    #[test]
    fn a_good_start_and_unknown_are_not_news() {
        let c = change(Verdict::Unknown, Verdict::Healthy, at(7, 0), at(7, 0));
        assert_eq!(
            notice(&c, ProviderRef::default(), None, Lang::En, offset()),
            None
        );
        let c = change(Verdict::Healthy, Verdict::Unknown, at(7, 0), at(8, 0));
        assert_eq!(
            notice(&c, ProviderRef::default(), None, Lang::En, offset()),
            None
        );
        // A line that is down at start is news.
        let c = change(
            Verdict::Unknown,
            Verdict::ProviderOutage,
            at(7, 0),
            at(7, 0),
        );
        assert!(notice(&c, ProviderRef::default(), None, Lang::En, offset()).is_some());
    }

    #[test]
    fn slow_and_fast_again_are_quality_notices_without_buttons() {
        let ch = channels();
        let provider = one_and_one(&ch);
        let c = change(Verdict::Healthy, Verdict::Degraded, at(7, 0), at(8, 0));
        let n = notice(&c, provider, None, Lang::De, offset()).unwrap();
        assert_eq!(n.kind, NoticeKind::Quality);
        assert_eq!(n.summary, "Anschluss funktioniert, aber langsam");
        assert!(n.actions.is_empty());
        let c = change(Verdict::Degraded, Verdict::Healthy, at(7, 0), at(8, 0));
        let n = notice(&c, provider, None, Lang::En, offset()).unwrap();
        assert_eq!(n.summary, "Your line is fast again");
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(TimeDelta::seconds(40), Lang::En), "40 s");
        assert_eq!(duration_words(TimeDelta::minutes(12), Lang::En), "12 min");
        assert_eq!(duration_words(TimeDelta::hours(50), Lang::De), "2 T 2 h");
    }

    #[test]
    fn only_links_the_gate_lets_through_become_buttons_with_the_checked_link() {
        let n = provider_outage_notice(Lang::En);
        let both = ["https://x.com/1und1", "https://status.example.net/"].map(String::from);
        let labels: Vec<_> = buttons(&n.actions, &both)
            .into_iter()
            .map(|b| (b.key, b.label, b.link))
            .collect();
        assert_eq!(
            labels,
            [
                ("channel:1", "Open 1&1 on X", "https://x.com/1und1"),
                (
                    "channel:2",
                    "Open status page",
                    "https://status.example.net/"
                ),
            ]
            .map(|(k, l, u)| (k.to_string(), l.to_string(), u.to_string()))
        );
        // A channel that is no longer among the allowed links (settings changed) gets no button:
        // on Windows the button would open it without asking the gate again.
        let x_only = ["https://x.com/1und1".to_string()];
        let keys: Vec<_> = buttons(&n.actions, &x_only)
            .into_iter()
            .map(|b| b.key)
            .collect();
        assert_eq!(keys, ["channel:1"]);
        assert!(buttons(&n.actions, &[]).is_empty());
    }
}
