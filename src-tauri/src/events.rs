//! The live link: subscribes to the agent's event stream and forwards it to the window; when
//! the agent goes away, says "reconnecting" and retries with backoff until it is back.
//!
//! The pump is written against [`Sink`] rather than Tauri so its reconnect logic is tested with
//! a plain channel; the app's sink emits Tauri events.

use crate::agent::Agent;
use crate::view::{ChangeView, StatusView};
use dialtone_ipc::client::Client;
use dialtone_ipc::protocol::Event;
use serde::Serialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Tauri event: the status changed ([`StatusView`]).
pub const STATUS_EVENT: &str = "agent:status";
/// Tauri event: the confirmed verdict changed ([`ChangeView`]).
pub const CHANGED_EVENT: &str = "agent:changed";
/// Tauri event: the link to the agent went up or down ([`Connection`]).
pub const CONNECTION_EVENT: &str = "agent:connection";

/// The state of the link to the agent, as the banner shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Subscribed: events flow.
    Connected,
    /// The agent is gone (or not yet there); retrying.
    Reconnecting,
}

/// What the pump hands to the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A status update.
    Status(Box<StatusView>),
    /// A confirmed change.
    Changed(Box<ChangeView>),
    /// The link went up or down.
    Connection(Connection),
}

/// Where the pump's output goes (the window, or a test's channel).
pub trait Sink: Send + 'static {
    /// Delivers one message; `false` when nobody listens any more (stop the pump).
    fn send(&self, message: Outgoing) -> bool;
}

/// How long to wait between reconnection attempts: doubling from `first` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        // Short first retries so an agent restart (a second or so) is bridged quickly; capped
        // so a stopped agent costs one connect attempt every few seconds, nothing more.
        Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(3),
        }
    }
}

/// Runs the pump until the sink closes or `stop` is raised.
pub async fn pump(agent: Agent, sink: impl Sink, backoff: Backoff, stop: CancellationToken) {
    let mut wait = backoff.first;
    // The window starts out not knowing: say "reconnecting" only once the first attempt failed,
    // so a healthy start does not flash the banner.
    let mut announced_down = false;
    loop {
        if stop.is_cancelled() {
            return;
        }
        match subscribe(&agent).await {
            Ok((mut client, status)) => {
                agent.set_connected(true);
                wait = backoff.first;
                announced_down = false;
                if !sink.send(Outgoing::Connection(Connection::Connected))
                    || !sink.send(Outgoing::Status(Box::new(StatusView::new(&status))))
                {
                    return;
                }
                loop {
                    let event = tokio::select! {
                        () = stop.cancelled() => return,
                        event = client.next_event() => event,
                    };
                    let message = match event {
                        Ok(Event::Status(status)) => {
                            Outgoing::Status(Box::new(StatusView::new(&status)))
                        }
                        Ok(Event::Changed(change)) => {
                            Outgoing::Changed(Box::new(ChangeView::new(&change)))
                        }
                        Err(err) => {
                            tracing::info!(error = %err, "agent event stream ended");
                            break;
                        }
                    };
                    if !sink.send(message) {
                        return;
                    }
                }
            }
            Err(err) => tracing::debug!(error = %err, "agent not reachable"),
        }
        agent.set_connected(false);
        if !announced_down {
            announced_down = true;
            if !sink.send(Outgoing::Connection(Connection::Reconnecting)) {
                return;
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(backoff.max);
    }
}

async fn subscribe(
    agent: &Agent,
) -> Result<(Client, dialtone_ipc::protocol::AgentStatus), dialtone_ipc::client::ClientError> {
    let mut client = Client::connect(agent.socket()).await?;
    let status = client.subscribe().await?;
    Ok((client, status))
}
