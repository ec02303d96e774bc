//! Starts the dashboard (`dialtone-dashboard`, a separate Tauri process) on request, with the
//! agent's socket in `DIALTONE_SOCKET`, and leaves a running one alone.

use dialtone_ipc::protocol::ErrorReply;
use dialtone_ipc::SOCKET_ENV;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Environment variable naming the dashboard program (tests, custom installs).
pub(super) const DASHBOARD_ENV: &str = "DIALTONE_DASHBOARD";

/// The dashboard program's file name.
pub(super) const PROGRAM: &str = "dialtone-dashboard";

/// The dashboard launcher.
#[derive(Debug, Default)]
pub(super) struct Dashboard {
    running: Arc<AtomicBool>,
    warned: AtomicBool,
}

/// Which program to start: `$DIALTONE_DASHBOARD`, else `dialtone-dashboard` next to this
/// executable (an install or `target/<profile>/`), else the one on `PATH`.
pub(super) fn program() -> PathBuf {
    if let Some(path) = std::env::var_os(DASHBOARD_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        // `.exe` on Windows, nothing elsewhere.
        .and_then(|exe| {
            exe.parent().map(|dir| {
                dir.join(PROGRAM)
                    .with_extension(std::env::consts::EXE_EXTENSION)
            })
        })
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(PROGRAM))
}

impl Dashboard {
    /// Starts the dashboard unless one started by this agent still runs.
    pub(super) fn open(&self, socket: &Path) -> Result<(), ErrorReply> {
        if self.running.load(Ordering::SeqCst) {
            return Ok(());
        }
        let program = program();
        let child = Command::new(&program)
            .env(SOCKET_ENV, socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn();
        match child {
            Ok(mut child) => {
                self.running.store(true, Ordering::SeqCst);
                let running = self.running.clone();
                // Reaps it when its window closes, so the next click starts a new one.
                let _ = std::thread::Builder::new()
                    .name("dialtone-dashboard-wait".into())
                    .spawn(move || {
                        let _ = child.wait();
                        running.store(false, Ordering::SeqCst);
                    });
                Ok(())
            }
            Err(e) => {
                let detail = format!("{}: {e}", program.display());
                if !self.warned.swap(true, Ordering::SeqCst) {
                    tracing::warn!("cannot start the dashboard ({detail})");
                }
                Err(ErrorReply::Dashboard { detail })
            }
        }
    }
}
