//! dialtone's engine: everything that watches a line, and nothing that shows it.
//!
//! The flow is one direction only: the [`probe`]s do I/O and return a
//! [`dialtone_core::observation::Snapshot`]; the core's `diagnose` turns it into a verdict with
//! reasons, without I/O or a clock; the [`monitor`] owns the state and applies hysteresis;
//! [`setup`] builds a line from the config and the overrides of one run, the same for every
//! face, and [`lines`] runs it (supervised, for every face alike); the [`history`] records checks and outages; the [`feed`]s fetch the provider's own
//! status posts. The presenters (the tray agent, the CLI, the exporter, the dashboard) live in
//! the app and only read what the monitor publishes: this crate links no tray, notification,
//! command-line, metrics or UI crate (`tests/crate_graph.rs` checks).

pub mod alert;
pub mod catalog_file;
pub mod config_file;
pub mod credentials;
pub mod feed;
pub mod history;
pub mod lines;
pub mod monitor;
pub mod probe;
pub mod secret;
pub mod setup;
mod tls;

// What the faces use most, at the root: a line from the config and one run's overrides, the
// runner that starts and supervises it, and the monitor it publishes through.
pub use lines::{LineEvent, LineHandles, Lines, LinesError, Sharing};
pub use monitor::{MonitorHandle, Status, VerdictChanged};
pub use setup::{Overrides, Prepared, SetupError};

/// dialtone's state directory, where what must survive restarts on this computer lives (the
/// login ledger, the alert outbox, the tray's first-run mark): the XDG state dir, or where the
/// OS has none (Windows: `%LOCALAPPDATA%\dialtone\data`) its local, not roaming, data dir —
/// state that roamed to another computer would speak of things that never happened there.
/// `None` when the OS names no home for the user.
pub fn state_dir() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("", "", "dialtone").map(|dirs| {
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf()
    })
}
