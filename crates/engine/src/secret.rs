//! Where the SIP password comes from: the OS keyring or an environment variable. The
//! password itself travels as a [`Secret`], which keeps it out of logs, output and errors.
//! Which keyring that is (the Secret Service on Linux) is the platform seam's
//! ([`dialtone_platform::secrets`]); the engine links it only with its `secret-store` feature,
//! which the app turns on.

use dialtone_platform::secrets;
use std::fmt;

pub use dialtone_core::secret::Secret;

/// The keyring service name dialtone stores passwords under.
pub const KEYRING_SERVICE: &str = "dialtone";

/// Where a password was found, for messages that must not show the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// An environment variable (named).
    Env(String),
    /// The OS keyring (Secret Service on Linux), under this account name.
    Keyring(String),
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Env(var) => write!(f, "environment variable {var}"),
            PasswordSource::Keyring(account) => {
                write!(f, "OS keyring entry {KEYRING_SERVICE}/{account}")
            }
        }
    }
}

/// Why a password could not be fetched or stored. Never carries the password.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The named environment variable is not set (or not valid UTF-8).
    #[error("reading the SIP password: environment variable {var} is not set")]
    EnvMissing {
        /// The variable.
        var: String,
    },
    /// The keyring could not be used (no Secret Service running, locked, denied).
    #[error("OS keyring entry {KEYRING_SERVICE}/{account}: {detail}")]
    Keyring {
        /// The keyring account name (the SIP address-of-record).
        account: String,
        /// The keyring's words.
        detail: String,
    },
}

/// Reads the password from the environment variable `var`.
pub fn from_env(var: &str) -> Result<Secret, SecretError> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err(SecretError::EnvMissing {
            var: var.to_string(),
        }),
    }
}

/// Reads the password stored for `account` in the OS keyring; `Ok(None)` when there is none.
///
/// Blocking (it talks D-Bus on Linux): call it from `spawn_blocking` inside async code.
pub fn from_keyring(account: &str) -> Result<Option<Secret>, SecretError> {
    secrets::get(KEYRING_SERVICE, account)
        .map(|password| password.map(Secret::new))
        .map_err(keyring_error)
}

/// Stores `password` for `account` in the OS keyring (replacing any earlier one).
pub fn store_in_keyring(account: &str, password: &Secret) -> Result<(), SecretError> {
    secrets::set(KEYRING_SERVICE, account, password.expose()).map_err(keyring_error)
}

/// Removes the password stored for `account`; no entry is fine.
pub fn delete_from_keyring(account: &str) -> Result<(), SecretError> {
    secrets::delete(KEYRING_SERVICE, account).map_err(keyring_error)
}

/// The store's words under this module's message, which names the entry the same way.
fn keyring_error(e: secrets::SecretStoreError) -> SecretError {
    SecretError::Keyring {
        account: e.account,
        detail: e.detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_errors_name_the_variable_only() {
        let e = from_env("DIALTONE_TEST_SURELY_UNSET_VAR").expect_err("unset");
        assert!(e.to_string().contains("DIALTONE_TEST_SURELY_UNSET_VAR"));
    }
}
