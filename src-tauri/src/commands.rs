//! The commands the window invokes. Each is one request to the agent (or a read of the local
//! provider catalog), with its input validated first and a typed [`CommandError`] back.
//! Commands about one line take the picker's `line` label (none: the agent's first line).

use crate::agent::Agent;
use crate::error::CommandError;
use crate::events::Connection;
use crate::links;
use crate::view::{ChannelsView, StatusView};
use dialtone_core::catalog::{Catalog, USER_FILE_NAME};
use dialtone_core::config::MAX_LABEL;
use dialtone_core::link;
use dialtone_core::locale::Lang;
use dialtone_core::outage::FaultReport;
use dialtone_core::report::{self, ReportInput};
use dialtone_core::secret::Secret;
use dialtone_ipc::protocol::{
    AlertTestView, AlertsReply, EpisodesReply, ExportFormat, FeedsReply, HistoryReply, Settings,
    MAX_EPISODE_DAYS, MAX_HISTORY_HOURS, MAX_PAUSE_MINUTES,
};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use tauri::State;

/// The longest password accepted (SIP passwords are short; this bounds hostile input).
pub const MAX_PASSWORD: usize = 256;

/// The picker's line label, checked as the config checks labels (the agent answers an
/// unknown one with an error naming the lines).
pub fn validate_line(line: Option<String>) -> Result<Option<String>, CommandError> {
    match line {
        Some(l)
            if l.is_empty() || l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) =>
        {
            Err(CommandError::invalid(
                "line",
                format!("must be a label of 1 to {MAX_LABEL} characters"),
            ))
        }
        other => Ok(other),
    }
}

/// The current status of the picked line, rendered.
#[tauri::command]
pub async fn status(
    agent: State<'_, Agent>,
    line: Option<String>,
) -> Result<StatusView, CommandError> {
    let line = validate_line(line)?;
    let status = agent
        .call("status", |mut c| async move {
            c.status_of(line.as_deref()).await
        })
        .await?;
    Ok(StatusView::new(&status))
}

/// Checks and outages of the last `hours` hours (1 to a week) of the picked line.
#[tauri::command]
pub async fn history(
    agent: State<'_, Agent>,
    hours: u32,
    line: Option<String>,
) -> Result<HistoryReply, CommandError> {
    if !(1..=MAX_HISTORY_HOURS).contains(&hours) {
        return Err(CommandError::invalid(
            "hours",
            format!("must be 1 to {MAX_HISTORY_HOURS}"),
        ));
    }
    let line = validate_line(line)?;
    agent
        .call("history", |mut c| async move {
            c.history_of(hours, line.as_deref()).await
        })
        .await
}

/// After a rejected login: lets the agent try it once more with the same password.
#[tauri::command]
pub async fn retry_login(agent: State<'_, Agent>) -> Result<(), CommandError> {
    agent
        .call("retry_login", |mut c| async move { c.retry_login().await })
        .await
}

/// Asks for a check of every layer of the picked line now; the result arrives as a status
/// event.
#[tauri::command]
pub async fn check_now(agent: State<'_, Agent>, line: Option<String>) -> Result<(), CommandError> {
    let line = validate_line(line)?;
    agent
        .call("check_now", |mut c| async move {
            c.check_now_of(line.as_deref()).await
        })
        .await
}

/// The settings (never the password; `password_stored` says whether one is kept).
#[tauri::command]
pub async fn settings(agent: State<'_, Agent>) -> Result<Settings, CommandError> {
    agent
        .call("get_settings", |mut c| async move { c.settings().await })
        .await
}

/// Validates and stores the settings; returns what the agent stored.
#[tauri::command]
pub async fn save_settings(
    agent: State<'_, Agent>,
    settings: Settings,
    password: Option<String>,
) -> Result<Settings, CommandError> {
    let settings = validate_settings(settings)?;
    // A new password travels with the settings in one request: the agent stores it before the
    // line restarts, so the old (perhaps rejected) password is never sent with new settings.
    let password = match password.filter(|p| !p.is_empty()) {
        Some(p) => Some(validate_password(p)?),
        None => None,
    };
    agent
        .call("set_settings", |mut c| async move {
            c.set_settings_with_password(settings, password).await
        })
        .await
}

/// Hands the SIP password to the agent for the keyring. It is never returned, shown or logged.
#[tauri::command]
pub async fn set_password(agent: State<'_, Agent>, password: String) -> Result<(), CommandError> {
    let password = validate_password(password)?;
    agent
        .call("set_password", |mut c| async move {
            c.set_password(password).await
        })
        .await
}

/// The provider's channels, labelled and ordered for the window ([`ChannelsView`]).
#[tauri::command]
pub async fn channels(
    agent: State<'_, Agent>,
    line: Option<String>,
) -> Result<ChannelsView, CommandError> {
    let line = validate_line(line)?;
    agent
        .call("channels", |mut c| async move {
            c.channels_of(line.as_deref()).await
        })
        .await
        .map(ChannelsView::new)
}

/// The latest posts of the provider's official status feeds.
#[tauri::command]
pub async fn feeds(
    agent: State<'_, Agent>,
    line: Option<String>,
) -> Result<FeedsReply, CommandError> {
    let line = validate_line(line)?;
    agent
        .call(
            "feeds",
            |mut c| async move { c.feeds_of(line.as_deref()).await },
        )
        .await
}

/// Opens a channel (or feed post) link in the system browser / dialler, after checking it is
/// https/tel **and** one the agent listed right now.
#[tauri::command]
pub async fn open_channel(agent: State<'_, Agent>, url: String) -> Result<(), CommandError> {
    let allowed = allowed_links(&agent).await?;
    let url = links::validate(&url, allowed.iter().map(String::as_str))?;
    // The opener crate's plain function, not its plugin: the window gets no opener command of
    // its own, every link goes through this check.
    tauri_plugin_opener::open_url(&url, None::<&str>).map_err(|e| CommandError::Open {
        url: url.clone(),
        detail: e.to_string(),
    })
}

/// Every link the agent lists: channels, and the posts of the official feeds whose host the
/// feed or a channel vouches for.
pub async fn allowed_links(agent: &Agent) -> Result<Vec<String>, CommandError> {
    // Every line's: the window may show any of them.
    let replies = agent
        .call("channels", |mut c| async move {
            let labels: Vec<Option<String>> = match c.status().await?.lines {
                lines if lines.is_empty() => vec![None],
                lines => lines.into_iter().map(|l| Some(l.label)).collect(),
            };
            let mut replies = Vec::new();
            for label in labels {
                let channels = c.channels_of(label.as_deref()).await?;
                let feeds = c.feeds_of(label.as_deref()).await?;
                replies.push((channels, feeds));
            }
            Ok(replies)
        })
        .await?;
    let mut links = Vec::new();
    for (channels, feeds) in replies {
        let channels: Vec<String> = channels.channels.into_iter().map(|ch| ch.url).collect();
        links.extend(channels.iter().cloned());
        // A post's link only where its feed or one of the provider's channels vouches for the
        // host (the tray opens no post links at all).
        for feed in feeds.feeds {
            let posts = feed.posts.into_iter().filter_map(|p| p.link);
            links.extend(posts.filter(|link| {
                link::post_link_vouched_for(link, &feed.url, channels.iter().map(String::as_str))
            }));
        }
    }
    Ok(links)
}

/// The alert targets (redacted by the agent) and the outbox, for the Alerts settings.
#[tauri::command]
pub async fn alerts(agent: State<'_, Agent>) -> Result<AlertsReply, CommandError> {
    agent
        .call("alerts", |mut c| async move { c.alerts().await })
        .await
}

/// Sends a test alert to every target; per target, delivered or why not.
#[tauri::command]
pub async fn test_alerts(
    agent: State<'_, Agent>,
    line: Option<String>,
) -> Result<Vec<AlertTestView>, CommandError> {
    let line = validate_line(line)?;
    agent
        .call("test_alerts", |mut c| async move {
            c.test_alerts(line.as_deref()).await
        })
        .await
}

/// Pauses notifications for `minutes` (0 resumes); returns the new status.
#[tauri::command]
pub async fn pause_alerts(
    agent: State<'_, Agent>,
    minutes: u32,
) -> Result<StatusView, CommandError> {
    if minutes > MAX_PAUSE_MINUTES {
        return Err(CommandError::invalid("minutes", "at most one day"));
    }
    let status = agent
        .call("pause_alerts", |mut c| async move {
            c.pause_alerts(minutes).await
        })
        .await?;
    Ok(StatusView::new(&status))
}

/// Outage episodes of the last `days` days with their details, reports and status posts.
#[tauri::command]
pub async fn episodes(
    agent: State<'_, Agent>,
    days: u32,
    line: Option<String>,
) -> Result<EpisodesReply, CommandError> {
    if !(1..=MAX_EPISODE_DAYS).contains(&days) {
        return Err(CommandError::invalid(
            "days",
            format!("must be 1 to {MAX_EPISODE_DAYS}"),
        ));
    }
    let line = validate_line(line)?;
    agent
        .call("episodes", |mut c| async move {
            c.episodes_of(days, line.as_deref()).await
        })
        .await
}

/// Attaches when and how the user reported the fault to an episode. `reported_at` is what the
/// form's date-time field gives (local time, `2026-03-02T10:05`) or RFC 3339.
#[tauri::command]
pub async fn attach_report(
    agent: State<'_, Agent>,
    episode: i64,
    reported_at: String,
    channel: String,
    ticket: Option<String>,
    note: Option<String>,
    line: Option<String>,
) -> Result<(), CommandError> {
    let report = validate_report_form(episode, &reported_at, channel, ticket, note)?;
    let line = validate_line(line)?;
    // Episode numbers are per line: the report goes to the picked line's log.
    let fields = dialtone_ipc::client::ReportFields {
        episode,
        reported_at: report.reported_at,
        channel: report.channel,
        ticket: report.ticket,
        note: report.note,
    };
    agent
        .call("attach_report", |mut c| async move {
            c.attach_report_of(fields, line.as_deref()).await
        })
        .await
}

/// Checks the report form as the agent will (same rules, same field names), reading the time
/// in the system's local zone as `dialtone log report --at` does.
pub fn validate_report_form(
    episode: i64,
    reported_at: &str,
    channel: String,
    ticket: Option<String>,
    note: Option<String>,
) -> Result<FaultReport, CommandError> {
    // Bounded before parsing: the parser never sees a hostile megabyte.
    if reported_at.len() > 64 {
        return Err(CommandError::invalid("reported_at", "too long"));
    }
    let at = dialtone_core::time::parse_local(reported_at, &chrono::Local)
        .map_err(|e| CommandError::invalid("reported_at", e.to_string()))?;
    let input = ReportInput {
        episode,
        reported_at: at,
        channel,
        ticket,
        note,
    };
    report::validate(&input, chrono::Utc::now())
        .map_err(|e| CommandError::invalid(e.field, e.detail))
}

/// Exports the picked line's whole outage log as `format` in `lang` into the user's download
/// directory and returns the file's path. The window cannot choose the path: it gets no file
/// system access.
#[tauri::command]
pub async fn export_log(
    agent: State<'_, Agent>,
    format: ExportFormat,
    lang: Lang,
    line: Option<String>,
) -> Result<String, CommandError> {
    let line = validate_line(line)?;
    let (name, content) = agent
        .call("export_log", |mut c| async move {
            c.export_log_of(format, lang, line.as_deref()).await
        })
        .await?;
    let dir = agent.export_dir().ok_or_else(|| CommandError::Export {
        path: "~".into(),
        detail: "no home directory".into(),
    })?;
    let name = safe_file_name(&name, format);
    let path = tauri::async_runtime::spawn_blocking(move || write_unique(&dir, &name, &content))
        .await
        .map_err(|e| CommandError::Export {
            path: String::new(),
            detail: e.to_string(),
        })??;
    Ok(path.display().to_string())
}

/// The agent's suggested name if it is a plain file name of the right kind, else a default:
/// whatever the agent sends, the file lands in the export directory and nowhere else.
pub fn safe_file_name(name: &str, format: ExportFormat) -> String {
    let ext = format!(".{}", format.extension());
    let plain = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain && name.ends_with(&ext) {
        name.to_string()
    } else {
        format!("dialtone-outages{ext}")
    }
}

/// Writes `content` to `dir/name`, or `name-2`, `name-3` ... when taken: an earlier export is
/// never overwritten (`create_new`, so no race with another export either).
pub fn write_unique(dir: &Path, name: &str, content: &str) -> Result<PathBuf, CommandError> {
    let failed = |path: &Path, e: std::io::Error| CommandError::Export {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    for n in 1..=1000 {
        let candidate = match n {
            1 => name.to_string(),
            n if ext.is_empty() => format!("{stem}-{n}"),
            n => format!("{stem}-{n}.{ext}"),
        };
        let path = dir.join(candidate);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(content.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| failed(&path, e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(failed(&path, e)),
        }
    }
    Err(CommandError::Export {
        path: dir.join(name).display().to_string(),
        detail: "1000 files of that name exist already".into(),
    })
}

/// A provider for the settings picker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderChoice {
    /// Catalog id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Country, when national.
    pub country: Option<String>,
}

/// The provider catalog (built-in plus the user's own file), for the picker.
#[tauri::command]
pub fn providers() -> Result<Vec<ProviderChoice>, CommandError> {
    let catalog = load_catalog()?;
    let mut list: Vec<_> = catalog.providers().iter().map(choice).collect();
    list.sort_by_key(|p| p.name.to_lowercase());
    Ok(list)
}

/// The provider a registrar (`sip.1und1.de`, `sip:host:port`, ...) belongs to, if known.
#[tauri::command]
pub fn detect_provider(registrar: String) -> Result<Option<ProviderChoice>, CommandError> {
    if registrar.len() > 512 {
        return Err(CommandError::invalid("registrar", "too long"));
    }
    let catalog = load_catalog()?;
    Ok(catalog.find_by_domain(registrar.trim()).map(choice))
}

/// The system's language (the window's default until the user picks one).
#[tauri::command]
pub fn system_lang() -> Lang {
    Lang::from_locale(&dialtone_platform::locale::user_locale().unwrap_or_default())
}

/// Whether the event stream is connected (for a window that loads after the first event).
#[tauri::command]
pub fn connection(agent: State<'_, Agent>) -> Connection {
    if agent.is_connected() {
        Connection::Connected
    } else {
        Connection::Reconnecting
    }
}

fn load_catalog() -> Result<Catalog, CommandError> {
    // The same files the agent reads: the built-in catalog and the user's own.
    let user_file = directories::ProjectDirs::from("", "", "dialtone")
        .map(|dirs| dirs.config_dir().join(USER_FILE_NAME));
    Catalog::load_with(user_file.as_deref(), |path| std::fs::read_to_string(path)).map_err(|e| {
        CommandError::Catalog {
            detail: e.to_string(),
        }
    })
}

fn choice(p: &dialtone_core::catalog::Provider) -> ProviderChoice {
    ProviderChoice {
        id: p.id.clone(),
        name: p.name.clone(),
        country: p.country.clone(),
    }
}

/// Tidies what a form leaves behind (spaces around values, emptied fields meaning "not set")
/// and checks the settings with the rules config loading applies ([`Settings::validate`]), so
/// whatever loads from a config file can be saved unchanged (the agent validates again).
pub fn validate_settings(mut settings: Settings) -> Result<Settings, CommandError> {
    if let Some(account) = settings.account.as_mut() {
        account.registrar = account.registrar.trim().to_string();
        if account.registrar.is_empty() {
            return Err(CommandError::invalid(
                "account.registrar",
                "enter the registrar, e.g. sip.example.net",
            ));
        }
        for value in [
            &mut account.user,
            &mut account.auth_user,
            &mut account.domain,
        ] {
            *value = value
                .take()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
        }
    }
    settings
        .validate()
        .map_err(|e| CommandError::invalid(&e.field, e.detail))?;
    Ok(settings)
}

/// Accepts a password for the keyring: non-empty, bounded, one line.
pub fn validate_password(password: String) -> Result<Secret, CommandError> {
    if password.is_empty() {
        return Err(CommandError::invalid("password", "empty"));
    }
    if password.len() > MAX_PASSWORD {
        return Err(CommandError::invalid(
            "password",
            format!("longer than {MAX_PASSWORD} bytes"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(CommandError::invalid(
            "password",
            "contains control characters",
        ));
    }
    Ok(Secret::new(password))
}
