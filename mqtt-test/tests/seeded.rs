//! Thousands of seeded runs of a real session against the fake broker over a faulty link: random latency, jitter
//! and cuts in both directions in the middle of QoS flows, and in a third of the runs a broker that forgets the
//! client's session at random points. The invariants of DESIGN.md §6, in both directions, with what a lost
//! session changes.
//!
//! Each run publishes [`MESSAGES`] messages at random QoS to topics the client itself subscribes to (`s/#` at
//! QoS 2), so every message the broker accepts comes back. A message is told apart by its first two payload
//! bytes. Cuts are armed with [`LinkModel::cut_after`](mqtt_test::LinkModel::cut_after) after random publishes,
//! in a random direction, after a random number of further bytes. In the session-losing runs (`seed % 3 == 2`),
//! half of the cuts are preceded by [`FakeBroker::forget_session`](mqtt_test::FakeBroker::forget_session), so
//! the CONNACK after the next connection has Session Present 0; those runs alternate between
//! [`SessionLostPolicy::Republish`] and [`SessionLostPolicy::Report`] (by `seed / 6`, so that both policies
//! meet both protocol versions). Whether a run lost its session is decided by what happened (a CONNACK with
//! Session Present 0 after the first connection), not by what was asked for: a forget whose connection never
//! ends loses nothing, and the run is held to the rules of a kept session.
//!
//! The application has habits of its own, drawn from a generator apart from the faults: in half the runs it
//! subscribes `s/#` in its connect callback, on every `Connected` (session present or not, so it meets the
//! session's own re-subscription in flight), instead of once at the start; while messages flow it subscribes `s/#`
//! again, and subscribes and unsubscribes filters overlapping it (at QoS 2, so that nothing delivered changes).
//! Every one of those requests completes exactly once, and the client never reports a protocol error (the fake
//! broker never breaks the protocol, so one would be the client's misjudgement).
//!
//! A loss can be *hidden* from the client: the cut falls on the CONNACK with Session Present 0, the client never
//! reads it, and the next connection resumes the broker's new, empty session with Session Present 1. The client
//! then resends with DUP what the broker no longer knows (a QoS 2 message the broker had accepted is accepted
//! again as new), keeps QoS 2 state the broker no longer has, and trusts a subscription that is gone. MQTT gives
//! a client no way to notice; the test tells such losses apart and counts them.
//!
//! # Invariants
//!
//! Always: no panic, every deadline the session returns after a drive lies in the future (checked by
//! [`Sim::drive`]), the broker saw no protocol violation, a QoS 0 message reaches the broker and comes back at
//! most once, and a QoS 2 message comes back to the client at most as often as the broker accepted it.
//!
//! Outgoing (client → broker), per QoS 1 or 2 ticket:
//!
//! - **Session kept**: completes exactly once, with `Published`; a QoS 1 message reached the broker at least
//!   once, a QoS 2 message exactly once.
//! - **Session lost, `Report`**: completes exactly once, with `Published` or `PublishFailed { reason:
//!   SessionLost }` (a ticket without any completion is a message lost silently and fails the run); a
//!   `Published` QoS 1 message reached the broker at least once, a `Published` QoS 2 message exactly once; no
//!   QoS 2 message reached the broker twice, failed or not — except across a loss hidden from the client.
//! - **Session lost, `Republish`**: completes exactly once, with `Published`, and reached the broker at least
//!   once. A QoS 2 message may reach the broker more than once, but only across a session loss: between any two
//!   of its arrivals the broker lost the session (it was accepted, the session with its PUBREL state was
//!   forgotten, and the client republished it as new, or resent it after a hidden loss). That is inherent to
//!   MQTT; it is counted and printed, and never allowed in a run that kept its session.
//! - Any policy: `PublishFailed { reason: Poison { connections } }` is allowed (the link here kills new
//!   connections often enough to look like a broker refusing the message, see `Config::poison_threshold`), only
//!   with `connections` at least the threshold and at least that many connections lost after the message was
//!   published; it is counted and printed. Such a QoS 2 message still reaches the broker at most once.
//! - `PublishFailed` with any other reason, or `SessionLost` under `Republish` or without a loss the client
//!   learned of, fails the run.
//!
//! Incoming (broker → client, through the client's own subscription): a broker that forgets its session also
//! forgets the deliveries it owed the client, and messages it accepts before the client subscribed again are not
//! routed at all; neither is the client's fault. So the guarantees hold for the messages the broker accepted
//! only while its session, with the subscription in it, was kept from then on to the end of the run: a QoS 1
//! message comes back at least once, a QoS 2 message exactly once (the latter also only if the last loss reached
//! the client, whose QoS 2 state otherwise still belongs to the old session). The test watches the broker after
//! every step of the simulation to find that point; when a session was restored and the subscription re-made
//! within one step, the messages accepted in that step are left out (the check errs on the side of checking
//! less, never on the side of a false failure). In a run that kept its session, that point is before the first
//! publish, and the run fails if any QoS 1 or 2 message is left out.
//!
//! # A slow application
//!
//! In two runs of five the application does not take every message at once (`seed % 5`, see [`Consumer`]): its
//! queue takes a random number of messages and then holds the next one back (`Session::hold_message`) until the
//! test lets it take more, so the session stops processing and the receive buffer and the link fill up. In one of
//! those two the application also acknowledges by hand (`Config::manual_ack`, a small Receive Maximum): it acks a
//! random selection of the messages it has, in random order, now and then, so the broker's window and the
//! session's acknowledgement record push back; tokens of ended connections are acked too and must be refused.
//! The invariants above hold unchanged, and the fake broker flags any PUBACK or PUBREC out of the order of its
//! PUBLISH packets (`[MQTT-4.6.0-2]`, `[MQTT-4.6.0-3]`) as a violation.
//!
//! # A process that crashes
//!
//! Every run keeps its session in a store (`Sim::enable_persistence`, durable at once or, in half the runs, only
//! at the next step, as a store that syncs on a timer). In one run of seven (`seed % 7 == 3`) the client's process
//! crashes, once or twice, at random points while messages flow (`Sim::crash`: the session is dropped without any
//! shutdown, what the store had not made durable is lost, a new process restores the session from the store and
//! connects again; the application subscribes again as it starts, unless it does so on every connection anyway).
//! A ticket is then the new process's if the store gave the message back to it (`Session::recovered`); else it
//! died with the old process and must have completed there. The invariants above hold unchanged, with two
//! allowances: a request (subscribe, unsubscribe) still waiting when its process died never completes, and an
//! incoming message the broker had no acknowledgement for when the process died (it was delivered to the old
//! process's application, which could not have acknowledged it) may come back once more per crash.
//!
//! A run ends once every ticket completed, the broker owes the client nothing, both are connected and the link
//! is quiet; it fails if that does not happen within 600 s of virtual time.
//!
//! A failure names the seed; `SEEDED_SEED=<n> cargo test -p mqtt-test --test seeded -- --nocapture` runs that
//! seed alone (add `SEEDED_FULL_TRACE=1` for the whole trace rather than its end). The fault mix of the whole
//! batch is printed at the end (shown with `--nocapture`).

use core::time::Duration;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Instant as WallInstant;

use mqtt_core::codec::{ProtocolVersion, QoS, SubscriptionOptions};
use mqtt_core::session::Disconnection;
use mqtt_core::{Config, PublishError, SessionLostPolicy, Ticket};
use mqtt_test::{Direction, LinkConfig, RecordedEvent, Sim, SimConfig};

#[path = "seeded/stats.rs"]
mod stats;
#[path = "seeded/ticket.rs"]
mod ticket;
#[path = "seeded/verdict.rs"]
mod verdict;
#[path = "seeded/watch.rs"]
mod watch;

use stats::Stats;
use ticket::{Request, Sent, completions_of, on_connect_requests, request_completions};
use verdict::{Ended, check};
use watch::{Watch, run_until};

/// Seeds run by the test.
const RUNS: u64 = 3000;
/// The subscription every message comes back through.
const MAIN: &str = "s/#";
/// Filters overlapping [`MAIN`] that the application habits subscribe and unsubscribe while messages flow, at QoS 2
/// too: the broker sends one copy per message at the highest QoS granted, so they change nothing delivered (at a
/// lower QoS, a broker that lost the session and got one of them back before [`MAIN`] would downgrade QoS 2
/// messages, which may then come back twice).
const SIDE: [&str; 2] = ["s/y/#", "s/+/z"];
/// Messages published per run.
const MESSAGES: u16 = 30;

/// A small deterministic generator for the test's own choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a run does with the broker's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// The broker keeps the session.
    Keep,
    /// The broker forgets it at random points; the client has this policy.
    Lose(SessionLostPolicy),
}

impl Plan {
    fn of(seed: u64) -> Self {
        if seed % 3 != 2 {
            Self::Keep
        } else if (seed / 6).is_multiple_of(2) {
            Self::Lose(SessionLostPolicy::Republish)
        } else {
            Self::Lose(SessionLostPolicy::Report)
        }
    }
}

/// How the run's application takes its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consumer {
    /// Every message at once, acknowledged by the session.
    Eager,
    /// A queue that fills and holds messages back; acknowledged by the session when taken.
    Slow,
    /// A queue that fills, and acknowledgements by hand, in random order, late.
    SlowManual,
}

impl Consumer {
    fn of(seed: u64) -> Self {
        match seed % 5 {
            3 => Self::Slow,
            4 => Self::SlowManual,
            _ => Self::Eager,
        }
    }
}

/// The client's process dies and restarts from its store; tickets and requests follow (see the module docs).
#[allow(clippy::too_many_arguments)]
fn crash(
    sim: &mut Sim,
    config: &Config<'_>,
    sent: &mut [Sent],
    requests: &mut Vec<Request>,
    segments: &mut Vec<(usize, usize)>,
    again: &mut BTreeMap<u16, usize>,
    on_connect: bool,
    stats: &mut Stats,
) {
    let c = sim.events().len();
    for r in requests.iter_mut().filter(|r| r.to == usize::MAX) {
        r.to = c;
        r.dead = request_completions(sim, r) == 0;
    }
    // Messages the broker has no acknowledgement for may reach the new process once more.
    for m in sim.broker().unacknowledged_to_client() {
        *again.entry(message_number(&m.payload)).or_default() += 1;
    }
    sim.note("the client's process crashes");
    sim.crash(config)
        .unwrap_or_else(|e| fail(sim, format!("restart: {e}")));
    let recovered: Vec<Ticket> = sim.session().recovered().map(|r| r.ticket).collect();
    stats.recovered += recovered.len() as u64;
    stats.crashes += 1;
    for m in sent.iter_mut().filter(|m| m.to == usize::MAX) {
        if recovered.contains(&m.ticket) {
            m.from = c;
        } else {
            m.to = c;
        }
    }
    segments.push((sim.on_connect_requests().len(), c));
    sim.connect();
    if !on_connect {
        // The application subscribes as it starts.
        let from = sim.events().len();
        if let Ok(ticket) = sim.subscribe(MAIN, QoS::ExactlyOnce) {
            requests.push(Request::new(
                ticket,
                format!("subscribe {MAIN} after a restart"),
                from,
            ));
        }
    }
}

/// Fails the run through [`Sim::fail`], after printing the whole trace to stderr if `SEEDED_FULL_TRACE` is set.
#[track_caller]
fn fail(sim: &Sim, message: impl Display) -> ! {
    if std::env::var_os("SEEDED_FULL_TRACE").is_some() {
        eprintln!("---- whole trace ----\n{}", sim.trace());
    }
    sim.fail(message)
}

fn message_number(payload: &[u8]) -> u16 {
    u16::from_be_bytes([payload[0], payload[1]])
}

/// The slow application's turn: its queue takes a few more messages (or stops taking any), and by hand it acks
/// some of the messages it has, in random order.
fn consume(sim: &mut Sim, rng: &mut Rng, consumer: Consumer, stats: &mut Stats) {
    if consumer == Consumer::Eager {
        return;
    }
    let budget = match rng.below(4) {
        0 => None,
        1 => Some(0),
        _ => Some(rng.below(4) as usize),
    };
    sim.set_message_budget(budget);
    if consumer != Consumer::SlowManual || sim.unacked().is_empty() {
        return;
    }
    for _ in 0..rng.below(sim.unacked().len() as u64 + 1) {
        let unacked = sim.unacked();
        let i = rng.below(unacked.len() as u64) as usize;
        let token = unacked[i];
        stats.acks_out_of_order += u64::from(i > 0);
        if !sim.ack(token) {
            stats.stale_acks += 1;
        }
    }
}

fn run(seed: u64) -> Stats {
    let mut stats = Stats {
        runs: 1,
        ..Stats::default()
    };
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let plan = Plan::of(seed);
    let consumer = Consumer::of(seed);
    let version = if seed.is_multiple_of(2) {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let config = Config {
        version,
        clean_start: false,
        session_expiry_interval: 3600,
        keep_alive: Duration::from_secs(30),
        // Topic aliases in both directions in half the 5.0 runs.
        topic_alias_maximum: if seed.is_multiple_of(4) { 3 } else { 0 },
        outgoing_topic_aliases: if seed.is_multiple_of(4) { 3 } else { 0 },
        on_session_lost: match plan {
            Plan::Keep => SessionLostPolicy::default(),
            Plan::Lose(policy) => policy,
        },
        manual_ack: consumer == Consumer::SlowManual,
        // A window the slow application fills (a 3.1.1 broker does not know it: see `Config::receive_maximum`).
        receive_maximum: match (consumer, version) {
            (Consumer::Eager, _) => 32,
            (_, ProtocolVersion::V5) => [2, 4, 8][rng.below(3) as usize],
            _ => 32,
        },
        ..Config::new("seeded")
    };
    let mut sim_config = SimConfig {
        link: LinkConfig {
            latency: Duration::from_millis(1 + rng.below(30)),
            jitter: Duration::from_millis(rng.below(20)),
            seed,
        },
        // Small buffers split packets across `poll_transmit` calls and make `handle_bytes` take less than offered.
        transmit_buffer: [16, 64, 4096][rng.below(3) as usize],
        rx_buffer: [64, 256, 4096][rng.below(3) as usize],
        ..SimConfig::default()
    };
    sim_config.broker.topic_alias_maximum = Some(3);
    sim_config.broker.topic_aliases_to_client = true;
    // Payloads that fit the receive buffer: a larger packet would be refused by the session, as it should.
    let big = if sim_config.rx_buffer == 4096 {
        1500
    } else {
        2
    };
    let mut sim = Sim::new(&config, sim_config).unwrap();
    // The process crashes: from a generator of its own, so that the other faults of a seed stay the same.
    let mut crash_rng = Rng(seed.wrapping_mul(0x94d0_49bb_1331_11eb) | 1);
    let crashing = seed % 7 == 3;
    sim.enable_persistence(crash_rng.below(2) == 0);
    let mut crashes = 0;
    let mut again: BTreeMap<u16, usize> = BTreeMap::new();
    let mut segments: Vec<(usize, usize)> = vec![(0, 0)];
    let mut watch = Watch::default();
    // The application's habits come from a generator of their own, so that the faults of a seed stay the same.
    let mut habits = Rng(seed.wrapping_mul(0xd1b5_4a32_d192_ed03) | 1);
    let on_connect = habits.below(2) == 0;
    sim.note(format!(
        "seed {seed}, {plan:?}, {consumer:?}{}",
        if on_connect {
            ", subscribes on every connection"
        } else {
            ""
        }
    ));
    stats.runs_slow = u64::from(consumer != Consumer::Eager);
    stats.runs_manual = u64::from(consumer == Consumer::SlowManual);
    // Requests of the habits: (ticket, what it was).
    let mut requests: Vec<Request> = Vec::new();
    let main = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        ..SubscriptionOptions::default()
    };
    if on_connect {
        // Paho's habit: subscribe in the connect callback, on every connection, session present or not.
        stats.runs_subscribe_on_connect = 1;
        sim.subscribe_on_connect(MAIN, main);
        sim.connect();
    } else {
        sim.connect();
        let ticket = sim.subscribe(MAIN, QoS::ExactlyOnce).unwrap();
        requests.push(Request::new(ticket, format!("subscribe {MAIN}"), 0));
    }
    let subscribed = run_until(
        &mut sim,
        &mut watch,
        |s| {
            s.events()
                .iter()
                .any(|e| matches!(e, RecordedEvent::Subscribed { .. }))
        },
        Duration::from_secs(5),
    );
    if !subscribed {
        fail(&sim, format!("seed {seed}: not subscribed after 5 s"));
    }

    let mut sent: Vec<Sent> = Vec::new();
    for i in 0..MESSAGES {
        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.below(3) as usize];
        let mut payload = i.to_be_bytes().to_vec();
        payload.resize([2, big][rng.below(2) as usize], 0xa5);
        let topic = ["s/x", "s/y/z", "s/a/b/c/d"][rng.below(3) as usize];
        // A full outbox is backpressure: let it drain (and the application go on taking messages) and try again.
        // For up to 600 s: connections the link ends before `stable_after` do not start the reconnect schedule
        // over, so a run whose link cuts often waits up to 75 s (60 s and its jitter) between attempts.
        let mut attempt = sim.publish(topic, &payload, qos);
        for _ in 0..6000 {
            if attempt != Err(PublishError::QueueFull) {
                break;
            }
            run_until(&mut sim, &mut watch, |_| false, Duration::from_millis(100));
            // The acknowledgements that make room may wait behind messages the application has to take first.
            consume(&mut sim, &mut rng, consumer, &mut stats);
            attempt = sim.publish(topic, &payload, qos);
        }
        let ticket =
            attempt.unwrap_or_else(|e| fail(&sim, format!("seed {seed}: publish {i}: {e}")));
        let now = sim.events().len();
        sent.push(Sent {
            i,
            qos,
            ticket,
            published_at: now,
            from: now,
            to: usize::MAX,
        });
        if rng.below(6) == 0 {
            let direction = if rng.below(2) == 0 {
                stats.cuts_to_broker += 1;
                Direction::ClientToBroker
            } else {
                stats.cuts_to_client += 1;
                Direction::BrokerToClient
            };
            let after = rng.below(120);
            if matches!(plan, Plan::Lose(_)) && rng.below(2) == 0 {
                stats.forgets += 1;
                sim.note("the broker forgets the session");
                sim.broker_mut().forget_session();
            }
            sim.note(format!("cut {direction} after {after} B"));
            sim.link_mut().cut_after(direction, after);
        }
        if crashing && crashes < 2 && crash_rng.below(10) == 0 {
            crashes += 1;
            crash(
                &mut sim,
                &config,
                &mut sent,
                &mut requests,
                &mut segments,
                &mut again,
                on_connect,
                &mut stats,
            );
        }
        consume(&mut sim, &mut rng, consumer, &mut stats);
        // Habits while messages flow: subscribe the main filter again (same options, so nothing delivered
        // changes), or subscribe and unsubscribe overlapping filters.
        match habits.below(8) {
            0 => {
                let from = sim.events().len();
                if let Ok(ticket) = sim.subscribe(MAIN, QoS::ExactlyOnce) {
                    requests.push(Request::new(
                        ticket,
                        format!("subscribe {MAIN} again"),
                        from,
                    ));
                }
            }
            1 => {
                let filter = SIDE[habits.below(2) as usize];
                let from = sim.events().len();
                if let Ok(ticket) = sim.subscribe(filter, QoS::ExactlyOnce) {
                    requests.push(Request::new(ticket, format!("subscribe {filter}"), from));
                }
            }
            2 => {
                let filter = SIDE[habits.below(2) as usize];
                let from = sim.events().len();
                if let Ok(ticket) = sim.unsubscribe(&[filter]) {
                    requests.push(Request::new(ticket, format!("unsubscribe {filter}"), from));
                }
            }
            _ => {}
        }
        let pause = Duration::from_millis(rng.below(25));
        run_until(&mut sim, &mut watch, |_| false, pause);
    }

    // The end: every ticket completed, nothing owed to the client, both ends connected, the link quiet.
    let qos12: Vec<Sent> = sent
        .iter()
        .filter(|m| m.qos != QoS::AtMostOnce)
        .copied()
        .collect();
    let completed = |s: &Sim| {
        qos12
            .iter()
            .filter(|m| completions_of(s, m.ticket, m.from, m.to) > 0)
            .count()
    };
    // Every request of the habits, and of the connect callback, completes exactly once (unless its process died).
    let all_requests = |s: &Sim| -> Vec<Request> {
        requests
            .iter()
            .cloned()
            .chain(on_connect_requests(s, &segments))
            .collect()
    };
    let settled = |s: &Sim| {
        completed(s) >= qos12.len()
            && all_requests(s)
                .iter()
                .all(|r| r.dead || request_completions(s, r) >= 1)
            && s.broker().pending_to_client() == 0
            && s.session().is_connected()
            && s.broker().is_connected()
            && !s.link().in_flight()
            && s.store().is_none_or(|store| store.pending() == 0)
    };
    // The slow application keeps its pace for a while longer, then catches up.
    for _ in 0..20 {
        if run_until(&mut sim, &mut watch, settled, Duration::from_millis(200)) {
            break;
        }
        consume(&mut sim, &mut rng, consumer, &mut stats);
    }
    let mut done = false;
    for _ in 0..600 {
        sim.set_message_budget(None);
        sim.ack_all();
        done = run_until(&mut sim, &mut watch, settled, Duration::from_secs(1));
        if done {
            break;
        }
    }
    stats.holds = sim.holds() as u64;
    stats.runs_crashed = u64::from(crashes > 0);
    if let Some(store) = sim.store() {
        stats.records = store.writes as u64;
        stats.snapshots = store.snapshots as u64;
    }
    if !done {
        fail(
            &sim,
            format!(
                "seed {seed}: not settled after 600 s: {} of {} tickets completed, {} messages owed to the client, \
             session connected: {}, broker connected: {}",
                completed(&sim),
                qos12.len(),
                sim.broker().pending_to_client(),
                sim.session().is_connected(),
                sim.broker().is_connected(),
            ),
        );
    }
    watch.observe(&sim);
    let all_requests = all_requests(&sim);
    stats.requests = all_requests.iter().filter(|r| !r.dead).count() as u64;
    for r in all_requests.iter().filter(|r| !r.dead) {
        let (ticket, what) = (r.ticket, &r.what);
        let n = request_completions(&sim, r);
        if n != 1 {
            fail(
                &sim,
                format!("seed {seed}: request {ticket} ({what}) completed {n} times"),
            );
        }
    }
    // The fake broker never breaks the protocol: a protocol error is the client's misjudgement.
    if let Some(e) = sim.events().iter().find(|e| {
        matches!(
            e,
            RecordedEvent::ConnectionLost {
                reason: Disconnection::Protocol(_)
            } | RecordedEvent::ConnectFailed {
                reason: Disconnection::Protocol(_)
            }
        )
    }) {
        fail(
            &sim,
            format!("seed {seed}: the client saw a protocol error: {e:?}"),
        );
    }

    check(
        &Ended {
            seed,
            sim: &sim,
            config: &config,
            plan,
            version,
            watch: &watch,
            sent: &sent,
            again: &again,
        },
        &mut stats,
    );
    stats
}

/// The seeds to run: `SEEDED_SEED=<n>` runs one, else `0..RUNS`.
fn seeds() -> Vec<u64> {
    match std::env::var("SEEDED_SEED") {
        Ok(seed) => vec![seed.parse().expect("SEEDED_SEED must be a number")],
        Err(_) => (0..RUNS).collect(),
    }
}

#[test]
fn seeded_faults_lose_no_qos1_and_duplicate_no_qos2() {
    let start = WallInstant::now();
    let seeds = seeds();
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut total = Stats::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let seeds = &seeds;
                scope.spawn(move || {
                    let mut stats = Stats::default();
                    for seed in seeds.iter().skip(w).step_by(workers) {
                        stats += run(*seed);
                    }
                    stats
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(stats) => total += stats,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    total.print(start.elapsed(), workers);
}
