//! Alerts that leave the machine (issue 19), hung on the line runner: every confirmed change
//! ([`LineEvent::Changed`]) is offered to the [`Alerter`], which decides per target whether it
//! is news ([`dialtone_core::alert::select`]), words it in the target's language
//! ([`dialtone_core::words::render_alert`]), puts it in the persistent [`outbox`] and delivers it
//! from there ([`transport`], [`mail`]), retrying with backoff until the target accepts or
//! [`Policy::give_up`] passes.
//!
//! The monitor never waits for any of it: [`Alerter::offer`] is a `try_send` into a bounded
//! channel read by the alerter's own task, and every try runs in a task of its own with a
//! deadline. A line that recovers makes every waiting alert due at once: the way out may be
//! back (an internet_down alert can only leave once the internet is up again).

pub mod mail;
pub use mail::smtp_keyring_account;
pub mod outbox;
pub mod token;
pub mod transport;

use crate::feed::PolledFeed;
use crate::lines::LineEvent;
use crate::monitor::VerdictChanged;
use chrono::{DateTime, TimeDelta, Utc};
use dialtone_core::alert::{alerted_after, select, AlertTarget, EventKind};
use dialtone_core::catalog::Channel;
use dialtone_core::config::Config;
use dialtone_core::locale::Lang;
use dialtone_core::secret::Secret;
use dialtone_core::status_post::StatusPost;
use dialtone_core::words::{render_alert, AlertEvent, AlertFacts, RenderedAlert};
use outbox::{target_key, Outbox, State, Told};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The environment variable that caps the wait between two tries of an alert, in seconds.
pub const RETRY_MAX_VAR: &str = "DIALTONE_ALERT_RETRY_MAX_SECS";

/// How delivery paces itself.
#[derive(Debug, Clone)]
pub struct Policy {
    /// An alert not accepted this long after it was raised is given up, with a log line.
    pub give_up: TimeDelta,
    /// Alerts per target per hour; past it, one "unstable" alert, then silence until the
    /// hour has room again (the latest held-back change is sent then).
    pub per_hour: usize,
    /// The wait after the first failed try; doubled after each further one.
    pub first_retry: Duration,
    /// The longest wait between tries.
    pub max_retry: Duration,
    /// One try's deadline (connection, request, answer; an SMTP command; the apprise run).
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            give_up: TimeDelta::hours(24),
            per_hour: 5,
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(300),
            timeout: Duration::from_secs(15),
        }
    }
}

impl Policy {
    /// The wait after `attempts` failed tries.
    pub fn backoff(&self, attempts: u32) -> TimeDelta {
        let factor = 1u32 << attempts.saturating_sub(1).min(16);
        let wait = self.first_retry.saturating_mul(factor).min(self.max_retry);
        TimeDelta::from_std(wait).unwrap_or(TimeDelta::seconds(300))
    }
}

/// Why alerts could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AlertSetupError {
    /// A target or the mail server's settings are wrong (the key named).
    #[error("alert settings: {0}")]
    Invalid(String),
    /// A secret could not be found.
    #[error("alert settings: {0}")]
    Secret(String),
}

/// A target with its secret resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The target.
    pub target: AlertTarget,
    /// Its outbox key.
    pub key: String,
    /// Its token (ntfy, webhook, an Apprise URL's `{token}`), when it has one.
    pub token: Option<Secret>,
    /// Where the token came from (shown by `alert list`; never the token).
    pub token_source: Option<token::TokenSource>,
}

/// Every target of a run, resolved, and where their outbox is.
pub struct AlertSetup {
    /// The targets: the config's, then the command line's.
    pub targets: Vec<Resolved>,
    /// The config's language, for targets without one.
    pub lang: Lang,
    /// The outbox file.
    pub outbox: PathBuf,
    /// The pace.
    pub policy: Policy,
    smtp: Option<(dialtone_core::alert::SmtpConfig, Option<Secret>)>,
}

impl AlertSetup {
    /// The targets of `config` plus `extra` (`--alert URL`), their secrets fetched (from the
    /// environment, the config, or the keyring: blocking, call it off the async workers).
    pub fn resolve(
        config: &Config,
        extra: &[String],
        lang: Lang,
        outbox: PathBuf,
    ) -> Result<AlertSetup, AlertSetupError> {
        let mut targets = Vec::new();
        for (i, alert) in config.alerts.iter().enumerate() {
            let target = AlertTarget::from_config(alert).map_err(|e| {
                AlertSetupError::Invalid(format!("alert[{i}].{}: {}", e.key, e.message))
            })?;
            targets.push(target);
        }
        for url in extra {
            let target = AlertTarget::from_flag(url).map_err(|e| {
                AlertSetupError::Invalid(format!(
                    "--alert {}: {}",
                    dialtone_core::alert::redact(url),
                    e.message
                ))
            })?;
            targets.push(target);
        }
        let targets = targets
            .into_iter()
            .enumerate()
            .map(|(i, target)| {
                let found = token::resolve(
                    &target,
                    i + 1,
                    |var| crate::secret::from_env(var).ok(),
                    crate::secret::from_keyring,
                )
                .map_err(AlertSetupError::Secret)?;
                let (token, token_source) = found.unzip();
                Ok(Resolved {
                    key: target_key(&target.url),
                    target,
                    token,
                    token_source,
                })
            })
            .collect::<Result<Vec<_>, AlertSetupError>>()?;
        let mail = targets
            .iter()
            .any(|t| matches!(t.target.target, dialtone_core::alert::Target::Mail { .. }));
        let smtp = match (&config.smtp, mail) {
            (Some(smtp), true) => Some((smtp.clone(), mail::smtp_password(smtp)?)),
            (None, true) => {
                return Err(AlertSetupError::Invalid(
                    "a mailto: alert needs an [smtp] table in the config".into(),
                ))
            }
            _ => None,
        };
        Ok(AlertSetup {
            targets,
            lang,
            outbox,
            policy: Policy::default(),
            smtp,
        })
    }

    /// The setup of a run (`watch`, the agent): `config`'s targets and `extra`, the language
    /// the config's (else `lang`), the outbox beside `history` (else in the state dir), the
    /// longest wait between tries from [`RETRY_MAX_VAR`] when set.
    pub fn for_run(
        config: &Config,
        extra: &[String],
        history: Option<&Path>,
        lang: Lang,
    ) -> Result<AlertSetup, AlertSetupError> {
        let outbox = outbox_path(history).ok_or_else(|| {
            AlertSetupError::Invalid(
                "no state directory for the alert outbox (set HOME, or give --db)".into(),
            )
        })?;
        let lang = config.desktop.language.unwrap_or(lang);
        let mut setup = AlertSetup::resolve(config, extra, lang, outbox)?;
        // The longest wait between tries (default 300 s): an always-on box on a flaky uplink
        // may want it shorter, and the tests do.
        if let Some(secs) = std::env::var(RETRY_MAX_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            setup.policy.max_retry = Duration::from_secs(secs.max(1));
            setup.policy.first_retry = setup.policy.first_retry.min(setup.policy.max_retry);
        }
        Ok(setup)
    }

    /// Whether there is any target.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    fn transports(&self) -> Result<transport::Transports, String> {
        transport::Transports::new(self.policy.timeout, self.smtp.clone())
    }
}

/// The outbox's default place: beside the history file when there is one (the state the
/// user chose with `--db`), else the XDG state dir.
pub fn outbox_path(history: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = history.and_then(Path::parent) {
        return Some(dir.join(outbox::OUTBOX_FILE));
    }
    crate::state_dir().map(|dir| dir.join(outbox::OUTBOX_FILE))
}

/// What the alerter knows of a line.
#[derive(Debug, Clone, Default)]
pub struct LineInfo {
    /// Its label.
    pub label: String,
    /// The provider's name.
    pub provider: Option<String>,
    /// The provider's channels.
    pub channels: Vec<Channel>,
}

/// What the alerter's task is told.
enum Input {
    Changed(usize, Box<VerdictChanged>, Option<LineInfo>),
    Post(usize, StatusPost),
    Pause(Option<DateTime<Utc>>),
}

/// The handle a presenter offers line events to (see the module's doc).
#[derive(Clone)]
pub struct Alerter {
    inbox: mpsc::Sender<Input>,
    /// The pause in force (see [`Alerter::pause`]), as the outbox records it.
    paused: Arc<std::sync::Mutex<Option<DateTime<Utc>>>>,
}

/// How many changes may wait for the alerter before more are dropped (with a log line).
const INBOX: usize = 256;

impl Alerter {
    /// Starts the alerter's task for `setup` and `lines` (by index, as the runner numbers
    /// them), until `token` is cancelled.
    pub fn spawn(
        setup: AlertSetup,
        lines: Vec<LineInfo>,
        token: &CancellationToken,
    ) -> Result<(Alerter, JoinHandle<()>), SpawnError> {
        let lock = outbox::take(&setup.outbox)?;
        let transports = Arc::new(setup.transports().map_err(SpawnError::Failed)?);
        let outbox = match Outbox::open(&setup.outbox) {
            Ok(outbox) => outbox,
            // A broken file must not stop the watch: it is kept aside for a look, and the
            // alerts start afresh (what it held is lost, which the log says).
            Err(e @ outbox::OutboxError::Corrupt { .. }) => {
                let aside = setup
                    .outbox
                    .with_extension(format!("corrupt-{}", Utc::now().timestamp()));
                tracing::error!(
                    "{e}; moved to {} and starting with an empty outbox",
                    aside.display()
                );
                std::fs::rename(&setup.outbox, &aside)
                    .map_err(|e| format!("moving the broken alert outbox aside: {e}"))?;
                Outbox::open(&setup.outbox).map_err(|e| e.to_string())?
            }
            Err(e) => return Err(SpawnError::Failed(e.to_string())),
        };
        let (inbox, rx) = mpsc::channel(INBOX);
        let paused = Arc::new(std::sync::Mutex::new(outbox.paused_until()));
        let task = Task {
            _lock: lock,
            writer: outbox::Writer::spawn(outbox.path().to_path_buf())
                .map_err(SpawnError::Failed)?,
            setup,
            lines,
            outbox,
            transports,
            posts: HashMap::new(),
            held: HashMap::new(),
            busy: HashSet::new(),
        };
        let handle = tokio::spawn(task.run(rx, token.clone()));
        Ok((Alerter { inbox, paused }, handle))
    }

    /// Holds new alarms back until `until` (`None` lifts the pause), recorded in the outbox so
    /// a restart keeps it. A recovery of something a target was already told of is still
    /// sent: a phone must not be left believing the line is down. What was held back is not
    /// sent later (a pause is "do not wake me", not "tell me afterwards").
    pub fn pause(&self, until: Option<DateTime<Utc>>) {
        if let Ok(mut paused) = self.paused.lock() {
            *paused = until;
        }
        if self.inbox.try_send(Input::Pause(until)).is_err() {
            tracing::warn!("alerts are behind: the pause was not recorded in the outbox");
        }
    }

    /// The pause in force, if any (the outbox's when the alerter started, or set since).
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        let paused = self.paused.lock().ok().and_then(|p| *p);
        paused.filter(|until| *until > Utc::now())
    }

    /// Offers a line event: a confirmed change, or the feeds' latest post. Never waits.
    pub fn offer(&self, event: &LineEvent) {
        self.offer_line(event, None);
    }

    /// [`Alerter::offer`], with what the line is now (its label, provider and channels), for
    /// a presenter whose lines change while it runs (the tray agent's settings).
    pub fn offer_line(&self, event: &LineEvent, line: Option<LineInfo>) {
        let input = match event {
            LineEvent::Changed { index, change } => {
                Input::Changed(*index, Box::new(change.clone()), line)
            }
            LineEvent::Feeds { index, feeds } => match latest_post(feeds) {
                Some(post) => Input::Post(*index, post),
                None => return,
            },
            _ => return,
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = self.inbox.try_send(input) {
            tracing::warn!("alerts are behind: a line event was dropped");
        }
    }
}

/// The newest dated post of any feed.
fn latest_post(feeds: &[PolledFeed]) -> Option<StatusPost> {
    feeds
        .iter()
        .filter_map(|f| f.snapshot.as_ref())
        .flat_map(|s| s.posts.iter())
        .filter(|p| p.published.is_some())
        .max_by_key(|p| p.published)
        .cloned()
}

/// A try's outcome, back from its task.
struct Tried {
    id: String,
    target: String,
    outcome: Result<(), String>,
}

/// Why the alerter did not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Another process sends the alerts of this outbox (a second `watch`, or the agent).
    #[error("another dialtone process sends the alerts of {} already", .0.display())]
    Busy(PathBuf),
    /// It could not start.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for SpawnError {
    fn from(why: String) -> SpawnError {
        SpawnError::Failed(why)
    }
}

/// The alerter's task: the outbox's one owner.
struct Task {
    /// The outbox's lock, held as long as the task runs.
    _lock: std::fs::File,
    writer: outbox::Writer,
    setup: AlertSetup,
    lines: Vec<LineInfo>,
    outbox: Outbox,
    transports: Arc<transport::Transports>,
    posts: HashMap<usize, StatusPost>,
    /// target → the latest alert held back by the rate limit (id, words).
    held: HashMap<String, (String, RenderedAlert)>,
    /// Targets with a try under way.
    busy: HashSet<String>,
}

impl Task {
    async fn run(mut self, mut inbox: mpsc::Receiver<Input>, token: CancellationToken) {
        let (done_tx, mut done) = mpsc::unbounded_channel::<Tried>();
        loop {
            self.release_held(Utc::now());
            self.start_due(&done_tx, &token);
            let wait = self.next_wake(Utc::now());
            tokio::select! {
                () = token.cancelled() => break,
                input = inbox.recv() => match input {
                    Some(Input::Changed(index, change, line)) => {
                        if let Some(line) = line {
                            if self.lines.len() <= index {
                                self.lines.resize_with(index + 1, LineInfo::default);
                            }
                            self.lines[index] = line;
                        }
                        self.changed(index, &change);
                    }
                    Some(Input::Post(index, post)) => { self.posts.insert(index, post); }
                    Some(Input::Pause(until)) => {
                        self.outbox.set_paused_until(until);
                        self.save();
                    }
                    None => break,
                },
                Some(tried) = done.recv() => self.tried(tried),
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.save();
        // The last state on disk before the task ends (a shutdown waits for it).
        self.writer.tx = None;
        if let Some(thread) = self.writer.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Hands the outbox's state to the writer thread: the file's sync must not hold up this
    /// runtime, whose other tasks are the line monitors (`watch` runs on one thread).
    fn save(&self) {
        match self.outbox.snapshot() {
            Ok(bytes) => {
                if let Some(tx) = &self.writer.tx {
                    let _ = tx.send(bytes);
                }
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }

    /// How long until something is due (a try, a held alert the hour has room for).
    fn next_wake(&self, now: DateTime<Utc>) -> Duration {
        let mut wait = Duration::from_secs(3600);
        if let Some(due) = self.outbox.next_due() {
            wait = wait.min((due - now).to_std().unwrap_or(Duration::ZERO));
        }
        if !self.held.is_empty() {
            wait = wait.min(Duration::from_secs(30));
        }
        wait.max(Duration::from_millis(50))
    }

    /// Decides per target and queues what is news.
    fn changed(&mut self, index: usize, change: &VerdictChanged) {
        let now = Utc::now();
        let Some(line) = self.lines.get(index).cloned() else {
            return;
        };
        let offset = local_offset();
        if change.to.is_working() {
            // The way out may be back.
            self.outbox.retry_all_now(now);
        }
        let post = self.posts.get(&index).cloned();
        let paused = self.outbox.paused_until().filter(|until| *until > now);
        for t in self.setup.targets.clone() {
            let told = self.outbox.told(&t.key, &line.label);
            let kind = select(change.to, &t.target.events, told.map(|t| t.verdict));
            if let (Some(until), Some(new)) = (paused, kind.filter(|k| *k != EventKind::Recovery)) {
                // Not told, so no recovery of it follows either.
                tracing::info!(
                    "alerts paused until {until}: {} of {} not sent to {}",
                    new.as_str(),
                    line.label,
                    t.target.shown()
                );
                continue;
            }
            let after = alerted_after(told.map(|t| t.verdict), change.to, kind);
            // A bad state that goes on keeps the time it began.
            let since = match (told, after) {
                (Some(told), Some(_)) => told.since,
                _ => change.since,
            };
            self.outbox.set_told(
                &t.key,
                &line.label,
                after.map(|verdict| Told { verdict, since }),
            );
            let Some(kind) = kind else { continue };
            let recovery = kind == EventKind::Recovery;
            let label = t.target.label.clone().unwrap_or_else(|| line.label.clone());
            let facts = AlertFacts {
                event: if recovery {
                    AlertEvent::Recovery
                } else {
                    AlertEvent::Bad
                },
                line: &label,
                verdict: change.to,
                previous: if recovery {
                    told.map_or(change.from, |t| t.verdict)
                } else {
                    change.from
                },
                since: if recovery {
                    told.map_or(change.from_since, |t| t.since)
                } else {
                    change.since
                },
                until: recovery.then_some(change.since),
                at: change.at,
                diagnosis: Some(&change.diagnosis),
                provider: line
                    .provider
                    .as_deref()
                    .or(change.diagnosis.provider_name.as_deref()),
                channels: &line.channels,
                post: post.as_ref(),
                offset,
            };
            let lang = t.target.lang.unwrap_or(self.setup.lang);
            let rendered = render_alert(&facts, lang);
            let id = event_id(&label, kind, &facts, &t.key);
            self.raise(&t, id, rendered, &facts, lang, now);
        }
        self.save();
    }

    /// The hour's limit of the target `key`: its own `per_hour`, else the policy's.
    fn per_hour(&self, key: &str) -> usize {
        self.setup
            .targets
            .iter()
            .find(|t| t.key == key)
            .and_then(|t| t.target.per_hour)
            .map_or(self.setup.policy.per_hour, |n| n as usize)
    }

    /// Queues one alert, or under the rate limit the "unstable" one, or holds it back.
    fn raise(
        &mut self,
        t: &Resolved,
        id: String,
        rendered: RenderedAlert,
        facts: &AlertFacts<'_>,
        lang: Lang,
        now: DateTime<Utc>,
    ) {
        let raised = self.outbox.raised_within_hour(&t.key, now);
        let shown = t.target.shown();
        let limit = self.per_hour(&t.key);
        if raised < limit {
            self.held.remove(&t.key);
            self.outbox.push(id, &t.key, shown, rendered, now, false);
            return;
        }
        let recent_unstable = self
            .outbox
            .last_unstable(&t.key)
            .is_some_and(|at| now - at < TimeDelta::hours(1));
        if !recent_unstable {
            let unstable = AlertFacts {
                event: AlertEvent::Unstable {
                    changes: u32::try_from(raised + 1).unwrap_or(u32::MAX),
                },
                ..facts.clone()
            };
            let words = render_alert(&unstable, lang);
            tracing::info!(
                "alerts to {shown}: {} changes within the hour, one \"unstable\" alert instead",
                raised + 1
            );
            self.outbox
                .push(format!("{id}-unstable"), &t.key, shown, words, now, true);
        } else {
            tracing::info!("alert to {shown} held back: the hour's limit of {limit} is reached");
        }
        self.held.insert(t.key.clone(), (id, rendered));
    }

    /// Queues a held-back alert once its target's hour has room again (the latest state).
    fn release_held(&mut self, now: DateTime<Utc>) {
        let keys: Vec<String> = self.held.keys().cloned().collect();
        let mut any = false;
        for key in keys {
            if self.outbox.raised_within_hour(&key, now) >= self.per_hour(&key) {
                continue;
            }
            let shown = self
                .setup
                .targets
                .iter()
                .find(|t| t.key == key)
                .map(|t| t.target.shown())
                .unwrap_or_default();
            if let Some((id, words)) = self.held.remove(&key) {
                any |= self.outbox.push(id, &key, shown, words, now, false);
            }
        }
        if any {
            self.save();
        }
    }

    /// Starts a try for each target whose first waiting alert is due.
    fn start_due(&mut self, done: &mpsc::UnboundedSender<Tried>, token: &CancellationToken) {
        let busy = &self.busy;
        let due = self.outbox.due(Utc::now(), |t| busy.contains(t));
        for entry in due {
            let Some(target) = self
                .setup
                .targets
                .iter()
                .find(|t| t.key == entry.target)
                .cloned()
            else {
                // A target no longer configured: its alerts are given up at once.
                self.tried(Tried {
                    id: entry.id.clone(),
                    target: entry.target.clone(),
                    outcome: Err("the target is no longer configured".into()),
                });
                continue;
            };
            self.busy.insert(entry.target.clone());
            let transports = self.transports.clone();
            let done = done.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let outcome = tokio::select! {
                    () = token.cancelled() => return,
                    outcome = transports.deliver(&target, &entry) => outcome,
                };
                let _ = done.send(Tried {
                    id: entry.id,
                    target: entry.target,
                    outcome,
                });
            });
        }
    }

    /// Records a try's outcome.
    fn tried(&mut self, tried: Tried) {
        self.busy.remove(&tried.target);
        let policy = if self.setup.targets.iter().any(|t| t.key == tried.target) {
            self.setup.policy.clone()
        } else {
            Policy {
                give_up: TimeDelta::zero(),
                ..self.setup.policy.clone()
            }
        };
        let why = tried.outcome.as_ref().err().cloned().unwrap_or_default();
        let what = self
            .outbox
            .entries()
            .iter()
            .find(|e| e.id == tried.id)
            .map(|e| {
                format!(
                    "{} alert ({}) to {}",
                    e.alert.message.event, e.alert.message.line, e.shown
                )
            })
            .unwrap_or_else(|| "an alert".into());
        match self
            .outbox
            .record(&tried.id, tried.outcome, Utc::now(), &policy)
        {
            Some(State::Delivered { .. }) => tracing::info!("{what}: delivered"),
            Some(State::GivenUp { .. }) => tracing::warn!(
                "{what}: given up, not accepted within {} h: {why}",
                policy.give_up.num_hours()
            ),
            Some(State::Pending { next_try }) => tracing::warn!(
                "{what}: not delivered ({why}); next try at {}",
                next_try.format("%H:%M:%S")
            ),
            None => {}
        }
        self.save();
    }
}

/// The user's time zone offset now, for the times in an alert's words.
fn local_offset() -> chrono::FixedOffset {
    *chrono::Local::now().offset()
}

/// An alert's id: the same event for the same target always gets the same one (the line, the
/// kind, when it began and ended), so a change seen twice is queued once.
fn event_id(line: &str, kind: EventKind, facts: &AlertFacts<'_>, target: &str) -> String {
    use sha2::Digest;
    let text = format!(
        "{line}\n{}\n{}\n{}\n{:?}",
        kind.as_str(),
        facts.verdict.as_str(),
        facts.since.timestamp_millis(),
        facts.until.map(|u| u.timestamp_millis())
    );
    let hash = hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8]);
    format!("{hash}-{target}")
}

/// The outcome of `dialtone alert test` for one target.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The target's URL as it may be shown.
    pub shown: String,
    /// Delivered, or why not.
    pub result: Result<(), String>,
}

/// Sends a test alert for the line `line` (label, provider, channels) to every target, side by
/// side, each within the policy's deadline; nothing goes into the outbox.
pub async fn send_test(setup: &AlertSetup, line: &LineInfo) -> Vec<TestOutcome> {
    let transports = match setup.transports() {
        Ok(t) => Arc::new(t),
        Err(e) => {
            return setup
                .targets
                .iter()
                .map(|t| TestOutcome {
                    shown: t.target.shown(),
                    result: Err(e.clone()),
                })
                .collect()
        }
    };
    let now = Utc::now();
    let offset = local_offset();
    let tries: Vec<_> = setup
        .targets
        .iter()
        .map(|t| {
            let label = t.target.label.clone().unwrap_or_else(|| line.label.clone());
            let facts = AlertFacts {
                event: AlertEvent::Test,
                line: &label,
                verdict: dialtone_core::verdict::Verdict::Healthy,
                previous: dialtone_core::verdict::Verdict::Healthy,
                since: now,
                until: None,
                at: now,
                diagnosis: None,
                provider: line.provider.as_deref(),
                channels: &line.channels,
                post: None,
                offset,
            };
            let alert = render_alert(&facts, t.target.lang.unwrap_or(setup.lang));
            let entry = outbox::Entry {
                id: format!("test-{}-{}", now.timestamp_millis(), t.key),
                target: t.key.clone(),
                shown: t.target.shown(),
                alert,
                created: now,
                state: State::Pending { next_try: now },
                attempts: 0,
                last_error: None,
            };
            let (t, transports) = (t.clone(), transports.clone());
            tokio::spawn(async move { transports.deliver(&t, &entry).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for (t, task) in setup.targets.iter().zip(tries) {
        let result = task
            .await
            .unwrap_or_else(|e| Err(format!("the try ended badly: {e}")));
        outcomes.push(TestOutcome {
            shown: t.target.shown(),
            result,
        });
    }
    outcomes
}

#[cfg(test)]
mod tests;
