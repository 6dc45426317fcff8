//! The benchmark's final report: a table for people, or one JSON object for scripts.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

use super::tally::Tally;
use crate::args::BenchArgs;

/// What the run measured.
#[derive(Debug)]
pub(crate) struct Report {
    broker: String,
    publishers: u32,
    subscribers: u32,
    count: u64,
    qos: u8,
    size: usize,
    rate: f64,
    /// Messages published (accepted by the client).
    pub(crate) sent: u64,
    /// From the start until every publisher had every acknowledgement.
    pub(crate) publish_time: Duration,
    /// Distinct messages received, over all subscribers.
    received: u64,
    duplicated: u64,
    out_of_order: u64,
    foreign: u64,
    /// From the start until the last distinct message arrived.
    receive_time: Duration,
    latency: Option<Histogram<u64>>,
    /// Ctrl-C stopped the run.
    pub(crate) interrupted: bool,
    /// `-W` ran out before every message arrived.
    pub(crate) timed_out: bool,
}

impl Report {
    /// An empty report of the run the arguments describe.
    pub(crate) fn new(broker: &str, args: &BenchArgs) -> Self {
        Self {
            broker: broker.to_owned(),
            publishers: args.pubs,
            subscribers: args.subs,
            count: args.count,
            qos: args.qos,
            size: args.size,
            rate: args.rate,
            sent: 0,
            publish_time: Duration::ZERO,
            received: 0,
            duplicated: 0,
            out_of_order: 0,
            foreign: 0,
            receive_time: Duration::ZERO,
            latency: None,
            interrupted: false,
            timed_out: false,
        }
    }

    /// Adds a subscriber's tally.
    pub(crate) fn add(&mut self, tally: &Tally) {
        self.received += tally.unique;
        self.duplicated += tally.duplicated;
        self.out_of_order += tally.out_of_order;
        self.foreign += tally.foreign;
        self.receive_time = self.receive_time.max(tally.last_at);
        match &mut self.latency {
            // Same bounds: adding cannot fail.
            Some(latency) => {
                let _ = latency.add(&tally.latency);
            }
            None => self.latency = Some(tally.latency.clone()),
        }
    }

    /// Messages the subscribers should have received: every message sent, once each.
    fn expected(&self) -> u64 {
        self.sent.saturating_mul(u64::from(self.subscribers))
    }

    /// Expected messages that never arrived.
    fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    /// Latency at a quantile, in milliseconds; `None` without messages.
    fn latency_ms(&self, quantile: f64) -> Option<f64> {
        let latency = self.latency.as_ref().filter(|l| !l.is_empty())?;
        let micros = match quantile >= 1.0 {
            true => latency.max(),
            false => latency.value_at_quantile(quantile),
        };
        Some(micros as f64 / 1000.0)
    }

    /// The report as a table.
    pub(crate) fn table(&self) -> String {
        let rate = |messages: u64, time: Duration| match time.is_zero() {
            true => 0.0,
            false => messages as f64 / time.as_secs_f64(),
        };
        let mut out = String::new();
        let limit = match self.rate > 0.0 {
            true => format!("{} msg/s per publisher", self.rate),
            false => "no rate limit".to_owned(),
        };
        let _ = writeln!(
            out,
            "mqtt bench: {}, {} publisher(s) × {} messages, {} subscriber(s), QoS {}, {} bytes, {limit}",
            self.broker, self.publishers, self.count, self.subscribers, self.qos, self.size
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "                 messages       time        msg/s");
        let _ = writeln!(
            out,
            "  sent         {:>11} {:>9.3} s {:>12.1}",
            self.sent,
            self.publish_time.as_secs_f64(),
            rate(self.sent, self.publish_time)
        );
        if self.subscribers > 0 {
            let _ = writeln!(
                out,
                "  received     {:>11} {:>9.3} s {:>12.1}   of {} expected",
                self.received,
                self.receive_time.as_secs_f64(),
                rate(self.received, self.receive_time),
                self.expected()
            );
            let _ = writeln!(out, "  lost         {:>11}", self.lost());
            let _ = writeln!(out, "  duplicated   {:>11}", self.duplicated);
            let _ = writeln!(out, "  out of order {:>11}", self.out_of_order);
            if self.foreign > 0 {
                let _ = writeln!(
                    out,
                    "  ignored      {:>11}   (not of this run)",
                    self.foreign
                );
            }
            let _ = writeln!(out);
            let quantiles = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)];
            let latency: Vec<String> = quantiles
                .iter()
                .map(|&(name, q)| match self.latency_ms(q) {
                    Some(ms) => format!("{name} {ms:.3} ms"),
                    None => format!("{name} -"),
                })
                .collect();
            let _ = writeln!(out, "  latency      {}", latency.join("   "));
        }
        if self.timed_out {
            let _ = writeln!(out, "\n  stopped waiting for messages after -W");
        }
        if self.interrupted {
            let _ = writeln!(out, "\n  interrupted (Ctrl-C): partial results");
        }
        out.trim_end().to_owned()
    }

    /// The report as one JSON object.
    pub(crate) fn json(&self) -> String {
        let per_second = |messages: u64, time: Duration| match time.is_zero() {
            true => 0.0,
            false => messages as f64 / time.as_secs_f64(),
        };
        json!({
            "broker": self.broker,
            "publishers": self.publishers,
            "subscribers": self.subscribers,
            "messages_per_publisher": self.count,
            "qos": self.qos,
            "payload_bytes": self.size,
            "rate_per_publisher": self.rate,
            "sent": self.sent,
            "sent_seconds": self.publish_time.as_secs_f64(),
            "sent_per_second": per_second(self.sent, self.publish_time),
            "expected": self.expected(),
            "received": self.received,
            "received_seconds": self.receive_time.as_secs_f64(),
            "received_per_second": per_second(self.received, self.receive_time),
            "lost": self.lost(),
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
            "ignored": self.foreign,
            "latency_ms": {
                "p50": self.latency_ms(0.5),
                "p90": self.latency_ms(0.9),
                "p99": self.latency_ms(0.99),
                "max": self.latency_ms(1.0),
            },
            "timed_out": self.timed_out,
            "interrupted": self.interrupted,
        })
        .to_string()
    }
}
