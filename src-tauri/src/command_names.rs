//! The dashboard's commands, listed once. `build.rs` turns each into an `allow-<name>`
//! permission and writes the window's capability from the same list; `lib.rs` registers the
//! handlers from it. A command added here is registered, permitted and granted together.

/// Calls `$then!` with every command of the dashboard (the functions in `commands`).
#[macro_export]
macro_rules! with_dashboard_commands {
    ($then:ident) => {
        $then!(
            status,
            history,
            check_now,
            retry_login,
            settings,
            save_settings,
            set_password,
            channels,
            feeds,
            providers,
            detect_provider,
            open_channel,
            pause_alerts,
            system_lang,
            connection,
            episodes,
            attach_report,
            export_log,
            alerts,
            test_alerts
        )
    };
}

/// The names as strings.
macro_rules! command_names {
    ($($name:ident),*) => {
        &[$(stringify!($name)),*]
    };
}

/// The commands the dashboard's window may invoke (each gets an `allow-<name>` permission).
pub const COMMANDS: &[&str] = with_dashboard_commands!(command_names);
