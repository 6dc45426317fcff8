//! The slow consumer: a subscriber that takes nothing for a while (60 s in a full run) while a publisher of the
//! same backend floods QoS 1 messages through mosquitto, its RSS sampled throughout; then it takes everything,
//! and every message must arrive once.

use std::time::Duration;

use super::{Context, KILL_GRACE, Kind, Measure, Results, Via, note_losses};
use crate::backends::Backend;
use crate::cli::{Mode, Section, Settings};
use crate::proc::{ChildProc, Report};
use crate::workload::{Job, Role};

/// Payload bytes of the slow consumer's flood.
pub(crate) const SLOW_SIZE: usize = 1024;

/// The slow consumer's idle phase and flood: `(hold, messages)` of a full run and of a quick one.
const SLOW_FULL: (Duration, u64) = (Duration::from_secs(60), 200_000);
const SLOW_QUICK: (Duration, u64) = (Duration::from_secs(10), 50_000);

/// What a slow consumer may take to read everything after its idle phase, beyond the idle phase itself.
const SLOW_DRAIN: Duration = Duration::from_secs(90);

/// The slow consumer's measure, if the run has its section.
pub(super) fn measure(settings: &Settings) -> Option<Measure> {
    let (hold, count) = if settings.mode == Mode::Full {
        SLOW_FULL
    } else {
        SLOW_QUICK
    };
    settings.sections.contains(&Section::Slow).then(|| Measure {
        id: "slow".to_owned(),
        section: Section::Slow,
        kind: Kind::Slow {
            size: SLOW_SIZE,
            count,
            hold,
        },
        runs: settings.runs.unwrap_or(1),
        deadline: hold + SLOW_DRAIN,
    })
}

/// The time the slow consumer's runs add to the budget: each is mostly its idle phase, which `--quick` does not
/// shorten much.
pub(super) fn budget(plan: &[Measure], backends: usize) -> Duration {
    plan.iter()
        .filter_map(|m| match m.kind {
            Kind::Slow { hold, .. } => Some(
                (hold + Duration::from_secs(30)) * u32::try_from(m.runs * backends).unwrap_or(1),
            ),
            _ => None,
        })
        .sum()
}

/// One run: the slow subscriber first (its idle phase starts once it has subscribed), then the publisher's flood.
pub(super) fn run(
    cx: &Context<'_>,
    measure: &Measure,
    backend: &dyn Backend,
    results: &mut Results,
    (size, count, hold): (usize, u64, Duration),
) -> Result<String, String> {
    let (id, name) = (measure.id.as_str(), backend.name());
    let base = cx.job(Role::Slow, Via::Mosquitto, backend, measure);
    let sub_job = Job {
        qos: 1,
        size,
        count,
        hold,
        ..base.clone()
    };
    let mut subscriber = ChildProc::spawn(backend, &sub_job)?;
    subscriber.wait_ready(Duration::from_secs(20))?;
    let pub_job = Job {
        role: Role::Pub,
        client_id: base.client_id.replace("-slow-", "-pub-"),
        hold: Duration::ZERO,
        ..sub_job
    };
    let publisher = ChildProc::spawn(backend, &pub_job)?.finish(measure.deadline + KILL_GRACE);
    let subscriber = subscriber.finish_or_stop(measure.deadline, KILL_GRACE);
    let publisher = publisher?;
    let subscriber = subscriber?;
    note_losses(results, id, name, "publisher", &publisher);
    note_losses(results, id, name, "subscriber", &subscriber);
    record(id, name, count, hold, &publisher, &subscriber, results)
}

/// Records a slow consumer's run: its RSS over the idle phase and after, and whether every message arrived once.
fn record(
    id: &str,
    name: &str,
    count: u64,
    hold: Duration,
    publisher: &Report,
    subscriber: &Report,
    results: &mut Results,
) -> Result<String, String> {
    let distinct = subscriber.get("distinct").unwrap_or(0.0) as u64;
    let duplicates = subscriber.get("duplicates").unwrap_or(0.0) as u64;
    let lost = count.saturating_sub(distinct);
    {
        let counts = results.counts(id, name);
        counts.expected += count;
        counts.lost += lost;
        counts.duplicated += duplicates;
        counts.reordered += subscriber.get("reordered").unwrap_or(0.0) as u64;
        counts.waits += publisher.get("waits").unwrap_or(0.0) as u64;
    }
    // The RSS figures stand even if the run failed later: they are what this section is about.
    let ready = subscriber.need("rss_ready")?;
    let idle_max = subscriber.need("rss_idle_max")?;
    results.add(id, name, "rss_ready", ready);
    results.add(id, name, "rss_idle_max", idle_max);
    results.add(id, name, "rss_idle_growth", (idle_max - ready).max(0.0));
    if let Some(end) = subscriber.get("rss_idle_end") {
        results.add(id, name, "rss_idle_end", end);
    }
    if let Some(peak) = subscriber.get("max_rss") {
        results.add(id, name, "rss_peak", peak);
    }
    results.add(id, name, "lost", lost as f64);
    results.add(id, name, "duplicates", duplicates as f64);
    if let std::collections::btree_map::Entry::Vacant(entry) =
        results.series.entry((id.to_owned(), name.to_owned()))
    {
        let points: Vec<(f64, f64)> = (0..)
            .map_while(|i| {
                let ms = subscriber.get(&format!("sample_ms_{i}"))?;
                let rss = subscriber.get(&format!("sample_rss_{i}"))?;
                Some((ms / 1000.0, rss))
            })
            .collect();
        if !points.is_empty() {
            entry.insert(points);
        }
    }
    if let (Ok(start), Ok(acked)) = (publisher.need("start_ns"), publisher.need("acked_ns")) {
        results.add(
            id,
            name,
            "pub_msg_per_s",
            count as f64 / ((acked - start) / 1e9),
        );
    }
    // From the end of the idle phase to the last message.
    if let (Ok(ready_ns), Ok(last_ns)) = (subscriber.need("ready_ns"), subscriber.need("last_ns"))
        && distinct == count
    {
        let drain = (last_ns - ready_ns) / 1e9 - hold.as_secs_f64();
        results.add(id, name, "drain_s", drain.max(0.0));
    }
    if let Some(error) = publisher.error.as_ref().or(subscriber.error.as_ref()) {
        return Err(error.clone());
    }
    let summary = format!(
        "RSS {:.1} MiB at ready, +{:.1} MiB over the idle phase, {distinct} of {count} arrived, {duplicates} \
         duplicated",
        ready / MIB,
        (idle_max - ready).max(0.0) / MIB
    );
    if lost > 0 || duplicates > 0 {
        return Err(format!("{summary}: LOST {lost}, DUPLICATED {duplicates}"));
    }
    Ok(summary)
}

const MIB: f64 = 1024.0 * 1024.0;
