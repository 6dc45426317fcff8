//! The child side: one process runs one client role of one backend ([`Job`]) and reports on stdout.
//!
//! The backend does the MQTT work and calls a meter at the points that matter (connected, each payload, each
//! message received, all acknowledged); the meters take the timestamps, CPU time and RSS, and print them. CPU time
//! is `getrusage(RUSAGE_SELF)` of this process between the meter's start and end points, so connection set-up is
//! not counted; peak RSS is the process's.
//!
//! Protocol on stdout, one item per line: `READY` (a subscriber is subscribed), `R key=value` (a figure), `LOST
//! reason` (the first connection loss, if any), `ERR text` (the role failed or stalled; figures printed before it
//! still count), `END`. A subscriber also watches
//! stdin: the parent closes it to say "stop waiting, report what you have".

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::oneshot;

use crate::backends;
use crate::sys::{self, Usage};
use crate::workload::{self, Job, Role};

/// First argument of a child invocation; then the backend name and the job.
pub(crate) const FLAG: &str = "--child";

/// Runs the child described by `args` (backend name, then the job's `key=value` arguments).
pub(crate) fn main(args: &[String]) -> ExitCode {
    let Some((name, rest)) = args.split_first() else {
        eprintln!("perf child: missing backend name");
        return ExitCode::FAILURE;
    };
    let Some(backend) = backends::find_child(name) else {
        eprintln!("perf child: unknown backend {name}");
        return ExitCode::FAILURE;
    };
    let job = match Job::parse(rest) {
        Ok(job) => job,
        Err(error) => {
            eprintln!("perf child: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = Output::default();
    let result = match job.role {
        Role::Pub => {
            let mut meter = PubMeter::new(&job);
            let result = backend.publisher(&job, &mut meter);
            meter.report(&mut out);
            result
        }
        Role::Sub => {
            let mut meter = SubMeter::new(&job);
            let result = backend.subscriber(&job, &mut meter);
            meter.report(&mut out);
            result
        }
        Role::Ping => {
            let mut meter = PingMeter::new(&job);
            let result = backend.ping_pong(&job, &mut meter);
            meter.report(&mut out);
            result
        }
        Role::Idle => {
            let mut meter = IdleMeter::new();
            let result = backend.idle(&job, &mut meter);
            meter.report(&mut out);
            result
        }
        Role::Slow => {
            let mut meter = SlowMeter::new(&job);
            let result = backend.slow_subscriber(&job, &mut meter);
            meter.report(&mut out);
            result
        }
    };
    let losses = std::mem::take(
        &mut *LOSSES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    out.put("connection_losses", losses.len());
    if let Some(first) = losses.first() {
        let _ = writeln!(out.0, "LOST {}", first.replace('\n', " "));
    }
    if let Err(error) = &result {
        let _ = writeln!(out.0, "ERR {}", error.replace('\n', " "));
    }
    out.0.push_str("END\n");
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(out.0.as_bytes());
    let _ = stdout.flush();
    // Exit without running destructors of anything the backend leaked on purpose (idle connections).
    ExitCode::SUCCESS
}

/// Connection losses the backend saw (our clients reconnect by themselves; a loss during a measurement is a
/// problem to report, with its reason).
static LOSSES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records that the client lost its connection, and why.
pub(crate) fn connection_lost(reason: String) {
    LOSSES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(reason);
}

/// The figures of a child, as `R key=value` lines.
#[derive(Default)]
struct Output(String);

impl Output {
    fn put(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "R {key}={value}");
    }
}

/// A time and the process's resource usage at that time.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: u64,
    usage: Usage,
}

impl Mark {
    fn now() -> Self {
        Self {
            at: sys::mono_ns(),
            usage: sys::usage(),
        }
    }
}

fn report_span(out: &mut Output, start: Option<Mark>, end: Option<Mark>) {
    if let Some(start) = start {
        out.put("start_ns", start.at);
    }
    if let (Some(start), Some(end)) = (start, end) {
        out.put("end_ns", end.at);
        out.put(
            "cpu_ns",
            end.usage.cpu_ns.saturating_sub(start.usage.cpu_ns),
        );
    }
    out.put("max_rss", sys::usage().max_rss);
}

/// The publisher's meter.
#[derive(Debug)]
pub(crate) struct PubMeter {
    size: usize,
    quarter: u64,
    sent: u64,
    waits: u64,
    rss_connected: u64,
    max_rss_quarter: u64,
    start: Option<Mark>,
    acked_ns: Option<u64>,
    end: Option<Mark>,
}

impl PubMeter {
    fn new(job: &Job) -> Self {
        Self {
            size: job.size,
            quarter: job.count / 4,
            sent: 0,
            waits: 0,
            rss_connected: 0,
            max_rss_quarter: 0,
            start: None,
            acked_ns: None,
            end: None,
        }
    }

    /// Connected: the measured part starts.
    pub(crate) fn started(&mut self) {
        self.rss_connected = sys::rss();
        self.start = Some(Mark::now());
    }

    /// The payload of message `seq` (0, 1, 2... in order), stamped now.
    pub(crate) fn payload(&mut self, seq: u64) -> Vec<u8> {
        if seq == self.quarter && self.quarter > 0 {
            self.max_rss_quarter = sys::usage().max_rss;
        }
        self.sent = seq + 1;
        workload::payload(seq, self.size)
    }

    /// The client refused a message for lack of room (queue full) and the publisher had to wait.
    pub(crate) fn waited(&mut self) {
        self.waits += 1;
    }

    /// Every message is acknowledged (QoS 1 and 2) or handed to the client (QoS 0).
    pub(crate) fn acked(&mut self) {
        self.acked_ns = Some(sys::mono_ns());
    }

    /// Disconnected: the measured part ends.
    pub(crate) fn done(&mut self) {
        self.end = Some(Mark::now());
    }

    fn report(&self, out: &mut Output) {
        out.put("sent", self.sent);
        out.put("waits", self.waits);
        out.put("rss_connected", self.rss_connected);
        out.put("max_rss_quarter", self.max_rss_quarter);
        if let Some(at) = self.acked_ns {
            out.put("acked_ns", at);
        }
        report_span(out, self.start, self.end);
    }
}

/// The subscriber's meter: counts every message by sequence number (duplicates and losses are reported, never
/// hidden), and owns the stop signal from the parent.
#[derive(Debug)]
pub(crate) struct SubMeter {
    expected: u64,
    seen: Vec<u64>,
    distinct: u64,
    duplicates: u64,
    reordered: u64,
    foreign: u64,
    last_seq: Option<u64>,
    first_ns: u64,
    last_ns: u64,
    start: Option<Mark>,
    end: Option<Mark>,
    stop: Option<oneshot::Receiver<()>>,
    stopped: Arc<AtomicBool>,
}

impl SubMeter {
    fn new(job: &Job) -> Self {
        let (tx, rx) = oneshot::channel();
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = stopped.clone();
        // The parent closes stdin to stop the subscriber: read until EOF, then signal.
        std::thread::spawn(move || {
            let mut sink = [0u8; 64];
            let mut stdin = io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            flag.store(true, Ordering::SeqCst);
            let _ = tx.send(());
        });
        let words = usize::try_from(job.count.div_ceil(64)).unwrap_or(0);
        Self {
            seen: vec![0; words],
            stop: Some(rx),
            ..Self::empty(job.count, stopped)
        }
    }

    /// A meter that has seen nothing, with no table of sequence numbers and no stop signal of its own.
    fn empty(expected: u64, stopped: Arc<AtomicBool>) -> Self {
        Self {
            expected,
            seen: Vec::new(),
            distinct: 0,
            duplicates: 0,
            reordered: 0,
            foreign: 0,
            last_seq: None,
            first_ns: 0,
            last_ns: 0,
            start: None,
            end: None,
            stop: None,
            stopped,
        }
    }

    /// Subscribed: tells the parent (which then starts the publisher), and the measured part starts.
    pub(crate) fn ready(&mut self) {
        self.start = Some(Mark::now());
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(b"READY\n");
        let _ = stdout.flush();
    }

    /// The stop signal, as a future (resolves when the parent closes stdin). Take it once.
    pub(crate) fn take_stop(&mut self) -> oneshot::Receiver<()> {
        self.stop.take().expect("the stop signal is taken once")
    }

    /// Whether the parent asked to stop (for backends that poll instead of awaiting [`take_stop`]).
    pub(crate) fn stop_requested(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// A message arrived; `true` once every expected message has arrived at least once.
    pub(crate) fn received(&mut self, payload: &[u8]) -> bool {
        let now = sys::mono_ns();
        if self.first_ns == 0 {
            self.first_ns = now;
        }
        self.last_ns = now;
        let Some((seq, _)) = workload::read_header(payload).filter(|&(seq, _)| seq < self.expected)
        else {
            self.foreign += 1;
            return false;
        };
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.seen[word] & bit != 0 {
            self.duplicates += 1;
        } else {
            self.seen[word] |= bit;
            self.distinct += 1;
        }
        if self.last_seq.is_some_and(|last| seq < last) {
            self.reordered += 1;
        }
        self.last_seq = Some(seq);
        self.distinct == self.expected
    }

    /// Done receiving: the measured part ends.
    pub(crate) fn done(&mut self) {
        self.end = Some(Mark::now());
    }

    /// Moves the meter out (for a callback that must own it), leaving an empty one; put it back when done.
    pub(crate) fn take(&mut self) -> Self {
        let empty = Self::empty(self.expected, self.stopped.clone());
        std::mem::replace(self, empty)
    }

    fn report(&self, out: &mut Output) {
        out.put("distinct", self.distinct);
        out.put("duplicates", self.duplicates);
        out.put("reordered", self.reordered);
        out.put("foreign", self.foreign);
        out.put("first_ns", self.first_ns);
        out.put("last_ns", self.last_ns);
        report_span(out, self.start, self.end);
    }
}

/// The ping-pong meter: stamps each payload, and times it when it comes back.
#[derive(Debug)]
pub(crate) struct PingMeter {
    size: usize,
    warmup: u64,
    total: u64,
    rtts: Vec<u64>,
    start: Option<Mark>,
    end: Option<Mark>,
}

impl PingMeter {
    fn new(job: &Job) -> Self {
        Self {
            size: job.size,
            warmup: job.warmup,
            total: job.warmup + job.count,
            rtts: Vec::with_capacity(usize::try_from(job.count).unwrap_or(0)),
            start: None,
            end: None,
        }
    }

    /// Round trips to make, warm-up included.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The payload of round trip `seq`, stamped now. The timed part starts with the first round trip after
    /// the warm-up.
    pub(crate) fn payload(&mut self, seq: u64) -> Vec<u8> {
        if seq == self.warmup {
            self.start = Some(Mark::now());
        }
        workload::payload(seq, self.size)
    }

    /// A message came back: its sequence number (its round trip is timed unless it is a warm-up one).
    pub(crate) fn received(&mut self, payload: &[u8]) -> Option<u64> {
        let now = sys::mono_ns();
        let (seq, sent) = workload::read_header(payload)?;
        if seq >= self.warmup {
            self.rtts.push(now.saturating_sub(sent));
        }
        if seq + 1 == self.total {
            self.end = Some(Mark::now());
        }
        Some(seq)
    }

    fn report(&self, out: &mut Output) {
        let mut rtts = self.rtts.clone();
        rtts.sort_unstable();
        out.put("round_trips", rtts.len());
        if !rtts.is_empty() {
            out.put("p50_ns", crate::stats::percentile(&rtts, 50.0));
            out.put("p99_ns", crate::stats::percentile(&rtts, 99.0));
            out.put("max_ns", rtts[rtts.len() - 1]);
        }
        report_span(out, self.start, self.end);
    }
}

/// The idle-connections meter: RSS, open file descriptors and threads after the first connection, then at each
/// mark.
#[derive(Debug)]
pub(crate) struct IdleMeter {
    baseline: Footprint,
    marks: Vec<(u64, Footprint)>,
}

/// What the process holds at one point: resident memory, open file descriptors, threads.
#[derive(Debug, Clone, Copy, Default)]
struct Footprint {
    rss: u64,
    fds: u64,
    threads: u64,
}

impl Footprint {
    fn now() -> Self {
        Self {
            rss: sys::rss(),
            fds: sys::open_fds(),
            threads: sys::threads(),
        }
    }
}

impl IdleMeter {
    fn new() -> Self {
        Self {
            baseline: Footprint::default(),
            marks: Vec::new(),
        }
    }

    /// One connection is open (the runtime and the client code are warm): the baseline.
    pub(crate) fn baseline(&mut self) {
        self.baseline = Footprint::now();
    }

    /// `connections` connections are open and settled.
    pub(crate) fn mark(&mut self, connections: u64) {
        self.marks.push((connections, Footprint::now()));
    }

    fn report(&self, out: &mut Output) {
        out.put("rss_baseline", self.baseline.rss);
        out.put("fds_baseline", self.baseline.fds);
        out.put("threads_baseline", self.baseline.threads);
        for &(connections, at) in &self.marks {
            out.put(&format!("rss_at_{connections}"), at.rss);
            out.put(&format!("fds_at_{connections}"), at.fds);
            out.put(&format!("threads_at_{connections}"), at.threads);
        }
        out.put("max_rss", sys::usage().max_rss);
    }
}

/// How often the slow consumer's RSS is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The slow consumer's meter: a [`SubMeter`] (it derefs to one) that counts the messages once the consumer reads,
/// the idle phase (from [`ready`](Self::ready), `job.hold` long), and a thread that samples the RSS (`VmRSS`)
/// every [`SAMPLE_EVERY`] from then on.
#[derive(Debug)]
pub(crate) struct SlowMeter {
    sub: SubMeter,
    hold: Duration,
    /// When the idle phase ends (set by `ready`).
    hold_until: Option<Instant>,
    ready_ns: u64,
    rss_ready: u64,
    /// `(CLOCK_MONOTONIC ns, VmRSS bytes)`, every [`SAMPLE_EVERY`] from `ready` on.
    samples: Arc<Mutex<Vec<(u64, u64)>>>,
    sampling: Arc<AtomicBool>,
}

impl SlowMeter {
    fn new(job: &Job) -> Self {
        Self {
            sub: SubMeter::new(job),
            hold: job.hold,
            hold_until: None,
            ready_ns: 0,
            rss_ready: 0,
            samples: Arc::new(Mutex::new(Vec::new())),
            sampling: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Subscribed: the RSS sampling and the idle phase start, and the parent is told (it starts the publisher).
    pub(crate) fn ready(&mut self) {
        let (samples, sampling) = (self.samples.clone(), self.sampling.clone());
        sampling.store(true, Ordering::SeqCst);
        std::thread::spawn(move || {
            let mut next = Instant::now();
            while sampling.load(Ordering::SeqCst) {
                let sample = (sys::mono_ns(), sys::rss());
                samples
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(sample);
                next += SAMPLE_EVERY;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        self.rss_ready = sys::rss();
        self.ready_ns = sys::mono_ns();
        self.hold_until = Some(Instant::now() + self.hold);
        self.sub.ready();
    }

    /// What is left of the idle phase (zero before `ready` and once it is over): the consumer takes nothing
    /// until then.
    pub(crate) fn hold_left(&self) -> Duration {
        self.hold_until.map_or(Duration::ZERO, |until| {
            until.saturating_duration_since(Instant::now())
        })
    }

    fn report(&self, out: &mut Output) {
        self.sampling.store(false, Ordering::SeqCst);
        self.sub.report(out);
        let hold_ns = u64::try_from(self.hold.as_nanos()).unwrap_or(u64::MAX);
        out.put("ready_ns", self.ready_ns);
        out.put("hold_ns", hold_ns);
        out.put("rss_ready", self.rss_ready);
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let idle: Vec<u64> = samples
            .iter()
            .filter(|&&(at, _)| at.saturating_sub(self.ready_ns) <= hold_ns)
            .map(|&(_, rss)| rss)
            .collect();
        if let Some(max) = idle.iter().max() {
            out.put("rss_idle_max", max);
        }
        if let Some(last) = idle.last() {
            out.put("rss_idle_end", last);
        }
        for (i, &(at, rss)) in samples.iter().enumerate() {
            out.put(
                &format!("sample_ms_{i}"),
                at.saturating_sub(self.ready_ns) / 1_000_000,
            );
            out.put(&format!("sample_rss_{i}"), rss);
        }
    }
}

impl std::ops::Deref for SlowMeter {
    type Target = SubMeter;

    fn deref(&self) -> &SubMeter {
        &self.sub
    }
}

impl std::ops::DerefMut for SlowMeter {
    fn deref_mut(&mut self) -> &mut SubMeter {
        &mut self.sub
    }
}
