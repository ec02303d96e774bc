//! Shared support for dialtone's integration tests: a real kamailio registrar, network
//! namespaces for fault injection, a DNS server inside them, and the lab network
//! (client ─ router ─ internet ─ provider) built from all three.
//!
//! A crate of its own (`publish = false`), so every test crate (the agent's tests, the
//! dashboard's tests, the benchmarks) links the same harnesses without `#[path]` includes, and
//! an unused part is simply not called rather than dead code in each test binary.

pub mod desktop;
pub mod dns;
pub mod igd;
pub mod kamailio;
pub mod lab;
pub mod netns;
pub mod sip;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The layer `name` of a `dialtone check --json` report (panics, naming the report, when it
/// has none).
pub fn layer<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["layers"]
        .as_array()
        .and_then(|layers| layers.iter().find(|l| l["layer"] == name))
        .unwrap_or_else(|| panic!("no layer {name} in {json:#}"))
}

/// The `dialtone` binary of the build that runs this test or benchmark: next to the test
/// executable's `deps/` folder (`target/debug/dialtone` for `cargo test`,
/// `target/release/dialtone` for the benchmarks). Cargo builds it before the root package's
/// integration tests and benchmarks.
pub fn dialtone_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's folder");
    let profile = if deps.ends_with("deps") {
        deps.parent().expect("the profile folder")
    } else {
        deps
    };
    profile.join(format!("dialtone{}", std::env::consts::EXE_SUFFIX))
}

/// Runs `dialtone --lang LANG log --db DB --export FORMAT --output OUTPUT`, panics with its
/// stderr unless it succeeded, and returns the exported file's text.
pub fn export_log(db: &Path, format: &str, lang: &str, output: &Path) -> String {
    let out = Command::new(crate::dialtone_bin())
        .args(["--lang", lang, "log", "--db"])
        .arg(db)
        .args(["--export", format, "--output"])
        .arg(output)
        .output()
        .expect("run dialtone log --export");
    assert!(
        out.status.success(),
        "dialtone log --export {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(output).expect("read the export")
}
