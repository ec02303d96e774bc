//! The customer's outage log: outage episodes with their fault reports, exported as CSV (one
//! row per episode) and as a printable HTML report in English or German with per-day outage
//! counts and the facts of TKG §58.
//!
//! The report states what was recorded and what the rule says; it does not say whether or how
//! much compensation is owed (no legal advice). Every text that came from the user or from a
//! provider's feed is HTML-escaped.
//!
//! Local time is any [`chrono::TimeZone`]: the CLI passes [`chrono::Local`] (the system's zone
//! database, DST included), tests pass a fixed zone such as `chrono_tz::Europe::Berlin` so the
//! golden files do not depend on the machine.
//!
//! Which episodes count in the per-day table: those whose verdict places the fault outside this
//! computer and home network (provider outage, account problem, internet down). Local problems
//! are listed with the episodes but not counted, because the diagnosis found the fault at home.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use dialtone_core::locale::Lang;
use dialtone_core::verdict::{Layer, Verdict};
use dialtone_engine::history::{Episode, FaultReport};
use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};
use std::io::Write;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the CSV failed.
    #[error("writing the outage log as CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Writing the HTML failed.
    #[error("writing the outage log as HTML: {0}")]
    Html(#[source] std::io::Error),
}

/// How an export is worded and timed.
#[derive(Debug, Clone)]
pub struct ExportOptions<'a, Tz: TimeZone> {
    /// The language.
    pub lang: Lang,
    /// The local time zone.
    pub tz: &'a Tz,
    /// Its name as shown in the report ("Europe/Berlin").
    pub tz_name: &'a str,
    /// When the export is made: the end of episodes still open, and the report's date.
    pub generated_at: DateTime<Utc>,
    /// The provider's name, when known.
    pub provider: Option<&'a str>,
}

/// One calendar day (local time) in the per-day table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    /// The local date.
    pub date: NaiveDate,
    /// Counted outage episodes that touched the day.
    pub episodes: usize,
    /// How long the line was out that day.
    pub outage: TimeDelta,
    /// Whether the line was out for the whole day.
    pub whole_day: bool,
    /// Calendar days since the earliest fault report of those episodes (0 = the day of the
    /// report); `None` when none was reported by then.
    pub days_after_report: Option<i64>,
}

/// Whether an episode counts as an outage of the contracted service in the per-day table.
pub fn counts(episode: &Episode) -> bool {
    episode.verdict != Verdict::LocalProblem
}

/// A verdict in the report's words.
pub fn verdict_words(verdict: Verdict, lang: Lang) -> &'static str {
    match verdict {
        Verdict::Healthy => lang.pick("working", "funktioniert"),
        Verdict::Degraded => lang.pick("working, degraded", "funktioniert eingeschränkt"),
        Verdict::ProviderOutage => lang.pick("provider outage", "Störung beim Anbieter"),
        Verdict::AccountProblem => lang.pick("account problem", "Problem mit dem Zugang"),
        Verdict::InternetDown => lang.pick("internet access down", "Internetzugang gestört"),
        Verdict::LocalProblem => lang.pick(
            "local problem (this computer or home network)",
            "lokales Problem (Computer oder Heimnetz)",
        ),
        Verdict::Unknown => lang.pick("unknown", "unbekannt"),
    }
}

/// A layer in the report's words.
pub fn layer_name(layer: Layer, lang: Lang) -> &'static str {
    match layer {
        Layer::Device => lang.pick("this computer", "dieser Computer"),
        Layer::HomeNetwork => lang.pick("home network", "Heimnetz"),
        Layer::Router => lang.pick("router", "Router"),
        Layer::Internet => lang.pick("internet access", "Internetzugang"),
        Layer::Provider => lang.pick("VoIP provider", "VoIP-Anbieter"),
        Layer::Account => lang.pick("SIP account", "SIP-Zugang"),
    }
}

/// `H:MM:SS`, hours not wrapped at 24 (a three-day outage is `72:00:00`).
pub fn hms(duration: TimeDelta) -> String {
    let secs = duration.num_seconds().max(0);
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn local<Tz: TimeZone>(t: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    t.with_timezone(tz)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// The failing layer's evidence of an episode in `lang`, as the CSV and the report word it
/// (the stored JSON verbatim when this build cannot read it; empty without a failing layer).
pub fn evidence_text(episode: &Episode, lang: Lang) -> String {
    match (&episode.evidence, episode.failing_layer) {
        (dialtone_engine::history::Evidence::Unreadable { json }, _) => json.clone(),
        (evidence, Some(layer)) => evidence
            .facts(layer)
            .iter()
            .map(|fact| fact.render(lang))
            .collect::<Vec<_>>()
            .join("; "),
        (_, None) => String::new(),
    }
}

/// The system zone's IANA name when it can be found (`TZ`, or the `/etc/localtime` link),
/// else a plain "local time".
pub fn local_zone_name() -> String {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        if !tz.is_empty() {
            return tz.to_string();
        }
    }
    std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|target| {
            let text = target.to_string_lossy().into_owned();
            text.split_once("zoneinfo/")
                .map(|(_, name)| name.to_string())
        })
        .unwrap_or_else(|| "local time".to_string())
}

/// The file name an export suggests: `dialtone-outages-<local date>.<extension>` (plain ASCII,
/// no directory), e.g. `dialtone-outages-2026-03-02.html`.
///
/// It takes the bare extension (`csv`, `html`, without the dot) rather than a format type, so
/// that the outage log stays independent of the IPC wire: each caller names its own format's
/// extension.
pub fn export_file_name<Tz: TimeZone>(extension: &str, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    format!(
        "dialtone-outages-{}.{extension}",
        now.with_timezone(tz).format("%Y-%m-%d"),
    )
}

fn reports_field(reports: &[FaultReport], f: impl Fn(&FaultReport) -> String) -> String {
    reports.iter().map(f).collect::<Vec<_>>().join(" | ")
}

/// Defuses text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR at the
/// start): notes, tickets and feed titles come from the user or a provider's server, and the
/// CSV is meant to be opened in Excel or LibreOffice. A leading `'` shows the text as typed.
fn cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// The local midnight that starts `date` (the earliest, should a zone ever repeat midnight).
fn day_start<Tz: TimeZone>(date: NaiveDate, tz: &Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        // A zone that skips midnight (DST at 00:00): take the first hour that exists.
        None => tz
            .from_local_datetime(&(midnight + TimeDelta::hours(1)))
            .earliest()
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// Per local calendar day: how many counted episodes touched it, for how long, and whether the
/// whole day was out. Days without an outage are left out. Open episodes run until `now`.
pub fn per_day<Tz: TimeZone>(episodes: &[Episode], tz: &Tz, now: DateTime<Utc>) -> Vec<DayCount> {
    let mut days: BTreeMap<NaiveDate, DayCount> = BTreeMap::new();
    for episode in episodes.iter().filter(|e| counts(e)) {
        let end = episode.end.unwrap_or(now).max(episode.start);
        let report_date = episode
            .reports
            .iter()
            .map(|r| r.reported_at.with_timezone(tz).date_naive())
            .min();
        let mut date = episode.start.with_timezone(tz).date_naive();
        let last = end.with_timezone(tz).date_naive();
        while date <= last {
            let Some(next) = date.succ_opt() else { break };
            let (from, to) = (day_start(date, tz), day_start(next, tz));
            let overlap = end.min(to) - episode.start.max(from);
            // An episode that ends exactly at midnight does not touch the next day.
            if overlap > TimeDelta::zero() {
                let day = days.entry(date).or_insert(DayCount {
                    date,
                    episodes: 0,
                    outage: TimeDelta::zero(),
                    whole_day: false,
                    days_after_report: None,
                });
                day.episodes += 1;
                day.outage += overlap;
                // Episodes never overlap, so the sum is the day's outage; a 23- or 25-hour DST
                // day is whole when all of its hours were out.
                day.whole_day = day.outage >= to - from;
                if let Some(reported) = report_date.filter(|r| *r <= date) {
                    let after = (date - reported).num_days();
                    day.days_after_report =
                        Some(day.days_after_report.map_or(after, |d: i64| d.max(after)));
                }
            }
            date = next;
        }
    }
    days.into_values().collect()
}

/// Writes one CSV row per episode (RFC 4180, UTF-8, comma-separated, header in `lang`).
pub fn write_csv<Tz: TimeZone>(
    episodes: &[Episode],
    options: &ExportOptions<'_, Tz>,
    out: &mut dyn Write,
) -> Result<(), ExportError>
where
    Tz::Offset: Display,
{
    let lang = options.lang;
    let tz = options.tz;
    let mut writer = csv::Writer::from_writer(out);
    let header: [&str; 16] = match lang {
        Lang::En => [
            "episode",
            "start (UTC)",
            "end (UTC)",
            "start (local)",
            "end (local)",
            "duration (s)",
            "duration",
            "verdict",
            "failing layer",
            "evidence",
            "reported at (UTC)",
            "reported at (local)",
            "report channel",
            "ticket",
            "note",
            "provider status posts",
        ],
        Lang::De => [
            "Episode",
            "Beginn (UTC)",
            "Ende (UTC)",
            "Beginn (Ortszeit)",
            "Ende (Ortszeit)",
            "Dauer (s)",
            "Dauer",
            "Befund",
            "Ausgefallene Ebene",
            "Belege",
            "Gemeldet am (UTC)",
            "Gemeldet am (Ortszeit)",
            "Meldeweg",
            "Ticketnummer",
            "Notiz",
            "Statusmeldungen des Anbieters",
        ],
    };
    writer.write_record(header)?;
    for e in episodes {
        // An open episode has no end and no duration yet: leaving them empty is clearer than
        // a duration that silently depends on when the file was made.
        let (end_utc, end_local, secs, duration) = match e.end {
            Some(end) => {
                let d = e.duration(end);
                (
                    utc(end),
                    local(end, tz),
                    d.num_seconds().to_string(),
                    hms(d),
                )
            }
            None => (
                String::new(),
                String::new(),
                String::new(),
                lang.pick("ongoing", "andauernd").to_string(),
            ),
        };
        let posts = e
            .status_posts
            .iter()
            .map(|seen| match seen.post.published {
                Some(p) => format!("{} {}", local(p, tz), seen.post.title),
                None => seen.post.title.clone(),
            })
            .collect::<Vec<_>>()
            .join(" | ");
        writer.write_record([
            e.id.to_string(),
            utc(e.start),
            end_utc,
            local(e.start, tz),
            end_local,
            secs,
            duration,
            verdict_words(e.verdict, lang).to_string(),
            e.failing_layer
                .map_or("", |l| layer_name(l, lang))
                .to_string(),
            cell(evidence_text(e, lang)),
            reports_field(&e.reports, |r| utc(r.reported_at)),
            reports_field(&e.reports, |r| local(r.reported_at, tz)),
            cell(reports_field(&e.reports, |r| r.channel.clone())),
            cell(reports_field(&e.reports, |r| {
                r.ticket.clone().unwrap_or_default()
            })),
            cell(reports_field(&e.reports, |r| {
                r.note.clone().unwrap_or_default()
            })),
            cell(posts),
        ])?;
    }
    writer.flush().map_err(csv::Error::from)?;
    Ok(())
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;font-size:11pt;margin:2em;color:#111}\
h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}\
th,td{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#eee}.rule{border:1px solid #999;padding:.5em 1em;background:#fafafa}\
.small{font-size:9pt;color:#444}@media print{body{margin:1cm}a{color:#111}}";

/// Writes the printable HTML report.
pub fn write_html<Tz: TimeZone>(
    episodes: &[Episode],
    options: &ExportOptions<'_, Tz>,
    out: &mut dyn Write,
) -> Result<(), ExportError>
where
    Tz::Offset: Display,
{
    let html = render_html(episodes, options);
    out.write_all(html.as_bytes()).map_err(ExportError::Html)?;
    out.flush().map_err(ExportError::Html)
}

fn render_html<Tz: TimeZone>(episodes: &[Episode], o: &ExportOptions<'_, Tz>) -> String
where
    Tz::Offset: Display,
{
    let (lang, tz) = (o.lang, o.tz);
    let de = lang == Lang::De;
    let p = |en: &'static str, de: &'static str| lang.pick(en, de);
    let mut h = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason only.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        if de { "de" } else { "en" },
        p("Outage log", "Störungsprotokoll")
    );
    let _ = writeln!(
        h,
        "<h1>{}</h1>",
        p(
            "Outage log of the telephone line",
            "Störungsprotokoll des Telefonanschlusses"
        )
    );
    let _ = writeln!(
        h,
        "<p>{}: {}<br>{}: {} ({})<br>{}: {}</p>",
        p("Provider", "Anbieter"),
        escape(o.provider.unwrap_or(p("not set", "nicht angegeben"))),
        p("Generated", "Erstellt"),
        local(o.generated_at, tz),
        escape(o.tz_name),
        p("Recorded by", "Aufgezeichnet von"),
        p(
            "dialtone, which checks the line automatically (this computer, home network, internet access, provider, account)",
            "dialtone, das den Anschluss automatisch prüft (Computer, Heimnetz, Internetzugang, Anbieter, Zugang)"
        )
    );

    let _ = writeln!(
        h,
        "<h2>{}</h2>\n<div class=\"rule\">",
        p("The rule (TKG §58)", "Die Regel (§ 58 TKG)")
    );
    let rule: &[&str] = if de {
        &[
            "Seit dem 01.12.2021 gilt nach § 58 TKG: Wird eine Störung nicht innerhalb von zwei Kalendertagen, nachdem der Anbieter die Störungsmeldung erhalten hat, beseitigt, kann der Kunde für jeden Tag des vollständigen Ausfalls eine Entschädigung verlangen.",
            "Am 3. und 4. Tag: 5 € oder 10 % des Monatsentgelts, ab dem 5. Tag: 10 € oder 20 % – jeweils der höhere Betrag.",
            "Die Entschädigung muss verlangt werden, und zwar schriftlich.",
            "Ein Gericht hat entschieden, dass bereits der Ausfall eines vertraglich vereinbarten Dienstes als vollständiger Ausfall gilt.",
            "Dieses Protokoll gibt die aufgezeichneten Tatsachen und die Regel wieder. Es ist keine Rechtsberatung und sagt nicht, ob oder in welcher Höhe ein Anspruch besteht.",
        ]
    } else {
        &[
            "Since 1 December 2021, § 58 of the German Telecommunications Act (TKG) provides: if a fault is not fixed within two calendar days after the provider received the fault report, the customer can claim compensation for each day of full outage.",
            "Days 3 and 4: 5 € or 10 % of the monthly fee; from day 5: 10 € or 20 %, whichever is higher.",
            "The compensation must be claimed, in writing.",
            "A court held that the failure of one contracted service already counts as a full outage.",
            "This log states the recorded facts and the rule. It is not legal advice and does not say whether, or how much, compensation is owed.",
        ]
    };
    for line in rule {
        let _ = writeln!(h, "<p>{line}</p>");
    }
    let _ = writeln!(h, "</div>");

    let days = per_day(episodes, tz, o.generated_at);
    let _ = writeln!(
        h,
        "<h2>{}</h2>",
        p("Outage per calendar day", "Ausfall je Kalendertag")
    );
    let _ = writeln!(
        h,
        "<p class=\"small\">{}</p>",
        p(
            "Local time. Counted: episodes with the fault outside this computer and home network (provider outage, account problem, internet access down). “Day after report” counts calendar days from the day the fault was reported (day 0).",
            "Ortszeit. Gezählt: Episoden mit der Ursache außerhalb von Computer und Heimnetz (Störung beim Anbieter, Problem mit dem Zugang, Internetzugang gestört). „Tag nach Meldung“ zählt Kalendertage ab dem Tag der Störungsmeldung (Tag 0)."
        )
    );
    if days.is_empty() {
        let _ = writeln!(
            h,
            "<p>{}</p>",
            p("No outage recorded.", "Kein Ausfall aufgezeichnet.")
        );
    } else {
        let _ = writeln!(
            h,
            "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            p("Date", "Datum"),
            p("Episodes", "Episoden"),
            p("Outage (h:mm:ss)", "Ausfall (h:mm:ss)"),
            p("Whole day out", "Ganzer Tag ausgefallen"),
            p("Day after report", "Tag nach Meldung")
        );
        for d in &days {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                d.date.format(if de { "%d.%m.%Y" } else { "%Y-%m-%d" }),
                d.episodes,
                hms(d.outage),
                if d.whole_day {
                    p("yes", "ja")
                } else {
                    p("no", "nein")
                },
                d.days_after_report
                    .map_or("–".to_string(), |n| n.to_string())
            );
        }
        let _ = writeln!(h, "</table>");
        let whole = days.iter().filter(|d| d.whole_day).count();
        let _ = writeln!(
            h,
            "<p>{}: {}. {}: {}.</p>",
            p("Days with an outage", "Tage mit Ausfall"),
            days.len(),
            p("Whole days out", "Ganze Tage ausgefallen"),
            whole
        );
    }

    let _ = writeln!(h, "<h2>{}</h2>", p("Episodes", "Episoden"));
    if episodes.is_empty() {
        let _ = writeln!(
            h,
            "<p>{}</p>",
            p("No outage recorded.", "Kein Ausfall aufgezeichnet.")
        );
    }
    for e in episodes {
        let _ = writeln!(
            h,
            "<h3>{} #{}: {}</h3>",
            p("Episode", "Episode"),
            e.id,
            verdict_words(e.verdict, lang)
        );
        let _ = writeln!(h, "<table>");
        let row = |h: &mut String, k: &str, v: String| {
            let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
        };
        row(
            &mut h,
            p("Start", "Beginn"),
            format!("{} ({})", local(e.start, tz), utc(e.start)),
        );
        row(
            &mut h,
            p("End", "Ende"),
            e.end.map_or(p("ongoing", "andauernd").to_string(), |end| {
                format!("{} ({})", local(end, tz), utc(end))
            }),
        );
        row(
            &mut h,
            p("Duration (h:mm:ss)", "Dauer (h:mm:ss)"),
            match e.end {
                Some(end) => hms(e.duration(end)),
                None => format!(
                    "{} {}",
                    hms(e.duration(o.generated_at)),
                    p("so far", "bisher")
                ),
            },
        );
        if e.verdicts.len() > 1 {
            let all: Vec<_> = e.verdicts.iter().map(|v| verdict_words(*v, lang)).collect();
            row(
                &mut h,
                p("Verdicts during the episode", "Befunde während der Episode"),
                escape(&all.join(" → ")),
            );
        }
        row(
            &mut h,
            p("Failing layer", "Ausgefallene Ebene"),
            e.failing_layer
                .map_or("–", |l| layer_name(l, lang))
                .to_string(),
        );
        let evidence = evidence_text(e, lang);
        if !evidence.is_empty() {
            row(&mut h, p("Evidence", "Belege"), escape(&evidence));
        }
        for r in &e.reports {
            let mut text = format!(
                "{} ({}) {} {}",
                local(r.reported_at, tz),
                utc(r.reported_at),
                p("via", "über"),
                escape(&r.channel)
            );
            if let Some(ticket) = &r.ticket {
                let _ = write!(text, ", {} {}", p("ticket", "Ticket"), escape(ticket));
            }
            if let Some(note) = &r.note {
                let _ = write!(text, "<br>{}", escape(note));
            }
            row(&mut h, p("Fault reported", "Störung gemeldet"), text);
        }
        if e.reports.is_empty() {
            row(
                &mut h,
                p("Fault reported", "Störung gemeldet"),
                p("not recorded", "nicht erfasst").to_string(),
            );
        }
        for seen in &e.status_posts {
            let when = seen
                .post
                .published
                .map_or(String::new(), |t| format!("{}: ", local(t, tz)));
            let title = match &seen.post.link {
                Some(link) => format!(
                    "<a href=\"{}\">{}</a>",
                    escape(link),
                    escape(&seen.post.title)
                ),
                None => escape(&seen.post.title),
            };
            row(
                &mut h,
                p("Provider status post", "Statusmeldung des Anbieters"),
                format!(
                    "{}{title} <span class=\"small\">({})</span>",
                    escape(&when),
                    escape(&seen.feed_url)
                ),
            );
        }
        let _ = writeln!(h, "</table>");
    }
    let _ = writeln!(
        h,
        "<p class=\"small\">{}</p>\n</body>\n</html>",
        p(
            "Times are given in local time with their UTC offset, and in UTC. Not legal advice.",
            "Zeiten in Ortszeit mit Abstand zu UTC sowie in UTC. Keine Rechtsberatung."
        )
    );
    h
}
