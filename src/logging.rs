//! dialtone's own diagnostic log: to stderr, warnings and up unless `RUST_LOG` asks for more.
//!
//! `RUST_LOG` takes `target=level` lists (`dialtone=debug,warn`). The filter is tracing's
//! `Targets`, not `EnvFilter`: `EnvFilter` compiles its directives with the regex engine,
//! whose code alone was about a quarter of a megabyte of an idle `watch`'s memory.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The filter for a `RUST_LOG` value, and what was wrong with it when it could not be read
/// (then warnings and up, as without it).
pub(crate) fn filter_for(spec: Option<&str>) -> (Targets, Option<String>) {
    let default = Targets::new().with_default(LevelFilter::WARN);
    match spec.map(str::trim).filter(|s| !s.is_empty()) {
        None => (default, None),
        Some(spec) => match spec.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(e) => (
                default,
                Some(format!(
                    "RUST_LOG={spec:?} is not a list of target=level ({e}); logging warnings"
                )),
            ),
        },
    }
}

/// Installs the stderr log for this process (once; later calls do nothing).
pub(crate) fn init() {
    let spec = std::env::var("RUST_LOG").ok();
    let (filter, problem) = filter_for(spec.as_deref());
    let installed = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .try_init();
    if let (Ok(()), Some(problem)) = (installed, problem) {
        tracing::warn!("{problem}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn without_rust_log_only_warnings_pass() {
        let (f, problem) = filter_for(None);
        assert!(problem.is_none());
        assert!(f.would_enable("dialtone::monitor", &Level::WARN));
        assert!(!f.would_enable("dialtone::monitor", &Level::INFO));
        assert!(filter_for(Some("  ")).0.would_enable("x", &Level::ERROR));
    }

    #[test]
    fn target_lists_are_honoured() {
        let (f, problem) = filter_for(Some("dialtone=debug,warn"));
        assert!(problem.is_none());
        assert!(f.would_enable("dialtone::probe::sip", &Level::DEBUG));
        assert!(!f.would_enable("hickory_proto", &Level::INFO));
        assert!(f.would_enable("hickory_proto", &Level::WARN));
    }

    #[test]
    fn an_unreadable_value_says_so_and_falls_back_to_warnings() {
        let (f, problem) = filter_for(Some("dialtone=loud"));
        let problem = problem.expect("a complaint");
        assert!(problem.contains("dialtone=loud"), "{problem}");
        assert!(f.would_enable("dialtone", &Level::WARN));
        assert!(!f.would_enable("dialtone", &Level::INFO));
    }
}
