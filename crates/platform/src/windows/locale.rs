//! The user's locale on Windows: `GetUserDefaultLocaleName` (`de-DE`), what the user chose in
//! Settings → Time & language, since no `LANG` is set for Windows programs.

#![allow(unsafe_code)] // one Win32 call writing into a buffer this function owns.

use windows_sys::Win32::Globalization::GetUserDefaultLocaleName;

/// `LOCALE_NAME_MAX_LENGTH`: the longest locale name with its terminating NUL.
const MAX_NAME: usize = 85;

pub(crate) fn user_locale() -> Option<String> {
    let mut buf = [0u16; MAX_NAME];
    // SAFETY: the buffer is ours and its length in UTF-16 units is what we pass; the call
    // writes at most that many, NUL included, and returns how many it wrote (0 on failure).
    let written = unsafe { GetUserDefaultLocaleName(buf.as_mut_ptr(), MAX_NAME as i32) };
    let len = usize::try_from(written).ok()?.checked_sub(1)?;
    let name = String::from_utf16(buf.get(..len)?).ok()?;
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_user_has_a_locale_name() {
        // wine answers with the prefix's locale (from the Unix one it started under), Windows
        // with the display language: either way a name like `en-US`.
        let name = super::user_locale();
        assert!(
            name.as_deref()
                .is_some_and(|n| n.len() >= 2 && n.is_ascii()),
            "{name:?}"
        );
    }
}
