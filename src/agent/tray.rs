//! The agent's tray: the model it shows (the worst line, its channels, the menu), what a menu
//! click does, and putting the icon up (saying once why when no tray host shows it).

use super::{local_offset, lock, Agent};
use crate::tray::{MenuAction, Panel, TrayContext, TrayHost};
use chrono::Utc;
use std::path::Path;
use std::sync::Arc;

/// The file whose existence says the tray's first-run hint was given, in dialtone's state dir.
const HINT_GIVEN: &str = "tray-hint-given";

/// "Pause notifications (and alerts) for 1 hour".
const PAUSE_FROM_MENU: chrono::TimeDelta =
    chrono::TimeDelta::minutes(dialtone_ipc::protocol::DEFAULT_PAUSE_MINUTES as i64);

impl Agent {
    /// Recomputes the tray from the current state and shows it.
    pub(super) fn refresh_tray(&self) {
        let tray = lock(&self.tray);
        let Some(tray) = tray.as_ref() else {
            return;
        };
        tray.show(self.tray_model());
    }

    /// The line the tray shows: the worst confirmed verdict of all (see
    /// [`crate::tray::model::worst_line`]).
    pub(super) fn shown_line(&self) -> usize {
        let state = lock(&self.state);
        let lines: Vec<(dialtone_core::verdict::Verdict, bool)> = self
            .line_summaries(&state)
            .iter()
            .map(|l| (l.verdict, l.configured))
            .collect();
        crate::tray::model::worst_line(&lines)
    }

    /// The tray model for now.
    pub(crate) fn tray_model(&self) -> crate::tray::TrayModel {
        let shown = self.shown_line();
        let status = self.line_status(shown);
        let channels = self.channels_of(shown);
        let (failure, providers) = {
            let state = lock(&self.state);
            let several = state.lines.len() > 1;
            let failure = state
                .lines
                .iter()
                .find_map(|l| Some((l.label.as_str(), l.monitor_failure.as_deref()?)))
                .map(|(label, why)| match several {
                    true => format!("{label}: {why}"),
                    false => why.to_string(),
                });
            let providers: Vec<Option<String>> = state
                .lines
                .iter()
                .map(|l| l.provider.as_ref().map(|p| p.name.clone()))
                .collect();
            (failure, providers)
        };
        let lines: Vec<crate::tray::model::TrayLine<'_>> = status
            .lines
            .iter()
            .zip(&providers)
            .map(|(l, provider)| crate::tray::model::TrayLine {
                label: &l.label,
                verdict: l.verdict,
                configured: l.configured,
                provider: provider.as_deref(),
            })
            .collect();
        let ctx = TrayContext {
            lines: &lines,
            shown: status.line.as_deref(),
            monitor_failure: failure.as_deref(),
            configured: status.configured,
            provider: status.provider.as_ref().map(|p| p.name.as_str()),
            channels: &channels,
            alerts_paused_until: status.alerts_paused_until,
            sends_alerts: self.alerter.is_some(),
            start_at_login: crate::autostart::is_enabled(),
            offset: local_offset(),
        };
        crate::tray::tray_model(&status.status, &ctx, status.lang, Utc::now())
    }

    /// What a tray menu click asks for.
    pub(crate) async fn on_menu(&self, action: MenuAction) {
        match action {
            MenuAction::CheckNow => {
                // The tray stands for every line: all are checked.
                for h in self.handles.all() {
                    h.check_now();
                }
            }
            MenuAction::RetryLogin => self.retry_login().await,
            MenuAction::OpenChannel(i) => {
                // The channels the menu lists are those of the line it shows.
                let Some(channel) = self.channels_of(self.shown_line()).into_iter().nth(i) else {
                    return;
                };
                crate::link::open_if_allowed(&channel.url, &self.allowed_links());
            }
            MenuAction::OpenDashboard => {
                // A failure was already said once by the launcher; the menu has no reply.
                let _ = self.open_dashboard();
            }
            MenuAction::PauseAlerts => self.pause_alerts(Some(Utc::now() + PAUSE_FROM_MENU)),
            MenuAction::ResumeAlerts => self.pause_alerts(None),
            MenuAction::ToggleStartAtLogin => {
                let want = !crate::autostart::is_enabled();
                if let Err(e) = crate::autostart::set(want) {
                    tracing::warn!("{e}");
                }
                self.status_changed();
            }
            MenuAction::Quit => self.quit.cancel(),
        }
    }
}

impl Agent {
    /// Says once, on the first start with a tray, where the OS may have put the new icon
    /// (Windows 11: in the overflow, until the user pins it). Remembered in the state dir
    /// (`%LOCALAPPDATA%\dialtone\data` on Windows), so it is said once per user, not once
    /// per start.
    fn first_run_hint(&self) {
        if !dialtone_platform::tray::NEW_ICONS_MAY_BE_HIDDEN {
            return;
        }
        let Some(notifier) = self.notifier.as_ref() else {
            return;
        };
        let Some(dir) = dialtone_engine::state_dir() else {
            return;
        };
        if hint_due(&dir) {
            let lang = lock(&self.state).lang;
            notifier.show(crate::notice::overflow_hint(lang), Vec::new());
        }
    }
}

/// Whether the first-run hint is still to be given, remembering in `dir` that it is given now:
/// true once. When the mark cannot be written the hint is not given, so that a read-only state
/// dir does not repeat it at every start.
fn hint_due(dir: &Path) -> bool {
    let mark = dir.join(HINT_GIVEN);
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&mark)
    });
    match written {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            tracing::warn!(
                "cannot remember the tray hint in {}: {e}; it is not given",
                mark.display()
            );
            false
        }
    }
}

/// What the log says when no tray host shows the icon (the dashboard says it in EN and DE).
const NO_TRAY_HOST: &str =
    "no tray host (StatusNotifierWatcher) on the session bus, so no icon is shown; \
on GNOME install the AppIndicator extension (sudo apt install gnome-shell-extension-appindicator, \
then log out and in); the icon is registered and appears when a host starts, notifications go on";

/// Puts the tray up, saying once why when there is no session bus or no tray host; the agent
/// goes on without it either way.
pub(super) async fn start_tray(
    agent: &Arc<Agent>,
    actions: tokio::sync::mpsc::UnboundedSender<MenuAction>,
) {
    let model = agent.tray_model();
    let started = tokio::task::spawn_blocking(move || {
        let host = crate::tray::host::host_present();
        let tray = TrayHost::spawn(model, Panel::from_env(), actions);
        (host, tray)
    })
    .await;
    match started {
        Ok((host, Ok(tray))) => {
            match host {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("{NO_TRAY_HOST}");
                    lock(&agent.state).tray_icon_hidden = true;
                }
                Err(e) => tracing::warn!("cannot ask the session bus for a tray host: {e}"),
            }
            *lock(&agent.tray) = Some(tray);
            agent.refresh_tray();
            agent.first_run_hint();
        }
        Ok((_, Err(e))) => tracing::warn!(
            "no tray icon ({e}); monitoring, notifications and the dashboard still work"
        ),
        Err(e) => tracing::warn!("no tray icon: {e}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_hint_is_due_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert!(hint_due(&state), "the first start gives it");
        assert!(state.join(HINT_GIVEN).exists());
        assert!(!hint_due(&state), "a second start does not");
        // A state dir that cannot be made (a file is in the way): not given, not repeated.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, b"").unwrap();
        assert!(!hint_due(&blocked.join("state")));
    }

    #[test]
    fn the_hint_is_its_own_notice_in_the_users_language() {
        let de = crate::notice::overflow_hint(dialtone_core::locale::Lang::De);
        assert_eq!(de.kind, crate::notice::NoticeKind::Hint);
        assert_eq!(de.summary, "dialtone ist im Infobereich");
        assert!(de
            .body
            .contains("Einstellungen → Personalisierung → Taskleiste"));
        assert!(de.actions.is_empty());
        let en = crate::notice::overflow_hint(dialtone_core::locale::Lang::En);
        assert!(en
            .body
            .contains("Settings → Personalization → Taskbar → Other system tray icons"));
    }
}
