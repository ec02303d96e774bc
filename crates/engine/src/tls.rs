//! The one TLS crypto provider every client in the agent uses: ring, through rustls.
//!
//! rustls and reqwest default to aws-lc-rs; ring does the same handshakes with less code
//! (measured: the release binary 0.8 MB smaller and an idle `watch` 0.75 MB less RSS). The SIP
//! TLS probe passes [`provider`] explicitly. reqwest has no provider compiled in and takes
//! the process default, so its clients are built from [`http_client_builder`], which
//! installs ring first.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The provider for a rustls client configuration.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// A reqwest client builder that finds its TLS provider: without a process default reqwest
/// would panic when it builds the client.
pub(crate) fn http_client_builder() -> reqwest::ClientBuilder {
    install_default();
    reqwest::Client::builder()
}

/// Makes ring the process-wide default provider, once. Safe from any thread, any number of
/// times: when another caller won the race, its (identical) provider stays.
pub(crate) fn install_default() {
    if CryptoProvider::get_default().is_none() {
        // `Err` only means a default is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reqwest_client_builds_from_the_builder() {
        // Would panic ("No rustls crypto provider is configured") without a default.
        let client = http_client_builder().build();
        assert!(client.is_ok(), "{:?}", client.err());
        assert!(CryptoProvider::get_default().is_some());
        // The SIP probe's provider is the installed one.
        let default = CryptoProvider::get_default().cloned();
        assert!(default.is_some_and(|d| Arc::ptr_eq(&d, &provider())));
    }
}
