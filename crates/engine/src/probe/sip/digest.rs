//! HTTP digest authentication as SIP uses it (RFC 2617, RFC 7616, RFC 8760), done by hand.
//!
//! rsip 0.4's `DigestGenerator` hashes `-sess` like the plain algorithms, prints `nc` as a
//! decimal `u8` and defaults to SHA-256 (see shared/SIP-NOTES.md), so the challenge parser and
//! the response computation live here, checked against the RFCs' own examples.
//!
//! The flow: [`parse_challenge`] each `WWW-Authenticate` / `Proxy-Authenticate` value, let
//! [`choose`] pick the strongest one we can answer, then [`Chosen::authorization`] builds the
//! `Authorization` / `Proxy-Authorization` value.

use crate::secret::Secret;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::fmt;

/// Longest challenge header value we look at. Real ones are a few hundred bytes; the cap keeps a
/// hostile registrar from making us copy megabytes into nonces.
pub const MAX_CHALLENGE_BYTES: usize = 8 * 1024;

/// Digest algorithms we can compute, weakest first (the order [`choose`] ranks by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `MD5` (also what an absent `algorithm` means, RFC 2617 §3.2.1).
    Md5,
    /// `MD5-sess`: HA1 also covers the nonce and cnonce.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Reads an `algorithm` token (case-insensitive); `None` for algorithms we do not support.
    pub fn from_token(token: &str) -> Option<Algorithm> {
        [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(token))
        .map(|(_, alg)| alg)
    }

    /// The token as it goes into the `Authorization` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant (HA1 = H(H(user:realm:password):nonce:cnonce)).
    pub fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `data`.
    fn hash(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(Md5::digest(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(Sha256::digest(data)),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quality of protection (RFC 2617 §3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: the response covers method and URI.
    Auth,
    /// `auth-int`: also the body's hash (our REGISTER has an empty body, so that is H("")).
    AuthInt,
}

impl Qop {
    /// The token as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// One parsed `Digest` challenge. Fields hold the values as sent (quotes and escapes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed back unchanged.
    pub opaque: Option<String>,
    /// `algorithm` as sent; `None` when absent (which means MD5).
    pub algorithm: Option<String>,
    /// The `qop` options offered (`auth`, `auth-int`, or unknown tokens); empty when absent
    /// (RFC 2069 compatibility: no cnonce, no nc).
    pub qop: Vec<String>,
    /// `stale=true`: our previous answer had the right password but an expired nonce.
    pub stale: bool,
}

impl Challenge {
    /// The algorithm when we support it (absent means MD5); `None` for anything else.
    pub fn supported_algorithm(&self) -> Option<Algorithm> {
        match &self.algorithm {
            None => Some(Algorithm::Md5),
            Some(token) => Algorithm::from_token(token),
        }
    }

    /// The qop we would use: `auth` when offered, else `auth-int`; `Ok(None)` when the challenge
    /// offers no qop (RFC 2069 style); `Err` when it offers only tokens we do not know.
    pub fn supported_qop(&self) -> Result<Option<Qop>, Unsupported> {
        if self.qop.is_empty() {
            return Ok(None);
        }
        let has = |name: &str| self.qop.iter().any(|q| q.eq_ignore_ascii_case(name));
        if has("auth") {
            Ok(Some(Qop::Auth))
        } else if has("auth-int") {
            Ok(Some(Qop::AuthInt))
        } else {
            Err(Unsupported {
                detail: format!("qop {:?}", self.qop.join(",")),
            })
        }
    }
}

/// Why a challenge header value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The scheme is not `Digest` (e.g. `Basic`), or there is none.
    #[error("not a Digest challenge (scheme {0:?})")]
    NotDigest(String),
    /// The parameter list does not follow the `name=value, …` grammar.
    #[error("malformed Digest challenge: {0}")]
    Malformed(String),
    /// A parameter the computation needs is absent.
    #[error("Digest challenge without {0}")]
    Missing(&'static str),
    /// The header value is longer than [`MAX_CHALLENGE_BYTES`].
    #[error("Digest challenge of {0} bytes exceeds the limit")]
    TooLarge(usize),
}

fn is_token_char(c: char) -> bool {
    // RFC 3261 §25.1 token characters.
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// Parses one `WWW-Authenticate` / `Proxy-Authenticate` header value, e.g.
/// `Digest realm="example.net", nonce="abc", qop="auth,auth-int", algorithm=MD5, opaque="x"`.
///
/// Scheme and parameter names are case-insensitive; values are tokens or quoted strings with
/// backslash escapes; unknown parameters are skipped; a repeated parameter is an error (RFC 7235
/// §2.1). One value holds one challenge. Never panics, whatever the input.
pub fn parse_challenge(header_value: &str) -> Result<Challenge, ChallengeError> {
    if header_value.len() > MAX_CHALLENGE_BYTES {
        return Err(ChallengeError::TooLarge(header_value.len()));
    }
    let input = header_value.trim();
    let scheme_end = input
        .find(|c: char| !is_token_char(c))
        .unwrap_or(input.len());
    let (scheme, rest) = input.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(ChallengeError::NotDigest(scheme.chars().take(32).collect()));
    }
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err(ChallengeError::Malformed(
            "no space after the scheme".into(),
        ));
    }
    let params = parse_params(rest)?;

    let mut seen: Vec<String> = Vec::new();
    let (mut realm, mut nonce, mut opaque, mut algorithm, mut qop, mut stale) =
        (None, None, None, None, None, false);
    for (name, value) in params {
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(ChallengeError::Malformed(format!(
                "parameter {lower:?} appears twice"
            )));
        }
        seen.push(lower.clone());
        match lower.as_str() {
            "realm" => realm = Some(value),
            "nonce" => nonce = Some(value),
            "opaque" => opaque = Some(value),
            "algorithm" => algorithm = Some(value),
            "qop" => qop = Some(value),
            "stale" => stale = value.eq_ignore_ascii_case("true"),
            _ => {} // domain, charset, userhash, …: nothing we need.
        }
    }
    let qop = qop
        .map(|q| {
            q.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Challenge {
        realm: realm.ok_or(ChallengeError::Missing("realm"))?,
        nonce: nonce.ok_or(ChallengeError::Missing("nonce"))?,
        opaque,
        algorithm,
        qop,
        stale,
    })
}

/// Reads `name=value` pairs separated by commas (optional whitespace around everything).
fn parse_params(input: &str) -> Result<Vec<(String, String)>, ChallengeError> {
    let malformed = |what: &str| ChallengeError::Malformed(what.to_string());
    let mut params = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        // Skip whitespace and empty list elements (RFC 7230 §7 allows `a=1, , b=2`).
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| is_token_char(*c)) {
            name.push(c);
        }
        if name.is_empty() {
            return Err(malformed("expected a parameter name"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(malformed("expected '=' after a parameter name"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some(escaped) => value.push(escaped),
                        None => break,
                    },
                    c if c.is_control() && c != '\t' => {
                        return Err(malformed("control character in a quoted value"))
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(malformed("unterminated quoted value"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| is_token_char(*c) || *c == '/' || *c == '=') {
                // '/' and '=' appear in unquoted base64 nonces from sloppy servers.
                value.push(c);
            }
            if value.is_empty() {
                return Err(malformed("expected a parameter value"));
            }
        }
        params.push((name, value));
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return Err(malformed("expected ',' between parameters")),
        }
    }
    Ok(params)
}

/// A challenge we can answer, with the algorithm and qop we will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The challenge.
    pub challenge: Challenge,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// The qop we answer with; `None` for an RFC 2069 style challenge.
    pub qop: Option<Qop>,
}

/// Why none of the offered challenges can be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no usable Digest challenge: {detail}")]
pub struct Unsupported {
    /// What was offered, for the observation (no secrets: challenges are public).
    pub detail: String,
}

/// Picks the strongest challenge we support among several header values (SHA-256 over MD5,
/// `-sess` over plain; at equal strength `auth` over `auth-int` over no qop; then the first).
pub fn choose<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Result<Chosen, Unsupported> {
    let mut best: Option<Chosen> = None;
    let mut refused = Vec::new();
    for value in header_values {
        let challenge = match parse_challenge(value) {
            Ok(c) => c,
            Err(e) => {
                refused.push(e.to_string());
                continue;
            }
        };
        let Some(algorithm) = challenge.supported_algorithm() else {
            refused.push(format!(
                "algorithm {:?}",
                challenge.algorithm.as_deref().unwrap_or_default()
            ));
            continue;
        };
        let qop = match challenge.supported_qop() {
            Ok(qop) => qop,
            Err(e) => {
                refused.push(e.detail);
                continue;
            }
        };
        let rank = |c: &Chosen| {
            let q = match c.qop {
                Some(Qop::Auth) => 2,
                Some(Qop::AuthInt) => 1,
                None => 0,
            };
            (c.algorithm, q)
        };
        let candidate = Chosen {
            challenge,
            algorithm,
            qop,
        };
        if best.as_ref().is_none_or(|b| rank(&candidate) > rank(b)) {
            best = Some(candidate);
        }
    }
    best.ok_or_else(|| Unsupported {
        detail: if refused.is_empty() {
            "no challenge offered".into()
        } else {
            // Bounded: a hostile server may send many headers.
            refused.join("; ").chars().take(300).collect()
        },
    })
}

/// `nc` as RFC 2617 §3.2.2 wants it: exactly 8 lower-case hex digits.
pub fn format_nc(nc: u32) -> String {
    format!("{nc:08x}")
}

/// A fresh client nonce (hex of 128 random bits).
pub fn new_cnonce() -> String {
    use rand::RngExt;
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The request the digest answers for.
#[derive(Debug, Clone, Copy)]
pub struct DigestRequest<'a> {
    /// The method, e.g. `REGISTER`.
    pub method: &'a str,
    /// The digest-uri (the Request-URI as sent).
    pub uri: &'a str,
    /// The message body (empty for REGISTER), needed for `auth-int`.
    pub body: &'a [u8],
}

/// Quotes `s` as an RFC 3261 quoted-string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Chosen {
    /// The `response` value (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1).
    ///
    /// `cnonce` and `nc` go into the hash only with a qop (and `cnonce` into HA1 for `-sess`).
    pub fn response(
        &self,
        username: &str,
        password: &Secret,
        request: DigestRequest<'_>,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let algorithm = self.algorithm;
        let challenge = &self.challenge;
        let h = |s: &str| algorithm.hash(s.as_bytes());
        let mut ha1 = h(&format!(
            "{username}:{}:{}",
            challenge.realm,
            password.expose()
        ));
        if algorithm.is_sess() {
            ha1 = h(&format!("{ha1}:{}:{cnonce}", challenge.nonce));
        }
        let ha2 = match self.qop {
            Some(Qop::AuthInt) => h(&format!(
                "{}:{}:{}",
                request.method,
                request.uri,
                algorithm.hash(request.body)
            )),
            _ => h(&format!("{}:{}", request.method, request.uri)),
        };
        match self.qop {
            Some(q) => h(&format!(
                "{ha1}:{}:{}:{cnonce}:{}:{ha2}",
                challenge.nonce,
                format_nc(nc),
                q.as_str()
            )),
            None => h(&format!("{ha1}:{}:{ha2}", challenge.nonce)),
        }
    }

    /// The `Authorization` (or `Proxy-Authorization`) header value answering this challenge.
    ///
    /// The caller checks `username` holds no control characters (they cannot be quoted).
    pub fn authorization(
        &self,
        username: &str,
        password: &Secret,
        request: DigestRequest<'_>,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let c = &self.challenge;
        let resp = self.response(username, password, request, cnonce, nc);
        let mut v = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{resp}\", algorithm={}",
            quote(username),
            quote(&c.realm),
            quote(&c.nonce),
            quote(request.uri),
            self.algorithm
        );
        if let Some(q) = self.qop {
            v.push_str(&format!(
                ", qop={}, nc={}, cnonce={}",
                q.as_str(),
                format_nc(nc),
                quote(cnonce)
            ));
        } else if self.algorithm.is_sess() {
            // -sess hashes the cnonce into HA1, so the server needs it even without qop.
            v.push_str(&format!(", cnonce={}", quote(cnonce)));
        }
        if let Some(opaque) = &c.opaque {
            v.push_str(&format!(", opaque={}", quote(opaque)));
        }
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn get(req: DigestRequest<'_>) -> DigestRequest<'_> {
        req
    }

    fn pick(algorithm: Algorithm, qop: Option<Qop>, challenge: &Challenge) -> Chosen {
        Chosen {
            challenge: challenge.clone(),
            algorithm,
            qop,
        }
    }

    const GET: DigestRequest<'static> = DigestRequest {
        method: "GET",
        uri: "/dir/index.html",
        body: b"",
    };

    #[test]
    fn rfc2617_section_3_5_example() {
        let c = parse_challenge(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        assert_eq!(c.supported_qop(), Ok(Some(Qop::Auth)));
        let r = pick(Algorithm::Md5, Some(Qop::Auth), &c).response(
            "Mufasa",
            &Secret::new("Circle Of Life"),
            get(GET),
            "0a4f113b",
            1,
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    fn rfc7616_challenge(algorithm: &str) -> Challenge {
        parse_challenge(&format!(
            "Digest\n realm=\"http-auth@example.org\",\n qop=\"auth, auth-int\",\n \
             algorithm={algorithm},\n nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        ))
        .unwrap()
    }

    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    #[test]
    fn rfc7616_section_3_9_1_md5_and_sha256_examples() {
        for (alg, expected) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let c = rfc7616_challenge(alg);
            let chosen = choose([format!(
                "Digest realm=\"{}\", nonce=\"{}\", qop=\"auth\", algorithm={alg}",
                c.realm, c.nonce
            )
            .as_str()])
            .unwrap();
            let r = pick(chosen.algorithm, chosen.qop, &c).response(
                "Mufasa",
                &Secret::new("Circle of Life"),
                GET,
                RFC7616_CNONCE,
                1,
            );
            assert_eq!(r, expected, "{alg}");
        }
    }

    #[test]
    fn sess_variants_hash_the_nonce_and_cnonce_into_ha1() {
        let c = rfc7616_challenge("MD5-sess");
        let pw = Secret::new("Circle of Life");
        let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
        let ha1 = md5(format!(
            "{}:{}:{RFC7616_CNONCE}",
            md5("Mufasa:http-auth@example.org:Circle of Life".into()),
            c.nonce
        ));
        let ha2 = md5("GET:/dir/index.html".into());
        let expected = md5(format!(
            "{ha1}:{}:00000001:{RFC7616_CNONCE}:auth:{ha2}",
            c.nonce
        ));
        let got = pick(Algorithm::Md5Sess, Some(Qop::Auth), &c).response(
            "Mufasa",
            &pw,
            GET,
            RFC7616_CNONCE,
            1,
        );
        assert_eq!(got, expected);
        let plain = pick(Algorithm::Md5, Some(Qop::Auth), &c).response(
            "Mufasa",
            &pw,
            GET,
            RFC7616_CNONCE,
            1,
        );
        assert_ne!(got, plain, "-sess must not hash like plain MD5");
        let sha_sess = pick(Algorithm::Sha256Sess, Some(Qop::Auth), &c).response(
            "Mufasa",
            &pw,
            GET,
            RFC7616_CNONCE,
            1,
        );
        assert_eq!(sha_sess.len(), 64);
        assert_ne!(
            sha_sess,
            pick(Algorithm::Sha256, Some(Qop::Auth), &c).response(
                "Mufasa",
                &pw,
                GET,
                RFC7616_CNONCE,
                1
            )
        );
    }

    #[test]
    fn nc_is_eight_hex_digits() {
        assert_eq!(format_nc(1), "00000001");
        assert_eq!(format_nc(10), "0000000a");
        assert_eq!(format_nc(255), "000000ff");
        assert_eq!(format_nc(256), "00000100");
        assert_eq!(format_nc(u32::MAX), "ffffffff");
        // nc is part of the hash: 10 must hash as "0000000a", not "10".
        let c = rfc7616_challenge("MD5");
        let pw = Secret::new("x");
        let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
        let ha1 = md5(format!("u:{}:x", c.realm));
        let ha2 = md5("GET:/dir/index.html".into());
        assert_eq!(
            pick(Algorithm::Md5, Some(Qop::Auth), &c).response("u", &pw, GET, "cn", 10),
            md5(format!("{ha1}:{}:0000000a:cn:auth:{ha2}", c.nonce))
        );
    }

    #[test]
    fn no_qop_is_rfc2069_style_and_auth_int_hashes_the_empty_body() {
        let c = parse_challenge("Digest realm=\"r\", nonce=\"n\"").unwrap();
        let pw = Secret::new("p");
        let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
        let ha1 = md5("u:r:p".into());
        let req = DigestRequest {
            method: "REGISTER",
            uri: "sip:example.net",
            body: b"",
        };
        assert_eq!(
            pick(Algorithm::Md5, None, &c).response("u", &pw, req, "ignored", 1),
            md5(format!(
                "{ha1}:n:{}",
                md5("REGISTER:sip:example.net".into())
            ))
        );
        let ha2_int = md5(format!("REGISTER:sip:example.net:{}", md5(String::new())));
        assert_eq!(
            pick(Algorithm::Md5, Some(Qop::AuthInt), &c).response("u", &pw, req, "cn", 1),
            md5(format!("{ha1}:n:00000001:cn:auth-int:{ha2_int}"))
        );
        let chosen = choose(["Digest realm=\"r\", nonce=\"n\""]).unwrap();
        let header = chosen.authorization("u", &pw, req, "cn", 1);
        assert!(
            !header.contains("qop") && !header.contains("nc="),
            "{header}"
        );
        assert_eq!(
            choose(["Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""])
                .unwrap()
                .qop,
            Some(Qop::AuthInt)
        );
    }

    #[test]
    fn choose_prefers_sha256_and_reports_unsupported() {
        let md5 = "Digest realm=\"r\", nonce=\"a\", algorithm=MD5, qop=\"auth\"";
        let sha = "Digest realm=\"r\", nonce=\"b\", algorithm=SHA-256, qop=\"auth\"";
        let odd = "Digest realm=\"r\", nonce=\"c\", algorithm=SHA-512-256, qop=\"auth\"";
        for order in [[md5, sha, odd], [odd, sha, md5], [sha, md5, odd]] {
            let c = choose(order).unwrap();
            assert_eq!(
                (c.algorithm, c.challenge.nonce.as_str()),
                (Algorithm::Sha256, "b")
            );
        }
        let err = choose([
            odd,
            "Basic realm=\"x\"",
            "Digest realm=\"r\", nonce=\"d\", qop=\"xyz\"",
        ])
        .unwrap_err();
        assert!(err.detail.contains("SHA-512-256"), "{}", err.detail);
        assert!(err.detail.contains("Basic"), "{}", err.detail);
        assert!(err.detail.contains("xyz"), "{}", err.detail);
        assert_eq!(choose([]).unwrap_err().detail, "no challenge offered");
    }

    #[test]
    fn parser_handles_escapes_case_spacing_and_unknown_params() {
        let c = parse_challenge(
            "digest  REALM = \"a \\\"quoted\\\" realm\" ,nonce=tok/en+=, stale=TRUE, \
             domain=\"sip:x sip:y\", algorithm=md5-SESS,,",
        )
        .unwrap();
        assert_eq!(c.realm, "a \"quoted\" realm");
        assert_eq!(c.nonce, "tok/en+=");
        assert!(c.stale);
        assert_eq!(c.supported_algorithm(), Some(Algorithm::Md5Sess));
        assert!(c.qop.is_empty());
        assert!(
            !parse_challenge("Digest realm=r, nonce=n, stale=false")
                .unwrap()
                .stale
        );
    }

    #[test]
    fn parser_rejects_garbage_without_panicking() {
        for bad in [
            "",
            "Digest",
            "Basic realm=\"x\"",
            "Digestrealm=\"x\"",
            "Digest realm=\"x\"",
            "Digest nonce=\"x\"",
            "Digest realm=\"x, nonce=\"y\"",
            "Digest realm=\"x\" nonce=\"y\"",
            "Digest realm=, nonce=y",
            "Digest =x",
            "Digest realm=\"a\", realm=\"b\", nonce=\"n\"",
            "Digest realm=\"a\\",
            "Digest realm=\"a\u{0}\", nonce=n",
            "Digest realm=\"ä\", nonce=\"ü\" ü",
            "\u{feff}Digest realm=r, nonce=n",
        ] {
            assert!(parse_challenge(bad).is_err(), "{bad:?}");
        }
        let huge = format!(
            "Digest realm=r, nonce=\"{}\"",
            "n".repeat(MAX_CHALLENGE_BYTES)
        );
        assert!(matches!(
            parse_challenge(&huge),
            Err(ChallengeError::TooLarge(_))
        ));
        // Every prefix of a valid challenge, split at any char boundary.
        let full =
            "Digest realm=\"r\\\"é\", nonce=\"n\", qop=\"auth\", opaque=o, algorithm=SHA-256";
        for (i, _) in full.char_indices() {
            let _ = parse_challenge(&full[..i]);
        }
    }

    #[test]
    fn authorization_header_quotes_and_echoes_opaque() {
        let chosen = choose([
            "Digest realm=\"r\", nonce=\"n\", opaque=\"op\", qop=\"auth\", algorithm=SHA-256",
        ])
        .unwrap();
        let pw = Secret::new("pa\"ss");
        let req = DigestRequest {
            method: "REGISTER",
            uri: "sip:d",
            body: b"",
        };
        let h = chosen.authorization("us\"er", &pw, req, "cn", 1);
        assert!(h.starts_with("Digest username=\"us\\\"er\", realm=\"r\", nonce=\"n\", uri=\"sip:d\", response=\""), "{h}");
        assert!(
            h.contains(", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"cn\", opaque=\"op\""),
            "{h}"
        );
        assert!(!h.contains("pa\"ss") && !h.contains("pa\\\"ss"));
        assert_eq!(new_cnonce().len(), 32);
        assert_ne!(new_cnonce(), new_cnonce());
    }
}
