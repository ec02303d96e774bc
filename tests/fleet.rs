//! Many lines, one view: `dialtone watch` on a two-line config (`[[line]]`) against two real
//! kamailio registrars, scraped by a real Prometheus server (Debian's `prometheus`) that loads
//! the scrape config and the alerting rules shipped in `docs/prometheus/` (the test's copy
//! only points them at the test's ports, scrapes every second and shortens `for:`).
//!
//! What a fleet admin relies on: both lines show healthy in Prometheus; when one registrar
//! stops, that line's verdict series flips to provider_outage and the shipped alert goes
//! pending, then firing, for that line only. `promtool check metrics` accepts a live scrape,
//! also when a line's label holds a quote and a backslash; every metric and verdict a shipped
//! rule names is in the live scrape (so a rename cannot silently disable a rule). The
//! exporter's HTTP side refuses what it does not serve.
#![allow(clippy::unwrap_used)]

use dialtone_core::observation::Transport;
use dialtone_testkit as support;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use support::kamailio::Kamailio;

const HOME_PASSWORD: &str = "h0me-Pa55";
const OFFICE_PASSWORD: &str = "0ff1ce-Pa55";

fn docs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/prometheus")
        .join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One HTTP/1.0 GET: (status code, body).
fn http_get(addr: SocketAddr, target: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Prometheus server of the test.
struct Prometheus {
    addr: SocketAddr,
    _child: Killed,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `prometheus` on `config` and waits until it is ready.
    fn start(dir: tempfile::TempDir, config: &Path) -> Prometheus {
        let addr: SocketAddr = format!("127.0.0.1:{}", support::free_port())
            .parse()
            .unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus (apt install prometheus; scripts/test does)");
        let prometheus = Prometheus {
            addr,
            _child: Killed(child),
            _dir: dir,
        };
        let ready = || match http_get(addr, "/-/ready") {
            Ok((200, _)) => Ok(()),
            _ => Err(()),
        };
        poll(
            Duration::from_secs(30),
            Duration::from_millis(200),
            ready,
            |()| format!("prometheus not ready within 30 s: {}", prometheus.log()),
        );
        prometheus
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The `data` of an API answer.
    fn api(&self, target: &str) -> Value {
        let (code, body) = http_get(self.addr, target).unwrap();
        assert_eq!(code, 200, "{target}: {body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "success", "{json:#}");
        json["data"].clone()
    }

    /// The instant vector of `query` as (line label, value).
    fn query(&self, query: &str) -> Vec<(String, f64)> {
        let data = self.api(&format!("/api/v1/query?query={}", percent_encode(query)));
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"]["line"].as_str().unwrap_or_default().to_string(),
                    r["value"][1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    }

    /// The alerts now: (alert name, line, state).
    fn alerts(&self) -> Vec<(String, String, String)> {
        let data = self.api("/api/v1/alerts");
        data["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap().to_string(),
                    a["labels"]["line"].as_str().unwrap_or_default().to_string(),
                    a["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Polls `query` until `done` holds, at most `within`.
    fn wait_for(
        &self,
        query: &str,
        within: Duration,
        done: impl Fn(&[(String, f64)]) -> bool,
    ) -> Vec<(String, f64)> {
        let attempt = || {
            let result = self.query(query);
            if done(&result) {
                Ok(result)
            } else {
                Err(result)
            }
        };
        poll(within, Duration::from_millis(250), attempt, |result| {
            format!("{query}: still {result:?} after {within:?}\n{}", self.log())
        })
    }
}

/// Tries `attempt` every `every` until it succeeds and returns what it gave; past `within`,
/// panics with `failure` of the last miss (prometheus's answers arrive in its own time).
fn poll<T, E>(
    within: Duration,
    every: Duration,
    mut attempt: impl FnMut() -> Result<T, E>,
    failure: impl FnOnce(E) -> String,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match attempt() {
            Ok(done) => return done,
            Err(miss) if Instant::now() >= deadline => panic!("{}", failure(miss)),
            Err(_) => std::thread::sleep(every),
        }
    }
}

/// The `watch --json` lines, read on a thread.
fn lines_of(child: &mut Child) -> Receiver<Value> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if tx.send(value).is_err() {
                break;
            }
        }
    });
    rx
}

/// The watch's changes, in order; those not asked for yet are kept, so the lines' changes
/// can be awaited in any order.
struct Changes {
    rx: Receiver<Value>,
    unread: Vec<Value>,
}

impl Changes {
    /// Waits for a change of `line` to `to`.
    fn wait(&mut self, line: &str, to: &str, within: Duration) -> Value {
        let matches = |c: &Value| c["line"] == line && c["to"] == to;
        if let Some(i) = self.unread.iter().position(matches) {
            return self.unread.remove(i);
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(change) if matches(&change) => return change,
                Ok(change) => self.unread.push(change),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no change of {line} to {to} in {within:?}; other changes: {:#?}",
                    self.unread
                ),
                Err(RecvTimeoutError::Disconnected) => panic!("watch ended"),
            }
        }
    }
}

/// The fleet: two kamailios, anchors, a two-line config, and `dialtone watch` on it.
struct Fleet {
    home: Kamailio,
    office: Kamailio,
    watch: Killed,
    changes: Changes,
    metrics: SocketAddr,
    dir: tempfile::TempDir,
    _anchors: Vec<TcpListener>,
}

/// `text` as a TOML basic string, quotes included.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Fleet {
    /// The fleet with its lines labelled `Home` and `Office`.
    fn start() -> Fleet {
        Fleet::labelled("Home", "Office")
    }

    /// The fleet with its two lines labelled `home_label` and `office_label`.
    fn labelled(home_label: &str, office_label: &str) -> Fleet {
        let start = |user: &str, password: &str| Kamailio::with_user(user, password);
        let home = start("alice", HOME_PASSWORD);
        let office = start("bob", OFFICE_PASSWORD);
        // Each line's phone is registered, as on a working line.
        home.register_contact("alice", HOME_PASSWORD, 3600);
        office.register_contact("bob", OFFICE_PASSWORD, 3600);
        let anchors = support::loopback_anchors();
        let anchor_list = support::anchors_toml(&anchors);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                r#"[network]
anchors = [{anchor_list}]
gateway = "127.0.0.1"
dns_name = "none"

[router]
url = "off"

[[line]]
label = {}
[line.account]
registrar = "{}"
user = "alice"
password_env = "FLEET_HOME_PASSWORD"

[[line]]
label = {}
[line.account]
registrar = "{}"
user = "bob"
password_env = "FLEET_OFFICE_PASSWORD"
"#,
                toml_string(home_label),
                home.registrar_uri(Transport::Udp),
                toml_string(office_label),
                office.registrar_uri(Transport::Udp)
            ),
        )
        .unwrap();
        let metrics: SocketAddr = format!("127.0.0.1:{}", support::free_port())
            .parse()
            .unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut child = Command::new(support::dialtone_bin())
            .args(["watch", "--json", "--lang", "en", "--db"])
            .arg(dir.path().join("history.sqlite3"))
            .args(["--interval", "1", "--recheck", "1", "--timeout", "1"])
            .arg("--config")
            .arg(&config)
            .arg("--metrics")
            .arg(metrics.to_string())
            .env("FLEET_HOME_PASSWORD", HOME_PASSWORD)
            .env("FLEET_OFFICE_PASSWORD", OFFICE_PASSWORD)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let changes = Changes {
            rx: lines_of(&mut child),
            unread: Vec::new(),
        };
        Fleet {
            home,
            office,
            watch: Killed(child),
            changes,
            metrics,
            dir,
            _anchors: anchors,
        }
    }

    fn scrape(&self) -> String {
        let (code, body) = http_get(self.metrics, "/metrics").unwrap();
        assert_eq!(code, 200, "{body}");
        body
    }

    /// The test's Prometheus config: the shipped one pointed at this fleet's exporter,
    /// scraping and evaluating every second, with the shipped rules with `for:` shortened.
    fn prometheus_config(&self) -> PathBuf {
        let shipped = read(&docs("prometheus.yml"));
        let mut config = shipped.clone();
        for (from, to) in [
            ("scrape_interval: 15s", "scrape_interval: 1s".to_string()),
            (
                "evaluation_interval: 15s",
                "evaluation_interval: 1s".to_string(),
            ),
            ("127.0.0.1:9464", self.metrics.to_string()),
            (
                "- dialtone-rules.yml",
                format!("- {}", self.dir.path().join("rules.yml").display()),
            ),
        ] {
            assert!(
                config.contains(from),
                "docs/prometheus/prometheus.yml lost {from:?}"
            );
            config = config.replace(from, &to);
        }
        let rules = read(&docs("dialtone-rules.yml"));
        assert!(
            rules.contains("for: 2m"),
            "the provider outage rule waits 2 minutes"
        );
        let rules = rules
            .replace("for: 2m", "for: 3s")
            .replace("for: 5m", "for: 3s");
        std::fs::write(self.dir.path().join("rules.yml"), rules).unwrap();
        let path = self.dir.path().join("prometheus.yml");
        std::fs::write(&path, config).unwrap();
        path
    }
}

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (from Debian's prometheus package)");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn prometheus_sees_both_lines_and_alerts_for_the_one_that_fails() {
    let mut fleet = Fleet::start();
    for line in ["Home", "Office"] {
        let change = fleet.changes.wait(line, "healthy", Duration::from_secs(30));
        assert_eq!(change["from"], "unknown", "{change:#}");
    }

    // A live scrape passes promtool's checks (names, units, help, types).
    let scrape = fleet.scrape();
    let (ok, said) = promtool(&["check", "metrics"], Some(&scrape));
    assert!(ok, "promtool check metrics: {said}\n{scrape}");
    for series in [
        r#"dialtone_line_verdict{line="Home",verdict="healthy"} 1"#,
        r#"dialtone_line_verdict{line="Office",verdict="provider_outage"} 0"#,
        r#"dialtone_layer_up{line="Office",layer="account"} 1"#,
        r#"dialtone_register_suspended{line="Home"} 0"#,
        "dialtone_sip_rtt_seconds_bucket{",
        "dialtone_checks_total{",
        "dialtone_build_info{",
    ] {
        assert!(scrape.contains(series), "no {series} in\n{scrape}");
    }
    // Every metric (and verdict) a shipped alerting rule names is in the live scrape: a
    // renamed metric would leave a rule that never fires, and Prometheus would not say so.
    let (checked, gaps) = rule_gaps(&read(&docs("dialtone-rules.yml")), &scrape);
    assert!(
        gaps.is_empty(),
        "the shipped rules ask for series the exporter does not serve: {gaps:#?}\n{scrape}"
    );
    assert_eq!(checked, 5, "dialtone's selectors in the shipped rules");

    let config = fleet.prometheus_config();
    let (ok, said) = promtool(&["check", "config", &config.display().to_string()], None);
    assert!(ok, "promtool check config: {said}");
    let prometheus = Prometheus::start(tempfile::tempdir().unwrap(), &config);

    let healthy = prometheus.wait_for(
        r#"dialtone_line_verdict{verdict="healthy"} == 1"#,
        Duration::from_secs(30),
        |r| r.len() == 2,
    );
    let lines: BTreeSet<&str> = healthy.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines, BTreeSet::from(["Home", "Office"]));
    assert!(prometheus.alerts().is_empty(), "{:?}", prometheus.alerts());

    // The office's registrar stops: that line, and only it, is a provider outage.
    fleet.office.stop();
    let change = fleet
        .changes
        .wait("Office", "provider_outage", Duration::from_secs(20));
    assert_eq!(change["failing_layer"], "provider", "{change:#}");
    prometheus.wait_for(
        r#"dialtone_line_verdict{verdict="provider_outage"} == 1"#,
        Duration::from_secs(20),
        |r| r.len() == 1 && r[0].0 == "Office",
    );

    // The shipped alert: pending first (its `for:` runs), then firing; never for Home.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut states = Vec::new();
    loop {
        let alerts = prometheus.alerts();
        for (name, line, state) in &alerts {
            assert!(line != "Home", "an alert for the healthy line: {alerts:?}");
            if name == "DialtoneProviderOutage" && states.last() != Some(state) {
                assert_eq!(line, "Office", "{alerts:?}");
                states.push(state.clone());
            }
        }
        if states.last().map(String::as_str) == Some("firing") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the alert did not fire within 30 s: {states:?}, now {alerts:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(states, ["pending", "firing"]);
    let home = prometheus.query(r#"dialtone_line_verdict{line="Home",verdict="healthy"}"#);
    assert_eq!(home, [("Home".to_string(), 1.0)]);
    let outages = prometheus.query(r#"dialtone_outages_total{verdict="provider_outage"}"#);
    assert_eq!(outages, [("Office".to_string(), 1.0)]);
    assert!(fleet.home.is_running());

    // Each line's outage log is its own: the office's holds the outage, the home's none.
    let pid = nix::unistd::Pid::from_raw(fleet.watch.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let _ = fleet.watch.0.wait();
    let log = |line: &str| {
        let out = Command::new(support::dialtone_bin())
            .args(["log", "--lang", "en", "--line", line, "--db"])
            .arg(fleet.dir.path().join("history.sqlite3"))
            .env("HOME", fleet.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let office = log("office");
    println!("office log:\n{office}\nhome log:\n{}", log("Home"));
    assert!(
        office.contains("provider_outage") || office.contains("provider"),
        "{office}"
    );
    let home = log("Home");
    assert!(!home.contains("provider"), "{home}");
}

/// A line label with a quote and a backslash (both allowed in a label) is escaped in the
/// scrape, which `promtool check metrics` accepts: one badly escaped label would make
/// Prometheus drop the whole scrape, every line's series with it.
#[test]
fn a_label_with_a_quote_and_a_backslash_keeps_the_scrape_valid() {
    const ODD: &str = r#"Büro "Ost" C:\Tel"#;
    let mut fleet = Fleet::labelled(ODD, "Office");
    for line in [ODD, "Office"] {
        fleet.changes.wait(line, "healthy", Duration::from_secs(30));
    }
    let scrape = fleet.scrape();
    let (ok, said) = promtool(&["check", "metrics"], Some(&scrape));
    assert!(ok, "promtool check metrics: {said}\n{scrape}");
    let escaped = r#"dialtone_line_verdict{line="Büro \"Ost\" C:\\Tel",verdict="healthy"} 1"#;
    assert!(scrape.contains(escaped), "no {escaped} in\n{scrape}");
    // Read back as the text format says, the label is the configured one.
    let labels: BTreeSet<String> = scrape
        .lines()
        .filter_map(sample)
        .flat_map(|(_, labels)| labels)
        .filter(|(label, _)| label == "line")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(labels, BTreeSet::from([ODD.to_string(), "Office".into()]));
}

#[test]
fn the_shipped_rules_and_scrape_config_are_valid_and_in_the_guide() {
    // promtool's own checks, and for the rules how many it found.
    for (what, name, says) in [
        ("rules", "dialtone-rules.yml", Some("6 rules found")),
        ("config", "prometheus.yml", None),
    ] {
        let (ok, said) = promtool(&["check", what, &docs(name).display().to_string()], None);
        assert!(ok, "{said}");
        if let Some(says) = says {
            assert!(said.contains(says), "{said}");
        }
    }
    // The guide shows both files as they are, so a copy from it is what the test checked.
    let guide = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet.md"));
    for name in ["prometheus.yml", "dialtone-rules.yml"] {
        let file = read(&docs(name));
        assert!(
            guide.contains(file.trim_end()),
            "docs/fleet.md does not show docs/prometheus/{name} as it is"
        );
    }
}

#[test]
fn the_exporter_serves_metrics_only() {
    let mut fleet = Fleet::start();
    for line in ["Home", "Office"] {
        fleet.changes.wait(line, "healthy", Duration::from_secs(30));
    }
    assert_eq!(http_get(fleet.metrics, "/nothing-here").unwrap().0, 404);
    // Only GET.
    let mut stream = TcpStream::connect(fleet.metrics).unwrap();
    stream
        .write_all(b"POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    // A head that never ends is cut off, not buffered without bound (just over the 8 KiB
    // limit, so the server has read all of it and its answer is not lost to a reset).
    let mut stream = TcpStream::connect(fleet.metrics).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let junk = vec![b'x'; 9000];
    stream.write_all(&junk).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
    // Garbage did not hurt it: the next scrape works, as OpenMetrics when asked for.
    let mut stream = TcpStream::connect(fleet.metrics).unwrap();
    stream
        .write_all(
            b"GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    assert!(
        answer.contains("application/openmetrics-text"),
        "{answer:.300}"
    );
    assert!(answer.trim_end().ends_with("# EOF"), "{answer}");
    assert!(
        answer.contains(r#"dialtone_line_verdict{line="Office",verdict="healthy"} 1"#),
        "{answer}"
    );
}

#[test]
fn check_reports_every_line_or_the_one_asked_for() {
    let home = Kamailio::with_user("alice", HOME_PASSWORD);
    home.register_contact("alice", HOME_PASSWORD, 3600);
    let anchors = support::loopback_anchors();
    // Nothing listens there: the office's provider is out.
    let closed = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[network]\nanchors = [\"{}\", \"{}\"]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\
             [router]\nurl = \"off\"\n\
             [[line]]\nlabel = \"Home\"\n[line.account]\nregistrar = \"{}\"\nuser = \"alice\"\npassword_env = \"FLEET_HOME_PASSWORD\"\n\
             [[line]]\nlabel = \"Office\"\n[line.account]\nregistrar = \"sip:127.0.0.1:{closed}\"\n",
            anchors[0].local_addr().unwrap(),
            anchors[1].local_addr().unwrap(),
            home.registrar_uri(Transport::Udp),
        ),
    )
    .unwrap();
    let check = |extra: &[&str]| {
        Command::new(support::dialtone_bin())
            .args(["check", "--timeout", "1", "--lang", "en", "--config"])
            .arg(&config)
            .args(extra)
            .env("FLEET_HOME_PASSWORD", HOME_PASSWORD)
            .env("HOME", dir.path())
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_RUNTIME_DIR", dir.path())
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap()
    };

    // Every line, one report each, and the worst verdict's exit code.
    let out = check(&["--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = json
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {json:#}"));
    let verdicts: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r["line"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [("Home", "healthy"), ("Office", "provider_outage")]
    );
    assert_eq!(out.status.code(), Some(12), "{out:?}");

    // One line by its label (any case): one report, its own exit code.
    let out = check(&["--json", "--line", "home"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["line"].as_str(), json["verdict"].as_str()),
        (Some("Home"), Some("healthy"))
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // Text names each line.
    let out = check(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Home:\n") && text.contains("\nOffice:\n"),
        "{text}"
    );

    // A label that is not there says which are.
    let out = check(&["--line", "Garage"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("\"Garage\"") && said.contains("Home, Office"),
        "{said}"
    );
}

/// A series selector of a PromQL expression: the metric's name and its label matchers
/// (label, operator, value).
#[derive(Debug)]
struct Selector {
    metric: String,
    matchers: Vec<(String, String, String)>,
}

/// The series selectors of a PromQL expression: names with or without `{…}` matchers,
/// skipping functions, range and subquery brackets, numbers, durations, keywords and the
/// label lists of `by (…)` and its kin. Enough for alerting rules; what it cannot read shows
/// up as a rule without selectors, which the checks treat as a gap.
fn selectors(expr: &str) -> Vec<Selector> {
    const GROUPING: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    // Operators, and aggregations (which may put `by (…)` before their parenthesis).
    const KEYWORDS: [&str; 17] = [
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = after_quoted(&chars, i);
        } else if c == '[' {
            i += chars[i..]
                .iter()
                .position(|&c| c == ']')
                .unwrap_or(chars.len() - i);
        } else if c == '{' {
            let (matchers, end) = matchers_at(&chars, i);
            found.push(Selector {
                metric: String::new(),
                matchers,
            });
            i = end;
        } else if c.is_ascii_digit() {
            // A number or a duration (`5m`): not a name.
            while i < chars.len() && (word_char(chars[i]) || chars[i] == '.') {
                i += 1;
            }
        } else if word_char(c) {
            let start = i;
            while i < chars.len() && word_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while chars.get(next).is_some_and(|c| c.is_whitespace()) {
                next += 1;
            }
            if chars.get(next) == Some(&'(') {
                if GROUPING.contains(&word.as_str()) {
                    i = next + chars[next..].iter().position(|&c| c == ')').unwrap_or(0) + 1;
                }
                continue; // A function's name, or a label list skipped above.
            }
            if KEYWORDS.contains(&word.as_str()) {
                continue;
            }
            let mut matchers = Vec::new();
            if chars.get(next) == Some(&'{') {
                (matchers, i) = matchers_at(&chars, next);
            }
            found.push(Selector {
                metric: word,
                matchers,
            });
        } else {
            i += 1;
        }
    }
    found
}

/// The index just past the quoted string that starts at `start` (backslash escapes kept).
fn after_quoted(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// The label matchers of the `{…}` at `start`, and the index just past its `}`.
fn matchers_at(chars: &[char], start: usize) -> (Vec<(String, String, String)>, usize) {
    let mut parts = vec![String::new()];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != '}' {
        if chars[i] == '"' || chars[i] == '\'' {
            let end = after_quoted(chars, i).min(chars.len());
            parts.last_mut().unwrap().extend(&chars[i..end]);
            i = end;
        } else {
            if chars[i] == ',' {
                parts.push(String::new());
            } else {
                parts.last_mut().unwrap().push(chars[i]);
            }
            i += 1;
        }
    }
    let matchers = parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let at = p.find(['=', '!']).unwrap_or(p.len());
            let (name, rest) = p.split_at(at);
            let op_len = if rest.starts_with("=~") || rest.starts_with('!') {
                2
            } else {
                1
            };
            let (op, value) = rest.split_at(op_len.min(rest.len()));
            let value = value.trim().trim_matches(['"', '\'']).to_string();
            (name.trim().to_string(), op.to_string(), value)
        })
        .collect();
    (matchers, i + 1)
}

/// A sample line of the text exposition format: its metric name and labels (values
/// unescaped), or `None` for comments and blank lines.
fn sample(line: &str) -> Option<(String, Vec<(String, String)>)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    let mut rest = line[name_end..].chars().peekable();
    if rest.peek() == Some(&'{') {
        rest.next();
        loop {
            let label: String = rest.by_ref().take_while(|&c| c != '=').collect();
            let label = label.trim_start_matches([',', ' ']).to_string();
            if label.is_empty() || rest.next() != Some('"') {
                break;
            }
            let mut value = String::new();
            while let Some(c) = rest.next() {
                match c {
                    '"' => break,
                    '\\' => match rest.next() {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => break,
                    },
                    c => value.push(c),
                }
            }
            labels.push((label, value));
            if rest.peek() == Some(&'}') {
                break;
            }
        }
    }
    Some((name, labels))
}

/// Series Prometheus makes itself for every target, which no exporter serves.
const PROMETHEUS_OWN: [&str; 1] = ["up"];

/// What the alerting rules `rules` (the YAML text, one `expr:` per rule) ask of the exporter
/// that the live `scrape` lacks: a metric no sample carries, or a label value (`=`, or each
/// plain alternative of `=~`) no sample of that metric has. A renamed metric or verdict would
/// leave a rule that never fires, and Prometheus says nothing about it. Also returns how many
/// of dialtone's selectors were checked.
fn rule_gaps(rules: &str, scrape: &str) -> (usize, Vec<String>) {
    let samples: Vec<_> = scrape.lines().filter_map(sample).collect();
    let mut checked = 0;
    let mut gaps = Vec::new();
    for expr in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(str::trim)
    {
        let found = selectors(expr);
        if found.is_empty() {
            gaps.push(format!("{expr}: no series selector read"));
        }
        for selector in found {
            let metric = selector.metric.as_str();
            if PROMETHEUS_OWN.contains(&metric) {
                continue;
            }
            if !metric.starts_with("dialtone_") {
                gaps.push(format!("{expr}: {metric:?} is not dialtone's"));
                continue;
            }
            checked += 1;
            let of_metric: Vec<_> = samples.iter().filter(|(n, _)| n == metric).collect();
            if of_metric.is_empty() {
                gaps.push(format!("{expr}: no {metric} in the scrape"));
                continue;
            }
            for (label, op, value) in &selector.matchers {
                let wanted: Vec<&str> = match op.as_str() {
                    "=" => vec![value.as_str()],
                    "=~" if value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_|".contains(c)) =>
                    {
                        value.split('|').collect()
                    }
                    _ => continue,
                };
                for want in wanted {
                    let has = of_metric
                        .iter()
                        .any(|(_, ls)| ls.iter().any(|(l, v)| l == label && v == want));
                    if !has {
                        gaps.push(format!("{expr}: no {metric} with {label}=\"{want}\""));
                    }
                }
            }
        }
    }
    (checked, gaps)
}

/// The check itself cannot pass vacuously: on a scrape where a metric and a verdict were
/// renamed it names both, and it reads every selector of the shipped rules.
#[test]
fn the_rule_check_names_a_renamed_metric_or_label_value() {
    let rules = read(&docs("dialtone-rules.yml"));
    assert_eq!(
        rules
            .lines()
            .filter(|l| l.trim().starts_with("expr:"))
            .count(),
        6,
        "every shipped rule's expr on one line, as the check reads them"
    );
    let renamed = "# HELP dialtone_line_verdict x\n\
        dialtone_line_verdict{line=\"A \\\"b\\\" \\\\c\",verdict=\"provider_down\"} 1\n\
        dialtone_line_verdict{line=\"A\",verdict=\"account_problem\"} 0\n\
        dialtone_line_verdict{line=\"A\",verdict=\"internet_down\"} 0\n\
        dialtone_verdict_changes_total{line=\"A\"} 3\n";
    let (checked, gaps) = rule_gaps(&rules, renamed);
    assert_eq!(checked, 5, "{gaps:#?}");
    assert_eq!(
        gaps,
        [
            "dialtone_line_verdict{verdict=\"provider_outage\"} == 1: no dialtone_line_verdict \
             with verdict=\"provider_outage\"",
            "dialtone_register_suspended == 1: no dialtone_register_suspended in the scrape",
            "dialtone_line_verdict{verdict=~\"internet_down|local_problem\"} == 1: no \
             dialtone_line_verdict with verdict=\"local_problem\"",
        ]
    );
    // The label value with a quote and a backslash is read back unescaped.
    let (_, labels) = sample(renamed.lines().nth(1).unwrap()).unwrap();
    assert_eq!(labels[0], ("line".into(), r#"A "b" \c"#.into()));
    let (checked, gaps) = rule_gaps("expr: sum by (line) (rate(foo_total[5m])) > 1", "");
    assert_eq!((checked, gaps.len()), (0, 1), "{gaps:?}");
}
