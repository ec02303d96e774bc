//! Turns one [`Snapshot`] into a [`Diagnosis`]: a pure function, no I/O, no clock.
//!
//! The rule is the one a careful person follows: check the layers from the bottom up and blame
//! the lowest one that fails, because a dead router makes the provider look dead too.

use crate::locale::Lang;
use crate::observation::{Binding, Snapshot};
use crate::verdict::{Layer, LayerStatus, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What counts as good enough. Every field has a default that suits a home line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// SIP round-trip time above which the provider layer is degraded, in milliseconds.
    pub sip_rtt_ms: u64,
    /// Gateway round-trip time above which the home network is degraded, in milliseconds.
    pub gateway_rtt_ms: u64,
    /// Anchor round-trip time above which the internet is degraded, in milliseconds.
    pub anchor_rtt_ms: u64,
    /// How many anchors must answer for the internet to count as up.
    pub min_anchors: usize,
    /// Retransmissions of one SIP request at or above which the provider layer is degraded
    /// (a sign of packet loss).
    pub retransmissions: u32,
    /// Whether a line with no registered phone/router is an account problem.
    pub expect_binding: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            sip_rtt_ms: 500,
            gateway_rtt_ms: 200,
            anchor_rtt_ms: 800,
            min_anchors: 2,
            retransmissions: 1,
            expect_binding: true,
        }
    }
}

/// The answer to "does my line work, and if not, whose fault is it?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The verdict.
    pub verdict: Verdict,
    /// The lowest layer that failed or degraded, when any did.
    pub failing_layer: Option<Layer>,
    /// Each layer's result, lowest first (always all five).
    pub layers: Vec<LayerReport>,
    /// The account's bindings, when the REGISTER query succeeded.
    pub bindings: Option<Vec<Binding>>,
    /// The provider's display name, when known.
    pub provider_name: Option<String>,
    /// When the observations were taken.
    pub checked_at: DateTime<Utc>,
}

/// One layer's result with the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The layer.
    pub layer: Layer,
    /// How it fared.
    pub status: LayerStatus,
    /// What was seen, as structured facts a presenter renders in the user's language.
    pub evidence: Vec<Fact>,
    /// The layer's main latency, when measured.
    pub latency_ms: Option<f64>,
}

/// One piece of evidence. Structured, so that every presenter can word it in German or English.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// The layer was not checked, with why.
    NotChecked {
        /// Why not.
        why: String,
    },
}

impl Fact {
    /// This fact in words.
    pub fn render(&self, lang: Lang) -> String {
        match self {
            Fact::NotChecked { why } => {
                format!("{}: {why}", lang.pick("not checked", "nicht geprüft"))
            }
        }
    }
}

/// Diagnoses one snapshot. Pure: the same input always gives the same output.
pub fn diagnose(snapshot: &Snapshot, thresholds: &Thresholds) -> Diagnosis {
    let _ = thresholds;
    Diagnosis {
        verdict: Verdict::Unknown,
        failing_layer: None,
        layers: Layer::ALL
            .iter()
            .map(|&layer| LayerReport {
                layer,
                status: LayerStatus::Skipped,
                evidence: vec![],
                latency_ms: None,
            })
            .collect(),
        bindings: None,
        provider_name: snapshot
            .provider
            .as_ref()
            .and_then(|p| p.provider_name.clone()),
        checked_at: snapshot.taken_at,
    }
}

impl Diagnosis {
    /// One sentence for the user, in their words ("Your line works.").
    pub fn summary(&self, lang: Lang) -> String {
        lang.pick("Not checked yet.", "Noch nicht geprüft.")
            .to_string()
    }

    /// The report of one layer.
    pub fn layer(&self, layer: Layer) -> Option<&LayerReport> {
        self.layers.iter().find(|report| report.layer == layer)
    }
}
