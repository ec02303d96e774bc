//! Records the git commit the agent is built from, for `dialtone --version`.
//!
//! `DIALTONE_GIT_COMMIT` is the short hash of HEAD, or "unknown" when there is no git
//! repository (a source tarball) or no `git` program: a release build must never fail for
//! want of version-control metadata. The working tree's dirtiness is not recorded: cargo
//! cannot re-run a build script on every edit of a tracked file, so a "-dirty" mark would be
//! stale as often as right.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn absolute(path: String) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        path
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }
}

fn main() {
    // A packager may pin the commit (e.g. building from an exported tree).
    println!("cargo:rerun-if-env-changed=DIALTONE_GIT_COMMIT");
    let commit = std::env::var("DIALTONE_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    // Re-run when HEAD moves: HEAD itself (checkout), the branch it names (commit) and the
    // packed refs (gc). In a worktree HEAD lives in the worktree's git dir, refs in the common one.
    // Only files that exist: cargo re-runs the script on every build for a missing one (packing
    // the refs deletes the loose branch file, which is a change too).
    let watch = |path: PathBuf| {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]).map(absolute) {
        watch(git_dir.join("HEAD"));
        if let Some(common) = git(&["rev-parse", "--git-common-dir"]).map(absolute) {
            watch(common.join("packed-refs"));
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watch(common.join(branch));
            }
        }
    } else {
        // Not a checkout: nothing to watch, and without any rerun-if line cargo would re-run
        // the script whenever any file of the package changes.
        println!("cargo:rerun-if-changed=build.rs");
    }
    println!("cargo:rustc-env=DIALTONE_GIT_COMMIT={commit}");
}
