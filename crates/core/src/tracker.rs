//! Hysteresis: turns a stream of raw diagnoses into confirmed verdict changes. Pure: no I/O, no
//! clock of its own (the monitor passes the times in), so every rule is unit-testable.
//!
//! The rules:
//! - A *streak* is a run of consecutive raw results on the same side of the confirmed verdict:
//!   all worse than it, or all better than it (by [`Verdict::severity`]). From the initial
//!   `Unknown` there is no "worse" or "better", so there the sides are "line works"
//!   (healthy/degraded) and "line fails".
//! - A result equal to the confirmed verdict re-confirms it (its diagnosis becomes the confirmed
//!   one) and ends any streak: the change did not hold.
//! - A result on the other side ends the streak and starts a new one (bad, good, bad never
//!   confirms anything).
//! - A raw `Unknown` ("nothing could be judged", e.g. no provider configured) is no evidence
//!   either way: it is never confirmed, never raises an alarm, and ends any streak, because the
//!   results around it are no longer consecutive.
//! - When a streak reaches `confirmations` results, the verdict confirmed is the one every
//!   result of the streak supports: the least severe of a worsening (or, from `Unknown`,
//!   failing) streak, the most severe of a recovering one. Because diagnosis
//!   blames the lowest failing layer, a more severe verdict implies the less severe ones (a
//!   dead internet makes the provider unreachable too). So one stray `LocalProblem` among
//!   `ProviderOutage`s cannot blame the home network, and `InternetDown, Healthy` does not
//!   announce a full recovery on one good result.
//! - Results of the streak after the last one with the confirmed verdict (the `InternetDown`
//!   in `Degraded, InternetDown`) are not thrown away: they open the next streak, so the monitor
//!   keeps re-checking fast and the worse verdict can be confirmed by one more result.
//! - Exception: from the initial `Unknown`, the first *working* result (healthy or degraded) is
//!   confirmed at once, as a streak of one (the user sees "your line works" within a second of
//!   starting; nothing alarming is claimed). Failing results from `Unknown` still need
//!   `confirmations` of them, so a failing result followed by a working one confirms the
//!   working one, with `since` = that working result. Once a verdict is confirmed the
//!   confirmed verdict is never `Unknown` again, so every later change needs `confirmations`.
//! - `since` of a confirmed verdict is the time of the first result of the streak that confirmed
//!   it (when the trouble, or the recovery, was first seen), so a recovery's `from_since` gives
//!   the outage's real length; `at` is when it was confirmed.

use crate::diagnosis::Diagnosis;
use crate::schedule::VerdictChanged;
use crate::verdict::Verdict;
use chrono::{DateTime, Utc};

/// Where a raw result lies relative to the confirmed verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// More severe than the confirmed verdict.
    Worse,
    /// Less severe than the confirmed verdict (a recovery, full or partial).
    Better,
    /// From `Unknown`: the line works (healthy or degraded).
    Working,
    /// From `Unknown`: the line fails.
    Failing,
}

impl Side {
    /// The side of `raw` relative to `confirmed`; `None` when it is no evidence of change
    /// (equal, or a raw `Unknown`).
    fn of(confirmed: Verdict, raw: Verdict) -> Option<Side> {
        if raw == Verdict::Unknown || raw == confirmed {
            return None;
        }
        Some(if confirmed == Verdict::Unknown {
            if raw.is_working() {
                Side::Working
            } else {
                Side::Failing
            }
        } else if raw.severity() > confirmed.severity() {
            Side::Worse
        } else {
            Side::Better
        })
    }
}

/// One result of an open streak.
#[derive(Debug, Clone)]
struct Entry {
    diagnosis: Diagnosis,
    at: DateTime<Utc>,
}

/// The hysteresis state: the confirmed verdict and the streak that may change it.
#[derive(Debug, Clone)]
pub struct Tracker {
    confirmations: usize,
    confirmed: Verdict,
    since: DateTime<Utc>,
    diagnosis: Option<Diagnosis>,
    side: Option<Side>,
    streak: Vec<Entry>,
}

impl Tracker {
    /// Starts at `Unknown` since `started`. `confirmations` below 1 is treated as 1 (every
    /// change confirms at once): zero results cannot confirm anything.
    pub fn new(confirmations: u32, started: DateTime<Utc>) -> Self {
        Tracker {
            confirmations: usize::try_from(confirmations.max(1)).unwrap_or(usize::MAX),
            confirmed: Verdict::Unknown,
            since: started,
            diagnosis: None,
            side: None,
            streak: Vec::new(),
        }
    }

    /// The confirmed verdict.
    pub fn confirmed(&self) -> Verdict {
        self.confirmed
    }

    /// Since when the confirmed verdict holds.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// The diagnosis that confirmed or last re-confirmed the verdict.
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        self.diagnosis.as_ref()
    }

    /// Whether a change is being confirmed (the monitor re-checks faster then).
    pub fn is_pending(&self) -> bool {
        !self.streak.is_empty()
    }

    /// Forgets the open streak: after a network change or a wake from sleep the results it
    /// holds describe a network that is gone, so they must not complete a confirmation.
    pub fn discard_streak(&mut self) {
        self.side = None;
        self.streak.clear();
    }

    /// Feeds one raw result taken at `at`; `now` is the time of confirmation. Returns the
    /// change when this result confirms one.
    pub fn observe(
        &mut self,
        diagnosis: Diagnosis,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<VerdictChanged> {
        let raw = diagnosis.verdict;
        let Some(side) = Side::of(self.confirmed, raw) else {
            if raw == self.confirmed {
                self.diagnosis = Some(diagnosis);
            }
            self.discard_streak();
            return None;
        };
        if self.side != Some(side) {
            self.discard_streak();
            self.side = Some(side);
        }
        self.streak.push(Entry { diagnosis, at });
        // From the initial `Unknown`, a working line is shown at once: there is no alarm to be
        // wrong about, and a user who just started dialtone wants an answer within a second.
        // Failures still need their confirmations.
        let needed = if side == Side::Working {
            1
        } else {
            self.confirmations
        };
        if self.streak.len() < needed {
            return None;
        }
        self.confirm(side, now)
    }

    /// Confirms the verdict the whole streak supports; results after it open the next streak.
    fn confirm(&mut self, side: Side, now: DateTime<Utc>) -> Option<VerdictChanged> {
        let severities = self.streak.iter().map(|e| e.diagnosis.verdict.severity());
        let supported = match side {
            Side::Better | Side::Working => severities.max(),
            Side::Worse | Side::Failing => severities.min(),
        }?;
        let since = self.streak.first()?.at;
        // The latest result with the chosen verdict is the freshest evidence for it.
        let index = self
            .streak
            .iter()
            .rposition(|e| e.diagnosis.verdict.severity() == supported)?;
        let mut streak = std::mem::take(&mut self.streak);
        let beyond = streak.split_off(index + 1);
        let entry = streak.pop()?;
        self.discard_streak();
        let change = VerdictChanged {
            from: self.confirmed,
            to: entry.diagnosis.verdict,
            from_since: self.since,
            since,
            at: now,
            diagnosis: entry.diagnosis.clone(),
        };
        self.confirmed = entry.diagnosis.verdict;
        self.since = since;
        self.diagnosis = Some(entry.diagnosis);
        // Fewer than `confirmations` results lie beyond the chosen one (it belongs to a full
        // streak), so replaying them cannot confirm again.
        for later in beyond {
            let _ = self.observe(later.diagnosis, later.at, now);
        }
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    fn diag(verdict: Verdict) -> Diagnosis {
        Diagnosis {
            verdict,
            failing_layer: None,
            layers: Vec::new(),
            bindings: None,
            router: None,
            provider_name: None,
            checked_at: t(0),
        }
    }

    /// Feeds verdicts at t = 10, 20, 30 ... and returns the confirmed verdict after each.
    fn run(tracker: &mut Tracker, verdicts: &[Verdict]) -> Vec<Verdict> {
        verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let at = t(10 * (i as i64 + 1));
                tracker.observe(diag(*v), at, at);
                tracker.confirmed()
            })
            .collect()
    }

    use Verdict::*;

    #[test]
    fn start_confirms_a_working_result_at_once_and_a_failing_one_after_two() {
        let working = Verdict::ALL.into_iter().filter(|v| v.is_working());
        for verdict in working {
            let mut tr = Tracker::new(2, t(0));
            let change = tr.observe(diag(verdict), t(10), t(11));
            let change = change.unwrap_or_else(|| panic!("{verdict} confirms at once"));
            assert_eq!((change.from, change.to), (Unknown, verdict));
            assert_eq!(change.from_since, t(0), "unknown since the start");
            assert_eq!(change.since, t(10), "since = at of the working result");
            assert_eq!(change.at, t(11));
            assert_eq!((tr.confirmed(), tr.since()), (verdict, t(10)));
            assert_eq!(tr.diagnosis().map(|d| d.verdict), Some(verdict));
            assert!(!tr.is_pending(), "nothing left to confirm");
        }
        let failing = Verdict::ALL
            .into_iter()
            .filter(|v| !v.is_working() && *v != Unknown);
        for verdict in failing {
            let mut tr = Tracker::new(2, t(0));
            assert!(
                tr.observe(diag(verdict), t(10), t(11)).is_none(),
                "one {verdict} result does not confirm"
            );
            assert_eq!(tr.confirmed(), Unknown);
            assert!(tr.is_pending(), "the {verdict} result opens a streak");
            let change = tr.observe(diag(verdict), t(20), t(21));
            let change = change.unwrap_or_else(|| panic!("two {verdict} results confirm"));
            assert_eq!((change.from, change.to), (Unknown, verdict));
            assert_eq!(change.from_since, t(0));
            assert_eq!(change.since, t(10), "since = first result of the streak");
            assert_eq!(change.at, t(21));
            assert_eq!(tr.confirmed(), verdict);
        }
    }

    #[test]
    fn start_failure_then_working_result_confirms_the_working_one_at_once() {
        let mut tr = Tracker::new(2, t(0));
        assert_eq!(
            run(&mut tr, &[ProviderOutage, Healthy, Healthy]),
            [Unknown, Healthy, Healthy]
        );
        assert_eq!(
            tr.since(),
            t(20),
            "since = the working result, not the failure before it"
        );
        assert!(!tr.is_pending());
    }

    #[test]
    fn start_failure_streak_is_broken_by_a_raw_unknown() {
        let mut tr = Tracker::new(2, t(0));
        assert_eq!(
            run(&mut tr, &[ProviderOutage, Unknown, ProviderOutage]),
            [Unknown, Unknown, Unknown]
        );
        assert_eq!(run(&mut tr, &[ProviderOutage]), [ProviderOutage]);
        assert_eq!(tr.since(), t(30), "since = the failure after the unknown");
    }

    #[test]
    fn worsening_streak_confirms_the_nearest_verdict() {
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[Healthy, Healthy]);
        assert_eq!(
            run(&mut tr, &[LocalProblem, ProviderOutage]),
            [Healthy, ProviderOutage]
        );
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[Healthy, Healthy]);
        assert_eq!(run(&mut tr, &[InternetDown, Degraded]), [Healthy, Degraded]);
        assert!(!tr.is_pending(), "nothing lies beyond the Degraded result");
    }

    #[test]
    fn results_beyond_the_confirmed_verdict_open_the_next_streak() {
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[Healthy, Healthy]);
        assert_eq!(run(&mut tr, &[Degraded, InternetDown]), [Healthy, Degraded]);
        assert!(tr.is_pending(), "the InternetDown result opens a streak");
        assert_eq!(run(&mut tr, &[InternetDown]), [InternetDown]);
        assert_eq!(
            tr.since(),
            t(20),
            "since = the InternetDown that opened the streak"
        );
    }

    #[test]
    fn after_a_start_confirmed_at_once_changes_need_the_usual_confirmations() {
        let mut tr = Tracker::new(2, t(0));
        assert_eq!(run(&mut tr, &[Degraded, Healthy]), [Degraded, Degraded]);
        assert!(
            tr.is_pending(),
            "the Healthy result opens a recovery streak"
        );
        assert_eq!(run(&mut tr, &[Healthy]), [Healthy]);
        assert_eq!(tr.since(), t(20), "since = the first Healthy of the streak");
        let mut tr = Tracker::new(2, t(0));
        assert_eq!(
            run(&mut tr, &[Healthy, ProviderOutage, ProviderOutage]),
            [Healthy, Healthy, ProviderOutage]
        );
    }

    #[test]
    fn recovery_streak_confirms_the_worst_of_its_results() {
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[InternetDown, InternetDown]);
        assert_eq!(run(&mut tr, &[Healthy, Degraded]), [InternetDown, Degraded]);
    }

    #[test]
    fn unknown_breaks_a_streak_and_is_never_confirmed() {
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[Healthy, Healthy]);
        assert_eq!(
            run(
                &mut tr,
                &[ProviderOutage, Unknown, ProviderOutage, Unknown, Unknown]
            ),
            [Healthy; 5]
        );
        assert!(!tr.is_pending());
    }

    #[test]
    fn equal_result_reconfirms_and_updates_the_diagnosis() {
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[Healthy, Healthy]);
        let mut later = diag(Healthy);
        later.checked_at = t(99);
        tr.observe(later, t(99), t(99));
        assert_eq!(tr.diagnosis().map(|d| d.checked_at), Some(t(99)));
        assert_eq!(tr.since(), t(10), "re-confirming does not move since");
    }

    #[test]
    fn change_carries_from_since_and_at() {
        let mut tr = Tracker::new(2, t(0));
        run(&mut tr, &[Healthy, Healthy]);
        assert!(tr.observe(diag(ProviderOutage), t(30), t(31)).is_none());
        let change = tr.observe(diag(ProviderOutage), t(40), t(41)).unwrap();
        assert_eq!((change.from, change.to), (Healthy, ProviderOutage));
        assert_eq!(change.from_since, t(10));
        assert_eq!(change.at, t(41));
        assert_eq!(tr.since(), t(30));
    }

    #[test]
    fn zero_confirmations_means_one() {
        let mut tr = Tracker::new(0, t(0));
        assert_eq!(
            run(&mut tr, &[Healthy, LocalProblem]),
            [Healthy, LocalProblem]
        );
    }
}
