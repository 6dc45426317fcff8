//! The report's goals: issue 11's benchmark goals (the std clients' hot path), each cell the measured figure and
//! whether it meets its goal, then the other checks that still hold from earlier rounds.

use super::*;

const TOKIO: &str = "mqtt-tokio";
const SMOL: &str = "mqtt-smol";
const BLOCKING: &str = "mqtt-blocking";

/// The backends most of issue 11's goals name: our std clients.
const STD_CLIENTS: [&str; 3] = [TOKIO, SMOL, BLOCKING];

/// The number of idle connections the memory and descriptor goals are taken at.
const IDLE_GOAL_MARK: u64 = 10_000;

/// Our std clients' default `Options::message_capacity`: what a subscription's queue holds at most.
pub(super) const MESSAGE_CAPACITY: f64 = 1024.0;

/// The "few MiB" the slow consumer's goal allows beyond a full queue (buffers, allocator slack).
pub(super) const SLOW_SLACK: f64 = 4.0 * MIB;

/// The slow consumer's goal: growth over the idle phase at most a full queue of messages plus [`SLOW_SLACK`].
pub(super) fn slow_bound() -> f64 {
    MESSAGE_CAPACITY * crate::orchestrate::SLOW_SIZE as f64 + SLOW_SLACK
}

/// A goal on the ratio of our figure to rumqttc's.
struct RatioGoal<'a> {
    goal: String,
    /// The target, as the report says it.
    target: &'a str,
    id: String,
    metric: &'a str,
    /// How a figure reads, and its unit after it.
    unit: Unit,
    suffix: &'a str,
    /// The backends the goal is about; the others show their ratio without a verdict.
    judged: &'a [&'a str],
    ok: &'a dyn Fn(f64) -> bool,
    /// Another metric of the same measure, and what it is, for a backend without a figure of `metric` (a
    /// process that ran out of file descriptors before 10,000 idle connections).
    fallback: Option<(&'a str, &'a str)>,
}

impl Reporter<'_> {
    pub(super) fn goals(&self, md: &mut String) {
        let _ = writeln!(md, "## Goals\n");
        let _ = writeln!(
            md,
            "The benchmark goals of issue 11 (the std clients' hot path). Each cell is the ratio of the backend's \
             median to rumqttc's median in this run, with the figure itself in brackets, and, for the backends the \
             goal names, whether it meets it; a cell without a verdict is there for comparison. \"CPU per \
             message\" is the publisher's plus the subscriber's CPU time per message through mosquitto.\n"
        );
        self.goal_header(md);
        for qos in 0..3 {
            self.ratio_goal(
                md,
                &RatioGoal {
                    goal: format!("throughput against the acking sink, QoS {qos}"),
                    target: "mqtt-tokio ≥ 2 × rumqttc",
                    id: format!("sink-q{qos}"),
                    metric: "msg_per_s",
                    unit: Unit::Rate,
                    suffix: " msg/s",
                    judged: &[TOKIO],
                    ok: &|r| r >= 2.0,
                    fallback: None,
                },
            );
        }
        for qos in 0..3 {
            self.smol_over_tokio(md, qos);
        }
        for (qos, max) in [(0, 0.35), (1, 0.75), (2, 0.75)] {
            self.ratio_goal(
                md,
                &RatioGoal {
                    goal: format!("client CPU per message through mosquitto, QoS {qos}"),
                    target: if qos == 0 {
                        "≤ 0.35 × rumqttc"
                    } else {
                        "≤ 0.75 × rumqttc"
                    },
                    id: format!("broker-q{qos}"),
                    metric: "cpu_total_us",
                    unit: Unit::Micros,
                    suffix: " µs",
                    judged: &STD_CLIENTS,
                    ok: &move |r| r <= max,
                    fallback: None,
                },
            );
        }
        self.ratio_goal(
            md,
            &RatioGoal {
                goal: "round-trip latency p50 through mosquitto, QoS 1".to_owned(),
                target: "≤ 0.5 × rumqttc",
                id: "latency-broker-q1".to_owned(),
                metric: "p50_us",
                unit: Unit::Micros,
                suffix: " µs",
                judged: &STD_CLIENTS,
                ok: &|r| r <= 0.5,
                fallback: None,
            },
        );
        self.ratio_goal(
            md,
            &RatioGoal {
                goal: "round-trip latency p99 through mosquitto, QoS 1".to_owned(),
                target: "none in issue 11 (shown beside p50)",
                id: "latency-broker-q1".to_owned(),
                metric: "p99_us",
                unit: Unit::Micros,
                suffix: " µs",
                judged: &[],
                ok: &|_| true,
                fallback: None,
            },
        );
        self.ratio_goal(
            md,
            &RatioGoal {
                goal: format!(
                    "memory per idle connection at {} connections (mqtt-blocking: a thread per client)",
                    thousands(IDLE_GOAL_MARK as f64)
                ),
                target: "mqtt-tokio, mqtt-smol ≤ 0.5 × rumqttc",
                id: "idle".to_owned(),
                metric: &format!("kib_per_conn_{IDLE_GOAL_MARK}"),
                unit: Unit::Kib,
                suffix: " KiB",
                judged: &[TOKIO, SMOL],
                ok: &|r| r <= 0.5,
                fallback: Some((
                    &format!("kib_per_conn_{}", IDLE_MARKS[0]),
                    &format!("at {} connections", thousands(IDLE_MARKS[0] as f64)),
                )),
            },
        );
        self.descriptors(md);
        self.slow_goal(md);
        md.push('\n');
        self.floor_note(md);
        self.other_checks(md);
    }

    /// What the latency goal is measured against: the floor's round trip, as a ratio to rumqttc's.
    fn floor_note(&self, md: &mut String) {
        let id = "latency-broker-q1";
        let (Some(floor), Some(ratio)) = (
            self.get(id, FLOOR, "p50_us"),
            self.ratio(id, FLOOR, "p50_us"),
        ) else {
            return;
        };
        let _ = writeln!(
            md,
            "The floor of the latency goal: the same ping-pong with no client library (packets built by hand on a \
             blocking socket, see [Round-trip latency](#round-trip-latency)) took {} µs at QoS 1 (p50) in this run, \
             {ratio:.2} × rumqttc's: what is left of a round trip without any client's work is the broker's and \
             the machine's part{}.\n",
            Unit::Micros.format(floor.median),
            if ratio > 0.5 {
                ", and it is above the goal's 0.5"
            } else {
                ""
            }
        );
    }

    fn goal_header(&self, md: &mut String) {
        let mut head = String::from("| goal | target |");
        let mut rule = String::from("| --- | --- |");
        for name in self.ours {
            let _ = write!(head, " {name} |");
            rule.push_str(" --- |");
        }
        let _ = writeln!(md, "{head}\n{rule}");
    }

    /// A row of ratios to rumqttc, with rumqttc's own figure in the target cell.
    fn ratio_goal(&self, md: &mut String, goal: &RatioGoal<'_>) {
        let peer = self
            .get(&goal.id, PEER, goal.metric)
            .map_or_else(|| "n/a".to_owned(), |s| goal.unit.format(s.median));
        let mut line = format!(
            "| {} | {} (rumqttc {peer}{}) |",
            goal.goal, goal.target, goal.suffix
        );
        for &name in self.ours {
            let figures = |metric: &str| {
                Some((
                    self.ratio(&goal.id, name, metric)?,
                    self.get(&goal.id, name, metric)?,
                ))
            };
            let text = match (figures(goal.metric), goal.fallback) {
                (Some((r, figure)), _) => {
                    let figure = format!("{}{}", goal.unit.format(figure.median), goal.suffix);
                    if goal.judged.contains(&name) {
                        format!("{r:.2} ({figure}) {}", verdict((goal.ok)(r)))
                    } else {
                        format!("{r:.2} ({figure})")
                    }
                }
                (None, Some((metric, what))) => match figures(metric) {
                    Some((r, figure)) => format!(
                        "n/a; {r:.2} ({}{}) {what}",
                        goal.unit.format(figure.median),
                        goal.suffix
                    ),
                    None => "n/a".to_owned(),
                },
                (None, None) => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
    }

    /// mqtt-smol (and, for comparison, every other backend) over mqtt-tokio against the sink.
    fn smol_over_tokio(&self, md: &mut String, qos: u8) {
        let id = format!("sink-q{qos}");
        let mut line = format!(
            "| throughput against the acking sink, QoS {qos}: ratio to mqtt-tokio | mqtt-smol ≥ 0.9 × mqtt-tokio |"
        );
        let tokio = self.get(&id, TOKIO, "msg_per_s");
        for &name in self.ours {
            let text = match (self.get(&id, name, "msg_per_s"), tokio) {
                _ if name == TOKIO => "(reference)".to_owned(),
                (Some(theirs), Some(tokio)) if tokio.median > 0.0 => {
                    let r = theirs.median / tokio.median;
                    if name == SMOL {
                        format!("{r:.2} {}", verdict(r >= 0.9))
                    } else {
                        format!("{r:.2}")
                    }
                }
                _ => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
    }

    /// Open file descriptors per idle connection: mqtt-blocking at most 2. Taken at the most connections the
    /// backend reached (a process with two or more per connection runs out of descriptors before 10,000 under a
    /// limit of 20,000: its own need a few).
    fn descriptors(&self, md: &mut String) {
        let most = |name: &str| {
            IDLE_MARKS.iter().rev().find_map(|mark| {
                let figure = self.get("idle", name, &format!("fds_per_conn_{mark}"))?;
                Some((figure, *mark))
            })
        };
        let peer = most(PEER).map_or_else(|| "n/a".to_owned(), |(s, _)| format!("{:.2}", s.median));
        let mut line = format!(
            "| open file descriptors per idle connection (at {} connections unless stated) | mqtt-blocking ≤ 2 \
             (rumqttc {peer}) |",
            thousands(IDLE_GOAL_MARK as f64)
        );
        for &name in self.ours {
            let text = match most(name) {
                Some((s, mark)) => {
                    let mut text = format!("{:.2}", s.median);
                    if mark != IDLE_GOAL_MARK {
                        let _ = write!(text, " at {}", thousands(mark as f64));
                    }
                    if name == BLOCKING {
                        let _ = write!(text, " {}", verdict(s.max <= 2.0));
                    }
                    text
                }
                None => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
    }

    /// The slow consumer: RSS growth over the idle phase within a full queue plus a few MiB, nothing lost or
    /// duplicated.
    fn slow_goal(&self, md: &mut String) {
        let bound = slow_bound();
        let peer = self.get("slow", PEER, "rss_idle_growth").map_or_else(
            || "n/a".to_owned(),
            |s| format!("+{:.1} MiB", s.median / MIB),
        );
        let mut line = format!(
            "| slow consumer: subscriber RSS growth over its idle phase under a QoS 1 flood, and every message \
             arrives once afterwards | ≤ {} × {} B + {:.0} MiB = {:.1} MiB (rumqttc {peer}) |",
            thousands(MESSAGE_CAPACITY),
            crate::orchestrate::SLOW_SIZE,
            SLOW_SLACK / MIB,
            bound / MIB
        );
        for &name in self.ours {
            let text = match self.get("slow", name, "rss_idle_growth") {
                Some(growth) => {
                    let lost = self.get("slow", name, "lost").map_or(0.0, |s| s.max);
                    let duplicates = self.get("slow", name, "duplicates").map_or(0.0, |s| s.max);
                    let mut text = format!("+{:.1} MiB", growth.max / MIB);
                    if lost > 0.0 || duplicates > 0.0 {
                        let _ = write!(text, ", {lost:.0} lost, {duplicates:.0} duplicated");
                    }
                    let met = growth.max <= bound && lost == 0.0 && duplicates == 0.0;
                    format!("{text} {}", verdict(met))
                }
                None => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
    }

    /// Checks from earlier rounds that still make sense: large payloads bounded by `queue_bytes`, and every
    /// backend within 10 % of mqtt-tokio.
    fn other_checks(&self, md: &mut String) {
        let _ = writeln!(md, "### Other checks\n");
        self.goal_header(md);
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
            if name == TOKIO {
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
                    let (Some(theirs), Some(tokio)) =
                        (self.get(&id, name, metric), self.get(&id, TOKIO, metric))
                    else {
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
