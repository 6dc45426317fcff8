//! The scale-out section of the report: failover time and consumer group throughput (mqtt-tokio; the logic is
//! mqtt-core's, the same for every backend).

use std::fmt::Write as _;

use super::{Reporter, Unit, cell, verdict};
use crate::cli::{Section, Settings};
use crate::scale::{BACKEND, GROUPS, WORK_MS, shared_id};

/// The failover goal: the first message acknowledged by another node within this many milliseconds of a node's
/// death, with the default reconnect policy.
const FAILOVER_GOAL_MS: f64 = 1000.0;

impl Reporter<'_> {
    pub(super) fn scale(&self, md: &mut String, settings: &Settings) {
        let _ = writeln!(md, "## Scaling out\n");
        if settings.sections.contains(&Section::Failover) {
            let _ = writeln!(
                md,
                "**Failover.** Two mosquitto brokers as two nodes; an {BACKEND} publisher on the first, the second as \
                 its failover (`Options::failover`), the default reconnect policy and timeouts, a QoS 1 stream of one \
                 message a millisecond. The first broker is killed (SIGKILL) after 500 acknowledgements; the figure \
                 is the time from the kill to the first message the second acknowledged (median, min – max). Goal: \
                 under 1 s with the default policy.\n"
            );
            let summary = self.get("failover", BACKEND, "ms");
            let met = summary.is_some_and(|s| s.max < FAILOVER_GOAL_MS);
            let _ = writeln!(md, "| | {BACKEND} | goal < 1 s |\n| --- | --- | --- |");
            let _ = writeln!(
                md,
                "| node death to first acknowledgement by another node | {} | {} |\n",
                cell(summary, Unit::Millis),
                verdict(met)
            );
        }
        if settings.sections.contains(&Section::Shared) {
            let _ = writeln!(
                md,
                "**Consumer groups.** 1, 2 and 3 {BACKEND} clients share `$share/bench/...` (`subscribe_shared`, QoS \
                 1) on one mosquitto; a publisher sends a burst of 64-byte QoS 1 messages (256 unacknowledged at \
                 most). The figure is the group's throughput, from the first publish to the last message received, \
                 in messages a second; every run checks that each message reached exactly one member. Without work \
                 the broker and the two cores are the limit; with 1 ms of asynchronous work per message (a timer, which \
                 tokio rounds up to about 2 ms), a member handles about 500 a second and the group's size shows.\n"
            );
            let mut head = String::from("| work per message |");
            let mut rule = String::from("| --- |");
            for members in GROUPS {
                let _ = write!(
                    head,
                    " {members} consumer{} |",
                    if members == 1 { "" } else { "s" }
                );
                rule.push_str(" --- |");
            }
            let _ = writeln!(md, "{head}\n{rule}");
            for work in WORK_MS {
                let mut row = format!("| {work} ms |");
                for members in GROUPS {
                    let _ = write!(
                        row,
                        " {} |",
                        cell(
                            self.get(&shared_id(members, work), BACKEND, "rate"),
                            Unit::Rate
                        )
                    );
                }
                let _ = writeln!(md, "{row}");
            }
            let _ = writeln!(md);
        }
    }
}
