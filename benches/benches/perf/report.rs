//! The report: `report.md` (goals, tables with median, min and max of the runs and the ratio to rumqttc, message
//! accounting, problems, method, machine) and one SVG chart per table, in the `--out` folder.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backends::PEER;
use crate::cli::{Mode, Section, Settings, workspace_root};
use crate::orchestrate::{
    IDLE_MARKS, Kind, Measure, Results, RunInfo, SIZE, SWEEP, SWEEP_QOS, persist_id,
};
use crate::stats::Summary;
use crate::svg::Chart;
use crate::workload::Durability;

mod method;
use method::{git_state, machine_cores, utc};
mod scale;
mod sections;

/// `Options::queue_bytes` of our clients (their default): what bounds a publisher's memory for large payloads.
const OUR_QUEUE_BYTES: f64 = 4.0 * 1024.0 * 1024.0;

const MIB: f64 = 1024.0 * 1024.0;

/// Writes `report.md` and the charts into `settings.out`; returns the report's path.
pub(crate) fn write(
    settings: &Settings,
    plan: &[Measure],
    results: &Results,
    info: &RunInfo,
) -> io::Result<PathBuf> {
    let names: Vec<&str> = settings.backends.iter().map(|b| b.name()).collect();
    let ours: Vec<&str> = names.iter().copied().filter(|&n| n != PEER).collect();
    let r = Reporter {
        results,
        names: &names,
        ours: &ours,
        out: &settings.out,
    };
    let has = |section: Section| plan.iter().any(|m| m.section == section);
    let mut md = String::new();
    r.header(&mut md, settings, info);
    r.goals(&mut md);
    if has(Section::Broker) {
        r.broker(&mut md)?;
    }
    if has(Section::Sink) {
        r.sink(&mut md)?;
    }
    if has(Section::Latency) {
        r.latency(&mut md)?;
    }
    if has(Section::Sweep) {
        r.sweep(&mut md)?;
    }
    if has(Section::Idle) {
        r.idle(&mut md)?;
    }
    if has(Section::Persist) {
        r.persist(&mut md)?;
    }
    if settings.sections.contains(&Section::Failover)
        || settings.sections.contains(&Section::Shared)
    {
        r.scale(&mut md, settings);
    }
    r.accounting(&mut md, plan);
    r.problems(&mut md, info);
    r.method(&mut md, settings, plan, info);
    let path = settings.out.join("report.md");
    std::fs::write(&path, md)?;
    Ok(path)
}

struct Reporter<'a> {
    results: &'a Results,
    names: &'a [&'a str],
    ours: &'a [&'a str],
    out: &'a Path,
}

/// How a figure reads.
#[derive(Clone, Copy)]
enum Unit {
    /// Messages per second.
    Rate,
    /// Microseconds.
    Micros,
    /// MB/s (10^6 bytes).
    MegaBytes,
    /// Bytes, shown in MiB.
    Mib,
    /// KiB.
    Kib,
    /// Milliseconds.
    Millis,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Self::Rate => thousands(value),
            Self::Millis if value < 10.0 => format!("{value:.1} ms"),
            Self::Millis => format!("{value:.0} ms"),
            Self::Micros => {
                if value >= 100.0 {
                    format!("{value:.0}")
                } else if value >= 10.0 {
                    format!("{value:.1}")
                } else {
                    format!("{value:.2}")
                }
            }
            Self::MegaBytes => {
                if value >= 100.0 {
                    format!("{value:.0}")
                } else {
                    format!("{value:.1}")
                }
            }
            Self::Mib => format!("{:.1}", value / MIB),
            Self::Kib => format!("{value:.1}"),
        }
    }
}

/// `152340.7` as `152,341`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

fn cell(summary: Option<Summary>, unit: Unit) -> String {
    match summary {
        None => "n/a".to_owned(),
        Some(s) if s.runs == 1 => unit.format(s.median),
        Some(s) => format!(
            "{} ({} – {})",
            unit.format(s.median),
            unit.format(s.min),
            unit.format(s.max)
        ),
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "**met**" } else { "not met" }
}

/// A chart's file, title, axis, scale (logarithmic or not) and the factor applied to its values.
struct Spec<'a> {
    file: &'a str,
    title: &'a str,
    axis: &'a str,
    log: bool,
    scale: f64,
}

/// One row of a figure table: its label, the measure and the metric.
struct Row<'a> {
    label: String,
    id: &'a str,
    metric: &'a str,
}

impl Reporter<'_> {
    fn get(&self, id: &str, backend: &str, metric: &str) -> Option<Summary> {
        self.results.get(id, backend, metric)
    }

    /// `backend`'s median over the peer's, both from this run.
    fn ratio(&self, id: &str, backend: &str, metric: &str) -> Option<f64> {
        let ours = self.get(id, backend, metric)?;
        let peer = self.get(id, PEER, metric)?;
        (peer.median > 0.0).then(|| ours.median / peer.median)
    }

    /// A table of figures: one column per backend (median, min – max), then one ratio column per backend of ours.
    fn table(&self, md: &mut String, first: &str, rows: &[Row<'_>], unit: Unit) {
        let mut head = format!("| {first} |");
        let mut rule = String::from("| --- |");
        for name in self.names {
            let _ = write!(head, " {name} |");
            rule.push_str(" --: |");
        }
        if self.names.contains(&PEER) {
            for name in self.ours {
                let _ = write!(head, " {name} / {PEER} |");
                rule.push_str(" --: |");
            }
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for row in rows {
            let mut line = format!("| {} |", row.label);
            for name in self.names {
                let _ = write!(
                    line,
                    " {} |",
                    cell(self.get(row.id, name, row.metric), unit)
                );
            }
            if self.names.contains(&PEER) {
                for name in self.ours {
                    let ratio = self
                        .ratio(row.id, name, row.metric)
                        .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"));
                    let _ = write!(line, " {ratio} |");
                }
            }
            let _ = writeln!(md, "{line}");
        }
        md.push('\n');
    }

    /// Writes a chart of `rows` and links it.
    fn chart(&self, md: &mut String, spec: &Spec<'_>, rows: &[Row<'_>]) -> io::Result<()> {
        let Spec {
            file,
            title,
            axis,
            log,
            scale,
        } = *spec;
        let series = self
            .names
            .iter()
            .map(|&name| {
                let values = rows
                    .iter()
                    .map(|row| {
                        self.get(row.id, name, row.metric).map(|s| Summary {
                            median: s.median * scale,
                            min: s.min * scale,
                            max: s.max * scale,
                            runs: s.runs,
                        })
                    })
                    .collect();
                (name.to_owned(), values)
            })
            .collect();
        let chart = Chart {
            title,
            axis,
            groups: rows.iter().map(|row| row.label.clone()).collect(),
            series,
            log,
        };
        std::fs::write(self.out.join(file), chart.render())?;
        let _ = writeln!(md, "![{title}]({file})\n");
        Ok(())
    }

    fn header(&self, md: &mut String, settings: &Settings, info: &RunInfo) {
        let _ = writeln!(md, "# End-to-end client benchmarks\n");
        let _ = writeln!(
            md,
            "Every backend against rumqttc 0.25 in the same run: through a mosquitto the harness starts on \
             loopback, and against an acking sink (a minimal server on mqtt-core's codec that acknowledges \
             everything, so that the clients' own ceiling shows). Each figure is the median of the runs, with the \
             minimum and maximum in brackets; a ratio is our median over rumqttc's median from the same run. \
             How everything is measured is at the end.\n"
        );
        let mode = match settings.mode {
            Mode::Full => "full run",
            Mode::Quick => "quick run",
        };
        let _ = writeln!(
            md,
            "- **Run:** {} UTC, {mode}, {:.0} s; `cargo bench -p benches --bench perf -- {}`",
            utc(info.started_unix),
            info.duration.as_secs_f64(),
            settings.command
        );
        let _ = writeln!(md, "- **Code:** {}", git_state());
        let _ = writeln!(
            md,
            "- **Load average (1 / 5 / 15 min):** {} before, {} after. The machine has {} and was shared \
             with other work (builds) during the run unless this says otherwise: take differences under about 10 % \
             as noise.\n",
            info.load_before,
            info.load_after,
            machine_cores()
        );
    }

    fn goals(&self, md: &mut String) {
        let _ = writeln!(md, "## Goals\n");
        let _ = writeln!(
            md,
            "From the benchmark issue; each cell is the measured ratio (or figure) and whether it meets the target. \
             \"CPU per message\" is the publisher's plus the subscriber's CPU time per message through mosquitto.\n"
        );
        let mut head = String::from("| goal | target |");
        let mut rule = String::from("| --- | --- |");
        for name in self.ours {
            let _ = write!(head, " {name} |");
            rule.push_str(" --- |");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        let ratio_row = |md: &mut String,
                         goal: &str,
                         target: &str,
                         id: &str,
                         metric: &str,
                         ok: &dyn Fn(f64) -> bool| {
            let mut line = format!("| {goal} | {target} |");
            for name in self.ours {
                let text = match self.ratio(id, name, metric) {
                    Some(r) => format!("{r:.2} {}", verdict(ok(r))),
                    None => "n/a".to_owned(),
                };
                let _ = write!(line, " {text} |");
            }
            let _ = writeln!(md, "{line}");
        };
        for qos in 0..3 {
            ratio_row(
                md,
                &format!("client CPU per message, QoS {qos}"),
                "≤ 0.5 × rumqttc",
                &format!("broker-q{qos}"),
                "cpu_total_us",
                &|r| r <= 0.5,
            );
        }
        for (qos, min) in [(0, 1.0), (1, 1.3), (2, 1.3)] {
            ratio_row(
                md,
                &format!("throughput through mosquitto, QoS {qos}"),
                &format!("≥ {min:.1} × rumqttc"),
                &format!("broker-q{qos}"),
                "msg_per_s",
                &move |r| r >= min,
            );
        }
        for qos in 0..3 {
            ratio_row(
                md,
                &format!("round-trip latency p50 through mosquitto, QoS {qos}"),
                "≤ 0.8 × rumqttc",
                &format!("latency-broker-q{qos}"),
                "p50_us",
                &|r| r <= 0.8,
            );
        }
        for qos in 0..2 {
            ratio_row(
                md,
                &format!("throughput against the acking sink, QoS {qos}"),
                "≥ 2 × rumqttc",
                &format!("sink-q{qos}"),
                "msg_per_s",
                &|r| r >= 2.0,
            );
        }
        // 1 MiB payloads: the publisher's memory is bounded by its queue, not by the number of messages.
        let big = SWEEP[SWEEP.len() - 1];
        let id = format!("sweep-{big}");
        let bound = OUR_QUEUE_BYTES + 4.0 * big as f64;
        let mut line = format!(
            "| 1 MiB payloads (QoS {SWEEP_QOS}): publisher peak RSS bounded by `queue_bytes`, not by the message count | \
             growth ≤ queue_bytes ({:.0} MiB) + 4 payloads, and no growth from ¼ to all of the messages |",
            OUR_QUEUE_BYTES / MIB
        );
        for name in self.ours {
            let growth = self.get(&id, name, "rss_pub_growth");
            let peak = self.get(&id, name, "rss_pub");
            let quarter = self.get(&id, name, "rss_pub_quarter");
            let text = match (growth, peak, quarter) {
                (Some(growth), Some(peak), Some(quarter)) => {
                    let rise = (peak.median - quarter.median).max(0.0);
                    let met = growth.median <= bound && rise <= big as f64;
                    format!(
                        "+{:.1} MiB, +{:.1} MiB after ¼ {}",
                        growth.median / MIB,
                        rise / MIB,
                        verdict(met)
                    )
                }
                _ => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
        // smol (and every other binding) within 10 % of tokio.
        let mut line = String::from(
            "| within 10 % of mqtt-tokio (throughput through mosquitto and against the sink, latency p50) | \
             worst ratio ≥ 0.90 (≤ 1.10 for latency) |",
        );
        for &name in self.ours {
            if name == "mqtt-tokio" {
                line.push_str(" (reference) |");
                continue;
            }
            let mut worst: Option<(f64, String)> = None;
            for qos in 0..3 {
                for (id, metric, label) in [
                    (
                        format!("broker-q{qos}"),
                        "msg_per_s",
                        format!("mosquitto QoS {qos}"),
                    ),
                    (
                        format!("sink-q{qos}"),
                        "msg_per_s",
                        format!("sink QoS {qos}"),
                    ),
                    (
                        format!("latency-broker-q{qos}"),
                        "p50_us",
                        format!("p50 QoS {qos}"),
                    ),
                ] {
                    let (Some(theirs), Some(tokio)) = (
                        self.get(&id, name, metric),
                        self.get(&id, "mqtt-tokio", metric),
                    ) else {
                        continue;
                    };
                    // As a "goodness" ratio: higher is better for both kinds of figure.
                    let goodness = if metric == "p50_us" {
                        tokio.median / theirs.median
                    } else {
                        theirs.median / tokio.median
                    };
                    if worst.as_ref().is_none_or(|(w, _)| goodness < *w) {
                        worst = Some((goodness, label));
                    }
                }
            }
            let text = match worst {
                Some((goodness, label)) => {
                    format!("worst {goodness:.2} ({label}) {}", verdict(goodness >= 0.9))
                }
                None => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
        // The file store with batched durability keeps half the memory store's throughput at least.
        let mut line = String::from(
            "| file store, batched durability: throughput at QoS 1 through mosquitto | ≥ 0.5 × the memory store |",
        );
        for &name in self.ours {
            let text = match self.persist_ratio(name, Durability::Batched) {
                Some(r) => format!("{r:.2} {}", verdict(r >= 0.5)),
                None => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}\n");
        let _ = writeln!(
            md,
            "For latency the \"within 10 %\" ratio is inverted (tokio's p50 over the other's) so that, as for \
             throughput, below 1 means slower than tokio.\n"
        );
    }
}
