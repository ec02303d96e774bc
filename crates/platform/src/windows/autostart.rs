//! "Start at login" on Windows: a value named `dialtone` under the per-user Run key
//! (`HKCU\Software\Microsoft\Windows\CurrentVersion\Run`) holding the quoted executable path.
//! Per-user, so it needs no administrator, and the uninstaller removes the same value.

use std::path::Path;

/// The value name under the Run key.
pub(crate) const RUN_VALUE_NAME: &str = "dialtone";
/// The Run key itself, under `HKEY_CURRENT_USER`.
pub(crate) const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";

/// The Run value for the agent at `exe`: the path in double quotes, so a path with spaces
/// (`C:\Users\Jane Doe\AppData\Local\Programs\dialtone\dialtone.exe`) is one program, not
/// `C:\Users\Jane` with arguments. Windows paths cannot contain `"`, so no escaping is needed.
pub(crate) fn run_value(exe: &Path) -> String {
    format!("\"{}\"", exe.to_string_lossy())
}

#[cfg(all(windows, feature = "autostart"))]
pub(crate) use registry::{is_enabled, set};

#[cfg(all(windows, feature = "autostart"))]
mod registry {
    use super::{run_value, RUN_KEY, RUN_VALUE_NAME};
    use crate::autostart::AutostartError;
    use std::path::PathBuf;
    use windows_registry::CURRENT_USER;

    /// `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)`: the value (or key) is not there.
    const NOT_FOUND: i32 = 0x8007_0002_u32 as i32;

    fn key_path() -> PathBuf {
        PathBuf::from(format!(r"HKEY_CURRENT_USER\{RUN_KEY}\{RUN_VALUE_NAME}"))
    }

    pub(crate) fn is_enabled() -> bool {
        CURRENT_USER
            .open(RUN_KEY)
            .and_then(|key| key.get_string(RUN_VALUE_NAME))
            .is_ok_and(|value| !value.trim().is_empty())
    }

    pub(crate) fn set(enabled: bool) -> Result<(), AutostartError> {
        if enabled {
            let exe = std::env::current_exe().map_err(|source| AutostartError::Io {
                op: "writing",
                path: key_path(),
                source,
            })?;
            outcome(
                "writing",
                CURRENT_USER
                    .create(RUN_KEY)
                    .and_then(|key| key.set_string(RUN_VALUE_NAME, run_value(&exe))),
            )
        } else {
            // Opened for writing: `open` alone reads, and removing a value is a write.
            match CURRENT_USER
                .options()
                .read()
                .write()
                .open(RUN_KEY)
                .and_then(|key| key.remove_value(RUN_VALUE_NAME))
            {
                // Nothing to remove is what was asked for.
                Err(e) if e.code().0 == NOT_FOUND => Ok(()),
                other => outcome("removing", other),
            }
        }
    }

    fn outcome(
        op: &'static str,
        result: windows_registry::Result<()>,
    ) -> Result<(), AutostartError> {
        result.map_err(|e| AutostartError::Io {
            op,
            path: key_path(),
            source: std::io::Error::other(e.message()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_value_quotes_the_executable() {
        let exe = Path::new(r"C:\Users\Jane Doe\AppData\Local\Programs\dialtone\dialtone.exe");
        assert_eq!(
            run_value(exe),
            r#""C:\Users\Jane Doe\AppData\Local\Programs\dialtone\dialtone.exe""#
        );
        assert_eq!(RUN_KEY, r"Software\Microsoft\Windows\CurrentVersion\Run");
        // The uninstaller removes the value by this name (packaging/windows/dialtone.nsi).
        assert_eq!(RUN_VALUE_NAME, "dialtone");
    }

    // The real registry (under wine, the test prefix's): what the menu item does, undone.
    #[cfg(all(windows, feature = "autostart"))]
    #[test]
    fn the_run_value_is_written_and_removed() {
        #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
        let before = is_enabled();
        set(true).unwrap();
        assert!(is_enabled());
        let exe = std::env::current_exe().unwrap();
        let value = windows_registry::CURRENT_USER
            .open(RUN_KEY)
            .and_then(|key| key.get_string(RUN_VALUE_NAME))
            .unwrap();
        assert_eq!(value, run_value(&exe));
        set(false).unwrap();
        assert!(!is_enabled());
        // Removing what is not there is no error.
        set(false).unwrap();
        set(before).unwrap();
    }
}
