//! The OS secret store through `keyring`, the same three calls on every system: the Secret
//! Service (GNOME Keyring, KWallet) on Linux, the Credential Manager (a generic credential per
//! service/account) on Windows. Which backend is this crate's `Cargo.toml`'s choice per target;
//! the calls and what a missing entry means are one rule, here.

use crate::secrets::SecretStoreError;

/// Runs one keyring call on a thread of its own. The Linux backend (the Secret Service over
/// zbus on tokio) blocks on a runtime of its own, which panics on a thread that already drives
/// tokio — the agent's IPC handlers and its alert setup are such threads. Keyring calls are
/// rare (a setup, a login), so a short-lived thread each costs nothing that matters.
fn off_runtime<T: Send>(
    op: &'static str,
    service: &str,
    account: &str,
    call: impl FnOnce() -> Result<T, SecretStoreError> + Send,
) -> Result<T, SecretStoreError> {
    std::thread::scope(|scope| {
        scope.spawn(call).join().unwrap_or_else(|_| {
            Err(SecretStoreError::new(
                op,
                service,
                account,
                "the keyring call panicked".into(),
            ))
        })
    })
}

pub(crate) fn get(service: &str, account: &str) -> Result<Option<String>, SecretStoreError> {
    off_runtime("reading", service, account, || get_here(service, account))
}

fn get_here(service: &str, account: &str) -> Result<Option<String>, SecretStoreError> {
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
    off_runtime("storing", service, account, || {
        set_here(service, account, password)
    })
}

fn set_here(service: &str, account: &str, password: &str) -> Result<(), SecretStoreError> {
    let error =
        |e: keyring::Error| SecretStoreError::new("storing", service, account, e.to_string());
    keyring::Entry::new(service, account)
        .map_err(error)?
        .set_password(password)
        .map_err(error)
}

pub(crate) fn delete(service: &str, account: &str) -> Result<(), SecretStoreError> {
    off_runtime("deleting", service, account, || {
        delete_here(service, account)
    })
}

fn delete_here(service: &str, account: &str) -> Result<(), SecretStoreError> {
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
