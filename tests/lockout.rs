//! dialtone never causes a lockout: against the harness's real kamailio with digest auth, the
//! REGISTERs that carry credentials are counted in kamailio's own log while the `dialtone`
//! binary is started, restarted and reconfigured the ways a user would. A rejected password
//! is sent once, whatever happens after, until the user asks to try again (one more) or
//! changes the password. Everything runs on loopback, in a temporary home.
#![allow(clippy::unwrap_used)]

use dialtone_core::locale::Lang;
use dialtone_core::observation::Transport;
use dialtone_ipc::client::Client;
use dialtone_testkit::kamailio::Kamailio;
use dialtone_testkit::{anchor_args, anchors_toml, dialtone_bin, loopback_anchors};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "s3cr3t-Pa55";
const WRONG: &str = "not-the-password";

/// A temporary home with a config file pointing every layer at loopback.
struct Home {
    dir: tempfile::TempDir,
    _anchors: Vec<TcpListener>,
}

impl Home {
    fn new(kamailio: &Kamailio) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let anchors = loopback_anchors();
        let anchor_list = anchors_toml(&anchors);
        let config = format!(
            "timeout_secs = 2\n\
             [account]\nregistrar = \"{}\"\nuser = \"alice\"\npassword_env = \"DIALTONE_TEST_PW\"\n\
             [network]\nanchors = [{anchor_list}]\ngateway = \"127.0.0.1\"\ndns_name = \"none\"\n\
             [schedule]\ninterval_secs = 2\nrecheck_secs = 1\n",
            kamailio.registrar_uri(Transport::Udp)
        );
        let home = Home {
            dir,
            _anchors: anchors,
        };
        std::fs::create_dir_all(home.config().parent().unwrap()).unwrap();
        std::fs::write(home.config(), config).unwrap();
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.path().join("config/dialtone/config.toml")
    }

    fn socket(&self) -> PathBuf {
        self.path().join("run/agent.sock")
    }

    /// `dialtone SUB…` in this home with `password` in the configured variable.
    fn dialtone(&self, args: &[&str], password: &str) -> Command {
        let mut cmd = Command::new(dialtone_bin());
        cmd.args(["--lang", "en"])
            .args(args)
            .env("DIALTONE_TEST_PW", password)
            .env("DIALTONE_CONFIG", self.config())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("XDG_RUNTIME_DIR", self.path().join("run"))
            .env("DIALTONE_SOCKET", self.socket())
            // The agent must not open anything: a first run would start the dashboard.
            .env("DIALTONE_DASHBOARD", "/bin/true")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DISPLAY")
            .stdin(Stdio::null());
        cmd
    }

    /// `dialtone check`, its exit code.
    fn check(&self, password: &str) -> i32 {
        let out = self
            .dialtone(&["check", "--json"], password)
            .output()
            .unwrap();
        out.status.code().unwrap_or(-1)
    }
}

/// A running agent, stopped with SIGTERM on drop.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        terminate(&mut self.0);
    }
}

fn terminate(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts the agent (with `password`) and waits until its first round has been published.
fn start_agent(home: &Home, rt: &tokio::runtime::Runtime, password: &str) -> Agent {
    let child = home
        .dialtone(&["agent", "--no-history"], password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let agent = Agent(child);
    rt.block_on(wait_for_round(&home.socket(), None));
    agent
}

/// Waits for `n` rounds of the agent at `socket` newer than the latest it has published:
/// the positive sign that rounds ran, before a test asserts that they sent nothing.
fn wait_for_rounds(rt: &tokio::runtime::Runtime, socket: &Path, n: usize) {
    rt.block_on(async {
        let mut after = wait_for_round(socket, None).await;
        for _ in 0..n {
            after = wait_for_round(socket, Some(after)).await;
        }
    });
}

/// Waits until the agent at `socket` has published a check newer than `after`.
async fn wait_for_round(
    socket: &Path,
    after: Option<chrono::DateTime<chrono::Utc>>,
) -> chrono::DateTime<chrono::Utc> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the agent published no round");
        if let Ok(mut client) = Client::connect(socket).await {
            if let Ok(status) = client.status().await {
                if let Some(latest) = status.status.latest {
                    if after.is_none_or(|a| latest.checked_at > a) {
                        return latest.checked_at;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_rejected_password_is_sent_once_across_restarts_settings_and_processes() {
    let kamailio = Kamailio::with_user("alice", PASSWORD);
    // The user's phone is registered, so the right password gives a healthy line.
    kamailio.register_contact("alice", PASSWORD, 3600);
    let baseline = kamailio.authenticated_registers();
    let home = Home::new(&kamailio);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // The wrong password: rejected once.
    assert_eq!(home.check(WRONG), 11, "account_problem");
    assert_eq!((kamailio.authenticated_registers() - baseline), 1);

    // Five agent starts, each running a few rounds (seen over IPC, not assumed from a sleep).
    for _ in 0..5 {
        let _agent = start_agent(&home, &rt, WRONG);
        wait_for_rounds(&rt, &home.socket(), 1);
    }
    // Three settings changes over IPC: language, notifications, the interval.
    {
        let _agent = start_agent(&home, &rt, WRONG);
        rt.block_on(async {
            let mut client = Client::connect(&home.socket()).await.unwrap();
            for change in 0..3 {
                let mut settings = client.settings().await.unwrap();
                match change {
                    0 => settings.language = Some(Lang::De),
                    1 => settings.notifications = !settings.notifications,
                    _ => settings.interval_secs = 3,
                }
                let before = client
                    .status()
                    .await
                    .unwrap()
                    .status
                    .latest
                    .map(|d| d.checked_at);
                client.set_settings(settings).await.unwrap();
                wait_for_round(&home.socket(), before).await;
            }
        });
    }
    // Two `watch` starts, each seen to run: its first confirmed verdict, a JSON line (the
    // suspended login reads as the account problem), before the REGISTERs are counted.
    for _ in 0..2 {
        let (mut watch, lines) = dialtone_testkit::spawn_with_lines(
            &mut home.dialtone(&["watch", "--json", "--no-history"], WRONG),
        )
        .unwrap();
        let (_, line) = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("the watch printed nothing ({e})"));
        let change: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(change["to"], "account_problem", "{change:#}");
        terminate(&mut watch);
    }
    // And a check: it says the login is suspended, and sends nothing.
    let out = home
        .dialtone(&["check", "--verbose"], WRONG)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("paused after a rejected login"), "{text}");
    // And in plain words without --verbose.
    let out = home.dialtone(&["check"], WRONG).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stopped trying your login after it was rejected"),
        "{text}"
    );
    assert_eq!(
        (kamailio.authenticated_registers() - baseline),
        1,
        "the rejected password went out again:\n{}",
        kamailio.log()
    );

    // "Try the login again": exactly one more attempt.
    let out = home
        .dialtone(&["password", "retry"], WRONG)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(home.check(WRONG), 11);
    assert_eq!(home.check(WRONG), 11);
    assert_eq!((kamailio.authenticated_registers() - baseline), 2);

    // The same from a running agent, as the tray's and the dashboard's "Try the login again"
    // ask it over IPC: one more attempt, however many rounds follow.
    {
        let _agent = start_agent(&home, &rt, WRONG);
        assert_eq!(
            (kamailio.authenticated_registers() - baseline),
            2,
            "the agent's start sent the rejected password"
        );
        rt.block_on(async {
            let mut client = Client::connect(&home.socket()).await.unwrap();
            client.retry_login().await.unwrap();
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while kamailio.authenticated_registers() - baseline < 3 {
            assert!(Instant::now() < deadline, "the agent's retry sent nothing");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Rounds go on every 2 s; none of them sends the password again (three rounds seen
        // to run after the retry's login, then counted).
        wait_for_rounds(&rt, &home.socket(), 3);
        assert_eq!(
            (kamailio.authenticated_registers() - baseline),
            3,
            "the agent's retry sent more than one attempt:\n{}",
            kamailio.log()
        );
    }

    // The right password: a change of credentials, so it is tried, and the line works.
    assert_eq!(home.check(PASSWORD), 0, "healthy");
    assert_eq!((kamailio.authenticated_registers() - baseline), 4);
    // The ledger never holds the password, right or wrong.
    let ledger = std::fs::read_to_string(home.path().join("state/dialtone/logins.json"))
        .expect("the login ledger, written by every login above");
    assert!(
        !ledger.contains(WRONG) && !ledger.contains(PASSWORD),
        "{ledger}"
    );
}

/// A scripted registrar on loopback UDP: OPTIONS → 200, a REGISTER without credentials → a
/// digest challenge, a REGISTER with credentials → `authenticated` (the status line and
/// extra headers). Counts the REGISTERs that carried credentials.
struct ScriptedRegistrar {
    addr: std::net::SocketAddr,
    authenticated: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl ScriptedRegistrar {
    fn start(authenticated: &'static str) -> ScriptedRegistrar {
        ScriptedRegistrar::with_options(authenticated, true)
    }

    /// As [`ScriptedRegistrar::start`]; `answer_options: false` ignores OPTIONS completely, as
    /// some providers' registrars do for anything that is not a registration.
    fn with_options(authenticated: &'static str, answer_options: bool) -> ScriptedRegistrar {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let count = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let header = |name: &str| {
                    request
                        .split("\r\n")
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.trim()
                                .eq_ignore_ascii_case(name)
                                .then(|| v.trim().to_string())
                        })
                        .unwrap_or_default()
                };
                let (status, extra) = if request.starts_with("OPTIONS ") {
                    if !answer_options {
                        continue;
                    }
                    ("200 OK", String::new())
                } else if request.starts_with("REGISTER ") {
                    if header("authorization").is_empty() {
                        (
                            "401 Unauthorized",
                            "WWW-Authenticate: Digest realm=\"scripted\", nonce=\"n0nce\", algorithm=MD5\r\n"
                                .to_string(),
                        )
                    } else {
                        c.fetch_add(1, Ordering::SeqCst);
                        let (status, extra) =
                            authenticated.split_once('|').unwrap_or((authenticated, ""));
                        (status, extra.replace('|', "\r\n"))
                    }
                } else {
                    continue;
                };
                let response = format!(
                    "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=srv\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
                    header("via"),
                    header("from"),
                    header("to"),
                    header("call-id"),
                    header("cseq"),
                );
                let _ = socket.send_to(response.as_bytes(), from);
            }
        });
        ScriptedRegistrar {
            addr,
            authenticated: count,
            stop,
        }
    }

    fn authenticated(&self) -> usize {
        self.authenticated.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for ScriptedRegistrar {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_retry_after_holds_every_login_back_until_it_has_passed() {
    let registrar = ScriptedRegistrar::start("503 Service Unavailable|Retry-After: 300|");
    let anchors = loopback_anchors();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = scripted(
        &["watch", "--json", "--no-history"],
        &registrar,
        dir.path(),
        &anchors,
    );
    cmd.args(["--interval", "10", "--recheck", "5"])
        .args(["--user", "alice", "--password-env", "DIALTONE_TEST_PW"])
        .env("DIALTONE_TEST_PW", PASSWORD)
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let mut watch = cmd.stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(70));
    // It ran the whole time (its output below says what it saw): a watch that died at once
    // would send no second login either.
    assert!(
        matches!(watch.try_wait(), Ok(None)),
        "the watch ended early: {:?}",
        watch.try_wait()
    );
    terminate(&mut watch);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut watch.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(registrar.authenticated(), 1, "watch said:\n{out}");
    // What the user is told: the registrar's own 503, and when the next login may go out; and
    // since it answers OPTIONS all along, the old 503 alone does not keep the line red.
    assert!(out.contains("\"to\":\"degraded\""), "{out}");
    assert!(!out.contains("\"to\":\"provider_outage\""), "{out}");
    assert!(
        out.contains("could not take logins; waiting until "),
        "{out}"
    );
    let ledger = std::fs::read_to_string(dir.path().join("state/dialtone/logins.json")).unwrap();
    assert!(ledger.contains("\"code\": 503"), "{ledger}");
    // Another process on the same state dir keeps the wait, and says when the next login may
    // go out; it sends none.
    let (code, text) = check_scripted(&registrar, dir.path(), Some(PASSWORD));
    assert_eq!(code, 10, "degraded: {text}");
    assert!(text.contains("next login not before"), "{text}");
    assert_eq!(registrar.authenticated(), 1, "check said:\n{text}");
}

#[test]
fn check_now_sends_the_login_at_most_once_a_minute() {
    let registrar = ScriptedRegistrar::start("200 OK|Contact: <sip:alice@192.0.2.7>;expires=300|");
    let anchors = loopback_anchors();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let child = scripted(&["agent", "--no-history"], &registrar, dir.path(), &anchors)
        .args(["--user", "alice", "--password-env", "DIALTONE_TEST_PW"])
        .env("DIALTONE_TEST_PW", PASSWORD)
        .env("DIALTONE_SOCKET", &socket)
        .env("DIALTONE_DASHBOARD", "/bin/true")
        .env_remove("DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _agent = Agent(child);
    let first = rt.block_on(wait_for_round(&socket, None));
    let queried = Instant::now();
    assert_eq!(
        registrar.authenticated(),
        1,
        "the first round queries the account"
    );
    // A user pressing "Check now" again and again: every press runs a round, none a login.
    rt.block_on(async {
        let mut after = first;
        for _ in 0..3 {
            let mut client = Client::connect(&socket).await.unwrap();
            client.check_now().await.unwrap();
            after = wait_for_round(&socket, Some(after)).await;
        }
        assert_eq!(
            registrar.authenticated(),
            1,
            "check now within a minute sent a login"
        );
        // A minute after the query, "Check now" asks the account again.
        let gap = Duration::from_secs(61).saturating_sub(queried.elapsed());
        tokio::time::sleep(gap).await;
        let mut client = Client::connect(&socket).await.unwrap();
        client.check_now().await.unwrap();
        // Scheduled rounds run too, so the press's own round is not told apart by its time:
        // the login it sends is waited for (a round takes well under 10 s here).
        let deadline = Instant::now() + Duration::from_secs(10);
        while registrar.authenticated() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(
        registrar.authenticated(),
        2,
        "check now after a minute queried no account"
    );
}

#[test]
fn a_second_watcher_of_the_same_account_refuses_to_start() {
    let kamailio = Kamailio::with_user("alice", PASSWORD);
    let home = Home::new(&kamailio);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _agent = start_agent(&home, &rt, PASSWORD);
    let out = home
        .dialtone(&["watch", "--no-history"], PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already watches this account"), "{stderr}");
    // A one-off check meanwhile leaves the account to the agent: no parallel REGISTER.
    let queries = kamailio.authenticated_registers();
    let out = home.dialtone(&["check"], PASSWORD).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("leaves the account to it"), "{stderr}");
    assert_eq!(kamailio.authenticated_registers(), queries);
}

/// `dialtone ARGS…` against a scripted registrar, every other layer on loopback, in `home`.
fn scripted(
    args: &[&str],
    registrar: &ScriptedRegistrar,
    home: &Path,
    anchors: &[TcpListener],
) -> Command {
    let mut cmd = Command::new(dialtone_bin());
    cmd.args(["--lang", "en"])
        .args(args)
        .arg("--config")
        .arg(home.join("none.toml"))
        .arg("--registrar")
        .arg(format!("sip:{};transport=udp", registrar.addr))
        .args([
            "--gateway",
            "127.0.0.1",
            "--dns-name",
            "none",
            "--timeout",
            "2",
        ])
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    anchor_args(&mut cmd, anchors);
    cmd
}

/// `dialtone check` against `registrar` from the state dir `home`, with the password or none.
fn check_scripted(
    registrar: &ScriptedRegistrar,
    home: &Path,
    password: Option<&str>,
) -> (i32, String) {
    let anchors = loopback_anchors();
    // The technical register: these tests read the evidence itself.
    let mut cmd = scripted(&["check", "--verbose"], registrar, home, &anchors);
    if let Some(password) = password {
        cmd.args(["--user", "alice", "--password-env", "DIALTONE_TEST_PW"])
            .env("DIALTONE_TEST_PW", password);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_registrar_that_ignores_checks_is_unknown_until_it_has_answered() {
    let registrar = ScriptedRegistrar::with_options(
        "200 OK|Contact: <sip:router@192.0.2.1:5060>;expires=300|",
        false,
    );
    // Without a login, on a fresh state dir: nothing ever answered, so no red.
    let fresh = tempfile::tempdir().unwrap();
    let (code, text) = check_scripted(&registrar, fresh.path(), None);
    assert_eq!(code, 15, "unknown:\n{text}");
    assert!(text.contains("never answered from this computer"), "{text}");
    // With the login: the REGISTER query decides, and the line works.
    let home = tempfile::tempdir().unwrap();
    let (code, text) = check_scripted(&registrar, home.path(), Some(PASSWORD));
    assert_eq!(code, 0, "healthy:\n{text}");
    assert!(text.contains("does not answer OPTIONS checks"), "{text}");
    // It has answered from here now: the same silence without the login is an outage.
    let (code, text) = check_scripted(&registrar, home.path(), None);
    assert_eq!(code, 12, "provider_outage:\n{text}");
}

/// `dialtone check --verbose` with alice's login against `registrar` in `home`, with
/// `extra_env` set: everything it printed (stdout, then stderr).
fn check_spoilt(registrar: &ScriptedRegistrar, home: &Path, extra_env: &[(&str, &Path)]) -> String {
    let anchors = loopback_anchors();
    let mut cmd = scripted(&["check", "--verbose"], registrar, home, &anchors);
    cmd.args(["--user", "alice", "--password-env", "DIALTONE_TEST_PW"])
        .env("DIALTONE_TEST_PW", PASSWORD);
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    dialtone_testkit::printed(&cmd.output().unwrap())
}

#[test]
fn a_login_ledger_that_cannot_be_written_pauses_logins_and_says_why() {
    let registrar = ScriptedRegistrar::start("200 OK|Contact: <sip:alice@192.0.2.7>;expires=300|");
    let home = tempfile::tempdir().unwrap();
    // dialtone's state dir is a file: the ledger can be neither read nor written (as root
    // too, unlike a chmod).
    std::fs::create_dir_all(home.path().join("state")).unwrap();
    std::fs::write(home.path().join("state/dialtone"), "").unwrap();
    let text = check_spoilt(&registrar, home.path(), &[]);
    assert!(
        text.contains("login checks paused: cannot")
            && text.contains(&format!(
                "{}",
                home.path().join("state/dialtone/logins.json").display()
            )),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
    assert_eq!(registrar.authenticated(), 0, "a login went out:\n{text}");
}

#[test]
fn a_watch_lock_that_cannot_be_made_leaves_the_account_out() {
    let registrar = ScriptedRegistrar::start("200 OK|Contact: <sip:alice@192.0.2.7>;expires=300|");
    let home = tempfile::tempdir().unwrap();
    // The lock goes beside the agent's socket; there, a file instead of a directory.
    let blocker = home.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let socket = blocker.join("agent.sock");
    let text = check_spoilt(&registrar, home.path(), &[("DIALTONE_SOCKET", &socket)]);
    assert!(
        text.contains("watch lock") && text.contains("login checks paused"),
        "{text}"
    );
    assert_eq!(registrar.authenticated(), 0, "a login went out:\n{text}");
}
