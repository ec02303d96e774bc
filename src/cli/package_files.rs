//! `dialtone package-files DIR` (hidden): writes the man pages and the bash, zsh and fish
//! completions, generated from the real [`super::Cli`], for `scripts/package`.
//!
//! A subcommand of the shipped binary rather than a generator of its own: `scripts/package`
//! runs the very binary it packages, so the pages always describe that build, and no second
//! program has to be compiled (in release that would mean another fat-LTO link of the whole
//! agent). It is kept out of [`super::Cli`] (the entry point checks for it first), so neither
//! the pages nor the completions list it.

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The word after `dialtone` that selects this.
pub const NAME: &str = "package-files";

/// `dialtone package-files DIR`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "dialtone package-files",
    about = "Writes dialtone's man pages and shell completions (for packaging)"
)]
pub struct PackageFilesCli {
    /// Directory to write into: `man/` (dialtone.1, one page per subcommand, and
    /// dialtone-dashboard.1) and
    /// `completions/` (dialtone.bash, _dialtone, dialtone.fish).
    pub dir: PathBuf,
}

/// Why the files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PackageFilesError {
    /// Creating a directory or writing a file failed.
    #[error("writing the {what} into {}: {source}", dir.display())]
    Write {
        /// "man pages" or "bash completions", …
        what: String,
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The shells completions are written for, with their conventional file names.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "dialtone.bash"),
    (Shell::Zsh, "_dialtone"),
    (Shell::Fish, "dialtone.fish"),
];

/// The dashboard as its man page describes it. It takes no arguments (a Tauri window started
/// by the agent), so there is no parser to generate this from; this is only its page's text.
fn dashboard_command() -> clap::Command {
    clap::Command::new("dialtone-dashboard")
        .version(super::VERSION)
        .about("The dialtone dashboard: why the phone line does (not) work, in one window")
        .long_about(
            "The window behind the tray agent's \"Open dashboard\": the chain this computer, \
             router, internet, provider, account with the evidence for each, a 24 h timeline, \
             the provider's official channels and status posts, the outage log with its \
             export, and the settings. It holds no state of its own: everything comes from the \
             running agent (dialtone(1)) over its socket, and it exits when its window closes. \
             Started by the agent; DIALTONE_SOCKET names the agent's socket.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
}

/// Writes every man page and completion file into `dir`.
pub fn write(dir: &Path) -> Result<(), PackageFilesError> {
    let man = dir.join("man");
    let failed = |what: &str, dir: &Path| {
        let (what, dir) = (what.to_string(), dir.to_path_buf());
        move |source| PackageFilesError::Write { what, dir, source }
    };
    std::fs::create_dir_all(&man).map_err(failed("man pages", &man))?;
    clap_mangen::generate_to(super::Cli::command(), &man).map_err(failed("man pages", &man))?;
    clap_mangen::Man::new(dashboard_command())
        .generate_to(&man)
        .map_err(failed("man pages", &man))?;
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions).map_err(failed("completions", &completions))?;
    for (shell, file) in SHELLS {
        let what = format!("{shell} completions");
        let mut out =
            std::fs::File::create(completions.join(file)).map_err(failed(&what, &completions))?;
        let mut cmd = super::Cli::command();
        clap_complete::generate(shell, &mut cmd, "dialtone", &mut out);
    }
    Ok(())
}

/// Runs `dialtone package-files`.
pub fn run(args: &PackageFilesCli) -> ExitCode {
    match write(&args.dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(dialtone_core::verdict::EXIT_RUNTIME_ERROR)
        }
    }
}
