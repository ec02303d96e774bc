//! The names of the dashboard's commands, shared by `build.rs` (which turns each into an
//! `allow-<name>` permission) and the app.

/// The commands the dashboard's window may invoke (each gets an `allow-<name>` permission).
pub const COMMANDS: &[&str] = &[
    "status",
    "history",
    "check_now",
    "settings",
    "save_settings",
    "set_password",
    "channels",
    "feeds",
    "providers",
    "detect_provider",
    "open_channel",
    "pause_alerts",
    "system_lang",
    "connection",
    "episodes",
    "attach_report",
    "export_log",
];
