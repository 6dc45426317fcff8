//! Reconnects the application asks for, paced: a handler that calls `reconnect()` on every failure (paho's
//! `on_connection_lost: reconnect()`, a "retry" on every `Unreachable`) must not turn a broker that refuses or drops
//! connections into a loop of attempts as fast as the machine can make them. The first reconnect the application
//! asks for goes at once; one asked for right after (within the policy's first delay, at most 1 s) an attempt it
//! asked for failed waits for the reconnect schedule's next attempt, and the schedule keeps growing. A reconnect
//! after a healthy connection, or a while after a failure, happens at once. A real `Session` against
//! `mqtt_test::FakeBroker` over a simulated link, in virtual time.

use core::time::Duration;

use mqtt_core::codec::ProtocolVersion;
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::{Config, SessionState};
use mqtt_test::{BrokerConfig, RecordedEvent, Sim, SimConfig};

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

fn config(version: ProtocolVersion, reconnect: ReconnectPolicy) -> Config<'static> {
    Config {
        version,
        reconnect,
        ..Config::new("pacing")
    }
}

/// The default policy without jitter, for exact delays.
fn exact() -> ReconnectPolicy {
    ReconnectPolicy {
        jitter_permille: 0,
        ..ReconnectPolicy::default()
    }
}

/// Which events the application's handler answers with `reconnect()`.
#[derive(Debug, Clone, Copy)]
enum Habit {
    /// Every failed attempt and every loss (paho's `on_connection_lost`, a retry on `Unreachable`).
    OnEveryFailure,
    /// Every announced reconnect (a handler that "helps" the schedule along).
    OnEveryReconnecting,
}

impl Habit {
    fn answers(self, event: &RecordedEvent) -> bool {
        match self {
            Self::OnEveryFailure => matches!(
                event,
                RecordedEvent::ConnectFailed { .. }
                    | RecordedEvent::ConnectionLost { .. }
                    | RecordedEvent::GaveUp { .. }
            ),
            Self::OnEveryReconnecting => matches!(event, RecordedEvent::Reconnecting { .. }),
        }
    }
}

/// Runs `duration` of virtual time with a handler that has `habit`, in at most `max_steps` steps. Returns the
/// number of `reconnect()` calls the handler made.
fn run_with_handler(sim: &mut Sim, habit: Habit, duration: Duration, max_steps: usize) -> usize {
    let start = sim.now();
    let end = start + duration;
    let mut seen = sim.events().len();
    let mut calls = 0;
    for _ in 0..max_steps {
        if sim.now() >= end {
            return calls;
        }
        let answer = sim.events()[seen..].iter().any(|e| habit.answers(e));
        seen = sim.events().len();
        if answer {
            sim.reconnect();
            calls += 1;
        }
        if !sim.step() {
            break;
        }
    }
    assert!(
        sim.now() >= end,
        "{habit:?}: {max_steps} steps took only {:?} of virtual time: the handler's reconnects spin\n{}",
        sim.now().saturating_duration_since(start),
        sim.trace().tail(40)
    );
    calls
}

fn count(sim: &Sim, what: impl Fn(&RecordedEvent) -> bool) -> usize {
    sim.events().iter().filter(|e| what(e)).count()
}

/// Failed attempts so far.
fn failures(sim: &Sim) -> usize {
    count(sim, |e| matches!(e, RecordedEvent::ConnectFailed { .. }))
}

/// A link to a broker that accepts each connection and drops it at once.
fn drops_at_once() -> SimConfig {
    SimConfig {
        broker: BrokerConfig {
            drop_after_connack: true,
            ..BrokerConfig::default()
        },
        ..SimConfig::default()
    }
}

/// The application's reconnect now: connected within a second (the link takes 10 ms each way), not held back.
fn reconnects_at_once(sim: &mut Sim, version: ProtocolVersion) {
    sim.reconnect();
    assert!(
        sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1)),
        "{version}: {}",
        sim.trace().tail(20)
    );
}

/// When each attempt started (the session's `Open`s, from the trace).
fn attempt_times(sim: &Sim) -> Vec<Duration> {
    let start = SimConfig::default().start;
    sim.trace()
        .entries()
        .filter(|entry| entry.text.contains("poll_transport → Open"))
        .map(|entry| entry.at.saturating_duration_since(start))
        .collect()
}

/// The gaps between consecutive attempts, to the nearest second (the link takes 10 ms each way).
fn gaps(times: &[Duration]) -> Vec<u64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis().div_ceil(1000 / 2) as u64 / 2)
        .collect()
}

#[test]
fn a_handler_that_reconnects_on_every_failed_attempt_retries_on_the_growing_schedule_not_in_a_spin()
{
    for version in VERSIONS {
        for policy in [
            exact(),
            ReconnectPolicy {
                jitter_permille: 0,
                ..ReconnectPolicy::manual()
            },
        ] {
            let mut sim = Sim::new(&config(version, policy), SimConfig::default()).unwrap();
            sim.link_mut().set_reachable(false);
            sim.connect();
            let calls = run_with_handler(
                &mut sim,
                Habit::OnEveryFailure,
                Duration::from_secs(20),
                10_000,
            );
            // The first attempt; the handler's first retry at once; then the schedule: 1, 2, 4, 8 and 16 s (the
            // last attempt comes after the 20 s).
            assert_eq!(
                gaps(&attempt_times(&sim)),
                [0, 1, 2, 4, 8, 16],
                "{version} {policy:?}: {calls} reconnect calls\n{}",
                sim.trace().tail(30)
            );
            // A "retry now" a while after the last failure is not held back, and takes the broker that answers.
            sim.link_mut().set_reachable(true);
            sim.reconnect();
            assert!(
                sim.run_until(|s| s.session().is_connected(), Duration::from_millis(100)),
                "{version} {policy:?}: {}",
                sim.trace().tail(30)
            );
        }
    }
}

#[test]
fn a_handler_that_reconnects_on_every_loss_to_a_broker_that_drops_at_once_is_paced() {
    for version in VERSIONS {
        let mut sim = Sim::new(&config(version, exact()), drops_at_once()).unwrap();
        sim.connect();
        run_with_handler(
            &mut sim,
            Habit::OnEveryFailure,
            Duration::from_secs(20),
            10_000,
        );
        // As with refusals: a connection that ends at once is a failed attempt.
        assert_eq!(gaps(&attempt_times(&sim)), [0, 1, 2, 4, 8, 16], "{version}");
    }
}

#[test]
fn a_handler_that_reconnects_on_every_announced_reconnect_does_not_loop() {
    for version in VERSIONS {
        let mut sim = Sim::new(&config(version, exact()), SimConfig::default()).unwrap();
        sim.link_mut().set_reachable(false);
        sim.connect();
        run_with_handler(
            &mut sim,
            Habit::OnEveryReconnecting,
            Duration::from_secs(10),
            10_000,
        );
        let attempts = count(&sim, |e| matches!(e, RecordedEvent::ConnectFailed { .. }));
        assert!(
            (4..=11).contains(&attempts),
            "{version}: {attempts} attempts in 10 s"
        );
    }
}

#[test]
fn a_reconnect_long_after_the_last_failure_happens_at_once() {
    for version in VERSIONS {
        let mut sim = Sim::new(&config(version, exact()), SimConfig::default()).unwrap();
        sim.link_mut().set_reachable(false);
        sim.connect();
        // Attempts fail at 0.01, 1.02 and 3.03 s; the next one is due at 7.03 s.
        sim.run_for(Duration::from_millis(4_500));
        assert_eq!(sim.session().state(), SessionState::Waiting, "{version}");
        sim.link_mut().set_reachable(true);
        // "Retry now", 1.5 s into a wait of 4 s: the last failure was long enough ago.
        sim.reconnect();
        assert!(
            sim.run_until(|s| s.session().is_connected(), Duration::from_millis(200)),
            "{version}: {:?}",
            sim.events()
        );
        // From a healthy connection too: at once, with no delay announced.
        let before = sim.events().len();
        sim.run_for(Duration::from_secs(5));
        sim.reconnect();
        assert!(
            sim.run_until(
                |s| s.events()[before..]
                    .iter()
                    .any(|e| matches!(e, RecordedEvent::Connected { .. })),
                Duration::from_millis(200)
            ),
            "{version}: {:?}",
            &sim.events()[before..]
        );
        assert!(
            !sim.events()[before..].iter().any(
                |e| matches!(e, RecordedEvent::Reconnecting { delay, .. } if !delay.is_zero())
            ),
            "{version}: {:?}",
            &sim.events()[before..]
        );
    }
}

#[test]
fn a_reconnect_right_after_a_failed_reconnect_waits_for_the_schedules_next_attempt_and_says_so() {
    for version in VERSIONS {
        let policy = ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::manual()
        };
        let mut sim = Sim::new(&config(version, policy), SimConfig::default()).unwrap();
        sim.link_mut().set_reachable(false);
        sim.connect();
        assert!(sim.run_until(|s| failures(s) == 1, Duration::from_secs(1)));
        // The first reconnect the application asks for goes at once; it fails too.
        sim.reconnect();
        assert_eq!(sim.session().state(), SessionState::Opening, "{version}");
        assert!(sim.run_until(|s| failures(s) == 2, Duration::from_secs(1)));
        let failed = sim.now();
        sim.link_mut().set_reachable(true);
        sim.run_for(Duration::from_millis(300));
        let before = sim.events().len();
        let now = sim.now();
        // Twice, as a handler reacting to two events would: one announcement, one attempt.
        sim.reconnect();
        sim.reconnect();
        assert_eq!(sim.session().state(), SessionState::Waiting, "{version}");
        let announced: Vec<_> = sim.events()[before..]
            .iter()
            .filter_map(|e| match e {
                RecordedEvent::Reconnecting { delay, .. } => Some(*delay),
                _ => None,
            })
            .collect();
        let due = failed + Duration::from_secs(1);
        assert_eq!(
            announced,
            [due.saturating_duration_since(now)],
            "{version}: one announcement, the wait for the schedule's first delay"
        );
        assert!(sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1)));
        assert!(sim.now() >= due, "{version}");
        assert_eq!(sim.broker().connections().len(), 1, "{version}");
    }
}

#[test]
fn the_first_reconnect_after_a_quick_loss_is_at_once_even_with_a_long_schedule() {
    // paho's `on_connection_lost: reconnect()` once: the connection comes back without waiting for the schedule
    // (here ten minutes), although it had lasted only a moment.
    for version in VERSIONS {
        let policy = ReconnectPolicy::fixed(Duration::from_secs(600));
        let mut sim = Sim::new(&config(version, policy), SimConfig::default()).unwrap();
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), Duration::from_secs(1)));
        sim.broker_mut().close_connection();
        assert!(sim.run_until(|s| !s.session().is_connected(), Duration::from_secs(1)));
        reconnects_at_once(&mut sim, version);
    }
}

#[test]
fn a_handler_that_reconnects_on_every_failure_over_a_failover_list_of_unreachable_brokers_is_paced()
{
    // paho's `on_connection_lost: reconnect()` with two broker addresses, both down: the failover list's
    // attempts go at once within a round, and the handler's reconnect must not turn that into a spin.
    for version in VERSIONS {
        let sim_config = SimConfig {
            failover: vec![BrokerConfig::default()],
            ..SimConfig::default()
        };
        let mut sim = Sim::new(&config(version, exact()), sim_config).unwrap();
        sim.set_broker_reachable(0, false);
        sim.set_broker_reachable(1, false);
        sim.connect();
        let calls = run_with_handler(
            &mut sim,
            Habit::OnEveryFailure,
            Duration::from_secs(20),
            10_000,
        );
        let times = attempt_times(&sim);
        // Rounds over both brokers at 0, 1, 3, 7 and 15 s (the handler's reconnect restarts the attempt the
        // session had just opened to the next broker, so a round counts three opens): not thousands of them, and
        // not stalled either.
        assert!(
            times.len() <= 20,
            "{version}: {} attempts and {calls} reconnect calls in 20 s\n{}",
            times.len(),
            sim.trace().tail(30)
        );
        assert!(
            times.last().is_some_and(|&t| t >= Duration::from_secs(15)),
            "{version}: {times:?}"
        );
    }
}

#[test]
fn reconnect_disconnect_and_connect_in_quick_succession_after_failures_end_connected() {
    type Step = fn(&mut Sim);
    let orders: [(&str, [Step; 3]); 3] = [
        (
            "reconnect, disconnect, connect",
            [Sim::reconnect, Sim::disconnect, Sim::connect],
        ),
        (
            "disconnect, connect, reconnect",
            [Sim::disconnect, Sim::connect, Sim::reconnect],
        ),
        (
            "disconnect, reconnect, connect",
            [Sim::disconnect, Sim::reconnect, Sim::connect],
        ),
    ];
    for version in VERSIONS {
        for (name, order) in orders {
            let mut sim = Sim::new(&config(version, exact()), SimConfig::default()).unwrap();
            sim.link_mut().set_reachable(false);
            sim.connect();
            assert!(sim.run_until(|s| failures(s) == 1, Duration::from_secs(1)));
            sim.reconnect();
            assert!(sim.run_until(|s| failures(s) == 2, Duration::from_secs(1)));
            sim.link_mut().set_reachable(true);
            let mut states = Vec::new();
            for step in order {
                step(&mut sim);
                states.push(sim.session().state());
            }
            assert!(
                sim.run_until(|s| s.session().is_connected(), Duration::from_secs(5)),
                "{version} {name}: states {states:?}\n{}",
                sim.trace().tail(30)
            );
        }
    }
}

#[test]
fn a_retry_now_a_few_seconds_after_a_failed_retry_goes_at_once_even_with_a_long_schedule() {
    // A "retry now" button under a one-minute schedule: the user's first retry fails; five seconds later, the
    // broker back, the user presses it again. That is no handler retrying in a loop: it must not wait the rest
    // of the minute.
    for version in VERSIONS {
        let policy = ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::fixed(Duration::from_secs(60))
        };
        let mut sim = Sim::new(&config(version, policy), SimConfig::default()).unwrap();
        sim.link_mut().set_reachable(false);
        sim.connect();
        assert!(sim.run_until(|s| failures(s) == 1, Duration::from_secs(1)));
        sim.reconnect();
        assert!(sim.run_until(|s| failures(s) == 2, Duration::from_secs(1)));
        sim.run_for(Duration::from_secs(5));
        sim.link_mut().set_reachable(true);
        reconnects_at_once(&mut sim, version);
    }
}

#[test]
fn a_handler_that_reconnects_on_every_announced_reconnect_to_a_broker_that_drops_at_once_is_paced()
{
    for version in VERSIONS {
        let mut sim = Sim::new(&config(version, exact()), drops_at_once()).unwrap();
        sim.connect();
        run_with_handler(
            &mut sim,
            Habit::OnEveryReconnecting,
            Duration::from_secs(20),
            10_000,
        );
        let attempts = attempt_times(&sim).len();
        assert!(
            (5..=12).contains(&attempts),
            "{version}: {attempts} attempts in 20 s: {:?}",
            gaps(&attempt_times(&sim))
        );
    }
}

#[test]
fn the_window_in_which_a_retry_counts_as_a_reflex_is_the_policys_paced_retry_window() {
    // With a 10 s window under a 60 s schedule, a retry 5 s after a failed retry waits for the schedule; with
    // the default 1 s it goes at once (see the test above).
    for version in VERSIONS {
        let policy = ReconnectPolicy {
            paced_retry_window: Duration::from_secs(10),
            ..ReconnectPolicy::fixed(Duration::from_secs(60))
        };
        let mut sim = Sim::new(&config(version, policy), SimConfig::default()).unwrap();
        sim.link_mut().set_reachable(false);
        sim.connect();
        assert!(sim.run_until(|s| failures(s) == 1, Duration::from_secs(1)));
        sim.reconnect();
        assert!(sim.run_until(|s| failures(s) == 2, Duration::from_secs(1)));
        sim.run_for(Duration::from_secs(5));
        sim.link_mut().set_reachable(true);
        sim.reconnect();
        assert_eq!(sim.session().state(), SessionState::Waiting, "{version}");
        assert!(
            !sim.run_until(|s| s.session().is_connected(), Duration::from_secs(50)),
            "{version}: not before the schedule's 60 s"
        );
        assert!(sim.run_until(|s| s.session().is_connected(), Duration::from_secs(10)));
    }
}
