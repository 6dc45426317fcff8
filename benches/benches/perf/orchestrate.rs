//! The parent: starts mosquitto and the sink, runs every measurement of the plan in child processes (rounds of
//! every workload for every backend, interleaved so that load from elsewhere hits every backend alike), collects
//! the figures and writes the report.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mqtt_test::mosquitto::Mosquitto;

use crate::backends::{self, Backend};
use crate::cli::{Mode, Section, Settings};
use crate::proc::{ChildProc, Report};
use crate::sink::{Sink, SinkCount};
use crate::stats::Summary;
use crate::workload::{Durability, Job, Role, Stored};
use crate::{report, sys};

mod mosquitto;
mod slow;
use mosquitto::broker_config;
pub(crate) use mosquitto::{mosquitto_nodelay, nodelay_config};
pub(crate) use slow::SLOW_SIZE;

/// Where a client connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Mosquitto,
    Sink,
}

/// One workload.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Publish `count` messages; through mosquitto a subscriber counts them, the sink counts them itself.
    Throughput {
        via: Via,
        qos: u8,
        size: usize,
        count: u64,
    },
    /// Ping-pong on one client.
    Latency {
        via: Via,
        qos: u8,
        count: u64,
        warmup: u64,
    },
    /// Idle connections.
    Idle { marks: Vec<u64> },
    /// A slow consumer through mosquitto: a subscriber that takes nothing for `hold` while a publisher of the
    /// same backend floods `count` QoS 1 messages of `size` bytes, then takes everything.
    Slow {
        size: usize,
        count: u64,
        hold: Duration,
    },
    /// Throughput at QoS 1 through mosquitto, the publisher keeping its session in a file store with this
    /// durability (`None`: in memory, the default).
    Stored {
        durability: Option<Durability>,
        count: u64,
    },
}

/// A workload of the plan, with its identifier in the results.
#[derive(Debug, Clone)]
pub(crate) struct Measure {
    pub(crate) id: String,
    pub(crate) section: Section,
    pub(crate) kind: Kind,
    pub(crate) runs: usize,
    /// What a child's main phase may take.
    pub(crate) deadline: Duration,
}

/// Payload bytes of the throughput and latency workloads.
pub(crate) const SIZE: usize = 64;

/// Payload sizes of the sweep (at QoS 1, through mosquitto).
pub(crate) const SWEEP: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];

/// QoS of the sweep.
pub(crate) const SWEEP_QOS: u8 = 1;

/// mosquitto's `max_inflight_messages` unless `--mosquitto-inflight` says otherwise: 0, no limit. (For a 3.1.1
/// client it bounds the unreleased QoS 2 messages mosquitto accepts from it, past which it drops the connection;
/// mosquitto 2.0.11 did not bound what it sends to a 3.1.1 subscriber with it: 150 unreleased QoS 2 messages at a
/// setting of 32.)
pub(crate) const MOSQUITTO_INFLIGHT: u16 = 0;

/// Idle connection counts.
pub(crate) const IDLE_MARKS: [u64; 2] = [1000, 10_000];

/// The measurements of a run.
pub(crate) fn plan(settings: &Settings) -> Vec<Measure> {
    let full = settings.mode == Mode::Full;
    let pick = |full_value: u64, quick_value: u64| if full { full_value } else { quick_value };
    let runs = settings.runs.unwrap_or(if full { 5 } else { 3 });
    let idle_runs = settings.runs.unwrap_or(if full { 3 } else { 1 });
    let deadline = Duration::from_secs(if full { 60 } else { 30 });
    let mut plan = Vec::new();
    let mut add = |id: String, section: Section, kind: Kind, runs: usize| {
        if settings.sections.contains(&section) {
            plan.push(Measure {
                id,
                section,
                kind,
                runs,
                deadline,
            });
        }
    };
    for (qos, count) in [
        (0, pick(200_000, 60_000)),
        (1, pick(60_000, 20_000)),
        (2, pick(30_000, 10_000)),
    ] {
        add(
            format!("broker-q{qos}"),
            Section::Broker,
            Kind::Throughput {
                via: Via::Mosquitto,
                qos,
                size: SIZE,
                count,
            },
            runs,
        );
    }
    for (qos, count) in [
        (0, pick(300_000, 100_000)),
        (1, pick(100_000, 40_000)),
        (2, pick(60_000, 20_000)),
    ] {
        add(
            format!("sink-q{qos}"),
            Section::Sink,
            Kind::Throughput {
                via: Via::Sink,
                qos,
                size: SIZE,
                count,
            },
            runs,
        );
    }
    let (count, warmup) = (pick(2000, 500), pick(200, 100));
    for (via, qos) in [
        (Via::Mosquitto, 0),
        (Via::Mosquitto, 1),
        (Via::Mosquitto, 2),
        (Via::Sink, 0),
    ] {
        let name = if via == Via::Sink { "sink" } else { "broker" };
        add(
            format!("latency-{name}-q{qos}"),
            Section::Latency,
            Kind::Latency {
                via,
                qos,
                count,
                warmup,
            },
            runs,
        );
    }
    for (size, count) in SWEEP.into_iter().zip([
        pick(40_000, 10_000),
        pick(30_000, 8_000),
        pick(2_000, 500),
        pick(160, 48),
    ]) {
        add(
            format!("sweep-{size}"),
            Section::Sweep,
            Kind::Throughput {
                via: Via::Mosquitto,
                qos: SWEEP_QOS,
                size,
                count,
            },
            runs,
        );
    }
    add(
        "idle".to_owned(),
        Section::Idle,
        Kind::Idle {
            marks: IDLE_MARKS.to_vec(),
        },
        idle_runs,
    );
    // The memory store and each durability of the file store, in the same rounds. An fsync per message takes the
    // disk's time: fewer messages for that one.
    for durability in [None].into_iter().chain(Durability::ALL.map(Some)) {
        let count = match durability {
            Some(Durability::Every) => pick(6_000, 2_000),
            _ => pick(60_000, 20_000),
        };
        add(
            persist_id(durability),
            Section::Persist,
            Kind::Stored { durability, count },
            runs,
        );
    }
    plan.extend(slow::measure(settings));
    plan
}

/// The measure of the persistence section with this durability (`None`: the memory store).
pub(crate) fn persist_id(durability: Option<Durability>) -> String {
    format!(
        "persist-{}",
        durability.map_or("memory", Durability::as_str)
    )
}

/// Every figure of a run: `(measure id, backend, metric)` to the value of each run.
#[derive(Debug, Default)]
pub(crate) struct Results {
    values: BTreeMap<(String, String, String), Vec<f64>>,
    /// Failures, stalls, losses and duplicates, in the order they happened.
    pub(crate) problems: Vec<String>,
    /// Totals over the runs of `(measure id, backend)`: messages lost, duplicated, reordered, and publisher waits.
    pub(crate) counts: BTreeMap<(String, String), Counts>,
    /// Time series of `(measure id, backend)` from its first run that gave one: `(seconds, value)` points (the
    /// slow consumer's RSS).
    pub(crate) series: BTreeMap<(String, String), Vec<(f64, f64)>>,
}

/// Message accounting of one `(measure, backend)` over its runs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) expected: u64,
    pub(crate) lost: u64,
    pub(crate) duplicated: u64,
    pub(crate) reordered: u64,
    pub(crate) waits: u64,
    pub(crate) connection_losses: u64,
    pub(crate) failed_runs: u64,
}

impl Results {
    pub(crate) fn add(&mut self, id: &str, backend: &str, metric: &str, value: f64) {
        if value.is_finite() {
            self.values
                .entry((id.to_owned(), backend.to_owned(), metric.to_owned()))
                .or_default()
                .push(value);
        }
    }

    /// The summary of a figure over its runs.
    pub(crate) fn get(&self, id: &str, backend: &str, metric: &str) -> Option<Summary> {
        self.values
            .get(&(id.to_owned(), backend.to_owned(), metric.to_owned()))
            .and_then(|values| Summary::of(values))
    }

    fn counts(&mut self, id: &str, backend: &str) -> &mut Counts {
        self.counts
            .entry((id.to_owned(), backend.to_owned()))
            .or_default()
    }
}

/// What the report says about the run itself.
#[derive(Debug)]
pub(crate) struct RunInfo {
    pub(crate) started_unix: u64,
    pub(crate) duration: Duration,
    pub(crate) load_before: String,
    pub(crate) load_after: String,
    pub(crate) open_files: u64,
    pub(crate) skipped: Vec<String>,
}

/// The total time a run may take before the rest of its plan is skipped.
fn budget(mode: Mode) -> Duration {
    match mode {
        Mode::Full => Duration::from_secs(15 * 60),
        Mode::Quick => Duration::from_secs(3 * 60),
    }
}

/// A `(measure, backend)` that failed (stalled, lost messages) this many times is not run again.
const MAX_FAILURES: u32 = 2;

/// Runs everything and writes the report.
pub(crate) fn run(settings: &Settings) -> ExitCode {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let load_before = sys::load_average();
    let open_files = match sys::raise_open_files() {
        Ok(limit) => limit,
        Err(e) => {
            eprintln!("perf: cannot raise the open-file limit: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = plan(settings);
    if let Err(e) = std::fs::create_dir_all(&settings.out) {
        eprintln!("perf: cannot create {}: {e}", settings.out.display());
        return ExitCode::FAILURE;
    }
    let mut broker = match Mosquitto::start(broker_config(settings.mosquitto_inflight)) {
        Ok(broker) => broker,
        Err(e) => {
            eprintln!("perf: cannot start mosquitto: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sink = match Sink::start() {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("perf: cannot start the sink: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "perf: {} measurements x {} backends, mosquitto on port {}, sink at {}, open files {open_files}",
        plan.len(),
        settings.backends.len(),
        broker.plain_port(),
        sink.url()
    );
    let mut results = Results::default();
    let mut skipped = Vec::new();
    let mut failures: HashMap<(String, &str), u32> = HashMap::new();
    let deadline = started + budget(settings.mode) + slow::budget(&plan, settings.backends.len());
    let rounds = plan.iter().map(|m| m.runs).max().unwrap_or(0);
    let mut sequence = 0u64;
    for round in 0..rounds {
        for measure in plan.iter().filter(|m| round < m.runs) {
            // Each latency measurement also runs the floor, after the clients of the same round.
            let floor = (measure.section == Section::Latency).then_some(backends::FLOOR);
            for backend in settings.backends.iter().copied().chain(floor) {
                let label = format!(
                    "{} {} run {}/{}",
                    measure.id,
                    backend.name(),
                    round + 1,
                    measure.runs
                );
                if measure.section == Section::Persist && !backend.persists() {
                    // A client without a file store: nothing to compare.
                    continue;
                }
                if Instant::now() >= deadline {
                    skipped.push(label);
                    continue;
                }
                let key = (measure.id.clone(), backend.name());
                if failures.get(&key).copied().unwrap_or(0) >= MAX_FAILURES {
                    skipped.push(format!("{label} (failed {MAX_FAILURES} times before)"));
                    continue;
                }
                if !broker.is_running() {
                    results
                        .problems
                        .push(format!("{label}: mosquitto had exited; restarted it"));
                    if let Err(e) = broker.restart() {
                        eprintln!("perf: cannot restart mosquitto: {e}");
                        return ExitCode::FAILURE;
                    }
                }
                sequence += 1;
                let context = Context {
                    broker_url: format!("mqtt://127.0.0.1:{}", broker.plain_port()),
                    sink: &sink,
                    tag: format!("{}-{sequence}", std::process::id()),
                };
                let at = started.elapsed().as_secs();
                match measure_once(&context, measure, backend, &mut results) {
                    Ok(summary) => eprintln!("[{at:>4}s] {label}: {summary}"),
                    Err(error) => {
                        eprintln!("[{at:>4}s] {label}: FAILED: {error}");
                        *failures.entry(key).or_default() += 1;
                        results.counts(&measure.id, backend.name()).failed_runs += 1;
                        results.problems.push(format!("{label}: {error}"));
                    }
                }
            }
        }
    }
    drop(broker);
    crate::scale::run(settings, &mut results);
    let info = RunInfo {
        started_unix,
        duration: started.elapsed(),
        load_before,
        load_after: sys::load_average(),
        open_files,
        skipped,
    };
    match report::write(settings, &plan, &results, &info) {
        Ok(path) => {
            eprintln!(
                "perf: done in {:.0} s; report at {}",
                info.duration.as_secs_f64(),
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("perf: cannot write the report: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a measurement needs from the run.
struct Context<'a> {
    broker_url: String,
    sink: &'a Sink,
    /// Unique per measurement: topics and client identifiers never collide with an earlier one.
    tag: String,
}

impl Context<'_> {
    fn url(&self, via: Via) -> String {
        match via {
            Via::Mosquitto => self.broker_url.clone(),
            Via::Sink => self.sink.url(),
        }
    }

    fn job(&self, role: Role, via: Via, backend: &dyn Backend, measure: &Measure) -> Job {
        let role_name = match role {
            Role::Pub => "pub",
            Role::Sub => "sub",
            Role::Ping => "ping",
            Role::Idle => "idle",
            Role::Slow => "slow",
        };
        Job {
            role,
            url: self.url(via),
            topic: format!("perf/{}/{}", self.tag, measure.id),
            client_id: format!("perf-{}-{role_name}-{}", backend.name(), self.tag),
            qos: 0,
            size: SIZE,
            count: 0,
            warmup: 0,
            marks: Vec::new(),
            concurrency: 100,
            deadline: measure.deadline,
            hold: Duration::ZERO,
            store: None,
        }
    }
}

/// Records the connection losses a child reports.
fn note_losses(results: &mut Results, id: &str, name: &str, role: &str, report: &Report) {
    let losses = report.get("connection_losses").unwrap_or(0.0) as u64;
    if losses > 0 {
        results.counts(id, name).connection_losses += losses;
        results.problems.push(format!(
            "{id} {name}: the {role} lost its connection {losses} time(s), first: {}",
            report.lost.as_deref().unwrap_or("no reason given")
        ));
    }
}

/// Extra time a child gets beyond its own deadline before it is killed (it reports its own stall first).
const KILL_GRACE: Duration = Duration::from_secs(15);

/// Runs one measurement of one backend, records its figures, and returns a one-line summary.
fn measure_once(
    cx: &Context<'_>,
    measure: &Measure,
    backend: &dyn Backend,
    results: &mut Results,
) -> Result<String, String> {
    let name = backend.name();
    let id = measure.id.as_str();
    match &measure.kind {
        &Kind::Throughput {
            via: Via::Mosquitto,
            qos,
            size,
            count,
        } => through_mosquitto(cx, measure, backend, results, (qos, size, count), None),
        &Kind::Stored { durability, count } => {
            let store = durability.map(|durability| Stored {
                path: std::env::temp_dir()
                    .join(format!("perf-store-{}-{}", name, cx.tag))
                    .display()
                    .to_string(),
                durability,
            });
            let outcome = through_mosquitto(
                cx,
                measure,
                backend,
                results,
                (1, SIZE, count),
                store.clone(),
            );
            if let Some(store) = store {
                let _ = std::fs::remove_file(&store.path);
                let _ = std::fs::remove_file(format!("{}.tmp", store.path));
            }
            outcome
        }
        &Kind::Throughput {
            via: Via::Sink,
            qos,
            size,
            count,
        } => {
            cx.sink.reset();
            let job = Job {
                qos,
                size,
                count,
                ..cx.job(Role::Pub, Via::Sink, backend, measure)
            };
            let publisher =
                ChildProc::spawn(backend, &job)?.finish(measure.deadline + KILL_GRACE)?;
            note_losses(results, id, name, "publisher", &publisher);
            if let Some(error) = &publisher.error {
                return Err(error.clone());
            }
            // At QoS 0 a publisher is done once its bytes are written: the sink may still be reading them, and
            // what it reads after this run's count would count for the next run.
            let counted = settled_count(cx.sink, count);
            let start = publisher.need("start_ns")?;
            let end = publisher
                .get("acked_ns")
                .unwrap_or(0.0)
                .max(counted.last_publish_ns as f64);
            let seconds = (end - start) / 1e9;
            let rate = counted.publishes.min(count) as f64 / seconds;
            let cpu = publisher.need("cpu_ns")? / count as f64 / 1000.0;
            results.add(id, name, "msg_per_s", rate);
            results.add(id, name, "cpu_pub_us", cpu);
            results.add(id, name, "rss_pub", publisher.need("max_rss")?);
            let counts = results.counts(id, name);
            counts.expected += count;
            counts.lost += count.saturating_sub(counted.publishes);
            counts.duplicated += counted.publishes.saturating_sub(count);
            counts.waits += publisher.get("waits").unwrap_or(0.0) as u64;
            if counted.errors > 0 {
                results.problems.push(format!(
                    "{id} {name}: the sink closed {} connection(s) on an error",
                    counted.errors
                ));
            }
            Ok(format!(
                "{rate:.0} msg/s, {cpu:.2} us CPU/msg, sink counted {}",
                counted.publishes
            ))
        }
        &Kind::Latency {
            via,
            qos,
            count,
            warmup,
        } => {
            let job = Job {
                qos,
                count,
                warmup,
                ..cx.job(Role::Ping, via, backend, measure)
            };
            let report = ChildProc::spawn(backend, &job)?.finish(measure.deadline + KILL_GRACE)?;
            note_losses(results, id, name, "client", &report);
            if let Some(error) = &report.error {
                return Err(error.clone());
            }
            let us = |key: &str| report.need(key).map(|ns| ns / 1000.0);
            let (p50, p99, max) = (us("p50_ns")?, us("p99_ns")?, us("max_ns")?);
            results.add(id, name, "p50_us", p50);
            results.add(id, name, "p99_us", p99);
            results.add(id, name, "max_us", max);
            let trips = report.need("round_trips")?;
            results.add(
                id,
                name,
                "cpu_rt_us",
                report.need("cpu_ns")? / trips / 1000.0,
            );
            Ok(format!("p50 {p50:.0} us, p99 {p99:.0} us, max {max:.0} us"))
        }
        Kind::Idle { marks } => {
            let job = Job {
                marks: marks.clone(),
                deadline: measure.deadline + Duration::from_secs(30),
                ..cx.job(Role::Idle, Via::Mosquitto, backend, measure)
            };
            let report =
                ChildProc::spawn(backend, &job)?.finish(job.deadline + KILL_GRACE + KILL_GRACE)?;
            let baseline = report.need("rss_baseline")?;
            let mut parts = Vec::new();
            for &mark in marks {
                if let Some(rss) = report.get(&format!("rss_at_{mark}")) {
                    let per = (rss - baseline) / (mark - 1) as f64 / 1024.0;
                    results.add(id, name, &format!("kib_per_conn_{mark}"), per);
                    parts.push(format!("{per:.1} KiB/conn at {mark}"));
                }
                for what in ["fds", "threads"] {
                    if let (Some(base), Some(at)) = (
                        report.get(&format!("{what}_baseline")),
                        report.get(&format!("{what}_at_{mark}")),
                    ) {
                        let per = (at - base) / (mark - 1) as f64;
                        results.add(id, name, &format!("{what}_per_conn_{mark}"), per);
                        parts.push(format!("{per:.2} {what}/conn"));
                    }
                }
            }
            if let Some(error) = &report.error {
                return Err(format!("{error} (measured: {})", parts.join(", ")));
            }
            Ok(parts.join(", "))
        }
        &Kind::Slow { size, count, hold } => {
            slow::run(cx, measure, backend, results, (size, count, hold))
        }
    }
}

/// A throughput run through mosquitto (`(qos, size, count)`), the publisher keeping its session in `store`.
fn through_mosquitto(
    cx: &Context<'_>,
    measure: &Measure,
    backend: &dyn Backend,
    results: &mut Results,
    (qos, size, count): (u8, usize, u64),
    store: Option<Stored>,
) -> Result<String, String> {
    let (id, name) = (measure.id.as_str(), backend.name());
    let base = cx.job(Role::Sub, Via::Mosquitto, backend, measure);
    let sub_job = Job {
        qos,
        size,
        count,
        ..base.clone()
    };
    let mut subscriber = ChildProc::spawn(backend, &sub_job)?;
    subscriber.wait_ready(Duration::from_secs(20))?;
    let pub_job = Job {
        role: Role::Pub,
        client_id: base.client_id.replace("-sub-", "-pub-"),
        store,
        ..sub_job
    };
    let publisher = ChildProc::spawn(backend, &pub_job)?;
    let publisher = publisher.finish(measure.deadline + KILL_GRACE);
    // The subscriber may still be draining what mosquitto queued for it.
    let subscriber = subscriber.finish_or_stop(Duration::from_secs(5), KILL_GRACE);
    let publisher = publisher?;
    let subscriber = subscriber?;
    note_losses(results, id, name, "publisher", &publisher);
    note_losses(results, id, name, "subscriber", &subscriber);
    throughput_through_broker(id, name, qos, size, count, &publisher, &subscriber, results)
}

/// Records a throughput run through mosquitto.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, every value named"
)]
fn throughput_through_broker(
    id: &str,
    name: &str,
    qos: u8,
    size: usize,
    count: u64,
    publisher: &Report,
    subscriber: &Report,
    results: &mut Results,
) -> Result<String, String> {
    let distinct = subscriber.need("distinct")? as u64;
    let duplicates = subscriber.get("duplicates").unwrap_or(0.0) as u64;
    let reordered = subscriber.get("reordered").unwrap_or(0.0) as u64;
    {
        let counts = results.counts(id, name);
        counts.expected += count;
        counts.lost += count.saturating_sub(distinct);
        counts.duplicated += duplicates;
        counts.reordered += reordered;
        counts.waits += publisher.get("waits").unwrap_or(0.0) as u64;
    }
    if let Some(error) = publisher.error.as_ref().or(subscriber.error.as_ref()) {
        return Err(error.clone());
    }
    let lost = count.saturating_sub(distinct);
    if qos > 0 && lost > 0 {
        // A QoS 1 or 2 message may not be lost: the run failed, and its rate would mean nothing.
        return Err(format!(
            "{lost} of {count} QoS {qos} messages lost, {duplicates} duplicated{}",
            subscriber
                .lost
                .as_deref()
                .or(publisher.lost.as_deref())
                .map_or_else(String::new, |reason| format!(
                    " (connection lost: {reason})"
                ))
        ));
    }
    let start = publisher.need("start_ns")?;
    let end = subscriber.need("last_ns")?;
    let seconds = (end - start) / 1e9;
    let rate = distinct as f64 / seconds;
    results.add(id, name, "msg_per_s", rate);
    results.add(id, name, "mb_per_s", rate * size as f64 / 1e6);
    let cpu_pub = publisher.need("cpu_ns")? / count as f64 / 1000.0;
    let cpu_sub = subscriber.need("cpu_ns")? / distinct.max(1) as f64 / 1000.0;
    results.add(id, name, "cpu_pub_us", cpu_pub);
    results.add(id, name, "cpu_sub_us", cpu_sub);
    results.add(id, name, "cpu_total_us", cpu_pub + cpu_sub);
    let pub_rss = publisher.need("max_rss")?;
    results.add(id, name, "rss_pub", pub_rss);
    results.add(id, name, "rss_sub", subscriber.need("max_rss")?);
    if let Some(connected) = publisher.get("rss_connected") {
        results.add(id, name, "rss_pub_growth", pub_rss - connected);
    }
    if let Some(quarter) = publisher.get("max_rss_quarter").filter(|&q| q > 0.0) {
        results.add(id, name, "rss_pub_quarter", quarter);
    }
    let mut summary = format!(
        "{rate:.0} msg/s, CPU {cpu_pub:.2} + {cpu_sub:.2} us/msg, peak RSS pub {:.1} MiB",
        pub_rss / 1048576.0
    );
    if lost > 0 || duplicates > 0 {
        summary.push_str(&format!(
            ", LOST {lost}, DUPLICATED {duplicates} (QoS {qos})"
        ));
        results.problems.push(format!(
            "{id} {name}: {lost} of {count} messages lost, {duplicates} duplicated (QoS {qos})"
        ));
    }
    Ok(summary)
}

/// The sink's count once it has `expected` messages or has stopped growing for 100 ms (2 s at most).
fn settled_count(sink: &Sink, expected: u64) -> SinkCount {
    let mut last = sink.count();
    let mut still = 0;
    for _ in 0..200 {
        if last.publishes >= expected || still >= 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        let now = sink.count();
        still = if now.publishes == last.publishes {
            still + 1
        } else {
            0
        };
        last = now;
    }
    last
}
