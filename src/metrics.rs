//! The Prometheus exporter: every watched line's state as metrics on `GET /metrics`.
//!
//! A presenter like the tray: it only reads what the monitors publish (confirmed status,
//! confirmed changes, every raw check) and never probes anything itself, so scraping it as
//! often as one likes sends nothing to the provider.
//!
//! What it serves, per line (label `line`):
//! - `dialtone_line_verdict{verdict}`: the confirmed verdict as a state set, one series per
//!   verdict, exactly one of them 1.
//! - `dialtone_layer_up{layer}`: 1 when the confirmed diagnosis has the layer working (ok or
//!   degraded), 0 when it failed; no series for a layer that was not judged (skipped).
//! - `dialtone_sip_rtt_seconds`: the OPTIONS round-trip time of every check, a histogram.
//! - `dialtone_checks_total{outcome}`: every check by its raw (unconfirmed) verdict.
//! - `dialtone_verdict_changes_total` and `dialtone_outages_total{verdict}`: confirmed changes,
//!   and those that opened an outage.
//! - `dialtone_register_suspended`: 1 while the REGISTER query is held back after a rejected
//!   login (it needs the user, not a retry).
//! - `dialtone_verdict_since_timestamp_seconds`: when the confirmed verdict began.
//!
//! And once: `dialtone_build_info{version,commit}` = 1.
//!
//! The HTTP side is deliberately small: one request per connection, a bounded request head,
//! a deadline per connection, `GET /metrics` (or `/`) and nothing else. The text is the
//! Prometheus format 0.0.4 (what `promtool check metrics` reads), or OpenMetrics when the
//! scraper asks for it.

use dialtone_core::diagnosis::{Diagnosis, Fact};
use dialtone_core::schedule::Status;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_engine::lines::Attach;
use dialtone_engine::monitor::MonitorHandle;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Upper bounds of the SIP round-trip histogram, in seconds: a healthy registrar answers in
/// milliseconds; the top buckets catch retransmissions (500 ms, 1 s, 2 s timers).
const RTT_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// The longest request head read; a scrape's is a few hundred bytes.
const MAX_REQUEST: usize = 8 * 1024;

/// How long one connection may take, from accept to the last byte written.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);

/// How long a client has to send its request head: a scraper sends it at once, an idle
/// connection only holds a socket the probes may need.
const HEAD_DEADLINE: Duration = Duration::from_secs(2);

/// Connections served at once; more are closed as soon as they are accepted. A scraper needs
/// one; a flood of idle ones must not take the file descriptors the probes open sockets with.
const MAX_CONNECTIONS: usize = 32;

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MetricsError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("serving metrics on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's words.
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LineLabels {
    line: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    line: String,
    verdict: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LayerLabels {
    line: String,
    layer: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    line: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

/// Declares the metric families once each: the field, its type, how it is made, and the name
/// and help it is served under, so a family cannot be updated without being registered.
macro_rules! families {
    ($($field:ident: $ty:ty = $make:expr, $name:literal, $help:literal;)*) => {
        /// The metric families, shared by the updaters and the server.
        #[derive(Clone)]
        struct Families {
            $($field: $ty,)*
        }

        impl Families {
            /// Every family, registered in `registry` in the order declared.
            fn register(registry: &mut Registry) -> Families {
                $(
                    let $field: $ty = $make;
                    registry.register($name, $help, $field.clone());
                )*
                Families { $($field,)* }
            }
        }
    };
}

families! {
    verdict: Family<VerdictLabels, Gauge> = Family::default(), "line_verdict",
        "The line's confirmed verdict: 1 for the current one, 0 for the others";
    since: Family<LineLabels, Gauge<f64, AtomicU64>> = Family::default(), "verdict_since_timestamp_seconds",
        "When the line's confirmed verdict began, in seconds since the Unix epoch";
    layer_up: Family<LayerLabels, Gauge> = Family::default(), "layer_up",
        "Whether the layer works (1, also when slow) or failed (0) in the confirmed diagnosis; absent when not judged";
    sip_rtt: Family<LineLabels, Histogram> = Family::new_with_constructor(|| Histogram::new(RTT_BUCKETS)), "sip_rtt_seconds",
        "Round-trip time of the OPTIONS request of each check";
    checks: Family<OutcomeLabels, Counter> = Family::default(), "checks",
        "Checks by their raw (unconfirmed) verdict";
    changes: Family<LineLabels, Counter> = Family::default(), "verdict_changes",
        "Confirmed verdict changes";
    outages: Family<VerdictLabels, Counter> = Family::default(), "outages",
        "Confirmed changes into an outage, by the outage's verdict";
    suspended: Family<LineLabels, Gauge> = Family::default(), "register_suspended",
        "1 while the REGISTER query is held back after a rejected login (until the password changes or a retry)";
}

/// The registry with every family registered; the families to update.
fn registry() -> (Registry, Families) {
    let mut registry = Registry::with_prefix("dialtone");
    let build: Family<BuildLabels, Gauge> = Family::default();
    build
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION").into(),
            commit: env!("DIALTONE_GIT_COMMIT").into(),
        })
        .set(1);
    registry.register(
        "build_info",
        "The dialtone version and the git commit it was built from",
        build,
    );
    let families = Families::register(&mut registry);
    (registry, families)
}

/// The running exporter: serves until its token is cancelled; [`Exporter::attach`] is the line
/// runner's hook that follows each line generation (a settings change or a restart makes a new
/// monitor) under the same label, so the series go on where they were.
pub(crate) struct Exporter {
    families: Families,
    /// The server task.
    pub server: JoinHandle<()>,
    /// Where it listens (the port the OS chose, for `:0`).
    bound: SocketAddr,
}

impl Exporter {
    /// Binds `addr` and serves `/metrics` until `token` is cancelled.
    pub(crate) async fn serve(
        addr: SocketAddr,
        token: &CancellationToken,
    ) -> Result<Exporter, MetricsError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let (registry, families) = registry();
        // Headroom for the sockets of the probes next to the connections served here.
        match dialtone_platform::limits::raise_open_files() {
            Ok(limit) => tracing::debug!("open files allowed: {limit}"),
            Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
        }
        if !bound.ip().is_loopback() {
            tracing::warn!(
                "metrics on {bound} can be read from the network: every line's state and provider; \
bind to loopback unless a Prometheus on another machine scrapes it"
            );
        }
        let exporter = Exporter {
            families,
            server: tokio::spawn(serve(listener, Arc::new(registry), token.clone())),
            bound,
        };
        tracing::info!("serving metrics on http://{}/metrics", exporter.bound);
        Ok(exporter)
    }

    /// The line runner's hook: every generation of every line is followed under its label.
    pub(crate) fn attach(&self) -> Attach {
        let families = self.families.clone();
        Arc::new(move |label, handle, token| {
            vec![tokio::spawn(update_line(
                label.to_string(),
                handle.clone(),
                families.clone(),
                token.clone(),
            ))]
        })
    }
}

/// Keeps one line's series current from its monitor until `token` is cancelled.
async fn update_line(
    line: String,
    handle: MonitorHandle,
    families: Families,
    token: CancellationToken,
) {
    let mut status = handle.watch_status();
    let mut checks = handle.subscribe_checks();
    let mut changes = handle.subscribe();
    let labels = LineLabels { line: line.clone() };
    // Created up front so a line that never changed still shows zeros, not no series.
    drop(families.changes.get_or_create(&labels));
    drop(families.suspended.get_or_create(&labels));
    let current = status.borrow_and_update().clone();
    show_status(&line, &current, &families);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
                let current = status.borrow_and_update().clone();
                show_status(&line, &current, &families);
            }
            check = checks.recv() => match check {
                Ok(diagnosis) => count_check(&line, &diagnosis, &families),
                Err(RecvError::Lagged(n)) => tracing::debug!("metrics of {line}: missed {n} checks"),
                Err(RecvError::Closed) => return,
            },
            change = changes.recv() => match change {
                Ok(change) => {
                    families.changes.get_or_create(&labels).inc();
                    if change.to.is_outage() && !change.from.is_outage() {
                        families
                            .outages
                            .get_or_create(&VerdictLabels {
                                line: line.clone(),
                                verdict: change.to.as_str().into(),
                            })
                            .inc();
                    }
                }
                Err(RecvError::Lagged(n)) => tracing::debug!("metrics of {line}: missed {n} changes"),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// The confirmed state: verdict state set, since, layers.
fn show_status(line: &str, status: &Status, families: &Families) {
    for verdict in Verdict::ALL {
        families
            .verdict
            .get_or_create(&VerdictLabels {
                line: line.into(),
                verdict: verdict.as_str().into(),
            })
            .set(i64::from(verdict == status.verdict));
    }
    families
        .since
        .get_or_create(&LineLabels { line: line.into() })
        .set(status.since.timestamp_millis() as f64 / 1000.0);
    for layer in Layer::ALL {
        let labels = LayerLabels {
            line: line.into(),
            layer: layer.as_str().into(),
        };
        let state = status
            .diagnosis
            .as_ref()
            .and_then(|d| d.layer(layer))
            .map(|r| r.status);
        match state {
            Some(LayerStatus::Ok | LayerStatus::Degraded) => {
                families.layer_up.get_or_create(&labels).set(1);
            }
            Some(LayerStatus::Failed) => {
                families.layer_up.get_or_create(&labels).set(0);
            }
            Some(LayerStatus::Skipped) | None => {
                families.layer_up.remove(&labels);
            }
        }
    }
}

/// One raw check: its outcome, the OPTIONS round trip, the login's suspension.
fn count_check(line: &str, diagnosis: &Diagnosis, families: &Families) {
    families
        .checks
        .get_or_create(&OutcomeLabels {
            line: line.into(),
            outcome: diagnosis.verdict.as_str().into(),
        })
        .inc();
    let labels = LineLabels { line: line.into() };
    let rtts = diagnosis
        .layer(Layer::Provider)
        .into_iter()
        .flat_map(|r| &r.evidence)
        .filter_map(|fact| match fact {
            Fact::SipResponse { method, rtt_ms, .. } if method == "OPTIONS" => Some(*rtt_ms),
            _ => None,
        });
    for rtt_ms in rtts {
        families
            .sip_rtt
            .get_or_create(&labels)
            .observe(rtt_ms / 1000.0);
    }
    families
        .suspended
        .get_or_create(&labels)
        .set(i64::from(diagnosis.login_suspended()));
}

/// Accepts scrapes until `token` is cancelled; each connection on its own task.
async fn serve(listener: TcpListener, registry: Arc<Registry>, token: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // Closed at once (dropped): the socket goes back before it is used.
                        tracing::debug!("metrics: {MAX_CONNECTIONS} connections open, closing {peer}'s");
                        continue;
                    };
                    let registry = registry.clone();
                    tokio::spawn(async move {
                        let _slot = slot;
                        match tokio::time::timeout(CONNECTION_DEADLINE, answer(stream, &registry)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => tracing::debug!("metrics request from {peer}: {e}"),
                            Err(_) => tracing::debug!("metrics request from {peer}: too slow, closed"),
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("metrics: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
        }
    }
}

/// What came of reading a request head.
enum Head {
    /// Up to and with the blank line.
    Complete(Vec<u8>),
    /// More than [`MAX_REQUEST`] bytes without one.
    TooLarge,
    /// The client closed first.
    Closed,
}

/// Reads up to the end of the request head.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST {
            return Ok(Head::TooLarge);
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(Head::Complete(head))
}

/// Reads one request head and writes the answer.
async fn answer(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    let Ok(head) = tokio::time::timeout(HEAD_DEADLINE, read_head(&mut stream)).await else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no request head within 2 s",
        ));
    };
    let head = match head? {
        Head::Complete(head) => head,
        Head::Closed => return Ok(()),
        Head::TooLarge => {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "request head too large\n",
            )
            .await
        }
    };
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    let path = target.split('?').next().unwrap_or_default();
    if method != "GET" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n",
        )
        .await;
    }
    if path != "/metrics" && path != "/" {
        return respond(&mut stream, "404 Not Found", "text/plain", "see /metrics\n").await;
    }
    let openmetrics = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("accept:") && l.contains("application/openmetrics-text")
    });
    let mut body = String::new();
    let (encoded, content_type) = if openmetrics {
        (
            prometheus_client::encoding::text::encode(&mut body, registry),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            prometheus_client::encoding::prometheus_text::encode(&mut body, registry),
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )
    };
    if encoded.is_err() {
        return respond(
            &mut stream,
            "500 Internal Server Error",
            "text/plain",
            "encoding failed\n",
        )
        .await;
    }
    respond(&mut stream, "200 OK", content_type, &body).await
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Whether the server closes `stream` within `within` (a read sees the end).
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(within, stream.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    #[tokio::test]
    async fn idle_connections_are_capped_and_cut_off_and_a_scrape_still_answers() {
        let token = CancellationToken::new();
        let exporter = Exporter::serve("127.0.0.1:0".parse().unwrap(), &token)
            .await
            .unwrap();
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(TcpStream::connect(exporter.bound).await.unwrap());
        }
        // Every slot is held by a connection that sends nothing: the next one is closed at
        // once, not after the connection deadline.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut extra = TcpStream::connect(exporter.bound).await.unwrap();
        assert!(closed_within(&mut extra, Duration::from_secs(1)).await);
        // The idle ones are cut off when their head does not come within 2 s.
        assert!(closed_within(&mut idle[0], HEAD_DEADLINE + Duration::from_secs(1)).await);
        for stream in &mut idle[1..] {
            assert!(closed_within(stream, Duration::from_millis(500)).await);
        }
        // And a scraper is served again.
        let mut scrape = TcpStream::connect(exporter.bound).await.unwrap();
        scrape
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        scrape.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("dialtone_build_info"), "{answer}");
        token.cancel();
    }
}
