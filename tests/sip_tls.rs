//! TLS to a registrar is verified against the SIP domain (RFC 5922 §4), not against the SRV
//! target that DNS, unauthenticated, named (issue 17, point 2). Against kamailio's TLS with a
//! CA and certificates the harness makes; the SRV step is stood in for by a target whose host
//! is the SRV target's name (what `Resolver::locate` puts there) and a `sip_domain` that is
//! the registrar as configured (what the line's settings put there).
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;

use dialtone_core::observation::{SipExchange, SipOutcome, SipTarget, Transport, TransportFailure};
use dialtone_engine::probe::sip::{options, SipSettings};
use std::net::SocketAddr;
use std::time::Duration;
use support::kamailio::{Kamailio, KamailioOptions};

/// kamailio over TLS whose certificate names 127.0.0.1, localhost and `names`.
fn kamailio_naming(names: &[&str]) -> Kamailio {
    Kamailio::start(KamailioOptions {
        tls: true,
        aliases: names.iter().map(|n| n.to_string()).collect(),
        ..Default::default()
    })
}

/// OPTIONS over TLS to `k`, reached as the SRV target `srv_target`, for the SIP domain
/// `domain` (`None`: no domain known, the target's own name counts, as before).
async fn options_via(k: &Kamailio, srv_target: &str, domain: Option<&str>) -> SipExchange {
    let target = SipTarget {
        transport: Transport::Tls,
        address: SocketAddr::new(k.ip(), k.port(Transport::Tls)),
        host: srv_target.into(),
    };
    let settings = SipSettings {
        timeout: Duration::from_secs(4),
        extra_ca: Some(k.ca_cert_path()),
        sip_domain: domain.map(str::to_string),
        ..SipSettings::default()
    };
    tokio::time::timeout(Duration::from_secs(15), options(&target, &settings))
        .await
        .expect("OPTIONS within the guard time")
        .expect("OPTIONS could run")
}

fn code(ex: &SipExchange) -> Option<u16> {
    match ex.outcome {
        SipOutcome::Response { code, .. } => Some(code),
        _ => None,
    }
}

#[tokio::test]
async fn a_certificate_naming_only_the_srv_target_is_refused_with_clear_evidence() {
    // DNS (say, spoofed) sends the client to srv.elsewhere.test, whose certificate is in
    // order for that name but says nothing about sip.example.test.
    let k = kamailio_naming(&["srv.elsewhere.test"]);
    let ex = options_via(&k, "srv.elsewhere.test", Some("sip.example.test")).await;
    let SipOutcome::TransportFailed { kind, detail } = &ex.outcome else {
        panic!("the handshake must fail: {ex:?}\n{}", k.log());
    };
    assert_eq!(*kind, TransportFailure::Tls, "{ex:?}");
    let said = detail.to_string();
    assert!(
        said.starts_with("sip.example.test: the certificate does not name the SIP domain"),
        "{said}"
    );
    // What the certificate does name, so the user can see where DNS sent them.
    assert!(said.contains("srv.elsewhere.test"), "{said}");
    // In both languages, in the evidence.
    let fact = dialtone_core::diagnosis::Fact::SipTransportFailed {
        method: ex.method.clone(),
        target: (&ex.target).into(),
        kind: *kind,
        detail: said,
    };
    use dialtone_core::locale::Lang;
    assert!(fact
        .render(Lang::De)
        .contains("das Zertifikat nennt die SIP-Domain nicht"));
    assert!(fact
        .render(Lang::En)
        .starts_with("OPTIONS to srv.elsewhere.test (tls 127.0.0.1:"));
    // The same target without a SIP domain to check is trusted by its own name: the refusal
    // above is the domain check, not a broken certificate.
    let ex = options_via(&k, "srv.elsewhere.test", None).await;
    assert_eq!(code(&ex), Some(200), "{ex:?}\n{}", k.log());
}

#[tokio::test]
async fn a_certificate_naming_the_domain_is_accepted_from_an_srv_target_outside_it() {
    // The provider's registrar runs at a hoster's host; its certificate names the provider's
    // SIP domain, which is what counts.
    let k = kamailio_naming(&["sip.example.test"]);
    let ex = options_via(&k, "srv.hoster.test", Some("sip.example.test")).await;
    assert_eq!(code(&ex), Some(200), "{ex:?}\n{}", k.log());
}

#[tokio::test]
async fn a_target_within_the_domain_may_be_named_by_its_own_name() {
    // sip1.example.test serves example.test: a certificate for a host under the domain was
    // issued to the domain's owner. A target outside it gets no such pass.
    let k = kamailio_naming(&["sip1.example.test", "srv.elsewhere.test"]);
    let ex = options_via(&k, "sip1.example.test", Some("example.test")).await;
    assert_eq!(code(&ex), Some(200), "{ex:?}\n{}", k.log());
    let ex = options_via(&k, "srv.elsewhere.test", Some("example.test")).await;
    assert!(
        matches!(
            ex.outcome,
            SipOutcome::TransportFailed {
                kind: TransportFailure::Tls,
                ..
            }
        ),
        "{ex:?}"
    );
}
