//! How a diagnosis is printed by `check` and `watch`: a JSON object for scripts, a few aligned
//! lines for people. Both carry the same facts.

use chrono::{DateTime, Utc};
use dialtone_core::diagnosis::{Diagnosis, Fact};
use dialtone_core::locale::Lang;
use dialtone_core::observation::Binding;
use dialtone_core::router::RouterView;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_engine::monitor::VerdictChanged;
use serde::Serialize;
use std::io::{self, Write};

/// The JSON document `dialtone check --json` prints (and `watch --json` per change).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct Report {
    /// The line's label; only with `[[line]]` tables in the config (several lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// The verdict, snake_case.
    pub verdict: Verdict,
    /// One sentence for the user.
    pub summary: String,
    /// What a person reads first: the plain reason when something failed, else the summary.
    pub headline: String,
    /// The failing (or degraded) layer's one-line reason in plain words.
    pub plain_reason: Option<String>,
    /// The failing (or degraded) layer's one-line reason, technical (addresses, codes).
    pub reason: Option<String>,
    /// The lowest failing (or degraded) layer.
    pub failing_layer: Option<Layer>,
    /// The provider's name, when known.
    pub provider: Option<String>,
    /// Every layer, lowest first.
    pub layers: Vec<LayerLine>,
    /// The account's current bindings, when the REGISTER query succeeded.
    pub bindings: Option<Vec<Binding>>,
    /// The router's own view (`null` when the router check is off): `{reachable, model, link,
    /// connection, uptime_s, external_ipv4, nat, voip: [{index, number, status}], error}`.
    pub router: Option<RouterView>,
    /// When the observations were taken (RFC 3339).
    pub checked_at: DateTime<Utc>,
    /// The exit code `check` ends with for this verdict.
    pub exit_code: u8,
}

/// One layer in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct LayerLine {
    /// The layer.
    pub layer: Layer,
    /// ok, failed, degraded or skipped.
    pub status: LayerStatus,
    /// The evidence, worded in the chosen language: the technical detail.
    pub evidence: Vec<String>,
    /// The same evidence in plain words, in the same order.
    pub plain: Vec<String>,
    /// The same evidence as structured facts.
    pub facts: Vec<Fact>,
    /// The layer's main latency, when measured.
    pub latency_ms: Option<f64>,
}

impl Report {
    /// Builds the report of `diagnosis`, worded in `lang`.
    pub(super) fn new(diagnosis: &Diagnosis, lang: Lang) -> Report {
        Report {
            line: None,
            verdict: diagnosis.verdict,
            summary: diagnosis.summary(lang),
            headline: diagnosis.headline(lang),
            plain_reason: diagnosis.plain_reason(lang),
            reason: diagnosis.reason(lang),
            failing_layer: diagnosis.failing_layer,
            provider: diagnosis.provider_name.clone(),
            layers: diagnosis
                .layers
                .iter()
                .map(|r| LayerLine {
                    layer: r.layer,
                    status: r.status,
                    evidence: r.evidence.iter().map(|f| f.render(lang)).collect(),
                    plain: diagnosis.plain_evidence(r.layer, lang),
                    facts: r.evidence.clone(),
                    latency_ms: r.latency_ms,
                })
                .collect(),
            bindings: diagnosis.bindings.clone(),
            router: diagnosis.router.as_deref().cloned(),
            checked_at: diagnosis.checked_at,
            exit_code: diagnosis.verdict.exit_code(),
        }
    }

    /// Writes the human-readable form: the plain headline, then each layer in plain words, or
    /// with `verbose` the technical detail (addresses, codes, round-trip times).
    pub(super) fn write_text(
        &self,
        lang: Lang,
        verbose: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if let Some(line) = &self.line {
            writeln!(out, "{line}:")?;
        }
        writeln!(out, "{} {}", glyph(self.verdict), self.headline)?;
        // The evidence already carries the latencies; the columns only need aligning.
        let width = self
            .layers
            .iter()
            .map(|l| layer_name(l.layer, lang).chars().count())
            .max()
            .unwrap_or(0);
        for line in &self.layers {
            let name = layer_name(line.layer, lang);
            let pad = " ".repeat(width - name.chars().count());
            writeln!(
                out,
                "  {name}{pad}  {:<8} {}",
                status_word(line.status, lang),
                // Plain sentences are joined as sentences; technical facts as a list.
                if verbose {
                    line.evidence.join("; ")
                } else {
                    line.plain.join(". ")
                },
            )?;
        }
        if let Some(bindings) = &self.bindings {
            if bindings.is_empty() {
                writeln!(
                    out,
                    "  {}",
                    lang.pick("registered: nothing", "angemeldet: nichts")
                )?;
            }
            for binding in bindings {
                let expires = binding
                    .expires
                    .map(|s| {
                        lang.pick(" (expires in ", " (läuft ab in ").to_string()
                            + &format!("{s} s)")
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  {} {}{expires}",
                    lang.pick("registered:", "angemeldet:"),
                    binding.contact
                )?;
            }
        }
        writeln!(
            out,
            "  {} {} · verdict {} · exit {}",
            lang.pick("checked", "geprüft"),
            self.checked_at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.verdict,
            self.exit_code
        )
    }
}

/// The JSON object `watch --json` prints for each confirmed change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct ChangeReport {
    /// Always `verdict_changed`.
    pub event: &'static str,
    /// The verdict before.
    pub from: Verdict,
    /// The verdict now.
    pub to: Verdict,
    /// When the previous verdict began.
    pub from_since: DateTime<Utc>,
    /// When the change was confirmed.
    pub at: DateTime<Utc>,
    /// When the new verdict began (its first check).
    pub since: DateTime<Utc>,
    /// How long the previous verdict lasted, in seconds (from its first check to the new
    /// verdict's first check).
    pub lasted_secs: i64,
    /// The diagnosis that confirmed the change.
    #[serde(flatten)]
    pub report: Report,
}

impl ChangeReport {
    /// Builds the report of one confirmed change.
    pub(super) fn new(change: &VerdictChanged, lang: Lang) -> ChangeReport {
        ChangeReport {
            event: "verdict_changed",
            from: change.from,
            to: change.to,
            from_since: change.from_since,
            at: change.at,
            since: change.since,
            // Rounded, not truncated: 4.9 s of outage is "5 s".
            lasted_secs: ((change.since - change.from_since).num_milliseconds().max(0) + 500)
                / 1000,
            report: Report::new(&change.diagnosis, lang),
        }
    }

    /// One line for people: time, the change and the plain headline (the technical reason is
    /// in the JSON form).
    pub(super) fn write_text(&self, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
        let lasted = if self.from == Verdict::Unknown {
            String::new()
        } else {
            format!(
                " ({} {} {})",
                self.from,
                lang.pick("for", "seit"),
                duration_words(self.lasted_secs)
            )
        };
        let line = self
            .report
            .line
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        writeln!(
            out,
            "{} {line}{} {}{lasted}: {}",
            self.at.format("%Y-%m-%d %H:%M:%S"),
            glyph(self.to),
            self.to,
            self.report.headline
        )
    }
}

/// `1 h 5 min`, `3 min 20 s`, `12 s`.
pub(super) fn duration_words(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

/// A text glyph per verdict, so the terminal never relies on colour alone.
fn glyph(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Healthy => "✔",
        Verdict::Degraded => "!",
        Verdict::ProviderOutage => "✘",
        Verdict::AccountProblem => "⚿",
        Verdict::InternetDown => "✘",
        Verdict::LocalProblem => "⌂",
        Verdict::Unknown => "?",
    }
}

fn layer_name(layer: Layer, lang: Lang) -> &'static str {
    dialtone_core::diagnosis::layer_words(layer, lang)
}

fn status_word(status: LayerStatus, lang: Lang) -> &'static str {
    match status {
        LayerStatus::Ok => lang.pick("ok", "ok"),
        LayerStatus::Failed => lang.pick("FAILED", "GESTÖRT"),
        LayerStatus::Degraded => lang.pick("degraded", "langsam"),
        LayerStatus::Skipped => lang.pick("skipped", "—"),
    }
}
