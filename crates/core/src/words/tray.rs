//! What the tray says about itself: on Windows 11 a new tray icon starts in the overflow (the
//! `^` beside the clock) until the user pins it, so the first start says once where it is and
//! how to keep it in view.

use crate::locale::Lang;

/// The first-run hint: a notification's headline and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrayHint {
    /// The headline.
    pub summary: &'static str,
    /// Where the icon may be and how to pin it.
    pub body: &'static str,
}

/// The hint that Windows may hide the new icon in the overflow, and how to pin it (the
/// Settings path as Windows 11 names it, and dragging, which works on Windows 10 and 11).
pub fn overflow_hint(lang: Lang) -> TrayHint {
    match lang {
        Lang::En => TrayHint {
            summary: "dialtone is in the notification area",
            body: "Windows may hide new icons behind the arrow (^) next to the clock. \
To keep dialtone in view, drag its icon from there onto the taskbar, or turn it on under \
Settings → Personalization → Taskbar → Other system tray icons.",
        },
        Lang::De => TrayHint {
            summary: "dialtone ist im Infobereich",
            body: "Windows blendet neue Symbole eventuell hinter dem Pfeil (^) neben der Uhr \
aus. Damit dialtone sichtbar bleibt, ziehen Sie das Symbol von dort auf die Taskleiste, oder \
schalten Sie es ein unter Einstellungen → Personalisierung → Taskleiste → Andere \
Taskleistensymbole.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixtures pin every word of the hint in both languages.
    #[test]
    fn the_overflow_hint_in_both_languages() {
        assert_eq!(
            overflow_hint(Lang::En),
            TrayHint {
                summary: "dialtone is in the notification area",
                body: "Windows may hide new icons behind the arrow (^) next to the clock. To keep \
dialtone in view, drag its icon from there onto the taskbar, or turn it on under Settings → \
Personalization → Taskbar → Other system tray icons.",
            }
        );
        assert_eq!(
            overflow_hint(Lang::De),
            TrayHint {
                summary: "dialtone ist im Infobereich",
                body: "Windows blendet neue Symbole eventuell hinter dem Pfeil (^) neben der Uhr \
aus. Damit dialtone sichtbar bleibt, ziehen Sie das Symbol von dort auf die Taskleiste, oder \
schalten Sie es ein unter Einstellungen → Personalisierung → Taskleiste → Andere \
Taskleistensymbole.",
            }
        );
    }
}
