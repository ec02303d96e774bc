//! Table-driven diagnosis tests: every `tests/fixtures/scenarios/*.toml` describes one snapshot
//! (in a compact form: defaults describe a healthy line, a fixture states only what differs)
//! and the verdict, layer statuses and evidence `diagnose` must give for it.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use dialtone_core::diagnosis::{diagnose, Diagnosis, Thresholds};
use dialtone_core::locale::Lang;
use dialtone_core::observation::*;
use dialtone_core::router::{RouterError, RouterErrorKind, VoipAccount, VoipStatus};
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default)]
    device: DeviceSpec,
    #[serde(default)]
    gateway: GatewaySpec,
    #[serde(default)]
    internet: InternetSpec,
    #[serde(default)]
    provider: ProviderSpec,
    account: Option<AccountSpec>,
    router: Option<RouterSpec>,
    expect: Expect,
}

/// The router's own view; absent = not asked (`[router] url = "off"`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouterSpec {
    #[serde(default = "yes")]
    reachable: bool,
    model: Option<String>,
    link: Option<String>,
    connection: Option<String>,
    last_error: Option<String>,
    uptime_s: Option<u64>,
    external_ipv4: Option<String>,
    #[serde(default)]
    voip: Vec<VoipSpec>,
    error_kind: Option<RouterErrorKind>,
    error: Option<String>,
    provider_name: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoipSpec {
    index: u32,
    number: Option<String>,
    status: VoipStatus,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DeviceSpec {
    interfaces: Vec<String>,
    default_route: bool,
}

impl Default for DeviceSpec {
    fn default() -> Self {
        DeviceSpec {
            interfaces: vec!["eth0".into()],
            default_route: true,
        }
    }
}

/// `reach`: answered | timeout | unreachable | no_address | not_probed.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct GatewaySpec {
    reach: String,
    rtt_ms: f64,
}

impl Default for GatewaySpec {
    fn default() -> Self {
        GatewaySpec {
            reach: "answered".into(),
            rtt_ms: 2.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AnchorSpec {
    /// answered | timeout | unreachable
    reach: String,
    rtt_ms: f64,
}

impl Default for AnchorSpec {
    fn default() -> Self {
        AnchorSpec {
            reach: "answered".into(),
            rtt_ms: 20.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct InternetSpec {
    probed: bool,
    anchors: Vec<AnchorSpec>,
    /// resolved | not_found | failed | timeout | none
    dns: String,
    dns_name: String,
    dns_rtt_ms: f64,
}

impl Default for InternetSpec {
    fn default() -> Self {
        InternetSpec {
            probed: true,
            anchors: vec![AnchorSpec::default(), AnchorSpec::default()],
            dns: "resolved".into(),
            dns_name: "example.com".into(),
            dns_rtt_ms: 15.0,
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(default, deny_unknown_fields)]
struct ExchangeSpec {
    method: String,
    transport: String,
    address: String,
    /// response | timeout | refused | unreachable | closed | tls | protocol
    outcome: String,
    code: u16,
    reason: String,
    rtt_ms: f64,
    retry_after: Option<u32>,
    transmissions: u32,
    ignored: u32,
    elapsed_ms: f64,
}

impl Default for ExchangeSpec {
    fn default() -> Self {
        ExchangeSpec {
            method: "OPTIONS".into(),
            transport: "udp".into(),
            address: "192.0.2.10:5060".into(),
            outcome: "response".into(),
            code: 200,
            reason: "OK".into(),
            rtt_ms: 40.0,
            retry_after: None,
            transmissions: 1,
            ignored: 0,
            elapsed_ms: 40.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ProviderSpec {
    probed: bool,
    registrar: String,
    host: String,
    name: Option<String>,
    /// resolved | not_found | failed | timeout
    resolution: String,
    exchanges: Vec<ExchangeSpec>,
    /// What earlier rounds saw of the registrar (absent: not tracked).
    known: Option<dialtone_core::observation::Acquaintance>,
}

impl Default for ProviderSpec {
    fn default() -> Self {
        ProviderSpec {
            probed: true,
            registrar: "sip:sip.example.net".into(),
            host: "sip.example.net".into(),
            name: None,
            resolution: "resolved".into(),
            exchanges: vec![ExchangeSpec::default()],
            known: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSpec {
    /// accepted | rejected | suspended | unsupported | no_answer
    result: String,
    #[serde(default)]
    bindings: Vec<String>,
    #[serde(default)]
    code: u16,
    #[serde(default)]
    reason: String,
    exchange: Option<ExchangeSpec>,
    /// How long before the round the query ran (account checks are rare, so a round may carry
    /// an older one); 0 = in this round.
    #[serde(default)]
    age_s: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    verdict: Verdict,
    failing_layer: Option<Layer>,
    layers: BTreeMap<Layer, LayerStatus>,
    #[serde(default)]
    evidence_en: BTreeMap<Layer, Vec<String>>,
    #[serde(default)]
    evidence_de: BTreeMap<Layer, Vec<String>>,
    /// Substrings the rendered evidence of a layer must NOT contain (in English).
    #[serde(default)]
    absent_en: BTreeMap<Layer, Vec<String>>,
    summary_en: Option<String>,
    summary_de: Option<String>,
    reason_en: Option<String>,
    reason_de: Option<String>,
    /// The plain reason people read first ([`Diagnosis::plain_reason`]), exactly.
    plain_en: Option<String>,
    plain_de: Option<String>,
    #[serde(default)]
    latency_ms: BTreeMap<Layer, f64>,
}

fn ms(value: f64) -> Duration {
    Duration::from_secs_f64(value / 1000.0)
}

fn taken_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

fn transport(name: &str) -> Transport {
    match name {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        other => panic!("unknown transport {other:?}"),
    }
}

fn dns_outcome(kind: &str, rtt_ms: f64) -> DnsOutcome {
    match kind {
        "resolved" => DnsOutcome::Resolved {
            addresses: vec!["192.0.2.1".parse().unwrap()],
            rtt: ms(rtt_ms),
        },
        "not_found" => DnsOutcome::NotFound {
            detail: "NXDOMAIN".into(),
        },
        "failed" => DnsOutcome::Failed {
            detail: "SERVFAIL".into(),
        },
        "timeout" => DnsOutcome::Timeout {
            after: Duration::from_secs(3),
        },
        // This computer could not open a socket (EMFILE), as the resolver probe records it.
        "no_socket" => DnsOutcome::Failed {
            detail: Detail {
                context: vec!["A/AAAA via 192.168.1.1:53".into()],
                causes: vec![
                    FailureKind::NoSocket,
                    FailureKind::Other("no connections available".into()),
                ],
            },
        },
        other => panic!("unknown dns outcome {other:?}"),
    }
}

fn exchange(spec: &ExchangeSpec, host: &str) -> SipExchange {
    // The details as older versions stored them (an io::Error's Display, errno and all):
    // history rows still carry them, and every text must come out clean.
    let failure = |kind| SipOutcome::TransportFailed {
        kind,
        detail: match kind {
            TransportFailure::Refused => "Connection refused (os error 111)",
            TransportFailure::Unreachable => "No route to host (os error 113)",
            TransportFailure::Closed => "Connection reset by peer (os error 104)",
            TransportFailure::Tls => "invalid peer certificate: UnknownIssuer",
            TransportFailure::TooLarge => "SIP/2.0 200 OK, over 65536 bytes of headers",
            TransportFailure::ProvisionalOnly => "SIP/2.0 100 Trying",
            TransportFailure::Incomplete => "SIP/2.0 200 OK, 120 bytes",
            TransportFailure::Mismatched => "2× SIP/2.0 200 OK, other Call-ID",
            _ => "not a SIP response",
        }
        .into(),
    };
    let outcome = match spec.outcome.as_str() {
        "response" => SipOutcome::Response {
            code: spec.code,
            reason: spec.reason.clone(),
            rtt: ms(spec.rtt_ms),
            retry_after: spec.retry_after,
        },
        "timeout" => SipOutcome::Timeout,
        "refused" => failure(TransportFailure::Refused),
        "unreachable" => failure(TransportFailure::Unreachable),
        "closed" => failure(TransportFailure::Closed),
        "tls" => failure(TransportFailure::Tls),
        "protocol" => failure(TransportFailure::Protocol),
        "too_large" => failure(TransportFailure::TooLarge),
        "provisional" => failure(TransportFailure::ProvisionalOnly),
        "incomplete" => failure(TransportFailure::Incomplete),
        "mismatched" => failure(TransportFailure::Mismatched),
        // This computer could not open a socket (EMFILE): as the probes record it now.
        "no_socket" => SipOutcome::TransportFailed {
            kind: TransportFailure::Unreachable,
            detail: Detail::of(FailureKind::NoSocket),
        },
        other => panic!("unknown sip outcome {other:?}"),
    };
    SipExchange {
        method: spec.method.clone(),
        target: SipTarget {
            transport: transport(&spec.transport),
            address: spec.address.parse().expect("exchange address"),
            host: host.to_string(),
        },
        outcome,
        transmissions: spec.transmissions,
        ignored: spec.ignored,
        elapsed: ms(spec.elapsed_ms),
    }
}

impl Scenario {
    fn snapshot(&self) -> Snapshot {
        let gateway_ip: std::net::IpAddr = "192.168.1.1".parse().unwrap();
        let device = DeviceObservation {
            interfaces: self
                .device
                .interfaces
                .iter()
                .map(|name| Interface {
                    name: name.clone(),
                    addresses: vec!["192.168.1.10".parse().unwrap()],
                })
                .collect(),
            default_route: self.device.default_route.then(|| DefaultRoute {
                interface: self
                    .device
                    .interfaces
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "eth0".into()),
                gateway: Some(gateway_ip),
            }),
        };
        let home_network = match self.gateway.reach.as_str() {
            "not_probed" => None,
            "no_address" => Some(GatewayObservation {
                address: None,
                source: GatewaySource::Detected,
                reach: None,
            }),
            reach => Some(GatewayObservation {
                address: Some(gateway_ip),
                source: GatewaySource::Detected,
                reach: Some(reach_of(reach, self.gateway.rtt_ms)),
            }),
        };
        let internet = self.internet.probed.then(|| InternetObservation {
            dns: (self.internet.dns != "none").then(|| DnsObservation {
                name: self.internet.dns_name.clone(),
                outcome: dns_outcome(&self.internet.dns, self.internet.dns_rtt_ms),
            }),
            anchors: self
                .internet
                .anchors
                .iter()
                .enumerate()
                .map(|(i, a)| AnchorObservation {
                    target: format!("198.51.100.{}:443", i + 1),
                    reach: reach_of(&a.reach, a.rtt_ms),
                })
                .collect(),
        });
        let p = &self.provider;
        let provider = p.probed.then(|| ProviderObservation {
            acquaintance: p.known,
            registrar: p.registrar.clone(),
            provider_name: p.name.clone(),
            resolution: match p.resolution.as_str() {
                "resolved" => Resolution::Resolved {
                    targets: p
                        .exchanges
                        .iter()
                        .map(|x| exchange(x, &p.host).target)
                        .collect(),
                    path: vec!["NAPTR".into(), "SRV".into(), "A".into()],
                    rtt: ms(12.0),
                },
                other => Resolution::Failed {
                    outcome: dns_outcome(other, 0.0),
                    name: p.host.clone(),
                },
            },
            exchanges: if p.resolution == "resolved" {
                p.exchanges.iter().map(|x| exchange(x, &p.host)).collect()
            } else {
                vec![]
            },
        });
        let account = self.account.as_ref().map(|a| AccountObservation {
            checked_at: taken_at() - chrono::Duration::seconds(a.age_s),
            aor: "sip:alice@sip.example.net".into(),
            outcome: match a.result.as_str() {
                "accepted" => AccountOutcome::Accepted {
                    bindings: a
                        .bindings
                        .iter()
                        .map(|contact| Binding {
                            contact: contact.clone(),
                            expires: Some(300),
                        })
                        .collect(),
                },
                "rejected" => AccountOutcome::Rejected {
                    code: a.code,
                    reason: a.reason.clone(),
                },
                "suspended" => AccountOutcome::Suspended {
                    since: Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap(),
                    code: a.code,
                },
                "deferred" => AccountOutcome::Deferred {
                    until: Utc.with_ymd_and_hms(2026, 11, 25, 7, 5, 0).unwrap(),
                    code: a.code,
                },
                "unsupported" => AccountOutcome::UnsupportedChallenge {
                    detail: a.reason.clone(),
                },
                "no_answer" => AccountOutcome::NoAnswer,
                "paused" => AccountOutcome::Paused {
                    action: LedgerAction::Write,
                    path: "/home/alice/.local/state/dialtone/logins.json".into(),
                    detail: a.reason.clone(),
                },
                other => panic!("unknown account result {other:?}"),
            },
            exchange: a.exchange.as_ref().map(|x| exchange(x, &p.host)),
        });
        let router = self.router.as_ref().map(|r| RouterObservation {
            url: "http://192.168.1.1:49000/igddesc.xml".into(),
            reachable: r.reachable,
            model: r.model.clone(),
            link: r.link.clone(),
            connection: r.connection.clone(),
            last_error: r.last_error.clone(),
            uptime_s: r.uptime_s,
            external_ipv4: r.external_ipv4.clone(),
            voip: r
                .voip
                .iter()
                .map(|v| VoipAccount {
                    index: v.index,
                    number: v.number.clone(),
                    status: v.status,
                    registrar: None,
                })
                .collect(),
            provider_name: r.provider_name.clone(),
            error: r.error_kind.map(|kind| RouterError {
                kind,
                detail: r.error.clone().unwrap_or_default(),
            }),
        });
        Snapshot {
            taken_at: taken_at(),
            device,
            home_network,
            router,
            internet,
            provider,
            account,
        }
    }
}

fn reach_of(kind: &str, rtt_ms: f64) -> Reach {
    match kind {
        "answered" => Reach::Answered {
            method: ReachMethod::TcpConnect,
            rtt: ms(rtt_ms),
        },
        "timeout" => Reach::Timeout {
            after: Duration::from_secs(2),
        },
        // As older versions stored it (see `exchange`).
        "unreachable" => Reach::Unreachable {
            detail: "No route to host (os error 113)".into(),
        },
        // This computer could not open a socket (EMFILE), as the probes record it.
        "no_socket" => Reach::Unreachable {
            detail: Detail::of(FailureKind::NoSocket).within("connect"),
        },
        other => panic!("unknown reach {other:?}"),
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no scenario fixtures in {}: the table is empty",
        dir.display()
    );
    files
}

/// Checks one fixture; returns every mismatch rather than stopping at the first.
fn check(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let scenario: Scenario =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: bad fixture: {e}", path.display()));
    let diagnosis = diagnose(&scenario.snapshot(), &scenario.thresholds);
    let expect = &scenario.expect;
    let mut errors = Vec::new();
    let rendered = |layer: Layer, lang: Lang| -> Vec<String> {
        diagnosis
            .layer(layer)
            .map(|r| r.evidence.iter().map(|f| f.render(lang)).collect())
            .unwrap_or_default()
    };

    if diagnosis.verdict != expect.verdict {
        errors.push(format!(
            "verdict {} (expected {})",
            diagnosis.verdict, expect.verdict
        ));
    }
    if diagnosis.failing_layer != expect.failing_layer {
        errors.push(format!(
            "failing layer {:?} (expected {:?})",
            diagnosis.failing_layer, expect.failing_layer
        ));
    }
    assert_eq!(diagnosis.layers.len(), 6, "always six layers");
    for layer in Layer::ALL {
        let want = expect
            .layers
            .get(&layer)
            .unwrap_or_else(|| panic!("{}: expect.layers lacks {layer}", path.display()));
        let got = diagnosis.layer(layer).map(|r| r.status);
        if got != Some(*want) {
            errors.push(format!(
                "{layer}: status {got:?} (expected {want:?}); evidence: {:?}",
                rendered(layer, Lang::En)
            ));
        }
    }
    for (lang, table) in [
        (Lang::En, &expect.evidence_en),
        (Lang::De, &expect.evidence_de),
    ] {
        for (layer, needles) in table {
            let texts = rendered(*layer, lang);
            for needle in needles {
                if !texts.iter().any(|t| t.contains(needle.as_str())) {
                    errors.push(format!(
                        "{layer} evidence ({lang:?}) lacks {needle:?}; it is {texts:?}"
                    ));
                }
            }
        }
    }
    for (layer, needles) in &expect.absent_en {
        let texts = rendered(*layer, Lang::En);
        for needle in needles {
            if texts.iter().any(|t| t.contains(needle.as_str())) {
                errors.push(format!("{layer} evidence has {needle:?}: {texts:?}"));
            }
        }
    }
    let mut text_check = |what: &str, got: Option<String>, want: &Option<String>| {
        if let Some(want) = want {
            if !got.as_deref().is_some_and(|g| g.contains(want.as_str())) {
                errors.push(format!(
                    "{what} is {got:?}, expected it to contain {want:?}"
                ));
            }
        }
    };
    text_check(
        "summary (en)",
        Some(diagnosis.summary(Lang::En)),
        &expect.summary_en,
    );
    text_check(
        "summary (de)",
        Some(diagnosis.summary(Lang::De)),
        &expect.summary_de,
    );
    text_check("reason (en)", diagnosis.reason(Lang::En), &expect.reason_en);
    text_check("reason (de)", diagnosis.reason(Lang::De), &expect.reason_de);
    for (lang, want) in [(Lang::En, &expect.plain_en), (Lang::De, &expect.plain_de)] {
        let got = diagnosis.plain_reason(lang);
        if want.is_some() && got != *want {
            errors.push(format!(
                "plain reason ({lang:?}) is {got:?}, expected {want:?}"
            ));
        }
    }
    for (layer, want) in &expect.latency_ms {
        let got = diagnosis.layer(*layer).and_then(|r| r.latency_ms);
        if !got.is_some_and(|g| (g - want).abs() < 0.01) {
            errors.push(format!("{layer}: latency {got:?} ms (expected {want})"));
        }
    }
    // Every verdict other than healthy/unknown names a layer, and its reason is non-empty.
    if !matches!(diagnosis.verdict, Verdict::Healthy | Verdict::Unknown)
        && diagnosis.reason(Lang::En).is_none()
    {
        errors.push("a non-healthy verdict without a reason".into());
    }
    // The diagnosis survives JSON (it is what the CLI and the IPC carry).
    let json = serde_json::to_string(&diagnosis).unwrap();
    let back: Diagnosis = serde_json::from_str(&json).unwrap();
    if back != diagnosis {
        errors.push("diagnosis does not round-trip through JSON".into());
    }
    errors
        .into_iter()
        .map(|e| format!("{} ({}): {e}", path.display(), scenario.description))
        .collect()
}

#[test]
fn every_scenario_gives_its_expected_diagnosis() {
    let failures: Vec<String> = fixtures().iter().flat_map(|p| check(p)).collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_verdict() {
    let mut seen = std::collections::BTreeSet::new();
    for path in fixtures() {
        let scenario: Scenario = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        seen.insert(scenario.expect.verdict.as_str());
    }
    for verdict in Verdict::ALL {
        assert!(
            seen.contains(verdict.as_str()),
            "no scenario expects {verdict}"
        );
    }
}

/// Words of a text, lowercased, letters only ("connection refused (Connection refused" gives
/// `connection refused connection refused`).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A phrase of two words said twice, e.g. "connection refused (Connection refused ...)".
/// Articles, prepositions and the like repeat in any sentence, so a phrase counts only
/// when neither of its words is one of them.
fn repeated_phrase(text: &str) -> Option<String> {
    const SMALL: &[&str] = &[
        "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "is", "it", "its", "and",
        "or", "not", "no", "your", "der", "die", "das", "den", "dem", "des", "ein", "eine", "von",
        "zu", "zum", "im", "in", "an", "am", "auf", "ist", "und", "oder", "nicht", "kein", "keine",
        "ihr", "ihre", "ihren", "ihres", "ms", "s", "min", "h",
    ];
    let w = words(text);
    let pairs: Vec<(String, String)> = w
        .windows(2)
        .filter(|p| !(SMALL.contains(&p[0].as_str()) || SMALL.contains(&p[1].as_str())))
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    pairs.iter().enumerate().find_map(|(i, p)| {
        pairs[i + 1..]
            .contains(p)
            .then(|| format!("{} {}", p.0, p.1))
    })
}

/// Whether `text` holds an address with a port ("192.0.2.10:5060", "[2001:db8::1]:5060").
fn has_address_and_port(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || "(),;\"„“".contains(c))
        .any(|token| {
            let token = token.trim_end_matches(['.', ':']);
            let Some((host, port)) = token.rsplit_once(':') else {
                return false;
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            !port.is_empty()
                && port.chars().all(|c| c.is_ascii_digit())
                && host.parse::<std::net::IpAddr>().is_ok()
        })
}

/// What no text, plain or technical, may contain.
fn raw_problems(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut found: Vec<String> = ["os error", "errno"]
        .iter()
        .filter(|needle| lower.contains(*needle))
        .map(|needle| format!("contains {needle:?}"))
        .collect();
    if let Some(phrase) = repeated_phrase(text) {
        found.push(format!("says {phrase:?} twice"));
    }
    found
}

/// What a plain text may not contain besides: protocol verbs and addresses.
fn plain_problems(text: &str) -> Vec<String> {
    let mut found = raw_problems(text);
    for verb in ["OPTIONS", "REGISTER", "INVITE"] {
        if text.contains(verb) {
            found.push(format!("names the SIP method {verb}"));
        }
    }
    if has_address_and_port(text) {
        found.push("shows an address and port".into());
    }
    found
}

/// Every fact of every fixture, in both registers and both languages, and every one-liner
/// built from them.
#[test]
fn no_text_carries_an_errno_a_repeat_or_in_plain_words_a_protocol_detail() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let scenario: Scenario = toml::from_str(&text).unwrap();
        let diagnosis = diagnose(&scenario.snapshot(), &scenario.thresholds);
        let name = diagnosis.provider_name.as_deref();
        for lang in [Lang::En, Lang::De] {
            let mut plain: Vec<String> = vec![diagnosis.summary(lang), diagnosis.headline(lang)];
            plain.extend(diagnosis.plain_reason(lang));
            let mut technical: Vec<String> = diagnosis.reason(lang).into_iter().collect();
            for report in &diagnosis.layers {
                for fact in &report.evidence {
                    plain.push(fact.plain_for(lang, name));
                    plain.push(fact.plain_in(report.layer, lang, name));
                    technical.push(fact.render(lang));
                }
            }
            for t in &plain {
                for problem in plain_problems(t) {
                    failures.push(format!(
                        "{} plain {lang:?} {t:?}: {problem}",
                        path.display()
                    ));
                }
            }
            for t in &technical {
                for problem in raw_problems(t) {
                    failures.push(format!(
                        "{} technical {lang:?} {t:?}: {problem}",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_text_checks_catch_what_they_are_for() {
    let old =
        "OPTIONS to 127.0.0.1:27060 (udp): connection refused (Connection refused (os error 111))";
    let problems = plain_problems(old);
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(repeated_phrase("Ihr Router antwortet; Ihr Internet funktioniert").is_none());
    assert!(has_address_and_port("(udp [2001:db8::1]:5060)"));
    assert!(!has_address_and_port("Your router answers: 2.5 ms"));
}
