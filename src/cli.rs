//! The command line: `dialtone check|watch`, the headless faces of the engine.

use std::process::ExitCode;

/// Parses the command line, runs the command, and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
