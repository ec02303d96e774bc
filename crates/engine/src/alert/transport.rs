//! How an alert reaches its target: a webhook POST of the documented JSON, an ntfy publish
//! (its headers), an e-mail ([`super::mail`]), or the `apprise` command. Each try is bounded
//! in time (one deadline for the whole request), never reads more than a few KiB of an answer,
//! and follows at most [`MAX_REDIRECTS`] redirects, so a silent, slow, looping or flooding
//! target costs a bounded time and memory. Errors are the log's words and never carry a
//! secret: targets are named by their redacted URL.

use super::outbox::Entry;
use super::Resolved;
use dialtone_core::alert::{SmtpConfig, Target, TOKEN_PLACEHOLDER};
use dialtone_core::secret::Secret;
use std::time::Duration;

/// Redirects followed before a target counts as failing.
pub const MAX_REDIRECTS: usize = 3;

/// The most of an error answer read, for the log.
const MAX_ANSWER: usize = 512;

/// The tools a try needs: one HTTP client, the mailer, the command's deadline. The client and
/// the mailer are built at their first try, not when the alerter starts: each carries a TLS
/// configuration with its root store, which an always-on box that alerts once a month should
/// not hold from the start (issue 19's footprint figures, docs/benchmarks.md).
pub(crate) struct Transports {
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
    smtp: Option<(SmtpConfig, Option<Secret>)>,
    mailer: std::sync::OnceLock<Result<super::mail::Mailer, String>>,
    apprise: std::path::PathBuf,
    timeout: Duration,
}

impl Transports {
    /// The tools for `timeout` per try (the whole request, connection included), e-mail
    /// through `smtp` (its settings and password) when there is a mail target. What can be
    /// checked without building anything is checked now (the sender, the login's password).
    pub(crate) fn new(
        timeout: Duration,
        smtp: Option<(SmtpConfig, Option<Secret>)>,
    ) -> Result<Transports, String> {
        if let Some((config, password)) = &smtp {
            super::mail::Mailer::check(config, password.as_ref())?;
        }
        Ok(Transports {
            http: std::sync::OnceLock::new(),
            smtp,
            mailer: std::sync::OnceLock::new(),
            apprise: std::path::PathBuf::from("apprise"),
            timeout,
        })
    }

    /// The HTTP client, built at the first webhook or ntfy try.
    fn http(&self) -> Result<&reqwest::Client, String> {
        let timeout = self.timeout;
        let built = self.http.get_or_init(|| {
            crate::tls::http_client_builder()
                .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
                .connect_timeout(timeout)
                .timeout(timeout)
                .user_agent(concat!("dialtone/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("building the HTTP client for alerts: {e}"))
        });
        built.as_ref().map_err(Clone::clone)
    }

    /// The mailer, built at the first e-mail try.
    fn mailer(&self) -> Result<&super::mail::Mailer, String> {
        let Some((config, password)) = &self.smtp else {
            return Err("no [smtp] mail server is configured".into());
        };
        let built = self
            .mailer
            .get_or_init(|| super::mail::Mailer::new(config, password.as_ref(), self.timeout));
        built.as_ref().map_err(Clone::clone)
    }

    /// Whether the HTTP client and the mailer were built (by a try).
    #[cfg(test)]
    pub(crate) fn built(&self) -> (bool, bool) {
        (self.http.get().is_some(), self.mailer.get().is_some())
    }

    /// One try of `entry` to `target`: `Ok` once the target accepted it.
    pub(crate) async fn deliver(&self, target: &Resolved, entry: &Entry) -> Result<(), String> {
        let shown = target.target.shown();
        let tried = tokio::time::timeout(self.timeout + Duration::from_secs(2), async {
            match &target.target.target {
                Target::Webhook { url } => self.webhook(url.as_str(), target, entry).await,
                Target::Ntfy { server, topic } => self.ntfy(server, topic, target, entry).await,
                Target::Mail { to } => self.mailer()?.send(to, entry).await,
                Target::Apprise { url } => self.apprise(url, target, entry).await,
            }
        })
        .await;
        match tried {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(format!("{shown}: {why}")),
            Err(_) => Err(format!(
                "{shown}: no answer within {} s",
                self.timeout.as_secs()
            )),
        }
    }

    async fn webhook(&self, url: &str, target: &Resolved, entry: &Entry) -> Result<(), String> {
        let mut request = self
            .http()?
            .post(url)
            .header("X-Dialtone-Id", &entry.id)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&entry.alert.message).map_err(|e| e.to_string())?);
        if let Some(token) = &target.token {
            request = request.bearer_auth(token.expose());
        }
        accepted(request.send().await).await
    }

    async fn ntfy(
        &self,
        server: &url::Url,
        topic: &str,
        target: &Resolved,
        entry: &Entry,
    ) -> Result<(), String> {
        let url = server.join(topic).map_err(|e| format!("bad topic: {e}"))?;
        let message = &entry.alert.message;
        let outage = !matches!(message.event.as_str(), "recovery" | "test");
        let tags = match message.event.as_str() {
            "recovery" => "white_check_mark",
            "account" => "key,warning",
            "test" => "bell",
            _ => "warning",
        };
        let mut request = self
            .http()?
            .post(url)
            .header("Title", header_text(&message.headline))
            .header("Priority", if outage { "high" } else { "default" })
            .header("Tags", tags)
            .header("X-Dialtone-Id", &entry.id)
            .body(entry.alert.text.clone());
        if let Some(first) = message.channels.first() {
            request = request.header("Click", &first.url);
        }
        let actions: Vec<String> = message
            .channels
            .iter()
            .take(3)
            .map(|c| format!("view, {}, {}", c.label.replace([',', ';'], " "), c.url))
            .collect();
        if !actions.is_empty() {
            request = request.header("Actions", header_text(&actions.join("; ")));
        }
        if let Some(token) = &target.token {
            request = request.bearer_auth(token.expose());
        }
        accepted(request.send().await).await
    }

    async fn apprise(&self, url: &str, target: &Resolved, entry: &Entry) -> Result<(), String> {
        let message = &entry.alert.message;
        let token = target.token.as_ref().map(Secret::expose).unwrap_or("");
        let url = url.replace(TOKEN_PLACEHOLDER, token);
        let mut command = tokio::process::Command::new(&self.apprise);
        // The URL goes in APPRISE_URLS, which apprise reads when no URL is on its command
        // line: a process's arguments are readable by every user of the machine
        // (the process list shows them), its environment only by its owner.
        command
            .args(["-t", &message.headline, "-b", &entry.alert.text])
            .env("APPRISE_URLS", &url)
            .env_remove("APPRISE_CONFIG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "the apprise command is not installed".to_string(),
            _ => format!("starting apprise: {e}"),
        })?;
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("running apprise: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        // Apprise's own words name the service but may quote its URL: only its last line, and
        // the URL itself cut out.
        let said = String::from_utf8_lossy(&out.stderr);
        let last = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let mut last = last.replace(&url, "***");
        if !token.is_empty() {
            last = last.replace(token, "***");
        }
        let last: String = last.chars().take(200).collect();
        Err(format!("apprise failed ({}): {last}", out.status))
    }
}

/// Whether a response means "accepted": a 2xx. The body of anything else is read up to
/// [`MAX_ANSWER`] bytes for the log; a 2xx body is not read at all.
async fn accepted(sent: Result<reqwest::Response, reqwest::Error>) -> Result<(), String> {
    let mut response = sent.map_err(|e| {
        if e.is_redirect() {
            format!("more than {MAX_REDIRECTS} redirects")
        } else if e.is_timeout() {
            "no answer in time".into()
        } else if e.is_connect() {
            "cannot connect".into()
        } else {
            "the request failed".into()
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut answer = Vec::new();
    while answer.len() < MAX_ANSWER {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                answer.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER - answer.len())])
            }
            _ => break,
        }
    }
    let answer: String = String::from_utf8_lossy(&answer)
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    Err(format!("answered {status} {answer}").trim_end().to_string())
}

/// A header value: ASCII as it is, anything else RFC 2047-encoded (`=?UTF-8?B?…?=`), which
/// ntfy decodes ("Störung" must not become mojibake or an invalid header).
pub(crate) fn header_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() {
        return clean;
    }
    use base64_engine::encode;
    format!("=?UTF-8?B?{}?=", encode(clean.as_bytes()))
}

/// Standard base64 for [`header_text`] (no dependency of its own for thirty lines' worth).
mod base64_engine {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(TABLE[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_headers_are_rfc2047_encoded() {
        assert_eq!(header_text("Internet is down"), "Internet is down");
        // "Störung" in UTF-8, base64.
        assert_eq!(header_text("Störung"), "=?UTF-8?B?U3TDtnJ1bmc=?=");
        assert_eq!(base64_engine::encode(b"ab"), "YWI=");
        assert_eq!(base64_engine::encode(b"abc"), "YWJj");
        assert_eq!(base64_engine::encode(b"a"), "YQ==");
    }
}
