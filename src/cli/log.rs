//! `dialtone log`: lists outage episodes, records fault reports, exports the outage log.
//!
//! ```text
//! dialtone log [--since DATE] [--db FILE] [--export csv|html --output FILE]
//! dialtone log report --episode ID [--at TIME] --channel CHANNEL [--ticket T] [--note N] [--db FILE]
//! ```
//! Dates and times the user types are local time (`2026-03-02`, `2026-03-02 10:05`) or
//! RFC 3339 with an offset (`2026-03-02T10:05:00+01:00`).

use crate::outage_log::{self, ExportError, ExportOptions};
use chrono::{DateTime, TimeZone, Utc};
use dialtone_core::locale::Lang;
use dialtone_core::report::{self, ReportError, ReportInput};
use dialtone_core::time::{self, TimeError};
use dialtone_engine::history::{History, HistoryError};
use dialtone_ipc::protocol::ExportFormat;
use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dialtone log`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogArgs {
    /// Attach a fault report instead of listing.
    #[command(subcommand)]
    pub command: Option<LogCommand>,
    /// Only episodes that lasted into or began after this date or time (local time).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The history database (default: history.sqlite3 in the data dir).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// With `[[line]]` tables in the config: the line whose outages to show (its history file
    /// lies beside the default database, or beside `--db`).
    #[arg(long = "line", value_name = "LABEL")]
    pub line: Option<String>,
    /// Export instead of listing: `csv` (one row per episode) or `html` (a printable report
    /// with per-day outage counts and the TKG §58 facts).
    #[arg(long, value_name = "csv|html", value_parser = export_format, requires = "output")]
    pub export: Option<ExportFormat>,
    /// The file to export to.
    #[arg(long, value_name = "FILE", requires = "export")]
    pub output: Option<PathBuf>,
}

/// Subcommands of `dialtone log`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LogCommand {
    /// Record when and how you reported the fault to the provider.
    Report(ReportArgs),
}

/// Arguments of `dialtone log report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The episode (its number in `dialtone log`).
    #[arg(long, value_name = "ID")]
    pub episode: i64,
    /// When the provider received the report (local time; default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// How it was reported: hotline, web form, e-mail, letter, chat ...
    #[arg(long)]
    pub channel: String,
    /// The provider's ticket number.
    #[arg(long)]
    pub ticket: Option<String>,
    /// Anything else worth keeping.
    #[arg(long)]
    pub note: Option<String>,
    /// The history database (default: history.sqlite3 in the data dir).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

/// `--export` values, named as the wire names them.
fn export_format(value: &str) -> Result<ExportFormat, String> {
    match value.to_ascii_lowercase().as_str() {
        "csv" => Ok(ExportFormat::Csv),
        "html" => Ok(ExportFormat::Html),
        _ => Err(format!("{value:?} is not csv or html")),
    }
}

/// Why `dialtone log` failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The history database failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A date or time flag could not be read.
    #[error("--{flag} {source}")]
    BadTime {
        /// The flag.
        flag: &'static str,
        /// What is wrong with its value.
        source: TimeError,
    },
    /// A fault report's flag is unusable.
    #[error("--{} {}", .0.field, .0.detail)]
    Report(ReportError),
    /// The export file could not be written.
    #[error("exporting to {}: {source}", .path.display())]
    ExportFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding the export failed.
    #[error("exporting to {}: {source}", .path.display())]
    Export {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: ExportError,
    },
    /// Writing to stdout failed.
    #[error("writing the outage list: {0}")]
    Output(#[from] std::io::Error),
}

impl LogError {
    /// The exit code: bad flag values are configuration errors (3), the rest runtime (4).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            LogError::BadTime { .. }
            | LogError::Report(_)
            | LogError::History(HistoryError::NoSuchEpisode { .. }) => {
                ExitCode::from(dialtone_core::verdict::EXIT_CONFIG_ERROR)
            }
            _ => ExitCode::from(dialtone_core::verdict::EXIT_RUNTIME_ERROR),
        }
    }
}

/// Runs `dialtone log` in the system's local time zone, writing to `out`; errors go to stderr.
pub fn run(args: &LogArgs, lang: Lang, out: &mut dyn Write) -> ExitCode {
    let zone = outage_log::local_zone_name();
    match execute(args, lang, &chrono::Local, &zone, Utc::now(), out) {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("dialtone log: {err}");
            err.exit_code()
        }
    }
}

/// Parses the date or time given to `--flag` (see [`dialtone_core::time::parse_local`]).
pub fn parse_time<Tz: TimeZone>(
    flag: &'static str,
    value: &str,
    tz: &Tz,
) -> Result<DateTime<Utc>, LogError> {
    time::parse_local(value, tz).map_err(|source| LogError::BadTime { flag, source })
}

/// The history of `--db` (or the default one), or with `--line` the file of that line beside it.
fn open(db: Option<&PathBuf>, line: Option<&str>) -> Result<History, HistoryError> {
    let Some(line) = line else {
        return match db {
            Some(path) => History::open(path),
            None => History::open_default(),
        };
    };
    match db.cloned().or_else(dialtone_engine::history::default_path) {
        Some(base) => History::open(&dialtone_engine::setup::line_history_path(&base, line)),
        // No data dir at all: the default's own error says so.
        None => History::open_default(),
    }
}

/// Runs `dialtone log` with an explicit time zone and clock (what [`run`] and the tests use).
pub fn execute<Tz: TimeZone>(
    args: &LogArgs,
    lang: Lang,
    tz: &Tz,
    tz_name: &str,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<ExitCode, LogError>
where
    Tz::Offset: Display,
{
    if let Some(LogCommand::Report(report)) = &args.command {
        let at = match &report.at {
            Some(at) => parse_time("at", at, tz)?,
            None => now,
        };
        let input = ReportInput {
            episode: report.episode,
            reported_at: at,
            channel: report.channel.clone(),
            ticket: report.ticket.clone(),
            note: report.note.clone(),
        };
        let fault = report::validate(&input, now).map_err(LogError::Report)?;
        let history = open(report.db.as_ref(), args.line.as_deref())?;
        history.attach_report(report.episode, &fault)?;
        writeln!(
            out,
            "{} #{}: {} {}",
            lang.pick(
                "Fault report attached to episode",
                "Störungsmeldung gespeichert zu Episode"
            ),
            report.episode,
            at.with_timezone(tz).format("%Y-%m-%d %H:%M %:z"),
            fault.channel
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    let since = match &args.since {
        Some(since) => parse_time("since", since, tz)?,
        None => DateTime::<Utc>::MIN_UTC,
    };
    let history = open(args.db.as_ref(), args.line.as_deref())?;
    let episodes = history.episodes(since)?;
    if let (Some(format), Some(path)) = (args.export, &args.output) {
        let options = ExportOptions {
            lang,
            tz,
            tz_name,
            generated_at: now,
            provider: None,
        };
        let file = std::fs::File::create(path).map_err(|source| LogError::ExportFile {
            path: path.clone(),
            source,
        })?;
        let mut writer = std::io::BufWriter::new(file);
        match format {
            ExportFormat::Csv => outage_log::write_csv(&episodes, &options, &mut writer),
            ExportFormat::Html => outage_log::write_html(&episodes, &options, &mut writer),
        }
        .map_err(|source| LogError::Export {
            path: path.clone(),
            source,
        })?;
        writer.flush().map_err(|source| LogError::ExportFile {
            path: path.clone(),
            source,
        })?;
        writeln!(
            out,
            "{} {} {}",
            episodes.len(),
            lang.pick("episodes exported to", "Episoden exportiert nach"),
            path.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    if episodes.is_empty() {
        writeln!(
            out,
            "{}",
            lang.pick("No outages recorded.", "Keine Störungen aufgezeichnet.")
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let when = |t: DateTime<Utc>| t.with_timezone(tz).format("%Y-%m-%d %H:%M").to_string();
    for e in &episodes {
        let end = e
            .end
            .map_or_else(|| lang.pick("ongoing", "andauernd").to_string(), when);
        writeln!(
            out,
            "#{}  {} – {}  ({})  {} · {}",
            e.id,
            when(e.start),
            end,
            outage_log::hms(e.duration(now)),
            outage_log::verdict_words(e.verdict, lang),
            e.failing_layer
                .map_or("–", |l| outage_log::layer_name(l, lang)),
        )?;
        for r in &e.reports {
            writeln!(
                out,
                "    {} {} {} {}{}",
                lang.pick("reported", "gemeldet"),
                when(r.reported_at),
                lang.pick("via", "über"),
                r.channel,
                r.ticket.as_deref().map_or(String::new(), |t| format!(
                    ", {} {t}",
                    lang.pick("ticket", "Ticket")
                ))
            )?;
        }
        for seen in &e.status_posts {
            let at = seen
                .post
                .published
                .map_or(String::new(), |t| format!("{}: ", when(t)));
            writeln!(
                out,
                "    {} {at}{}",
                lang.pick("provider:", "Anbieter:"),
                seen.post.title
            )?;
        }
    }
    writeln!(out, "({}: {tz_name})", lang.pick("local time", "Ortszeit"))?;
    Ok(ExitCode::SUCCESS)
}
