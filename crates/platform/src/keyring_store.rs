//! The OS secret store through `keyring`, the same three calls on every system: the Secret
//! Service (GNOME Keyring, KWallet) on Linux, the Credential Manager (a generic credential per
//! service/account) on Windows. Which backend is this crate's `Cargo.toml`'s choice per target;
//! the calls and what a missing entry means are one rule, here.

use crate::secrets::SecretStoreError;

pub(crate) fn get(service: &str, account: &str) -> Result<Option<String>, SecretStoreError> {
    let error =
        |e: keyring::Error| SecretStoreError::new("reading", service, account, e.to_string());
    match keyring::Entry::new(service, account)
        .map_err(error)?
        .get_password()
    {
        Ok(password) => Ok(Some(password)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(error(e)),
    }
}

pub(crate) fn set(service: &str, account: &str, password: &str) -> Result<(), SecretStoreError> {
    let error =
        |e: keyring::Error| SecretStoreError::new("storing", service, account, e.to_string());
    keyring::Entry::new(service, account)
        .map_err(error)?
        .set_password(password)
        .map_err(error)
}

pub(crate) fn delete(service: &str, account: &str) -> Result<(), SecretStoreError> {
    let error =
        |e: keyring::Error| SecretStoreError::new("deleting", service, account, e.to_string());
    match keyring::Entry::new(service, account)
        .map_err(error)?
        .delete_credential()
    {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(error(e)),
    }
}
