//! The agent's IPC socket from the outside: requests and replies, the event stream, hostile
//! input (malformed JSON, an oversized line), file modes, and a client of another user.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion

use chrono::Utc;
use dialtone_core::diagnosis::Thresholds;
use dialtone_core::locale::Lang;
use dialtone_core::schedule::Status;
use dialtone_core::verdict::Verdict;
use dialtone_ipc::client::{Client, ClientError};
use dialtone_ipc::protocol::{
    AgentStatus, ErrorReply, Event, Request, Response, ServerMessage, Settings, MAX_LINE,
};
use dialtone_ipc::server::{Handler, Server};
use dialtone_ipc::{EndpointError, IpcError};
use dialtone_testkit as support;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A handler with a settable verdict: enough to exercise the transport on its own.
struct Scripted {
    verdict: Mutex<Verdict>,
    events: broadcast::Sender<Event>,
    checks: Mutex<u32>,
}

impl Scripted {
    fn status(&self) -> AgentStatus {
        AgentStatus {
            status: Status {
                verdict: *self.verdict.lock().unwrap(),
                since: Utc::now(),
                diagnosis: None,
                latest: None,
                thresholds: Thresholds::default(),
            },
            configured: true,
            alerts_paused_until: None,
            provider: None,
            lang: Lang::En,
            tray_icon_hidden: false,
            line: None,
            lines: Vec::new(),
        }
    }
}

impl Handler for Scripted {
    async fn handle(&self, request: Request) -> Result<Response, ErrorReply> {
        match request {
            Request::Status { .. } => Ok(Response::Status {
                status: self.status(),
            }),
            Request::CheckNow { .. } => {
                *self.checks.lock().unwrap() += 1;
                *self.verdict.lock().unwrap() = Verdict::ProviderOutage;
                let _ = self.events.send(Event::Status(self.status()));
                Ok(Response::CheckStarted)
            }
            Request::GetSettings => Ok(Response::Settings {
                settings: Settings::default(),
            }),
            other => Err(ErrorReply::Unavailable {
                what: other.name().into(),
                detail: "not in this test".into(),
            }),
        }
    }

    fn subscribe(&self) -> (AgentStatus, broadcast::Receiver<Event>) {
        (self.status(), self.events.subscribe())
    }
}

struct Running {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    handler: Arc<Scripted>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The agent side bound at `path`: a healthy [`Scripted`] handler, served until the token is
/// cancelled.
async fn serve(
    path: &Path,
) -> (
    Arc<Scripted>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let server = Server::bind(path).await.unwrap();
    let handler = Arc::new(Scripted {
        verdict: Mutex::new(Verdict::Healthy),
        events: broadcast::channel(16).0,
        checks: Mutex::new(0),
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.serve(handler.clone(), shutdown.clone()));
    (handler, shutdown, task)
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    // A nested directory, as in $XDG_RUNTIME_DIR/dialtone/, so the server creates it itself.
    let path = dir.path().join("dialtone").join("agent.sock");
    let (handler, shutdown, task) = serve(&path).await;
    Running {
        _dir: dir,
        path,
        handler,
        shutdown,
        task,
    }
}

/// Sends raw bytes and reads one reply line, as a hostile or careless client would.
async fn raw_exchange(path: &Path, bytes: &[u8]) -> (ServerMessage, BufReader<UnixStream>) {
    let mut stream = BufReader::new(UnixStream::connect(path).await.unwrap());
    stream.get_mut().write_all(bytes).await.unwrap();
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_line(&mut line))
        .await
        .expect("reply in time")
        .unwrap();
    (serde_json::from_str(&line).unwrap(), stream)
}

/// The next reply line on a raw connection.
async fn next_reply(conn: &mut BufReader<UnixStream>) -> ServerMessage {
    let mut line = String::new();
    conn.read_line(&mut line).await.unwrap();
    serde_json::from_str(&line).unwrap()
}

/// A client connected to the agent at `path`, which it finds healthy.
async fn healthy_client(path: &Path) -> Client {
    let mut client = Client::connect(path).await.unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.status.verdict, Verdict::Healthy);
    client
}

#[tokio::test]
async fn status_request_round_trips() {
    let agent = start().await;
    let mut client = healthy_client(&agent.path).await;
    assert_eq!(client.settings().await.unwrap(), Settings::default());
    // A typed error from the handler arrives as a typed error.
    match client.history(24).await {
        Err(ClientError::Agent {
            request: "history",
            error: ErrorReply::Unavailable { .. },
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
    agent.shutdown.cancel();
    agent.task.await.unwrap();
    assert!(!agent.path.exists(), "socket removed on shutdown");
}

#[tokio::test]
async fn subscribers_get_events_and_can_still_send_requests() {
    let agent = start().await;
    let mut events = Client::connect(&agent.path).await.unwrap();
    let initial = events.subscribe().await.unwrap();
    assert_eq!(initial.status.verdict, Verdict::Healthy);

    let mut requests = Client::connect(&agent.path).await.unwrap();
    requests.check_now().await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), events.next_event())
        .await
        .expect("event in time")
        .unwrap();
    match event {
        Event::Status(status) => assert_eq!(status.status.verdict, Verdict::ProviderOutage),
        other => panic!("unexpected event {other:?}"),
    }
    // The subscribed connection still answers requests.
    assert_eq!(
        events.status().await.unwrap().status.verdict,
        Verdict::ProviderOutage
    );
    assert_eq!(*agent.handler.checks.lock().unwrap(), 1);
}

#[tokio::test]
async fn malformed_and_oversized_lines_get_errors_and_the_connection_keeps_working() {
    let agent = start().await;

    let (reply, mut conn) = raw_exchange(&agent.path, b"{this is not json\n").await;
    assert!(
        matches!(
            reply,
            ServerMessage::Error {
                id: None,
                error: ErrorReply::Malformed { .. }
            }
        ),
        "{reply:?}"
    );

    // An unknown request keeps its id so the client can match the error.
    conn.get_mut()
        .write_all(b"{\"id\":9,\"request\":{\"type\":\"format_disk\"}}\n")
        .await
        .unwrap();
    let reply = next_reply(&mut conn).await;
    assert!(
        matches!(
            reply,
            ServerMessage::Error {
                id: Some(9),
                error: ErrorReply::Malformed { .. }
            }
        ),
        "{reply:?}"
    );

    // An oversized line (4x the limit, sent in one go) is refused without being buffered...
    let mut huge = b"{\"id\":1,\"request\":{\"type\":\"status\",\"pad\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 4 * MAX_LINE));
    huge.extend_from_slice(b"\"}}\n");
    // ...and the next request on the same connection is answered normally.
    huge.extend_from_slice(b"{\"id\":2,\"request\":{\"type\":\"status\"}}\n");
    conn.get_mut().write_all(&huge).await.unwrap();
    let reply = next_reply(&mut conn).await;
    assert_eq!(
        reply,
        ServerMessage::Error {
            id: None,
            error: ErrorReply::TooLarge { limit: MAX_LINE }
        }
    );
    let reply = next_reply(&mut conn).await;
    assert!(
        matches!(
            reply,
            ServerMessage::Reply {
                id: 2,
                response: Response::Status { .. }
            }
        ),
        "{reply:?}"
    );

    // A client speaking another protocol version is told so.
    let (reply, _) = raw_exchange(
        &agent.path,
        b"{\"id\":3,\"request\":{\"type\":\"hello\",\"version\":99}}\n",
    )
    .await;
    assert!(
        matches!(
            reply,
            ServerMessage::Error {
                id: Some(3),
                error: ErrorReply::VersionMismatch {
                    agent: 1,
                    client: 99
                }
            }
        ),
        "{reply:?}"
    );

    // And the agent as a whole is undisturbed.
    healthy_client(&agent.path).await;
}

#[tokio::test]
async fn socket_and_directory_are_private() {
    let agent = start().await;
    let mode = std::fs::metadata(&agent.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");
    let dir_mode = std::fs::metadata(agent.path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "dir mode {dir_mode:o}");
}

/// Held while a test spawns a process, and while one needs a listening socket to be really
/// closed: a child forked by another test holds every open descriptor until it execs, so a
/// closed listener could still accept in that window and look alive (seen once in CI).
static SPAWNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn a_second_agent_is_refused_and_a_stale_socket_replaced() {
    let agent = start().await;
    match Server::bind(&agent.path).await {
        Err(IpcError::Endpoint(EndpointError::AlreadyRunning { .. })) => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second agent bound the same socket"),
    }
    agent.shutdown.cancel();
    agent.task.await.unwrap();

    // A socket file nobody listens on, as a crashed agent leaves behind.
    let _no_fork = SPAWNING.lock().await;
    let stale = std::os::unix::net::UnixListener::bind(&agent.path).unwrap();
    drop(stale);
    assert!(agent.path.exists());
    let server = Server::bind(&agent.path)
        .await
        .expect("stale socket replaced");
    drop(server);
}

/// Whether this test runs as root (acting as another user needs it); says it is skipped, and
/// why, when not, and fails the test instead when `CI` is set ([`support::require`]).
fn as_root(to: &str) -> bool {
    support::require(
        dialtone_platform::current_user() == 0,
        &format!("root to {to}"),
    )
}

/// Another user must not be able to talk to the agent, even if the file modes were loosened.
#[tokio::test]
async fn a_client_of_another_user_is_refused() {
    if !as_root("run a client as another user") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.sock");
    let (_, shutdown, _) = serve(&path).await;

    let client = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect-failed", e.errno); sys.exit(0)
s.settimeout(5)
try:
    s.sendall(b'{"id":1,"request":{"type":"status"}}\n')
    data = s.recv(65536)
except socket.timeout:
    print("timeout"); sys.exit(0)
except OSError as e:
    print("recv-failed", e.errno); sys.exit(0)
print("reply" if data else "closed")
"#;
    // Blocking, so it runs off the runtime thread the server needs.
    let run_as_nobody = |path: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || {
            let _spawning = SPAWNING.blocking_lock();
            let out = std::process::Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "/usr/bin/python3",
                    "-c",
                    client,
                ])
                .arg(path)
                .output()
                .expect("setpriv runs");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .await
        .unwrap()
    };

    // The file modes alone keep nobody out (the directory is private to root here).
    let out = run_as_nobody(path.clone()).await;
    assert!(out.starts_with("connect-failed"), "{out}");

    // Loosen every mode: the peer-credential check still refuses the other user.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run_as_nobody(path.clone()).await;
    // Closed without a reply (EOF, EPIPE or ECONNRESET), never answered and never left hanging.
    assert!(out == "closed" || out.starts_with("recv-failed"), "{out}");

    // The owner still gets in.
    let mut client = Client::connect(&path).await.unwrap();
    client.status().await.unwrap();
    shutdown.cancel();
}

/// A socket another user listens on (planted where the agent's would be) never gets a byte:
/// the client checks the peer's uid before its first request.
#[tokio::test]
async fn the_client_refuses_a_socket_of_another_user() {
    if !as_root("listen as another user") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.path().join("agent.sock");
    let listener = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(3)
try:
    data = c.recv(65536)
except socket.timeout:
    data = b""
print("received", len(data), flush=True)
"#;
    let mut child = {
        let _spawning = SPAWNING.lock().await;
        tokio::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["/usr/bin/python3", "-c", listener])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
        .await
        .unwrap();
    assert_eq!(line.trim(), "ready");
    match Client::connect(&path).await {
        Err(ClientError::ForeignPeer { uid, .. }) => assert_eq!(uid, 65534),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the client talked to another user's socket"),
    }
    line.clear();
    tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
        .await
        .unwrap();
    assert_eq!(line.trim(), "received 0", "the client sent something");
    let _ = child.wait().await;
}
