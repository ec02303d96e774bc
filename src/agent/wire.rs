//! Every mapping from the agent's domain types to the IPC wire: channels, settings, history
//! points and outages, episodes and feeds. Storage and the engine know nothing of the wire;
//! the handler answers with what this module builds.

use crate::outage_log;
use chrono::{DateTime, TimeDelta, Utc};
use dialtone_core::catalog::Channel;
use dialtone_core::config::Config;
use dialtone_engine::feed::PolledFeed;
use dialtone_engine::history::{Episode, History, HistoryError};
use dialtone_ipc::protocol::{
    AccountSettings, Bilingual, ChannelView, EpisodeView, EpisodesReply, FeedView, HistoryReply,
    OutageView, Settings, MAX_EPISODES,
};
use std::time::Instant;

/// A catalog channel as the wire carries it.
pub(crate) fn channel_view(channel: &Channel) -> ChannelView {
    ChannelView {
        kind: channel.kind,
        label: channel.label.clone(),
        label_de: channel.label_de.clone(),
        url: channel.url.clone(),
    }
}

/// The settings a config stands for (`password_stored` is filled in by the caller). With
/// `[[line]]` tables only the shared settings: each line's provider and account live in the
/// config file, and the form says so (`lines_in_config`).
pub(crate) fn settings_from(config: &Config, start_at_login: bool) -> Settings {
    let lines_in_config = config.has_line_tables();
    Settings {
        provider: config.provider.clone().filter(|_| !lines_in_config),
        account: config
            .account
            .as_ref()
            .filter(|_| !lines_in_config)
            .map(|a| AccountSettings {
                registrar: a.registrar.clone(),
                user: a.user.clone(),
                auth_user: a.auth_user.clone(),
                domain: a.domain.clone(),
                transport: a.transport,
            }),
        interval_secs: config.schedule.interval_secs,
        recheck_secs: config.schedule.recheck_secs,
        account_interval_secs: config.schedule.account_interval_secs,
        notifications: config.desktop.notifications,
        language: config.desktop.language,
        start_at_login,
        password_stored: false,
        lines_in_config,
    }
}

/// Writes `settings` into `config`, keeping what the settings do not cover (the password's
/// environment variable and CA file of the same registrar, the network, thresholds, the
/// number of confirmations). With `[[line]]` tables the lines' providers and accounts stay as
/// the file has them: the form edits only the shared settings then.
pub(crate) fn apply_settings(config: &mut Config, settings: &Settings) {
    if !config.has_line_tables() {
        apply_account(config, settings);
    }
    let schedule = settings.schedule();
    config.schedule.interval_secs = schedule.interval_secs;
    config.schedule.recheck_secs = schedule.recheck_secs;
    config.schedule.account_interval_secs = schedule.account_interval_secs;
    config.desktop.notifications = settings.notifications;
    config.desktop.language = settings.language;
}

/// The provider and account part of [`apply_settings`].
fn apply_account(config: &mut Config, settings: &Settings) {
    config.provider = settings.provider.clone();
    let old = config.account.take();
    config.account = settings.account_config().map(|mut account| {
        if let Some(old) = old.filter(|old| old.registrar == account.registrar) {
            account.password_env = old.password_env;
            account.ca_file = old.ca_file;
        }
        account
    });
}

/// An episode as the timeline marks it.
pub(crate) fn outage_view(episode: &Episode) -> OutageView {
    OutageView {
        id: episode.id,
        failing_layer: episode.failing_layer,
        verdict: episode.verdict,
        start: episode.start,
        end: episode.end,
    }
}

/// An episode as the dashboard's Outages view shows it; an open one has lasted until `now`.
pub(crate) fn episode_view(episode: &Episode, now: DateTime<Utc>) -> EpisodeView {
    EpisodeView {
        id: episode.id,
        verdict: episode.verdict,
        failing_layer: episode.failing_layer,
        start: episode.start,
        end: episode.end,
        duration_secs: episode.duration(now).num_seconds(),
        evidence: Bilingual::render(|lang| outage_log::evidence_text(episode, lang)),
        reports: episode.reports.clone(),
        posts: episode
            .status_posts
            .iter()
            .map(|seen| seen.post.clone())
            .collect(),
    }
}

/// Checks and outages of the `hours` hours before `now`.
pub(crate) fn history_reply(
    history: &History,
    now: DateTime<Utc>,
    hours: u32,
) -> Result<HistoryReply, HistoryError> {
    let since = now - TimeDelta::hours(i64::from(hours));
    Ok(HistoryReply {
        available: true,
        hours,
        points: history.points(since)?,
        outages: history.episodes(since)?.iter().map(outage_view).collect(),
    })
}

/// The episodes of the last `days` days before `now`, newest [`MAX_EPISODES`] at most.
pub(crate) fn episodes_reply(
    history: &History,
    days: u32,
    now: DateTime<Utc>,
) -> Result<EpisodesReply, HistoryError> {
    let since = now - TimeDelta::days(i64::from(days));
    let mut episodes = history.episodes(since)?;
    let truncated = episodes.len() > MAX_EPISODES;
    if truncated {
        episodes.drain(..episodes.len() - MAX_EPISODES);
    }
    Ok(EpisodesReply {
        available: true,
        days,
        episodes: episodes.iter().map(|e| episode_view(e, now)).collect(),
        truncated,
    })
}

/// One polled feed as the dashboard shows it; `now` and `wall_now` date the last fetch.
pub(crate) fn feed_view(feed: &PolledFeed, now: Instant, wall_now: DateTime<Utc>) -> FeedView {
    FeedView {
        url: feed.feed.url.clone(),
        kind: format!("{:?}", feed.feed.kind).to_lowercase(),
        fetched_at: feed
            .last_poll
            .filter(|_| feed.error.is_none() && feed.snapshot.is_some())
            .map(|t| wall_now - TimeDelta::from_std(now - t).unwrap_or_default()),
        problem: feed.error.as_ref().map(|e| e.problem.to_string()),
        indicator: feed
            .snapshot
            .as_ref()
            .and_then(|s| s.indicator)
            .map(|i| format!("{i:?}").to_lowercase()),
        posts: feed
            .snapshot
            .as_ref()
            .map(|s| s.posts.clone())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::{self, diagnosis};
    use chrono::TimeZone;
    use dialtone_core::verdict::{Layer, Verdict};
    use dialtone_engine::monitor::VerdictChanged;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
    }

    /// A confirmed change to `to` at `at`; an outage blames the provider.
    fn change(from: Verdict, to: Verdict, at: DateTime<Utc>) -> VerdictChanged {
        let mut d = diagnosis(to, None, at);
        d.failing_layer = (to == Verdict::ProviderOutage).then_some(Layer::Provider);
        test_support::change(from, to, at - TimeDelta::minutes(5), at, d)
    }

    #[test]
    fn history_reply_carries_points_and_overlapping_outages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite3");
        let mut history = History::open(&path).unwrap();
        let now = t(12, 0);
        history
            .record_check(&diagnosis(
                Verdict::Healthy,
                None,
                now - TimeDelta::hours(30),
            ))
            .unwrap();
        history
            .record_check(&diagnosis(
                Verdict::Healthy,
                None,
                now - TimeDelta::hours(1),
            ))
            .unwrap();
        // Began before the window, ended inside it: overlaps, so it is shown.
        history
            .record_change(&change(
                Verdict::Healthy,
                Verdict::ProviderOutage,
                now - TimeDelta::hours(26),
            ))
            .unwrap();
        history
            .record_change(&change(
                Verdict::ProviderOutage,
                Verdict::Healthy,
                now - TimeDelta::hours(20),
            ))
            .unwrap();
        let reply = history_reply(&history, now, 24).unwrap();
        assert!(reply.available);
        assert_eq!(reply.hours, 24);
        assert_eq!(reply.points.len(), 1);
        assert_eq!(
            reply.outages,
            vec![OutageView {
                id: reply.outages[0].id,
                failing_layer: Some(Layer::Provider),
                verdict: Verdict::ProviderOutage,
                start: now - TimeDelta::hours(26),
                end: Some(now - TimeDelta::hours(20)),
            }]
        );
    }
}
