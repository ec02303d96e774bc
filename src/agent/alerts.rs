//! The dashboard's "Alerts" settings, served by the agent: the config's `[[alert]]` targets
//! (redacted: the IPC never carries a topic, token or Apprise URL), the outbox, and a test
//! alert to every target with its outcome.

use super::{lock, Agent};
use dialtone_engine::alert::{outbox, AlertSetup, LineInfo};
use dialtone_ipc::protocol::{
    AlertTargetView, AlertTestView, AlertsReply, ErrorReply, OutboxView, Response,
    MAX_OUTBOX_ENTRIES,
};

/// A blocking task that ended badly (it panicked), as the dashboard is told.
fn task_failed(e: &tokio::task::JoinError) -> ErrorReply {
    ErrorReply::Unavailable {
        what: "alerts".into(),
        detail: e.to_string(),
    }
}

impl Agent {
    /// The config's alert setup, secrets resolved off the async workers (the keyring).
    async fn alert_setup(&self) -> Result<AlertSetup, ErrorReply> {
        let (config, lang) = {
            let state = lock(&self.state);
            (state.config.clone(), state.lang)
        };
        let base = self.alert_base.clone();
        tokio::task::spawn_blocking(move || {
            AlertSetup::for_run(&config, &[], base.as_deref(), lang)
        })
        .await
        .map_err(|e| task_failed(&e))?
        .map_err(|e| ErrorReply::Invalid {
            field: "alert".into(),
            detail: e.to_string(),
        })
    }

    /// [`dialtone_ipc::protocol::Request::Alerts`].
    pub(crate) async fn alerts_reply(&self) -> Result<Response, ErrorReply> {
        let setup = self.alert_setup().await?;
        let targets = setup
            .targets
            .iter()
            .map(|t| AlertTargetView {
                shown: t.target.shown(),
                kind: t.target.target.kind().into(),
                events: t.target.events.iter().map(|e| e.as_str().into()).collect(),
            })
            .collect();
        let path = setup.outbox.clone();
        let entries = tokio::task::spawn_blocking(move || outbox::Outbox::open(&path))
            .await
            .map_err(|e| task_failed(&e))?
            .map_err(|e| ErrorReply::Unavailable {
                what: "alert outbox".into(),
                detail: e.to_string(),
            })?
            .entries()
            .to_vec();
        let skip = entries.len().saturating_sub(MAX_OUTBOX_ENTRIES);
        let outbox = entries
            .into_iter()
            .skip(skip)
            .map(|e| OutboxView {
                created: e.created,
                line: e.alert.message.line,
                event: e.alert.message.event,
                headline: e.alert.message.headline,
                target: e.shown,
                state: match e.state {
                    outbox::State::Pending { .. } => "pending",
                    outbox::State::Delivered { .. } => "delivered",
                    outbox::State::GivenUp { .. } => "given_up",
                }
                .into(),
                attempts: e.attempts,
                last_error: e.last_error,
            })
            .collect();
        Ok(Response::Alerts {
            alerts: AlertsReply { targets, outbox },
        })
    }

    /// [`dialtone_ipc::protocol::Request::TestAlerts`], naming the line at `index`.
    pub(crate) async fn test_alerts(&self, index: usize) -> Result<Response, ErrorReply> {
        let setup = self.alert_setup().await?;
        if setup.is_empty() {
            return Err(ErrorReply::Invalid {
                field: "alert".into(),
                detail: "the config has no [[alert]] targets".into(),
            });
        }
        let line = {
            let state = lock(&self.state);
            state.line(index).map(|l| LineInfo {
                label: l.label.clone(),
                provider: l.provider.as_ref().map(|p| p.name.clone()),
                channels: l
                    .provider
                    .as_ref()
                    .map(|p| p.channels.clone())
                    .unwrap_or_default(),
            })
        };
        let results = dialtone_engine::alert::send_test(&setup, &line.unwrap_or_default())
            .await
            .into_iter()
            .map(|o| AlertTestView {
                target: o.shown,
                delivered: o.result.is_ok(),
                reason: o.result.err(),
            })
            .collect();
        Ok(Response::AlertsTested { results })
    }
}
