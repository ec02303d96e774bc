//! What the dashboard says before it has a window to say it in: the message box of a Windows
//! without Microsoft's WebView2 runtime (issue 18, point 8). The box names what is missing,
//! where Microsoft offers it, that the agent keeps watching the line, and asks whether to open
//! the download page. Pinned word for word by `tests/fixtures/words/no_webview2.*.txt`.

use crate::locale::Lang;

/// Microsoft's download page of the WebView2 runtime (the "Evergreen" installer).
pub const WEBVIEW2_DOWNLOAD_URL: &str = "https://developer.microsoft.com/microsoft-edge/webview2/";

/// The words of the message box shown when no web view runtime is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoWebViewWords {
    /// The box's title (tests find the window by it).
    pub title: &'static str,
    /// The text: what is missing, where to get it, that the tray keeps going, and the
    /// yes/no question whether to open the download page now.
    pub text: String,
}

/// The message box's words in `lang`.
pub fn no_webview_words(lang: Lang) -> NoWebViewWords {
    match lang {
        Lang::En => NoWebViewWords {
            title: "dialtone: WebView2 is missing",
            text: format!(
                "The dialtone dashboard needs Microsoft's WebView2 runtime, which is not \
                 installed on this computer.\n\n\
                 Microsoft offers it for free at:\n{WEBVIEW2_DOWNLOAD_URL}\n\n\
                 dialtone keeps watching your line in the tray meanwhile.\n\n\
                 Open the download page now?"
            ),
        },
        Lang::De => NoWebViewWords {
            title: "dialtone: WebView2 fehlt",
            text: format!(
                "Das Dashboard von dialtone braucht die WebView2-Laufzeit von Microsoft, die \
                 auf diesem Computer nicht installiert ist.\n\n\
                 Microsoft bietet sie kostenlos an unter:\n{WEBVIEW2_DOWNLOAD_URL}\n\n\
                 dialtone überwacht Ihren Anschluss derweil weiter im Infobereich.\n\n\
                 Die Download-Seite jetzt öffnen?"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture holds the title, a blank line, then the text.
    fn pinned(lang: Lang) -> String {
        let words = no_webview_words(lang);
        format!("{}\n\n{}\n", words.title, words.text)
    }

    #[test]
    fn the_box_says_what_is_missing_and_where_to_get_it_in_both_languages() {
        assert_eq!(
            pinned(Lang::En),
            include_str!("../../../../tests/fixtures/words/no_webview2.en.txt")
        );
        assert_eq!(
            pinned(Lang::De),
            include_str!("../../../../tests/fixtures/words/no_webview2.de.txt")
        );
    }

    #[test]
    fn the_download_page_is_microsofts_over_https() {
        assert!(WEBVIEW2_DOWNLOAD_URL.starts_with("https://developer.microsoft.com/"));
        for lang in [Lang::En, Lang::De] {
            assert!(no_webview_words(lang).text.contains(WEBVIEW2_DOWNLOAD_URL));
        }
    }
}
