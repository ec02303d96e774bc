//! HTTP and SOAP to the router: a GET of a description and a UPnP SOAP action, each bounded in
//! time (the client's timeout) and size (the body is read in chunks and cut at a limit), with
//! HTTP digest for TR-064 (the digest arithmetic is the SIP prober's, RFC 7616).
//!
//! Errors name the operation and the URL; they never carry a password.

use super::xml::{self, Element, XmlError};
use crate::probe::sip::digest::{self, DigestRequest};
use dialtone_core::observation::Detail;
use dialtone_core::secret::Secret;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Largest description accepted (a FRITZ!Box tr64desc.xml is about 60 KiB).
pub const MAX_DESCRIPTION: usize = 512 * 1024;
/// Largest SOAP answer accepted.
pub const MAX_SOAP: usize = 64 * 1024;

/// Why one router request did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No answer in time.
    #[error("{op} {url}: no answer within {:.1} s", after.as_secs_f64())]
    Timeout {
        /// `GET` or the SOAP action.
        op: String,
        /// Where.
        url: String,
        /// How long we waited.
        after: Duration,
    },
    /// The connection failed (refused, unreachable, reset).
    #[error("{op} {url}: {detail}")]
    Connect {
        /// `GET` or the SOAP action.
        op: String,
        /// Where.
        url: String,
        /// The root cause's kind.
        detail: Detail,
    },
    /// An HTTP error status (not a SOAP fault).
    #[error("{op} {url}: HTTP {code}")]
    Status {
        /// `GET` or the SOAP action.
        op: String,
        /// Where.
        url: String,
        /// The status code.
        code: u16,
    },
    /// The body is larger than the limit.
    #[error("{op} {url}: the answer is larger than {} KiB", limit / 1024)]
    TooLarge {
        /// `GET` or the SOAP action.
        op: String,
        /// Where.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not usable XML, or not the expected document.
    #[error("{op} {url}: {detail}")]
    Malformed {
        /// `GET` or the SOAP action.
        op: String,
        /// Where.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// A SOAP fault with its UPnP error code.
    #[error("{op} {url}: SOAP fault {code} {description}")]
    Fault {
        /// The SOAP action.
        op: String,
        /// Where.
        url: String,
        /// `UPnPError/errorCode` (0 when absent).
        code: u32,
        /// `UPnPError/errorDescription`.
        description: String,
    },
    /// The login was rejected (401 after answering the digest challenge).
    #[error("{op} {url}: login rejected (HTTP 401 after the digest answer)")]
    LoginRejected {
        /// The SOAP action.
        op: String,
        /// Where.
        url: String,
    },
}

impl RequestError {
    /// Whether the router did not answer at all (timeout, refused): it may be gone.
    pub fn is_silence(&self) -> bool {
        matches!(
            self,
            RequestError::Timeout { .. } | RequestError::Connect { .. }
        )
    }
}

/// A router login (TR-064): user and password.
#[derive(Debug, Clone)]
pub struct Login {
    /// The FRITZ!Box user.
    pub user: String,
    /// Its password.
    pub password: Secret,
}

/// The HTTP side of the router probe.
#[derive(Debug, Clone)]
pub struct RouterHttp {
    client: reqwest::Client,
    timeout: Duration,
    /// The router's last digest challenge, the origin (scheme, host, port) it came from and
    /// the nonce count used with it: answered up front on the next request to that origin, so
    /// a logged-in action costs one request, not two. Never sent anywhere else, and forgotten
    /// on a network change ([`RouterHttp::forget`]).
    digest: Arc<Mutex<Option<(String, digest::Chosen, u32)>>>,
}

/// A SOAP action's out-arguments, in order (secrets already dropped by the parser).
pub type OutArgs = Vec<(String, String)>;

impl RouterHttp {
    /// A client with `timeout` per request, no proxy (the router is on the LAN) and no
    /// redirects. Over https it takes the box's self-signed certificate (a FRITZ!Box has no
    /// other): TLS keeps the digest login from listeners on the way; which box it is, is
    /// checked by its identity before any login (see `login`).
    pub fn new(timeout: Duration) -> Result<RouterHttp, reqwest::Error> {
        let client = crate::tls::http_client_builder()
            .tls_danger_accept_invalid_certs(true)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(1)
            .build()?;
        Ok(RouterHttp {
            client,
            timeout,
            digest: Arc::new(Mutex::new(None)),
        })
    }

    /// Forgets the cached digest challenge: the next login starts with an unauthenticated
    /// request (after a network change the box at that address may be another one).
    pub fn forget(&self) {
        if let Ok(mut cached) = self.digest.lock() {
            *cached = None;
        }
    }

    fn error(&self, op: &str, url: &Url, e: &reqwest::Error) -> RequestError {
        if e.is_timeout() {
            RequestError::Timeout {
                op: op.into(),
                url: url.to_string(),
                after: self.timeout,
            }
        } else {
            // The root cause alone, an I/O error by its kind ("connection refused", never
            // "os error 111"): reqwest's own layers of wrapping repeat the URL and say little.
            let mut root: &(dyn std::error::Error + 'static) = e;
            while let Some(s) = root.source() {
                root = s;
            }
            RequestError::Connect {
                op: op.into(),
                url: url.to_string(),
                detail: Detail::error(root),
            }
        }
    }

    async fn body(
        &self,
        op: &str,
        url: &Url,
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<String, RequestError> {
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(RequestError::TooLarge {
                op: op.into(),
                url: url.to_string(),
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.error(op, url, &e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(RequestError::TooLarge {
                    op: op.into(),
                    url: url.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| RequestError::Malformed {
            op: op.into(),
            url: url.to_string(),
            detail: "the answer is not UTF-8".into(),
        })
    }

    /// GETs a description and parses it.
    pub async fn description(&self, url: &Url) -> Result<Element, RequestError> {
        let op = "GET";
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| self.error(op, url, &e))?;
        let code = response.status().as_u16();
        if code != 200 {
            return Err(RequestError::Status {
                op: op.into(),
                url: url.to_string(),
                code,
            });
        }
        let text = self.body(op, url, response, MAX_DESCRIPTION).await?;
        xml::parse(&text).map_err(|e| malformed(op, url, &e))
    }

    /// Calls `service_type#action` at `control`, with digest when a login is given and the
    /// router asks for it. Returns the out-arguments of the `…Response` element.
    pub async fn action(
        &self,
        control: &Url,
        service_type: &str,
        action: &str,
        args: &[(&str, String)],
        login: Option<&Login>,
    ) -> Result<OutArgs, RequestError> {
        let body = envelope(service_type, action, args);
        let send = |authorization: Option<String>| {
            let mut request = self
                .client
                .post(control.clone())
                .header("Content-Type", "text/xml; charset=\"utf-8\"")
                .header("SOAPAction", format!("\"{service_type}#{action}\""))
                .body(body.clone());
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            request.send()
        };
        // With a login and a challenge from an earlier request to this very origin, answer it
        // up front.
        let origin = control.origin().ascii_serialization();
        let upfront = login.and_then(|login| {
            let mut cached = self.digest.lock().ok()?;
            let (from, chosen, nc) = cached.as_mut()?;
            if *from != origin {
                return None;
            }
            *nc += 1;
            Some(authorization(chosen, control, login, *nc))
        });
        let mut response = send(upfront)
            .await
            .map_err(|e| self.error(action, control, &e))?;
        if response.status().as_u16() == 401 {
            if let Some(login) = login {
                let challenges: Vec<String> = response
                    .headers()
                    .get_all("WWW-Authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .map(str::to_string)
                    .collect();
                let chosen =
                    digest::choose(challenges.iter().map(String::as_str)).map_err(|e| {
                        RequestError::Malformed {
                            op: action.into(),
                            url: control.to_string(),
                            detail: format!("the router's login challenge cannot be answered: {e}"),
                        }
                    })?;
                let value = authorization(&chosen, control, login, 1);
                if let Ok(mut cached) = self.digest.lock() {
                    *cached = Some((origin.clone(), chosen, 1));
                }
                response = send(Some(value))
                    .await
                    .map_err(|e| self.error(action, control, &e))?;
                if response.status().as_u16() == 401 {
                    if let Ok(mut cached) = self.digest.lock() {
                        *cached = None;
                    }
                    return Err(RequestError::LoginRejected {
                        op: action.into(),
                        url: control.to_string(),
                    });
                }
            }
        }
        let code = response.status().as_u16();
        if code != 200 && code != 500 {
            return Err(RequestError::Status {
                op: action.into(),
                url: control.to_string(),
                code,
            });
        }
        let text = self.body(action, control, response, MAX_SOAP).await?;
        let doc = xml::parse(&text).map_err(|e| malformed(action, control, &e))?;
        read_reply(&doc, action).map_err(|reply| match reply {
            ReplyError::Fault { code, description } => RequestError::Fault {
                op: action.into(),
                url: control.to_string(),
                code,
                description,
            },
            ReplyError::Shape(detail) => RequestError::Malformed {
                op: action.into(),
                url: control.to_string(),
                detail,
            },
        })
    }
}

fn malformed(op: &str, url: &Url, e: &XmlError) -> RequestError {
    RequestError::Malformed {
        op: op.into(),
        url: url.to_string(),
        detail: e.to_string(),
    }
}

/// The `Authorization` header answering the router's digest challenge (the config check
/// keeps control characters out of the user name).
fn authorization(chosen: &digest::Chosen, control: &Url, login: &Login, nc: u32) -> String {
    let uri = control.path().to_string();
    let cnonce = digest::new_cnonce();
    let request = DigestRequest {
        method: "POST",
        uri: &uri,
        body: &[],
    };
    chosen.authorization(&login.user, &login.password, request, &cnonce, nc)
}

/// A UPnP SOAP 1.1 envelope for `action` of `service_type`.
fn envelope(service_type: &str, action: &str, args: &[(&str, String)]) -> String {
    let mut inner = String::new();
    for (name, value) in args {
        inner.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\
         <s:Body><u:{action} xmlns:u=\"{service_type}\">{inner}</u:{action}></s:Body></s:Envelope>"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

enum ReplyError {
    Fault { code: u32, description: String },
    Shape(String),
}

/// The out-arguments of `<Body><{action}Response>`, or the fault.
fn read_reply(doc: &Element, action: &str) -> Result<OutArgs, ReplyError> {
    if doc.name != "Envelope" {
        return Err(ReplyError::Shape(format!(
            "not a SOAP envelope (root <{}>)",
            doc.name
        )));
    }
    let body = doc
        .child("Body")
        .ok_or_else(|| ReplyError::Shape("a SOAP envelope without a Body".into()))?;
    if let Some(fault) = body.child("Fault") {
        let error = fault.find("UPnPError");
        let code = error
            .and_then(|e| e.child_text("errorCode"))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let description = error
            .and_then(|e| e.child_text("errorDescription"))
            .or_else(|| fault.child_text("faultstring"))
            .unwrap_or_default()
            .to_string();
        return Err(ReplyError::Fault { code, description });
    }
    let wanted = format!("{action}Response");
    let reply = body
        .child(&wanted)
        .ok_or_else(|| ReplyError::Shape(format!("the SOAP body lacks <{wanted}>")))?;
    Ok(reply
        .children
        .iter()
        .map(|c| (c.name.clone(), c.text.trim().to_string()))
        .collect())
}

/// The value of out-argument `name`.
pub fn arg<'a>(args: &'a OutArgs, name: &str) -> Option<&'a str> {
    args.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_and_a_fault_are_read() {
        let ok = xml::parse(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
             <u:GetStatusInfoResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">\
             <NewConnectionStatus>Connected</NewConnectionStatus><NewUptime>42</NewUptime>\
             </u:GetStatusInfoResponse></s:Body></s:Envelope>",
        )
        .unwrap();
        let args = read_reply(&ok, "GetStatusInfo").ok().unwrap();
        assert_eq!(arg(&args, "NewConnectionStatus"), Some("Connected"));
        let fault = xml::parse(
            "<s:Envelope xmlns:s=\"x\"><s:Body><s:Fault><faultcode>s:Client</faultcode>\
             <faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">\
             <errorCode>713</errorCode><errorDescription>SpecifiedArrayIndexInvalid</errorDescription>\
             </UPnPError></detail></s:Fault></s:Body></s:Envelope>",
        )
        .unwrap();
        match read_reply(&fault, "X") {
            Err(ReplyError::Fault { code, description }) => {
                assert_eq!(code, 713);
                assert_eq!(description, "SpecifiedArrayIndexInvalid");
            }
            _ => panic!("expected a fault"),
        }
        let wrong = xml::parse("<html><body>hello</body></html>").unwrap();
        assert!(matches!(read_reply(&wrong, "X"), Err(ReplyError::Shape(_))));
    }

    #[test]
    fn the_envelope_escapes_arguments() {
        let e = envelope("urn:x:1", "A", &[("NewIndex", "<1&>".into())]);
        assert!(e.contains("<NewIndex>&lt;1&amp;&gt;</NewIndex>"), "{e}");
        assert!(e.contains("<u:A xmlns:u=\"urn:x:1\">"));
    }
}
