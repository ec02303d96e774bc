//! "Start at login" on Linux: the XDG autostart entry `$XDG_CONFIG_HOME/autostart/dialtone.desktop`.
//!
//! Written by hand rather than through the `auto-launch` crate: that crate ignores
//! `XDG_CONFIG_HOME` on Linux (it builds `~/.config` from the home directory), which is both
//! wrong for users who move their config and unusable for tests that keep every file in a
//! temp dir; the file itself is a few lines.
//!
//! The entry is `packaging/dialtone-autostart.desktop`, compiled in: the same file the Debian
//! package ships as `/usr/share/dialtone/autostart/dialtone.desktop`, so the template exists
//! once. Only its `Exec=` line is replaced with the running executable (a build in
//! `target/release/` is not on `PATH`).

use crate::autostart::AutostartError;
use std::path::{Path, PathBuf};

/// The entry's file name.
const FILE_NAME: &str = "dialtone.desktop";

/// Where the entry lives.
fn entry_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("autostart").join(FILE_NAME))
}

/// Whether the entry exists (and is not disabled with `Hidden=true`).
pub(crate) fn is_enabled() -> bool {
    entry_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|text| !text.lines().any(|l| l.trim() == "Hidden=true"))
}

/// The packaged template (`Exec=dialtone`).
const TEMPLATE: &str = include_str!("../../../../packaging/dialtone-autostart.desktop");

/// The entry's text for the agent at `exe`: the template with its `Exec=` line pointing there.
fn desktop_entry(exe: &Path) -> String {
    let exec = format!("Exec={}", exec_quote(&exe.to_string_lossy()));
    TEMPLATE
        .lines()
        .map(|line| {
            if line.starts_with("Exec=") {
                exec.as_str()
            } else {
                line
            }
        })
        .flat_map(|line| [line, "\n"])
        .collect()
}

/// Quotes a path for `Exec=` (Desktop Entry spec: double quotes, with `"`, `` ` ``, `$` and
/// `\` escaped; `%` doubled because it starts field codes).
fn exec_quote(path: &str) -> String {
    let mut out = String::from("\"");
    for c in path.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Creates (for the running executable) or removes the entry.
pub(crate) fn set(enabled: bool) -> Result<(), AutostartError> {
    let path = entry_path().ok_or(AutostartError::NoConfigDir)?;
    if enabled {
        let io = |source| AutostartError::Io {
            op: "writing",
            path: path.clone(),
            source,
        };
        let exe = std::env::current_exe().map_err(io)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&path, desktop_entry(&exe)).map_err(io)
    } else {
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(AutostartError::Io {
                op: "removing",
                path,
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_paths_are_quoted() {
        let entry = desktop_entry(Path::new("/opt/my apps/dial$tone%1"));
        assert!(
            entry.contains("Exec=\"/opt/my apps/dial\\$tone%%1\"\n"),
            "{entry}"
        );
        assert!(entry.starts_with("[Desktop Entry]\nType=Application\n"));
        // Everything else is the packaged template, line for line.
        let others = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with("Exec="))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(others(&entry), others(TEMPLATE));
        assert_eq!(entry.matches("Exec=").count(), 1);
        assert!(TEMPLATE.contains("\nExec=dialtone\n"), "{TEMPLATE}");
    }
}
