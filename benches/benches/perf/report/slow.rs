//! The slow consumer section: a subscriber that takes nothing for a while under a QoS 1 flood, its RSS over time.

use super::goals::{MESSAGE_CAPACITY, SLOW_SLACK, slow_bound};
use super::*;
use crate::orchestrate::SLOW_SIZE;
use crate::svg::LineChart;

impl Reporter<'_> {
    pub(super) fn slow(&self, md: &mut String, plan: &[Measure]) -> io::Result<()> {
        let Some((hold, count)) = plan.iter().find_map(|m| match m.kind {
            Kind::Slow { hold, count, .. } => Some((hold, count)),
            _ => None,
        }) else {
            return Ok(());
        };
        let hold_s = hold.as_secs_f64();
        let _ = writeln!(
            md,
            "## Slow consumer (QoS 1, {SLOW_SIZE} B payloads, through mosquitto)\n"
        );
        let _ = writeln!(
            md,
            "A subscriber subscribes at QoS 1 and then takes nothing for {hold_s:.0} s (the idle phase) while a \
             publisher of the same backend publishes {} messages of {SLOW_SIZE} B to it as fast as it can (QoS 1, \
             acknowledged by mosquitto); then the subscriber takes everything, and every message is counted by its \
             sequence number. A thread of the subscriber's process samples its resident set (`VmRSS`) every 250 ms \
             from the moment it is subscribed. How each backend's application falls behind: mqtt-tokio and \
             mqtt-smol do not read the subscription stream (their event loop task runs on); mqtt-blocking does not \
             poll `Client::messages()` (the subscription's own callback does nothing); mqtt-embedded's handler \
             blocks its first call of the idle phase until the phase is over, which holds up the runner (and the \
             thread). rumqttc's event loop must keep being polled or the broker drops the client at keep alive, so \
             it runs the common application pattern: a task polls the event loop and forwards each incoming \
             publish into an unbounded channel, which the application does not read during the idle phase (rumqttc \
             acknowledges each message as its event loop reads it). mosquitto queues whatever the subscriber has \
             not taken (no queue limit), so what the subscriber's process holds is up to its client library; the \
             publisher's rate below says how much of the idle phase the flood itself lasts.\n",
            thousands(count as f64)
        );
        let _ = writeln!(
            md,
            "Goal for our clients (default `message_capacity` of {}): the growth over the idle phase (the highest \
             sample of the phase minus the RSS once subscribed) at most a full queue of messages plus a few MiB, \
             {} × {SLOW_SIZE} B + {:.0} MiB = {:.1} MiB, and every message arrives exactly once afterwards.\n",
            thousands(MESSAGE_CAPACITY),
            thousands(MESSAGE_CAPACITY),
            SLOW_SLACK / MIB,
            slow_bound() / MIB
        );
        let row = |label: &str, metric: &'static str| Row {
            label: label.to_owned(),
            id: "slow",
            metric,
        };
        self.table(
            md,
            "subscriber MiB",
            &[
                row("RSS once subscribed", "rss_ready"),
                row("**growth over the idle phase**", "rss_idle_growth"),
                row("highest RSS of the idle phase", "rss_idle_max"),
                row("RSS at the end of the idle phase", "rss_idle_end"),
                row("peak RSS of the whole run (`VmHWM`)", "rss_peak"),
            ],
            Unit::Mib,
        );
        let mut head = String::from("| |");
        let mut rule = String::from("| --- |");
        for name in self.names {
            let _ = write!(head, " {name} |");
            rule.push_str(" --: |");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        let mut line = String::from("| every message arrived once afterwards |");
        for &name in self.names {
            let text = match (
                self.get("slow", name, "lost"),
                self.get("slow", name, "duplicates"),
            ) {
                (Some(lost), Some(duplicates)) if lost.max == 0.0 && duplicates.max == 0.0 => {
                    "yes".to_owned()
                }
                (Some(lost), Some(duplicates)) => format!(
                    "**no**: {:.0} lost, {:.0} duplicated",
                    lost.max, duplicates.max
                ),
                _ => "n/a".to_owned(),
            };
            let _ = write!(line, " {text} |");
        }
        let _ = writeln!(md, "{line}");
        let figure_row =
            |md: &mut String, label: &str, metric: &str, format: &dyn Fn(f64) -> String| {
                let mut line = format!("| {label} |");
                for &name in self.names {
                    let text = self
                        .get("slow", name, metric)
                        .map_or_else(|| "n/a".to_owned(), |s| format(s.median));
                    let _ = write!(line, " {text} |");
                }
                let _ = writeln!(md, "{line}");
            };
        figure_row(
            md,
            "the publisher's rate (msg/s, to mosquitto's last PUBACK)",
            "pub_msg_per_s",
            &|value| Unit::Rate.format(value),
        );
        figure_row(
            md,
            "time to take everything after the idle phase",
            "drain_s",
            &|value| format!("{value:.1} s"),
        );
        md.push('\n');
        let series = self
            .names
            .iter()
            .map(|&name| {
                let points = self
                    .results
                    .series
                    .get(&("slow".to_owned(), name.to_owned()))
                    .map(|points| points.iter().map(|&(t, rss)| (t, rss / MIB)).collect())
                    .unwrap_or_default();
                (name.to_owned(), points)
            })
            .collect();
        let file = "slow-consumer-rss.svg";
        let title = "Slow consumer: subscriber RSS under a QoS 1 flood";
        let chart = LineChart {
            title,
            x_axis: "seconds since subscribed",
            y_axis: "RSS (MiB)",
            series,
            marker: Some((hold_s, "end of the idle phase")),
        };
        std::fs::write(self.out.join(file), chart.render())?;
        let _ = writeln!(
            md,
            "![{title}]({file})\n\nThe chart shows each backend's first run; the dashed line is the end of the \
             idle phase.\n"
        );
        Ok(())
    }
}
