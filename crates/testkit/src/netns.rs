//! Network namespaces for the fault-injection suite: running code and processes inside a
//! namespace the test created.

use std::fs::File;
use std::process::{Command, Stdio};

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

/// Drops outgoing TCP SYNs to the given loopback ports for as long as it lives (root only).
pub struct DropPorts {
    table: String,
}

impl DropPorts {
    /// `None` when not root ([`crate::require`] fails the test instead in CI).
    pub fn new(ports: &[u16]) -> Option<DropPorts> {
        if !crate::require_root("drop packets with nftables") {
            return None;
        }
        // Unique per process and call: two tests of one binary may drop ports at once.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let table = format!("dialtone_drop_{}_{n}", std::process::id());
        let ports = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let script = format!(
            "table inet {table} {{\n chain anchors_out {{\n  type filter hook output priority 0; policy accept;\n  \
             ip daddr 127.0.0.1 tcp dport {{ {ports} }} drop\n }}\n}}\n"
        );
        let status = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("nft's stdin")
                    .write_all(script.as_bytes())?;
                child.wait()
            });
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "nft failed for {script}"
        );
        Some(DropPorts { table })
    }
}

impl Drop for DropPorts {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .status();
    }
}
