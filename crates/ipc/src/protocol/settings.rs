//! The settings as the dashboard edits them, and the one validation they share with the config
//! file. The password is never part of them.

use dialtone_core::config::AccountConfig;
use dialtone_core::locale::Lang;
use dialtone_core::observation::Transport;
use dialtone_core::schedule::Schedule;
use serde::{Deserialize, Serialize};

/// The user's settings as the dashboard edits them. The password is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The provider's catalog id, when chosen.
    pub provider: Option<String>,
    /// The SIP account; `None` to check only what needs no account.
    pub account: Option<AccountSettings>,
    /// Seconds between checks while the line is healthy.
    pub interval_secs: u64,
    /// Seconds between checks while a change is being confirmed or the line is down.
    pub recheck_secs: u64,
    /// Seconds between authenticated REGISTER queries.
    pub account_interval_secs: u64,
    /// Whether to show desktop notifications on confirmed changes.
    pub notifications: bool,
    /// The language; `None` follows the system locale.
    pub language: Option<Lang>,
    /// Whether the agent starts when the user logs in.
    pub start_at_login: bool,
    /// Read-only: whether a password is stored in the keyring for the account.
    pub password_stored: bool,
    /// Read-only: the config has `[[line]]` tables. Then these settings are the shared ones
    /// (schedule, notifications, language, autostart); each line's provider and account are
    /// edited in the config file, and `provider`/`account` here are ignored when saving.
    pub lines_in_config: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let schedule = Schedule::default();
        Settings {
            provider: None,
            account: None,
            interval_secs: schedule.interval_secs,
            recheck_secs: schedule.recheck_secs,
            account_interval_secs: schedule.account_interval_secs,
            notifications: true,
            language: None,
            start_at_login: false,
            password_stored: false,
            lines_in_config: false,
        }
    }
}

/// A settings field that cannot be saved, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct SettingsError {
    /// The field as the form names it (`interval_secs`, `account.registrar`).
    pub field: String,
    /// What is wrong.
    pub detail: String,
}

/// The longest catalog id accepted.
pub const MAX_PROVIDER_ID: usize = 64;

impl Settings {
    /// The schedule these settings stand for (the confirmations are not edited here).
    pub fn schedule(&self) -> Schedule {
        Schedule {
            interval_secs: self.interval_secs,
            recheck_secs: self.recheck_secs,
            account_interval_secs: self.account_interval_secs,
            ..Schedule::default()
        }
    }

    /// The account these settings stand for, as the config holds it.
    pub fn account_config(&self) -> Option<AccountConfig> {
        self.account.as_ref().map(|a| AccountConfig {
            registrar: a.registrar.trim().to_string(),
            user: a.user.clone().filter(|u| !u.is_empty()),
            auth_user: a.auth_user.clone().filter(|u| !u.is_empty()),
            domain: a.domain.clone().filter(|d| !d.is_empty()),
            transport: a.transport,
            ..AccountConfig::default()
        })
    }

    /// Checks the values with the very rules config loading applies (the schedule's one range
    /// table, the account's values), so whatever loads from a file can be saved unchanged
    /// from the form, and the other way round.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |field: String, detail: String| SettingsError { field, detail };
        if let Some(id) = &self.provider {
            if id.is_empty() || id.len() > MAX_PROVIDER_ID {
                return Err(invalid("provider".into(), "not a catalog id".into()));
            }
        }
        self.schedule()
            .validate()
            .map_err(|e| invalid(e.key, e.message))?;
        if let Some(account) = self.account_config() {
            account
                .validate()
                .map_err(|e| invalid(format!("account.{}", e.key), e.message))?;
        }
        Ok(())
    }
}

/// The SIP account as the dashboard edits it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSettings {
    /// `sip:host[:port][;transport=…]`, `sips:host` or a bare domain.
    pub registrar: String,
    /// The SIP user name; with it the REGISTER query runs too.
    pub user: Option<String>,
    /// The digest user name, when it differs from `user`.
    pub auth_user: Option<String>,
    /// The SIP domain of the address-of-record, when it differs from the registrar's host.
    pub domain: Option<String>,
    /// A forced transport instead of RFC 3263's choice.
    pub transport: Option<Transport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registrar_with_a_user_part_is_refused_by_the_form_too() {
        for registrar in ["sip:alice:hunter2@sip.example.net", "alice@sip.example.net"] {
            let settings = Settings {
                account: Some(AccountSettings {
                    registrar: registrar.into(),
                    user: Some("alice".into()),
                    ..AccountSettings::default()
                }),
                ..Settings::default()
            };
            let Err(e) = settings.validate() else {
                panic!("{registrar} was accepted");
            };
            assert_eq!(e.field, "account.registrar", "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        let mut fine = Settings::default();
        let account = fine.account.get_or_insert_with(AccountSettings::default);
        account.registrar = "sip:sip.example.net".into();
        account.user = Some("alice".into());
        assert_eq!(fine.validate(), Ok(()));
    }
}
