//! SIP probing of the registrar: OPTIONS liveness checks and the authenticated REGISTER query.
//!
//! Name resolution (RFC 3263) happens elsewhere; everything here takes concrete
//! [`SipTarget`](dialtone_core::observation::SipTarget)s.
//!
//! Public API (what `probe::line` uses):
//! - [`options`] / [`options_first_answer`]: OPTIONS over UDP (RFC 3261 §17.1.2 retransmissions:
//!   T1 doubling to T2 until [`SipSettings::timeout`]), TCP or TLS. Any response proves the server
//!   alive. Responses are accepted only when they match Via branch, Call-ID and CSeq (and, on UDP,
//!   come from the address we sent to); everything else is counted in `SipExchange::ignored`.
//!   A transaction that ends without a final answer says what did come, if anything: only a
//!   provisional answer, an incomplete or oversized one, or answers whose branch or Call-ID was
//!   rewritten on the way (a SIP ALG): answers all the same, never "silence".
//! - TLS certificates are checked against [`SipSettings::sip_domain`] (RFC 5922 §4).
//! - [`AccountProber`]: the REGISTER query without Contact (lists bindings, adds none) with digest
//!   authentication; after a rejection it sends nothing until [`AccountProber::reset`] or new
//!   credentials ([`AccountProber::set_account`]).
//! - [`parse_response`] and [`digest::parse_challenge`]: the parsing entry points (also fuzzed).
//!
//! Probe outcomes (timeouts, refusals, error responses) are observations; [`SipError`] is only for
//! "could not run".

pub mod digest;
pub mod guard;
pub mod message;
pub mod options;
pub mod register;
pub mod transport;

pub use message::{parse_response, ParseError, SipResponse};
pub use options::{options, options_first_answer};
pub use register::{AccountProber, AccountSettings};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How SIP probes behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSettings {
    /// Overall time one transaction may take (UDP keeps retransmitting until then). RFC 3261's
    /// Timer F is 32 s; a health check gives up earlier, but never after a single short wait.
    /// On TCP/TLS an answer that has begun to arrive by then gets one more `timeout` to finish:
    /// a late answer is an answer.
    pub timeout: Duration,
    /// RFC 3261 T1 (RTT estimate), the first retransmission interval: 500 ms.
    pub t1: Duration,
    /// RFC 3261 T2, the cap on the retransmission interval: 4 s.
    pub t2: Duration,
    /// A PEM file with extra CA certificates to trust for TLS (besides the webpki roots), e.g.
    /// a private registrar's self-signed certificate.
    pub extra_ca: Option<PathBuf>,
    /// The SIP domain a registrar's TLS certificate must name (RFC 5922 §4): the registrar's
    /// host as configured, not the SRV target DNS pointed at. `None`: the target's own name.
    pub sip_domain: Option<String>,
}

impl Default for SipSettings {
    fn default() -> Self {
        SipSettings {
            timeout: Duration::from_secs(5),
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            extra_ca: None,
            sip_domain: None,
        }
    }
}

/// Why a SIP probe could not run at all (as opposed to a finding such as a timeout).
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// No local socket for talking to `peer`.
    #[error("SIP probe to {peer}: cannot open a local socket: {detail}")]
    Bind {
        /// Where we meant to send.
        peer: SocketAddr,
        /// The operating system's error, by its kind.
        detail: dialtone_core::observation::Detail,
    },
    /// The target cannot be used as given (e.g. a host name that is no valid TLS server name).
    #[error("SIP probe to {peer}: unusable target: {detail}")]
    BadTarget {
        /// The target's address.
        peer: SocketAddr,
        /// What is wrong.
        detail: String,
    },
    /// The extra CA file could not be read.
    #[error("SIP over TLS: cannot load CA certificates from {}: {detail}", path.display())]
    ExtraCa {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The TLS configuration could not be built.
    #[error("SIP over TLS: cannot build the client configuration: {detail}")]
    Tls {
        /// rustls' words.
        detail: String,
    },
    /// The login ledger cannot be locked, read or written: no authenticated request goes out
    /// until it can, since a guard that forgets could resend a rejected password.
    #[error("login checks paused: {source}")]
    LoginChecksPaused {
        /// What failed, with the file.
        source: guard::GuardError,
    },
    /// Another process or an earlier run of this line sent a login with these credentials
    /// less than [`guard::MIN_LOGIN_GAP`] ago.
    #[error("login check held back: another run logged in less than a minute ago; next not before {until}")]
    TooSoon {
        /// The earliest next login.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// The account settings cannot form a request (e.g. an AOR that is no SIP URI).
    #[error("REGISTER query for {aor}: bad account settings: {detail}")]
    BadAccount {
        /// The address-of-record.
        aor: String,
        /// What is wrong.
        detail: String,
    },
}
