//! `dialtone password set|clear`: keeps the SIP password (or, with `--router-login`, the
//! FRITZ!Box user's password; with `--smtp-login`, the mail server's for e-mail alerts) in the
//! OS keyring, never in the config.

use dialtone_core::verdict::{EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use dialtone_engine::credentials::{keyring_account, router_keyring_account};
use dialtone_engine::secret::{self, Secret};
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// Arguments of `dialtone password`.
#[derive(Debug, Clone, clap::Args)]
pub struct PasswordArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PasswordAction,
    /// Config file and overrides (the account is `--user` at the registrar's domain).
    #[command(flatten)]
    pub overrides: super::OverrideArgs,
    /// The router login's password (`router.user` / `--router-user`) instead of the SIP one.
    #[arg(long)]
    pub router_login: bool,
    /// The mail server's password for e-mail alerts (`[smtp] user` at `host`) instead of the
    /// SIP one.
    #[arg(long, conflicts_with = "router_login")]
    pub smtp_login: bool,
}

/// `dialtone password` actions.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PasswordAction {
    /// Ask for the password (or read one line from stdin with `--stdin`) and store it.
    Set {
        /// Read the password from the first line of standard input instead of the terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// Remove the stored password.
    Clear,
    /// After the registrar rejected the login, try it once more with the same password (e.g.
    /// after fixing the account at the provider). The running agent retries at once.
    Retry,
}

/// Runs `dialtone password`, writing its result to `out`; errors go to the log (stderr).
pub(super) fn run(args: &PasswordArgs, out: &mut dyn Write) -> ExitCode {
    let config = match args.overrides.overrides().resolve_line_config() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(EXIT_CONFIG_ERROR);
        }
    };
    let account = if args.smtp_login {
        let Some(account) = config
            .smtp
            .as_ref()
            .and_then(dialtone_engine::alert::smtp_keyring_account)
        else {
            tracing::error!("no mail server login configured: set [smtp] host and user");
            return ExitCode::from(EXIT_CONFIG_ERROR);
        };
        account
    } else if args.router_login {
        let Some(user) = config.router.user.as_deref() else {
            tracing::error!("no router user configured: set router.user (or pass --router-user)");
            return ExitCode::from(EXIT_CONFIG_ERROR);
        };
        router_keyring_account(user)
    } else {
        let Some(account) = config.account.as_ref().and_then(keyring_account) else {
            tracing::error!("no SIP account configured: set account.registrar and account.user (or pass --registrar and --user)");
            return ExitCode::from(EXIT_CONFIG_ERROR);
        };
        account
    };
    let result = match args.action {
        PasswordAction::Set { stdin } => read_password(stdin, &account).and_then(|password| {
            secret::store_in_keyring(&account, &password).map_err(|e| e.to_string())
        }),
        PasswordAction::Clear => secret::delete_from_keyring(&account).map_err(|e| e.to_string()),
        PasswordAction::Retry => return retry(args, out),
    };
    match result {
        Ok(()) => report(
            out,
            format_args!(
                "keyring entry {}/{account} updated",
                secret::KEYRING_SERVICE
            ),
        ),
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(EXIT_RUNTIME_ERROR)
        }
    }
}

/// `dialtone password retry`: the running agent, when there is one, lifts the suspension and
/// tries at once (one attempt); otherwise the suspension is lifted on disk and the next
/// `check`, `watch` or agent start tries once.
fn retry(args: &PasswordArgs, out: &mut dyn Write) -> ExitCode {
    let prepared = match args.overrides.overrides().resolve() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(EXIT_CONFIG_ERROR);
        }
    };
    if prepared.login_key().is_none() {
        tracing::error!("no SIP account with a password configured: nothing to retry");
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    let asked_agent = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
        .and_then(|rt| {
            rt.block_on(async {
                let socket = dialtone_ipc::socket_path().ok()?;
                let mut client = dialtone_ipc::client::Client::connect(&socket).await.ok()?;
                client.retry_login().await.ok()
            })
        })
        .is_some();
    let result = if asked_agent {
        "asked the running agent to try the login once more"
    } else if prepared.lift_suspension() {
        "the rejected login will be tried once more at the next check"
    } else {
        "no rejected login to retry"
    };
    report(out, format_args!("{result}"))
}

/// Writes the command's result (not a log line) to `out`, the CLI's stdout. A write that fails
/// (a closed pipe) is the command's failure, reported like any other, not a panic.
fn report(out: &mut dyn Write, result: std::fmt::Arguments<'_>) -> ExitCode {
    match writeln!(out, "{result}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("dialtone password: writing the result: {e}");
            ExitCode::from(EXIT_RUNTIME_ERROR)
        }
    }
}

fn read_password(from_stdin: bool, account: &str) -> Result<Secret, String> {
    read_secret(from_stdin, "password", account)
}

/// Reads a `what` (a password, a token) for `whose` from the terminal without echo, or the
/// first line of stdin; an empty one is refused.
pub(super) fn read_secret(from_stdin: bool, what: &str, whose: &str) -> Result<Secret, String> {
    let secret = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the {what} from stdin: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!("{what} for {whose}: "))
            .map_err(|e| format!("reading the {what} from the terminal: {e}"))?
    };
    if secret.is_empty() {
        return Err(format!("the {what} is empty; nothing stored"));
    }
    Ok(Secret::new(secret))
}
