//! Feeds the history store from the monitor: every raw check and every confirmed change, on a
//! thread of its own, because SQLite's fsync per commit must never stall the async workers
//! that run the probes.

use super::{History, Retention};
use crate::monitor::{MonitorHandle, VerdictChanged};
use chrono::Utc;
use dialtone_core::diagnosis::Diagnosis;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often old raw checks are pruned while the recorder runs.
const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);

enum Entry {
    Check(Box<Diagnosis>),
    Change(Box<VerdictChanged>),
}

/// Starts recording what `handle` publishes into `history` until `shutdown` is cancelled.
/// The returned task ends once every received entry is written.
///
/// A write that fails is logged and the recorder carries on: a full disk must not stop the
/// line monitor, and the next write may succeed.
pub fn spawn_recorder(
    handle: &MonitorHandle,
    mut history: History,
    retention: Retention,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let mut checks = handle.subscribe_checks();
    let mut changes = handle.subscribe();
    let (tx, rx) = mpsc::channel::<Entry>();
    let writer = std::thread::Builder::new()
        .name("dialtone-history".into())
        .spawn(move || {
            let mut last_prune: Option<Instant> = None;
            for entry in rx {
                let result = match &entry {
                    Entry::Check(d) => history.record_check(d).map(drop),
                    Entry::Change(c) => history.record_change(c).map(drop),
                };
                if let Err(e) = result {
                    tracing::warn!("{e}");
                }
                if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                    if let Err(e) = history.prune(Utc::now(), &retention) {
                        tracing::warn!("{e}");
                    }
                    last_prune = Some(Instant::now());
                }
            }
        });
    let writer = match writer {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("cannot start the history writer thread: {e}; history is not recorded");
            None
        }
    };
    tokio::spawn(async move {
        loop {
            let (received, what) = tokio::select! {
                _ = shutdown.cancelled() => break,
                check = checks.recv() => (check.map(|d| Entry::Check(Box::new(d))), "checks"),
                change = changes.recv() => {
                    (change.map(|c| Entry::Change(Box::new(c))), "verdict changes")
                }
            };
            let entry = match received {
                Ok(entry) => entry,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("history missed {n} {what}");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            if tx.send(entry).is_err() {
                break;
            }
        }
        drop(tx);
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    })
}
