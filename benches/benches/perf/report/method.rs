//! The closing sections of the report: message accounting, problems, and the method with the facts of the run
//! (machine, versions, code).

use super::*;

impl Reporter<'_> {
    pub(super) fn accounting(&self, md: &mut String, plan: &[Measure]) {
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
            if !matches!(measure.kind, Kind::Throughput { .. } | Kind::Slow { .. }) {
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

    pub(super) fn problems(&self, md: &mut String, info: &RunInfo) {
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

    pub(super) fn method(
        &self,
        md: &mut String,
        settings: &Settings,
        plan: &[Measure],
        info: &RunInfo,
    ) {
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
             share: `mqtt_blocking::connect` runs its event loop (poll(2) over the socket and an eventfd) on a thread of its own and the role calls the \
             blocking client from the main thread; the subscriber counts its messages in the subscription's \
             callback on the loop's thread, and the ping-pong forwards each payload to the main thread through a std \
             channel. Our std clients run with their defaults otherwise, read batching of QoS 0 floods included \
             (4 KiB or 1 ms); mqtt-embedded has none. mqtt-embedded reserves its memory up front, as \
             large as our std clients' defaults (1 MiB + 1 KiB receive buffer, 4 MiB store for outgoing messages, \
             16 KiB transmit staging; a zeroed static, resident as it is touched), and hands each message to its \
             runner's handler, where the subscriber and the ping-pong count it without a copy. rumqttc's request \
             channel holds {} requests; its event loop is polled by a task (publisher; the slow consumer, whose \
             task forwards messages into a channel, as its section says) or inline (subscriber, ping-pong). Our publishers keep up to {} QoS 1/2 deliveries outstanding before awaiting the oldest, \
             and wait for the oldest (at QoS 0, for room with `publish_when_room`; mqtt-embedded: 1 ms) when `publish` reports a full queue; mqtt-embedded's \
             client can await only 8 commands at once, so its publisher drops each delivery, its handler counts \
             the acknowledgements, and a full store waits for the next one. The latency measurements also run the \
             floor (`backends/floor.rs`): the ping-pong with no library, packets built by hand, one blocking \
             `write` per packet and blocking reads, each acknowledgement written as soon as its packet is read.\n\
             - **mosquitto:** {}, started by mqtt-test's harness on a free 127.0.0.1 port, with no queue or byte \
             limits (`max_queued_messages 0`, `max_queued_bytes 0`, `max_inflight_bytes 0`), \
             `max_inflight_messages {}` (0: no limit), {} and its per-message debug log off; the open-file limit \
             raised to {} for it and for the clients.\n\
             - **Payloads:** a sequence number and a send timestamp (`CLOCK_MONOTONIC`, the same clock in every \
             process) then filler; {SIZE} B unless stated.\n\
             - **Runs:** {}.\n\
             - **Machine:** {}.",
            crate::backends::INFLIGHT,
            crate::backends::INFLIGHT,
            crate::backends::DELIVERY_WINDOW,
            mosquitto_version(),
            settings.mosquitto_inflight,
            nodelay_text(),
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

pub(super) fn runs_text(plan: &[Measure]) -> String {
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
                Kind::Stored { durability, count } => format!(
                    "{} messages of {SIZE} B at QoS 1, {}",
                    thousands(*count as f64),
                    durability.map_or("memory store".to_owned(), |d| format!(
                        "file store, durability {}",
                        d.as_str()
                    ))
                ),
                Kind::Idle { marks } => format!(
                    "{} connections",
                    marks
                        .iter()
                        .map(|m| thousands(*m as f64))
                        .collect::<Vec<_>>()
                        .join(" then ")
                ),
                Kind::Slow { size, count, hold } => format!(
                    "{} messages of {size} B at QoS 1 to a subscriber idle for {} s",
                    thousands(*count as f64),
                    hold.as_secs()
                ),
            };
            format!("`{}` {} × {what}", m.id, m.runs)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the method says about mosquitto's `TCP_NODELAY`.
fn nodelay_text() -> &'static str {
    if crate::orchestrate::mosquitto_nodelay() {
        "`set_tcp_nodelay true` (without it mosquitto's sockets run Nagle's algorithm, which holds the last \
         acknowledgements of a QoS 1/2 burst until the client's delayed ACK, about 40 ms, and distorts QoS 1/2 \
         figures for every client alike)"
    } else {
        "Nagle's algorithm on for its sockets (this mosquitto has no `set_tcp_nodelay`, which came with 2.0: the \
         last acknowledgements of a QoS 1/2 burst can wait for the client's delayed ACK, about 40 ms)"
    }
}

/// `YYYY-MM-DD HH:MM` for a Unix time (UTC).
pub(super) fn utc(unix: u64) -> String {
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

pub(super) fn command_output(program: &str, args: &[&str]) -> Option<String> {
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
pub(super) fn git_state() -> String {
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

pub(super) fn mosquitto_version() -> String {
    command_output("mosquitto", &["-h"])
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "mosquitto".to_owned())
}

pub(super) fn machine_cores() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{cores} cores")
}

pub(super) fn machine() -> String {
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
