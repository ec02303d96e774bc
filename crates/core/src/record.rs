//! What the history keeps of each check: when it ran, its raw verdict and the SIP round-trip
//! time. The dashboard's 24 h timeline draws these points as they are.

use crate::verdict::Verdict;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One recorded check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRecord {
    /// When the check ran.
    pub at: DateTime<Utc>,
    /// Its raw verdict.
    pub verdict: Verdict,
    /// The SIP round-trip time, when measured.
    pub sip_rtt_ms: Option<f64>,
}
