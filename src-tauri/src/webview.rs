//! The dashboard without a web view runtime (a Windows whose WebView2 runtime is missing, or
//! removed): Tauri would panic while it sets the window up, so the dashboard asks first and,
//! where there is none, says so in the system's message box (issue 18, point 8) with the
//! download page of Microsoft's runtime, offers to open it, and ends with
//! [`exit::NO_WEBVIEW`](crate::exit::NO_WEBVIEW). The agent and its tray are another process
//! and keep running.

use dialtone_core::locale::Lang;
use dialtone_core::words::{no_webview_words, WEBVIEW2_DOWNLOAD_URL};

/// What the log says when there is no web view runtime (in English, as every log line).
pub const NO_WEBVIEW_RUNTIME: &str = "no web view runtime to show the dashboard in: on Windows, \
install Microsoft's WebView2 runtime (https://developer.microsoft.com/microsoft-edge/webview2/); \
the agent and its tray keep running";

/// Whether a web view runtime is there to show the window in; `Err` carries why not.
pub fn runtime() -> Result<String, String> {
    tauri::webview_version().map_err(|e| e.to_string())
}

/// Says that the runtime is missing: the log line, then the message box in `lang`; opens the
/// download page in the system browser when the user says yes. Returns once the box is closed.
pub fn say_missing(why: &str, lang: Lang) {
    tracing::error!("{NO_WEBVIEW_RUNTIME} ({why})");
    let words = no_webview_words(lang);
    match dialtone_platform::dialog::ask_yes_no(words.title, &words.text) {
        Ok(true) => {
            // The system's own opener (the default browser); the URL is a constant of ours.
            if let Err(e) = tauri_plugin_opener::open_url(WEBVIEW2_DOWNLOAD_URL, None::<&str>) {
                tracing::warn!("opening {WEBVIEW2_DOWNLOAD_URL}: {e}");
            }
        }
        Ok(false) => {}
        // The log line above already says everything the box would have.
        Err(e) => tracing::warn!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_names_the_page_the_box_offers() {
        assert!(NO_WEBVIEW_RUNTIME.contains(WEBVIEW2_DOWNLOAD_URL));
        assert!(NO_WEBVIEW_RUNTIME.contains("WebView2 runtime"));
    }
}
