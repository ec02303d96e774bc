//! The config file on disk: `config.toml` in the XDG config dir, read and validated by the
//! core's rules ([`dialtone_core::config`]), written atomically and readable by the user only.

use dialtone_core::config::{Config, ConfigError};
use std::path::{Path, PathBuf};

/// The default location: `config.toml` in the XDG config dir (`~/.config/dialtone/`).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "dialtone").map(|d| d.config_dir().join("config.toml"))
}

/// Reads and validates `path`. A missing file is `Ok(None)` (first run), not an error.
pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let config = Config::parse(&text, path)?;
    config.validate(&path.display().to_string())?;
    guard_secrets(&config, path)?;
    Ok(Some(config))
}

/// Refuses a config whose alert URLs or `[smtp] password` carry a secret when the file is
/// readable by anyone but its owner (issue 19): the secret would be everybody's. Names the
/// file and the first key that carries one.
fn guard_secrets(config: &Config, path: &Path) -> Result<(), ConfigError> {
    let key = config
        .alerts
        .iter()
        .enumerate()
        .find(|(_, a)| {
            dialtone_core::alert::AlertTarget::from_config(a).is_ok_and(|t| t.carries_secret())
        })
        .map(|(i, _)| format!("alert[{i}].url"))
        .or_else(|| {
            config
                .smtp
                .as_ref()
                .and_then(|s| s.password.as_ref())
                .map(|_| "smtp.password".to_string())
        });
    let Some(key) = key else {
        return Ok(());
    };
    let mode = dialtone_platform::fs::access_bits(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if mode & 0o077 != 0 {
        return Err(ConfigError::Invalid {
            origin: path.display().to_string(),
            key,
            message: format!(
                "carries a secret, but the file is readable by others (mode {:o}): `chmod 600 {}`, or use an environment variable or the keyring",
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}

/// Writes `config` to `path` (creating the directory), readable by the user only.
pub fn save(config: &Config, path: &Path) -> Result<(), ConfigError> {
    let write_error = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let text = toml::to_string_pretty(config).map_err(|e| {
        write_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.to_string(),
        ))
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    // Write beside and rename, so a crash never leaves half a config behind.
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(write_error)?;
    dialtone_platform::fs::restrict_to_user(&tmp).map_err(write_error)?;
    std::fs::rename(&tmp, path).map_err(write_error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dialtone_core::config::AccountConfig;

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/config.toml");
        let config = Config {
            account: Some(AccountConfig {
                registrar: "sip:127.0.0.1:5070".into(),
                user: Some("alice".into()),
                ..AccountConfig::default()
            }),
            ..Config::default()
        };
        save(&config, &path).expect("save");
        assert_eq!(load(&path).expect("load"), Some(config));
        assert_eq!(load(&dir.path().join("missing.toml")).expect("ok"), None);
        let mode = dialtone_platform::fs::access_bits(&path).unwrap();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn alert_settings_errors_name_the_key() {
        // The refusal of a config readable by others is tested end to end in tests/alerts.rs
        // (setting a file's mode names the OS, which only the platform seam may).
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[[alert]]\nurl = \"ntfys://ntfy.sh/secret-topic\"\n").unwrap();
        dialtone_platform::fs::restrict_to_user(&path).unwrap();
        assert_eq!(load(&path).unwrap().unwrap().alerts.len(), 1);
        // And a bad URL is named by its key.
        std::fs::write(&path, "[[alert]]\nurl = \"gopher://x/y\"\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("alert[0].url"), "{e}");
        std::fs::write(&path, "[[alert]]\nurl = \"mailto:me@example.org\"\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("smtp"), "{e}");
    }
}
