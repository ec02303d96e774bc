//! History store and outage log, end to end: crash safety under `kill -9`, the export golden
//! files in both languages, and the `dialtone log` command.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dialtone_core::diagnosis::{Diagnosis, LayerReport};
use dialtone_core::schedule::VerdictChanged;
use dialtone_core::verdict::{Layer, LayerStatus, Verdict};
use dialtone_engine::history::History;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// When set, this test binary is the child of `history_survives_kill_9_mid_write`: it writes
/// checks into the database named by the variable until it is killed.
const CHILD_ENV: &str = "DIALTONE_TEST_CRASH_CHILD_DB";

fn diagnosis(verdict: Verdict, at: DateTime<Utc>) -> Diagnosis {
    Diagnosis {
        verdict,
        failing_layer: None,
        layers: Layer::ALL
            .iter()
            .map(|&layer| LayerReport {
                layer,
                status: LayerStatus::Ok,
                evidence: vec![],
                latency_ms: Some(12.0),
            })
            .collect(),
        bindings: None,
        router: None,
        provider_name: None,
        checked_at: at,
    }
}

/// A confirmed change from `from` to `to` at `at` (both verdicts' "since" being `at` too), as
/// the monitor publishes it.
fn change(from: Verdict, to: Verdict, at: DateTime<Utc>, diagnosis: Diagnosis) -> VerdictChanged {
    VerdictChanged {
        from,
        to,
        from_since: at,
        since: at,
        at,
        diagnosis,
    }
}

/// The child's loop: commit a check, then say so on stdout (flushed, one line per id), forever.
fn crash_child(db: &str) -> ! {
    let history = History::open(std::path::Path::new(db)).unwrap();
    let mut stdout = std::io::stdout().lock();
    let start = Utc::now();
    for n in 0.. {
        let id = history
            .record_check(&diagnosis(Verdict::Healthy, start + TimeDelta::seconds(n)))
            .unwrap();
        // Only after record_check returned is the row committed; only then is it reported.
        writeln!(stdout, "committed {id}").unwrap();
        stdout.flush().unwrap();
    }
    unreachable!("the loop only ends when the process is killed")
}

#[test]
fn history_survives_kill_9_mid_write() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        crash_child(&db);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite3");
    let exe = std::env::current_exe().unwrap();
    let mut reported = Vec::new();
    // Three rounds on the same file: each child also has to open what the killed one left.
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "history_survives_kill_9_mid_write",
                "--nocapture",
            ])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut this_round = 0;
        while this_round < 150 + round * 50 {
            let line = lines
                .next()
                .expect("child ended before being killed")
                .unwrap();
            if let Some(id) = line.strip_prefix("committed ") {
                reported.push(id.parse::<i64>().unwrap());
                this_round += 1;
            }
        }
        // SIGKILL while the child is busy writing (it never pauses between commits).
        child.kill().unwrap();
        // Lines the child printed before it died are still in the pipe: they count too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("committed ") {
                reported.push(id.parse::<i64>().unwrap());
            }
        }
        child.wait().unwrap();
    }

    let history = History::open(&db).unwrap();
    assert_eq!(history.integrity_check().unwrap(), "ok");
    let missing: Vec<_> = reported
        .iter()
        .filter(|&&id| !history.has_check(id).unwrap())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} committed rows lost: {missing:?}",
        missing.len(),
        reported.len()
    );
    assert!(history.check_count().unwrap() >= reported.len() as u64);
    assert!(reported.len() >= 450);
}

#[test]
fn history_store_opens_an_outage_from_a_monitor_sequence() {
    // The "kamailio stopped for a while, then started" shape as the monitor publishes it.
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&dir.path().join("h.sqlite3")).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let mut down = diagnosis(Verdict::ProviderOutage, t0);
    down.failing_layer = Some(Layer::Provider);
    down.layers[3].status = LayerStatus::Failed;
    down.layers[4].status = LayerStatus::Skipped;
    for (from, to, at, d) in [
        (
            Verdict::Unknown,
            Verdict::Healthy,
            t0 - TimeDelta::minutes(10),
            diagnosis(Verdict::Healthy, t0),
        ),
        (Verdict::Healthy, Verdict::ProviderOutage, t0, down.clone()),
        (
            Verdict::ProviderOutage,
            Verdict::Healthy,
            t0 + TimeDelta::minutes(7),
            diagnosis(Verdict::Healthy, t0),
        ),
    ] {
        history.record_change(&change(from, to, at, d)).unwrap();
    }
    let episodes = history.episodes(t0 - TimeDelta::days(1)).unwrap();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].start, t0);
    assert_eq!(episodes[0].end, Some(t0 + TimeDelta::minutes(7)));
    assert_eq!(episodes[0].failing_layer, Some(Layer::Provider));
}

mod export {
    use super::*;
    use chrono_tz::Europe::Berlin;
    use dialtone::cli::log::{execute, parse_time, LogArgs, LogCommand, ReportArgs};
    use dialtone::outage_log::{per_day, write_csv, write_html, ExportOptions};
    use dialtone_core::diagnosis::{Fact, TargetRef};
    use dialtone_core::locale::Lang;
    use dialtone_core::observation::Transport;
    use dialtone_engine::feed::StatusPost;
    use dialtone_engine::history::{Episode, Evidence, FaultReport, SeenStatusPost};

    fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Berlin
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn layers(failing: Layer, facts: Vec<Fact>) -> Vec<LayerReport> {
        Layer::ALL
            .iter()
            .map(|&layer| LayerReport {
                layer,
                status: match layer.cmp(&failing) {
                    std::cmp::Ordering::Less => LayerStatus::Ok,
                    std::cmp::Ordering::Equal => LayerStatus::Failed,
                    std::cmp::Ordering::Greater => LayerStatus::Skipped,
                },
                evidence: if layer == failing {
                    facts.clone()
                } else {
                    vec![]
                },
                latency_ms: None,
            })
            .collect()
    }

    fn sip_timeout() -> Fact {
        Fact::SipTimeout {
            method: "OPTIONS".into(),
            target: TargetRef {
                host: "sip.example-provider.de".into(),
                transport: Transport::Udp,
                address: "192.0.2.10:5060".parse().unwrap(),
            },
            transmissions: 7,
            elapsed_ms: 32000.0,
        }
    }

    /// Four episodes covering the cases: a multi-day provider outage with a hostile note, a
    /// local problem (listed, not counted), an outage across the spring DST change, and one
    /// still open.
    fn episodes() -> Vec<Episode> {
        vec![
            Episode {
                reports: vec![FaultReport {
                    reported_at: berlin(2026, 3, 2, 10, 5),
                    channel: "Hotline".into(),
                    ticket: Some("A-1234".into()),
                    note: Some(
                        "<script>alert(\"x\")</script> & 'Kein Freizeichen', Zeile 2".into(),
                    ),
                }],
                status_posts: vec![SeenStatusPost {
                    feed_url: "https://status.example-provider.de".into(),
                    post: StatusPost {
                        title: "Störung Telefonie <b>".into(),
                        published: Some(berlin(2026, 3, 2, 9, 52)),
                        link: Some(
                            "https://status.example-provider.de/incidents/1?a=1&b=\"2\"".into(),
                        ),
                    },
                    seen_at: berlin(2026, 3, 2, 9, 54),
                }],
                ..episode(
                    1,
                    (berlin(2026, 3, 2, 9, 45), Some(berlin(2026, 3, 5, 14, 10))),
                    Verdict::ProviderOutage,
                    Layer::Provider,
                    layers(Layer::Provider, vec![sip_timeout()]),
                )
            },
            episode(
                2,
                (berlin(2026, 3, 7, 20, 0), Some(berlin(2026, 3, 7, 20, 30))),
                Verdict::LocalProblem,
                Layer::HomeNetwork,
                layers(Layer::HomeNetwork, vec![Fact::NoGateway]),
            ),
            Episode {
                verdicts: vec![Verdict::InternetDown, Verdict::ProviderOutage],
                evidence: Evidence::Unreadable {
                    json: "{\"from\":\"a newer dialtone\"}".into(),
                },
                ..episode(
                    3,
                    (berlin(2026, 3, 28, 23, 30), Some(berlin(2026, 3, 29, 4, 0))),
                    Verdict::InternetDown,
                    Layer::Internet,
                    vec![],
                )
            },
            Episode {
                reports: vec![FaultReport {
                    reported_at: berlin(2026, 4, 1, 9, 0),
                    channel: "Kontaktformular".into(),
                    ticket: Some("=HYPERLINK(\"http://evil\")".into()),
                    note: None,
                }],
                ..episode(
                    4,
                    (berlin(2026, 4, 1, 8, 0), None),
                    Verdict::AccountProblem,
                    Layer::Account,
                    vec![],
                )
            },
        ]
    }

    /// An episode from `span` (start, end if over) of the one verdict `verdict` failing at
    /// `failing`, with `layers` as its evidence, no report and no status post.
    fn episode(
        id: i64,
        (start, end): (DateTime<Utc>, Option<DateTime<Utc>>),
        verdict: Verdict,
        failing: Layer,
        layers: Vec<LayerReport>,
    ) -> Episode {
        Episode {
            id,
            start,
            end,
            verdict,
            failing_layer: Some(failing),
            verdicts: vec![verdict],
            evidence: Evidence::Layers { layers },
            reports: vec![],
            status_posts: vec![],
        }
    }

    fn options(lang: Lang) -> ExportOptions<'static, chrono_tz::Tz> {
        ExportOptions {
            lang,
            tz: &Berlin,
            tz_name: "Europe/Berlin",
            generated_at: berlin(2026, 4, 2, 12, 0),
            provider: Some("Beispiel & Co"),
        }
    }

    /// Compares with the golden file; `DIALTONE_BLESS=1` rewrites it (then review the diff).
    fn golden(name: &str, actual: &[u8]) {
        let path = format!(
            "{}/tests/fixtures/export/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        if std::env::var_os("DIALTONE_BLESS").is_some() {
            std::fs::create_dir_all(format!(
                "{}/tests/fixtures/export",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (run with DIALTONE_BLESS=1)"));
        assert!(
            expected == actual,
            "{name} differs from the golden file:\n{}",
            String::from_utf8_lossy(actual)
        );
    }

    /// The fixture [`episodes`] as `write` exports them in English and in German, each checked
    /// against its golden file `outage_log.LANG.EXT`: each language with its export.
    fn golden_in_both_languages(
        ext: &str,
        write: impl Fn(
            &[Episode],
            &ExportOptions<'static, chrono_tz::Tz>,
            &mut dyn std::io::Write,
        ) -> Result<(), dialtone::outage_log::ExportError>,
    ) -> Vec<(Lang, Vec<u8>)> {
        [(Lang::En, "en"), (Lang::De, "de")]
            .into_iter()
            .map(|(lang, code)| {
                let mut out = Vec::new();
                write(&episodes(), &options(lang), &mut out).unwrap();
                golden(&format!("outage_log.{code}.{ext}"), &out);
                (lang, out)
            })
            .collect()
    }

    #[test]
    fn history_export_csv_golden_en_and_de() {
        for (_, out) in golden_in_both_languages("csv", write_csv) {
            // Machine check on top of the golden file: one row per episode, parseable.
            let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(out.as_slice())
                .records()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(rows.len(), 4);
            assert_eq!(&rows[0][1], "2026-03-02T08:45:00Z");
            assert_eq!(&rows[0][3], "2026-03-02 09:45:00 +01:00");
            assert_eq!(&rows[0][5], (76 * 3600 + 25 * 60).to_string());
            // Across the DST change: 23:30 CET to 04:00 CEST is 3.5 hours, not 4.5.
            assert_eq!(&rows[2][5], (3 * 3600 + 30 * 60).to_string());
            assert_eq!(&rows[2][4], "2026-03-29 04:00:00 +02:00");
            assert_eq!(&rows[3][2], "", "an open episode has no end");
            assert_eq!(&rows[0][13], "A-1234");
            assert_eq!(
                &rows[3][13], "'=HYPERLINK(\"http://evil\")",
                "no formula injection"
            );
        }
    }

    #[test]
    fn history_export_html_golden_en_and_de_escapes_user_text() {
        for (lang, out) in golden_in_both_languages("html", write_html) {
            let html = String::from_utf8(out).unwrap();
            assert!(!html.contains("<script>"), "user text must be escaped");
            assert!(!html.contains("<b>"));
            assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Kein Freizeichen&#39;"));
            assert!(html.contains("Beispiel &amp; Co"));
            assert!(html.contains("a=1&amp;b=&quot;2&quot;"));
            assert!(html.contains(lang.pick("not legal advice", "keine Rechtsberatung")));
        }
    }

    #[test]
    fn history_per_day_counts_split_at_local_midnight_and_skip_local_problems() {
        let days = per_day(&episodes(), &Berlin, berlin(2026, 4, 2, 12, 0));
        let summary: Vec<_> = days
            .iter()
            .map(|d| {
                (
                    d.date.to_string(),
                    d.outage.num_minutes(),
                    d.whole_day,
                    d.days_after_report,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("2026-03-02".into(), 14 * 60 + 15, false, Some(0)),
                ("2026-03-03".into(), 24 * 60, true, Some(1)),
                ("2026-03-04".into(), 24 * 60, true, Some(2)),
                ("2026-03-05".into(), 14 * 60 + 10, false, Some(3)),
                // 7 March (local problem) is not counted.
                ("2026-03-28".into(), 30, false, None),
                // 29 March has 23 hours; 00:00–04:00 CEST is 3 hours of it.
                ("2026-03-29".into(), 3 * 60, false, None),
                ("2026-04-01".into(), 16 * 60, false, Some(0)),
                ("2026-04-02".into(), 12 * 60, false, Some(1)),
            ]
        );
    }

    fn list_args(db: &std::path::Path) -> LogArgs {
        LogArgs {
            command: None,
            since: None,
            db: Some(db.to_path_buf()),
            line: None,
            export: None,
            output: None,
        }
    }

    #[test]
    fn history_log_command_lists_reports_and_exports_an_outage() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite3");
        let t0 = berlin(2026, 3, 2, 9, 45);
        {
            let mut history = History::open(&db).unwrap();
            let mut down = diagnosis(Verdict::ProviderOutage, t0);
            down.failing_layer = Some(Layer::Provider);
            down.layers = layers(Layer::Provider, vec![sip_timeout()]);
            for (from, to, at, d) in [
                (Verdict::Healthy, Verdict::ProviderOutage, t0, down),
                (
                    Verdict::ProviderOutage,
                    Verdict::Healthy,
                    t0 + TimeDelta::minutes(95),
                    diagnosis(Verdict::Healthy, t0),
                ),
            ] {
                history.record_change(&change(from, to, at, d)).unwrap();
            }
        }
        let now = berlin(2026, 3, 3, 12, 0);
        let report = LogArgs {
            command: Some(LogCommand::Report(ReportArgs {
                episode: 1,
                at: Some("2026-03-02 10:05".into()),
                channel: "Hotline".into(),
                ticket: Some("A-1234".into()),
                note: None,
                db: Some(db.clone()),
            })),
            ..list_args(&db)
        };
        let mut out = Vec::new();
        let code = execute(&report, Lang::En, &Berlin, "Europe/Berlin", now, &mut out).unwrap();
        assert_eq!(code, std::process::ExitCode::SUCCESS);

        let mut out = Vec::new();
        execute(
            &list_args(&db),
            Lang::De,
            &Berlin,
            "Europe/Berlin",
            now,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "#1  2026-03-02 09:45 – 2026-03-02 11:20  (1:35:00)  Störung beim Anbieter · VoIP-Anbieter\n    \
             gemeldet 2026-03-02 10:05 über Hotline, Ticket A-1234\n(Ortszeit: Europe/Berlin)\n"
        );

        let csv_path = dir.path().join("log.csv");
        let export = LogArgs {
            export: Some(dialtone_ipc::protocol::ExportFormat::Csv),
            output: Some(csv_path.clone()),
            ..list_args(&db)
        };
        execute(
            &export,
            Lang::En,
            &Berlin,
            "Europe/Berlin",
            now,
            &mut Vec::new(),
        )
        .unwrap();
        let csv_text = std::fs::read_to_string(&csv_path).unwrap();
        assert!(
            csv_text.contains("2026-03-02T08:45:00Z,2026-03-02T10:20:00Z,"),
            "{csv_text}"
        );
        assert!(
            csv_text.contains(",5700,1:35:00,provider outage,VoIP provider,"),
            "{csv_text}"
        );

        // --since after the episode ended leaves it out.
        let later = LogArgs {
            since: Some("2026-03-03".into()),
            ..list_args(&db)
        };
        let mut out = Vec::new();
        execute(&later, Lang::En, &Berlin, "Europe/Berlin", now, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "No outages recorded.\n");

        // A report for a missing episode is a clear error with the config exit code.
        let LogArgs {
            command: Some(LogCommand::Report(mut bad)),
            ..
        } = report
        else {
            unreachable!()
        };
        bad.episode = 42;
        let bad = LogArgs {
            command: Some(LogCommand::Report(bad)),
            ..list_args(&db)
        };
        let err = execute(
            &bad,
            Lang::En,
            &Berlin,
            "Europe/Berlin",
            now,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no outage episode #42"), "{err}");
        assert_eq!(err.exit_code(), std::process::ExitCode::from(3));
    }

    #[test]
    fn history_log_times_are_local_rfc3339_or_refused() {
        assert_eq!(
            parse_time("at", "2026-03-02 10:05", &Berlin).unwrap(),
            berlin(2026, 3, 2, 10, 5)
        );
        assert_eq!(
            parse_time("at", "2026-03-02T10:05", &Berlin).unwrap(),
            berlin(2026, 3, 2, 10, 5)
        );
        assert_eq!(
            parse_time("since", "2026-03-02", &Berlin).unwrap(),
            berlin(2026, 3, 2, 0, 0)
        );
        assert_eq!(
            parse_time("at", "2026-03-02T10:05:00Z", &Berlin).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 5, 0).unwrap()
        );
        let skipped = parse_time("at", "2026-03-29 02:30", &Berlin).unwrap_err();
        assert!(skipped.to_string().contains("DST"), "{skipped}");
        let garbage = parse_time("at", "yesterday", &Berlin).unwrap_err();
        assert!(
            garbage.to_string().starts_with("--at \"yesterday\""),
            "{garbage}"
        );
    }

    #[test]
    fn history_log_args_parse_with_clap() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(subcommand)]
            command: Top,
        }
        #[derive(clap::Subcommand)]
        enum Top {
            Log(LogArgs),
        }
        let Top::Log(args) = Cli::try_parse_from([
            "dialtone",
            "log",
            "--since",
            "2026-03-01",
            "--export",
            "html",
            "--output",
            "r.html",
        ])
        .unwrap()
        .command;
        assert_eq!(args.since.as_deref(), Some("2026-03-01"));
        assert!(
            Cli::try_parse_from(["dialtone", "log", "--export", "csv"]).is_err(),
            "--export needs --output"
        );
        let Top::Log(args) = Cli::try_parse_from([
            "dialtone",
            "log",
            "report",
            "--episode",
            "3",
            "--at",
            "2026-03-02 10:05",
            "--channel",
            "Hotline",
            "--ticket",
            "A-1",
        ])
        .unwrap()
        .command;
        assert!(matches!(
            args.command,
            Some(LogCommand::Report(ReportArgs { episode: 3, .. }))
        ));
    }
}

/// Figures for the closing note, not a check: `cargo test --test history -- --ignored
/// --nocapture history_measure`. Uses /dev/shm when present so that 100k fsyncs do not take
/// minutes; the file's size does not depend on where it lives.
#[test]
#[ignore = "measurement; prints figures"]
fn history_measure_row_size_and_export_time() {
    use dialtone::outage_log::{write_csv, write_html, ExportOptions};
    use dialtone_core::diagnosis::Fact;
    use dialtone_core::locale::Lang;
    use dialtone_engine::history::FaultReport;
    use std::time::Instant;

    let base = std::path::Path::new("/dev/shm");
    let dir = if base.is_dir() {
        tempfile::tempdir_in(base).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let db = dir.path().join("measure.sqlite3");
    let rows = 100_000;
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    {
        let history = History::open(&db).unwrap();
        let started = Instant::now();
        for n in 0..rows {
            // The usual shape: healthy, every layer measured, SIP 200 with an RTT.
            let mut d = diagnosis(Verdict::Healthy, t0 + TimeDelta::seconds(30 * n));
            d.layers[3].latency_ms = Some(20.0 + (n % 50) as f64 / 3.0);
            d.layers[3].evidence = vec![Fact::SipResponse {
                method: "OPTIONS".into(),
                target: dialtone_core::diagnosis::TargetRef {
                    host: "sip.example.net".into(),
                    transport: dialtone_core::observation::Transport::Udp,
                    address: "192.0.2.5:5060".parse().unwrap(),
                },
                code: 200,
                reason: "OK".into(),
                rtt_ms: 21.0,
                transmissions: 1,
                retry_after: None,
            }];
            history.record_check(&d).unwrap();
        }
        println!(
            "inserted {rows} checks (one committed, fsynced transaction each) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // Dropping the last connection checkpoints the WAL into the main file and removes it.
    let bytes = std::fs::metadata(&db).unwrap().len();
    let per_row = bytes as f64 / rows as f64;
    let month_rows = 30 * 24 * 3600 / 30;
    println!(
        "file {bytes} bytes for {rows} checks = {per_row:.1} bytes/check (row + index); 30 days at 30 s = {month_rows} checks ≈ {:.1} MB",
        per_row * month_rows as f64 / 1e6
    );

    let mut history = History::open(&dir.path().join("episodes.sqlite3")).unwrap();
    let episodes = 2_000;
    for n in 0..episodes {
        let start = t0 + TimeDelta::minutes(n * 262); // spread over a year
        let mut down = diagnosis(Verdict::ProviderOutage, start);
        down.failing_layer = Some(Layer::Provider);
        down.layers[3].status = LayerStatus::Failed;
        for (from, to, at, d) in [
            (Verdict::Healthy, Verdict::ProviderOutage, start, down),
            (
                Verdict::ProviderOutage,
                Verdict::Healthy,
                start + TimeDelta::minutes(20 + n % 90),
                diagnosis(Verdict::Healthy, start),
            ),
        ] {
            let effect = history.record_change(&change(from, to, at, d)).unwrap();
            if n % 4 == 0 && to == Verdict::ProviderOutage {
                let report = FaultReport {
                    reported_at: at + TimeDelta::minutes(5),
                    channel: "Hotline".into(),
                    ticket: Some(format!("T-{n}")),
                    note: Some("kein Freizeichen".into()),
                };
                history
                    .attach_report(effect.episode_id().unwrap(), &report)
                    .unwrap();
            }
        }
    }
    let tz = chrono_tz::Europe::Berlin;
    let now = t0 + TimeDelta::days(366);
    let started = Instant::now();
    let loaded = history.episodes(DateTime::<Utc>::MIN_UTC).unwrap();
    let load = started.elapsed();
    assert_eq!(loaded.len(), episodes as usize);
    for lang in [Lang::En, Lang::De] {
        let options = ExportOptions {
            lang,
            tz: &tz,
            tz_name: "Europe/Berlin",
            generated_at: now,
            provider: None,
        };
        let started = Instant::now();
        let mut csv = Vec::new();
        write_csv(&loaded, &options, &mut csv).unwrap();
        let csv_time = started.elapsed();
        let started = Instant::now();
        let mut html = Vec::new();
        write_html(&loaded, &options, &mut html).unwrap();
        let html_time = started.elapsed();
        println!(
            "{lang:?}: {episodes} episodes: load {:.0} ms, CSV {:.0} ms ({} KB), HTML {:.0} ms ({} KB)",
            load.as_secs_f64() * 1e3,
            csv_time.as_secs_f64() * 1e3,
            csv.len() / 1024,
            html_time.as_secs_f64() * 1e3,
            html.len() / 1024
        );
    }
}
