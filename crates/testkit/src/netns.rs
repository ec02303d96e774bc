//! Network namespaces for the fault-injection suite: running code and processes inside a
//! namespace the test created.

use std::fs::File;
use std::process::Command;

use nix::sched::{setns, CloneFlags};

/// Runs `f` with its sockets in network namespace `ns` (or in the current one for `None`).
///
/// A namespace switch applies to one thread only, so `f` runs on a fresh thread that joins
/// the namespace first; sockets it creates stay in that namespace for their whole life, even
/// when later used from other threads.
pub fn run_in<T, F>(ns: Option<&str>, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let Some(name) = ns else {
        return f();
    };
    let path = format!("/run/netns/{name}");
    let handle = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open namespace {path}: {e}"));
        setns(&file, CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("join network namespace {path}: {e}"));
        f()
    });
    match handle.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A command that runs `program` inside namespace `ns` (via `ip netns exec`, which execs in
/// place, so the child's pid is the program's own) or directly for `None`.
pub fn command_in(ns: Option<&str>, program: &str) -> Command {
    match ns {
        None => Command::new(program),
        Some(name) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", name, program]);
            c
        }
    }
}

/// True when this process may create namespaces and change links (the suite runs as root).
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}
