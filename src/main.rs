//! The `dialtone` binary: the line monitor's command-line and tray front door.

fn main() -> std::process::ExitCode {
    dialtone::cli::main()
}
