//! Where an alert target's token comes from (issue 19: "from the keyring or an environment
//! variable, or from the config file only if it is 0600"). The order, first found wins:
//!
//! 1. `token_env`: the named environment variable; named but unset is an error, since the user
//!    said where the token is.
//! 2. `token` in the config (its file's mode was checked when it was loaded).
//! 3. The OS keyring entry [`keyring_account`] of the target's URL, stored with
//!    `dialtone alert token set N`; only for a target a token means something to
//!    ([`AlertTarget::takes_token`]).
//! 4. None: ntfy and webhooks are sent without `Authorization`; an Apprise URL with the
//!    `{token}` placeholder cannot be sent, which is an error.
//!
//! The keyring entry is named by a hash of the URL, not the URL: the Secret Service shows entry
//! names to every program of the session, and an ntfy topic or a webhook path is a secret of
//! its own. Errors name the target redacted and never carry the token.

use super::outbox::target_key;
use crate::secret::{Secret, SecretError};
use dialtone_core::alert::AlertTarget;
use std::fmt;

/// Where a token was found, for `dialtone alert list` (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The named environment variable (`token_env`).
    Env(String),
    /// The config file's `token`.
    Config,
    /// The OS keyring, under this account name.
    Keyring(String),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Env(var) => write!(f, "environment variable {var}"),
            TokenSource::Config => f.write_str("config file"),
            TokenSource::Keyring(account) => {
                write!(f, "keyring {}/{account}", crate::secret::KEYRING_SERVICE)
            }
        }
    }
}

/// The keyring account (under [`crate::secret::KEYRING_SERVICE`]) holding the token of the
/// target with this URL: `alert:` and the URL's outbox key, so a changed URL is a new target
/// with a token of its own.
pub fn keyring_account(url: &str) -> String {
    format!("alert:{}", target_key(url))
}

/// The token of target number `number` (as `dialtone alert list` counts, from 1) and where it
/// came from, looked up in the order of the module's doc; `env` reads a variable, `keyring` an
/// account (blocking on Linux: D-Bus). `Err` is the message for the log: it names the target
/// redacted.
pub fn resolve(
    target: &AlertTarget,
    number: usize,
    env: impl Fn(&str) -> Option<Secret>,
    keyring: impl Fn(&str) -> Result<Option<Secret>, SecretError>,
) -> Result<Option<(Secret, TokenSource)>, String> {
    let shown = target.shown();
    if let Some(var) = &target.token_env {
        return match env(var) {
            Some(token) => Ok(Some((token, TokenSource::Env(var.clone())))),
            None => Err(format!("{shown}: token_env {var} is not set")),
        };
    }
    if let Some(token) = &target.token {
        return Ok(Some((token.clone(), TokenSource::Config)));
    }
    if !target.takes_token() {
        return Ok(None);
    }
    let account = keyring_account(&target.url);
    let found = match keyring(&account) {
        Ok(found) => found,
        // No keyring at all is the rule on an always-on box (no desktop session): a target
        // without a token there is normal, so this is news, not a warning, unless the URL
        // cannot be sent without one (below).
        Err(e) => {
            tracing::info!("{shown}: no token from the keyring ({e})");
            None
        }
    };
    match found {
        Some(token) => Ok(Some((token, TokenSource::Keyring(account)))),
        None if target.needs_token() => Err(format!(
            "{shown}: the URL has {{token}} but no token was found: set token_env, or store \
             one with `dialtone alert token set {number}` (keyring {}/{account})",
            crate::secret::KEYRING_SERVICE
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dialtone_core::alert::AlertConfig;
    use std::cell::RefCell;

    fn target(url: &str, token_env: Option<&str>, token: Option<&str>) -> AlertTarget {
        AlertTarget::from_config(&AlertConfig {
            url: url.into(),
            token_env: token_env.map(Into::into),
            token: token.map(Into::into),
            ..AlertConfig::default()
        })
        .unwrap()
    }

    fn no_env(_: &str) -> Option<Secret> {
        None
    }

    #[test]
    fn env_then_config_then_keyring() {
        let asked = RefCell::new(Vec::new());
        let keyring = |account: &str| {
            asked.borrow_mut().push(account.to_string());
            Ok(Some(Secret::new("tk_from_keyring")))
        };
        let env = |var: &str| (var == "NTFY").then(|| Secret::new("tk_from_env"));
        let url = "ntfys://ntfy.example/topic";

        let (token, from) = resolve(&target(url, Some("NTFY"), Some("x")), 1, env, keyring)
            .unwrap()
            .unwrap();
        assert_eq!(
            (token.expose(), from),
            ("tk_from_env", TokenSource::Env("NTFY".into()))
        );
        let (token, from) = resolve(&target(url, None, Some("tk_cfg")), 1, no_env, keyring)
            .unwrap()
            .unwrap();
        assert_eq!((token.expose(), from), ("tk_cfg", TokenSource::Config));
        assert!(asked.borrow().is_empty(), "env and config come first");

        let (token, from) = resolve(&target(url, None, None), 1, no_env, keyring)
            .unwrap()
            .unwrap();
        let account = keyring_account(url);
        assert_eq!(
            (token.expose(), from),
            ("tk_from_keyring", TokenSource::Keyring(account.clone()))
        );
        assert_eq!(*asked.borrow(), std::slice::from_ref(&account));
        // The entry's name gives nothing of the URL away (the topic is a secret).
        assert!(account.starts_with("alert:") && !account.contains("topic"));
        assert_ne!(account, keyring_account("ntfys://ntfy.example/other"));
    }

    #[test]
    fn a_named_but_unset_variable_is_an_error_naming_the_target_redacted() {
        let keyring = |_: &str| Ok(Some(Secret::new("unused")));
        let e = resolve(
            &target("ntfys://ntfy.example/topic-7f3k", Some("NTFY"), None),
            1,
            no_env,
            keyring,
        )
        .unwrap_err();
        assert!(
            e.contains("ntfys://ntfy.example/***") && e.contains("NTFY"),
            "{e}"
        );
        assert!(!e.contains("topic-7f3k"), "{e}");
    }

    #[test]
    fn no_keyring_means_no_token_unless_the_url_needs_one() {
        let broken = |account: &str| {
            Err(SecretError::Keyring {
                account: account.to_string(),
                detail: "no Secret Service".into(),
            })
        };
        let empty = |_: &str| Ok(None);
        let hook = target("https://hooks.example.org/id-123", None, None);
        assert!(resolve(&hook, 1, no_env, broken).unwrap().is_none());
        assert!(resolve(&hook, 1, no_env, empty).unwrap().is_none());
        let apprise = target("apprise:tgram://{token}/CHATID", None, None);
        for e in [
            resolve(&apprise, 1, no_env, broken).unwrap_err(),
            resolve(&apprise, 1, no_env, empty).unwrap_err(),
        ] {
            assert!(e.starts_with("apprise:tgram://***:"), "{e}");
            assert!(!e.contains("CHATID"), "{e}");
        }
        // An e-mail target never asks the keyring (its secret is the [smtp] password).
        let never = |_: &str| -> Result<Option<Secret>, SecretError> { panic!("asked") };
        assert!(resolve(
            &target("mailto:me@example.org", None, None),
            1,
            no_env,
            never
        )
        .unwrap()
        .is_none());
    }
}
