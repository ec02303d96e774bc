//! The secret store on Windows: the Credential Manager (a generic credential per
//! service/account) through `keyring`'s `windows-native` backend; the same calls as on Linux.

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
