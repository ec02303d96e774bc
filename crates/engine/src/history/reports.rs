//! What was said about an episode: the user's fault reports to the provider and the provider's
//! own status posts seen while it lasted.

use super::{ms, History, HistoryError};
use chrono::{DateTime, Utc};
use dialtone_core::outage::FaultReport;
use dialtone_core::status_post::StatusPost;
use rusqlite::params;

impl History {
    /// Attaches the user's fault report to an episode; returns the report's id.
    pub fn attach_report(
        &self,
        episode_id: i64,
        report: &FaultReport,
    ) -> Result<i64, HistoryError> {
        const OP: &str = "attaching a fault report";
        self.require_episode(episode_id, OP)?;
        self.conn
            .execute(
                "INSERT INTO fault_reports (episode_id, reported_at, channel, ticket, note, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    episode_id,
                    ms(report.reported_at),
                    report.channel,
                    report.ticket,
                    report.note,
                    ms(Utc::now()),
                ],
            )
            .map_err(self.err(OP))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Attaches a provider status post seen during an episode. The same post seen again (every
    /// poll sees it) is stored once; returns whether it was new.
    pub fn attach_status_post(
        &self,
        episode_id: i64,
        feed_url: &str,
        post: &StatusPost,
        seen_at: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        const OP: &str = "attaching a status post";
        self.require_episode(episode_id, OP)?;
        // `IS` rather than `=`, and no reliance on the UNIQUE constraint alone: posts without a
        // date have a NULL `published`, and NULLs never collide in a UNIQUE index.
        let inserted = self
            .conn
            .execute(
                "INSERT INTO status_posts (episode_id, feed_url, title, published, link, seen_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE NOT EXISTS (SELECT 1 FROM status_posts
                     WHERE episode_id = ?1 AND feed_url = ?2 AND title = ?3 AND published IS ?4)",
                params![
                    episode_id,
                    feed_url,
                    post.title,
                    post.published.map(ms),
                    post.link,
                    ms(seen_at),
                ],
            )
            .map_err(self.err(OP))?;
        Ok(inserted > 0)
    }
}
