//! A real kamailio registrar for integration tests: started from a temp dir on free ports,
//! with digest-auth users in a db_text table, stopped on drop.
//!
//! Kamailio is the Debian package; the harness only writes its config and data files. Tests
//! that need a failing provider stop it, kill it or restart it answering 503.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dialtone_core::observation::Transport;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::netns::{command_in, run_in};
use crate::sip;

const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules/";

/// How to start the registrar.
#[derive(Debug, Clone, Default)]
pub struct KamailioOptions {
    /// Subscribers as (user, password); any domain is accepted.
    pub users: Vec<(String, String)>,
    /// Also listen for SIP over TLS, with a certificate from a CA made for this instance.
    pub tls: bool,
    /// Answer every request `503 Service Unavailable` with `Retry-After: 120`.
    pub reply_503: bool,
    /// Run inside this network namespace (created by the test) instead of the current one.
    pub netns: Option<String>,
    /// Address to listen on; 127.0.0.1 when unset.
    pub bind: Option<IpAddr>,
    /// Extra host names the certificate is valid for (e.g. the provider's DNS name).
    pub aliases: Vec<String>,
    /// Digest algorithm of the challenge: "MD5" (default) or "SHA-256".
    pub digest_algorithm: Option<String>,
}

/// A running (or stopped) kamailio instance owned by one test.
pub struct Kamailio {
    opts: KamailioOptions,
    dir: tempfile::TempDir,
    ip: IpAddr,
    udp_port: u16,
    tcp_port: u16,
    tls_port: u16,
    child: Option<Child>,
    starts: u32,
}

impl Kamailio {
    /// A registrar on loopback that knows the one subscriber `user`, the set-up most tests
    /// need.
    pub fn with_user(user: &str, password: &str) -> Kamailio {
        Kamailio::start(KamailioOptions {
            users: vec![(user.into(), password.into())],
            ..KamailioOptions::default()
        })
    }

    /// Starts kamailio and waits until it answers OPTIONS. Panics (with kamailio's log) when
    /// it cannot start: a test cannot go on without its registrar.
    pub fn start(opts: KamailioOptions) -> Kamailio {
        let dir = tempfile::Builder::new()
            .prefix("dialtone-kamailio-")
            .tempdir()
            .expect("temp dir for kamailio");
        let ip = opts.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let mut k = Kamailio {
            opts,
            dir,
            ip,
            udp_port: 0,
            tcp_port: 0,
            tls_port: 0,
            child: None,
            starts: 0,
        };
        k.write_static_files();
        // Free ports are learned by binding port 0 and releasing it; another test may grab
        // the same port in between, so a failed bind is retried with fresh ports.
        let mut last_log = String::new();
        for _attempt in 0..8 {
            k.pick_ports();
            k.write_config();
            match k.spawn_and_wait() {
                Ok(()) => return k,
                Err(log) => last_log = log,
            }
        }
        panic!("kamailio did not start after 8 attempts; last log:\n{last_log}");
    }

    /// UDP port kamailio listens on.
    pub fn udp_port(&self) -> u16 {
        self.udp_port
    }

    /// TCP port kamailio listens on.
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port
    }

    /// TLS port; panics when the instance was started without `tls`.
    pub fn tls_port(&self) -> u16 {
        assert!(self.opts.tls, "kamailio was started without tls: true");
        self.tls_port
    }

    /// The address as a SIP host ("127.0.0.1" by default).
    pub fn domain(&self) -> String {
        self.ip.to_string()
    }

    /// The address kamailio listens on.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The port kamailio listens on for `transport`.
    pub fn port(&self, transport: Transport) -> u16 {
        match transport {
            Transport::Udp => self.udp_port,
            Transport::Tcp => self.tcp_port,
            Transport::Tls => self.tls_port(),
        }
    }

    /// e.g. `sip:127.0.0.1:5070;transport=udp`.
    pub fn registrar_uri(&self, transport: Transport) -> String {
        let port = self.port(transport);
        format!(
            "sip:{}:{port};transport={}",
            self.domain(),
            transport.as_str()
        )
    }

    /// PEM of the CA that signed kamailio's TLS certificate (what a client should trust).
    pub fn ca_cert_path(&self) -> PathBuf {
        assert!(self.opts.tls, "kamailio was started without tls: true");
        self.dir.path().join("ca.pem")
    }

    /// kamailio's own log so far (stderr), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(
            self.dir
                .path()
                .join(format!("kamailio.{}.log", self.starts)),
        )
        .unwrap_or_default()
    }

    /// How many REGISTERs carrying credentials (an `Authorization` header) reached kamailio,
    /// over every start: what a provider counts towards a lockout.
    pub fn authenticated_registers(&self) -> usize {
        (1..=self.starts)
            .map(|n| {
                fs::read_to_string(self.dir.path().join(format!("kamailio.{n}.log")))
                    .unwrap_or_default()
                    .matches("dialtone-harness: authenticated REGISTER")
                    .count()
            })
            .sum()
    }

    /// The pid of the running kamailio main process, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// True while the process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops kamailio with SIGTERM and waits for it to exit (SIGKILL after 8 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                // Children may linger a moment after the main process; reap the group.
                let _ = killpg(pid, Signal::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = child.wait();
    }

    /// Kills kamailio and all its processes at once (SIGKILL), like a crash.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        let _ = child.wait();
    }

    /// Starts kamailio again on the same ports after `stop`/`kill`.
    pub fn start_again(&mut self) {
        if self.child.is_some() {
            return;
        }
        let mut last = String::new();
        // The ports were ours a moment ago; a short retry covers sockets still closing.
        for _ in 0..10 {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(log) => last = log,
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("kamailio did not start again on its ports; log:\n{last}");
    }

    /// Restarts kamailio with `reply_503` switched on or off (same ports).
    pub fn set_reply_503(&mut self, on: bool) {
        self.stop();
        self.opts.reply_503 = on;
        self.write_config();
        self.start_again();
    }

    /// Adds a real binding for `user`: sipsak registers a contact with `expires` seconds,
    /// then the harness's own REGISTER query confirms kamailio holds it. Returns the contact.
    pub fn register_contact(&self, user: &str, password: &str, expires_secs: u32) -> String {
        let contact_port = 40000 + (std::process::id() % 20000) as u16;
        let contact = format!("sip:{user}@{}:{contact_port}", self.domain());
        let target = format!("sip:{user}@{}:{}", self.domain(), self.udp_port);
        let out = command_in(self.opts.netns.as_deref(), "sipsak")
            .args(["-U", "-C", &contact, "-s", &target, "-a", password])
            .args(["-x", &expires_secs.to_string(), "-vv"])
            .output()
            .expect("run sipsak");
        let text = crate::printed(&out);
        assert!(
            out.status.success(),
            "sipsak REGISTER of {contact} failed ({}):\n{text}",
            out.status
        );
        let reply = self
            .query(user, password)
            .unwrap_or_else(|e| panic!("REGISTER query after sipsak: {e}"));
        assert_eq!(reply.status, 200, "REGISTER query: {}", reply.text);
        assert!(
            reply.contacts().iter().any(|c| c.contains(&contact)),
            "binding {contact} not in kamailio's reply:\n{}",
            reply.text
        );
        contact
    }

    /// The harness's own authenticated REGISTER query (no Contact) over UDP.
    pub fn query(&self, user: &str, password: &str) -> Result<sip::Reply, String> {
        self.register_raw(user, password, None)
    }

    /// An authenticated REGISTER over UDP, adding `contact` (with its expiry) when given.
    pub fn register_raw(
        &self,
        user: &str,
        password: &str,
        contact: Option<(&str, u32)>,
    ) -> Result<sip::Reply, String> {
        let to = SocketAddr::new(self.ip, self.udp_port);
        let (user, password) = (user.to_string(), password.to_string());
        let contact = contact.map(|(c, e)| (c.to_string(), e));
        let domain = self.domain();
        let bind = self.ip;
        run_in(self.opts.netns.as_deref(), move || {
            let sock = UdpSocket::bind((bind, 0)).map_err(|e| e.to_string())?;
            sip::register(
                &sock,
                to,
                &domain,
                &user,
                &password,
                contact.as_ref().map(|(c, e)| (c.as_str(), *e)),
            )
        })
    }

    /// One OPTIONS over UDP from inside kamailio's namespace; `None` when nothing answered.
    pub fn ping(&self, wait: Duration) -> Option<sip::Reply> {
        let to = SocketAddr::new(self.ip, self.udp_port);
        let bind = self.ip;
        run_in(self.opts.netns.as_deref(), move || {
            let sock = UdpSocket::bind((bind, 0)).ok()?;
            sip::options_once(&sock, to, wait)
        })
    }

    fn pick_ports(&mut self) {
        let ip = self.ip;
        let tls = self.opts.tls;
        let (u, t, s) = run_in(self.opts.netns.as_deref(), move || {
            let udp = UdpSocket::bind((ip, 0)).expect("bind a free UDP port");
            let tcp = TcpListener::bind((ip, 0)).expect("bind a free TCP port");
            let tls_l = TcpListener::bind((ip, 0)).expect("bind a free TCP port for TLS");
            (
                udp.local_addr().expect("udp addr").port(),
                tcp.local_addr().expect("tcp addr").port(),
                if tls {
                    tls_l.local_addr().expect("tls addr").port()
                } else {
                    0
                },
            )
        });
        self.udp_port = u;
        self.tcp_port = t;
        self.tls_port = s;
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_static_files(&self) {
        let db = self.path("db");
        fs::create_dir_all(&db).expect("create db dir");
        fs::write(
            db.join("version"),
            "id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n",
        )
        .expect("write db_text version table");
        // db_text reads an empty column as NULL and refuses the table, so every column of
        // every row carries a value; ha1/ha1b are unused (calculate_ha1) but filled.
        let mut rows = String::from(
            "id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n",
        );
        for (i, (user, pass)) in self.opts.users.iter().enumerate() {
            assert!(
                !user.contains(':') && !pass.contains(':'),
                "db_text cannot hold ':' in user or password"
            );
            let _ = writeln!(rows, "{}:{user}:{}:{pass}:x:x", i + 1, self.domain());
        }
        fs::write(db.join("subscriber"), rows).expect("write db_text subscriber table");
        if self.opts.tls {
            self.make_certificates();
        }
    }

    fn make_certificates(&self) {
        let d = self.dir.path();
        let run = |args: &[&str]| {
            crate::run_ok(
                Command::new("openssl").args(args).current_dir(d),
                &format!("openssl {args:?}"),
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        // A separate CA: webpki refuses a CA certificate used as the server's own.
        let mut a = vec!["req", "-x509", "-nodes", "-days", "3"];
        a.extend(ec);
        a.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=dialtone test CA",
        ]);
        run(&a);
        let mut b = vec!["req", "-nodes"];
        b.extend(ec);
        b.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        run(&b);
        let mut san = format!("IP:127.0.0.1,DNS:localhost,IP:{}", self.ip);
        for alias in &self.opts.aliases {
            let _ = write!(san, ",DNS:{alias}");
        }
        fs::write(
            d.join("server.ext"),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .expect("write certificate extensions");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ]);
    }

    fn write_config(&self) {
        let d = self.dir.path().display().to_string();
        let ip = self.ip;
        let mut cfg = String::from("#!KAMAILIO\n");
        let _ = write!(
            cfg,
            "debug=2\nlog_stderror=yes\nchildren=2\ntcp_children=2\nauto_aliases=no\n\
             dns=no\nrev_dns=no\nuse_dns_cache=off\n\
             listen=udp:{ip}:{u}\nlisten=tcp:{ip}:{t}\n",
            u = self.udp_port,
            t = self.tcp_port
        );
        if self.opts.tls {
            let _ = writeln!(cfg, "enable_tls=yes\nlisten=tls:{ip}:{}", self.tls_port);
        }
        let _ = writeln!(cfg, "mpath=\"{MODULES}\"");
        let mut modules = vec![
            "db_text",
            "tm",
            "sl",
            "pv",
            "maxfwd",
            "sanity",
            "textops",
            "siputils",
            "usrloc",
            "registrar",
            "auth",
            "auth_db",
            "xlog",
        ];
        if self.opts.tls {
            modules.push("tls");
        }
        for m in modules {
            let _ = writeln!(cfg, "loadmodule \"{m}.so\"");
        }
        let algorithm = self.opts.digest_algorithm.as_deref().unwrap_or("MD5");
        let _ = write!(
            cfg,
            "modparam(\"usrloc\", \"db_mode\", 0)\n\
             modparam(\"auth_db\", \"db_url\", \"text://{d}/db\")\n\
             modparam(\"auth_db\", \"calculate_ha1\", 1)\n\
             modparam(\"auth_db\", \"password_column\", \"password\")\n\
             modparam(\"auth_db\", \"use_domain\", 0)\n\
             modparam(\"auth_db\", \"load_credentials\", \"\")\n\
             modparam(\"auth\", \"algorithm\", \"{algorithm}\")\n\
             modparam(\"registrar\", \"max_expires\", 3600)\n\
             modparam(\"registrar\", \"min_expires\", 1)\n"
        );
        if self.opts.tls {
            fs::write(
                self.path("tls.cfg"),
                format!(
                    "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n\
                     require_certificate = no\nprivate_key = {d}/server.key\n\
                     certificate = {d}/server.pem\n\n[client:default]\nmethod = TLSv1.2+\n\
                     verify_certificate = no\nrequire_certificate = no\n"
                ),
            )
            .expect("write tls.cfg");
            let _ = writeln!(cfg, "modparam(\"tls\", \"config\", \"{d}/tls.cfg\")");
        }
        cfg.push_str("\nrequest_route {\n");
        if self.opts.reply_503 {
            cfg.push_str(
                "    append_to_reply(\"Retry-After: 120\\r\\n\");\n\
                 \x20   sl_send_reply(\"503\", \"Service Unavailable\");\n    exit;\n",
            );
        }
        cfg.push_str(
            r#"    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (!sanity_check()) {
        exit;
    }
    if (is_method("OPTIONS")) {
        sl_send_reply("200", "OK");
        exit;
    }
    if (is_method("REGISTER")) {
        if (is_present_hf("Authorization")) {
            xlog("L_ERR", "dialtone-harness: authenticated REGISTER from $fU\n");
        }
        $var(rc) = auth_check("$fd", "subscriber", "1");
        if ($var(rc) == -2 || $var(rc) == -3) {
            sl_send_reply("403", "Forbidden");
            exit;
        }
        if ($var(rc) < 0) {
            auth_challenge("$fd", "1");
            exit;
        }
        consume_credentials();
        if (!save("location")) {
            sl_reply_error();
        }
        exit;
    }
    if (is_method("ACK")) {
        exit;
    }
    sl_send_reply("405", "Method Not Allowed");
    exit;
}
"#,
        );
        fs::write(self.path("kamailio.cfg"), cfg).expect("write kamailio.cfg");
    }

    /// Spawns kamailio and waits until it answers on UDP and accepts TCP (and TLS). On
    /// failure returns its log, with the process gone.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log_path = self.path(&format!("kamailio.{}.log", self.starts));
        let log = fs::File::create(&log_path).expect("create kamailio log");
        let d = self.dir.path();
        let pidfile = self.path("kamailio.pid");
        let _ = fs::remove_file(&pidfile);
        let mut cmd = command_in(self.opts.netns.as_deref(), "kamailio");
        cmd.arg("-DD")
            .arg("-E")
            .arg("-f")
            .arg(self.path("kamailio.cfg"))
            .arg("-w")
            .arg(d)
            .arg("-Y")
            .arg(d)
            .arg("-P")
            .arg(&pidfile)
            .args(["-m", "64", "-M", "8"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // Own process group, so the main process and its children can be killed together.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("spawn kamailio");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return Err(read_log(&log_path));
            }
            if self.ping(Duration::from_millis(200)).is_some() && self.tcp_ready() {
                return Ok(());
            }
        }
        let text = read_log(&log_path);
        self.kill();
        Err(format!("not ready after 10 s\n{text}"))
    }

    fn tcp_ready(&self) -> bool {
        let mut ports = vec![self.tcp_port];
        if self.opts.tls {
            ports.push(self.tls_port);
        }
        let ip = self.ip;
        run_in(self.opts.netns.as_deref(), move || {
            ports.iter().all(|p| {
                TcpStream::connect_timeout(&SocketAddr::new(ip, *p), Duration::from_millis(300))
                    .is_ok()
            })
        })
    }

    /// The directory holding kamailio's config, data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn read_log(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
    }
}
