//! A real DNS server for integration tests: dnsmasq (Debian package `dnsmasq-base`) in the
//! foreground on a free loopback port, serving only the records the test passes in.
//!
//! Everything under the `test` TLD is marked local (`--local=/test/`), so a name the test did
//! not define is answered NXDOMAIN instead of being forwarded anywhere; with `--no-resolv`
//! there is no upstream at all, so nothing a test asks leaves the machine.
//!
//! ```text
//! let dns = Dnsmasq::start(&[
//!     "--host-record=sip.dialtone.test,127.0.0.1",
//!     "--srv-host=_sip._udp.dialtone.test,sip.dialtone.test,5070,10,50",
//! ]);
//! let resolver = Resolver::with_server(dns.addr(), Duration::from_secs(2));
//! ```

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::netns::{command_in, run_in};

/// A running dnsmasq; killed on drop.
pub struct Dnsmasq {
    child: Option<Child>,
    ip: IpAddr,
    port: u16,
    netns: Option<String>,
    dir: tempfile::TempDir,
    restarts: u32,
}

impl Dnsmasq {
    /// Starts dnsmasq on 127.0.0.1 with `records` as extra command-line options (e.g.
    /// `--host-record=…`, `--srv-host=…`, `--naptr-record=…`), and waits until it answers.
    /// Panics with dnsmasq's log when it does not come up.
    pub fn start(records: &[&str]) -> Dnsmasq {
        Self::start_in(None, IpAddr::V4(Ipv4Addr::LOCALHOST), records)
    }

    /// Like [`Dnsmasq::start`], but inside network namespace `netns` (created by the test),
    /// listening on `ip` (an address that exists in that namespace).
    pub fn start_in(netns: Option<&str>, ip: IpAddr, records: &[&str]) -> Dnsmasq {
        let mut dns = Dnsmasq {
            child: None,
            ip,
            port: 0,
            netns: netns.map(str::to_string),
            dir: tempfile::tempdir().expect("temp dir for dnsmasq"),
            restarts: 0,
        };
        let mut last_log = String::new();
        // A free port can be taken by someone else between our probe and dnsmasq's bind: retry.
        for attempt in 0..3 {
            dns.port = free_port(netns, ip);
            match dns.spawn_on_port(&format!("{attempt}"), records) {
                Ok(()) => return dns,
                Err(log) => last_log = log,
            }
        }
        panic!("dnsmasq did not come up:\n{last_log}");
    }

    /// Restarts the server on the same address and port with a new set of records: a client
    /// configured with this server sees the zone change (e.g. a record vanish) without any
    /// change on its side. Panics with dnsmasq's log when it does not come back.
    pub fn restart_with(&mut self, records: &[&str]) {
        self.kill();
        self.restarts += 1;
        let mut last_log = String::new();
        // The port was ours a moment ago; a short retry covers the socket still closing.
        for attempt in 0..5 {
            match self.spawn_on_port(&format!("r{}.{attempt}", self.restarts), records) {
                Ok(()) => return,
                Err(log) => last_log = log,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "dnsmasq did not come back on port {}:\n{last_log}",
            self.port
        );
    }

    /// Spawns dnsmasq on `self.port` and waits until it answers; on failure returns its log,
    /// with the process gone.
    fn spawn_on_port(&mut self, tag: &str, records: &[&str]) -> Result<(), String> {
        let log_path = self.dir.path().join(format!("dnsmasq.{tag}.log"));
        let log = fs::File::create(&log_path).expect("create dnsmasq log");
        let mut cmd = command_in(self.netns.as_deref(), "/usr/sbin/dnsmasq");
        cmd.args([
            "-k",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--conf-file=/dev/null",
            "--bind-interfaces",
            "--pid-file=",
            "--user=root",
            "--log-queries",
            "--log-facility=-",
            "--local=/test/",
        ])
        .arg(format!("--listen-address={}", self.ip))
        .arg(format!("--port={}", self.port))
        .args(records)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn /usr/sbin/dnsmasq"));
        if self.wait_ready(Duration::from_secs(5)) {
            return Ok(());
        }
        self.kill();
        Err(fs::read_to_string(&log_path).unwrap_or_default())
    }

    /// Where it listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// dnsmasq's log so far (it logs every query), for failure messages.
    pub fn log(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = fs::read_dir(self.dir.path()) {
            let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                out.push_str(&fs::read_to_string(&p).unwrap_or_default());
            }
        }
        out
    }

    /// Kills the server (SIGKILL) and waits for it: afterwards its port answers nothing (UDP
    /// queries get ICMP port unreachable, TCP is refused).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGHUP, which makes dnsmasq re-read its `--addn-hosts` files and clear its
    /// cache, and waits until the log shows the files were read again.
    pub fn reload(&mut self) {
        let before = self.log().matches("read ").count();
        if let Some(child) = self.child.as_ref() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP dnsmasq");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.log().matches("read ").count() <= before {
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not reload:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_ready(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
            }
            let addr = self.addr();
            let ip = self.ip;
            if run_in(self.netns.as_deref(), move || answers(ip, addr)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port free for both UDP and TCP on `ip` (inside `netns`).
fn free_port(netns: Option<&str>, ip: IpAddr) -> u16 {
    run_in(netns, move || loop {
        let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind a UDP probe port");
        let port = udp.local_addr().expect("local addr").port();
        if TcpListener::bind(SocketAddr::new(ip, port)).is_ok() {
            return port;
        }
    })
}

/// True when a DNS query for `ready.test` A gets any reply from `server`.
fn answers(ip: IpAddr, server: SocketAddr) -> bool {
    let bind = match ip {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0),
    };
    let Ok(sock) = UdpSocket::bind(bind) else {
        return false;
    };
    // id 0x1234, RD set, one question: ready.test IN A.
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["ready", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    if sock.send_to(&q, server).is_err() {
        return false;
    }
    let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 512];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[0] == 0x12 && buf[1] == 0x34)
}
