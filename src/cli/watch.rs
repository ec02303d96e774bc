//! `dialtone watch`: the line runner plus one presenter that prints each confirmed change (text
//! or one JSON object per line) until Ctrl-C or SIGTERM, with the Prometheus exporter attached
//! when asked. The runner supervises the lines, so a monitor that dies is restarted here as in
//! the tray agent.

use super::report::ChangeReport;
use super::{runtime, setup_failed, WatchArgs};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{EXIT_ALREADY_WATCHED, EXIT_CONFIG_ERROR, EXIT_RUNTIME_ERROR};
use dialtone_engine::alert::{AlertSetup, Alerter, SpawnError};
use dialtone_engine::lines::{LineEvent, Lines, LinesError, Sharing};
use dialtone_engine::setup::Prepared;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Runs `dialtone watch` with `args`.
pub(super) fn run(args: &WatchArgs, lang: Lang, out: &mut dyn Write) -> ExitCode {
    let mut overrides = args.overrides.overrides();
    args.monitor.add_to(&mut overrides);
    let mut lines = match overrides.resolve_lines() {
        Ok(lines) => lines,
        Err(e) => return setup_failed(&e),
    };
    for prepared in &mut lines {
        overrides.apply_schedule(&mut prepared.config.schedule);
    }
    let metrics = match &args.metrics {
        Some(text) => dialtone_core::config::parse_metrics_listen(text).map(Some),
        None => lines
            .first()
            .map_or(Ok(None), |p| p.config.metrics.parse_listen()),
    };
    let metrics = match metrics {
        Ok(addr) => addr,
        Err(e) => {
            tracing::error!("--metrics / metrics.listen: {}", e.message);
            return ExitCode::from(EXIT_CONFIG_ERROR);
        }
    };
    let history = overrides.history_path();
    // No targets: none of the alert machinery is set up (not even the outbox's path).
    let no_targets = args.alerts.is_empty() && lines.iter().all(|p| p.config.alerts.is_empty());
    let alerts = if no_targets {
        None
    } else {
        match super::alert::setup(&lines, &args.alerts, history.as_deref(), lang) {
            Ok(setup) if setup.is_empty() => None,
            Ok(setup) => Some(setup),
            Err(code) => return code,
        }
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(EXIT_RUNTIME_ERROR);
    };
    let plan = Plan {
        lines,
        alerts,
        history,
        metrics,
        json: args.json,
        lang,
    };
    rt.block_on(watch(plan, out, interrupted(), |_| {}))
}

/// What a watch runs, resolved from the command line and the config.
struct Plan {
    lines: Vec<Prepared>,
    alerts: Option<AlertSetup>,
    history: Option<PathBuf>,
    metrics: Option<SocketAddr>,
    json: bool,
    lang: Lang,
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut terminate = crate::shutdown::Terminate::listen();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate.recv() => {}
    }
}

/// Starts the plan's lines (refusing an account another process watches: a second watcher
/// would double the logins the provider counts), prints their changes until `stop` ends or
/// the output closes, then stops everything (the recorders flush). `started` sees the runner
/// once the lines run.
async fn watch(
    plan: Plan,
    out: &mut dyn Write,
    stop: impl Future<Output = ()>,
    started: impl FnOnce(&Lines),
) -> ExitCode {
    let shutdown = CancellationToken::new();
    let (mut runner, mut events) = Lines::new(plan.history, &shutdown);
    let mut exporter = None;
    if let Some(addr) = plan.metrics {
        match crate::metrics::Exporter::serve(addr, &shutdown).await {
            Ok(serving) => {
                runner.attach(serving.attach());
                exporter = Some(serving.server);
            }
            Err(e) => {
                tracing::error!("{e}");
                shutdown.cancel();
                return ExitCode::from(EXIT_CONFIG_ERROR);
            }
        }
    }
    // Alerts hear every line event before the report is printed; they never wait for it.
    let mut alerter = None;
    if let Some(setup) = plan.alerts {
        match Alerter::spawn(setup, super::alert::line_infos(&plan.lines), &shutdown) {
            Ok((handle, task)) => alerter = Some((handle, task)),
            // The other process alerts; this one watches on without sending twice.
            Err(e @ SpawnError::Busy(_)) => tracing::warn!("{e}: this watch sends no alerts"),
            Err(e) => {
                tracing::error!("{e}");
                shutdown.cancel();
                return ExitCode::from(EXIT_CONFIG_ERROR);
            }
        }
    }
    // A `[[line]]` line is named in each report.
    let shown: Vec<Option<String>> = plan
        .lines
        .iter()
        .map(|p| p.listed.then(|| p.label.clone()))
        .collect();
    let code = match runner.start(plan.lines, Sharing::Refuse).await {
        Ok(()) => {
            started(&runner);
            tokio::pin!(stop);
            loop {
                let (index, change) = tokio::select! {
                    () = &mut stop => break,
                    event = events.recv() => {
                        if let (Some((alerts, _)), Some(event)) = (&alerter, &event) {
                            alerts.offer(event);
                        }
                        match event {
                            Some(LineEvent::Changed { index, change }) => (index, change),
                            Some(_) => continue,
                            None => break,
                        }
                    },
                };
                let mut report = ChangeReport::new(&change, plan.lang);
                report.report.line = shown.get(index).cloned().flatten();
                let written = if plan.json {
                    serde_json::to_writer(&mut *out, &report)
                        .map_err(std::io::Error::other)
                        .and_then(|()| writeln!(out))
                } else {
                    report.write_text(plan.lang, out)
                };
                // A closed pipe (e.g. `| head`) ends the watch quietly.
                if written.and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e @ LinesError::AlreadyWatched { .. }) => {
            tracing::error!("{e}: stop it first, or follow it in its own window");
            ExitCode::from(EXIT_ALREADY_WATCHED)
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(EXIT_CONFIG_ERROR)
        }
    };
    shutdown.cancel();
    runner.stop().await;
    if let Some((_, task)) = alerter {
        let _ = task.await;
    }
    if let Some(server) = exporter {
        let _ = server.await;
    }
    code
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use dialtone_engine::setup::Overrides;
    use std::time::Duration;

    /// A watch of one line whose every layer is checked on loopback (`anchor` stands for the
    /// internet, the router view is off), recording nothing.
    fn plan(dir: &std::path::Path, anchor: &std::net::TcpListener) -> Plan {
        let addr = anchor.local_addr().unwrap().to_string();
        let overrides = Overrides {
            config: Some(dir.join("config.toml")),
            catalog: Some(dir.join("providers.toml")),
            anchors: vec![addr.clone(), addr],
            gateway: Some("127.0.0.1".into()),
            dns_name: Some("none".into()),
            router: Some("off".into()),
            timeout: Some(0.5),
            ..Overrides::default()
        };
        Plan {
            lines: overrides.resolve_lines().unwrap(),
            alerts: None,
            history: None,
            metrics: None,
            json: false,
            lang: Lang::En,
        }
    }

    #[tokio::test]
    async fn a_watch_monitor_that_dies_is_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let anchor = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let started = move |runner: &Lines| {
            let first = runner.handle(0).expect("the line runs");
            assert!(runner.kill_monitor(0), "its monitor was running");
            let _ = tx.send((runner.handles(), first));
        };
        // The watch goes on until a new monitor of the line has finished a round.
        let restarted = async move {
            let (handles, first) = rx.await.unwrap();
            loop {
                let gone = first.watch_status().has_changed().is_err();
                let new = handles.get(0).is_some_and(|h| {
                    h.watch_status().has_changed().is_ok() && h.status().latest.is_some()
                });
                if gone && new {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let mut out = Vec::new();
        let ended = tokio::time::timeout(
            Duration::from_secs(15),
            watch(plan(dir.path(), &anchor), &mut out, restarted, started),
        )
        .await
        .expect("restarted within the backoff and a round");
        assert_eq!(ended, ExitCode::SUCCESS);
    }
}
