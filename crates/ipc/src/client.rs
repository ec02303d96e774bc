//! The client side of the agent's IPC socket, used by the dashboard and by a second `dialtone`
//! start: connect (with the version handshake), send typed requests, or subscribe to events.
//!
//! One [`Client`] is one connection and answers one request at a time; a dashboard that wants
//! live events and requests at once opens two: one turned into a [`Subscription`], one for
//! requests.

use crate::framing::{self, Frame};
use crate::protocol::{
    AgentStatus, AlertTestView, AlertsReply, ChannelsReply, ClientMessage, EpisodesReply,
    ErrorReply, Event, ExportFormat, FeedsReply, HistoryReply, Request, Response, ServerMessage,
    Settings, PROTOCOL_VERSION,
};
use chrono::{DateTime, Utc};
use dialtone_core::locale::Lang;
use dialtone_core::secret::Secret;
use dialtone_platform::local::{LocalReadHalf, LocalStream, LocalWriteHalf};
use dialtone_platform::UserId;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};

/// The longest line the client accepts from the agent. Larger than requests may be, because a
/// week of history is a big reply.
pub const MAX_REPLY_LINE: usize = 16 * 1024 * 1024;

/// How long a request may wait for its reply before the client gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why talking to the agent failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No agent listens at the socket (not running, or a stale socket).
    #[error("cannot connect to the dialtone agent at {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The process behind the socket runs as another user: nothing was sent to it.
    #[error("refused the socket {path}: the process behind it runs as {uid}, not as this user")]
    ForeignPeer {
        /// The socket path.
        path: PathBuf,
        /// The peer's user.
        uid: UserId,
    },
    /// The socket path could not be determined.
    #[error(transparent)]
    Path(#[from] super::IpcError),
    /// Reading or writing the connection failed.
    #[error("connection to the dialtone agent at {path} failed: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The agent closed the connection.
    #[error("the dialtone agent at {path} closed the connection")]
    Closed {
        /// The socket path.
        path: PathBuf,
    },
    /// The agent did not answer in time.
    #[error("the dialtone agent did not answer the {request} request within {timeout:?}")]
    Timeout {
        /// The request's name.
        request: &'static str,
        /// How long we waited.
        timeout: Duration,
    },
    /// The agent sent something that is not a valid message.
    #[error("the dialtone agent sent an invalid message: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
    /// The agent answered with an error.
    #[error("the dialtone agent refused the {request} request: {error}")]
    Agent {
        /// The request's name.
        request: &'static str,
        /// The agent's typed error.
        error: ErrorReply,
    },
    /// The agent answered with a reply of the wrong type.
    #[error("the dialtone agent answered the {request} request with an unexpected reply")]
    Unexpected {
        /// The request's name.
        request: &'static str,
    },
}

/// One connection to the agent.
pub struct Client {
    path: PathBuf,
    reader: BufReader<LocalReadHalf>,
    writer: LocalWriteHalf,
    next_id: u64,
    buf: Vec<u8>,
    /// Events that arrived while waiting for a reply on a subscribed connection.
    events: VecDeque<Event>,
    timeout: Duration,
}

impl Client {
    /// Connects to the agent at the default socket path ([`super::socket_path`]).
    pub async fn connect_default() -> Result<Client, ClientError> {
        let path = super::socket_path()?;
        Client::connect(&path).await
    }

    /// Connects to the agent at `path` and performs the version handshake.
    pub async fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = LocalStream::connect(path)
            .await
            .map_err(|source| ClientError::Connect {
                path: path.to_path_buf(),
                source,
            })?;
        // Before a single byte goes out (the first request may be followed by SetPassword): the
        // peer must be this user's own process.
        let peer = stream.peer_user().map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        if peer != dialtone_platform::current_user() {
            return Err(ClientError::ForeignPeer {
                path: path.to_path_buf(),
                uid: peer,
            });
        }
        let (read_half, writer) = stream.into_split();
        let mut client = Client {
            path: path.to_path_buf(),
            reader: BufReader::new(read_half),
            writer,
            next_id: 1,
            buf: Vec::new(),
            events: VecDeque::new(),
            timeout: REQUEST_TIMEOUT,
        };
        match client
            .request(Request::Hello {
                version: PROTOCOL_VERSION,
            })
            .await?
        {
            Response::Hello { .. } => Ok(client),
            _ => Err(ClientError::Unexpected { request: "hello" }),
        }
    }

    /// Changes how long requests wait for their reply.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends one request and waits for its reply. Events arriving meanwhile are kept for
    /// [`Client::next_event`].
    pub async fn request(&mut self, request: Request) -> Result<Response, ClientError> {
        let name = request.name();
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(&ClientMessage { id, request }).map_err(|err| {
            ClientError::Protocol {
                detail: err.to_string(),
            }
        })?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .await
            .map_err(|source| self.io_error(source))?;
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.await_reply(id, name))
            .await
            .map_err(|_| ClientError::Timeout {
                request: name,
                timeout,
            })?
    }

    async fn await_reply(&mut self, id: u64, name: &'static str) -> Result<Response, ClientError> {
        loop {
            match self.read_message().await? {
                ServerMessage::Reply { id: got, response } if got == id => return Ok(response),
                ServerMessage::Error { id: got, error } if got == Some(id) || got.is_none() => {
                    return Err(ClientError::Agent {
                        request: name,
                        error,
                    })
                }
                ServerMessage::Event { event } => self.events.push_back(event),
                // A reply to an earlier request that timed out: ignore it.
                ServerMessage::Reply { .. } | ServerMessage::Error { .. } => {}
            }
        }
    }

    async fn read_message(&mut self) -> Result<ServerMessage, ClientError> {
        loop {
            match framing::read_line(&mut self.reader, &mut self.buf, MAX_REPLY_LINE).await {
                Err(source) => return Err(self.io_error(source)),
                Ok(Frame::Eof) => {
                    return Err(ClientError::Closed {
                        path: self.path.clone(),
                    })
                }
                Ok(Frame::TooLong) => {
                    return Err(ClientError::Protocol {
                        detail: format!("a reply longer than {MAX_REPLY_LINE} bytes"),
                    })
                }
                Ok(Frame::Line) if self.buf.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Frame::Line) => {
                    return serde_json::from_slice(&self.buf).map_err(|err| ClientError::Protocol {
                        detail: err.to_string(),
                    })
                }
            }
        }
    }

    fn io_error(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The next event on a subscribed connection (waits without a timeout).
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        if let Some(event) = self.events.pop_front() {
            return Ok(event);
        }
        loop {
            if let ServerMessage::Event { event } = self.read_message().await? {
                return Ok(event);
            }
        }
    }

    /// The agent's status (of its first line).
    pub async fn status(&mut self) -> Result<AgentStatus, ClientError> {
        self.status_of(None).await
    }

    /// The status of the line labelled `line` (`None`: the first).
    pub async fn status_of(&mut self, line: Option<&str>) -> Result<AgentStatus, ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::Status { line }).await? {
            Response::Status { status } => Ok(status),
            _ => Err(ClientError::Unexpected { request: "status" }),
        }
    }

    /// Checks and outages of the last `hours` hours.
    pub async fn history(&mut self, hours: u32) -> Result<HistoryReply, ClientError> {
        self.history_of(hours, None).await
    }

    /// [`Client::history`] of the line labelled `line` (`None`: the first).
    pub async fn history_of(
        &mut self,
        hours: u32,
        line: Option<&str>,
    ) -> Result<HistoryReply, ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::History { hours, line }).await? {
            Response::History { history } => Ok(history),
            _ => Err(ClientError::Unexpected { request: "history" }),
        }
    }

    /// Asks for an immediate check; the result arrives as an event / in the next status.
    pub async fn check_now(&mut self) -> Result<(), ClientError> {
        self.check_now_of(None).await
    }

    /// [`Client::check_now`] for the line labelled `line` (`None`: the first).
    pub async fn check_now_of(&mut self, line: Option<&str>) -> Result<(), ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::CheckNow { line }).await? {
            Response::CheckStarted => Ok(()),
            _ => Err(ClientError::Unexpected {
                request: "check_now",
            }),
        }
    }

    /// The settings (without the password).
    pub async fn settings(&mut self) -> Result<Settings, ClientError> {
        match self.request(Request::GetSettings).await? {
            Response::Settings { settings } => Ok(settings),
            _ => Err(ClientError::Unexpected {
                request: "get_settings",
            }),
        }
    }

    /// Replaces the settings; returns what the agent stored.
    pub async fn set_settings(&mut self, settings: Settings) -> Result<Settings, ClientError> {
        self.set_settings_with_password(settings, None).await
    }

    /// Replaces the settings and, in the same request, the SIP password (stored first).
    pub async fn set_settings_with_password(
        &mut self,
        settings: Settings,
        password: Option<Secret>,
    ) -> Result<Settings, ClientError> {
        match self
            .request(Request::SetSettings { settings, password })
            .await?
        {
            Response::Settings { settings } => Ok(settings),
            _ => Err(ClientError::Unexpected {
                request: "set_settings",
            }),
        }
    }

    /// Stores the SIP password in the keyring (through the agent).
    pub async fn set_password(&mut self, password: Secret) -> Result<(), ClientError> {
        match self.request(Request::SetPassword { password }).await? {
            Response::PasswordStored => Ok(()),
            _ => Err(ClientError::Unexpected {
                request: "set_password",
            }),
        }
    }

    /// The provider's channels.
    pub async fn channels(&mut self) -> Result<ChannelsReply, ClientError> {
        self.channels_of(None).await
    }

    /// The same for the line labelled `line` (`None`: the first).
    pub async fn channels_of(&mut self, line: Option<&str>) -> Result<ChannelsReply, ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::Channels { line }).await? {
            Response::Channels { channels } => Ok(channels),
            _ => Err(ClientError::Unexpected {
                request: "channels",
            }),
        }
    }

    /// The latest posts of the provider's status feeds.
    pub async fn feeds(&mut self) -> Result<FeedsReply, ClientError> {
        self.feeds_of(None).await
    }

    /// The same for the line labelled `line` (`None`: the first).
    pub async fn feeds_of(&mut self, line: Option<&str>) -> Result<FeedsReply, ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::Feeds { line }).await? {
            Response::Feeds { feeds } => Ok(feeds),
            _ => Err(ClientError::Unexpected { request: "feeds" }),
        }
    }

    /// Asks the agent to open the dashboard.
    pub async fn open_dashboard(&mut self) -> Result<(), ClientError> {
        match self.request(Request::OpenDashboard).await? {
            Response::Done => Ok(()),
            _ => Err(ClientError::Unexpected {
                request: "open_dashboard",
            }),
        }
    }

    /// Asks the agent to try the suspended login once more.
    pub async fn retry_login(&mut self) -> Result<(), ClientError> {
        match self.request(Request::RetryLogin).await? {
            Response::Done => Ok(()),
            _ => Err(ClientError::Unexpected {
                request: "retry_login",
            }),
        }
    }

    /// Pauses notifications for `minutes` (0 resumes them).
    pub async fn pause_alerts(&mut self, minutes: u32) -> Result<AgentStatus, ClientError> {
        match self.request(Request::PauseAlerts { minutes }).await? {
            Response::Status { status } => Ok(status),
            _ => Err(ClientError::Unexpected {
                request: "pause_alerts",
            }),
        }
    }

    /// Subscribes this connection to events; returns the status at the moment of subscribing.
    /// Then call [`Client::next_event`] in a loop (requests remain possible on it).
    pub async fn subscribe(&mut self) -> Result<AgentStatus, ClientError> {
        match self.request(Request::Subscribe).await? {
            Response::Subscribed { status } => Ok(status),
            _ => Err(ClientError::Unexpected {
                request: "subscribe",
            }),
        }
    }

    /// Outage episodes of the last `days` days with their details.
    pub async fn episodes(&mut self, days: u32) -> Result<EpisodesReply, ClientError> {
        self.episodes_of(days, None).await
    }

    /// [`Client::episodes`] of the line labelled `line` (`None`: the first).
    pub async fn episodes_of(
        &mut self,
        days: u32,
        line: Option<&str>,
    ) -> Result<EpisodesReply, ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::Episodes { days, line }).await? {
            Response::Episodes { episodes } => Ok(episodes),
            _ => Err(ClientError::Unexpected {
                request: "episodes",
            }),
        }
    }

    /// Attaches a fault report to episode `episode`.
    pub async fn attach_report(
        &mut self,
        episode: i64,
        reported_at: DateTime<Utc>,
        channel: String,
        ticket: Option<String>,
        note: Option<String>,
    ) -> Result<(), ClientError> {
        let report = ReportFields {
            episode,
            reported_at,
            channel,
            ticket,
            note,
        };
        self.attach_report_of(report, None).await
    }

    /// [`Client::attach_report`] to an episode of the line labelled `line` (`None`: the
    /// first): each line keeps its own outage log, with its own episode numbers.
    pub async fn attach_report_of(
        &mut self,
        report: ReportFields,
        line: Option<&str>,
    ) -> Result<(), ClientError> {
        let request = Request::AttachReport {
            episode: report.episode,
            reported_at: report.reported_at,
            channel: report.channel,
            ticket: report.ticket,
            note: report.note,
            line: line.map(str::to_string),
        };
        match self.request(request).await? {
            Response::Done => Ok(()),
            _ => Err(ClientError::Unexpected {
                request: "attach_report",
            }),
        }
    }

    /// The whole outage log rendered as `format` in `lang`: `(file_name, content)`.
    pub async fn export_log(
        &mut self,
        format: ExportFormat,
        lang: Lang,
    ) -> Result<(String, String), ClientError> {
        self.export_log_of(format, lang, None).await
    }

    /// [`Client::export_log`] of the line labelled `line` (`None`: the first).
    pub async fn export_log_of(
        &mut self,
        format: ExportFormat,
        lang: Lang,
        line: Option<&str>,
    ) -> Result<(String, String), ClientError> {
        let line = line.map(str::to_string);
        match self
            .request(Request::ExportLog { format, lang, line })
            .await?
        {
            Response::Export { file_name, content } => Ok((file_name, content)),
            _ => Err(ClientError::Unexpected {
                request: "export_log",
            }),
        }
    }

    /// The alert targets (redacted) and the outbox.
    pub async fn alerts(&mut self) -> Result<AlertsReply, ClientError> {
        match self.request(Request::Alerts).await? {
            Response::Alerts { alerts } => Ok(alerts),
            _ => Err(ClientError::Unexpected { request: "alerts" }),
        }
    }

    /// Sends a test alert to every target, naming the line labelled `line` (`None`: the
    /// first); per target, delivered or why not.
    pub async fn test_alerts(
        &mut self,
        line: Option<&str>,
    ) -> Result<Vec<AlertTestView>, ClientError> {
        let line = line.map(str::to_string);
        match self.request(Request::TestAlerts { line }).await? {
            Response::AlertsTested { results } => Ok(results),
            _ => Err(ClientError::Unexpected {
                request: "test_alerts",
            }),
        }
    }
}

/// A fault report as [`Client::attach_report_of`] takes it.
#[derive(Debug, Clone)]
pub struct ReportFields {
    /// The episode's id in that line's log.
    pub episode: i64,
    /// When the provider received the report.
    pub reported_at: DateTime<Utc>,
    /// How it was reported.
    pub channel: String,
    /// The provider's ticket number.
    pub ticket: Option<String>,
    /// Anything else worth keeping.
    pub note: Option<String>,
}
