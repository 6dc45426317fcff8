//! The sections of the report with a table and a chart each: throughput through mosquitto, against the sink,
//! latency, the payload sweep, idle memory (with descriptors and threads).

use super::*;

impl Reporter<'_> {
    pub(super) fn broker(&self, md: &mut String) -> io::Result<()> {
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

    pub(super) fn sink(&self, md: &mut String) -> io::Result<()> {
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

    pub(super) fn latency(&self, md: &mut String) -> io::Result<()> {
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
        self.floor(md, &ids);
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

    /// The floor's round trips beside rumqttc's: what any client pays on this machine.
    fn floor(&self, md: &mut String, ids: &[(&str, &str)]) {
        if ids
            .iter()
            .all(|(_, id)| self.get(id, FLOOR, "p50_us").is_none())
        {
            return;
        }
        let _ = writeln!(
            md,
            "The floor: the same ping-pong with no client library, packets built by hand, one `write` per packet \
             and blocking reads on one socket (no event loop, no hand-off between tasks or threads, no queue). It \
             pays only what every client pays: the broker's work and the wake-ups of the broker's thread and the \
             client's. It runs after the clients in every round.\n"
        );
        let _ = writeln!(
            md,
            "| µs | floor p50 | floor p99 | floor / {PEER} p50 |\n| --- | --: | --: | --: |"
        );
        for &(label, id) in ids {
            let ratio = self
                .ratio(id, FLOOR, "p50_us")
                .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"));
            let _ = writeln!(
                md,
                "| {label} | {} | {} | {ratio} |",
                cell(self.get(id, FLOOR, "p50_us"), Unit::Micros),
                cell(self.get(id, FLOOR, "p99_us"), Unit::Micros)
            );
        }
        md.push('\n');
    }

    pub(super) fn sweep(&self, md: &mut String) -> io::Result<()> {
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

    pub(super) fn idle(&self, md: &mut String) -> io::Result<()> {
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
        )?;
        let _ = writeln!(
            md,
            "Open file descriptors (entries of `/proc/self/fd`) and threads (`Threads:` of `/proc/self/status`) \
             of the same process, per connection, counted the same way (growth from one connection to N, \
             divided by N − 1). A TCP socket is one descriptor; an event loop of its own adds what it waits with \
             (mqtt-blocking: an eventfd, polled with the socket by poll(2)). A process may hold no more descriptors \
             than the open-file limit (see the method): a backend that needs two or more per connection cannot reach \
             10,000 connections under a limit of 20,000 (the process has a few of its own), and its 10,000 rows show \
             n/a (the problems below say where it stopped).\n"
        );
        let counts: Vec<(String, String)> = [("fds", "file descriptors"), ("threads", "threads")]
            .into_iter()
            .flat_map(|(what, label)| {
                IDLE_MARKS.iter().map(move |mark| {
                    (
                        format!("{label}, {} connections", thousands(*mark as f64)),
                        format!("{what}_per_conn_{mark}"),
                    )
                })
            })
            .collect();
        let rows: Vec<Row<'_>> = counts
            .iter()
            .map(|(label, metric)| Row {
                label: label.clone(),
                id: "idle",
                metric,
            })
            .collect();
        self.table(md, "per connection", &rows, Unit::Count);
        Ok(())
    }

    /// The file store's throughput with `durability` over the memory store's, for `backend`, in this run.
    pub(super) fn persist_ratio(&self, backend: &str, durability: Durability) -> Option<f64> {
        let stored = self.get(&persist_id(Some(durability)), backend, "msg_per_s")?;
        let memory = self.get(&persist_id(None), backend, "msg_per_s")?;
        (memory.median > 0.0).then(|| stored.median / memory.median)
    }

    pub(super) fn persist(&self, md: &mut String) -> io::Result<()> {
        let _ = writeln!(
            md,
            "## Persistence: the file store ({SIZE} B payloads, QoS 1)\n"
        );
        let _ = writeln!(
            md,
            "Throughput through mosquitto as in the first section, at QoS 1, with the publisher keeping its session in \
             the file store (`Options::persistence`) at each durability, and in memory (the default) in the same \
             rounds. Every level writes each message's record before `publish` returns and each packet \
             identifier before its PUBLISH goes out; `none` never calls `fsync`, `batched` calls it every 10 ms on a \
             thread of its own, `every` before `publish` returns and before each send that depends on a change (it \
             runs fewer messages: its rate is the disk's). The ratio columns divide by the same backend's memory \
             store figure.\n"
        );
        let levels: Vec<(String, Option<Durability>)> = [None]
            .into_iter()
            .chain(Durability::ALL.map(Some))
            .map(|d| (d.map_or("memory".to_owned(), |d| d.as_str().to_owned()), d))
            .collect();
        let persisting: Vec<&str> = self
            .ours
            .iter()
            .copied()
            .filter(|name| self.get(&persist_id(None), name, "msg_per_s").is_some())
            .collect();
        let mut head = String::from("| store | ");
        let mut rule = String::from("| --- |");
        for name in &persisting {
            let _ = write!(head, " {name} msg/s |");
            rule.push_str(" --: |");
        }
        for name in &persisting {
            let _ = write!(head, " {name} / memory |");
            rule.push_str(" --: |");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for (label, durability) in &levels {
            let mut line = format!("| {label} |");
            for name in &persisting {
                let _ = write!(
                    line,
                    " {} |",
                    cell(
                        self.get(&persist_id(*durability), name, "msg_per_s"),
                        Unit::Rate
                    )
                );
            }
            for name in &persisting {
                let ratio = match durability {
                    None => "1.00".to_owned(),
                    Some(d) => self
                        .persist_ratio(name, *d)
                        .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}")),
                };
                let _ = write!(line, " {ratio} |");
            }
            let _ = writeln!(md, "{line}");
        }
        md.push('\n');
        let ids: Vec<String> = levels.iter().map(|(_, d)| persist_id(*d)).collect();
        let rows: Vec<Row<'_>> = levels
            .iter()
            .zip(&ids)
            .map(|((label, _), id)| Row {
                label: label.clone(),
                id,
                metric: "msg_per_s",
            })
            .collect();
        self.chart(
            md,
            &Spec {
                file: "persistence.svg",
                title: "Throughput at QoS 1 through mosquitto by store, 64 B payloads",
                axis: "messages per second",
                log: true,
                scale: 1.0,
            },
            &rows,
        )
    }
}
