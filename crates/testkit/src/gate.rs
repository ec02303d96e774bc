//! The one rule for tests that need something the machine may lack (root, miniupnpd, …), and
//! the one slack factor for wall-clock bounds.
//!
//! **Skipping.** On a developer's machine a test whose prerequisite is missing says so and
//! passes without running, so `cargo test` works without root. In CI (the `CI` environment
//! variable set, as `.ci/run` and every common CI service do) a skip would let a green run
//! hide a test that never ran, so the same missing prerequisite fails the test instead.
//!
//! **Slack.** A bound on how long something may take holds on an idle machine; `cargo test`
//! runs test binaries' tests in parallel on a shared 2-core machine, where the same work can
//! take several times as long. Bounds that only guard against "far too slow" are multiplied
//! by [`slack`], which reads `DIALTONE_TEST_SLACK` (a factor ≥ 1, default 1): set it to 2 or 3
//! on a loaded machine rather than widening each bound by hand.

use std::time::Duration;

/// The environment variable with the factor [`slack`] multiplies bounds by.
pub const SLACK_VAR: &str = "DIALTONE_TEST_SLACK";

/// Whether the tests run in CI: `CI` is set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    ci_value(std::env::var("CI").ok().as_deref())
}

fn ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A test's prerequisite: `met` says whether `what` (a sentence fragment naming the missing
/// thing and why the test needs it) is there. Returns `met`; when it is not met, panics in CI
/// (see [`in_ci`]) and elsewhere prints that the test is skipped, so the caller returns.
///
/// ```ignore
/// if !support::require(support::netns::is_root(), "root (the lab makes namespaces)") {
///     return;
/// }
/// ```
pub fn require(met: bool, what: &str) -> bool {
    require_in(in_ci(), met, what)
}

fn require_in(ci: bool, met: bool, what: &str) -> bool {
    if met {
        return true;
    }
    assert!(
        !ci,
        "CI is set, so this test must run, but it needs {what}: install or grant it \
         (scripts/test installs every tool and runs as root)"
    );
    eprintln!("skipped: needs {what} (this fails instead when CI is set)");
    false
}

/// [`require`] for root: `why` says what the test does with it.
pub fn require_root(why: &str) -> bool {
    require(crate::netns::is_root(), &format!("root to {why}"))
}

/// `bound` times the factor in `DIALTONE_TEST_SLACK` (default 1; values below 1 or not a
/// number count as 1, so slack only ever widens a bound).
pub fn slack(bound: Duration) -> Duration {
    slack_by(std::env::var(SLACK_VAR).ok().as_deref(), bound)
}

fn slack_by(factor: Option<&str>, bound: Duration) -> Duration {
    let factor = factor
        .and_then(|f| f.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f >= 1.0)
        .unwrap_or(1.0);
    bound.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_counts_when_set_to_anything_but_off() {
        assert!(ci_value(Some("true")));
        assert!(ci_value(Some("1")));
        assert!(!ci_value(None));
        assert!(!ci_value(Some("")));
        assert!(!ci_value(Some("0")));
        assert!(!ci_value(Some("FALSE")));
    }

    #[test]
    fn a_missing_prerequisite_skips_outside_ci() {
        assert!(!require_in(false, false, "miniupnpd"));
        assert!(require_in(true, true, "miniupnpd"));
    }

    #[test]
    #[should_panic(expected = "CI is set, so this test must run, but it needs miniupnpd")]
    fn a_missing_prerequisite_fails_in_ci() {
        require_in(true, false, "miniupnpd");
    }

    #[test]
    fn slack_only_widens() {
        let s = Duration::from_secs(10);
        assert_eq!(slack_by(None, s), s);
        assert_eq!(slack_by(Some("2.5"), s), Duration::from_secs(25));
        assert_eq!(slack_by(Some("0.5"), s), s);
        assert_eq!(slack_by(Some("lots"), s), s);
    }
}
