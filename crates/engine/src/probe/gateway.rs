//! The home-network probe: does the router answer?
//!
//! Two ways, raced: an ICMP echo without privileges (the platform seam's; on Linux a ping
//! socket, allowed to the groups in `net.ipv4.ping_group_range`; when not allowed the attempt
//! is silently skipped), and TCP connects to ports 53, 80 and 443, where a refused connection
//! proves the router alive as well as a completed one: only a live host sends a reset. The
//! first answer wins. Nothing here needs privileges or `unsafe`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::TcpStream;

use dialtone_core::observation::{Detail, GatewayObservation, GatewaySource, Reach, ReachMethod};
use dialtone_platform::net::{self, Echo};

/// Ports a home router typically listens on (DNS forwarder, web UI).
pub const GATEWAY_PORTS: [u16; 3] = [53, 80, 443];

/// Checks whether the gateway at `address` answers within `timeout`. No address → no reach.
pub async fn probe(
    address: Option<IpAddr>,
    source: GatewaySource,
    timeout: Duration,
) -> GatewayObservation {
    let reach = match address {
        Some(ip) => Some(reach_host(ip, timeout).await),
        None => None,
    };
    GatewayObservation {
        address,
        source,
        reach,
    }
}

/// Races an ICMP echo (when ping sockets are allowed) against TCP connects to
/// [`GATEWAY_PORTS`]; the first answer wins, and the whole check ends by `timeout`.
async fn reach_host(ip: IpAddr, timeout: Duration) -> Reach {
    let addrs: Vec<SocketAddr> = GATEWAY_PORTS
        .iter()
        .map(|p| SocketAddr::new(ip, *p))
        .collect();
    let tcp = tcp_reach(&addrs, timeout);
    // `None` when ping sockets are not allowed here: then TCP alone decides.
    let icmp = async { ping(ip, timeout).await.ok() };
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(tcp, icmp, deadline);
    let mut tcp_result: Option<Reach> = None;
    let mut icmp_result: Option<Option<Reach>> = None;
    // A failure of one method does not end the check: a router may drop TCP to itself but
    // answer ping, or the other way round.
    while tcp_result.is_none() || icmp_result.is_none() {
        tokio::select! {
            r = &mut tcp, if tcp_result.is_none() => {
                if r.answered() {
                    return r;
                }
                tcp_result = Some(r);
            }
            r = &mut icmp, if icmp_result.is_none() => {
                if r.as_ref().is_some_and(Reach::answered) {
                    return r.unwrap_or(Reach::Timeout { after: timeout });
                }
                icmp_result = Some(r);
            }
            _ = &mut deadline => break,
        }
    }
    // Neither answered: prefer an explicit "unreachable" over a plain timeout.
    [tcp_result, icmp_result.flatten()]
        .into_iter()
        .flatten()
        .find(|r| matches!(r, Reach::Unreachable { .. }))
        .unwrap_or(Reach::Timeout { after: timeout })
}

/// Why an ICMP echo could not even be attempted.
#[derive(Debug, thiserror::Error)]
#[error("open an ICMP ping socket to {address}: {source}")]
pub struct PingUnavailable {
    /// The host we wanted to ping.
    pub address: IpAddr,
    /// The operating system's refusal (usually EACCES: not in `ping_group_range`).
    #[source]
    pub source: io::Error,
}

/// Sends one ICMP echo request to `ip` (the platform seam's unprivileged echo) and waits up to
/// `timeout` for the reply. `Err` when the system does not allow it to this user.
pub async fn ping(ip: IpAddr, timeout: Duration) -> Result<Reach, PingUnavailable> {
    let echo = net::icmp_echo(ip, timeout)
        .await
        .map_err(|source| PingUnavailable {
            address: ip,
            source,
        })?;
    Ok(match echo {
        Echo::Replied { rtt } => Reach::Answered {
            method: ReachMethod::IcmpEcho,
            rtt,
        },
        Echo::TimedOut => Reach::Timeout { after: timeout },
        Echo::Failed(e) => io_reach(&e, timeout),
    })
}

/// Connects to every address at once; the first answer (handshake or refusal) wins. When all
/// attempts fail the first "unreachable" is reported; when time runs out first, a timeout.
pub(crate) async fn tcp_reach(addrs: &[SocketAddr], timeout: Duration) -> Reach {
    let start = Instant::now();
    let mut attempts: FuturesUnordered<_> = addrs
        .iter()
        .map(|addr| async move { (TcpStream::connect(addr).await, *addr) })
        .collect();
    let mut unreachable: Option<Detail> = None;
    let race = async {
        while let Some((result, addr)) = attempts.next().await {
            match result {
                Ok(_) => {
                    return Some(Reach::Answered {
                        method: ReachMethod::TcpConnect,
                        rtt: start.elapsed(),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Some(Reach::Answered {
                        method: ReachMethod::TcpRefused,
                        rtt: start.elapsed(),
                    })
                }
                Err(e) => {
                    unreachable
                        .get_or_insert_with(|| Detail::io(&e).within(format!("connect to {addr}")));
                }
            }
        }
        None
    };
    let outcome = tokio::time::timeout(timeout, race).await;
    match outcome {
        Ok(Some(answered)) => answered,
        Ok(None) => Reach::Unreachable {
            detail: unreachable.unwrap_or_else(|| "no address to connect to".into()),
        },
        Err(_) => Reach::Timeout { after: timeout },
    }
}

/// What an error from a send or receive says about the host.
fn io_reach(e: &io::Error, timeout: Duration) -> Reach {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Reach::Timeout { after: timeout },
        _ => Reach::Unreachable {
            detail: Detail::io(e),
        },
    }
}
