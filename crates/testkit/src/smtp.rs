//! A real SMTP server for the alert tests and benchmarks: Debian's python3-aiosmtpd, run with
//! Debian's own `/usr/bin/python3` (the `python3` on PATH may be another interpreter without
//! Debian's modules), storing each mail in a Maildir; plain, or STARTTLS (required) with a
//! certificate the test made. Mails are read back through Python's `email` package, which
//! decodes the RFC 2047 subject and the transfer encoding of the body.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const PYTHON: &str = "/usr/bin/python3";

/// One mail as the server stored it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The subject, decoded.
    pub subject: String,
    /// The body, decoded.
    pub body: String,
    /// The message as stored (headers and encoded body).
    pub raw: String,
    /// When the server stored it (the Maildir file's time).
    pub at: SystemTime,
}

/// The running server; stopped on drop.
pub struct Smtpd {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    maildir: PathBuf,
}

/// Whether aiosmtpd can run here.
pub fn available() -> bool {
    Path::new(PYTHON).exists()
        && Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success())
}

impl Smtpd {
    /// Starts a server storing into a Maildir under `dir`: plain, or with `tls` =
    /// (certificate, key) STARTTLS, which it then requires. Waits until it listens.
    pub fn start(dir: &Path, tls: Option<(&Path, &Path)>) -> Smtpd {
        let maildir = dir.join(if tls.is_some() {
            "maildir-tls"
        } else {
            "maildir"
        });
        // aiosmtpd's Mailbox refuses every mail with a 500 unless these exist.
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create the Maildir");
        }
        let port = crate::free_port();
        let mut cmd = Command::new(PYTHON);
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"]);
        if let Some((cert, key)) = tls {
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        let child = cmd
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (package python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtpd {
            child,
            port,
            maildir,
        }
    }

    /// Every mail so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(self.maildir.join("new"))
            .expect("read the Maildir")
            .flatten()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(at, path)| {
                let out = Command::new(PYTHON)
                    .args([
                        "-c",
                        "import email,sys\nfrom email import policy\n\
                         m=email.message_from_binary_file(open(sys.argv[1],'rb'),policy=policy.default)\n\
                         print(m['subject'])\nprint(m.get_content(),end='')",
                    ])
                    .arg(&path)
                    .output()
                    .expect("decode a mail with Python's email package");
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
                Mail {
                    subject: subject.to_string(),
                    body: body.to_string(),
                    raw: std::fs::read_to_string(&path).unwrap_or_default(),
                    at,
                }
            })
            .collect()
    }

    /// Waits until `n` mails arrived; panics with what came after `within`.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{n} mails expected within {within:?}, got {:#?}",
            self.mails()
        );
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
