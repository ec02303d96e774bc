//! The command line: `dialtone` (the tray agent) and `dialtone check|watch|log|providers`, the
//! headless faces of the same engine.

pub mod log;
pub mod providers;

use std::process::ExitCode;

/// Parses the command line, runs the command, and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
