//! The addresses a user writes down (registrar URIs, internet anchors, the gateway, a DNS
//! server), parsed once into typed values. Config validation and the probes use the same
//! parse, so a value that loads is exactly a value the probes can use.

use crate::observation::Transport;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The default SIP port for UDP and TCP (RFC 3261 §19.1.2).
pub const SIP_PORT: u16 = 5060;
/// The default SIP port for TLS.
pub const SIPS_PORT: u16 = 5061;

/// A registrar as configured, split into the parts RFC 3263 needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarAddress {
    /// Host name (lowercase) or IP literal (IPv6 without brackets).
    pub host: String,
    /// The explicit port, when given.
    pub port: Option<u16>,
    /// The `transport=` parameter, when given (for `sips:` always [`Transport::Tls`]).
    pub transport: Option<Transport>,
    /// Whether the URI was `sips:`.
    pub secure: bool,
}

/// Why a registrar string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    /// Nothing was given.
    #[error("registrar is empty")]
    Empty,
    /// A scheme other than `sip:`/`sips:`.
    #[error("registrar {input:?}: scheme {scheme:?} is not sip: or sips:")]
    Scheme {
        /// The registrar as given.
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// The host part is not a domain name or IP address.
    #[error("registrar {input:?}: bad host: {reason}")]
    Host {
        /// The registrar as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("registrar {input:?}: bad port {port:?}")]
    Port {
        /// The registrar as given.
        input: String,
        /// The port text.
        port: String,
    },
    /// A user part (`sip:alice@host`, `sip:alice:PASSWORD@host`). The registrar is shown in
    /// the tray, the dashboard, the history, the metrics and keys the login ledger, so a user
    /// part (worse, a password in it) would travel everywhere: it is refused, and the input is
    /// deliberately not repeated in the message.
    #[error(
        "the registrar names only the server (sip:host[:port]), without a user part before '@': \
         the user goes in `user`, the password in the keyring"
    )]
    UserInfo,
    /// A `transport=` value dialtone does not speak, or one that contradicts `sips:`.
    #[error("registrar {input:?}: unsupported transport {transport:?} (use udp, tcp or tls)")]
    Transport {
        /// The registrar as given.
        input: String,
        /// The transport text.
        transport: String,
    },
}

/// Parses `sip:host[:port][;transport=udp|tcp|tls]`, `sips:host[:port]`, `sip:[v6]:port`, or a
/// bare `host[:port]`. URI parameters other than `transport` are accepted and ignored: they do
/// not change where the registrar is. A user part (`sip:user@host`, `user@host`) is an error
/// ([`RegistrarError::UserInfo`]): it could carry a password into every place the registrar is
/// shown.
pub fn parse_registrar(input: &str) -> Result<RegistrarAddress, RegistrarError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(RegistrarError::Empty);
    }
    // Anywhere, not only before the host: a SIP user part may itself hold ';' and '?', so
    // splitting first could leave part of a password in the host, the port or a parameter
    // (and in the error naming them). No host, port or parameter dialtone uses has an '@'.
    if text.contains('@') {
        return Err(RegistrarError::UserInfo);
    }
    let host_err = |reason: &str| RegistrarError::Host {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let (secure, rest) = match scheme_of(text) {
        Some((scheme, rest)) => {
            if scheme.eq_ignore_ascii_case("sip") {
                (false, rest)
            } else if scheme.eq_ignore_ascii_case("sips") {
                (true, rest)
            } else {
                return Err(RegistrarError::Scheme {
                    input: input.to_string(),
                    scheme: scheme.to_string(),
                });
            }
        }
        None => (false, text),
    };
    // Headers (`?…`) never matter for locating the server.
    let rest = rest.split('?').next().unwrap_or(rest);
    let mut parts = rest.split(';');
    let hostport = parts.next().unwrap_or("");
    let hostport = match hostport.rsplit_once('@') {
        Some((_, h)) => h,
        None => hostport,
    };
    let mut transport = None;
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if !name.trim().eq_ignore_ascii_case("transport") {
            continue;
        }
        let value = value.trim();
        let t = if value.eq_ignore_ascii_case("udp") {
            Transport::Udp
        } else if value.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else if value.eq_ignore_ascii_case("tls") {
            Transport::Tls
        } else {
            return Err(RegistrarError::Transport {
                input: input.to_string(),
                transport: value.to_string(),
            });
        };
        transport = Some(t);
    }
    if secure {
        transport = match transport {
            // sips: with transport=tcp means TLS over TCP (RFC 5630 §3.1.1).
            None | Some(Transport::Tcp) | Some(Transport::Tls) => Some(Transport::Tls),
            Some(Transport::Udp) => {
                return Err(RegistrarError::Transport {
                    input: input.to_string(),
                    transport: "udp with sips:".into(),
                })
            }
        };
        // A bare sips: without a transport parameter keeps `transport` as TLS so that
        // callers need not look at `secure` to pick the transport.
    }
    let (host, port_text) = split_host_port(hostport).map_err(|r| host_err(&r))?;
    validate_host(&host).map_err(|r| host_err(&r))?;
    let port = match port_text {
        None => None,
        Some(p) => Some(parse_port(p).ok_or_else(|| RegistrarError::Port {
            input: input.to_string(),
            port: p.to_string(),
        })?),
    };
    Ok(RegistrarAddress {
        host,
        port,
        transport,
        secure,
    })
}

/// `scheme:rest` when `text` starts with a URI scheme (letters then `:`) that is not just a
/// host followed by a port (`example.net:5080` has no scheme: the part after `:` is digits).
fn scheme_of(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let looks_like_port = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit());
    if looks_like_port {
        None
    } else {
        Some((scheme, rest))
    }
}

/// Splits `host[:port]` / `[v6][:port]` / bare `v6`. The host comes back lowercase and
/// without brackets.
pub fn split_host_port(hostport: &str) -> Result<(String, Option<&str>), String> {
    if hostport.is_empty() {
        return Err("no host".into());
    }
    if let Some(rest) = hostport.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed '[' in IPv6 address".to_string())?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| format!("{inside:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            a => Some(
                a.strip_prefix(':')
                    .ok_or_else(|| format!("unexpected {a:?} after IPv6 address"))?,
            ),
        };
        return Ok((ip.to_string(), port));
    }
    if hostport.matches(':').count() > 1 {
        // Unbracketed IPv6 can carry no port; accept the address alone.
        let ip: Ipv6Addr = hostport
            .parse()
            .map_err(|_| "IPv6 addresses with a port need brackets: [addr]:port".to_string())?;
        return Ok((ip.to_string(), None));
    }
    match hostport.split_once(':') {
        Some((h, p)) => Ok((h.to_ascii_lowercase(), Some(p))),
        None => Ok((hostport.to_ascii_lowercase(), None)),
    }
}

/// A port from 1 to 65535.
pub fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

/// Accepts IP literals and DNS host names (letters, digits, `-`, `_`; labels of 1–63
/// characters, 253 in all, an optional final dot).
pub fn validate_host(host: &str) -> Result<(), String> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err("no host".into());
    }
    if name.len() > 253 {
        return Err("name longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("empty label in {host:?}"));
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "{label:?} has characters not allowed in a host name"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
    }
    // All-numeric dotted names that are not valid IPv4 (e.g. 300.1.1.1) are typos.
    if name
        .split('.')
        .all(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("{host:?} is not a valid IPv4 address"));
    }
    Ok(())
}

/// One parsed internet anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The anchor exactly as configured (reported back in [`AnchorObservation::target`]).
    pub configured: String,
    /// Host name (lowercase) or IP literal (IPv6 without brackets).
    pub host: String,
    /// The port to connect to (80/443 by default for HTTP).
    pub port: u16,
    /// How the anchor is checked.
    pub kind: AnchorKind,
}

/// How an anchor is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorKind {
    /// A TCP connect.
    Tcp,
    /// An HTTP GET of this URL.
    Http(url::Url),
}

/// Why an anchor string was rejected (a config error, reported at load time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// `host:port` without the port.
    #[error("anchor {anchor:?}: missing port (write host:port, [v6]:port or http://host/path)")]
    MissingPort {
        /// The anchor as configured.
        anchor: String,
    },
    /// The port is not 1–65535.
    #[error("anchor {anchor:?}: bad port {port:?}")]
    Port {
        /// The anchor as configured.
        anchor: String,
        /// The port text.
        port: String,
    },
    /// The host is not a domain name or IP address.
    #[error("anchor {anchor:?}: bad host: {reason}")]
    Host {
        /// The anchor as configured.
        anchor: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A URL that does not parse, or whose scheme is not http/https.
    #[error("anchor {anchor:?}: bad URL: {reason}")]
    Url {
        /// The anchor as configured.
        anchor: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parses one anchor: `host:port`, `[v6]:port`, or `http(s)://host[:port]/path`.
pub fn parse_anchor(text: &str) -> Result<Anchor, AnchorError> {
    let configured = text.to_string();
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.contains("://") {
        let url_err = |reason: String| AnchorError::Url {
            anchor: configured.clone(),
            reason,
        };
        let url = url::Url::parse(trimmed).map_err(|e| url_err(e.to_string()))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(url_err(format!(
                "scheme {:?} is not http or https",
                url.scheme()
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(url_err("no host".into())),
        };
        validate_host(&host).map_err(|reason| AnchorError::Host {
            anchor: configured.clone(),
            reason,
        })?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| url_err("no port".into()))?;
        return Ok(Anchor {
            configured,
            host,
            port,
            kind: AnchorKind::Http(url),
        });
    }
    let (host, port) = split_host_port(trimmed).map_err(|reason| AnchorError::Host {
        anchor: configured.clone(),
        reason,
    })?;
    let port_text = port.ok_or_else(|| AnchorError::MissingPort {
        anchor: configured.clone(),
    })?;
    let port = parse_port(port_text).ok_or_else(|| AnchorError::Port {
        anchor: configured.clone(),
        port: port_text.to_string(),
    })?;
    validate_host(&host).map_err(|reason| AnchorError::Host {
        anchor: configured.clone(),
        reason,
    })?;
    Ok(Anchor {
        configured,
        host,
        port,
        kind: AnchorKind::Tcp,
    })
}

/// The gateway setting: `None` for `auto`, else the address.
pub fn parse_gateway(value: &str) -> Result<Option<IpAddr>, String> {
    if value.eq_ignore_ascii_case("auto") {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("{value:?} is neither `auto` nor an IP address"))
}

/// A DNS server as `ADDR` or `ADDR:PORT` (`[v6]:PORT` for IPv6 with a port); port 53 by default.
pub fn parse_dns_server(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    value
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{value:?} is not an IP address with an optional port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> RegistrarAddress {
        match parse_registrar(s) {
            Ok(r) => r,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn parses_every_documented_form() {
        let r = ok("sip:sip.example.net");
        assert_eq!(
            r,
            RegistrarAddress {
                host: "sip.example.net".into(),
                port: None,
                transport: None,
                secure: false
            }
        );
        let r = ok("sip:sip.example.net:5070");
        assert_eq!((r.port, r.transport), (Some(5070), None));
        assert_eq!(ok("sip:host;transport=udp").transport, Some(Transport::Udp));
        assert_eq!(ok("sip:host;transport=TCP").transport, Some(Transport::Tcp));
        assert_eq!(ok("sip:host;transport=tls").transport, Some(Transport::Tls));
        let r = ok("sips:secure.example.net:5063");
        assert_eq!(
            (r.secure, r.port, r.transport),
            (true, Some(5063), Some(Transport::Tls))
        );
        let r = ok("sip:[::1]:5070");
        assert_eq!((r.host.as_str(), r.port), ("::1", Some(5070)));
        let r = ok("sip:127.0.0.1:5070;transport=udp");
        assert_eq!(
            (r.host.as_str(), r.port, r.transport),
            ("127.0.0.1", Some(5070), Some(Transport::Udp))
        );
        let r = ok("sip.1und1.de");
        assert_eq!(
            (r.host.as_str(), r.port, r.secure),
            ("sip.1und1.de", None, false)
        );
        let r = ok("example.net:5080");
        assert_eq!((r.host.as_str(), r.port), ("example.net", Some(5080)));
        let r = ok("SIP:SIP.Example.NET;lr");
        assert_eq!(r.host, "sip.example.net");
        assert_eq!(ok("sips:h;transport=tcp").transport, Some(Transport::Tls));
    }

    #[test]
    fn rejects_garbage_naming_the_input() {
        for bad in [
            "",
            "   ",
            "http://example.net",
            "sip:",
            "sip:host:0",
            "sip:host:65536",
            "sip:host:abc",
            "sip:host;transport=sctp",
            "sips:host;transport=udp",
            "sip:ho st",
            "sip:[::1",
            "sip:[nope]:5060",
            "sip:fe80::1::5060",
            "sip:-bad-.example",
            "sip:a..b",
            "sip:300.1.1.1",
        ] {
            let err = match parse_registrar(bad) {
                Ok(r) => panic!("{bad:?} parsed as {r:?}"),
                Err(e) => e,
            };
            if !bad.trim().is_empty() {
                assert!(err.to_string().contains(bad), "{err} should name {bad:?}");
            }
        }
    }

    #[test]
    fn a_user_part_is_refused_without_repeating_it() {
        for bad in [
            "sip:alice:PASS@sip.example.net",
            "sip:alice@sip.example.net",
            "SIPS:alice:PASS@sip.example.net:5061",
            "alice:PASS@sip.example.net",
            "alice@sip.example.net",
            "sip:alice:PA;SS@sip.example.net",
            "sip:alice:PA?SS@[::1]:5060",
        ] {
            let err = parse_registrar(bad).expect_err(bad);
            assert_eq!(err, RegistrarError::UserInfo, "{bad}");
            let text = err.to_string();
            assert!(
                !text.contains("PASS") && !text.contains("PA") && !text.contains("alice"),
                "{text}"
            );
        }
    }

    /// Property-style: thousands of random strings (printable, SIP-ish alphabet, and raw
    /// mutations of valid registrars) never panic, and whatever parses has a valid host.
    #[test]
    fn random_strings_never_panic() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let alphabet: Vec<char> = "sip:[]@;=.-_0123456789abcdefSIPtransportudptl /?%\u{e9}\u{0}"
            .chars()
            .collect();
        let seeds = [
            "sip:[::1]:5070",
            "sips:a.b:5061;transport=tls",
            "example.net:5080",
        ];
        let mut parsed = 0;
        for i in 0..20_000 {
            let s: String = if i % 2 == 0 {
                let len = rng.random_range(0..24);
                (0..len)
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect()
            } else {
                let mut chars: Vec<char> = seeds[i % seeds.len()].chars().collect();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..chars.len());
                    chars[at] = alphabet[rng.random_range(0..alphabet.len())];
                }
                chars.into_iter().collect()
            };
            if let Ok(r) = parse_registrar(&s) {
                parsed += 1;
                assert!(
                    validate_host(&r.host).is_ok(),
                    "{s:?} gave host {:?}",
                    r.host
                );
                assert_ne!(r.port, Some(0));
            }
        }
        // The generator must exercise both sides, or the test proves nothing.
        assert!(parsed > 100, "only {parsed} random strings parsed");
    }

    #[test]
    fn parses_anchor_forms() {
        let a = parse_anchor("1.1.1.1:443").expect("ip:port");
        assert_eq!(
            (a.host.as_str(), a.port, &a.kind),
            ("1.1.1.1", 443, &AnchorKind::Tcp)
        );
        let a = parse_anchor("[2606:4700::1111]:53").expect("[v6]:port");
        assert_eq!((a.host.as_str(), a.port), ("2606:4700::1111", 53));
        let a = parse_anchor("One.One.One.One:443").expect("name:port");
        assert_eq!(a.host, "one.one.one.one");
        assert_eq!(a.configured, "One.One.One.One:443");
        let a = parse_anchor("http://connectivity.example/generate_204").expect("http");
        assert_eq!((a.host.as_str(), a.port), ("connectivity.example", 80));
        assert!(matches!(a.kind, AnchorKind::Http(_)));
        let a = parse_anchor("http://127.0.0.1:8080/x").expect("http ip:port");
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 8080));
        let a = parse_anchor("https://[::1]/").expect("https v6");
        assert_eq!((a.host.as_str(), a.port), ("::1", 443));
    }

    #[test]
    fn rejects_bad_anchors_naming_them() {
        for bad in [
            "1.1.1.1",
            "example.net",
            "example.net:0",
            "example.net:99999",
            "example.net:http",
            ":443",
            "exa mple.net:443",
            "[::1:443",
            "ftp://example.net/",
            "http://",
            "http://exa mple/",
            "",
        ] {
            match parse_anchor(bad) {
                Ok(a) => panic!("{bad:?} parsed as {a:?}"),
                Err(e) => assert!(e.to_string().contains(&format!("{bad:?}")), "{e}"),
            }
        }
    }
}
