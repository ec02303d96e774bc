//! dialtone never causes a lockout: against the harness's real kamailio with digest auth, the
//! REGISTERs that carry credentials are counted in kamailio's own log while the `dialtone`
//! binary is started, restarted and reconfigured the ways a user would. A rejected password
//! is sent once, whatever happens after, until the user asks to try again (one more) or
//! changes the password. Everything runs on loopback, in a temporary home.
#![allow(clippy::unwrap_used)]

use dialtone_core::locale::Lang;
use dialtone_core::observation::Transport;
use dialtone_ipc::client::Client;
use dialtone_testkit::dialtone_bin;
use dialtone_testkit::kamailio::{Kamailio, KamailioOptions};
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
        let anchors: Vec<TcpListener> = (0..2)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let anchor_list = anchors
            .iter()
            .map(|l| format!("\"{}\"", l.local_addr().unwrap()))
            .collect::<Vec<_>>()
            .join(", ");
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

/// Starts the agent and waits until its first round has been published.
fn start_agent(home: &Home, rt: &tokio::runtime::Runtime) -> Agent {
    let child = home
        .dialtone(&["agent", "--no-history"], WRONG)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let agent = Agent(child);
    rt.block_on(wait_for_round(&home.socket(), None));
    agent
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
    let kamailio = Kamailio::start(KamailioOptions {
        users: vec![("alice".into(), PASSWORD.into())],
        ..KamailioOptions::default()
    });
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

    // Five agent starts, each running a few rounds.
    for _ in 0..5 {
        let _agent = start_agent(&home, &rt);
        std::thread::sleep(Duration::from_secs(2));
    }
    // Three settings changes over IPC: language, notifications, the interval.
    {
        let _agent = start_agent(&home, &rt);
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
    // Two `watch` starts.
    for _ in 0..2 {
        let mut watch = home
            .dialtone(&["watch", "--json", "--no-history"], WRONG)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(3));
        terminate(&mut watch);
    }
    // And a check: it says the login is suspended, and sends nothing.
    let out = home.dialtone(&["check"], WRONG).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("paused after a rejected login"), "{text}");
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

    // The right password: a change of credentials, so it is tried, and the line works.
    assert_eq!(home.check(PASSWORD), 0, "healthy");
    assert_eq!((kamailio.authenticated_registers() - baseline), 3);
    // The ledger never holds the password, right or wrong.
    let ledger =
        std::fs::read_to_string(home.path().join("state/dialtone/logins.json")).unwrap_or_default();
    assert!(
        !ledger.contains(WRONG) && !ledger.contains(PASSWORD),
        "{ledger}"
    );
}
