//! Builders shared by the unit tests of the presenters (tray, notifications): one diagnosis
//! shape, so every presenter is tested against the same kind of input.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact, LayerReport};
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_engine::monitor::VerdictChanged;

/// 1 December 2026 at `h:m:s` UTC.
pub(crate) fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
}

/// A diagnosis of 1&1's line taken at `checked_at`: every layer ok but the failing one, which
/// carries its one fact.
pub(crate) fn diagnosis(
    verdict: Verdict,
    failing: Option<(Layer, Fact)>,
    checked_at: DateTime<Utc>,
) -> Diagnosis {
    let layers = Layer::ALL
        .iter()
        .map(|&layer| {
            let failed = failing.as_ref().filter(|(l, _)| *l == layer);
            LayerReport {
                layer,
                status: if failed.is_some() {
                    LayerStatus::Failed
                } else {
                    LayerStatus::Ok
                },
                evidence: failed.map(|(_, f)| vec![f.clone()]).unwrap_or_default(),
                latency_ms: None,
            }
        })
        .collect();
    Diagnosis {
        verdict,
        failing_layer: failing.as_ref().map(|(l, _)| *l),
        layers,
        bindings: None,
        router: None,
        provider_name: Some("1&1".into()),
        checked_at,
    }
}

/// The router layer failing: the router says its internet connection is down.
pub(crate) fn router_disconnected(last_error: Option<&str>) -> (Layer, Fact) {
    (
        Layer::Router,
        Fact::RouterConnection {
            status: "Disconnected".into(),
            connected: false,
            last_error: last_error.map(Into::into),
            uptime_s: None,
        },
    )
}

/// A change from `from` (since `from_since`) to `to`, confirmed at `since` by `diagnosis`.
pub(crate) fn change(
    from: Verdict,
    to: Verdict,
    from_since: DateTime<Utc>,
    since: DateTime<Utc>,
    diagnosis: Diagnosis,
) -> VerdictChanged {
    VerdictChanged {
        from,
        to,
        from_since,
        since,
        at: since,
        diagnosis,
    }
}
