//! The error a settings value gives when it cannot be used, shared by the settings
//! ([`crate::config`]) and the check pace ([`crate::schedule`]): its own module, so that
//! neither of the two has to import the other for it.

/// A value that cannot be used, named by its key within its table (`registrar`,
/// `interval_secs`, `anchors[1]`): the caller knows which table and words the full key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct FieldError {
    /// The key within its table.
    pub key: String,
    /// What is wrong, without the value when it could be a secret.
    pub message: String,
}

impl FieldError {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            key: key.into(),
            message: message.into(),
        }
    }
}
