//! Polls a provider's official status feeds (Atlassian Statuspage JSON, RSS 2.0, Atom).
//!
//! A feed is someone else's server, so everything about it is treated as hostile: https only
//! (also after redirects, at most [`FetchLimits::max_redirects`] of them), one deadline for the
//! whole fetch, a body cap enforced while the body streams in (a 50 MB answer is cut off after
//! [`FetchLimits::max_body`] bytes, never buffered), no compression (so the cap is the real
//! size), titles cleaned and capped, and links kept only when they are https. Whatever goes
//! wrong ends as a [`FeedStatus`] naming the feed and the problem: the UI shows it next to the
//! feed and nothing else happens.
//!
//! Requests are conditional (`If-None-Match` / `If-Modified-Since` from [`FeedState`]); a
//! `304 Not Modified` is [`FeedUpdate::Unchanged`]. [`FeedPoller`] polls hourly while the line is
//! healthy and every two minutes while it is not ([`next_poll`]).

use chrono::{DateTime, Utc};
use dialtone_core::catalog::{Feed, FeedKind};
use dialtone_core::verdict::Verdict;
use reqwest::header::{
    HeaderMap, ACCEPT, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION,
};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How often a feed is polled while the line is healthy (or its state unknown).
pub const HEALTHY_INTERVAL: Duration = Duration::from_secs(3600);
/// How often a feed is polled while the line is not healthy: the provider's word is wanted now.
pub const UNHEALTHY_INTERVAL: Duration = Duration::from_secs(120);
/// The longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

pub use dialtone_core::status_post::{ComponentStatus, Indicator, StatusPost};

/// What a feed says right now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeedSnapshot {
    /// Posts, latest first (undated ones last), at most [`FetchLimits::max_posts`].
    pub posts: Vec<StatusPost>,
    /// Statuspage's overall indicator; `None` for RSS/Atom or when the page gives none.
    pub indicator: Option<Indicator>,
    /// Statuspage components; empty for RSS/Atom.
    pub components: Vec<ComponentStatus>,
}

/// The validators of the last successful fetch, sent back for a conditional request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeedState {
    /// The last `ETag`.
    pub etag: Option<String>,
    /// The last `Last-Modified`.
    pub last_modified: Option<String>,
}

/// Limits of one fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchLimits {
    /// One deadline for the whole fetch, redirects and body included (a server that trickles
    /// one byte a second must not hold the poller).
    pub timeout: Duration,
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Posts kept per feed.
    pub max_posts: usize,
    /// Allows plain `http://` to loopback IP literals (127.0.0.0/8, ::1) and disables the
    /// system proxy. **Tests only**: the test server runs on 127.0.0.1 without TLS.
    /// Production never sets it (the default is `false` and no config key maps to it), and even
    /// when set it cannot send a request in the clear beyond this machine: names such as
    /// `localhost` and every other address still need https, so a redirect from the test
    /// server to `http://` elsewhere is still refused.
    pub allow_http_loopback: bool,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(15),
            max_body: 2 * 1024 * 1024,
            max_redirects: 3,
            max_posts: 20,
            allow_http_loopback: false,
        }
    }
}

/// A successful fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedUpdate {
    /// The feed answered with content.
    Changed {
        /// What it says.
        snapshot: FeedSnapshot,
        /// Validators for the next conditional request.
        state: FeedState,
    },
    /// `304 Not Modified`: what was fetched last time still holds.
    Unchanged,
}

/// A feed that could not be read: which feed, and what went wrong. Shown in the UI as the
/// feed's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status feed {url}: {problem}")]
pub struct FeedStatus {
    /// The URL that was being fetched (the redirect target when a redirect failed).
    pub url: String,
    /// What went wrong.
    pub problem: FeedProblem,
}

/// What went wrong with a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedProblem {
    /// The URL is not a valid absolute URL.
    #[error("not a valid URL: {0}")]
    BadUrl(String),
    /// The URL is not https (or carries credentials).
    #[error("refused: only https feeds are fetched, not {scheme}")]
    NotHttps {
        /// The scheme found.
        scheme: String,
    },
    /// A redirect pointed to a non-https URL.
    #[error("refused a redirect to the insecure {location}")]
    RedirectToInsecure {
        /// The `Location` it named.
        location: String,
    },
    /// More redirects than allowed.
    #[error("more than {limit} redirects")]
    TooManyRedirects {
        /// The limit.
        limit: usize,
    },
    /// A redirect without a usable `Location`.
    #[error("HTTP {status} redirect without a usable Location header")]
    BadRedirect {
        /// The status code.
        status: u16,
    },
    /// The deadline passed.
    #[error("no complete answer within {} s", .after.as_secs_f64())]
    Timeout {
        /// The deadline.
        after: Duration,
    },
    /// The body is larger than allowed.
    #[error("the answer is larger than {limit} bytes; stopped reading")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The server answered with an error status.
    #[error("the server answered HTTP {status}")]
    HttpStatus {
        /// The status code.
        status: u16,
    },
    /// Connecting or talking to the server failed.
    #[error("network error: {0}")]
    Network(String),
    /// The answer is a web page (a login portal, an error page), not a feed.
    #[error("the answer is a web page ({0}), not a feed")]
    NotAFeed(String),
    /// The Statuspage JSON could not be read.
    #[error("invalid Statuspage JSON: {0}")]
    InvalidJson(String),
    /// The RSS/Atom document could not be read.
    #[error("invalid RSS/Atom: {0}")]
    InvalidXml(String),
}

/// The result of one fetch.
pub type FeedResult = Result<FeedUpdate, FeedStatus>;

/// The URL actually fetched for a feed: Statuspage feeds name the page's base URL, and the
/// summary (indicator, components, open incidents) is one request.
pub fn fetch_url(feed: &Feed) -> String {
    match feed.kind {
        FeedKind::Statuspage => format!("{}/api/v2/summary.json", feed.url.trim_end_matches('/')),
        FeedKind::Rss | FeedKind::Atom => feed.url.clone(),
    }
}

fn fail(url: &url::Url, problem: FeedProblem) -> FeedStatus {
    FeedStatus {
        url: url.to_string(),
        problem,
    }
}

/// Whether a URL may be fetched under `limits`.
fn permitted(url: &url::Url, limits: &FetchLimits) -> Result<(), FeedProblem> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FeedProblem::BadUrl("credentials in a feed URL".into()));
    }
    let loopback_ok = limits.allow_http_loopback
        && url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            _ => false,
        };
    if url.scheme() == "https" && url.host_str().is_some_and(|h| !h.is_empty()) || loopback_ok {
        Ok(())
    } else {
        Err(FeedProblem::NotHttps {
            scheme: url.scheme().to_string(),
        })
    }
}

/// The error and its causes in one line (reqwest's own message alone says little).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Fetches one feed. Never panics; every failure is a [`FeedStatus`].
pub async fn fetch(feed: &Feed, state: &FeedState, limits: &FetchLimits) -> FeedResult {
    let raw = fetch_url(feed);
    let url = url::Url::parse(&raw).map_err(|e| FeedStatus {
        url: raw.clone(),
        problem: FeedProblem::BadUrl(e.to_string()),
    })?;
    permitted(&url, limits).map_err(|p| fail(&url, p))?;
    let mut builder = crate::tls::http_client_builder()
        // Redirects are followed by hand below, to check each hop's scheme and name the
        // offending Location in the status.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(limits.timeout)
        .timeout(limits.timeout)
        .user_agent(concat!("dialtone/", env!("CARGO_PKG_VERSION")));
    if limits.allow_http_loopback {
        // A proxy from the environment cannot reach the test's loopback server.
        builder = builder.no_proxy();
    }
    let client = builder
        .build()
        .map_err(|e| fail(&url, FeedProblem::Network(chain(&e))))?;
    match tokio::time::timeout(
        limits.timeout,
        fetch_with(&client, feed.kind, url.clone(), state, limits),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(fail(
            &url,
            FeedProblem::Timeout {
                after: limits.timeout,
            },
        )),
    }
}

async fn fetch_with(
    client: &reqwest::Client,
    kind: FeedKind,
    mut url: url::Url,
    state: &FeedState,
    limits: &FetchLimits,
) -> FeedResult {
    let network = |url: &url::Url, e: reqwest::Error| {
        if e.is_timeout() {
            fail(
                url,
                FeedProblem::Timeout {
                    after: limits.timeout,
                },
            )
        } else {
            fail(url, FeedProblem::Network(chain(&e)))
        }
    };
    for _hop in 0..=limits.max_redirects {
        let accept = match kind {
            FeedKind::Statuspage => "application/json",
            FeedKind::Rss | FeedKind::Atom => {
                "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9"
            }
        };
        let mut request = client.get(url.clone()).header(ACCEPT, accept);
        if let Some(etag) = &state.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &state.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(|e| network(&url, e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(FeedUpdate::Unchanged);
        }
        if status.is_redirection() {
            let next = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .ok_or_else(|| {
                    fail(
                        &url,
                        FeedProblem::BadRedirect {
                            status: status.as_u16(),
                        },
                    )
                })?;
            permitted(&next, limits).map_err(|_| {
                fail(
                    &url,
                    FeedProblem::RedirectToInsecure {
                        location: next.to_string(),
                    },
                )
            })?;
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(fail(
                &url,
                FeedProblem::HttpStatus {
                    status: status.as_u16(),
                },
            ));
        }
        let new_state = validators(response.headers());
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if response
            .content_length()
            .is_some_and(|len| len > limits.max_body as u64)
        {
            return Err(fail(
                &url,
                FeedProblem::TooLarge {
                    limit: limits.max_body,
                },
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| network(&url, e))? {
            if body.len() + chunk.len() > limits.max_body {
                // Dropping the response closes the connection: the rest is never read.
                return Err(fail(
                    &url,
                    FeedProblem::TooLarge {
                        limit: limits.max_body,
                    },
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let snapshot =
            parse(kind, &body, &content_type, limits.max_posts).map_err(|p| fail(&url, p))?;
        return Ok(FeedUpdate::Changed {
            snapshot,
            state: new_state,
        });
    }
    Err(fail(
        &url,
        FeedProblem::TooManyRedirects {
            limit: limits.max_redirects,
        },
    ))
}

fn validators(headers: &HeaderMap) -> FeedState {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    FeedState {
        etag: get(ETAG),
        last_modified: get(LAST_MODIFIED),
    }
}

fn looks_like_html(body: &[u8], content_type: &str) -> bool {
    if content_type.starts_with("text/html") {
        return true;
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Parses a feed body (already size-limited). Public so that fixtures can be parsed without a
/// server.
pub fn parse(
    kind: FeedKind,
    body: &[u8],
    content_type: &str,
    max_posts: usize,
) -> Result<FeedSnapshot, FeedProblem> {
    let parsed = match kind {
        FeedKind::Statuspage => parse_statuspage(body),
        FeedKind::Rss | FeedKind::Atom => parse_syndication(body),
    };
    match parsed {
        Ok(mut snapshot) => {
            // Latest first; `None` sorts below every date, so undated posts come last.
            snapshot
                .posts
                .sort_by_key(|p| std::cmp::Reverse(p.published));
            snapshot.posts.truncate(max_posts);
            Ok(snapshot)
        }
        // A captive portal or error page served with 200 is the common "wrong content".
        Err(_) if looks_like_html(body, content_type) => {
            Err(FeedProblem::NotAFeed(if content_type.is_empty() {
                "no content type".into()
            } else {
                content_type.to_string()
            }))
        }
        Err(problem) => Err(problem),
    }
}

/// Cleans a title or name from a feed: no control characters, whitespace collapsed, capped.
fn clean(text: &str) -> String {
    let collapsed = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if collapsed.chars().count() > MAX_TITLE_CHARS {
        let mut cut: String = collapsed.chars().take(MAX_TITLE_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        collapsed
    }
}

/// Keeps a link only when it is a well-formed https URL.
fn https_link(link: &str) -> Option<String> {
    dialtone_core::link::check_https(link.trim())
        .ok()
        .map(|u| u.to_string())
}

#[derive(Deserialize)]
struct SpSummary {
    page: Option<SpPage>,
    status: Option<SpStatus>,
    #[serde(default)]
    components: Vec<SpComponent>,
    #[serde(default)]
    incidents: Vec<SpIncident>,
}

#[derive(Deserialize)]
struct SpPage {
    url: Option<String>,
}

#[derive(Deserialize)]
struct SpStatus {
    indicator: Option<String>,
}

#[derive(Deserialize)]
struct SpComponent {
    name: Option<String>,
    status: Option<String>,
    /// Group headers are components too; their members carry the real status.
    #[serde(default)]
    group: bool,
}

#[derive(Deserialize)]
struct SpIncident {
    id: Option<String>,
    name: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    shortlink: Option<String>,
}

fn rfc3339(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn parse_statuspage(body: &[u8]) -> Result<FeedSnapshot, FeedProblem> {
    let summary: SpSummary =
        serde_json::from_slice(body).map_err(|e| FeedProblem::InvalidJson(e.to_string()))?;
    if summary.status.is_none() && summary.components.is_empty() && summary.incidents.is_empty() {
        // Valid JSON, but not a Statuspage answer (e.g. `{}` or an API error object).
        return Err(FeedProblem::InvalidJson(
            "no status, components or incidents".into(),
        ));
    }
    let indicator = summary
        .status
        .and_then(|s| s.indicator)
        .and_then(|i| match i.as_str() {
            "none" => Some(Indicator::None),
            "minor" => Some(Indicator::Minor),
            "major" => Some(Indicator::Major),
            "critical" => Some(Indicator::Critical),
            "maintenance" => Some(Indicator::Maintenance),
            _ => None,
        });
    let page_url = summary.page.and_then(|p| p.url);
    let posts = summary
        .incidents
        .into_iter()
        .filter_map(|incident| {
            let title = clean(incident.name.as_deref().unwrap_or(""));
            if title.is_empty() {
                return None;
            }
            let page_link = match (&page_url, &incident.id) {
                (Some(page), Some(id)) => {
                    Some(format!("{}/incidents/{id}", page.trim_end_matches('/')))
                }
                _ => None,
            };
            let link = incident
                .shortlink
                .as_deref()
                .and_then(https_link)
                .or_else(|| page_link.as_deref().and_then(https_link));
            Some(StatusPost {
                title,
                // The incident's start is what "1&1 status, 09:52: Störung Telefonie" shows.
                published: rfc3339(incident.created_at.as_deref())
                    .or_else(|| rfc3339(incident.updated_at.as_deref())),
                link,
            })
        })
        .collect();
    let components = summary
        .components
        .into_iter()
        .filter(|c| !c.group)
        .filter_map(|c| {
            let name = clean(c.name.as_deref().unwrap_or(""));
            (!name.is_empty()).then(|| ComponentStatus {
                name,
                status: clean(c.status.as_deref().unwrap_or("unknown")),
            })
        })
        .collect();
    Ok(FeedSnapshot {
        posts,
        indicator,
        components,
    })
}

fn parse_syndication(body: &[u8]) -> Result<FeedSnapshot, FeedProblem> {
    let parsed =
        feed_rs::parser::parse(body).map_err(|e| FeedProblem::InvalidXml(e.to_string()))?;
    let posts = parsed
        .entries
        .into_iter()
        .filter_map(|entry| {
            let title = clean(entry.title.as_ref().map_or("", |t| t.content.as_str()));
            if title.is_empty() {
                return None;
            }
            Some(StatusPost {
                title,
                published: entry.published.or(entry.updated),
                link: entry.links.iter().find_map(|l| https_link(&l.href)),
            })
        })
        .collect();
    Ok(FeedSnapshot {
        posts,
        indicator: None,
        components: Vec::new(),
    })
}

/// The polling interval for a verdict: hourly while the line is healthy or its state unknown
/// (asleep, paused: nothing to explain), every two minutes otherwise — degraded included,
/// because the provider may already be posting about what makes the line slow.
pub fn poll_interval(verdict: Verdict) -> Duration {
    match verdict {
        Verdict::Healthy | Verdict::Unknown => HEALTHY_INTERVAL,
        _ => UNHEALTHY_INTERVAL,
    }
}

/// How long to wait before the next poll, given the verdict and the time since the last poll
/// (`None`: never polled, so now). Pure: a line that just failed shortens an hourly wait at
/// once instead of sleeping it out.
pub fn next_poll(verdict: Verdict, since_last: Option<Duration>) -> Duration {
    match since_last {
        None => Duration::ZERO,
        Some(elapsed) => poll_interval(verdict).saturating_sub(elapsed),
    }
}

/// One feed as the poller tracks it.
#[derive(Debug, Clone)]
pub struct PolledFeed {
    /// The feed.
    pub feed: Feed,
    /// Validators for the next conditional request.
    pub state: FeedState,
    /// The last content fetched (kept while later fetches fail, so the UI can show it as
    /// stale next to the error).
    pub snapshot: Option<FeedSnapshot>,
    /// The last fetch's failure; `None` after a successful (or unchanged) fetch.
    pub error: Option<FeedStatus>,
    /// When it was last polled.
    pub last_poll: Option<Instant>,
}

/// Polls a provider's feeds at the pace the line's verdict asks for.
#[derive(Debug, Clone)]
pub struct FeedPoller {
    feeds: Vec<PolledFeed>,
    limits: FetchLimits,
}

impl FeedPoller {
    /// A poller for these feeds; nothing is fetched until [`FeedPoller::poll_due`].
    pub fn new(feeds: Vec<Feed>, limits: FetchLimits) -> FeedPoller {
        FeedPoller {
            feeds: feeds
                .into_iter()
                .map(|feed| PolledFeed {
                    feed,
                    state: FeedState::default(),
                    snapshot: None,
                    error: None,
                    last_poll: None,
                })
                .collect(),
            limits,
        }
    }

    /// The feeds and what is known about each.
    pub fn feeds(&self) -> &[PolledFeed] {
        &self.feeds
    }

    /// How long until some feed is due; `None` without feeds.
    pub fn next_due(&self, verdict: Verdict, now: Instant) -> Option<Duration> {
        self.feeds
            .iter()
            .map(|f| {
                next_poll(
                    verdict,
                    f.last_poll.map(|t| now.saturating_duration_since(t)),
                )
            })
            .min()
    }

    /// Fetches every feed that is due and returns the indices of those whose content changed.
    pub async fn poll_due(&mut self, verdict: Verdict, now: Instant) -> Vec<usize> {
        let mut changed = Vec::new();
        for (index, polled) in self.feeds.iter_mut().enumerate() {
            let since = polled.last_poll.map(|t| now.saturating_duration_since(t));
            if next_poll(verdict, since) > Duration::ZERO {
                continue;
            }
            polled.last_poll = Some(now);
            match fetch(&polled.feed, &polled.state, &self.limits).await {
                Ok(FeedUpdate::Changed { snapshot, state }) => {
                    polled.state = state;
                    polled.error = None;
                    if polled.snapshot.as_ref() != Some(&snapshot) {
                        polled.snapshot = Some(snapshot);
                        changed.push(index);
                    }
                }
                Ok(FeedUpdate::Unchanged) => polled.error = None,
                Err(status) => {
                    tracing::info!(%status, "status feed failed");
                    polled.error = Some(status);
                }
            }
        }
        changed
    }
}
