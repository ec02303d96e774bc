//! The one TLS crypto provider every client in the agent uses: ring, through rustls.
//!
//! rustls and reqwest default to aws-lc-rs, which roughly doubles the binary's code for the
//! same handshakes. The SIP TLS probe passes [`provider`] explicitly; reqwest (feeds, HTTP
//! anchors) has no provider compiled in and takes the process default, so every place that
//! builds a reqwest client calls [`install_default`] first.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The provider for a rustls client configuration.
pub fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// Makes ring the process-wide default provider, once. Without it reqwest would panic when
/// it builds a TLS client. Safe to call from any thread, any number of times: when another
/// caller won the race, its (identical) provider stays.
pub fn install_default() {
    if CryptoProvider::get_default().is_none() {
        // `Err` only means a default is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reqwest_client_builds_after_install_default() {
        install_default();
        assert!(CryptoProvider::get_default().is_some());
        // Would panic ("No rustls crypto provider is configured") without a default.
        let client = reqwest::Client::builder().build();
        assert!(client.is_ok(), "{:?}", client.err());
        // The SIP probe's provider is the installed one.
        let default = CryptoProvider::get_default().cloned();
        assert!(default.is_some_and(|d| Arc::ptr_eq(&d, &provider())));
    }
}
