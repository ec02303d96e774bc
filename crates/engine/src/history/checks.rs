//! The raw checks: one row per finished check (verdict, each layer's status, the SIP round
//! trip), read back as the dashboard's timeline.

use super::{ms, verdict_from, History, HistoryError};
use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact};
use dialtone_core::record::CheckRecord;
use dialtone_core::verdict::{Layer, LayerStatus};
use rusqlite::{params, OptionalExtension};

fn status_letter(status: LayerStatus) -> char {
    match status {
        LayerStatus::Ok => 'o',
        LayerStatus::Degraded => 'd',
        LayerStatus::Failed => 'f',
        LayerStatus::Skipped => 's',
    }
}

/// The SIP status code the provider layer saw (OPTIONS), else the account layer's (REGISTER).
fn sip_code(diagnosis: &Diagnosis) -> Option<u16> {
    [Layer::Provider, Layer::Account].iter().find_map(|layer| {
        diagnosis
            .layers
            .iter()
            .filter(|report| report.layer == *layer)
            .flat_map(|report| report.evidence.iter())
            .find_map(|fact| match fact {
                Fact::SipResponse { code, .. } => Some(*code),
                _ => None,
            })
    })
}

impl History {
    /// Records one raw check and returns its row id. Committed (and fsynced) on return.
    pub fn record_check(&self, diagnosis: &Diagnosis) -> Result<i64, HistoryError> {
        match self.record_check_once(diagnosis) {
            Err(e) if e.is_busy() => {
                tracing::warn!("{e}; trying once more");
                self.record_check_once(diagnosis)
            }
            other => other,
        }
    }

    fn record_check_once(&self, diagnosis: &Diagnosis) -> Result<i64, HistoryError> {
        // One letter per layer in the schema's documented order, with the router layer (added
        // later) appended, so rows written before it keep their meaning: six letters now.
        const COLUMN_ORDER: [Layer; 6] = [
            Layer::Device,
            Layer::HomeNetwork,
            Layer::Internet,
            Layer::Provider,
            Layer::Account,
            Layer::Router,
        ];
        let layers: String = COLUMN_ORDER
            .iter()
            .map(|layer| {
                diagnosis
                    .layers
                    .iter()
                    .find(|report| report.layer == *layer)
                    .map_or('s', |report| status_letter(report.status))
            })
            .collect();
        let sip_rtt = diagnosis
            .layers
            .iter()
            .find(|report| report.layer == Layer::Provider)
            .and_then(|report| report.latency_ms);
        self.conn
            .prepare_cached(
                "INSERT INTO checks (at, verdict, failing_layer, layers, sip_rtt_ms, sip_code)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    ms(diagnosis.checked_at),
                    diagnosis.verdict.as_str(),
                    diagnosis.failing_layer.map(Layer::as_str),
                    layers,
                    sip_rtt,
                    sip_code(diagnosis),
                ])
            })
            .map_err(self.err("recording a check"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Checks since `since`, oldest first, as the dashboard's timeline points.
    pub fn points(&self, since: DateTime<Utc>) -> Result<Vec<CheckRecord>, HistoryError> {
        const OP: &str = "reading checks";
        let rows = self.rows(
            OP,
            "SELECT at, verdict, sip_rtt_ms FROM checks WHERE at >= ?1 ORDER BY at, id",
            params![ms(since)],
            |row| <(i64, String, Option<f64>)>::try_from(row),
        )?;
        rows.into_iter()
            .map(|(at, verdict, sip_rtt_ms)| {
                Ok(CheckRecord {
                    at: self.time(OP, "checks.at", at)?,
                    verdict: verdict_from(&verdict)
                        .ok_or_else(|| self.corrupt(OP, "checks.verdict", &verdict))?,
                    sip_rtt_ms,
                })
            })
            .collect()
    }

    /// How many raw checks are stored.
    pub fn check_count(&self) -> Result<u64, HistoryError> {
        let count: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM checks", [], |row| row.get(0))
            .map_err(self.err("counting checks"))?;
        Ok(count.unsigned_abs())
    }

    /// Whether a check with this id is stored.
    pub fn has_check(&self, id: i64) -> Result<bool, HistoryError> {
        self.conn
            .query_row(
                "SELECT 1 FROM checks WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(self.err("looking up a check"))
    }
}
