//! dialtone, the app: the presenters of what [`dialtone_engine`] watches. The tray agent (tray
//! icon, notifications, the IPC endpoint the dashboard talks to), the command line and the
//! Prometheus exporter read what the engine's monitors publish and show it; none of them probes,
//! diagnoses or keeps state of its own (see the README's architecture sketch).
//!
//! What is public here is what the integration tests and benchmarks drive; the rest is the
//! app's own.

mod agent;
mod autostart;
pub mod cli;
mod link;
mod logging;
mod metrics;
mod notice;
pub mod outage_log;
mod shutdown;
#[cfg(test)]
mod test_support;
pub mod tray;

/// The user's language where no `--lang` or setting names one: the OS's locale (the
/// environment on Linux, the display language on Windows), English when it names none.
pub(crate) fn system_lang() -> dialtone_core::locale::Lang {
    dialtone_core::locale::Lang::from_locale(
        &dialtone_platform::locale::user_locale().unwrap_or_default(),
    )
}
