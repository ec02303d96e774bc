//! Opens links in the system browser (or phone app, for `tel:`). Only what passed the one
//! gate, [`dialtone_core::link::checked`], reaches here: this module runs the opener.

pub(crate) use dialtone_core::link::{checked, Link};
use std::process::{Command, Stdio};

/// Environment variable naming the program that opens links (default `xdg-open`); tests point
/// it at a script that records the URL.
pub(crate) const OPENER_ENV: &str = "DIALTONE_OPENER";

/// Why a checked link could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("opening {url} with {opener}: {detail}")]
pub(crate) struct OpenError {
    /// The URL.
    pub url: String,
    /// The program.
    pub opener: String,
    /// The OS error.
    pub detail: String,
}

/// Opens a checked link with `$DIALTONE_OPENER` or `xdg-open`, without waiting for it (a
/// browser start must never hold the tray or the notifier). The opener's own failure is its
/// business: it reports to the user itself.
pub(crate) fn open(link: &Link) -> Result<(), OpenError> {
    let opener = std::env::var(OPENER_ENV)
        .ok()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "xdg-open".to_string());
    let mut child = Command::new(&opener)
        .arg(link.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| OpenError {
            url: link.as_str().to_string(),
            opener: opener.clone(),
            detail: e.to_string(),
        })?;
    // Reap it in the background so no zombie stays behind.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Opens `url` when the gate lets it through (logging why not otherwise): what the tray menu
/// and the notification buttons do with a click.
pub(crate) fn open_if_allowed(url: &str, allowed: &[String]) {
    let result = checked(url, allowed.iter().map(String::as_str))
        .map_err(|e| e.to_string())
        .and_then(|link| open(&link).map_err(|e| e.to_string()));
    if let Err(e) = result {
        tracing::warn!("{e}");
    }
}
