//! The unauthenticated liveness check: SIP OPTIONS to the registrar (any response proves it alive).

use super::message::{self, RequestSpec, TransactionId};
use super::transport::Connection;
use super::{SipError, SipSettings};
use dialtone_core::observation::{SipExchange, SipOutcome, SipTarget, Transport};

/// Sends one OPTIONS to `target` (with UDP retransmissions) and records how it went.
///
/// A timeout, a refused connection or an error response is an observation in the returned
/// [`SipExchange`]; `Err` only when the probe could not run (socket bind failed, a TLS server
/// name or CA file that cannot be used).
pub async fn options(target: &SipTarget, settings: &SipSettings) -> Result<SipExchange, SipError> {
    let mut connection = match Connection::open(target, settings).await? {
        Ok(connection) => connection,
        Err(failed) => return Ok(exchange(target, failed)),
    };
    let host = message::uri_host(&target.host);
    let request_uri = match target.transport {
        Transport::Udp => format!("sip:{host}:{}", target.address.port()),
        other => format!(
            "sip:{host}:{};transport={}",
            target.address.port(),
            other.as_str()
        ),
    };
    let id = TransactionId {
        branch: message::new_branch(),
        call_id: message::random_token(),
        cseq: 1,
        method: "OPTIONS".into(),
    };
    let tag = message::random_token();
    let spec = RequestSpec {
        method: rsip::Method::Options,
        request_uri,
        from_uri: format!("sip:dialtone@{host}"),
        to_uri: format!("sip:{host}"),
        from_tag: &tag,
        id: &id,
        extra: vec![("Accept".into(), "application/sdp".into())],
    };
    let request = message::build_request(&spec, target, connection.local).map_err(|e| {
        SipError::BadTarget {
            peer: target.address,
            detail: format!("cannot build a request to {:?}: {e}", target.host),
        }
    })?;
    let result = connection.transact(&request, &id, settings).await;
    Ok(exchange(connection.target(), result))
}

fn exchange(target: &SipTarget, result: super::transport::TransactionResult) -> SipExchange {
    SipExchange {
        method: "OPTIONS".into(),
        target: target.clone(),
        outcome: result.outcome,
        transmissions: result.transmissions,
        ignored: result.ignored,
        elapsed: result.elapsed,
    }
}

/// Tries `targets` in order (RFC 3263: the next one when a target fails) and stops at the first
/// that gives any SIP response. Returns one exchange per target tried.
///
/// All targets share one budget of [`SipSettings::timeout`]: a registrar that drops packets
/// silently would otherwise cost the full timeout once per SRV target (three targets, 24 s at
/// the default), which doubles the time to confirm an outage. Fast failures (refused,
/// unreachable) leave the rest of the budget to the next target; a target is only tried while
/// at least one retransmission interval (T1) of the budget is left.
pub async fn options_first_answer(
    targets: &[SipTarget],
    settings: &SipSettings,
) -> Result<Vec<SipExchange>, SipError> {
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let mut exchanges = Vec::new();
    for target in targets {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !exchanges.is_empty() && remaining < settings.t1 {
            break;
        }
        let budget = SipSettings {
            timeout: remaining.max(settings.t1),
            ..settings.clone()
        };
        let exchange = options(target, &budget).await?;
        let answered = matches!(exchange.outcome, SipOutcome::Response { .. });
        exchanges.push(exchange);
        if answered {
            break;
        }
    }
    Ok(exchanges)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dialtone_core::observation::TransportFailure;
    use std::time::Duration;

    /// A loopback port nobody listens on (for this transport).
    fn closed_port(transport: Transport) -> std::net::SocketAddr {
        match transport {
            Transport::Udp => std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap(),
            _ => std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap(),
        }
    }

    /// The evidence of a refused connection is its kind, said once in words: not the
    /// "Connection refused (os error 111)" an `io::Error` prints. How a fact words it in both
    /// languages is the core's test (`words/render.rs`): probes do not word their findings.
    #[tokio::test]
    async fn a_refused_connection_is_recorded_by_its_kind_without_an_errno() {
        let settings = SipSettings {
            timeout: Duration::from_secs(2),
            ..SipSettings::default()
        };
        for transport in [Transport::Udp, Transport::Tcp] {
            let target = SipTarget {
                transport,
                address: closed_port(transport),
                host: "127.0.0.1".into(),
            };
            let ex = options(&target, &settings).await.unwrap();
            let SipOutcome::TransportFailed { kind, detail } = &ex.outcome else {
                panic!("{transport:?}: {ex:?}");
            };
            assert_eq!(*kind, TransportFailure::Refused, "{ex:?}");
            assert_eq!(detail, "connection refused", "{ex:?}");
        }
    }
}
