//! Text sent in both languages at once, so that a client can switch without asking again.

use dialtone_core::locale::Lang;
use serde::{Deserialize, Serialize};

/// The same thing worded in both languages, so the dashboard switches without asking again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bilingual<T> {
    /// English.
    pub en: T,
    /// German.
    pub de: T,
}

impl<T> Bilingual<T> {
    /// Renders `f` once per language.
    pub fn render(f: impl Fn(Lang) -> T) -> Bilingual<T> {
        Bilingual {
            en: f(Lang::En),
            de: f(Lang::De),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &T {
        match lang {
            Lang::En => &self.en,
            Lang::De => &self.de,
        }
    }
}
