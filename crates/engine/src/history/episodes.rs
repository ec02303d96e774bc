//! Outage episodes: opened, continued and closed by confirmed verdict changes, and read back
//! with everything attached to them.
//!
//! An episode opens on a confirmed change to an *outage* verdict (not working and not
//! [`Verdict::Unknown`]) and closes on the next confirmed change to a working verdict. Decisions:
//! - A change from one outage verdict to another (provider outage → account problem) keeps the
//!   one episode: for the customer the line stayed dead, and splitting it would cut the
//!   calendar days a compensation claim counts. The episode keeps the verdict and evidence it
//!   opened with; every verdict it went through is listed in [`Episode::verdicts`].
//! - A change to `Unknown` (paused, asleep) neither opens nor closes: nobody knows the line
//!   recovered. An episode open when the app stops stays open, and the next confirmed change
//!   closes it (to a working verdict) or continues it (to an outage verdict).
//! - An episode starts at the change's `since` (the first failing check, not the moment it
//!   was confirmed) and ends at the recovering change's `since` (the first good check).
//!
//! [`Verdict::Unknown`]: dialtone_core::verdict::Verdict::Unknown

use super::{ms, sqlite_failure, verdict_from, History, HistoryError};
use crate::monitor::VerdictChanged;
use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::LayerReport;
use dialtone_core::outage::{Episode, Evidence, FaultReport, SeenStatusPost};
use dialtone_core::status_post::StatusPost;
use dialtone_core::verdict::Layer;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// What [`History::record_change`] did to the episodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeEffect {
    /// A new episode was opened.
    Opened(i64),
    /// The open episode goes on (outage → other outage verdict, or → unknown).
    Continued(i64),
    /// The open episode was closed.
    Closed(i64),
    /// No episode is involved (e.g. healthy → degraded).
    None,
}

impl EpisodeEffect {
    /// The episode concerned, if any.
    pub fn episode_id(self) -> Option<i64> {
        match self {
            EpisodeEffect::Opened(id)
            | EpisodeEffect::Continued(id)
            | EpisodeEffect::Closed(id) => Some(id),
            EpisodeEffect::None => None,
        }
    }
}

fn layer_from(name: &str) -> Option<Layer> {
    Layer::ALL.into_iter().find(|l| l.as_str() == name)
}

struct RawEpisode {
    id: i64,
    start: i64,
    end: Option<i64>,
    verdict: String,
    failing_layer: Option<String>,
    evidence: String,
}

impl RawEpisode {
    /// Reads a row selected as `id, start, end, verdict, failing_layer, evidence`.
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEpisode> {
        Ok(RawEpisode {
            id: row.get(0)?,
            start: row.get(1)?,
            end: row.get(2)?,
            verdict: row.get(3)?,
            failing_layer: row.get(4)?,
            evidence: row.get(5)?,
        })
    }
}

impl History {
    /// Records a confirmed verdict change and opens, continues or closes the outage episode
    /// (see the module docs for the rules).
    pub fn record_change(
        &mut self,
        change: &VerdictChanged,
    ) -> Result<EpisodeEffect, HistoryError> {
        // Immediate transactions take the write lock up front, so two writers queue on the busy
        // timeout instead of deadlocking; a writer that still finds the database busy after it
        // (a long `log report` or export next to the agent) gets one more try.
        match self.record_change_once(change) {
            Err(e) if e.is_busy() => {
                tracing::warn!("{e}; trying once more");
                self.record_change_once(change)
            }
            other => other,
        }
    }

    fn record_change_once(
        &mut self,
        change: &VerdictChanged,
    ) -> Result<EpisodeEffect, HistoryError> {
        // Not `self.err`: the transaction below borrows the connection mutably.
        let fail = sqlite_failure("recording a verdict change", self.path.clone());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM episodes WHERE end IS NULL ORDER BY start DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(&fail)?;
        let at = ms(change.at);
        // Episodes run from the first failing check to the first good one, not between the
        // confirmations: that is when the line really stopped and came back.
        let since = ms(change.since);
        let effect = if change.to.is_outage() {
            match open {
                Some(id) => EpisodeEffect::Continued(id),
                None => {
                    let evidence = serde_json::to_string(&change.diagnosis.layers)
                        .unwrap_or_else(|_| "[]".to_string());
                    tx.execute(
                        "INSERT INTO episodes (start, end, verdict, failing_layer, evidence)
                         VALUES (?1, NULL, ?2, ?3, ?4)",
                        params![
                            since,
                            change.to.as_str(),
                            change.diagnosis.failing_layer.map(Layer::as_str),
                            evidence
                        ],
                    )
                    .map_err(&fail)?;
                    EpisodeEffect::Opened(tx.last_insert_rowid())
                }
            }
        } else if change.to.is_working() {
            match open {
                Some(id) => {
                    // Close every open episode, not only the newest: there should be one, but
                    // a hand-edited file must not keep a phantom outage open forever. A clock
                    // that jumped back must not produce a negative duration.
                    tx.execute(
                        "UPDATE episodes SET end = MAX(start, ?1) WHERE end IS NULL",
                        params![since],
                    )
                    .map_err(&fail)?;
                    EpisodeEffect::Closed(id)
                }
                None => EpisodeEffect::None,
            }
        } else {
            open.map_or(EpisodeEffect::None, EpisodeEffect::Continued)
        };
        tx.execute(
            "INSERT INTO verdict_changes (at, from_verdict, to_verdict, from_since, failing_layer, episode_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                at,
                change.from.as_str(),
                change.to.as_str(),
                ms(change.from_since),
                change.diagnosis.failing_layer.map(Layer::as_str),
                effect.episode_id(),
            ],
        )
        .map_err(&fail)?;
        tx.commit().map_err(fail)?;
        Ok(effect)
    }

    /// The open episode's id, if one is open.
    pub fn open_episode(&self) -> Result<Option<i64>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id FROM episodes WHERE end IS NULL ORDER BY start DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err("looking up the open episode"))
    }

    /// Episodes that overlap `since ..`: still open, or ended at or after `since`. Oldest first.
    pub fn episodes(&self, since: DateTime<Utc>) -> Result<Vec<Episode>, HistoryError> {
        let raw = self.rows(
            "reading episodes",
            "SELECT id, start, end, verdict, failing_layer, evidence FROM episodes
                 WHERE end IS NULL OR end >= ?1 ORDER BY start, id",
            params![ms(since)],
            RawEpisode::read,
        )?;
        raw.into_iter().map(|raw| self.load_episode(raw)).collect()
    }

    /// One episode by id.
    pub fn episode(&self, id: i64) -> Result<Episode, HistoryError> {
        let raw = self
            .conn
            .query_row(
                "SELECT id, start, end, verdict, failing_layer, evidence FROM episodes WHERE id = ?1",
                params![id],
                RawEpisode::read,
            )
            .optional()
            .map_err(self.err("reading an episode"))?
            .ok_or_else(|| HistoryError::NoSuchEpisode {
                path: self.path.clone(),
                id,
            })?;
        self.load_episode(raw)
    }

    fn load_episode(&self, raw: RawEpisode) -> Result<Episode, HistoryError> {
        const OP: &str = "reading episodes";
        let verdict = verdict_from(&raw.verdict)
            .ok_or_else(|| self.corrupt(OP, "episodes.verdict", &raw.verdict))?;
        let failing_layer = match raw.failing_layer.as_deref() {
            None => None,
            Some(name) => Some(
                layer_from(name).ok_or_else(|| self.corrupt(OP, "episodes.failing_layer", name))?,
            ),
        };
        let evidence = match serde_json::from_str::<Vec<LayerReport>>(&raw.evidence) {
            Ok(layers) => Evidence::Layers { layers },
            Err(_) => Evidence::Unreadable { json: raw.evidence },
        };

        let changes = self.rows(
            OP,
            "SELECT to_verdict FROM verdict_changes WHERE episode_id = ?1 ORDER BY at, id",
            params![raw.id],
            |row| row.get::<_, String>(0),
        )?;
        let mut verdicts = vec![verdict];
        for name in changes {
            let v = verdict_from(&name)
                .ok_or_else(|| self.corrupt(OP, "verdict_changes.to_verdict", &name))?;
            if v.is_outage() && verdicts.last() != Some(&v) {
                verdicts.push(v);
            }
        }

        let reports = self
            .rows(
                OP,
                "SELECT reported_at, channel, ticket, note FROM fault_reports
                 WHERE episode_id = ?1 ORDER BY reported_at, id",
                params![raw.id],
                |row| <(i64, String, Option<String>, Option<String>)>::try_from(row),
            )?
            .into_iter()
            .map(|(at, channel, ticket, note)| {
                Ok(FaultReport {
                    reported_at: self.time(OP, "fault_reports.reported_at", at)?,
                    channel,
                    ticket,
                    note,
                })
            })
            .collect::<Result<Vec<_>, HistoryError>>()?;

        let status_posts = self
            .rows(
                OP,
                "SELECT feed_url, title, published, link, seen_at FROM status_posts
                 WHERE episode_id = ?1 ORDER BY seen_at, id",
                params![raw.id],
                |row| <(String, String, Option<i64>, Option<String>, i64)>::try_from(row),
            )?
            .into_iter()
            .map(|(feed_url, title, published, link, seen_at)| {
                Ok(SeenStatusPost {
                    feed_url,
                    post: StatusPost {
                        title,
                        published: published
                            .map(|p| self.time(OP, "status_posts.published", p))
                            .transpose()?,
                        link,
                    },
                    seen_at: self.time(OP, "status_posts.seen_at", seen_at)?,
                })
            })
            .collect::<Result<Vec<_>, HistoryError>>()?;

        Ok(Episode {
            id: raw.id,
            start: self.time(OP, "episodes.start", raw.start)?,
            end: raw
                .end
                .map(|end| self.time(OP, "episodes.end", end))
                .transpose()?,
            verdict,
            failing_layer,
            verdicts,
            evidence,
            reports,
            status_posts,
        })
    }

    pub(super) fn require_episode(&self, id: i64, op: &'static str) -> Result<(), HistoryError> {
        let found = self
            .conn
            .query_row("SELECT 1 FROM episodes WHERE id = ?1", params![id], |_| {
                Ok(())
            })
            .optional()
            .map_err(self.err(op))?;
        found.ok_or_else(|| HistoryError::NoSuchEpisode {
            path: self.path.clone(),
            id,
        })
    }
}
