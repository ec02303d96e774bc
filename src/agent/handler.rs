//! The agent's answers to IPC requests: every request is served from the monitor, the history,
//! the catalog, the config and the feeds. Settings are validated before anything is saved; the
//! password goes to the keyring and never comes back. The outage log (episodes, fault reports,
//! exports) is read from and written to the history, in the system's local time zone.

use super::present::Input;
use super::wire::{self, apply_settings, settings_from};
use super::{lock, Agent};
use crate::outage_log::{self, ExportOptions};
use chrono::{DateTime, TimeDelta, Utc};
use dialtone_core::catalog;
use dialtone_core::config::{Config, ConfigError, NamedLine};
use dialtone_core::locale::Lang;
use dialtone_core::report::{self, ReportError, ReportInput};
use dialtone_engine::credentials::keyring_account;
use dialtone_engine::history::{History, HistoryError};
use dialtone_engine::secret::Secret;
use dialtone_ipc::protocol::{
    ChannelsReply, EpisodesReply, ErrorReply, Event, ExportFormat, HistoryReply, ProviderInfo,
    Request, Response, Settings, MAX_EPISODE_DAYS, MAX_EXPORT_BYTES, MAX_HISTORY_HOURS,
    MAX_PAUSE_MINUTES, MAX_REPORTS_PER_EPISODE,
};
use dialtone_ipc::server::Handler;
use tokio::sync::broadcast;

/// Stores `password` in the keyring under the account name `name` (none: no account yet).
async fn store_password(name: Option<String>, password: Secret) -> Result<(), ErrorReply> {
    if password.expose().is_empty() || password.expose().contains('\0') {
        return Err(ErrorReply::Invalid {
            field: "password".into(),
            detail: "must not be empty".into(),
        });
    }
    let Some(name) = name else {
        return Err(ErrorReply::Invalid {
            field: "password".into(),
            detail: "set the account's registrar and user name first".into(),
        });
    };
    // SecretError names the keyring entry and the keyring's words, never the password.
    off_thread(
        move || dialtone_engine::secret::store_in_keyring(&name, &password),
        |detail| ErrorReply::Keyring { detail },
    )
    .await
}

/// Runs blocking work (keyring, files) off the async workers; both its own failure and the
/// task's become `reply(detail)`.
async fn off_thread<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
    reply: fn(String) -> ErrorReply,
) -> Result<T, ErrorReply>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| reply(e.to_string()))?
        .map_err(|e| reply(e.to_string()))
}

/// The reply for an invalid fault report.
fn report_error(e: ReportError) -> ErrorReply {
    ErrorReply::Invalid {
        field: e.field.into(),
        detail: e.detail,
    }
}

/// The reply for a history failure: a missing episode is the client's mistake, the rest the
/// store's.
fn history_error(err: HistoryError) -> ErrorReply {
    match err {
        HistoryError::NoSuchEpisode { id, .. } => ErrorReply::Invalid {
            field: "episode".into(),
            detail: format!("there is no outage episode #{id}"),
        },
        other => ErrorReply::Unavailable {
            what: "history".into(),
            detail: other.to_string(),
        },
    }
}

/// Renders the whole outage log as `format` in `lang` and the local time zone; refuses logs
/// larger than [`MAX_EXPORT_BYTES`] (the CLI exports those).
pub(crate) fn render_export(
    history: &History,
    format: ExportFormat,
    lang: Lang,
    provider: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Response, ErrorReply> {
    let episodes = history
        .episodes(DateTime::<Utc>::MIN_UTC)
        .map_err(history_error)?;
    let tz_name = outage_log::local_zone_name();
    let options = ExportOptions {
        lang,
        tz: &chrono::Local,
        tz_name: &tz_name,
        generated_at: now,
        provider,
    };
    let mut out = Vec::new();
    match format {
        ExportFormat::Csv => outage_log::write_csv(&episodes, &options, &mut out),
        ExportFormat::Html => outage_log::write_html(&episodes, &options, &mut out),
    }
    .map_err(|e| ErrorReply::Unavailable {
        what: "export".into(),
        detail: e.to_string(),
    })?;
    if out.len() > MAX_EXPORT_BYTES {
        return Err(ErrorReply::Unavailable {
            what: "export".into(),
            detail: format!(
                "the outage log is {} bytes, more than the {MAX_EXPORT_BYTES} the dashboard takes; \
                 export it with `dialtone log --export {} --output FILE`",
                out.len(),
                format.extension()
            ),
        });
    }
    let content = String::from_utf8(out).map_err(|e| ErrorReply::Unavailable {
        what: "export".into(),
        detail: format!("the rendered outage log is not UTF-8: {e}"),
    })?;
    Ok(Response::Export {
        file_name: outage_log::export_file_name(format.extension(), now, &chrono::Local),
        content,
    })
}

/// Maps a config key to the settings field the dashboard shows.
fn settings_field(key: &str) -> String {
    let field = match key {
        "schedule.interval_secs" => "interval_secs",
        "schedule.recheck_secs" => "recheck_secs",
        "schedule.account_interval_secs" => "account_interval_secs",
        k => return format!("settings.{k}"),
    };
    format!("settings.{field}")
}

/// Checks settings as the config validation does, plus what only the agent knows (the
/// catalog), and words failures as typed replies naming the field.
pub(crate) fn validate_settings(
    settings: &Settings,
    base: &Config,
    catalog: &catalog::Catalog,
) -> Result<Config, ErrorReply> {
    if let Some(id) = &settings.provider {
        if catalog.get(id).is_none() {
            return Err(ErrorReply::Invalid {
                field: "settings.provider".into(),
                detail: format!("{id:?} is not in the provider catalog"),
            });
        }
    }
    let mut config = base.clone();
    apply_settings(&mut config, settings);
    config.validate("settings").map_err(|e| match e {
        ConfigError::Invalid { key, message, .. } | ConfigError::Parse { key, message, .. } => {
            ErrorReply::Invalid {
                field: settings_field(&key),
                detail: message,
            }
        }
        other => ErrorReply::Invalid {
            field: "settings".into(),
            detail: other.to_string(),
        },
    })?;
    Ok(config)
}

impl Agent {
    /// The settings now in force, with whether a password is stored (a keyring lookup).
    async fn current_settings(&self) -> Settings {
        let config = lock(&self.state).config.clone();
        let mut settings = settings_from(&config, crate::autostart::is_enabled());
        let account = config.account.clone();
        settings.password_stored = tokio::task::spawn_blocking(move || {
            let Some(account) = account else {
                return false;
            };
            if account.password_env.is_some() {
                return true;
            }
            keyring_account(&account).is_some_and(|name| {
                matches!(dialtone_engine::secret::from_keyring(&name), Ok(Some(_)))
            })
        })
        .await
        .unwrap_or(false);
        settings
    }

    async fn set_settings(
        &self,
        settings: Settings,
        password: Option<Secret>,
    ) -> Result<Response, ErrorReply> {
        // The file keeps the user's settings only; the command line's flags stay on top for
        // this run (a test's loopback anchors, a one-off registrar).
        let path = self.config_path.clone();
        let file = off_thread(
            move || dialtone_engine::config_file::load(&path),
            |detail| ErrorReply::Storage { detail },
        )
        .await?
        .unwrap_or_default();
        let to_save = validate_settings(&settings, &file, &self.catalog)?;
        let mut in_force = to_save.clone();
        self.options.overrides.apply(&mut in_force);
        self.options
            .overrides
            .apply_schedule(&mut in_force.schedule);
        let checked = validate_settings(&settings, &in_force, &self.catalog)?;
        dialtone_engine::setup::check_probeable(&checked, &self.catalog).map_err(|e| {
            ErrorReply::Invalid {
                field: "settings.account".into(),
                detail: e.to_string(),
            }
        })?;
        let lines_in_config = in_force.has_line_tables();
        if lines_in_config && password.is_some() {
            return Err(lines_password());
        }
        let stored_password = password.is_some();
        if let Some(password) = password {
            // Into the keyring under the *new* account's name before the line restarts, so the
            // first REGISTER of the new settings carries the new password.
            let name = checked.account.as_ref().and_then(keyring_account);
            store_password(name, password).await?;
        }
        let path = self.config_path.clone();
        off_thread(
            move || dialtone_engine::config_file::save(&to_save, &path),
            |detail| ErrorReply::Storage { detail },
        )
        .await?;
        if settings.start_at_login != crate::autostart::is_enabled() {
            crate::autostart::set(settings.start_at_login).map_err(|e| ErrorReply::Storage {
                detail: e.to_string(),
            })?;
        }
        let changed_lines = {
            let mut state = lock(&self.state);
            // Language and notifications are the presenters' business: the line keeps running,
            // and no REGISTER goes out because someone switched to German. Only the lines whose
            // own config changed restart: the others send nothing extra.
            let mut before = state.config.clone();
            before.desktop = in_force.desktop.clone();
            let changed = changed_lines(
                &self.watched_lines(&before),
                &self.watched_lines(&in_force),
                stored_password,
            );
            state.config = in_force;
            state.lang = self
                .options
                .lang_flag
                .or(settings.language)
                .unwrap_or_else(crate::system_lang);
            changed
        };
        if let Some(lines) = changed_lines {
            // The settings were checked above, so a failure here is the machine's, not the
            // user's.
            self.restart_lines(lines)
                .await
                .map_err(|e| ErrorReply::Unavailable {
                    what: "monitor".into(),
                    detail: e.to_string(),
                })?;
        } else {
            self.refresh_tray();
            self.status_changed();
        }
        Ok(Response::Settings {
            settings: self.current_settings().await,
        })
    }

    async fn set_password(&self, password: Secret) -> Result<Response, ErrorReply> {
        if lock(&self.state).config.has_line_tables() {
            return Err(lines_password());
        }
        let account = lock(&self.state).config.account.clone();
        store_password(account.as_ref().and_then(keyring_account), password).await?;
        // The REGISTER query starts (or resumes after a lockout) with the new password.
        if let Err(e) = self.restart_line().await {
            tracing::warn!("restarting the monitor after a new password: {e}");
        }
        Ok(Response::PasswordStored)
    }

    async fn history(&self, hours: u32, line: usize) -> Result<Response, ErrorReply> {
        if !(1..=MAX_HISTORY_HOURS).contains(&hours) {
            return Err(ErrorReply::Invalid {
                field: "hours".into(),
                detail: format!("{hours} is not between 1 and {MAX_HISTORY_HOURS}"),
            });
        }
        let Some(history) = self.history_of(line).await else {
            return Ok(Response::History {
                history: HistoryReply {
                    available: false,
                    hours,
                    ..HistoryReply::default()
                },
            });
        };
        let reply = tokio::task::spawn_blocking(move || {
            wire::history_reply(&lock(&history), Utc::now(), hours)
        })
        .await
        .map_err(|e| ErrorReply::Unavailable {
            what: "history".into(),
            detail: e.to_string(),
        })?
        .map_err(|e| ErrorReply::Unavailable {
            what: "history".into(),
            detail: e.to_string(),
        })?;
        Ok(Response::History { history: reply })
    }
}

impl Agent {
    /// Runs `f` on the history of the line at `line` in a blocking task; `None` when the
    /// agent keeps no history.
    async fn with_history<T: Send + 'static>(
        &self,
        line: usize,
        f: impl FnOnce(&History) -> Result<T, ErrorReply> + Send + 'static,
    ) -> Option<Result<T, ErrorReply>> {
        let history = self.history_of(line).await?;
        Some(
            tokio::task::spawn_blocking(move || f(&lock(&history)))
                .await
                .unwrap_or_else(|e| {
                    Err(ErrorReply::Unavailable {
                        what: "history".into(),
                        detail: e.to_string(),
                    })
                }),
        )
    }

    async fn episodes(&self, days: u32, line: usize) -> Result<Response, ErrorReply> {
        if !(1..=MAX_EPISODE_DAYS).contains(&days) {
            return Err(ErrorReply::Invalid {
                field: "days".into(),
                detail: format!("{days} is not between 1 and {MAX_EPISODE_DAYS}"),
            });
        }
        let reply = self
            .with_history(line, move |h| {
                wire::episodes_reply(h, days, Utc::now()).map_err(history_error)
            })
            .await
            .unwrap_or_else(|| {
                Ok(EpisodesReply {
                    available: false,
                    days,
                    ..EpisodesReply::default()
                })
            })?;
        Ok(Response::Episodes { episodes: reply })
    }

    async fn attach_report(&self, input: ReportInput, line: usize) -> Result<Response, ErrorReply> {
        let report = report::validate(&input, Utc::now()).map_err(report_error)?;
        let episode = input.episode;
        self.with_history(line, move |h| {
            let known = h.episode(episode).map_err(history_error)?;
            if known.reports.len() >= MAX_REPORTS_PER_EPISODE {
                return Err(ErrorReply::Invalid {
                    field: "episode".into(),
                    detail: format!(
                        "episode #{episode} already has {MAX_REPORTS_PER_EPISODE} fault reports"
                    ),
                });
            }
            h.attach_report(episode, &report).map_err(history_error)
        })
        .await
        .unwrap_or_else(|| Err(no_history()))?;
        Ok(Response::Done)
    }

    async fn export_log(
        &self,
        format: ExportFormat,
        lang: Lang,
        line: usize,
    ) -> Result<Response, ErrorReply> {
        let provider = lock(&self.state)
            .line(line)
            .and_then(|l| l.provider.as_ref())
            .map(|p| p.name.clone());
        self.with_history(line, move |h| {
            render_export(h, format, lang, provider.as_deref(), Utc::now())
        })
        .await
        .unwrap_or_else(|| Err(no_history()))
    }
}

impl Handler for Agent {
    /// Every request is answered by the presenter, in turn with the lines' events.
    async fn handle(&self, request: Request) -> Result<Response, ErrorReply> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if !self.post(Input::Request(request, reply)) {
            return Err(shutting_down());
        }
        answer.await.unwrap_or_else(|_| Err(shutting_down()))
    }

    fn subscribe(
        &self,
    ) -> (
        dialtone_ipc::protocol::AgentStatus,
        broadcast::Receiver<Event>,
    ) {
        // Subscribe first, so no event between the snapshot and the receiver is lost.
        let events = self.events.subscribe();
        (self.agent_status(), events)
    }
}

impl Agent {
    /// The answer to `request` (the presenter's part of [`Handler::handle`]).
    pub(super) async fn answer(&self, request: Request) -> Result<Response, ErrorReply> {
        match request {
            Request::Hello { .. } | Request::Subscribe => Err(ErrorReply::Invalid {
                field: "request".into(),
                detail: "answered by the server".into(),
            }),
            Request::Status { line } => Ok(Response::Status {
                status: self.line_status(self.line_index(line.as_deref())?),
            }),
            Request::History { hours, line } => {
                self.history(hours, self.line_index(line.as_deref())?).await
            }
            Request::Alerts => self.alerts_reply().await,
            Request::TestAlerts { line } => {
                self.test_alerts(self.line_index(line.as_deref())?).await
            }
            Request::Episodes { days, line } => {
                self.episodes(days, self.line_index(line.as_deref())?).await
            }
            Request::AttachReport {
                episode,
                reported_at,
                channel,
                ticket,
                note,
                line,
            } => {
                let line = self.line_index(line.as_deref())?;
                let input = ReportInput {
                    episode,
                    reported_at,
                    channel,
                    ticket,
                    note,
                };
                self.attach_report(input, line).await
            }
            Request::ExportLog { format, lang, line } => {
                self.export_log(format, lang, self.line_index(line.as_deref())?)
                    .await
            }
            Request::CheckNow { line } => {
                let index = self.line_index(line.as_deref())?;
                let handle = self.monitor_of(&lock(&self.state), index);
                match handle {
                    Some(handle) => {
                        handle.check_now();
                        Ok(Response::CheckStarted)
                    }
                    None => Err(ErrorReply::Unavailable {
                        what: "monitor".into(),
                        detail: "not running".into(),
                    }),
                }
            }
            Request::GetSettings => Ok(Response::Settings {
                settings: self.current_settings().await,
            }),
            Request::SetSettings { settings, password } => {
                self.set_settings(settings, password).await
            }
            Request::SetPassword { password } => self.set_password(password).await,
            Request::Channels { line } => {
                let index = self.line_index(line.as_deref())?;
                let provider = lock(&self.state)
                    .line(index)
                    .and_then(|l| l.provider.as_ref())
                    .map(|p| ProviderInfo {
                        id: Some(p.id.clone()),
                        name: p.name.clone(),
                    });
                Ok(Response::Channels {
                    channels: ChannelsReply {
                        available: true,
                        provider,
                        channels: self.channels_of(index),
                    },
                })
            }
            Request::Feeds { line } => {
                let index = self.line_index(line.as_deref())?;
                Ok(Response::Feeds {
                    feeds: lock(&self.state)
                        .line(index)
                        .map(|l| l.feeds.clone())
                        .unwrap_or_default(),
                })
            }
            Request::OpenDashboard => self.open_dashboard().map(|()| Response::Done),
            Request::RetryLogin => {
                self.retry_login().await;
                Ok(Response::Done)
            }
            Request::PauseAlerts { minutes } => {
                if minutes > MAX_PAUSE_MINUTES {
                    return Err(ErrorReply::Invalid {
                        field: "minutes".into(),
                        detail: format!("{minutes} is more than a day ({MAX_PAUSE_MINUTES})"),
                    });
                }
                let until =
                    (minutes > 0).then(|| Utc::now() + TimeDelta::minutes(i64::from(minutes)));
                self.pause_alerts(until);
                Ok(Response::Status {
                    status: self.agent_status(),
                })
            }
        }
    }
}

/// Which lines a settings change restarts: `None` for none, `Some(None)` for all (the set of
/// lines changed, or a new password), else the indices whose own config differs. `old` and
/// `new` are the watched lines of the configs in force before and after, with the
/// presenters' settings already made equal.
pub(crate) fn changed_lines(
    old: &[NamedLine],
    new: &[NamedLine],
    new_password: bool,
) -> Option<Option<Vec<usize>>> {
    if new_password || old.len() != new.len() {
        return Some(None);
    }
    let changed: Vec<usize> = old
        .iter()
        .zip(new)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect();
    (!changed.is_empty()).then_some(Some(changed))
}

/// With `[[line]]` tables the form edits no account, so it takes no password either.
fn lines_password() -> ErrorReply {
    ErrorReply::Invalid {
        field: "password".into(),
        detail: "this config has several lines: store each line's password with                  `dialtone password --line LABEL`"
            .into(),
    }
}

fn no_history() -> ErrorReply {
    ErrorReply::Unavailable {
        what: "history".into(),
        detail: "this agent keeps no history (started with --no-history, or the database could not be opened)".into(),
    }
}

fn shutting_down() -> ErrorReply {
    ErrorReply::Unavailable {
        what: "agent".into(),
        detail: "shutting down".into(),
    }
}
