//! The monitor's scheduling and hysteresis, in paused tokio time with a scripted prober.
//!
//! `tests/fixtures/monitor/*.toml` each script a sequence of rounds: the kind of snapshot the
//! prober returns, when the round must start (seconds after spawn), optionally whether it must
//! ask for the account, an event to inject before it, and the confirmed verdict after it; plus
//! the exact list of `VerdictChanged` messages. The tests in code cover what a step list
//! cannot express well: slow rounds, concurrency, shutdown, long runs.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use dialtone_core::diagnosis::{diagnose, Thresholds};
use dialtone_core::observation::*;
use dialtone_core::verdict::Verdict;
use dialtone_engine::monitor::network::{
    spawn_network_watcher, spawn_network_watcher_with, Notifications, SystemEvent,
};
use dialtone_engine::monitor::{spawn_with, Clock, MonitorHandle, Schedule, FAST_RECOVERY_WINDOW};
use dialtone_engine::probe::{ProbeScope, Prober};
use serde::Deserialize;
use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// Snapshots that diagnose to each verdict

/// The wall-clock time the tests' clock starts at.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn answered(rtt: u64) -> Reach {
    Reach::Answered {
        method: ReachMethod::TcpConnect,
        rtt: ms(rtt),
    }
}

/// A line where every layer answers within the default thresholds, no account configured
/// (the same shape as `tests/fixtures/scenarios/healthy.toml`).
fn healthy() -> Snapshot {
    let gateway: std::net::IpAddr = "192.168.1.1".parse().unwrap();
    let target = SipTarget {
        transport: Transport::Udp,
        address: "192.0.2.10:5060".parse().unwrap(),
        host: "sip.example.net".into(),
    };
    Snapshot {
        taken_at: base(),
        device: DeviceObservation {
            interfaces: vec![Interface {
                name: "eth0".into(),
                addresses: vec!["192.168.1.10".parse().unwrap()],
            }],
            default_route: Some(DefaultRoute {
                interface: "eth0".into(),
                gateway: Some(gateway),
            }),
        },
        router: None,
        home_network: Some(GatewayObservation {
            address: Some(gateway),
            source: GatewaySource::Detected,
            reach: Some(answered(2)),
        }),
        internet: Some(InternetObservation {
            dns: Some(DnsObservation {
                name: "example.com".into(),
                outcome: DnsOutcome::Resolved {
                    addresses: vec!["192.0.2.1".parse().unwrap()],
                    rtt: ms(15),
                },
            }),
            anchors: ["198.51.100.1:443", "198.51.100.2:443"]
                .into_iter()
                .map(|target| AnchorObservation {
                    target: target.into(),
                    reach: answered(20),
                })
                .collect(),
        }),
        provider: Some(ProviderObservation {
            acquaintance: None,
            registrar: "sip:sip.example.net".into(),
            provider_name: None,
            resolution: Resolution::Resolved {
                targets: vec![target.clone()],
                path: vec!["NAPTR".into(), "SRV".into(), "A".into()],
                rtt: ms(12),
            },
            exchanges: vec![SipExchange {
                method: "OPTIONS".into(),
                target,
                outcome: SipOutcome::Response {
                    code: 200,
                    reason: "OK".into(),
                    rtt: ms(40),
                    retry_after: None,
                },
                transmissions: 1,
                ignored: 0,
                elapsed: ms(40),
            }],
        }),
        account: None,
    }
}

/// The scripted kinds of round, named after the verdict each diagnoses to.
fn snapshot(kind: Verdict) -> Snapshot {
    fn options(s: &mut Snapshot) -> &mut SipExchange {
        &mut s.provider.as_mut().unwrap().exchanges[0]
    }
    let mut s = healthy();
    match kind {
        Verdict::Healthy => {}
        Verdict::Degraded => {
            options(&mut s).outcome = SipOutcome::Response {
                code: 200,
                reason: "OK".into(),
                rtt: ms(900),
                retry_after: None,
            }
        }
        Verdict::ProviderOutage => {
            let x = options(&mut s);
            x.outcome = SipOutcome::Timeout;
            x.transmissions = 7;
            x.elapsed = ms(8000);
        }
        Verdict::AccountProblem => {
            s.account = Some(AccountObservation {
                checked_at: base(),
                aor: "sip:alice@sip.example.net".into(),
                outcome: AccountOutcome::Rejected {
                    code: 403,
                    reason: "Forbidden".into(),
                },
                exchange: None,
            })
        }
        Verdict::InternetDown => {
            for anchor in &mut s.internet.as_mut().unwrap().anchors {
                anchor.reach = Reach::Timeout {
                    after: Duration::from_secs(2),
                };
            }
        }
        Verdict::LocalProblem => {
            s.home_network.as_mut().unwrap().reach = Some(Reach::Timeout {
                after: Duration::from_secs(2),
            })
        }
        Verdict::Unknown => s.provider = None,
    }
    s
}

#[test]
fn every_scripted_kind_diagnoses_to_its_verdict() {
    for kind in Verdict::ALL {
        let got = diagnose(&snapshot(kind), &Thresholds::default()).verdict;
        assert_eq!(got, kind, "the {kind} snapshot diagnoses to {got}");
    }
}

// ---------------------------------------------------------------------------------------------
// The scripted prober and clock

/// One call the monitor made.
#[derive(Debug, Clone, Copy)]
struct Call {
    /// When the round started, since the test began.
    at: Duration,
    scope: ProbeScope,
}

/// One scripted round: what it returns and how long it takes.
#[derive(Debug, Clone, Copy)]
struct Step {
    kind: Verdict,
    takes: Duration,
}

/// A round that ends in `kind` after `secs` seconds of (paused) time.
fn taking(kind: Verdict, secs: u64) -> Step {
    Step {
        kind,
        takes: Duration::from_secs(secs),
    }
}

struct Script {
    start: Instant,
    steps: Mutex<VecDeque<Step>>,
    /// Returned once the steps run out.
    last: Mutex<Step>,
    calls: Mutex<Vec<Call>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
    /// When the monitor told the prober that the network changed.
    forgotten: Mutex<Vec<Duration>>,
}

/// A prober that plays a script and records each call's time and scope.
#[derive(Clone)]
struct Scripted(Arc<Script>);

impl Scripted {
    fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        let steps: VecDeque<Step> = steps.into_iter().collect();
        let last = *steps.back().expect("a script needs a step");
        Scripted(Arc::new(Script {
            start: Instant::now(),
            steps: Mutex::new(steps),
            last: Mutex::new(last),
            calls: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            max_active: AtomicUsize::new(0),
            forgotten: Mutex::new(Vec::new()),
        }))
    }

    fn instant(kinds: &[Verdict]) -> Self {
        Self::new(kinds.iter().map(|&kind| Step {
            kind,
            takes: Duration::ZERO,
        }))
    }

    fn calls(&self) -> Vec<Call> {
        self.0.calls.lock().unwrap().clone()
    }

    fn starts(&self) -> Vec<u64> {
        self.calls().iter().map(|c| c.at.as_secs()).collect()
    }

    fn accounts(&self) -> Vec<bool> {
        self.calls().iter().map(|c| c.scope.account).collect()
    }
}

/// Counts a round as running until it finishes or is dropped (abandoned).
struct Active(Arc<Script>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Prober for Scripted {
    fn probe(&self, scope: ProbeScope) -> impl Future<Output = Snapshot> + Send {
        let script = Arc::clone(&self.0);
        async move {
            let step = {
                let mut steps = script.steps.lock().unwrap();
                let last = *script.last.lock().unwrap();
                steps.pop_front().unwrap_or(last)
            };
            script.calls.lock().unwrap().push(Call {
                at: script.start.elapsed(),
                scope,
            });
            let now = script.active.fetch_add(1, Ordering::SeqCst) + 1;
            script.max_active.fetch_max(now, Ordering::SeqCst);
            let _active = Active(Arc::clone(&script));
            tokio::time::sleep(step.takes).await;
            snapshot(step.kind)
        }
    }

    fn network_changed(&self) {
        self.0
            .forgotten
            .lock()
            .unwrap()
            .push(self.0.start.elapsed());
    }
}

/// Wall clock = [`base`] + monotonic time since the test began + whatever the test has made it
/// jump (a simulated suspend).
#[derive(Clone)]
struct TestClock {
    start: Instant,
    jump: Arc<Mutex<Duration>>,
}

impl TestClock {
    fn new() -> Self {
        TestClock {
            start: Instant::now(),
            jump: Arc::default(),
        }
    }

    fn sleep_for(&self, d: Duration) {
        *self.jump.lock().unwrap() += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        base()
            + chrono::Duration::from_std(self.start.elapsed() + *self.jump.lock().unwrap()).unwrap()
    }
}

struct Running {
    handle: MonitorHandle,
    join: JoinHandle<()>,
    shutdown: CancellationToken,
    clock: TestClock,
}

fn start(prober: &Scripted, schedule: Schedule) -> Running {
    let shutdown = CancellationToken::new();
    let clock = TestClock::new();
    let (handle, join) = spawn_with(
        prober.clone(),
        schedule,
        Thresholds::default(),
        clock.clone(),
        shutdown.clone(),
    );
    Running {
        handle,
        join,
        shutdown,
        clock,
    }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(1), self.join)
            .await
            .expect("monitor stops within a second of cancellation")
            .expect("monitor task does not panic");
    }
}

fn secs_after_base(t: DateTime<Utc>) -> i64 {
    (t - base()).num_seconds()
}

/// Waits (in virtual time) until `at` seconds after the script's start.
/// A monitor on the default schedule whose rounds are healthy and take `secs` seconds each.
fn start_slow_healthy(secs: u64) -> (Scripted, Running) {
    let prober = Scripted::new([taking(Verdict::Healthy, secs)]);
    let run = start(&prober, Schedule::default());
    (prober, run)
}

async fn until(prober: &Scripted, at: u64) {
    tokio::time::sleep_until(prober.0.start + Duration::from_secs(at)).await;
}

// ---------------------------------------------------------------------------------------------
// Fixture-driven tests

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    description: String,
    #[serde(default)]
    schedule: Schedule,
    step: Vec<FixtureStep>,
    #[serde(default)]
    change: Vec<FixtureChange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureStep {
    /// An event injected after the previous round: network_changed | check_now | sleep (the
    /// wall clock jumps an hour ahead during the following wait, as across a suspend).
    before: Option<String>,
    /// The verdict of the snapshot the prober returns this round.
    raw: Verdict,
    /// When the round must start, in seconds after spawn.
    at: u64,
    /// Whether the round must ask for the account query (unchecked when absent).
    account: Option<bool>,
    /// The confirmed verdict after the round.
    expect: Verdict,
    /// `status.since` after the round, in seconds after the clock's base (unchecked when absent).
    since: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureChange {
    from: Verdict,
    to: Verdict,
    /// Seconds after the clock's base.
    from_since: i64,
    at: i64,
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/monitor");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// Plays one fixture; returns every mismatch.
async fn play(fixture: &Fixture) -> Vec<String> {
    let prober = Scripted::instant(&fixture.step.iter().map(|s| s.raw).collect::<Vec<_>>());
    let run = start(&prober, fixture.schedule.clone());
    let mut checks = run.handle.subscribe_checks();
    let mut changes = run.handle.subscribe();
    let mut errors = Vec::new();
    for (i, step) in fixture.step.iter().enumerate() {
        match step.before.as_deref() {
            None => {}
            Some("network_changed") => run.handle.network_changed(),
            Some("check_now") => run.handle.check_now(),
            Some("sleep") => run.clock.sleep_for(Duration::from_secs(3600)),
            Some(other) => panic!("unknown event {other:?}"),
        }
        let raw = tokio::time::timeout(Duration::from_secs(3600), checks.recv())
            .await
            .unwrap_or_else(|_| panic!("step {i}: no round within an hour"))
            .unwrap();
        let status = run.handle.status();
        let call = prober.calls()[i];
        if raw.verdict != step.raw {
            errors.push(format!(
                "step {i}: raw {} (scripted {})",
                raw.verdict, step.raw
            ));
        }
        if call.at != Duration::from_secs(step.at) {
            errors.push(format!(
                "step {i}: round at {:?}, expected {} s",
                call.at, step.at
            ));
        }
        if step.account.is_some_and(|want| want != call.scope.account) {
            errors.push(format!("step {i}: account scope {}", call.scope.account));
        }
        if status.verdict != step.expect {
            errors.push(format!(
                "step {i}: confirmed {} (expected {})",
                status.verdict, step.expect
            ));
        }
        if step
            .since
            .is_some_and(|want| want != secs_after_base(status.since))
        {
            errors.push(format!(
                "step {i}: since {} s",
                secs_after_base(status.since)
            ));
        }
        if status.latest.as_ref().map(|d| d.verdict) != Some(step.raw) {
            errors.push(format!(
                "step {i}: status.latest is not this round's result"
            ));
        }
        if status
            .diagnosis
            .as_ref()
            .map(|d| d.verdict)
            .unwrap_or(Verdict::Unknown)
            != status.verdict
        {
            errors.push(format!("step {i}: status.diagnosis disagrees with verdict"));
        }
    }
    let mut got = Vec::new();
    loop {
        match changes.try_recv() {
            Ok(c) => got.push((
                c.from,
                c.to,
                secs_after_base(c.from_since),
                secs_after_base(c.at),
            )),
            Err(TryRecvError::Empty) => break,
            Err(e) => panic!("changes channel: {e}"),
        }
    }
    let want: Vec<_> = fixture
        .change
        .iter()
        .map(|c| (c.from, c.to, c.from_since, c.at))
        .collect();
    if got != want {
        errors.push(format!("changes {got:?}, expected {want:?}"));
    }
    if prober.0.max_active.load(Ordering::SeqCst) > 1 {
        errors.push("rounds overlapped".into());
    }
    run.stop().await;
    errors
}

#[tokio::test(start_paused = true)]
async fn fixtures_schedule_and_confirm_as_scripted() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let fixture: Fixture = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: bad fixture: {e}", path.display()));
        let errors = play(&fixture).await;
        if !errors.is_empty() {
            failures.push(format!(
                "{} ({}):\n  {}",
                path.display(),
                fixture.description,
                errors.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Tests in code

#[tokio::test(start_paused = true)]
async fn account_query_on_round_one_every_15_minutes_and_on_check_now() {
    let prober = Scripted::instant(&[Verdict::Healthy]);
    let run = start(&prober, Schedule::default());
    let mut checks = run.handle.subscribe_checks();
    // Round 1 confirms healthy at once, so rounds run at 0, 30, 60, 90: ask for a check right
    // after the one at 90 (off the 900 s grid of round 1, so the account rounds after it show
    // that the 15 minutes count from the last account round).
    until(&prober, 90).await;
    while prober.calls().len() < 4 {
        checks.recv().await.unwrap();
    }
    run.handle.check_now();
    until(&prober, 2000).await;
    let accounts: Vec<u64> = prober
        .calls()
        .iter()
        .filter(|c| c.scope.account)
        .map(|c| c.at.as_secs())
        .collect();
    // Round 1; the check_now round at 90; then 900 s after the last account round, each time.
    assert_eq!(accounts, [0, 90, 990, 1890]);
    assert!(
        prober.calls().len() > 60,
        "the other rounds ran without the account"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn check_now_coalesces_and_rounds_never_overlap() {
    let (prober, run) = start_slow_healthy(10);
    // Round 0-10 confirms healthy at once (nothing pending): the next is due at 30.
    until(&prober, 25).await;
    for _ in 0..3 {
        run.handle.check_now(); // idle: one full round at once, instead of the one due at 30
    }
    until(&prober, 30).await;
    for _ in 0..3 {
        run.handle.check_now(); // during a full round: served by it
    }
    // That round started at 25, so the next is due at 55 and runs until 65.
    until(&prober, 60).await;
    for _ in 0..2 {
        run.handle.check_now(); // during a round without the account: one full round after it
    }
    until(&prober, 100).await;
    assert_eq!(prober.starts(), [0, 25, 55, 65, 95]);
    assert_eq!(prober.accounts(), [true, true, false, true, false]);
    assert_eq!(prober.0.max_active.load(Ordering::SeqCst), 1);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn network_change_abandons_the_round_in_flight() {
    let prober = Scripted::new([
        taking(Verdict::ProviderOutage, 10),
        taking(Verdict::Healthy, 10),
    ]);
    let run = start(&prober, Schedule::default());
    let mut checks = run.handle.subscribe_checks();
    until(&prober, 3).await;
    run.handle.network_changed();
    let first = checks.recv().await.unwrap();
    assert_eq!(
        first.verdict,
        Verdict::Healthy,
        "the abandoned round's result is never published"
    );
    assert_eq!(prober.0.start.elapsed(), Duration::from_secs(13));
    assert_eq!(prober.starts()[..2], [0, 3]);
    assert_eq!(
        prober.accounts()[..2],
        [true, true],
        "the rerun keeps the abandoned round's scope"
    );
    assert_eq!(prober.0.max_active.load(Ordering::SeqCst), 1);
    run.stop().await;
}

/// The probes hear of a network change before their next round, so nothing learnt on the old
/// network (the router's place, its login challenge) is used on the new one.
#[tokio::test(start_paused = true)]
async fn a_network_change_reaches_the_prober_before_its_next_round() {
    let prober = Scripted::new([taking(Verdict::Healthy, 10)]);
    let run = start(&prober, Schedule::default());
    // During a round: told before the rerun at 3.
    until(&prober, 3).await;
    run.handle.network_changed();
    until(&prober, 14).await;
    // While idle: told before the round it causes, at 20.
    until(&prober, 20).await;
    run.handle.network_changed();
    until(&prober, 21).await;
    let told: Vec<u64> = prober
        .0
        .forgotten
        .lock()
        .unwrap()
        .iter()
        .map(Duration::as_secs)
        .collect();
    assert_eq!(told, [3, 20], "{:?}", prober.starts());
    assert_eq!(prober.starts()[..3], [0, 3, 20]);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_a_slow_probe_returns_promptly() {
    let (prober, run) = start_slow_healthy(3600);
    until(&prober, 1).await;
    assert_eq!(
        prober.0.active.load(Ordering::SeqCst),
        1,
        "a probe is running"
    );
    let begun = Instant::now();
    run.stop().await;
    assert!(begun.elapsed() < Duration::from_millis(10));
    assert_eq!(
        prober.0.active.load(Ordering::SeqCst),
        0,
        "the round was dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn outage_is_rechecked_fast_for_five_minutes_then_at_the_normal_pace() {
    let prober = Scripted::instant(&[Verdict::ProviderOutage]);
    let run = start(&prober, Schedule::default());
    until(&prober, 400).await;
    // Failures from the start still need two results: confirmed at 5; every 5 s while within
    // the window after it; then every 30 s.
    let window_end = 5 + FAST_RECOVERY_WINDOW.as_secs();
    let mut want: Vec<u64> = (0..=window_end).step_by(5).collect();
    want.extend([window_end + 30, window_end + 60, window_end + 90]);
    assert_eq!(prober.starts(), want);
    assert_eq!(run.handle.status().verdict, Verdict::ProviderOutage);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn network_watcher_reports_a_changed_fingerprint() {
    let prober = Scripted::instant(&[Verdict::Healthy]);
    let run = start(&prober, Schedule::default());
    // Polled at 0 (the reference), 3, 6, 9 ...: the route changes before the poll at 9.
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&polls);
    let watcher = spawn_network_watcher(
        vec![run.handle.clone()],
        Duration::from_secs(3),
        move || {
            if counter.fetch_add(1, Ordering::SeqCst) < 3 {
                "eth0 via 192.168.1.1"
            } else {
                "wlan0 via 10.0.0.1"
            }
        },
        run.shutdown.clone(),
    );
    // Round 1 confirms healthy at once, so the next is due at 30; the change at 9 runs a round
    // at once and the cadence continues from it.
    until(&prober, 50).await;
    assert_eq!(prober.starts(), [0, 9, 39]);
    run.stop().await;
    watcher.await.unwrap();
}

/// A fingerprint that reads `before` until `switch` is raised, then `after`.
fn switchable(
    before: &'static str,
    after: &'static str,
) -> (
    Arc<AtomicUsize>,
    impl FnMut() -> &'static str + Send + 'static,
) {
    let switch = Arc::new(AtomicUsize::new(0));
    let read = Arc::clone(&switch);
    (switch, move || {
        if read.load(Ordering::SeqCst) == 0 {
            before
        } else {
            after
        }
    })
}

#[tokio::test(start_paused = true)]
async fn an_os_notification_makes_the_watcher_look_before_its_next_poll() {
    let prober = Scripted::instant(&[Verdict::Healthy]);
    let run = start(&prober, Schedule::default());
    let (switch, fingerprint) = switchable("eth0 via 192.168.1.1", "wlan0 via 10.0.0.1");
    let notifications = Notifications::none();
    let os = notifications.sender();
    // A poll every minute: only the notification can explain a round before 60.
    let watcher = spawn_network_watcher_with(
        vec![run.handle.clone()],
        Duration::from_secs(60),
        fingerprint,
        notifications,
        run.shutdown.clone(),
    );
    until(&prober, 10).await;
    // The link changes at 10: a burst of notifications (interface, address, route) over 300 ms.
    switch.store(1, Ordering::SeqCst);
    for _ in 0..3 {
        os.send(SystemEvent::NetworkChanged);
        tokio::time::sleep(ms(150)).await;
    }
    until(&prober, 20).await;
    // One round for the burst, SETTLE after its last notification (10.3 + 0.5 s).
    let calls = prober.calls();
    assert_eq!(calls.len(), 2, "{:?}", prober.starts());
    assert_eq!(calls[1].at, Duration::from_millis(10_800), "{calls:?}");
    run.stop().await;
    watcher.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_notification_that_changed_nothing_the_probes_use_runs_no_round() {
    let prober = Scripted::instant(&[Verdict::Healthy]);
    let run = start(&prober, Schedule::default());
    let notifications = Notifications::none();
    let os = notifications.sender();
    let watcher = spawn_network_watcher_with(
        vec![run.handle.clone()],
        Duration::from_secs(60),
        || "eth0 via 192.168.1.1",
        notifications,
        run.shutdown.clone(),
    );
    until(&prober, 10).await;
    os.send(SystemEvent::NetworkChanged);
    until(&prober, 25).await;
    assert_eq!(prober.starts(), [0], "the same network was re-checked");
    run.stop().await;
    watcher.await.unwrap();
}

/// On Windows the monotonic clock counts through sleep, so the monitor's own wake check sees
/// no jump: the OS's resume notification alone says the machine slept, and the line is checked
/// again even when the network looks the same.
#[tokio::test(start_paused = true)]
async fn a_resume_the_os_reports_rechecks_the_same_network() {
    let prober = Scripted::instant(&[Verdict::Healthy]);
    let run = start(&prober, Schedule::default());
    let notifications = Notifications::none();
    let os = notifications.sender();
    let watcher = spawn_network_watcher_with(
        vec![run.handle.clone()],
        Duration::from_secs(60),
        || "eth0 via 192.168.1.1",
        notifications,
        run.shutdown.clone(),
    );
    until(&prober, 12).await;
    os.send(SystemEvent::Resumed);
    until(&prober, 20).await;
    let calls = prober.calls();
    assert_eq!(calls.len(), 2, "{:?}", prober.starts());
    assert_eq!(calls[1].at, Duration::from_millis(12_500), "{calls:?}");
    run.stop().await;
    watcher.await.unwrap();
}
