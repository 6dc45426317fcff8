//! The report: `report.md` (goals, tables with median, min and max of the runs and the ratio to rumqttc, message
//! accounting, problems, method, machine) and one SVG chart per table, in the `--out` folder.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backends::PEER;
use crate::backends::floor::NAME as FLOOR;
use crate::cli::{Mode, Section, Settings, workspace_root};
use crate::orchestrate::{
    IDLE_MARKS, Kind, Measure, Results, RunInfo, SIZE, SWEEP, SWEEP_QOS, persist_id,
};
use crate::stats::Summary;
use crate::svg::Chart;
use crate::workload::Durability;

mod goals;
mod method;
use method::{git_state, machine_cores, utc};
mod scale;
mod sections;
mod slow;

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
    if has(Section::Slow) {
        r.slow(&mut md, plan)?;
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
    /// A count per something (descriptors, threads), two decimals.
    Count,
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
            Self::Count => format!("{value:.2}"),
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
}
