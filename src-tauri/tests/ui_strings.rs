//! The UI's dictionary (`ui/i18n.js`) against the rest of the app: every key exists in English
//! and German, every key the HTML and JS use exists, and every verdict, layer, layer status
//! and error kind the Rust side can send has its words.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion

use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use std::collections::BTreeSet;
use std::path::Path;

fn ui_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ui")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The dotted keys of one language block of `STRINGS` (the file's own simple layout: one key
/// per line, nested objects opened at the end of a line, small objects inline).
fn keys(lang: &str) -> BTreeSet<String> {
    let text = ui_file("i18n.js");
    let start = text
        .find(&format!("\n  {lang}: {{\n"))
        .unwrap_or_else(|| panic!("no {lang} block"));
    let mut out = BTreeSet::new();
    let mut path: Vec<String> = Vec::new();
    for line in text[start..].lines().skip(2) {
        let trimmed = line.trim();
        if trimmed.starts_with('}') {
            if path.pop().is_none() {
                break; // the end of this language's block
            }
            continue;
        }
        let Some((key, rest)) = trimmed.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches('"').to_string();
        let rest = rest.trim();
        let prefix = path.iter().map(|p| format!("{p}.")).collect::<String>();
        if rest == "{" {
            path.push(key);
        } else if let Some(inner) = rest.strip_prefix('{') {
            // An inline object: `ago: { s: "{n} s", m: "{n} min" },`.
            for part in inner.trim_end_matches([',', '}', ' ']).split("\", ") {
                if let Some((k, _)) = part.split_once(':') {
                    out.insert(format!("{prefix}{key}.{}", k.trim()));
                }
            }
        } else {
            out.insert(format!("{prefix}{key}"));
        }
    }
    out
}

#[test]
fn english_and_german_have_the_same_keys() {
    let en = keys("en");
    let de = keys("de");
    assert!(en.len() > 80, "parsed only {} keys: {en:?}", en.len());
    let only_en: Vec<_> = en.difference(&de).collect();
    let only_de: Vec<_> = de.difference(&en).collect();
    assert!(
        only_en.is_empty() && only_de.is_empty(),
        "only en: {only_en:?}; only de: {only_de:?}"
    );
}

#[test]
fn every_key_the_page_uses_exists() {
    let en = keys("en");
    let html = ui_file("index.html");
    let mut used: Vec<String> = html
        .split("data-i18n=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect();
    for js in ["main.js", "timeline.js"] {
        let text = ui_file(js);
        // Literal keys only: t("since", ...), t('crowd'); dynamic ones are checked below.
        // `t(` must start a word, so detect("...") or createElement("p") do not count.
        for (at, _) in text.match_indices("t(") {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.')) {
                continue;
            }
            let rest = &text[at + 2..];
            let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                continue;
            };
            let key = rest[1..].split(quote).next().unwrap_or_default();
            if !key.ends_with('.') {
                used.push(key.to_string());
            }
        }
    }
    assert!(used.len() > 40, "found only {} uses", used.len());
    let missing: Vec<_> = used.iter().filter(|k| !en.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "keys used but not in the dictionary: {missing:?}"
    );
}

#[test]
fn everything_the_rust_side_sends_has_words() {
    let en = keys("en");
    let mut needed = Vec::new();
    needed.extend(
        Verdict::ALL
            .iter()
            .map(|v| format!("verdict.{}", v.as_str())),
    );
    needed.extend(Layer::ALL.iter().map(|l| format!("layer.{}", l.as_str())));
    for status in [
        LayerStatus::Ok,
        LayerStatus::Failed,
        LayerStatus::Degraded,
        LayerStatus::Skipped,
    ] {
        let name = serde_json::to_value(status).unwrap();
        needed.push(format!("layer_status.{}", name.as_str().unwrap()));
    }
    // The first actions' steps, looked up by verdict (`"steps." + plan.steps` in main.js).
    for verdict in ["internet_down", "local_problem", "account_problem"] {
        needed.push(format!("steps.{verdict}"));
    }
    // An outbox entry's state, as the agent names it (src/agent/alerts.rs).
    for state in ["pending", "delivered", "given_up"] {
        needed.push(format!("alerts_state.{state}"));
    }
    for kind in [
        "agent_unreachable",
        "connection",
        "agent",
        "invalid",
        "link_refused",
        "open",
        "catalog",
        "export",
    ] {
        needed.push(format!("error.{kind}"));
    }
    let missing: Vec<_> = needed.iter().filter(|k| !en.contains(*k)).collect();
    assert!(missing.is_empty(), "no words for {missing:?}");
}
