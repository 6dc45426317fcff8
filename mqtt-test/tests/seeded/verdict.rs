//! The verdict on a seeded run once it settled: each message against the invariants of the module docs of
//! `seeded.rs`, outgoing (how its ticket completed, how often it reached the broker) and incoming (how often it came
//! back), with the counts of what was allowed and why.

use std::collections::BTreeMap;

use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_core::session::PublishFailure;
use mqtt_core::{Config, SessionLostPolicy};
use mqtt_test::{RecordedEvent, Sim};

use crate::stats::Stats;
use crate::ticket::{Completion, Sent, range};
use crate::watch::Watch;
use crate::{Plan, fail, message_number};

/// What a run ended with.
pub(crate) struct Ended<'a> {
    pub(crate) seed: u64,
    pub(crate) sim: &'a Sim,
    pub(crate) config: &'a Config<'a>,
    pub(crate) plan: Plan,
    pub(crate) version: ProtocolVersion,
    pub(crate) watch: &'a Watch,
    /// Every message the run published.
    pub(crate) sent: &'a [Sent],
    /// Per message, how many crashes found it unacknowledged at the broker (it may come back once more per crash).
    pub(crate) again: &'a BTreeMap<u16, usize>,
}

/// Checks every message of a settled run against the invariants, failing the run at the first one broken, and
/// counts in `stats` what it saw.
pub(crate) fn check(ended: &Ended<'_>, stats: &mut Stats) {
    let Ended {
        seed,
        sim,
        config,
        plan,
        version,
        watch,
        sent,
        again,
    } = *ended;
    // Where each message was accepted by the broker (indices into `received`), and how often it came back.
    let mut at_broker: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (k, m) in sim.broker().received().iter().enumerate() {
        at_broker
            .entry(message_number(&m.payload))
            .or_default()
            .push(k);
    }
    let mut at_client: BTreeMap<u16, usize> = BTreeMap::new();
    for m in sim.messages() {
        *at_client.entry(message_number(&m.payload)).or_default() += 1;
    }
    let lost = !watch.losses.is_empty();
    let seen_loss = watch.losses.iter().any(|l| l.seen);
    stats.runs_v5 = u64::from(version == ProtocolVersion::V5);
    stats.connections = sim.broker().connections().len() as u64;
    stats.losses = watch.losses.len() as u64;
    stats.hidden_losses = watch.losses.iter().filter(|l| !l.seen).count() as u64;
    match (plan, lost) {
        (Plan::Lose(SessionLostPolicy::Republish), true) => stats.runs_lost_republish = 1,
        (Plan::Lose(_), true) => stats.runs_lost_report = 1,
        (Plan::Keep, true) => fail(
            sim,
            format!("seed {seed}: the broker lost a session it was never told to forget"),
        ),
        _ => {}
    }
    let policy = config.on_session_lost;
    let losses: Vec<String> = watch
        .losses
        .iter()
        .map(|l| {
            format!(
                "after acceptance {}{}",
                l.received,
                if l.seen { "" } else { " (hidden)" }
            )
        })
        .collect();
    let context = format!("seed {seed} {version} {plan:?}, session losses {losses:?}");
    // QoS 2 state of the client agrees with the broker's: no loss, or the last one reached the client.
    let client_qos2_state_current = watch.losses.last().is_none_or(|l| l.seen);

    for m in sent {
        let (ticket, i, qos) = (&m.ticket, &m.i, &m.qos);
        let arrivals: &[usize] = at_broker.get(i).map(Vec::as_slice).unwrap_or_default();
        let b = arrivals.len();
        let c = at_client.get(i).copied().unwrap_or(0);
        let fail = |what: String| -> ! {
            fail(
                sim,
                format!(
                    "{context}: message {i} at {qos:?} ({ticket}) reached the broker {b} times (acceptances \
                     {arrivals:?}), came back {c} times: {what}"
                ),
            )
        };

        // Outgoing.
        match qos {
            QoS::AtMostOnce if b > 1 => {
                fail("a QoS 0 message reached the broker more than once".into())
            }
            QoS::ExactlyOnce => {
                // Again only across a loss the client republished after, or one it never learned of.
                for pair in arrivals.windows(2) {
                    let (republished, hidden) =
                        watch
                            .losses_between(pair[0], pair[1])
                            .fold((false, false), |(r, h), l| {
                                (
                                    r || (l.seen && policy == SessionLostPolicy::Republish),
                                    h || !l.seen,
                                )
                            });
                    if republished {
                        stats.qos2_again_republished += 1;
                    } else if hidden {
                        stats.qos2_again_hidden_loss += 1;
                    } else {
                        fail(format!(
                            "a QoS 2 message reached the broker again (acceptances {} and {}) without a session loss \
                             in between that allows it",
                            pair[0], pair[1]
                        ));
                    }
                }
            }
            _ => {}
        }
        let mut poisoned = false;
        if *qos != QoS::AtMostOnce {
            let completions: Vec<Completion> = range(sim, m.from, m.to)
                .iter()
                .filter_map(|e| match e {
                    RecordedEvent::Published { ticket: t } if t == ticket => {
                        Some(Completion::Published)
                    }
                    RecordedEvent::PublishFailed { ticket: t, reason } if t == ticket => {
                        Some(Completion::Failed(*reason))
                    }
                    _ => None,
                })
                .collect();
            let completion = match completions.as_slice() {
                [] => fail("the ticket never completed (lost silently)".into()),
                [one] => *one,
                more => fail(format!(
                    "the ticket completed {} times: {more:?}",
                    more.len()
                )),
            };
            match completion {
                Completion::Published => {
                    stats.published_qos12 += 1;
                    if b == 0 {
                        fail("Published, but the broker never received it".into());
                    }
                }
                Completion::Failed(PublishFailure::SessionLost)
                    if seen_loss && policy == SessionLostPolicy::Report =>
                {
                    stats.session_lost_reports += 1;
                }
                Completion::Failed(PublishFailure::Poison { connections }) => {
                    // Reported, not lost silently: the link really ended that many connections, at least, after
                    // the message was published and before it failed.
                    let published_at = m.published_at;
                    let failed_at = range(sim, m.from, m.to)
                        .iter()
                        .position(|e| matches!(e, RecordedEvent::PublishFailed { ticket: t, .. } if t == ticket))
                        .map_or(published_at, |k| m.from + k);
                    // The loss that made it poison is reported right after the failure.
                    let end = (failed_at + 2).min(sim.events().len());
                    let losses = sim.events()[published_at..end]
                        .iter()
                        .filter(|e| matches!(e, RecordedEvent::ConnectionLost { .. }))
                        .count();
                    if connections < config.poison_threshold || losses < usize::from(connections) {
                        fail(format!(
                            "failed as poison after {connections} connections, with {losses} losses while it was \
                             in flight (threshold {})",
                            config.poison_threshold
                        ));
                    }
                    stats.poisoned += 1;
                    poisoned = true;
                }
                Completion::Failed(reason) => fail(format!(
                    "the ticket failed with {reason:?} (only SessionLost, only under Report, only after the \
                     client learned of a session loss)"
                )),
            }
        }

        // Incoming (a message failed as poison that never reached the broker cannot come back).
        if poisoned && b == 0 {
            continue;
        }
        // Once more per crash that found it unacknowledged at the broker (delivered to an application that died).
        let again = again.get(i).copied().unwrap_or(0);
        stats.redelivered_after_crash += c.saturating_sub(b.max(1)).min(again) as u64;
        match qos {
            QoS::AtMostOnce if c > 1 => fail("a QoS 0 message came back more than once".into()),
            QoS::ExactlyOnce if c > b + again => fail(format!(
                "a QoS 2 message came back more often than the broker accepted it ({c} > {b}, {again} crashes \
                 while it was unacknowledged)"
            )),
            _ => {}
        }
        if *qos == QoS::AtMostOnce {
            continue;
        }
        let kept_since_accepted = b > 0
            && watch
                .kept_from
                .is_some_and(|kept| arrivals.iter().all(|&k| k >= kept))
            && (*qos == QoS::AtLeastOnce || client_qos2_state_current);
        if !kept_since_accepted {
            stats.incoming_skipped += 1;
            continue;
        }
        stats.incoming_checked += 1;
        match qos {
            QoS::AtLeastOnce if c == 0 => fail(
                "a QoS 1 message the broker accepted in a session kept from then on never came back".into(),
            ),
            QoS::ExactlyOnce if c == 0 || c > 1 + again => fail(format!(
                "a QoS 2 message the broker accepted in a session kept from then on came back {c} times ({again} \
                 crashes while it was unacknowledged)"
            )),
            _ => {}
        }
    }
    if !lost && stats.incoming_skipped > 0 {
        fail(
            sim,
            format!(
                "{context}: {} messages were left out of the incoming checks although the session was kept \
                 (kept from acceptance {:?})",
                stats.incoming_skipped, watch.kept_from
            ),
        );
    }
    if !sim.broker().violations().is_empty() {
        fail(sim, format!("{context}: {:?}", sim.broker().violations()));
    }
}
