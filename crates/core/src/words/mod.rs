//! Every word dialtone shows about a line, in English and German, in one place: the findings
//! of the probes (error kinds, `detail.rs`), the facts of a diagnosis in the technical register
//! (`render.rs`) and in plain words (`plain.rs`), and the summaries and reasons a person reads
//! first (`summary.rs`), and the tray's first-run hint (`tray.rs`).
//!
//! The probes and the rules of [`crate::diagnosis`] hold kinds, numbers and names; the words
//! are made here, when they are shown, so that a presenter in either language words the same
//! finding the same way. Where the words are a fixed table (error kinds, layers, transport
//! failures) they are one, in the style of the dashboard's `ui/i18n.js`.

mod alert;
mod dashboard;
mod detail;
mod plain;
mod render;
mod summary;
mod tray;

pub use alert::{render_alert, AlertEvent, AlertFacts, RenderedAlert};
pub use dashboard::{no_webview_words, NoWebViewWords, WEBVIEW2_DOWNLOAD_URL};
pub use detail::{
    detail_words, error_chain_words, io_error_words, io_kind_words, os_words, NO_SOCKET_WORDS,
};
pub use tray::{overflow_hint, TrayHint};

pub(crate) use detail::detail_suffix;

use crate::locale::Lang;
use crate::verdict::Layer;

/// Each layer's name in the user's words, in English and German.
const LAYERS: [(Layer, &str, &str); 6] = [
    (Layer::Device, "this computer", "dieser Computer"),
    (Layer::HomeNetwork, "the home network", "das Heimnetz"),
    (Layer::Router, "the router", "der Router"),
    (Layer::Internet, "the internet access", "der Internetzugang"),
    (Layer::Provider, "the provider", "der Anbieter"),
    (Layer::Account, "the account", "das Konto"),
];

/// A layer's name in the user's words, for "not checked" evidence.
pub fn layer_words(layer: Layer, lang: Lang) -> &'static str {
    LAYERS
        .iter()
        .find(|(l, _, _)| *l == layer)
        .map_or("", |(_, en, de)| lang.pick(en, de))
}

/// "35 ms", "2.4 ms" or "8.0 s" / "8,0 s": the way a person reads a latency.
pub(crate) fn duration_words(ms: f64, lang: Lang) -> String {
    let text = if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    };
    match lang {
        Lang::En => text,
        Lang::De => text.replace('.', ","),
    }
}

/// "45 s", "12 min", "3 h 05 min", "1 day", "2 days 3 h" / "2 Tagen 3 h": how long something
/// lasted.
pub(crate) fn span_words(secs: u64, lang: Lang) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        let days = match (d, lang) {
            (1, Lang::En) => "1 day".to_string(),
            (1, Lang::De) => "1 Tag".to_string(),
            (_, Lang::En) => format!("{d} days"),
            (_, Lang::De) => format!("{d} Tagen"),
        };
        if h > 0 {
            format!("{days} {h} h")
        } else {
            days
        }
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally_in_both_languages() {
        assert_eq!(duration_words(8000.0, Lang::En), "8.0 s");
        assert_eq!(duration_words(8000.0, Lang::De), "8,0 s");
        assert_eq!(duration_words(35.4, Lang::En), "35 ms");
        assert_eq!(duration_words(2.44, Lang::De), "2,4 ms");
    }

    #[test]
    fn every_layer_has_its_words() {
        for (layer, en, de) in LAYERS {
            assert_eq!(layer_words(layer, Lang::En), en);
            assert_eq!(layer_words(layer, Lang::De), de);
            assert!(!en.is_empty() && !de.is_empty());
        }
        assert_eq!(layer_words(Layer::Internet, Lang::De), "der Internetzugang");
    }
}
