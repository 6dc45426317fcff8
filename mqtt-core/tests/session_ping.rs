//! A ping the application asks for ([`Session::ping`]): a PINGREQ now, one in flight at a time, under the keep
//! alive's PINGRESP deadline, answered by `Event::PingResponse` with the round trip. And the times bytes were last
//! sent and received (`Stats::last_sent_at`, `last_received_at`).

use core::time::Duration;

use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_core::session::{Disconnection, Ping, PingError};
use mqtt_core::{Config, Instant};
use mqtt_test::{RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, secs};

fn config(version: ProtocolVersion, keep_alive: Duration) -> Config<'static> {
    Config {
        version,
        keep_alive,
        ping_timeout: secs(5),
        ..Config::new("ping")
    }
}

fn pongs(sim: &Sim) -> Vec<Duration> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::PingResponse { round_trip } => Some(*round_trip),
            _ => None,
        })
        .collect()
}

fn lost(sim: &Sim) -> Vec<Disconnection> {
    sim.events()
        .iter()
        .filter_map(|e| match e {
            RecordedEvent::ConnectionLost { reason } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn ping(sim: &mut Sim) -> Result<Ping, PingError> {
    let now = sim.now();
    let result = sim.session_mut().ping(now);
    sim.drive();
    result
}

/// The link's default one-way latency is 10 ms: PINGREQ there, PINGRESP back.
const ROUND_TRIP: Duration = Duration::from_millis(20);

#[test]
fn ping_sends_a_pingreq_now_and_reports_the_round_trip() {
    for version in VERSIONS {
        // A keep alive far off: only the application's ping goes out.
        let mut sim = simulated::connected(&config(version, secs(600)), SimConfig::default());
        let before = sim.broker().pings();
        assert_eq!(ping(&mut sim), Ok(Ping::Sent), "{version}");
        assert!(sim.session().is_pinging());
        sim.run_until_idle();
        // [MQTT-3.12.4-1]: the broker answers PINGREQ with PINGRESP.
        assert_eq!(sim.broker().pings(), before + 1, "{version}");
        assert_eq!(pongs(&sim), [ROUND_TRIP], "{version}");
        assert!(!sim.session().is_pinging());
        assert!(sim.session().is_connected());
    }
}

#[test]
fn a_second_ping_while_one_is_outstanding_sends_no_other() {
    for version in VERSIONS {
        let mut sim = simulated::connected(&config(version, secs(600)), SimConfig::default());
        let before = sim.broker().pings();
        assert_eq!(ping(&mut sim), Ok(Ping::Sent));
        assert_eq!(ping(&mut sim), Ok(Ping::AlreadyOutstanding), "{version}");
        sim.run_until_idle();
        assert_eq!(sim.broker().pings(), before + 1, "{version}");
        // One PINGRESP answers both calls: one event.
        assert_eq!(pongs(&sim), [ROUND_TRIP], "{version}");
        // Answered: the next call sends again.
        assert_eq!(ping(&mut sim), Ok(Ping::Sent), "{version}");
        sim.run_until_idle();
        assert_eq!(sim.broker().pings(), before + 2, "{version}");
    }
}

#[test]
fn an_unanswered_ping_loses_the_connection_after_the_ping_timeout() {
    for version in VERSIONS {
        let mut sim = simulated::connected(&config(version, secs(600)), SimConfig::default());
        sim.broker_mut().set_answer_pings(false);
        assert_eq!(ping(&mut sim), Ok(Ping::Sent));
        sim.run_for(Duration::from_millis(4_900));
        assert!(lost(&sim).is_empty(), "{version}: {:?}", sim.events());
        sim.run_for(secs(1));
        assert_eq!(lost(&sim), [Disconnection::KeepAliveTimeout], "{version}");
        assert!(pongs(&sim).is_empty(), "{version}");
        assert!(!sim.session().is_pinging());
    }
}

#[test]
fn a_ping_with_keep_alive_off_still_has_the_ping_timeout() {
    let mut sim = simulated::connected(
        &config(ProtocolVersion::V5, Duration::ZERO),
        SimConfig::default(),
    );
    sim.broker_mut().set_answer_pings(false);
    assert_eq!(ping(&mut sim), Ok(Ping::Sent));
    sim.run_for(secs(10));
    assert_eq!(lost(&sim), [Disconnection::KeepAliveTimeout]);
}

#[test]
fn ping_before_the_broker_accepted_the_connection_is_refused() {
    let mut sim = Sim::new(
        &config(ProtocolVersion::V311, secs(60)),
        SimConfig::default(),
    )
    .expect("valid configuration");
    assert_eq!(ping(&mut sim), Err(PingError::NotConnected));
    sim.connect();
    // CONNECT sent, CONNACK not here yet.
    assert_eq!(ping(&mut sim), Err(PingError::NotConnected));
    sim.run_until_idle();
    assert_eq!(ping(&mut sim), Ok(Ping::Sent));
    assert_eq!(sim.broker().pings(), 0, "not yet delivered");
    sim.run_until_idle();
    assert_eq!(sim.broker().pings(), 1);
}

#[test]
fn keep_alive_pings_are_not_reported_as_ping_responses() {
    for version in VERSIONS {
        let mut sim = simulated::connected(&config(version, secs(10)), SimConfig::default());
        sim.run_for(secs(60));
        assert!(sim.broker().pings() >= 5, "{version}");
        assert!(pongs(&sim).is_empty(), "{version}: {:?}", sim.events());
    }
}

#[test]
fn a_ping_asked_on_a_lost_connection_is_not_answered_on_the_next() {
    let mut sim = simulated::connected(
        &config(ProtocolVersion::V311, secs(10)),
        SimConfig::default(),
    );
    sim.broker_mut().set_answer_pings(false);
    assert_eq!(ping(&mut sim), Ok(Ping::Sent));
    sim.run_for(secs(6));
    assert_eq!(lost(&sim), [Disconnection::KeepAliveTimeout]);
    sim.broker_mut().set_answer_pings(true);
    assert!(sim.run_until(|s| s.session().is_connected(), secs(30)));
    // Keep-alive pings on the new connection are answered, and none is reported.
    sim.run_for(secs(30));
    assert!(sim.broker().pings() >= 3);
    assert!(pongs(&sim).is_empty(), "{:?}", sim.events());
}

#[test]
fn stats_record_when_bytes_were_last_sent_and_received() {
    for version in VERSIONS {
        // No keep alive: nothing is exchanged unless the application does something.
        let mut sim = Sim::new(&config(version, Duration::ZERO), SimConfig::default())
            .expect("valid configuration");
        let stats = sim.session().stats();
        assert_eq!((stats.last_sent_at, stats.last_received_at), (None, None));
        sim.connect();
        assert!(sim.run_until(|s| s.session().is_connected(), secs(5)));
        sim.run_until_idle();
        let connected = sim.session().stats();
        let (Some(sent), Some(received)) = (connected.last_sent_at, connected.last_received_at)
        else {
            panic!("{version}: CONNECT and CONNACK not recorded: {connected:?}");
        };
        // CONNECT out, CONNACK back one round trip later.
        assert_eq!(received, sent + ROUND_TRIP, "{version}");
        sim.run_for(secs(30));
        assert_eq!(
            sim.session().stats(),
            connected,
            "{version}: a quiet link changes nothing"
        );
        let at: Instant = sim.now();
        sim.publish("t", b"x", QoS::AtLeastOnce).expect("queued");
        assert_eq!(sim.session().stats().last_sent_at, Some(at), "{version}");
        assert_eq!(sim.session().stats().last_received_at, Some(received));
        sim.run_until_idle();
        // The PUBACK, one round trip later.
        assert_eq!(
            sim.session().stats().last_received_at,
            Some(at + ROUND_TRIP),
            "{version}"
        );
    }
}
