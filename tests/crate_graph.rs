//! The crate graph is the architecture, and these checks keep it so: the dashboard links the
//! pure core and the IPC types only (none of the agent's storage, network, keyring, tray or
//! CLI crates), the core does no I/O, and the tray agent does not depend on its command line.
//! Each reads what cargo resolves (`cargo tree -e normal`), so a dependency that creeps in
//! through another crate is caught as well as a direct one.

use std::path::Path;
use std::process::Command;

/// The crate names (without versions) in `package`'s normal dependency tree.
fn normal_dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-p", package, "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("running cargo tree: {e}"));
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut names: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn assert_none_of(package: &str, banned: &[&str]) -> Vec<String> {
    let names = normal_dependencies(package);
    assert!(
        names.iter().any(|n| n == package),
        "the tree is {package}'s: {names:?}"
    );
    let found: Vec<&String> = names
        .iter()
        .filter(|n| banned.contains(&n.as_str()))
        .collect();
    assert!(found.is_empty(), "{package} links {found:?}");
    names
}

#[test]
fn the_dashboard_links_the_core_and_the_ipc_types_only() {
    let names = assert_none_of(
        "dialtone-dashboard",
        &[
            "dialtone",
            "rusqlite",
            "hickory-resolver",
            "tray-icon",
            "notify-rust",
            "keyring",
            "reqwest",
            "sysinfo",
            "clap",
            "ksni",
        ],
    );
    for needed in ["dialtone-core", "dialtone-ipc", "tauri"] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} missing: {names:?}"
        );
    }
}

#[test]
fn the_core_does_no_io() {
    assert_none_of(
        "dialtone-core",
        &[
            "tokio",
            "rusqlite",
            "hickory-resolver",
            "reqwest",
            "tray-icon",
            "notify-rust",
            "zbus",
        ],
    );
}

/// Every line of the `.rs` files directly under `dir` (relative to this package), with its
/// file and number; panics when fewer than `at_least` files were read, so a moved folder
/// cannot make a check pass by reading nothing.
fn source_lines(dir: &str, at_least: usize) -> Vec<(String, usize, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut read = 0;
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        read += 1;
        for (n, line) in text.lines().enumerate() {
            lines.push((path.display().to_string(), n + 1, line.to_string()));
        }
    }
    assert!(
        read >= at_least,
        "only {read} files read under {}",
        dir.display()
    );
    lines
}

#[test]
fn the_tray_agent_does_not_depend_on_the_command_line() {
    for (path, n, line) in source_lines("src/agent", 4) {
        // `crate::cli::…`, `super::cli`, or `cli` inside a `use crate::{…}` group.
        let grouped = line.contains("crate::{")
            && line
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "cli");
        assert!(
            !(line.contains("cli::") || line.contains("super::cli") || grouped),
            "{path}:{n} imports the CLI: {line}"
        );
    }
}

/// The tray agent presents what the engine's line runner publishes: it never reaches into the
/// probes (to validate settings it asks `setup`, for a line's monitor the runner).
#[test]
fn the_tray_agent_does_not_reach_into_the_probes() {
    for (path, n, line) in source_lines("src/agent", 6) {
        assert!(
            !line.contains("probe::"),
            "{path}:{n} reaches into the probes: {line}"
        );
    }
}

/// The `.rs` files under `dir`, its subdirectories included.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.map(|e| e.path()).unwrap_or_default();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn the_probes_report_kinds_and_leave_the_words_to_the_core() {
    // Probes record what they found (error kinds, codes, times); the diagnosis judges it and
    // the core's wording module words it where it is shown. A probe naming either would be
    // judging or wording a finding itself.
    let probes = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/engine/src/probe");
    let files = rust_files(&probes);
    for path in &files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in text.lines().enumerate() {
            // Code only: a comment may speak of "the diagnosis" or "the resolver's words".
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let code = code.split(" //").next().unwrap_or_default();
            let named = code
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .find(|w| *w == "diagnosis" || *w == "words");
            assert!(
                named.is_none(),
                "{}:{} names {named:?}: {line}",
                path.display(),
                n + 1
            );
        }
    }
    assert!(
        files.len() >= 15,
        "only {} files read under {}",
        files.len(),
        probes.display()
    );
}

/// The engine is probes, monitor and storage: no tray, notification, CLI, metrics or UI crate,
/// and no D-Bus (its secret store is a feature only the app turns on).
#[test]
fn the_engine_links_no_presenter() {
    assert_none_of(
        "dialtone-engine",
        &[
            "tray-icon",
            "ksni",
            "notify-rust",
            "clap",
            "prometheus-client",
            "tauri",
            "zbus",
        ],
    );
}

/// What differs between operating systems lives in `crates/platform` (one module per OS; Linux
/// and Windows names alike), so an OS is an added module there, not `cfg` across the tree. Tests, comments and docs
/// included: a Linux-only assertion or a sentence about `/proc/` is a sign the code next to it
/// is, too. Not scanned: `tests/`, `benches/` and `crates/testkit`, which drive Linux network
/// namespaces, sockets and a private D-Bus by nature.
#[test]
fn only_the_platform_seam_names_the_operating_system() {
    const OS_NAMES: [&str; 9] = [
        "std::os::unix",
        "rustix",
        "zbus",
        "ksni",
        "/proc/",
        "std::os::windows",
        "windows_sys",
        "windows_registry",
        "named_pipe",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "src",
        "crates/core/src",
        "crates/ipc/src",
        "crates/engine/src",
        "src-tauri/src",
    ] {
        files.extend(rust_files(&root.join(dir)));
    }
    let mut found = Vec::new();
    for path in &files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = OS_NAMES.iter().find(|name| line.contains(*name)) {
                let file = path.strip_prefix(root).unwrap_or(path);
                found.push(format!(
                    "{}:{}: {name}: {}",
                    file.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "outside the platform seam (crates/platform):\n{}",
        found.join("\n")
    );
    // 94 today; a wrong directory must not make this pass on nothing.
    assert!(files.len() >= 80, "only {} files read", files.len());
}

/// The README's crate table is the graph cargo resolves: every workspace crate has a row with
/// its folder and exactly the workspace crates it uses, so the sketch a newcomer reads first
/// cannot drift from the code.
#[test]
fn the_readme_sketch_is_the_crate_graph() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--locked", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("running cargo metadata: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("cargo metadata: {e}"));
    let readme = std::fs::read_to_string(root.join("README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let table = readme
        .split("## Architecture")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .unwrap_or_else(|| panic!("no crate table under '## Architecture' in the README"));
    // Rows start at the margin; columns are apart by two spaces or more.
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with("dialtone"))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    let short = |name: &str| name.strip_prefix("dialtone-").unwrap_or(name).to_string();
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    assert!(packages.len() >= 7, "only {} packages", packages.len());
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let folder = manifest
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .map(|dir| match dir.to_string_lossy().into_owned() {
                d if d.is_empty() => ".".to_string(),
                d => d,
            })
            .unwrap_or_default();
        let row = rows
            .iter()
            .find(|r| r[0].split(' ').next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name} in the README's crate table"));
        assert_eq!(
            row.get(1).copied(),
            Some(folder.as_str()),
            "{name}'s folder"
        );
        let mut uses: Vec<String> = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["path"].is_string() && d["kind"].is_null())
            .map(|d| short(d["name"].as_str().unwrap_or_default()))
            .collect();
        uses.sort();
        let mut said: Vec<String> = row
            .get(2)
            .map(|c| {
                c.split(", ")
                    .filter(|u| *u != "-")
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        said.sort();
        assert_eq!(said, uses, "the crates {name} uses");
    }
}
