//! The agent's side of the IPC socket: accepts same-user connections, reads bounded request
//! lines, hands each request to a [`Handler`], and streams events to subscribers.
//!
//! A bad line (not JSON, unknown request, too long) gets an error reply on that connection and
//! nothing else happens: the agent and other connections never notice.

use crate::framing::{self, Frame};
use crate::protocol::{
    parse_client_line, AgentStatus, ErrorReply, Event, Request, Response, ServerMessage, MAX_LINE,
    PROTOCOL_VERSION,
};
use crate::IpcError;
use dialtone_platform::local::{LocalListener, LocalStream};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// How many clients may be connected at once (the dashboard needs two; the rest is slack).
const MAX_CONNECTIONS: usize = 32;

/// Replies queued per connection before the reader waits for the writer.
const OUTBOX: usize = 64;

/// What the agent does with requests. The server answers `Hello` itself and turns `Subscribe`
/// into an event stream from [`Handler::subscribe`].
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request)
        -> impl Future<Output = Result<Response, ErrorReply>> + Send;

    /// The status now and a receiver for the events that follow.
    fn subscribe(&self) -> (AgentStatus, broadcast::Receiver<Event>);
}

/// A bound, not yet serving, IPC socket.
pub struct Server {
    listener: LocalListener,
    path: PathBuf,
}

impl Server {
    /// Binds the socket at `path`: creates its directory (0700), replaces a stale socket left by
    /// a crashed agent, and refuses with [`EndpointError::AlreadyRunning`](crate::EndpointError::AlreadyRunning) when an agent answers there.
    pub async fn bind(path: &Path) -> Result<Server, IpcError> {
        let listener = LocalListener::bind(path).await?;
        Ok(Server {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves connections until `shutdown` is cancelled, then removes the socket file.
    pub async fn serve<H: Handler>(self, handler: Arc<H>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let own_user = dialtone_platform::current_user();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok(stream) => stream,
                Err(err) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %err, "ipc: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            match stream.peer_user() {
                Ok(user) if user == own_user => {}
                Ok(user) => {
                    tracing::warn!(%user, "ipc: refused a connection from another user");
                    continue;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "ipc: cannot read peer credentials; refused");
                    continue;
                }
            }
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tracing::warn!("ipc: too many connections; refused one");
                continue;
            };
            let handler = handler.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                serve_connection(stream, handler, shutdown).await;
                drop(permit);
            });
        }
        if let Err(err) = self.listener.release() {
            tracing::debug!(path = %self.path.display(), error = %err, "ipc: socket not removed");
        }
    }
}

/// Reads requests from one connection and writes replies (and events, once subscribed).
async fn serve_connection<H: Handler>(
    stream: LocalStream,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    let (read_half, mut write_half) = stream.into_split();
    let (outbox, mut outbox_rx) = mpsc::channel::<ServerMessage>(OUTBOX);
    let connection = shutdown.child_token();

    let writer_done = connection.clone();
    let writer = tokio::spawn(async move {
        while let Some(message) = outbox_rx.recv().await {
            let mut line = match serde_json::to_vec(&message) {
                Ok(line) => line,
                Err(err) => {
                    tracing::error!(error = %err, "ipc: reply not serialisable");
                    continue;
                }
            };
            line.push(b'\n');
            if write_half.write_all(&line).await.is_err() {
                break;
            }
        }
        // The client went away (or we are shutting down): stop the reader and event pump too.
        writer_done.cancel();
    });

    let mut reader = BufReader::new(read_half);
    let mut buf = Vec::with_capacity(1024);
    let mut subscribed = false;
    loop {
        let frame = tokio::select! {
            () = connection.cancelled() => break,
            frame = framing::read_line(&mut reader, &mut buf, MAX_LINE) => frame,
        };
        let reply = match frame {
            Ok(Frame::Eof) | Err(_) => break,
            Ok(Frame::TooLong) => ServerMessage::Error {
                id: None,
                error: ErrorReply::TooLarge { limit: MAX_LINE },
            },
            Ok(Frame::Line) if buf.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Frame::Line) => match parse_client_line(&buf) {
                Err((id, error)) => ServerMessage::Error { id, error },
                Ok(message) => {
                    let id = message.id;
                    let result = match message.request {
                        Request::Hello { version } if version != PROTOCOL_VERSION => {
                            Err(ErrorReply::VersionMismatch {
                                agent: PROTOCOL_VERSION,
                                client: version,
                            })
                        }
                        Request::Hello { .. } => Ok(Response::Hello {
                            version: PROTOCOL_VERSION,
                            agent: env!("CARGO_PKG_VERSION").to_string(),
                        }),
                        Request::Subscribe if subscribed => Ok(Response::Subscribed {
                            status: handler.subscribe().0,
                        }),
                        Request::Subscribe => {
                            subscribed = true;
                            let (status, events) = handler.subscribe();
                            // The reply goes first so that the client sees `subscribed` before
                            // any event.
                            if outbox
                                .send(ServerMessage::Reply {
                                    id,
                                    response: Response::Subscribed { status },
                                })
                                .await
                                .is_err()
                            {
                                break;
                            }
                            tokio::spawn(pump_events(
                                events,
                                outbox.clone(),
                                connection.clone(),
                                handler.clone(),
                            ));
                            continue;
                        }
                        request => {
                            let name = request.name();
                            let result = handler.handle(request).await;
                            if let Err(error) = &result {
                                tracing::debug!(request = name, %error, "ipc: request failed");
                            }
                            result
                        }
                    };
                    match result {
                        Ok(response) => ServerMessage::Reply { id, response },
                        Err(error) => ServerMessage::Error {
                            id: Some(id),
                            error,
                        },
                    }
                }
            },
        };
        if outbox.send(reply).await.is_err() {
            break;
        }
    }
    connection.cancel();
    drop(outbox);
    let _ = writer.await;
}

/// Forwards events to one subscribed connection until it closes.
async fn pump_events<H: Handler>(
    mut events: broadcast::Receiver<Event>,
    outbox: mpsc::Sender<ServerMessage>,
    connection: CancellationToken,
    handler: Arc<H>,
) {
    loop {
        let event = tokio::select! {
            () = connection.cancelled() => return,
            event = events.recv() => event,
        };
        let event = match event {
            Ok(event) => event,
            // A slow client missed some events: what matters is the current state, so send it.
            Err(broadcast::error::RecvError::Lagged(_)) => Event::Status(handler.subscribe().0),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if outbox.send(ServerMessage::Event { event }).await.is_err() {
            return;
        }
    }
}
