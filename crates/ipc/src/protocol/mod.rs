//! The agent's IPC wire format: versioned, typed JSON messages, one JSON object per line.
//!
//! A client sends [`ClientMessage`] lines (`{"id":1,"request":{"type":"status"}}`); the agent
//! answers each with one [`ServerMessage`] line carrying the same `id`, either a
//! `{"kind":"reply",...}` or a `{"kind":"error",...}`. After a [`Request::Subscribe`] the agent
//! also sends `{"kind":"event",...}` lines on that connection whenever the status changes.
//!
//! These are wire types of their own (not the engine's internals) wherever the engine's types
//! might change shape, so the dashboard and the agent only have to agree on this file. The
//! monitor's [`Status`] and [`VerdictChanged`] are carried as they are: they are already the
//! shared, serialisable contract.
//!
//! [`Status`]: dialtone_core::schedule::Status

mod alerts;
mod bilingual;
mod outages;
mod provider;
mod settings;
mod status;

pub use alerts::{AlertTargetView, AlertTestView, AlertsReply, OutboxView, MAX_OUTBOX_ENTRIES};
pub use bilingual::Bilingual;
pub use outages::{
    EpisodeView, EpisodesReply, ExportFormat, HistoryPoint, HistoryReply, OutageView, ReportView,
};
pub use provider::{
    ChannelKind, ChannelView, ChannelsReply, FeedView, FeedsReply, PostView, ProviderInfo,
};
pub use settings::{AccountSettings, Settings, SettingsError, MAX_PROVIDER_ID};
pub use status::{AgentStatus, LineSummary};

use chrono::{DateTime, Utc};
use dialtone_core::locale::Lang;
use dialtone_core::schedule::VerdictChanged;
use dialtone_core::secret::Secret;
use serde::{Deserialize, Serialize};

/// The protocol version. Bumped on any incompatible change; the agent refuses other versions.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest line (request or reply, without the newline) either side accepts, in bytes.
/// Anything longer is answered with [`ErrorReply::TooLarge`] and skipped.
pub const MAX_LINE: usize = 64 * 1024;

/// The most history a client may ask for at once, in hours (one week).
pub const MAX_HISTORY_HOURS: u32 = 7 * 24;

/// How far back [`Request::Episodes`] may reach, in days (ten years: episodes are kept forever
/// by default, and a claim may concern an old one).
pub const MAX_EPISODE_DAYS: u32 = 3660;

/// The most episodes one [`Response::Episodes`] carries (the newest; `truncated` says so).
/// Bounds the reply well below the client's line limit.
pub const MAX_EPISODES: usize = 500;

/// The fault-report limits (channel, ticket, note), checked by [`dialtone_core::report`].
pub use dialtone_core::report::{MAX_REPORT_CHANNEL, MAX_REPORT_NOTE, MAX_REPORT_TICKET};

/// The longest pause [`Request::PauseAlerts`] may ask for: one day.
pub const MAX_PAUSE_MINUTES: u32 = 24 * 60;

/// The pause the tray's menu and the dashboard's button ask for: one hour.
pub const DEFAULT_PAUSE_MINUTES: u32 = 60;

/// The most fault reports one episode may carry (bounds the episode list's size).
pub const MAX_REPORTS_PER_EPISODE: usize = 20;

/// The largest export [`Response::Export`] carries, in bytes. Larger logs are exported with
/// `dialtone log --export`, which writes a file of any size.
pub const MAX_EXPORT_BYTES: usize = 4 * 1024 * 1024;

/// One line from a client: a request and the id its reply will carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientMessage {
    /// Chosen by the client; echoed in the reply so replies and events can be told apart.
    pub id: u64,
    /// What is asked.
    pub request: Request,
}

/// Everything a client may ask the agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Introduces the client and its protocol version; answered with [`Response::Hello`], or
    /// [`ErrorReply::VersionMismatch`] when the versions differ.
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
    },
    /// The current status of one line ([`Response::Status`]).
    Status {
        /// Which line (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// Checks and outages of the last `hours` hours ([`Response::History`]).
    History {
        /// How far back, 1..=[`MAX_HISTORY_HOURS`].
        hours: u32,
        /// Which line (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// Check every layer of one line now ([`Response::CheckStarted`]; the result arrives as
    /// an event).
    CheckNow {
        /// Which line (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// The current settings ([`Response::Settings`]). Never includes the password.
    GetSettings,
    /// Replaces the settings ([`Response::Settings`] with what was stored).
    SetSettings {
        /// The new settings; `password_stored` is ignored.
        settings: Settings,
        /// A new SIP password for the new settings' account, stored before anything else so
        /// that the old, perhaps rejected, password is never sent with the new settings.
        #[serde(
            default,
            with = "opt_secret_wire",
            skip_serializing_if = "Option::is_none"
        )]
        password: Option<Secret>,
    },
    /// Stores the SIP password in the OS keyring ([`Response::PasswordStored`]). The password
    /// is never sent back by any request.
    SetPassword {
        /// The password.
        #[serde(with = "secret_wire")]
        password: Secret,
    },
    /// The provider's official channels ([`Response::Channels`]).
    Channels {
        /// Which line (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// The latest posts of the provider's official status feeds ([`Response::Feeds`]).
    Feeds {
        /// Which line (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// Opens the dashboard window (or leaves the open one as it is) ([`Response::Done`]).
    OpenDashboard,
    /// Lifts the suspension after a rejected login, so that exactly one more REGISTER query is
    /// sent, now ([`Response::Done`]). Nothing happens when no login is suspended.
    RetryLogin,
    /// Pauses notifications for `minutes` minutes; 0 resumes them ([`Response::Status`]).
    PauseAlerts {
        /// How long, at most one day.
        minutes: u32,
    },
    /// Turns this connection into an event stream ([`Response::Subscribed`], then
    /// [`ServerMessage::Event`] lines). Requests may still be sent on it.
    Subscribe,
    /// Outage episodes of the last `days` days with their details ([`Response::Episodes`]).
    Episodes {
        /// How far back, 1..=[`MAX_EPISODE_DAYS`].
        days: u32,
        /// Which line (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// Attaches when and how the user reported the fault to an episode ([`Response::Done`]).
    AttachReport {
        /// The episode's id.
        episode: i64,
        /// When the provider received the report.
        reported_at: DateTime<Utc>,
        /// How: hotline, web form, e-mail ... (1..=[`MAX_REPORT_CHANNEL`] characters).
        channel: String,
        /// The provider's ticket number (at most [`MAX_REPORT_TICKET`] characters).
        #[serde(default)]
        ticket: Option<String>,
        /// Anything else worth keeping (at most [`MAX_REPORT_NOTE`] characters).
        #[serde(default)]
        note: Option<String>,
        /// Which line's outage log (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// The whole outage log, rendered ([`Response::Export`]); the client writes the file.
    ExportLog {
        /// CSV or the printable HTML report.
        format: ExportFormat,
        /// The language of headers and words.
        lang: Lang,
        /// Which line's outage log (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
    /// The alert targets (redacted) and the outbox ([`Response::Alerts`]).
    Alerts,
    /// Sends a test alert to every target ([`Response::AlertsTested`]).
    TestAlerts {
        /// Which line the test names (its label), when the config has several; none: the first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
}

impl Request {
    /// The request's wire name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Status { .. } => "status",
            Request::History { .. } => "history",
            Request::CheckNow { .. } => "check_now",
            Request::GetSettings => "get_settings",
            Request::SetSettings { .. } => "set_settings",
            Request::SetPassword { .. } => "set_password",
            Request::Channels { .. } => "channels",
            Request::Feeds { .. } => "feeds",
            Request::OpenDashboard => "open_dashboard",
            Request::RetryLogin => "retry_login",
            Request::PauseAlerts { .. } => "pause_alerts",
            Request::Subscribe => "subscribe",
            Request::Episodes { .. } => "episodes",
            Request::AttachReport { .. } => "attach_report",
            Request::ExportLog { .. } => "export_log",
            Request::Alerts => "alerts",
            Request::TestAlerts { .. } => "test_alerts",
        }
    }
}

/// The successful answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Hello`].
    Hello {
        /// The agent's [`PROTOCOL_VERSION`].
        version: u32,
        /// The agent's program version (`CARGO_PKG_VERSION`).
        agent: String,
    },
    /// Answer to [`Request::Status`] and [`Request::PauseAlerts`].
    Status {
        /// The status.
        status: AgentStatus,
    },
    /// Answer to [`Request::History`].
    History {
        /// The history.
        history: HistoryReply,
    },
    /// Answer to [`Request::CheckNow`]: the check was queued.
    CheckStarted,
    /// Answer to [`Request::GetSettings`] and [`Request::SetSettings`].
    Settings {
        /// The settings now in force.
        settings: Settings,
    },
    /// Answer to [`Request::SetPassword`].
    PasswordStored,
    /// Answer to [`Request::Channels`].
    Channels {
        /// The channels.
        channels: ChannelsReply,
    },
    /// Answer to [`Request::Feeds`].
    Feeds {
        /// The feeds and their latest posts.
        feeds: FeedsReply,
    },
    /// Answer to requests that only need an acknowledgement ([`Request::OpenDashboard`]).
    Done,
    /// Answer to [`Request::Subscribe`], with the status at the moment of subscribing.
    Subscribed {
        /// The status now; later changes arrive as events.
        status: AgentStatus,
    },
    /// Answer to [`Request::Episodes`].
    Episodes {
        /// The episodes.
        episodes: EpisodesReply,
    },
    /// Answer to [`Request::ExportLog`].
    Export {
        /// A suggested file name (`dialtone-outages-2026-03-02.csv`); plain, no directory.
        file_name: String,
        /// The file's text (UTF-8), at most [`MAX_EXPORT_BYTES`].
        content: String,
    },
    /// Answer to [`Request::Alerts`].
    Alerts {
        /// The targets and the outbox.
        alerts: AlertsReply,
    },
    /// Answer to [`Request::TestAlerts`]: per target, delivered or why not.
    AlertsTested {
        /// One per target, in the config's order.
        results: Vec<AlertTestView>,
    },
}

/// One line from the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A successful reply to the request with this id.
    Reply {
        /// The request's id.
        id: u64,
        /// The answer.
        response: Response,
    },
    /// A failed request; `id` is `None` when the line could not be read as a request at all.
    Error {
        /// The request's id, when it could be parsed.
        id: Option<u64>,
        /// What went wrong.
        error: ErrorReply,
    },
    /// Something happened (only on subscribed connections).
    Event {
        /// What happened.
        event: Event,
    },
}

/// What subscribers are told, as it happens.
// A status (with every line listed) is larger than a change; an event is sent a few times a
// minute and cloned once per subscriber, so boxing it would buy nothing but churn in every
// client's match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The status changed: a check finished, the confirmed verdict moved, settings changed, or
    /// alerts were paused.
    Status(AgentStatus),
    /// The confirmed verdict changed (sent in addition to the status event that carries it).
    Changed(VerdictChanged),
}

/// Why a request failed. Typed, so that the dashboard can word each case in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ErrorReply {
    /// The line was not valid JSON or not a known request.
    #[error("malformed request: {detail}")]
    Malformed {
        /// The parser's words.
        detail: String,
    },
    /// The line was longer than [`MAX_LINE`].
    #[error("request longer than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The client speaks another protocol version.
    #[error("protocol version {client} is not supported by this agent (it speaks {agent})")]
    VersionMismatch {
        /// The agent's version.
        agent: u32,
        /// The client's version.
        client: u32,
    },
    /// A request's values are out of range or inconsistent.
    #[error("invalid value for {field}: {detail}")]
    Invalid {
        /// The offending field, e.g. `settings.account.registrar`.
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A part of the agent that this request needs is not available (e.g. the history store).
    #[error("{what} is not available: {detail}")]
    Unavailable {
        /// Which part.
        what: String,
        /// Why.
        detail: String,
    },
    /// The OS keyring refused to store the password.
    #[error("the keyring could not store the password: {detail}")]
    Keyring {
        /// The keyring's words (never the password).
        detail: String,
    },
    /// The settings could not be written.
    #[error("the settings could not be saved: {detail}")]
    Storage {
        /// What failed.
        detail: String,
    },
    /// The dashboard could not be started.
    #[error("the dashboard could not be started: {detail}")]
    Dashboard {
        /// What failed.
        detail: String,
    },
}

/// Serialises a [`Secret`] as a plain JSON string on the wire (the socket is private to the
/// user); its `Debug` stays redacted everywhere else.
/// [`secret_wire`] for an optional password.
mod opt_secret_wire {
    use dialtone_core::secret::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        secret: &Option<Secret>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match secret {
            Some(secret) => serializer.serialize_some(secret.expose()),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Secret>, D::Error> {
        Option::<String>::deserialize(deserializer).map(|v| v.map(Secret::new))
    }
}

mod secret_wire {
    use dialtone_core::secret::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        secret: &Secret,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secret.expose())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Parses one client line into a message, mapping failures to the reply the client gets.
///
/// Returns the id too when the line was JSON with a numeric `id` but not a valid request, so
/// the error reply can still be matched by the client.
pub fn parse_client_line(line: &[u8]) -> Result<ClientMessage, (Option<u64>, ErrorReply)> {
    if line.len() > MAX_LINE {
        return Err((None, ErrorReply::TooLarge { limit: MAX_LINE }));
    }
    serde_json::from_slice::<ClientMessage>(line).map_err(|err| {
        let id = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|value| value.get("id").and_then(serde_json::Value::as_u64));
        (
            id,
            ErrorReply::Malformed {
                detail: err.to_string(),
            },
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dialtone_core::schedule::Status;
    use dialtone_core::verdict::Verdict;

    #[test]
    fn requests_have_a_stable_wire_form() {
        let msg = ClientMessage {
            id: 7,
            request: Request::History {
                hours: 24,
                line: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"id":7,"request":{"type":"history","hours":24}}"#
        );
        let parsed = parse_client_line(br#"{"id":1,"request":{"type":"check_now"}}"#).unwrap();
        assert!(matches!(parsed.request, Request::CheckNow { line: None }));
    }

    #[test]
    fn a_line_label_is_optional_on_the_wire() {
        // An older client's unit requests still parse, as requests for the first line.
        for (text, name) in [
            (r#"{"type":"status"}"#, "status"),
            (r#"{"type":"channels"}"#, "channels"),
            (r#"{"type":"feeds"}"#, "feeds"),
            (r#"{"type":"episodes","days":3}"#, "episodes"),
        ] {
            let line = format!(r#"{{"id":1,"request":{text}}}"#);
            let parsed = parse_client_line(line.as_bytes()).unwrap();
            assert_eq!(parsed.request.name(), name);
            assert_eq!(serde_json::to_string(&parsed.request).unwrap(), text);
        }
        let parsed =
            parse_client_line(br#"{"id":2,"request":{"type":"status","line":"Office"}}"#).unwrap();
        assert!(
            matches!(parsed.request, Request::Status { line: Some(ref l) } if l == "Office"),
            "{parsed:?}"
        );
        // A status of one line lists them all; with none listed (an older agent) it still reads.
        let status: AgentStatus = serde_json::from_value(serde_json::json!({
            "status": serde_json::to_value(Status {
                verdict: Verdict::Healthy,
                since: chrono::Utc::now(),
                diagnosis: None,
                latest: None,
                thresholds: Default::default(),
            }).unwrap(),
            "configured": true,
            "alerts_paused_until": null,
            "provider": null,
            "lang": "en",
        }))
        .unwrap();
        assert!(status.lines.is_empty() && status.line.is_none());
    }

    #[test]
    fn malformed_lines_keep_their_id_when_possible() {
        let (id, err) = parse_client_line(br#"{"id":5,"request":{"type":"fly"}}"#).unwrap_err();
        assert_eq!(id, Some(5));
        assert!(matches!(err, ErrorReply::Malformed { .. }));
        let (id, _) = parse_client_line(b"not json").unwrap_err();
        assert_eq!(id, None);
        let big = vec![b'x'; MAX_LINE + 1];
        assert_eq!(
            parse_client_line(&big).unwrap_err().1,
            ErrorReply::TooLarge { limit: MAX_LINE }
        );
    }

    #[test]
    fn the_password_travels_but_never_prints() {
        let msg = ClientMessage {
            id: 1,
            request: Request::SetPassword {
                password: Secret::new("hunter2"),
            },
        };
        let json = serde_json::to_string(&msg).unwrap();
        let back = parse_client_line(json.as_bytes()).unwrap();
        let debug = format!("{back:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        match back.request {
            Request::SetPassword { password } => assert_eq!(password.expose(), "hunter2"),
            other => panic!("wrong request {other:?}"),
        }
    }

    #[test]
    fn settings_never_carry_a_password_field() {
        let json = serde_json::to_value(Settings::default()).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert!(!keys
            .iter()
            .any(|k| k.contains("password") && k != "password_stored"));
        // And a client that tries to smuggle one in is told so.
        let err = parse_client_line(
            br#"{"id":2,"request":{"type":"set_settings","settings":{"password":"x"}}}"#,
        )
        .unwrap_err();
        assert!(matches!(err.1, ErrorReply::Malformed { .. }));
    }

    #[test]
    fn outage_log_requests_have_a_stable_wire_form() {
        let parsed = parse_client_line(
            br#"{"id":3,"request":{"type":"attach_report","episode":4,"reported_at":"2026-03-02T09:05:00Z","channel":"hotline"}}"#,
        )
        .unwrap();
        match parsed.request {
            Request::AttachReport {
                episode,
                channel,
                ticket,
                note,
                ..
            } => {
                assert_eq!((episode, channel.as_str()), (4, "hotline"));
                assert_eq!(
                    (ticket, note),
                    (None, None),
                    "optional fields may be left out"
                );
            }
            other => panic!("{other:?}"),
        }
        let msg = ClientMessage {
            id: 8,
            request: Request::ExportLog {
                format: ExportFormat::Html,
                lang: Lang::De,
                line: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"id":8,"request":{"type":"export_log","format":"html","lang":"de"}}"#
        );
        assert!(parse_client_line(
            br#"{"id":9,"request":{"type":"export_log","format":"pdf","lang":"en"}}"#
        )
        .is_err());
    }

    #[test]
    fn errors_and_events_round_trip() {
        let msg = ServerMessage::Error {
            id: None,
            error: ErrorReply::TooLarge { limit: MAX_LINE },
        };
        let json = serde_json::to_string(&msg).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"error","id":null,"error":{"code":"too_large","limit":65536}}"#
        );
        assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), msg);
    }
}
