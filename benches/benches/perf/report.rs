//! The report: `report.md` (goals, tables with median, min and max of the runs and the ratio to rumqttc, message
//! accounting, problems, method, machine) and one SVG chart per table, in the `--out` folder.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backends::PEER;
use crate::cli::{Mode, Section, Settings, workspace_root};
use crate::orchestrate::{IDLE_MARKS, Kind, Measure, Results, RunInfo, SIZE, SWEEP, SWEEP_QOS};
use crate::stats::Summary;
use crate::svg::Chart;

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
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Self::Rate => thousands(value),
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
        let _ = writeln!(md, "{line}\n");
        let _ = writeln!(
            md,
            "For latency the \"within 10 %\" ratio is inverted (tokio's p50 over the other's) so that, as for \
             throughput, below 1 means slower than tokio.\n"
        );
    }

    fn broker(&self, md: &mut String) -> io::Result<()> {
        let _ = writeln!(md, "## Throughput through mosquitto ({SIZE} B payloads)\n");
        let _ = writeln!(
            md,
            "Messages per second from the publisher's first PUBLISH to the subscriber's last message, one \
             publisher and one subscriber client (separate processes) of the same backend; every message is counted \
             at the subscriber by its sequence number (see the message accounting below).\n"
        );
        let rows: Vec<Row<'_>> = ["broker-q0", "broker-q1", "broker-q2"]
            .iter()
            .enumerate()
            .map(|(qos, id)| Row {
                label: format!("QoS {qos}"),
                id,
                metric: "msg_per_s",
            })
            .collect();
        self.table(md, "msg/s", &rows, Unit::Rate);
        self.chart(
            md,
            &Spec {
                file: "throughput-mosquitto.svg",
                title: "Throughput through mosquitto, 64 B payloads",
                axis: "messages per second",
                log: false,
                scale: 1.0,
            },
            &rows,
        )?;
        let _ = writeln!(md, "### Client CPU time per message\n");
        let _ = writeln!(
            md,
            "CPU time (user + system, `getrusage`) of the client processes from connected to done, per message, \
             in microseconds: publisher, subscriber, and both together.\n"
        );
        let mut rows = Vec::new();
        for (qos, id) in ["broker-q0", "broker-q1", "broker-q2"].iter().enumerate() {
            for (metric, what) in [
                ("cpu_pub_us", "publisher"),
                ("cpu_sub_us", "subscriber"),
                ("cpu_total_us", "**both**"),
            ] {
                rows.push(Row {
                    label: format!("QoS {qos} {what}"),
                    id,
                    metric,
                });
            }
        }
        self.table(md, "µs per message", &rows, Unit::Micros);
        let both: Vec<Row<'_>> = rows
            .into_iter()
            .filter(|row| row.metric == "cpu_total_us")
            .map(|row| Row {
                label: row.label.replace(" **both**", ""),
                ..row
            })
            .collect();
        self.chart(
            md,
            &Spec {
                file: "cpu-per-message.svg",
                title: "Client CPU per message through mosquitto (publisher + subscriber)",
                axis: "µs per message",
                log: false,
                scale: 1.0,
            },
            &both,
        )
    }

    fn sink(&self, md: &mut String) -> io::Result<()> {
        let _ = writeln!(
            md,
            "## Throughput against the acking sink ({SIZE} B payloads)\n"
        );
        let _ = writeln!(
            md,
            "One publisher client; messages per second from its first PUBLISH until every message is acknowledged \
             (QoS 1 and 2) or has reached the sink (QoS 0). The sink answers from its own threads, so this is \
             the client's ceiling. Publisher CPU per message below.\n"
        );
        let rows: Vec<Row<'_>> = ["sink-q0", "sink-q1", "sink-q2"]
            .iter()
            .enumerate()
            .map(|(qos, id)| Row {
                label: format!("QoS {qos}"),
                id,
                metric: "msg_per_s",
            })
            .collect();
        self.table(md, "msg/s", &rows, Unit::Rate);
        self.chart(
            md,
            &Spec {
                file: "throughput-sink.svg",
                title: "Throughput against the acking sink, 64 B payloads",
                axis: "messages per second",
                log: false,
                scale: 1.0,
            },
            &rows,
        )?;
        let cpu: Vec<Row<'_>> = rows
            .iter()
            .map(|row| Row {
                label: row.label.clone(),
                id: row.id,
                metric: "cpu_pub_us",
            })
            .collect();
        self.table(md, "publisher µs CPU per message", &cpu, Unit::Micros);
        Ok(())
    }

    fn latency(&self, md: &mut String) -> io::Result<()> {
        let _ = writeln!(md, "## Round-trip latency\n");
        let _ = writeln!(
            md,
            "Ping-pong on one client subscribed to its own topic: publish a {SIZE} B message, wait until it comes \
             back, publish the next. Microseconds from before `publish` to the message's arrival in the \
             application; percentiles over the timed round trips of each run (after a warm-up), then median, \
             minimum and maximum of those over the runs. Against the sink the message is echoed at QoS 0.\n"
        );
        let ids = [
            ("mosquitto QoS 0", "latency-broker-q0"),
            ("mosquitto QoS 1", "latency-broker-q1"),
            ("mosquitto QoS 2", "latency-broker-q2"),
            ("sink QoS 0", "latency-sink-q0"),
        ];
        let mut rows = Vec::new();
        for (label, id) in ids {
            for metric in ["p50_us", "p99_us", "max_us"] {
                rows.push(Row {
                    label: format!("{label} {}", metric.trim_end_matches("_us")),
                    id,
                    metric,
                });
            }
        }
        self.table(md, "µs", &rows, Unit::Micros);
        let p50: Vec<Row<'_>> = ids
            .iter()
            .map(|&(label, id)| Row {
                label: label.to_owned(),
                id,
                metric: "p50_us",
            })
            .collect();
        self.chart(
            md,
            &Spec {
                file: "latency-p50.svg",
                title: "Round-trip latency p50",
                axis: "µs",
                log: false,
                scale: 1.0,
            },
            &p50,
        )?;
        let p99: Vec<Row<'_>> = ids
            .iter()
            .map(|&(label, id)| Row {
                label: label.to_owned(),
                id,
                metric: "p99_us",
            })
            .collect();
        self.chart(
            md,
            &Spec {
                file: "latency-p99.svg",
                title: "Round-trip latency p99",
                axis: "µs",
                log: false,
                scale: 1.0,
            },
            &p99,
        )
    }

    fn sweep(&self, md: &mut String) -> io::Result<()> {
        let _ = writeln!(
            md,
            "## Payload sweep (QoS {SWEEP_QOS}, through mosquitto)\n"
        );
        let _ = writeln!(
            md,
            "Payload megabytes (10^6 bytes) per second, publisher to subscriber, and the peak RSS of each client \
             process (`VmHWM` of `/proc/self/status`, MiB). Our clients keep at most `queue_bytes` ({:.0} MiB, the default; \
             mqtt-embedded a store of that size) of outgoing messages; rumqttc keeps up to its inflight window ({}) of messages plus its request channel \
             ({}).\n",
            OUR_QUEUE_BYTES / MIB,
            crate::backends::INFLIGHT,
            crate::backends::INFLIGHT
        );
        let label = |size: usize| match size {
            s if s >= 1024 * 1024 => format!("{} MiB", s / (1024 * 1024)),
            s if s >= 1024 => format!("{} KiB", s / 1024),
            s => format!("{s} B"),
        };
        let ids: Vec<(String, String)> = SWEEP
            .iter()
            .map(|&size| (label(size), format!("sweep-{size}")))
            .collect();
        let rows = |metric: &'static str| -> Vec<Row<'_>> {
            ids.iter()
                .map(|(label, id)| Row {
                    label: label.clone(),
                    id,
                    metric,
                })
                .collect()
        };
        let mbs = rows("mb_per_s");
        self.table(md, "MB/s", &mbs, Unit::MegaBytes);
        self.chart(
            md,
            &Spec {
                file: "sweep-throughput.svg",
                title: "Payload sweep: MB/s at QoS 1 through mosquitto (log scale)",
                axis: "MB/s",
                log: true,
                scale: 1.0,
            },
            &mbs,
        )?;
        let _ = writeln!(md, "Peak RSS of the publisher (MiB):\n");
        let rss = rows("rss_pub");
        self.table(md, "publisher MiB", &rss, Unit::Mib);
        let _ = writeln!(md, "Peak RSS of the subscriber (MiB):\n");
        self.table(md, "subscriber MiB", &rows("rss_sub"), Unit::Mib);
        self.chart(
            md,
            &Spec {
                file: "sweep-rss.svg",
                title: "Payload sweep: publisher peak RSS (log scale)",
                axis: "MiB",
                log: true,
                scale: 1.0 / MIB,
            },
            &rss,
        )
    }

    fn idle(&self, md: &mut String) -> io::Result<()> {
        let _ = writeln!(md, "## Memory per idle connection\n");
        let _ = writeln!(
            md,
            "One process opens connections to mosquitto (100 at a time) and keeps them idle; the growth of its \
             resident set (`VmRSS`) from one open connection to N, divided by N − 1, in KiB. Default options of \
             each client (our default `max_packet_size` is 1 MiB + 1 KiB and `queue_bytes` 4 MiB, allocated \
             zeroed and so only resident once touched). mqtt-blocking runs an event-loop thread per connection. \
             mqtt-embedded has no defaults: each connection gets memory sized for a client that only keeps its \
             connection open (2 KiB receive buffer, 2 KiB store, 256 B subscription table, 512 B transmit \
             staging, all resident) and a runner task of its own.\n"
        );
        let ids: Vec<(String, String)> = IDLE_MARKS
            .iter()
            .map(|mark| {
                (
                    format!("{} connections", thousands(*mark as f64)),
                    format!("kib_per_conn_{mark}"),
                )
            })
            .collect();
        let rows: Vec<Row<'_>> = ids
            .iter()
            .map(|(label, metric)| Row {
                label: label.clone(),
                id: "idle",
                metric,
            })
            .collect();
        self.table(md, "KiB per connection", &rows, Unit::Kib);
        self.chart(
            md,
            &Spec {
                file: "idle-memory.svg",
                title: "Memory per idle connection",
                axis: "KiB per connection",
                log: false,
                scale: 1.0,
            },
            &rows,
        )
    }

    fn accounting(&self, md: &mut String, plan: &[Measure]) {
        let _ = writeln!(md, "## Message accounting\n");
        let _ = writeln!(
            md,
            "Over all runs of each workload: messages published, lost (never reached the subscriber or the sink), \
             duplicated (arrived more than once), out of order (a lower sequence number after a higher one), how \
             often a publisher of ours found the client's queue full and waited (backpressure, not a loss), \
             connection losses (a client reconnected during the run), and failed runs.\n"
        );
        let mut head = String::from("| workload |");
        let mut rule = String::from("| --- |");
        for name in self.names {
            let _ = write!(head, " {name} |");
            rule.push_str(" --- |");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for measure in plan {
            if !matches!(measure.kind, Kind::Throughput { .. }) {
                continue;
            }
            let mut line = format!("| {} |", measure.id);
            for &name in self.names {
                let text = match self
                    .results
                    .counts
                    .get(&(measure.id.clone(), name.to_owned()))
                {
                    Some(c) => {
                        let mut text = format!(
                            "{} sent, {} lost, {} dup, {} reordered",
                            thousands(c.expected as f64),
                            c.lost,
                            c.duplicated,
                            c.reordered
                        );
                        if c.connection_losses > 0 {
                            let _ = write!(text, ", **{} connection losses**", c.connection_losses);
                        }
                        if c.waits > 0 {
                            let _ = write!(text, ", {} waits", c.waits);
                        }
                        if c.failed_runs > 0 {
                            let _ = write!(text, ", **{} failed**", c.failed_runs);
                        }
                        text
                    }
                    None => "n/a".to_owned(),
                };
                let _ = write!(line, " {text} |");
            }
            let _ = writeln!(md, "{line}");
        }
        md.push('\n');
    }

    fn problems(&self, md: &mut String, info: &RunInfo) {
        let _ = writeln!(md, "## Problems during the run\n");
        if self.results.problems.is_empty() && info.skipped.is_empty() {
            let _ = writeln!(
                md,
                "None: no failure, stall, loss or duplicate, nothing skipped.\n"
            );
            return;
        }
        for problem in &self.results.problems {
            let _ = writeln!(md, "- {problem}");
        }
        for skipped in &info.skipped {
            let _ = writeln!(
                md,
                "- skipped (time budget or repeated failures): {skipped}"
            );
        }
        md.push('\n');
        if self
            .results
            .problems
            .iter()
            .any(|p| p.contains("receive maximum"))
        {
            let _ = writeln!(
                md,
                "About \"more QoS 2 messages in flight than the receive maximum\": an MQTT 3.1.1 client cannot \
                 announce a Receive Maximum, and mosquitto sends a 3.1.1 subscriber as many unreleased QoS 2 \
                 messages as it has (150 observed, whatever its `max_inflight_messages`). Our session accepts \
                 `receive_maximum` (64) packet ids awaiting PUBREL, treats one more as a protocol error and drops \
                 the connection; with a clean session the messages queued for it are lost. A failed run gives no \
                 rate: the QoS 2 figures through mosquitto are missing for our clients until this is fixed.\n"
            );
        }
    }

    fn method(&self, md: &mut String, settings: &Settings, plan: &[Measure], info: &RunInfo) {
        let _ = writeln!(md, "## Method\n");
        let _ = writeln!(
            md,
            "- **Harness:** `benches/benches/perf/` (a `harness = false` bench target, so that rumqttc stays a \
             dev-dependency). The parent process starts mosquitto and the sink and runs every measurement in \
             child processes (the same binary with `--child`), one client role per process, so that the CPU time \
             (`getrusage(RUSAGE_SELF)`, user + system, from connected to done) and the peak RSS (`VmHWM`; not `ru_maxrss`, which a child inherits from its parent) \
             belong to that client alone. Rounds interleave the backends: run 1 of every workload for every \
             backend, then run 2, and so on, so that load from elsewhere spreads over all of them.\n\
             - **Clients:** MQTT 3.1.1 for every backend; {} QoS 1/2 messages in flight (our default; rumqttc's \
             default is 100, set to match); `TCP_NODELAY` on (our default; set on rumqttc); keep alive 60 s; clean session. \
             Each client runs on one thread where the library allows it: tokio's current-thread runtime \
             (mqtt-tokio, rumqttc), a smol `LocalExecutor` under `smol::block_on` (mqtt-smol, whose event loop is \
             spawned there instead of on smol's global executor as `mqtt_smol::connect` does), the runner and the \
             role in one task on tokio's current-thread runtime (mqtt-embedded, over `FromTokio<TcpStream>` from \
             embedded-io-adapters, with `NoopRawMutex` and mqtt-tokio's clock). mqtt-blocking has no runtime to \
             share: `mqtt_blocking::connect` runs its mio event loop on a thread of its own and the role calls the \
             blocking client from the main thread; messages come through the subscription's callback on the loop's \
             thread, which forwards each payload into a std channel. mqtt-embedded reserves its memory up front, as \
             large as our std clients' defaults (1 MiB + 1 KiB receive buffer, 4 MiB store for outgoing messages, \
             16 KiB transmit staging; a zeroed static, resident as it is touched), and hands each message to its \
             runner's handler, where the subscriber and the ping-pong count it without a copy. rumqttc's request \
             channel holds {} requests; its event loop is polled by a task (publisher) or inline (subscriber, \
             ping-pong). Our publishers keep up to {} QoS 1/2 deliveries outstanding before awaiting the oldest, \
             and wait for the oldest (or 1 ms at QoS 0) when `publish` reports a full queue; mqtt-embedded's \
             client can await only 8 commands at once, so its publisher drops each delivery, its handler counts \
             the acknowledgements, and a full store waits for the next one.\n\
             - **mosquitto:** {}, started by mqtt-test's harness on a free 127.0.0.1 port, with no queue or byte \
             limits (`max_queued_messages 0`, `max_queued_bytes 0`, `max_inflight_bytes 0`), \
             `max_inflight_messages {}` (0: no limit) and its per-message debug log off; the open-file limit raised \
             to {} for it and for the clients.\n\
             - **Payloads:** a sequence number and a send timestamp (`CLOCK_MONOTONIC`, the same clock in every \
             process) then filler; {SIZE} B unless stated.\n\
             - **Runs:** {}.\n\
             - **Machine:** {}.",
            crate::backends::INFLIGHT,
            crate::backends::INFLIGHT,
            crate::backends::DELIVERY_WINDOW,
            mosquitto_version(),
            settings.mosquitto_inflight,
            info.open_files,
            runs_text(plan),
            machine()
        );
        let _ = writeln!(
            md,
            "- **Sections run:** {}.\n",
            settings
                .sections
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            md,
            "Charts: bar = median, whisker = minimum to maximum of the runs, label = median (1.2k = 1,200)."
        );
    }
}

fn runs_text(plan: &[Measure]) -> String {
    plan.iter()
        .map(|m| {
            let what = match &m.kind {
                Kind::Throughput {
                    qos, size, count, ..
                } => {
                    format!(
                        "{} messages of {size} B at QoS {qos}",
                        thousands(*count as f64)
                    )
                }
                Kind::Latency { count, warmup, .. } => {
                    format!("{count} round trips after {warmup} warm-up")
                }
                Kind::Idle { marks } => format!(
                    "{} connections",
                    marks
                        .iter()
                        .map(|m| thousands(*m as f64))
                        .collect::<Vec<_>>()
                        .join(" then ")
                ),
            };
            format!("`{}` {} × {what}", m.id, m.runs)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `YYYY-MM-DD HH:MM` for a Unix time (UTC).
fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days to civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Some(text.trim().to_owned())
}

/// The commit and whether the tree had changes (read-only git commands).
fn git_state() -> String {
    let head = command_output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_default();
    let changed = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .map_or(0, |text| text.lines().count());
    if head.is_empty() {
        "unknown (no git)".to_owned()
    } else if changed == 0 {
        format!("`{head}`, clean tree")
    } else {
        format!("`{head}` plus uncommitted changes to {changed} tracked file(s)")
    }
}

fn mosquitto_version() -> String {
    command_output("mosquitto", &["-h"])
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "mosquitto".to_owned())
}

fn machine_cores() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{cores} cores")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or_else(String::new, |kib| format!(", {:.0} GiB RAM", kib / MIB));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| String::new(), |k| format!(", Linux {}", k.trim()));
    let rustc = command_output("rustc", &["-V"]).unwrap_or_default();
    format!(
        "{}, {cpu}{memory}{kernel}; {rustc}, `bench` profile",
        machine_cores()
    )
}
