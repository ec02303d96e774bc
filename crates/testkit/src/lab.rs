//! A small home-to-provider network made of network namespaces, for the fault-injection suite
//! and the benchmarks:
//!
//! ```text
//! client ── c0 10.77.1.2 ─ r0 10.77.1.1 ── router ── r1 10.77.2.1 ─ i0 10.77.2.2 ── internet
//!   internet ── i1 10.77.3.1 ─ p0 10.77.3.2 ── provider
//! ```
//!
//! `client` runs dialtone (via `ip netns exec`, so its device probe reads the namespace's own
//! /proc/net and /sys) with the default gateway taken from its routing table. `router` forwards
//! (no NAT: every hop has a route back). `internet` holds the anchors (TCP listeners) and a
//! dnsmasq that answers the provider's domain `voip.test` with NAPTR → SRV → A, and
//! `example.test` for the internet check's DNS lookup. `provider` runs kamailio with digest
//! auth. Addresses repeat in every lab (each lab is its own set of network stacks); only the
//! namespace names must be unique, so they carry the pid and a counter.
//!
//! Everything is removed on drop, panics included: processes first, then the namespaces (which
//! takes their veths and nftables tables with them). Namespaces left by a test process that
//! was killed outright are swept when the next lab starts.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dns::Dnsmasq;
use crate::kamailio::{Kamailio, KamailioOptions};
use crate::netns::run_in;

/// The SIP user every lab's kamailio knows.
pub const USER: &str = "alice";
/// Its password.
pub const PASSWORD: &str = "lab-Pa55word";
/// The provider's domain, located by RFC 3263 through the lab's DNS server.
pub const DOMAIN: &str = "voip.test";
/// The name the internet check resolves (it always exists, whatever happens to `DOMAIN`).
pub const DNS_NAME: &str = "example.test";

/// The client's address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
/// The router's address on the client's side: the client's default gateway.
pub const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
/// The internet host (anchors, DNS) as seen from the router.
pub const INTERNET_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 2);
/// The registrar's address.
pub const PROVIDER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 3, 2);

/// Prefix of every namespace a lab creates; followed by the pid, so stale ones can be told
/// from those of a running test.
const PREFIX: &str = "dtf";

/// What to set up in the lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Register a real binding for [`USER`] (sipsak), so the line is healthy with the account
    /// check on; without one `expect_binding` makes it an account problem.
    pub binding: bool,
    /// Extra kamailio users (user, password), e.g. for the scale benchmark.
    pub extra_users: Vec<(String, String)>,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            binding: true,
            extra_users: Vec::new(),
        }
    }
}

/// The four namespaces; deleted on drop.
struct Namespaces {
    client: String,
    router: String,
    internet: String,
    provider: String,
}

impl Namespaces {
    fn all(&self) -> [&str; 4] {
        [&self.client, &self.router, &self.internet, &self.provider]
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.all() {
            let _ = Command::new("ip")
                .args(["netns", "delete", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// TCP listeners inside the internet namespace, accepting (and dropping) connections on a
/// thread until dropped, so the accept queue never fills however long a soak runs.
struct Anchors {
    addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Anchors {
    fn start(ns: &str, count: usize) -> Anchors {
        let listeners: Vec<TcpListener> = run_in(Some(ns), move || {
            (0..count)
                .map(|_| {
                    let l = TcpListener::bind((INTERNET_IP, 0)).expect("bind anchor");
                    l.set_nonblocking(true).expect("nonblocking anchor");
                    l
                })
                .collect()
        });
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr().expect("anchor addr"))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // The sockets stay in the namespace they were created in, whatever thread uses them.
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                for l in &listeners {
                    while let Ok((conn, _)) = l.accept() {
                        drop(conn);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Anchors {
            addrs,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Anchors {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One lab network with its servers. Field order is drop order: servers before namespaces.
pub struct Lab {
    /// The registrar (in `provider`).
    pub kamailio: Kamailio,
    /// The DNS server (in `internet`).
    pub dns: Dnsmasq,
    anchors: Anchors,
    dir: tempfile::TempDir,
    nets: Namespaces,
}

/// The nftables table that holds the provider link's loss rules.
const LOSS_TABLE: &str = "dtloss";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `ip ARGS`, panicking with its stderr on failure (set-up must not half-succeed).
pub fn ip(args: &[&str]) {
    crate::run_ok(Command::new("ip").args(args), &format!("ip {args:?}"));
}

/// Runs `ip netns exec NS PROGRAM ARGS`, panicking on failure.
pub fn exec_in(ns: &str, program: &str, args: &[&str]) {
    crate::run_ok(
        Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args),
        &format!("{program} {args:?} in {ns}"),
    );
}

/// Loads an nftables ruleset into namespace `ns`.
pub fn nft_in(ns: &str, script: &str) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nft");
    child
        .stdin
        .take()
        .expect("nft stdin")
        .write_all(script.as_bytes())
        .expect("write nft script");
    let out = child.wait_with_output().expect("wait for nft");
    assert!(
        out.status.success(),
        "nft in {ns} failed: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes namespaces of this suite whose test process is gone (killed before its drops ran).
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if pid.is_empty() || !rest[pid.len()..].starts_with('x') {
            continue;
        }
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "delete", name]).status();
        }
    }
}

impl Lab {
    /// Builds the network, starts the servers and checks every hop works. Panics (after
    /// removing what it built) when anything fails: no test can go on without its network.
    pub fn start(opts: LabOptions) -> Lab {
        sweep_stale();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = format!("{PREFIX}{}x{n}", std::process::id());
        let nets = Namespaces {
            client: format!("{base}-client"),
            router: format!("{base}-router"),
            internet: format!("{base}-inet"),
            provider: format!("{base}-prov"),
        };
        for ns in nets.all() {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        // veth pairs created straight into their namespaces, so the short per-namespace
        // names never meet in the root namespace (where parallel labs would collide).
        let pairs = [
            (&nets.client, "c0", &nets.router, "r0"),
            (&nets.router, "r1", &nets.internet, "i0"),
            (&nets.internet, "i1", &nets.provider, "p0"),
        ];
        for (a, ifa, b, ifb) in pairs {
            ip(&[
                "link", "add", ifa, "netns", a, "type", "veth", "peer", "name", ifb, "netns", b,
            ]);
        }
        let addrs = [
            (&nets.client, "c0", "10.77.1.2/24"),
            (&nets.router, "r0", "10.77.1.1/24"),
            (&nets.router, "r1", "10.77.2.1/24"),
            (&nets.internet, "i0", "10.77.2.2/24"),
            (&nets.internet, "i1", "10.77.3.1/24"),
            (&nets.provider, "p0", "10.77.3.2/24"),
        ];
        for (ns, dev, addr) in addrs {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        for ns in [&nets.router, &nets.internet] {
            exec_in(ns, "sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        }
        let dir = tempfile::Builder::new()
            .prefix("dialtone-lab-")
            .tempdir()
            .expect("temp dir for the lab");
        let anchors = Anchors::start(&nets.internet, 3);
        let mut users = vec![(USER.to_string(), PASSWORD.to_string())];
        users.extend(opts.extra_users.iter().cloned());
        let kamailio = Kamailio::start(KamailioOptions {
            users,
            netns: Some(nets.provider.clone()),
            bind: Some(IpAddr::V4(PROVIDER_IP)),
            ..KamailioOptions::default()
        });
        let records = Self::records_for(&kamailio, true);
        let record_refs: Vec<&str> = records.iter().map(String::as_str).collect();
        let dns = Dnsmasq::start_in(Some(&nets.internet), IpAddr::V4(INTERNET_IP), &record_refs);
        let lab = Lab {
            kamailio,
            dns,
            anchors,
            dir,
            nets,
        };
        lab.restore_routes();
        if opts.binding {
            lab.kamailio.register_contact(USER, PASSWORD, 3600);
        }
        lab
    }

    /// dnsmasq options: `example.test` always, the provider's NAPTR/SRV/A records when
    /// `provider` (removing them is the "provider's DNS fails" fault).
    fn records_for(k: &Kamailio, provider: bool) -> Vec<String> {
        let mut r = vec![format!("--host-record={DNS_NAME},10.77.2.9")];
        if provider {
            r.push(format!(
                "--naptr-record={DOMAIN},10,50,s,SIP+D2U,,_sip._udp.{DOMAIN}"
            ));
            r.push(format!(
                "--srv-host=_sip._udp.{DOMAIN},sip.{DOMAIN},{},10,50",
                k.udp_port()
            ));
            r.push(format!("--host-record=sip.{DOMAIN},{PROVIDER_IP}"));
        }
        r
    }

    /// Serves or withdraws the provider's DNS records (same server address and port).
    pub fn set_provider_dns(&mut self, present: bool) {
        let records = Self::records_for(&self.kamailio, present);
        let refs: Vec<&str> = records.iter().map(String::as_str).collect();
        self.dns.restart_with(&refs);
    }

    /// (Re-)installs every static route. Taking an interface down removes the routes through
    /// it, so a repaired link needs them back, as a router's DHCP/PPP would do.
    pub fn restore_routes(&self) {
        let routes = [
            (&self.nets.client, "default", "10.77.1.1"),
            (&self.nets.router, "default", "10.77.2.2"),
            (&self.nets.internet, "10.77.1.0/24", "10.77.2.1"),
            (&self.nets.provider, "default", "10.77.3.1"),
        ];
        for (ns, dst, via) in routes {
            ip(&["-n", ns, "route", "replace", dst, "via", via]);
        }
    }

    /// The client namespace's name.
    pub fn client(&self) -> &str {
        &self.nets.client
    }

    /// The router namespace's name.
    pub fn router(&self) -> &str {
        &self.nets.router
    }

    /// The internet namespace's name.
    pub fn internet(&self) -> &str {
        &self.nets.internet
    }

    /// The provider namespace's name.
    pub fn provider(&self) -> &str {
        &self.nets.provider
    }

    /// Takes link `dev` in namespace `ns` down or up (routes restored on the way up).
    pub fn set_link(&self, ns: &str, dev: &str, up: bool) {
        ip(&["-n", ns, "link", "set", dev, if up { "up" } else { "down" }]);
        if up {
            self.restore_routes();
        }
    }

    /// Loads an nftables ruleset into namespace `ns` (remove it with [`Lab::nft_delete`]).
    pub fn nft(&self, ns: &str, script: &str) {
        nft_in(ns, script);
    }

    /// Deletes nftables table `inet NAME` in namespace `ns`.
    pub fn nft_delete(&self, ns: &str, table: &str) {
        exec_in(ns, "nft", &["delete", "table", "inet", table]);
    }

    /// Drops `percent` % of the packets crossing the provider's link, each way, at random
    /// (nftables `numgen`; this kernel has no netem). Undo with [`Lab::clear_loss`].
    ///
    /// The loss is applied where the packets are forwarded, in `internet`, not on the
    /// provider's own input and output hooks: a packet dropped by its sender's output hook
    /// fails `sendto()` with EPERM, and kamailio answers a REGISTER whose 200 OK it could not
    /// send with `500 Server error` (`sl_reply_error`). That is a server error no lossy line
    /// in the field produces, and it made the account layer report an outage under loss.
    pub fn set_loss(&self, percent: u32) {
        self.nft(
            self.internet(),
            &format!(
                "table inet {LOSS_TABLE} {{\n chain f {{ type filter hook forward priority 0;\n  \
                 iifname \"i1\" numgen random mod 100 < {percent} drop\n  \
                 oifname \"i1\" numgen random mod 100 < {percent} drop\n }}\n}}\n"
            ),
        );
    }

    /// Removes the loss [`Lab::set_loss`] put on the provider's link.
    pub fn clear_loss(&self) {
        self.nft_delete(self.internet(), LOSS_TABLE);
    }

    /// The anchors' addresses.
    pub fn anchors(&self) -> &[SocketAddr] {
        &self.anchors.addrs
    }

    /// A `dialtone SUB` command that runs in the client namespace with the lab's settings:
    /// no config file, `--gateway auto`, the registrar located through the lab's DNS,
    /// the account [`USER`] with the password read from `DIALTONE_LAB_PW` (set to
    /// [`PASSWORD`]; tests that want a wrong one override the variable).
    pub fn dialtone(&self, sub: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.client()])
            .arg(crate::dialtone_bin())
            .args(["--lang", "en", sub, "--config"])
            .arg(self.dir.path().join("no-config.toml"))
            .args(["--registrar", DOMAIN, "--user", USER])
            .args(["--password-env", "DIALTONE_LAB_PW", "--gateway", "auto"])
            .args(["--dns-server", &self.dns.addr().to_string()])
            .args(["--dns-name", DNS_NAME])
            .env("DIALTONE_LAB_PW", PASSWORD)
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        for a in &self.anchors.addrs {
            cmd.args(["--anchor", &a.to_string()]);
        }
        cmd
    }

    /// Runs `dialtone check --json` in the client and returns the parsed report and the exit
    /// code.
    pub fn check(&self, extra: &[&str]) -> (Value, Option<i32>) {
        let out = self
            .dialtone("check")
            .arg("--json")
            .args(extra)
            .output()
            .expect("run dialtone check");
        let text = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "check printed no JSON ({e}): {text}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (json, out.status.code())
    }

    /// Starts `dialtone watch --json ARGS` in the client.
    pub fn watch(&self, args: &[&str]) -> Watch {
        let mut cmd = self.dialtone("watch");
        cmd.arg("--json").args(args);
        Watch::spawn(cmd)
    }

    /// A scratch directory that lives as long as the lab (history databases, exports).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// A running `dialtone watch --json`: its output lines with the moment each arrived. Stopped
/// with SIGTERM (then SIGKILL) on drop.
pub struct Watch {
    child: Child,
    lines: Receiver<(Instant, String)>,
    /// Every change seen so far, in order.
    pub seen: Vec<(Instant, Value)>,
}

impl Watch {
    /// Spawns `cmd` (a `watch --json`) with its stdout read on a thread.
    pub fn spawn(mut cmd: Command) -> Watch {
        let (child, lines) = crate::spawn_with_lines(&mut cmd).expect("spawn dialtone watch");
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The watch process's pid (`ip netns exec` execs in place, so it is dialtone's own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the watch process is still running (a watch that died prints no more changes,
    /// which a test counting alarms must not mistake for a quiet line).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The next confirmed change within `within`, with when it was printed; `None` when none
    /// came (the watch process dying counts as none).
    pub fn next(&mut self, within: Duration) -> Option<(Instant, Value)> {
        let (at, line) = match self.lines.recv_timeout(within) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        };
        let json: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("watch line ({e}): {line}"));
        self.seen.push((at, json.clone()));
        Some((at, json))
    }

    /// Reads every change until `deadline` passes (for soaks and flapping).
    pub fn collect_until(&mut self, deadline: Instant) {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            if self.next(left).is_none() && Instant::now() < deadline {
                // The process ended early: nothing more will come.
                return;
            }
        }
    }

    /// Waits until the watch reports `verdict` (panics with what it saw when it does not
    /// within `within`).
    pub fn wait_for(&mut self, verdict: &str, within: Duration) -> (Instant, Value) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some((at, json)) if json["to"] == verdict => return (at, json),
                Some(_) => continue,
                None => panic!(
                    "no change to {verdict} within {within:?}; saw: {:#?}",
                    self.seen.iter().map(|(_, j)| j.clone()).collect::<Vec<_>>()
                ),
            }
        }
    }

    /// Stops the watch with SIGTERM (a clean shutdown that flushes its history) and waits.
    pub fn stop(&mut self) {
        if crate::stop(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}
