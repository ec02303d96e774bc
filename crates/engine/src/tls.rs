//! The one TLS crypto provider every client in the agent uses: ring, through rustls.
//!
//! rustls and reqwest default to aws-lc-rs; ring does the same handshakes with less code
//! (measured: the release binary 0.8 MB smaller and an idle `watch` 0.75 MB less RSS). The SIP
//! TLS probe passes [`provider`] explicitly. reqwest has no provider compiled in and takes
//! the process default, so its clients are built from [`http_client_builder`], which
//! installs ring first.
//!
//! [`SipDomainVerifier`] checks a registrar's certificate against the SIP domain (RFC 5922
//! §4), not against the SRV target that DNS, unauthenticated, pointed at.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

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
fn install_default() {
    if CryptoProvider::get_default().is_none() {
        // `Err` only means a default is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Verifies a registrar's certificate chain with webpki, and its name against the SIP domain
/// the user configured (RFC 5922 §4): an SRV record can point anywhere, and nothing
/// authenticates it, so a certificate that names only the SRV target proves only that the
/// target is who DNS said, not that it serves the domain. A target within the domain (the
/// domain itself or a host under it) may also be named by its own name: such a certificate
/// was issued to the domain's owner.
#[derive(Debug)]
pub(crate) struct SipDomainVerifier {
    inner: Arc<WebPkiServerVerifier>,
    /// The SIP domain: the name every certificate must carry.
    domain: ServerName<'static>,
    /// The SRV target, when it lies within the domain.
    within: Option<ServerName<'static>>,
}

impl SipDomainVerifier {
    /// A verifier for the registrar at `target` (the host DNS named) serving `domain`, trusting
    /// `roots`. `Err` with rustls' words when `roots` is empty or a name is no DNS name or IP.
    pub(crate) fn new(
        roots: RootCertStore,
        domain: &str,
        target: &str,
    ) -> Result<SipDomainVerifier, String> {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| e.to_string())?;
        let domain_name = ServerName::try_from(domain.to_string())
            .map_err(|e| format!("TLS server name {domain:?}: {e}"))?;
        let (lower_target, lower_domain) =
            (target.to_ascii_lowercase(), domain.to_ascii_lowercase());
        let inside = lower_target != lower_domain
            && lower_target
                .strip_suffix(&lower_domain)
                .is_some_and(|head| head.ends_with('.'));
        let within = match inside {
            true => ServerName::try_from(target.to_string()).ok(),
            false => None,
        };
        Ok(SipDomainVerifier {
            inner,
            domain: domain_name,
            within,
        })
    }
}

/// Whether a TLS error says the certificate names someone else (rather than being untrusted,
/// expired or broken).
pub(crate) fn names_someone_else(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl ServerCertVerifier for SipDomainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verify = |name: &ServerName<'_>| {
            self.inner
                .verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
        };
        match (verify(&self.domain), &self.within) {
            // The domain's error is the one to report: it is what the certificate lacks.
            (Err(e), Some(target)) if names_someone_else(&e) => verify(target).map_err(|_| e),
            (result, _) => result,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a host *under* the SIP domain may show its own name; a name that merely ends in
    /// the same letters, or the domain inside a longer name, gets no pass.
    #[test]
    fn only_a_target_under_the_domain_may_be_named_by_itself() {
        let roots = || {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            roots
        };
        for (target, within) in [
            ("sip1.example.net", true),
            ("SIP1.Example.NET", true),
            ("example.net", false),
            ("badexample.net", false),
            ("sip.example.net.attacker.test", false),
            ("srv.elsewhere.test", false),
        ] {
            let verifier = SipDomainVerifier::new(roots(), "example.net", target);
            let verifier = verifier.unwrap_or_else(|e| panic!("{target}: {e}"));
            assert_eq!(verifier.within.is_some(), within, "{target}");
        }
        assert!(SipDomainVerifier::new(roots(), "not a name", "x.test").is_err());
    }

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
