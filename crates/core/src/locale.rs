//! The languages dialtone speaks (German and English) and how the user's one is chosen.

use serde::{Deserialize, Serialize};

/// A language every visible string exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// German.
    De,
}

impl Lang {
    /// Picks the language from a locale name such as `de_DE.UTF-8` (POSIX) or `de-AT`
    /// (Windows); English otherwise, and for an empty one.
    pub fn from_locale(locale: &str) -> Lang {
        let lower = locale.trim().to_ascii_lowercase();
        if lower == "de"
            || lower.starts_with("de_")
            || lower.starts_with("de-")
            || lower.starts_with("de.")
        {
            Lang::De
        } else {
            Lang::En
        }
    }

    /// Picks the English or German text.
    pub fn pick<'a>(self, en: &'a str, de: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::De => de,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_locales_are_recognised() {
        assert_eq!(Lang::from_locale("de_DE.UTF-8"), Lang::De);
        assert_eq!(Lang::from_locale("de_AT"), Lang::De);
        assert_eq!(Lang::from_locale("de"), Lang::De);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
        assert_eq!(Lang::from_locale("dense"), Lang::En);
    }
}
