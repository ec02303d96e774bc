//! One generation of the line: a monitor with a fresh [`LineProber`], its history recorder,
//! network watcher, status-feed poller and the presenter pump that feeds the agent. A settings
//! change stops the generation (its own token) and starts the next; the agent outlives both.

use super::{lock, Agent, AgentError};
use crate::catalog::{Catalog, Feed, Provider, Registrar};
use crate::cli::overrides::{password_for, SetupError};
use crate::config::{AccountConfig, Config};
use crate::feed::{FeedPoller, FetchLimits, StatusPost, HEALTHY_INTERVAL};
use crate::ipc::protocol::{FeedView, FeedsReply, PostView};
use crate::monitor::MonitorHandle;
use crate::probe::line::{LineProber, LineSettings};
use chrono::Utc;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Everything a generation needs, worked out off the async workers (the keyring blocks).
pub struct Prepared {
    /// The probes' settings.
    pub settings: LineSettings,
    /// The config in force, with the provider's registrar filled in.
    pub config: Config,
    /// Whether a provider or registrar is configured at all.
    pub configured: bool,
    /// The provider, when chosen or recognised from the registrar.
    pub provider: Option<Provider>,
    /// Its status feeds.
    pub feeds: Vec<Feed>,
}

/// The registrar to use for a provider chosen without an account: the first concrete one in
/// its catalog entry (wildcards stand for regional hosts and cannot be dialled).
pub fn catalog_registrar(provider: &Provider) -> Option<String> {
    let r: &Registrar = provider
        .registrars
        .iter()
        .find(|r| !r.host.starts_with("*."))?;
    let host = &r.host;
    Some(match (r.port, r.transport) {
        (None, None) => host.clone(),
        (port, Some(crate::observation::Transport::Tls)) => {
            format!(
                "sips:{host}{}",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            )
        }
        (port, transport) => format!(
            "sip:{host}{}{}",
            port.map(|p| format!(":{p}")).unwrap_or_default(),
            transport
                .map(|t| format!(";transport={}", t.as_str()))
                .unwrap_or_default()
        ),
    })
}

/// The config as the probes use it: with only a provider chosen, its registrar is filled in,
/// so everything but the account is checked from the first minute.
pub fn effective_config(config: &Config, catalog: &Catalog) -> Config {
    let mut effective = config.clone();
    if effective.account.is_none() {
        if let Some(registrar) = config
            .provider
            .as_deref()
            .and_then(|id| catalog.get(id))
            .and_then(catalog_registrar)
        {
            effective.account = Some(AccountConfig {
                registrar,
                ..AccountConfig::default()
            });
        }
    }
    effective
}

/// Works out a generation's settings. Blocking: the password may come from the keyring.
pub fn prepare(config: &Config, catalog: &Catalog) -> Result<Prepared, AgentError> {
    let configured = config.provider.is_some() || config.account.is_some();
    let effective = effective_config(config, catalog);
    let password = match effective.account.as_ref() {
        Some(account) if account.user.is_some() => {
            password_for(account).map_err(SetupError::Secret)?.0
        }
        _ => None,
    };
    let settings = LineSettings::from_config(&effective, password, catalog)?;
    let provider = config
        .provider
        .as_deref()
        .and_then(|id| catalog.get(id))
        .or_else(|| {
            effective
                .account
                .as_ref()
                .and_then(|a| catalog.find_by_domain(&a.registrar))
        })
        .cloned();
    let feeds = provider
        .as_ref()
        .map(|p| p.feeds.clone())
        .unwrap_or_default();
    Ok(Prepared {
        settings,
        config: effective,
        configured,
        provider,
        feeds,
    })
}

/// A running generation.
pub struct Line {
    /// Its monitor.
    pub handle: MonitorHandle,
    token: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Line {
    /// Starts the monitor and its companions.
    pub fn spawn(agent: &Arc<Agent>, prepared: Prepared) -> Result<Line, AgentError> {
        let prober = LineProber::new(prepared.settings)?;
        // A child of the agent's token: a restart cancels only this generation, shutdown all.
        let token = agent.shutdown.child_token();
        let config = prepared.config;
        let (handle, monitor) = crate::monitor::spawn(
            prober,
            config.schedule.clone(),
            config.thresholds.clone(),
            token.clone(),
        );
        let mut tasks = vec![monitor];
        // Subscribed before anything can be published, so no first change is missed.
        tasks.push(tokio::spawn(present(
            agent.clone(),
            handle.clone(),
            token.clone(),
        )));
        if let Some(path) = &agent.history_path {
            match crate::history::History::open(path) {
                Ok(history) => tasks.push(crate::history::recorder::spawn_recorder(
                    &handle,
                    history,
                    crate::history::Retention::default(),
                    token.clone(),
                )),
                Err(e) => eprintln!("dialtone: {e}; checks and outages are not recorded"),
            }
        }
        tasks.push(crate::monitor::network::spawn_network_watcher(
            handle.clone(),
            crate::monitor::network::DEFAULT_POLL,
            crate::probe::device::probe,
            token.clone(),
        ));
        if !prepared.feeds.is_empty() {
            tasks.push(tokio::spawn(poll_feeds(
                agent.clone(),
                handle.clone(),
                prepared.feeds,
                token.clone(),
            )));
        }
        Ok(Line {
            handle,
            token,
            tasks,
        })
    }

    /// Stops every task of this generation and waits for them (the recorder flushes).
    pub async fn stop(self) {
        self.token.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Forwards the monitor's status and changes to the agent's presenters.
async fn present(agent: Arc<Agent>, handle: MonitorHandle, token: CancellationToken) {
    let mut status = handle.watch_status();
    let mut changes = handle.subscribe();
    loop {
        tokio::select! {
            biased;
            () = token.cancelled() => return,
            // Status first: the monitor publishes it before the change it confirms.
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
                agent.status_changed();
            }
            change = changes.recv() => match change {
                Ok(change) => agent.verdict_changed(change),
                Err(RecvError::Lagged(n)) => tracing::warn!("presenters missed {n} changes"),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// Polls the provider's status feeds at the pace the verdict asks for, keeps the latest state
/// for the dashboard and the notifications, and records posts seen during an outage.
async fn poll_feeds(
    agent: Arc<Agent>,
    handle: MonitorHandle,
    feeds: Vec<Feed>,
    token: CancellationToken,
) {
    let mut poller = FeedPoller::new(feeds, FetchLimits::default());
    let mut status = handle.watch_status();
    loop {
        let verdict = handle.status().verdict;
        let changed = tokio::select! {
            () = token.cancelled() => return,
            changed = poller.poll_due(verdict, Instant::now()) => changed,
        };
        publish_feeds(&agent, &poller);
        if !changed.is_empty() {
            record_posts(&agent, &poller, &changed).await;
        }
        let wait = poller
            .next_due(verdict, Instant::now())
            .unwrap_or(HEALTHY_INTERVAL);
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
            // A new verdict may shorten an hourly wait to two minutes.
            changed = status.changed() => if changed.is_err() { return },
        }
    }
}

pub(super) fn publish_feeds(agent: &Agent, poller: &FeedPoller) {
    let now = Instant::now();
    let views: Vec<FeedView> = poller
        .feeds()
        .iter()
        .map(|f| FeedView {
            url: f.feed.url.clone(),
            kind: format!("{:?}", f.feed.kind).to_lowercase(),
            fetched_at: f
                .last_poll
                .filter(|_| f.error.is_none() && f.snapshot.is_some())
                .map(|t| Utc::now() - chrono::TimeDelta::from_std(now - t).unwrap_or_default()),
            problem: f.error.as_ref().map(|e| e.problem.to_string()),
            indicator: f
                .snapshot
                .as_ref()
                .and_then(|s| s.indicator)
                .map(|i| format!("{i:?}").to_lowercase()),
            posts: f
                .snapshot
                .as_ref()
                .map(|s| {
                    s.posts
                        .iter()
                        .map(|p| PostView {
                            title: p.title.clone(),
                            published: p.published,
                            link: p.link.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let latest: Option<StatusPost> = poller
        .feeds()
        .iter()
        .filter_map(|f| f.snapshot.as_ref()?.posts.first().cloned())
        .max_by_key(|p| p.published);
    let mut state = lock(&agent.state);
    state.feeds = FeedsReply {
        available: true,
        feeds: views,
    };
    state.latest_post = latest;
}

/// Attaches the changed feeds' posts to the open outage episode, if there is one: the
/// provider's own words belong in the outage log a customer hands in.
pub(super) async fn record_posts(agent: &Agent, poller: &FeedPoller, changed: &[usize]) {
    let Some(history) = agent.history.clone() else {
        return;
    };
    let posts: Vec<(String, StatusPost)> = changed
        .iter()
        .filter_map(|&i| poller.feeds().get(i))
        .flat_map(|f| {
            let url = f.feed.url.clone();
            f.snapshot
                .iter()
                .flat_map(|s| s.posts.iter().cloned())
                .map(move |p| (url.clone(), p))
        })
        .collect();
    let written = tokio::task::spawn_blocking(move || {
        let history = lock(&history);
        let Some(episode) = history.open_episode()? else {
            return Ok(0);
        };
        let mut new = 0;
        for (url, post) in &posts {
            if history.attach_status_post(episode, url, post, Utc::now())? {
                new += 1;
            }
        }
        Ok::<_, crate::history::HistoryError>(new)
    })
    .await;
    match written {
        Ok(Ok(n)) if n > 0 => tracing::info!("{n} status posts recorded with the open outage"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("{e}"),
        Err(e) => tracing::warn!("recording status posts: {e}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_alone_gets_its_first_concrete_registrar() {
        let catalog = Catalog::builtin().unwrap();
        let config = Config {
            provider: Some("1und1".into()),
            ..Config::default()
        };
        let effective = effective_config(&config, &catalog);
        let registrar = effective.account.unwrap().registrar;
        let first = catalog.get("1und1").unwrap().registrars[0].host.clone();
        assert!(registrar.contains(&first), "{registrar} vs {first}");
        // An account of the user's own is never replaced.
        let own = Config {
            provider: Some("1und1".into()),
            account: Some(AccountConfig {
                registrar: "sip:127.0.0.1:5070".into(),
                ..AccountConfig::default()
            }),
            ..Config::default()
        };
        assert_eq!(effective_config(&own, &catalog), own);
    }

    #[test]
    fn registrars_with_port_and_transport_become_uris() {
        let provider = |host: &str, port, transport| Provider {
            id: "t".into(),
            name: "T".into(),
            country: None,
            sip_domains: vec![],
            registrars: vec![
                Registrar {
                    host: "*.regional.example".into(),
                    port: None,
                    transport: None,
                    verified: true,
                    note: None,
                },
                Registrar {
                    host: host.into(),
                    port,
                    transport,
                    verified: true,
                    note: None,
                },
            ],
            stun: vec![],
            also_isp: None,
            default_transport: None,
            channels: vec![],
            feeds: vec![],
            notes: None,
        };
        use crate::observation::Transport;
        assert_eq!(
            catalog_registrar(&provider("sip.example", None, None)).unwrap(),
            "sip.example"
        );
        assert_eq!(
            catalog_registrar(&provider("sip.example", Some(5064), Some(Transport::Udp))).unwrap(),
            "sip:sip.example:5064;transport=udp"
        );
        assert_eq!(
            catalog_registrar(&provider("tls.example", Some(5061), Some(Transport::Tls))).unwrap(),
            "sips:tls.example:5061"
        );
    }
}
