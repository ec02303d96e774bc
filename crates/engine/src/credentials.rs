//! Where a line's passwords come from: the named environment variable, else the OS keyring
//! under an account name derived from the registrar and the user (so a changed registrar asks
//! for the password again instead of sending the old one elsewhere); the router's login alike.
//! A missing keyring service is not an error: the check that needs the password is skipped.

use crate::probe::router::soap::Login;
use crate::secret::{self, PasswordSource, Secret, SecretError};
use dialtone_core::config::{AccountConfig, ConfigError, RouterConfig};

/// The keyring account name of a SIP account: its address-of-record without the scheme, and
/// the registrar's host when the AOR's domain is another. Keyed by registrar and user, so a
/// changed registrar asks for the password again instead of sending the old one elsewhere.
pub fn keyring_account(account: &AccountConfig) -> Option<String> {
    let user = account.user.as_ref()?;
    let host = dialtone_core::address::parse_registrar(&account.registrar)
        .ok()?
        .host;
    Some(match &account.domain {
        Some(domain) if !domain.eq_ignore_ascii_case(&host) => {
            format!("{user}@{domain} via {host}")
        }
        _ => format!("{user}@{host}"),
    })
}

/// Finds the password: the named environment variable if one is configured (it must be set),
/// else the OS keyring. No keyring service is not an error: the account check is then skipped.
pub fn password_for(
    account: &AccountConfig,
) -> Result<(Option<Secret>, Option<PasswordSource>), SecretError> {
    if let Some(var) = &account.password_env {
        return Ok((
            Some(secret::from_env(var)?),
            Some(PasswordSource::Env(var.clone())),
        ));
    }
    let Some(name) = keyring_account(account) else {
        return Ok((None, None));
    };
    match secret::from_keyring(&name) {
        Ok(Some(password)) => Ok((Some(password), Some(PasswordSource::Keyring(name)))),
        Ok(None) => Ok((None, None)),
        Err(e) => {
            tracing::warn!("{e}; the account check is skipped");
            Ok((None, None))
        }
    }
}

/// The keyring account name of the router login.
pub fn router_keyring_account(user: &str) -> String {
    format!("router:{user}")
}

/// The TR-064 login: the user with the password from `password_env` (it must be set) or the
/// keyring; `None` without a user or without a stored password (the router is then read
/// without a login).
pub fn router_login(router: &RouterConfig) -> Result<Option<Login>, ConfigError> {
    let Some(user) = &router.user else {
        return Ok(None);
    };
    let password = match &router.password_env {
        Some(var) => Some(secret::from_env(var).map_err(|_| ConfigError::Invalid {
            origin: "the router login".into(),
            key: "router.password_env".into(),
            message: format!("environment variable {var} (the router password) is not set"),
        })?),
        None => match secret::from_keyring(&router_keyring_account(user)) {
            Ok(password) => password,
            Err(e) => {
                tracing::warn!("{e}; the router is read without a login");
                None
            }
        },
    };
    Ok(password.map(|password| Login {
        user: user.clone(),
        password,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_entry_belongs_to_registrar_and_user() {
        let account = |registrar: &str, domain: Option<&str>| AccountConfig {
            registrar: registrar.into(),
            user: Some("4930123".into()),
            domain: domain.map(Into::into),
            ..AccountConfig::default()
        };
        assert_eq!(
            keyring_account(&account("sip.example.net", None)).unwrap(),
            "4930123@sip.example.net"
        );
        // The same AOR at another registrar is another entry: its password is asked for anew.
        let a = keyring_account(&account("sip.example.net", Some("example.net"))).unwrap();
        let b = keyring_account(&account("sip2.example.net", Some("example.net"))).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            keyring_account(&account("sip:example.net:5070", Some("example.net"))).unwrap(),
            "4930123@example.net"
        );
    }
}
