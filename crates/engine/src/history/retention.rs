//! How long the history keeps what: raw checks are pruned after a while, episodes (the
//! customer's evidence) are kept forever unless a retention says otherwise.

use super::{ms, sqlite_failure, History, HistoryError};
use chrono::{DateTime, Utc};
use rusqlite::{params, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Raw checks (and verdict changes outside any episode) older than this are deleted.
    #[serde(with = "secs")]
    pub checks: Duration,
    /// Closed episodes that ended longer ago than this are deleted with their reports and
    /// posts; `None` keeps them forever (the default: they are the customer's evidence).
    #[serde(with = "opt_secs")]
    pub episodes: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            checks: Duration::from_secs(30 * 24 * 3600),
            episodes: None,
        }
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|v| v.map(Duration::from_secs))
    }
}

/// What [`History::prune`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    /// Raw checks deleted.
    pub checks: usize,
    /// Episodes deleted.
    pub episodes: usize,
}

fn cutoff(now: DateTime<Utc>, age: Duration) -> i64 {
    let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    ms(now).saturating_sub(age_ms)
}

impl History {
    /// Deletes what is older than the retention allows, relative to `now`. Open episodes are
    /// never deleted.
    pub fn prune(
        &mut self,
        now: DateTime<Utc>,
        retention: &Retention,
    ) -> Result<Pruned, HistoryError> {
        // Not `self.err`: the transaction below borrows the connection mutably.
        let fail = sqlite_failure("pruning old history", self.path.clone());
        let checks_before = cutoff(now, retention.checks);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        let checks = tx
            .execute("DELETE FROM checks WHERE at < ?1", params![checks_before])
            .map_err(&fail)?;
        // Changes that belong to no episode (healthy ↔ degraded) are as raw as checks.
        tx.execute(
            "DELETE FROM verdict_changes WHERE at < ?1 AND episode_id IS NULL",
            params![checks_before],
        )
        .map_err(&fail)?;
        let episodes = match retention.episodes {
            None => 0,
            Some(age) => {
                let before = cutoff(now, age);
                tx.execute(
                    "DELETE FROM verdict_changes WHERE episode_id IN
                         (SELECT id FROM episodes WHERE end IS NOT NULL AND end < ?1)",
                    params![before],
                )
                .map_err(&fail)?;
                tx.execute(
                    "DELETE FROM episodes WHERE end IS NOT NULL AND end < ?1",
                    params![before],
                )
                .map_err(&fail)?
            }
        };
        tx.commit().map_err(fail)?;
        Ok(Pruned { checks, episodes })
    }
}
