//! `dialtone alert test|list` and the alert setup `watch` shares: the targets of the config
//! and of `--alert URL`, their secrets, the outbox beside the history. Every target is shown
//! redacted ([`dialtone_core::alert::redact`]).

use super::{runtime, setup_failed, MonitorArgs, OverrideArgs};
use dialtone_core::alert::AlertTarget;
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use dialtone_engine::alert::{outbox, token, AlertSetup, LineInfo};
use dialtone_engine::secret;
use dialtone_engine::setup::Prepared;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `dialtone alert`.
#[derive(Debug, Clone, clap::Args)]
pub struct AlertArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AlertAction,
}

/// `dialtone alert` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AlertAction {
    /// Send a test alert to every target; print per target "delivered" or why not. Exit 0
    /// only if every target accepted it.
    Test(AlertRunArgs),
    /// Show the targets (redacted, numbered, with where each token comes from) and the outbox.
    List(AlertRunArgs),
    /// Keep a target's access token (ntfy, webhook: sent as `Authorization: Bearer`; an
    /// Apprise URL's `{token}`) in the OS keyring, never in the config.
    Token(TokenArgs),
}

/// Arguments of `dialtone alert token`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: TokenAction,
    /// Config file (the targets are its `[[alert]]` tables).
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// `dialtone alert token` actions.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenAction {
    /// Ask for the token (or read one line from stdin with `--stdin`) and store it.
    Set {
        /// The target's number in `dialtone alert list` (its `[[alert]]` table, from 1).
        target: usize,
        /// Read the token from the first line of standard input instead of the terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// Remove the stored token.
    Clear {
        /// The target's number in `dialtone alert list`.
        target: usize,
    },
}

/// The flags of `alert test` and `alert list`.
#[derive(Debug, Clone, clap::Args)]
pub struct AlertRunArgs {
    /// A target for this run besides the config's: `ntfys://HOST/TOPIC`, `mailto:ADDR`,
    /// `https://…` (webhook), `apprise:URL` (repeatable).
    #[arg(long = "alert", value_name = "URL")]
    pub alerts: Vec<String>,
    /// Where the outbox is (beside the history file).
    #[command(flatten)]
    pub monitor: MonitorArgs,
    /// Config file and per-run overrides.
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// What the alerter knows of each line.
pub(super) fn line_infos(lines: &[Prepared]) -> Vec<LineInfo> {
    lines
        .iter()
        .map(|p| LineInfo {
            label: p.label.clone(),
            provider: p.provider.as_ref().map(|p| p.name.clone()),
            channels: p
                .provider
                .as_ref()
                .map(|p| p.channels.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// The alert setup of a run: the first line's config (every line shares `[[alert]]`), the
/// `--alert` URLs, the outbox beside `history`. The error is logged.
pub(super) fn setup(
    lines: &[Prepared],
    extra: &[String],
    history: Option<&Path>,
    lang: Lang,
) -> Result<AlertSetup, ExitCode> {
    let config = lines.first().map(|p| p.config.clone()).unwrap_or_default();
    AlertSetup::for_run(&config, extra, history, lang).map_err(|e| {
        tracing::error!("{e}");
        ExitCode::from(EXIT_CONFIG_ERROR)
    })
}

/// The environment variable that caps the wait between two tries of an alert, in seconds.
pub const RETRY_MAX_VAR: &str = dialtone_engine::alert::RETRY_MAX_VAR;

/// Runs `dialtone alert`.
pub(super) fn run(args: &AlertArgs, lang: Lang, out: &mut dyn Write) -> ExitCode {
    let run = match &args.action {
        AlertAction::Test(run) | AlertAction::List(run) => run,
        AlertAction::Token(token) => return self::token(token, out),
    };
    let mut overrides = run.overrides.overrides();
    run.monitor.add_to(&mut overrides);
    let lines = match overrides.resolve_lines() {
        Ok(lines) => lines,
        Err(e) => return setup_failed(&e),
    };
    let history = overrides.history_path();
    let setup = match setup(&lines, &run.alerts, history.as_deref(), lang) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let written = match &args.action {
        AlertAction::Test(_) => return test(&setup, &line_infos(&lines), out),
        _ => list(&setup, out),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(EXIT_RUNTIME_ERROR)
        }
    }
}

fn test(setup: &AlertSetup, lines: &[LineInfo], out: &mut dyn Write) -> ExitCode {
    if setup.is_empty() {
        tracing::error!("no alert targets: add [[alert]] tables to the config or give --alert URL");
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let Some(rt) = runtime() else {
        return ExitCode::from(EXIT_RUNTIME_ERROR);
    };
    let line = lines.first().cloned().unwrap_or_default();
    let outcomes = rt.block_on(dialtone_engine::alert::send_test(setup, &line));
    let mut all = true;
    for o in &outcomes {
        let said = match &o.result {
            Ok(()) => writeln!(out, "{}: delivered", o.shown),
            Err(why) => {
                all = false;
                writeln!(out, "{}: not delivered: {why}", o.shown)
            }
        };
        if said.is_err() {
            return ExitCode::from(EXIT_RUNTIME_ERROR);
        }
    }
    if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn list(setup: &AlertSetup, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "Targets:")?;
    if setup.targets.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for (n, t) in setup.targets.iter().enumerate() {
        let events: Vec<&str> = t.target.events.iter().map(|e| e.as_str()).collect();
        let token = match &t.token_source {
            Some(from) => format!(", token from {from}"),
            None if t.target.takes_token() => ", no token".to_string(),
            None => String::new(),
        };
        writeln!(
            out,
            "  {}. {} [{}] events: {}{token}",
            n + 1,
            t.target.shown(),
            t.target.target.kind(),
            events.join(", ")
        )?;
    }
    writeln!(out, "Outbox ({}):", setup.outbox.display())?;
    let outbox = outbox::Outbox::open(&setup.outbox).map_err(std::io::Error::other)?;
    if outbox.entries().is_empty() {
        writeln!(out, "  (empty)")?;
    }
    for e in outbox.entries() {
        let state = match &e.state {
            outbox::State::Pending { next_try } => format!(
                "waiting, next try {}",
                next_try.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            outbox::State::Delivered { at } => {
                format!("delivered {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
            }
            outbox::State::GivenUp { at } => {
                format!("given up {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
            }
        };
        writeln!(
            out,
            "  {} {} {} \"{}\" to {}: {state}, {} tries{}",
            e.created.format("%Y-%m-%d %H:%M:%S UTC"),
            e.alert.message.line,
            e.alert.message.event,
            e.alert.message.headline,
            e.shown,
            e.attempts,
            e.last_error
                .as_deref()
                .map(|w| format!(" (last: {w})"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// `dialtone alert token set|clear N`: the keyring entry of the N-th `[[alert]]` target's
/// token ([`token::keyring_account`]). Only the target's redacted URL and the entry's name are
/// printed or logged.
fn token(args: &TokenArgs, out: &mut dyn Write) -> ExitCode {
    let lines = match args.overrides.overrides().resolve_lines() {
        Ok(lines) => lines,
        Err(e) => return setup_failed(&e),
    };
    let alerts = lines
        .first()
        .map(|p| p.config.alerts.clone())
        .unwrap_or_default();
    let (TokenAction::Set { target: n, .. } | TokenAction::Clear { target: n }) = args.action;
    let Some(config) = n.checked_sub(1).and_then(|i| alerts.get(i)) else {
        tracing::error!(
            "no alert target {n}: the config has {} (see dialtone alert list)",
            alerts.len()
        );
        return ExitCode::from(EXIT_CONFIG_ERROR);
    };
    let target = match AlertTarget::from_config(config) {
        Ok(target) => target,
        Err(e) => {
            tracing::error!("alert[{}].{}: {}", n - 1, e.key, e.message);
            return ExitCode::from(EXIT_CONFIG_ERROR);
        }
    };
    let shown = target.shown();
    if !target.takes_token() {
        tracing::error!(
            "{shown} takes no token (an e-mail target's secret is the mail server's password: \
             dialtone password --smtp-login set; an Apprise URL takes one only where it has {{token}})"
        );
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let account = token::keyring_account(&target.url);
    let result = match args.action {
        TokenAction::Set { stdin, .. } => {
            super::password::read_secret(stdin, "token", &format!("alert target {n} ({shown})"))
                .and_then(|t| secret::store_in_keyring(&account, &t).map_err(|e| e.to_string()))
        }
        TokenAction::Clear { .. } => {
            secret::delete_from_keyring(&account).map_err(|e| e.to_string())
        }
    };
    if let Err(e) = result {
        tracing::error!("{shown}: {e}");
        return ExitCode::from(EXIT_RUNTIME_ERROR);
    }
    if target.token_env.is_some() || target.token.is_some() {
        tracing::warn!("{shown}: its token_env or token in the config comes first; the keyring's is used only without them");
    }
    match writeln!(
        out,
        "keyring entry {}/{account} updated ({shown})",
        secret::KEYRING_SERVICE
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("dialtone alert token: writing the result: {e}");
            ExitCode::from(EXIT_RUNTIME_ERROR)
        }
    }
}
