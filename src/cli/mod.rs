//! The command line: `dialtone` (the tray agent) and `dialtone check|watch|log|providers`, the
//! headless faces of the same engine.
//!
//! Exit codes (also in the README): 0 healthy, 10 degraded, 11 account problem, 12 provider
//! outage, 13 internet down, 14 local problem, 15 unknown; 2 usage error (clap), 3 config error,
//! 4 the check could not run.

pub mod alert;
mod args;
pub mod log;
pub mod package_files;
mod password;
pub mod providers;
mod report;
mod watch;

use crate::shutdown::task_outcome;
pub use args::{AgentArgs, MonitorArgs, OverrideArgs, TransportArg, YesNo};
use clap::{Parser, Subcommand};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use dialtone_engine::setup::SetupError;
use report::Report;
use std::io::Write;
use std::process::ExitCode;

/// `dialtone --version`: the version and the commit it was built from (see build.rs;
/// "unknown" when built outside a git checkout), so a bug report names the exact build.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DIALTONE_GIT_COMMIT"),
    ")"
);

/// dialtone: does my phone line work, and if not, whose fault is it?
#[derive(Debug, Parser)]
#[command(
    name = "dialtone",
    version = VERSION,
    about,
    long_about = None,
    args_override_self = true
)]
pub struct Cli {
    /// Language of the output (default: from LC_ALL / LC_MESSAGES / LANG).
    #[arg(long, global = true, value_enum)]
    pub lang: Option<LangArg>,
    /// What to do; without a command dialtone runs the tray agent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The agent's arguments for a bare `dialtone`: no flags, but the environment variables the
/// flags read (`DIALTONE_CONFIG`), exactly as `dialtone agent` would see them.
fn bare_agent_args() -> AgentArgs {
    use clap::{Args, FromArgMatches};
    let command = AgentArgs::augment_args(clap::Command::new("dialtone"));
    command
        .try_get_matches_from(["dialtone"])
        .ok()
        .and_then(|m| AgentArgs::from_arg_matches(&m).ok())
        .unwrap_or_default()
}

/// `--lang` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Deutsch.
    De,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the tray agent (what `dialtone` alone does), with per-run overrides.
    Agent(AgentArgs),
    /// Check every layer once, print the diagnosis, exit with the verdict's code.
    Check(CheckArgs),
    /// Keep watching the line; print each confirmed change until Ctrl-C.
    Watch(WatchArgs),
    /// List the provider catalog.
    Providers(providers::ProvidersArgs),
    /// Store or remove the SIP password in the OS keyring.
    Password(password::PasswordArgs),
    /// List outage episodes, record fault reports, export the outage log (CSV, HTML).
    Log(log::LogArgs),
    /// Alerts that reach the phone (ntfy, e-mail, webhooks, Apprise): send a test, list the
    /// targets and the outbox.
    Alert(alert::AlertArgs),
}

/// Arguments of `dialtone check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Print JSON instead of text (plain and technical wording both).
    #[arg(long)]
    pub json: bool,
    /// Show each layer's technical detail (addresses, SIP codes, round-trip times) instead of
    /// the plain sentences.
    #[arg(long, short)]
    pub verbose: bool,
    /// Config file and per-run overrides.
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// Arguments of `dialtone watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Serve Prometheus metrics of every line on `PORT` (loopback) or `ADDR:PORT`
    /// (default: the config's `metrics.listen`; off when neither is set).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Also alert this target for this run, besides the config's `[[alert]]` ones:
    /// `ntfys://HOST/TOPIC`, `mailto:ADDR`, `https://…` (webhook), `apprise:URL` (repeatable).
    #[arg(long = "alert", value_name = "URL")]
    pub alerts: Vec<String>,
    /// Schedule and history flags, shared with the agent.
    #[command(flatten)]
    pub monitor: MonitorArgs,
    /// Config file and per-run overrides.
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// Parses the command line, runs the command, and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    // Not a subcommand of `Cli`: clap_complete lists hidden subcommands in the completions it
    // generates, and these are generated from `Cli`.
    if std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new(package_files::NAME)) {
        crate::logging::init();
        return package_files::run(&package_files::PackageFilesCli::parse_from(
            std::env::args_os().skip(1),
        ));
    }
    let cli = Cli::parse();
    crate::logging::init();
    let lang_flag = cli.lang.map(|l| match l {
        LangArg::De => Lang::De,
        LangArg::En => Lang::En,
    });
    let lang = lang_flag.unwrap_or_else(crate::system_lang);
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Some(Command::Check(args)) => run_check(&args, lang, &mut stdout),
        Some(Command::Watch(args)) => watch::run(&args, lang, &mut stdout),
        None => crate::agent::run(bare_agent_args().overrides(), lang_flag),
        Some(Command::Agent(args)) => crate::agent::run(args.overrides(), lang_flag),
        Some(Command::Providers(args)) => match providers::run(&args, lang, &mut stdout) {
            Ok(code) => code,
            Err(e) => {
                tracing::error!("{e}");
                e.exit_code()
            }
        },
        Some(Command::Password(args)) => password::run(&args, &mut stdout),
        Some(Command::Log(args)) => log::run(&args, lang, &mut stdout),
        Some(Command::Alert(args)) => alert::run(&args, lang, &mut stdout),
    }
}

pub(crate) fn setup_failed(e: &SetupError) -> ExitCode {
    tracing::error!("{e}");
    ExitCode::from(EXIT_CONFIG_ERROR)
}

/// The runtime for `check` and `watch`: one thread. A line's probes are a few sockets and
/// timers that wait almost all the time, so worker threads would only add their stacks and
/// malloc arenas to an idle `watch` (its memory target is 10 MB); blocking work (the history
/// writer) has its own thread.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            None
        }
    }
}

fn run_check(args: &CheckArgs, lang: Lang, out: &mut dyn Write) -> ExitCode {
    let lines = match args.overrides.overrides().resolve_lines() {
        Ok(lines) => lines,
        Err(e) => return setup_failed(&e),
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(EXIT_RUNTIME_ERROR);
    };
    let listed = lines.first().is_some_and(|p| p.listed);
    let several = listed && args.overrides.line.is_none();
    let results = rt.block_on(dialtone_engine::lines::check(lines));
    let mut reports = Vec::with_capacity(results.len());
    let mut worst: Option<dialtone_core::verdict::Verdict> = None;
    for result in results {
        let (label, diagnosis) = match task_outcome(result, "a check stopped unexpectedly: ") {
            Ok(done) => done,
            Err(code) => return code,
        };
        if worst.is_none_or(|w| diagnosis.verdict.severity() > w.severity()) {
            worst = Some(diagnosis.verdict);
        }
        let mut report = Report::new(&diagnosis, lang);
        report.line = listed.then_some(label);
        reports.push(report);
    }
    let written = if args.json {
        let json = if several {
            serde_json::to_writer_pretty(&mut *out, &reports)
        } else {
            serde_json::to_writer_pretty(&mut *out, &reports[0])
        };
        json.map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        reports.iter().enumerate().try_for_each(|(i, report)| {
            if i > 0 {
                writeln!(out)?;
            }
            report.write_text(lang, args.verbose, out)
        })
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        tracing::error!("writing the result: {e}");
        return ExitCode::from(EXIT_RUNTIME_ERROR);
    }
    ExitCode::from(
        worst
            .unwrap_or(dialtone_core::verdict::Verdict::Unknown)
            .exit_code(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_start_reads_the_config_variable() {
        // Read per call; no other test in this binary sets it.
        std::env::set_var("DIALTONE_CONFIG", "/nonexistent/dialtone-test.toml");
        let args = bare_agent_args();
        std::env::remove_var("DIALTONE_CONFIG");
        assert_eq!(
            args.overrides.config.as_deref(),
            Some(std::path::Path::new("/nonexistent/dialtone-test.toml"))
        );
        assert!(args.overrides.registrar.is_none());
    }
}
