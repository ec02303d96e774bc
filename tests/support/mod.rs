//! Shared support for dialtone's integration tests: a real kamailio registrar, network
//! namespaces for fault injection, a DNS server inside them, and the lab network
//! (client ─ router ─ internet ─ provider) built from all three.
//!
//! Each integration test file pulls this in with `mod support;` and uses only the parts it
//! needs, so unused items are expected per test binary.
#![allow(dead_code)]

pub mod desktop;
pub mod dns;
pub mod kamailio;
pub mod lab;
pub mod netns;
pub mod sip;

use std::path::Path;
use std::process::Command;

/// Runs `dialtone --lang LANG log --db DB --export FORMAT --output OUTPUT`, panics with its
/// stderr unless it succeeded, and returns the exported file's text.
pub fn export_log(db: &Path, format: &str, lang: &str, output: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
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
