//! Carrying one SIP transaction over UDP (with RFC 3261 §17.1.2 retransmissions), TCP or TLS,
//! and accepting only the response that belongs to it.

use super::message::{self, find_header_end, SipResponse, TransactionId};
use super::{SipError, SipSettings};
use crate::tls::{names_someone_else, SipDomainVerifier};
use dialtone_core::observation::{
    Detail, FailureKind, SipOutcome, SipTarget, Transport, TransportFailure,
};
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{sleep_until, timeout, Instant};

/// A byte stream SIP can run over (plain TCP or TLS).
trait SipStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> SipStream for T {}

/// An open path to one target, reused for every transaction of a probe (e.g. both REGISTERs).
pub(crate) struct Connection {
    kind: ConnectionKind,
    /// Our own address on it (the Via sent-by).
    pub local: SocketAddr,
    target: SipTarget,
}

enum ConnectionKind {
    Udp(UdpSocket),
    Stream {
        stream: Box<dyn SipStream>,
        /// Bytes read but not yet consumed (the start of the next message).
        buffer: Vec<u8>,
    },
}

/// How a transaction ended, with the response when one came.
#[derive(Debug)]
pub(crate) struct TransactionResult {
    /// The outcome as recorded in the exchange.
    pub outcome: SipOutcome,
    /// The final response, when the outcome is [`SipOutcome::Response`].
    pub response: Option<SipResponse>,
    /// Times the request was sent.
    pub transmissions: u32,
    /// Messages received and ignored.
    pub ignored: u32,
    /// From first send to the end.
    pub elapsed: Duration,
}

impl TransactionResult {
    fn failed(kind: TransportFailure, detail: Detail, elapsed: Duration) -> TransactionResult {
        TransactionResult::ended(SipOutcome::TransportFailed { kind, detail }, elapsed)
    }

    /// A transaction that ended with `outcome` before any request was sent.
    fn ended(outcome: SipOutcome, elapsed: Duration) -> TransactionResult {
        TransactionResult {
            outcome,
            response: None,
            transmissions: 0,
            ignored: 0,
            elapsed,
        }
    }
}

/// One step of opening a connection, bounded by `limit`: its value, or the transaction result
/// to end with (a timeout, or the error as `kind` says).
async fn within<T>(
    limit: Duration,
    started: Instant,
    step: impl std::future::Future<Output = io::Result<T>>,
    kind: impl FnOnce(&io::Error) -> TransportFailure,
) -> Result<T, TransactionResult> {
    match timeout(limit, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(TransactionResult::failed(
            kind(&e),
            Detail::io(&e),
            started.elapsed(),
        )),
        Err(_) => Err(TransactionResult::ended(
            SipOutcome::Timeout,
            started.elapsed(),
        )),
    }
}

fn failure_kind(err: &io::Error) -> TransportFailure {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => TransportFailure::Refused,
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            TransportFailure::Unreachable
        }
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => TransportFailure::Closed,
        _ => match err.raw_os_error() {
            // ENETUNREACH / EHOSTUNREACH on platforms where std maps them to `Other`; and no
            // socket at all (EMFILE, ENFILE, ENOBUFS): nothing left this computer, the detail
            // says why ([`dialtone_core::observation::FailureKind::NoSocket`]).
            Some(101 | 113 | 23 | 24 | 105) => TransportFailure::Unreachable,
            _ => TransportFailure::Closed,
        },
    }
}

/// Builds the TLS client configuration for `target`: webpki roots plus the optional extra CA
/// file, and the certificate checked against the SIP domain ([`SipSettings::sip_domain`],
/// else the target's own name), RFC 5922 §4.
fn tls_config(
    settings: &SipSettings,
    target: &SipTarget,
) -> Result<Arc<rustls::ClientConfig>, SipError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &settings.extra_ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| SipError::ExtraCa {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(SipError::ExtraCa {
                path: path.clone(),
                detail: "no certificate in the file".into(),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| SipError::ExtraCa {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        }
    }
    let verifier = SipDomainVerifier::new(roots, tls_domain(settings, target), &target.host)
        .map_err(|detail| SipError::BadTarget {
            peer: target.address,
            detail,
        })?;
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SipError::Tls {
            detail: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name a registrar's certificate must carry: the SIP domain when known, else the name
/// the target was reached by.
fn tls_domain<'a>(settings: &'a SipSettings, target: &'a SipTarget) -> &'a str {
    settings.sip_domain.as_deref().unwrap_or(&target.host)
}

/// The evidence of a failed TLS handshake: a certificate that does not name the SIP domain
/// says so, with the names it carries (rustls' words); anything else by its kind.
fn tls_failure_detail(error: &io::Error, domain: &str) -> Detail {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) if names_someone_else(tls) => Detail {
            context: vec![domain.to_string()],
            causes: vec![
                FailureKind::CertificateNotForSipDomain,
                FailureKind::Other(tls.to_string()),
            ],
        },
        _ => Detail::io(error),
    }
}

impl Connection {
    /// Opens a path to `target`. `Ok(Err(result))` is a transport failure to record (refused,
    /// unreachable, TLS), `Err` means the probe could not run at all (e.g. bind failed).
    pub(crate) async fn open(
        target: &SipTarget,
        settings: &SipSettings,
    ) -> Result<Result<Connection, TransactionResult>, SipError> {
        let started = Instant::now();
        match target.transport {
            Transport::Udp => {
                let bind: SocketAddr = if target.address.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(bind).await.map_err(|e| SipError::Bind {
                    peer: target.address,
                    detail: Detail::io(&e),
                })?;
                // A connected socket hears ICMP port-unreachable (ECONNREFUSED) and the kernel
                // drops datagrams from any other source, so a spoofed source never reaches us.
                if let Err(e) = socket.connect(target.address).await {
                    return Ok(Err(TransactionResult::failed(
                        failure_kind(&e),
                        Detail::io(&e),
                        started.elapsed(),
                    )));
                }
                let local = socket.local_addr().map_err(|e| SipError::Bind {
                    peer: target.address,
                    detail: Detail::io(&e),
                })?;
                Ok(Ok(Connection {
                    kind: ConnectionKind::Udp(socket),
                    local,
                    target: target.clone(),
                }))
            }
            Transport::Tcp | Transport::Tls => {
                let tls = if target.transport == Transport::Tls {
                    Some(tls_config(settings, target)?)
                } else {
                    None
                };
                let connect = TcpStream::connect(target.address);
                let tcp = match within(settings.timeout, started, connect, failure_kind).await {
                    Ok(tcp) => tcp,
                    Err(failed) => return Ok(Err(failed)),
                };
                let _ = tcp.set_nodelay(true);
                let local = tcp.local_addr().map_err(|e| SipError::Bind {
                    peer: target.address,
                    detail: Detail::io(&e),
                })?;
                let stream: Box<dyn SipStream> = match tls {
                    None => Box::new(tcp),
                    Some(config) => {
                        // The SNI names the SIP domain too: a server hosting several domains
                        // shows the certificate for the one we mean.
                        let domain = tls_domain(settings, target);
                        let name = ServerName::try_from(domain.to_string()).map_err(|e| {
                            SipError::BadTarget {
                                peer: target.address,
                                detail: format!("TLS server name {domain:?}: {e}"),
                            }
                        })?;
                        let connector = tokio_rustls::TlsConnector::from(config);
                        let remaining = settings.timeout.saturating_sub(started.elapsed());
                        match timeout(remaining, connector.connect(name, tcp)).await {
                            Ok(Ok(tls)) => Box::new(tls),
                            Ok(Err(e)) => {
                                return Ok(Err(TransactionResult::failed(
                                    TransportFailure::Tls,
                                    tls_failure_detail(&e, domain),
                                    started.elapsed(),
                                )))
                            }
                            Err(_) => {
                                return Ok(Err(TransactionResult::ended(
                                    SipOutcome::Timeout,
                                    started.elapsed(),
                                )))
                            }
                        }
                    }
                };
                Ok(Ok(Connection {
                    kind: ConnectionKind::Stream {
                        stream,
                        buffer: Vec::new(),
                    },
                    local,
                    target: target.clone(),
                }))
            }
        }
    }

    /// Sends `request` and waits for the final response that matches `id`, within
    /// `settings.timeout`.
    pub(crate) async fn transact(
        &mut self,
        request: &[u8],
        id: &TransactionId,
        settings: &SipSettings,
    ) -> TransactionResult {
        match &mut self.kind {
            ConnectionKind::Udp(socket) => udp_transact(socket, request, id, settings).await,
            ConnectionKind::Stream { stream, buffer } => {
                stream_transact(stream, buffer, request, id, settings).await
            }
        }
    }

    /// The target this connection goes to.
    pub(crate) fn target(&self) -> &SipTarget {
        &self.target
    }
}

async fn udp_transact(
    socket: &UdpSocket,
    request: &[u8],
    id: &TransactionId,
    settings: &SipSettings,
) -> TransactionResult {
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let mut result = TransactionResult {
        outcome: SipOutcome::Timeout,
        response: None,
        transmissions: 0,
        ignored: 0,
        elapsed: Duration::ZERO,
    };
    // One byte more than the largest datagram, so nothing is silently truncated.
    let mut buf = vec![0u8; 65_536];
    let mut interval = settings.t1;
    let mut next_send = started;
    let mut provisional = false;
    let mut heard = Heard::default();
    loop {
        let now = Instant::now();
        if now >= deadline {
            result.outcome = std::mem::take(&mut heard)
                .outcome()
                .unwrap_or(SipOutcome::Timeout);
            break;
        }
        if now >= next_send {
            match socket.send(request).await.map_err(udp_error) {
                Ok(_) => result.transmissions += 1,
                Err(e) => {
                    result.outcome = SipOutcome::TransportFailed {
                        kind: failure_kind(&e),
                        detail: Detail::io(&e),
                    };
                    break;
                }
            }
            // Timer E (§17.1.2.2): doubles up to T2; after a provisional response it is T2.
            next_send = now + interval;
            interval = if provisional {
                settings.t2
            } else {
                (interval * 2).min(settings.t2)
            };
        }
        tokio::select! {
            received = receive(socket, &mut buf) => match received.map_err(udp_error) {
                Err(e) => {
                    result.outcome = SipOutcome::TransportFailed {
                        kind: failure_kind(&e),
                        detail: Detail::io(&e),
                    };
                    break;
                }
                Ok(n) => match message::parse_response(&buf[..n]) {
                    Ok(response) if response.matches(id) => {
                        if response.code < 200 {
                            heard.note(&response, id);
                            if !provisional {
                                provisional = true;
                                interval = settings.t2;
                                next_send = Instant::now() + settings.t2;
                            }
                            continue;
                        }
                        result.outcome = SipOutcome::Response {
                            code: response.code,
                            reason: response.reason.clone(),
                            rtt: started.elapsed(),
                            retry_after: response.retry_after(),
                        };
                        result.response = Some(response);
                        break;
                    }
                    Ok(response) => {
                        tracing::debug!(bytes = n, "ignored a response to another request");
                        heard.note(&response, id);
                        result.ignored += 1;
                    }
                    Err(e) => {
                        tracing::debug!(bytes = n, error = %e, "ignored a datagram that is not SIP");
                        result.ignored += 1;
                        heard.unreadable = Some((n, e));
                    }
                },
            },
            _ = sleep_until(next_send.min(deadline)) => {}
        }
    }
    result.elapsed = started.elapsed();
    result
}

/// The next datagram on the connected `socket`.
///
/// Not tokio's `recv`, which retries inside one poll while the socket reports readiness: tokio
/// keeps a socket's "closed for reading" readiness for good, so when the system marks it so
/// and a receive then finds nothing (wine does after an ICMP port-unreachable on loopback),
/// `recv` retries without end and without yielding, one core busy and the transaction's own
/// timer never served (the agent stayed "unknown"). Here a socket closed for reading with no
/// datagram ends the receive with the error it holds (`SO_ERROR`; wine keeps the ICMP's
/// WSAECONNREFUSED there): the refusal, as Linux reports it.
async fn receive(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let ready = socket.ready(Interest::READABLE).await?;
        match socket.try_recv(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if ready.is_read_closed() {
                    let pending = socket.take_error()?;
                    tracing::debug!(error = ?pending, "UDP socket closed for reading with nothing to read");
                    // Without a pending error the system only said the socket ended: that
                    // is what the evidence says, not a guessed refusal.
                    return Err(pending.unwrap_or_else(|| io::ErrorKind::ConnectionAborted.into()));
                }
                // A wake-up with nothing to read (a datagram dropped for its checksum after
                // the readiness was reported): let the other branches run, then wait again.
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}

/// A connected UDP socket's error, the same finding on every system: Windows reports the ICMP
/// port-unreachable a request drew as a reset (WSAECONNRESET) on the next send or receive,
/// where Linux says "connection refused"; UDP has no connection to reset, so it is the refusal.
fn udp_error(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::ConnectionReset {
        io::ErrorKind::ConnectionRefused.into()
    } else {
        error
    }
}

/// What came back before the deadline without being the final answer: if nothing better
/// comes, the registrar *answered*, and the evidence must say with what, never "no answer".
#[derive(Default)]
struct Heard {
    /// The status line of the last provisional response to our request (`100 Trying`).
    provisional: Option<String>,
    /// Final responses to our request's CSeq with another branch or Call-ID: how many, the
    /// last one's status line and what differed (a SIP ALG in the router does this).
    rewritten: Option<(u32, String, &'static str)>,
    /// The last datagram from the target that could not be read as SIP.
    unreadable: Option<(usize, message::ParseError)>,
}

impl Heard {
    /// Notes a response that is not the final answer to `id`; `true` when it is a
    /// provisional answer to it (not a stray message).
    fn note(&mut self, response: &SipResponse, id: &TransactionId) -> bool {
        if response.matches(id) {
            self.provisional = Some(response.status_line());
            return true;
        }
        if let Some(what) = response.rewritten(id) {
            let count = self.rewritten.as_ref().map_or(0, |(n, _, _)| *n);
            self.rewritten = Some((count + 1, response.status_line(), what));
        }
        false
    }

    /// The outcome at the deadline when no final answer came: what did come, if anything.
    /// A provisional answer to our request is the surest sign of a live server, then
    /// rewritten answers, then unreadable ones.
    fn outcome(self) -> Option<SipOutcome> {
        if let Some(status) = self.provisional {
            return Some(SipOutcome::TransportFailed {
                kind: TransportFailure::ProvisionalOnly,
                detail: status.into(),
            });
        }
        if let Some((count, status, what)) = self.rewritten {
            return Some(SipOutcome::TransportFailed {
                kind: TransportFailure::Mismatched,
                detail: format!("{count}× {status}, {what}").into(),
            });
        }
        self.unreadable
            .map(|(bytes, e)| SipOutcome::TransportFailed {
                kind: if matches!(e, message::ParseError::TooLarge(_)) {
                    TransportFailure::TooLarge
                } else {
                    TransportFailure::Protocol
                },
                detail: format!("answered with {bytes} bytes dialtone cannot accept: {e}").into(),
            })
    }
}

/// The bytes of a message still arriving, without the keep-alive CRLFs before it.
fn pending(buffer: &[u8]) -> &[u8] {
    let skip = buffer
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    &buffer[skip..]
}

/// The first line of what came (the status line of a response), for evidence.
fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(bytes.len())
        .min(120);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// What reading one framed message from a stream gave.
enum Framed {
    Message(Vec<u8>),
    Failed(TransportFailure, Detail),
}

/// Reads one SIP message from `stream`: headers up to CRLFCRLF, then Content-Length bytes.
async fn read_framed(stream: &mut Box<dyn SipStream>, buffer: &mut Vec<u8>) -> Framed {
    let mut chunk = [0u8; 8192];
    loop {
        // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are not part of any message.
        let skip = buffer
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        buffer.drain(..skip);
        let prefix = b"SIP/2.0 ";
        let n = buffer.len().min(prefix.len());
        if buffer[..n] != prefix[..n] {
            return Framed::Failed(
                TransportFailure::Protocol,
                "the peer sent bytes that are not a SIP response".into(),
            );
        }
        if let Some(end) = find_header_end(buffer) {
            if end > message::MAX_HEADER_BYTES {
                return header_too_large(buffer);
            }
            let head = String::from_utf8_lossy(&buffer[..end]);
            let length = match content_length(&head) {
                Some(Ok(len)) if len <= message::MAX_BODY_BYTES => len,
                Some(Ok(len)) => {
                    return Framed::Failed(
                        TransportFailure::TooLarge,
                        format!(
                            "{}, Content-Length {len} over {}",
                            first_line(buffer),
                            message::MAX_BODY_BYTES
                        )
                        .into(),
                    )
                }
                Some(Err(())) => {
                    return Framed::Failed(
                        TransportFailure::Protocol,
                        "unreadable Content-Length".into(),
                    )
                }
                // RFC 3261 §20.14 makes it mandatory on streams; treat a missing one as 0.
                None => 0,
            };
            let total = end + 4 + length;
            if buffer.len() >= total {
                let rest = buffer.split_off(total);
                let message = std::mem::replace(buffer, rest);
                return Framed::Message(message);
            }
        } else if buffer.len() > message::MAX_HEADER_BYTES {
            return header_too_large(buffer);
        }
        match stream.read(&mut chunk).await {
            Ok(0) => {
                return Framed::Failed(
                    TransportFailure::Closed,
                    "the peer closed the connection".into(),
                )
            }
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => return Framed::Failed(failure_kind(&e), Detail::io(&e)),
        }
    }
}

/// A header section past [`message::MAX_HEADER_BYTES`]: refused before it is parsed, with
/// its status line as the evidence of what came.
fn header_too_large(buffer: &[u8]) -> Framed {
    Framed::Failed(
        TransportFailure::TooLarge,
        format!(
            "{}, over {} bytes of headers",
            first_line(buffer),
            message::MAX_HEADER_BYTES
        )
        .into(),
    )
}

/// The Content-Length of a header section: `None` when absent, `Err` when unreadable.
fn content_length(head: &str) -> Option<Result<usize, ()>> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().parse::<usize>().map_err(|_| ()))
    })
}

async fn stream_transact(
    stream: &mut Box<dyn SipStream>,
    buffer: &mut Vec<u8>,
    request: &[u8],
    id: &TransactionId,
    settings: &SipSettings,
) -> TransactionResult {
    let started = Instant::now();
    let mut result = TransactionResult {
        outcome: SipOutcome::Timeout,
        response: None,
        transmissions: 1,
        ignored: 0,
        elapsed: Duration::ZERO,
    };
    let mut heard = Heard::default();
    let written = timeout(settings.timeout, async {
        stream.write_all(request).await?;
        stream.flush().await
    })
    .await;
    result.outcome = match written {
        Ok(Ok(())) => {
            let deadline = started + settings.timeout;
            match read_answer(
                stream,
                buffer,
                id,
                started,
                deadline,
                &mut result,
                &mut heard,
            )
            .await
            {
                Some(outcome) => outcome,
                // An answer that has begun to arrive is an answer: a registrar trickling a
                // correct 200 OK past the deadline is slow, not gone. It gets one more
                // timeout to finish; what came by then is the evidence either way.
                None if pending(buffer).starts_with(b"SIP/2.0 ") => {
                    let grace = deadline + settings.timeout;
                    match read_answer(stream, buffer, id, started, grace, &mut result, &mut heard)
                        .await
                    {
                        Some(outcome) => outcome,
                        None => SipOutcome::TransportFailed {
                            kind: TransportFailure::Incomplete,
                            detail: format!(
                                "{}, {} bytes",
                                first_line(pending(buffer)),
                                pending(buffer).len()
                            )
                            .into(),
                        },
                    }
                }
                None => heard.outcome().unwrap_or(SipOutcome::Timeout),
            }
        }
        Ok(Err(e)) => SipOutcome::TransportFailed {
            kind: failure_kind(&e),
            detail: Detail::io(&e),
        },
        Err(_) => SipOutcome::Timeout,
    };
    result.elapsed = started.elapsed();
    result
}

/// Reads framed messages until the final response to `id` (its outcome, the response kept in
/// `result`), a failure, or `deadline` (`None`; the bytes of a message still arriving stay in
/// `buffer`). Provisional and mismatched answers on the way are noted in `heard`.
async fn read_answer(
    stream: &mut Box<dyn SipStream>,
    buffer: &mut Vec<u8>,
    id: &TransactionId,
    started: Instant,
    deadline: Instant,
    result: &mut TransactionResult,
    heard: &mut Heard,
) -> Option<SipOutcome> {
    loop {
        let framed = match tokio::time::timeout_at(deadline, read_framed(stream, buffer)).await {
            Ok(framed) => framed,
            Err(_) => return None,
        };
        match framed {
            Framed::Failed(kind, detail) => {
                return Some(SipOutcome::TransportFailed { kind, detail });
            }
            Framed::Message(bytes) => match message::parse_response(&bytes) {
                Err(e) => {
                    // The frame looked like SIP but is not: we cannot trust the framing.
                    return Some(SipOutcome::TransportFailed {
                        kind: TransportFailure::Protocol,
                        detail: e.to_string().into(),
                    });
                }
                Ok(response) if response.matches(id) && response.code >= 200 => {
                    let outcome = SipOutcome::Response {
                        code: response.code,
                        reason: response.reason.clone(),
                        rtt: started.elapsed(),
                        retry_after: response.retry_after(),
                    };
                    result.response = Some(response);
                    return Some(outcome);
                }
                Ok(response) => {
                    // Provisional answers to our request are not stray; everything else is.
                    if !heard.note(&response, id) {
                        result.ignored += 1;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows' word for the ICMP port-unreachable on UDP (WSAECONNRESET) is the refusal Linux
    /// reports (ECONNREFUSED): one finding, worded once, on both systems.
    #[test]
    fn a_reset_on_udp_is_the_refusal_linux_reports() {
        let windows = udp_error(io::Error::from(io::ErrorKind::ConnectionReset));
        let linux = udp_error(io::Error::from(io::ErrorKind::ConnectionRefused));
        for e in [&windows, &linux] {
            assert_eq!(failure_kind(e), TransportFailure::Refused, "{e:?}");
            assert_eq!(Detail::io(e), "connection refused", "{e:?}");
        }
        // Anything else stays what it is.
        let unreachable = udp_error(io::Error::from(io::ErrorKind::HostUnreachable));
        assert_eq!(failure_kind(&unreachable), TransportFailure::Unreachable);
    }
}
