//! Keep alive while the client itself pauses (a held message, a full acknowledgement record, a full receive
//! buffer): the PINGRESP may wait unread behind the paused input, so a ping deadline does not end the connection
//! during a pause, and PINGREQ still goes out every keep alive interval. `[MQTT-3.1.2-23]`

use mqtt_core::codec::{ConnAck, Packet, ProtocolVersion, Publish, QoS};
use mqtt_core::session::Disconnection;
use mqtt_core::{Buffers, Config, Event, Instant, Session, TransportAction};
use mqtt_test::{RecordedEvent, Sim, SimConfig};

mod simulated;
use simulated::{VERSIONS, inject, manual, secs, subscribed};

fn payloads(sim: &Sim) -> Vec<String> {
    sim.messages()
        .iter()
        .map(|m| m.payload_str().into_owned())
        .collect()
}

fn lost(sim: &Sim) -> bool {
    sim.events()
        .iter()
        .any(|e| matches!(e, RecordedEvent::ConnectionLost { .. }))
}

#[test]
fn a_keep_alive_under_a_second_is_sent_as_one_second_not_as_off() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: core::time::Duration::from_millis(500),
            ..manual(version)
        };
        let sim = simulated::connected(&config, SimConfig::default());
        let sent: Vec<u16> = sim
            .broker()
            .connections()
            .iter()
            .map(|c| c.keep_alive)
            .collect();
        // Zero would mean no keep alive at all [MQTT-3.1.2-10]: the session would never find a dead link out.
        assert_eq!(sent, [1], "{version}");
    }
}

#[test]
fn holding_a_message_past_the_ping_timeout_keeps_the_connection() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: secs(10),
            ping_timeout: secs(5),
            ..manual(version)
        };
        let mut sim = subscribed(&config, SimConfig::default());
        sim.set_message_budget(Some(0));
        inject(&mut sim, "t/1", b"held", QoS::AtLeastOnce);
        let pings = sim.broker().pings();
        sim.run_for(secs(120));
        assert!(!lost(&sim), "{version}: {:?}", sim.events());
        assert!(sim.session().is_paused());
        // PINGREQ every keep alive interval: the broker must not drop the client either.
        assert!(
            sim.broker().pings() - pings >= 10,
            "{version}: {} pings",
            sim.broker().pings()
        );
        sim.set_message_budget(None);
        sim.run_for(secs(60));
        assert!(!lost(&sim), "{version}");
        assert_eq!(payloads(&sim), ["held"]);
        assert!(sim.session().is_connected());
    }
}

#[test]
fn a_full_acknowledgement_record_past_the_ping_timeout_keeps_the_connection() {
    let config = Config {
        keep_alive: secs(10),
        ping_timeout: secs(5),
        receive_maximum: 2,
        ..manual(ProtocolVersion::V311)
    };
    let mut sim = subscribed(&config, SimConfig::default());
    for i in 0..6 {
        inject(&mut sim, "t/1", format!("{i}").as_bytes(), QoS::AtLeastOnce);
    }
    sim.run_for(secs(120));
    assert!(sim.session().is_paused());
    assert!(!lost(&sim), "{:?}", sim.events());
    for _ in 0..6 {
        sim.ack_all();
        sim.run_until_idle();
    }
    assert_eq!(sim.messages().len(), 6);
    assert!(!sim.session().is_paused());
    sim.run_for(secs(60));
    assert!(!lost(&sim));
}

#[test]
fn a_broker_that_died_during_a_pause_is_found_out_after_it() {
    for version in VERSIONS {
        let config = Config {
            keep_alive: secs(10),
            ping_timeout: secs(5),
            ..manual(version)
        };
        let mut sim = subscribed(&config, SimConfig::default());
        sim.set_message_budget(Some(0));
        inject(&mut sim, "t/1", b"held", QoS::AtLeastOnce);
        sim.run_until_idle();
        sim.broker_mut().set_answer_pings(false);
        sim.run_for(secs(120));
        assert!(!lost(&sim), "{version}: lost while paused");
        let resumed = sim.now();
        sim.set_message_budget(None);
        assert!(
            sim.run_until(lost, secs(60)),
            "{version}: a silent broker was never found out"
        );
        // Bounded: the ping deadline starts again when the pause ends.
        assert!(
            sim.now() - resumed <= secs(5),
            "{version}: after {:?}",
            sim.now() - resumed
        );
        assert!(sim.events().contains(&RecordedEvent::ConnectionLost {
            reason: Disconnection::KeepAliveTimeout
        }));
    }
}

// ----- by hand: exact times -----

fn encode(p: Packet<'_>, v: ProtocolVersion) -> Vec<u8> {
    let mut buf = vec![0; p.encoded_len(v)];
    p.encode(v, &mut buf).unwrap();
    buf
}

/// What the session writes at `now`, as a binding would send it.
fn drain(s: &mut Session<'_>, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while let Some(n) = s.poll_transmit(now, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

const PINGREQ: [u8; 2] = [0xc0, 0x00];

/// A session whose CONNECT goes out at `t0` and whose CONNACK is read at `connack_at`.
fn connected_by_hand(config: &Config<'_>, t0: Instant, connack_at: Instant) -> Session<'static> {
    let mut s = Session::new(config, Buffers::owned(128, 1024, 128)).unwrap();
    s.connect(t0);
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    s.handle_transport_up(t0);
    drain(&mut s, t0);
    let connack = encode(Packet::ConnAck(ConnAck::default()), config.version);
    s.handle_bytes(&connack, connack_at);
    assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
    s
}

/// The binding stops calling `poll_event` (its queues are full) and the receive buffer fills: the PINGRESP cannot
/// be read, so the ping deadline waits for the pause to end, then applies from then on.
#[test]
fn a_full_receive_buffer_defers_the_ping_deadline_until_it_is_read() {
    let v = ProtocolVersion::V5;
    let config = Config {
        version: v,
        keep_alive: secs(10),
        ping_timeout: secs(5),
        ..Config::new("rx")
    };
    let t0 = Instant::from_millis(0);
    let mut s = connected_by_hand(&config, t0, t0);

    let ping_at = t0 + secs(10);
    assert_eq!(s.poll_timeout(), Some(ping_at));
    s.handle_timeout(ping_at);
    drain(&mut s, ping_at);
    // Messages fill the receive buffer; the binding reads no events.
    let publish = encode(
        Packet::Publish(Publish {
            topic: "t/fill",
            payload: &[0x55; 20],
            ..Publish::default()
        }),
        v,
    );
    while s.handle_bytes(&publish, ping_at) == publish.len() {}
    assert!(s.is_paused());
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, ping_at + secs(5));
    s.handle_timeout(deadline);
    assert_eq!(s.poll_transport(), None, "lost while it could not read");
    assert!(s.is_connected());

    // Reading again 30 s later, with no PINGRESP in what was buffered: lost ping_timeout after that.
    let resumed = deadline + secs(30);
    s.handle_timeout(resumed);
    while let Some(event) = s.poll_event() {
        assert!(matches!(event, Event::Message(_)), "{event:?}");
    }
    assert!(!s.is_paused());
    drain(&mut s, resumed);
    assert_eq!(s.poll_timeout(), Some(resumed + secs(5)));
    s.handle_timeout(resumed + secs(5));
    assert_eq!(s.poll_transport(), Some(TransportAction::Close));
    assert_eq!(
        s.poll_event(),
        Some(Event::ConnectionLost {
            reason: Disconnection::KeepAliveTimeout
        })
    );
}

#[test]
fn a_pingresp_read_late_behind_a_held_message_sends_the_next_ping_at_once() {
    // PINGREQ at 10 s, answered at once, but the answer sits behind two messages the application holds. The pause
    // ends for a moment at 18 s (the ping deadline starts again: 23 s) and the PINGRESP is read at 21 s, past the
    // next keep alive (20 s): nothing was sent for the keep alive interval, so PINGREQ goes out now, and the next
    // deadline lies ahead (found by the acknowledgement property test: a deadline in the past).
    for v in VERSIONS {
        let config = Config {
            version: v,
            keep_alive: secs(10),
            ping_timeout: secs(5),
            ..Config::new("late")
        };
        let t0 = Instant::from_millis(0);
        let mut s = connected_by_hand(&config, t0, t0);
        let at = |n| t0 + secs(n);
        s.handle_timeout(at(10));
        assert_eq!(drain(&mut s, at(10)), PINGREQ);
        let mut bytes = Vec::new();
        for payload in [b"a", b"b"] {
            let message = Publish {
                topic: "t/late",
                payload,
                ..Publish::default()
            };
            bytes.extend(encode(Packet::Publish(message), v));
        }
        bytes.extend(encode(Packet::PingResp, v));
        assert_eq!(s.handle_bytes(&bytes, at(10)), bytes.len());
        assert!(matches!(s.poll_event(), Some(Event::Message(_))));
        assert!(s.hold_message());
        s.handle_timeout(at(15));
        assert_eq!(
            s.poll_transport(),
            None,
            "{v}: the ping deadline waits for the pause"
        );
        // The application takes "a" and holds "b".
        assert!(drain(&mut s, at(18)).is_empty());
        assert!(matches!(
            s.poll_event(),
            Some(Event::Message(Publish { payload: b"a", .. }))
        ));
        assert!(matches!(
            s.poll_event(),
            Some(Event::Message(Publish { payload: b"b", .. }))
        ));
        assert!(s.hold_message());
        assert_eq!(s.poll_timeout(), Some(at(23)), "{v}");
        // At 21 s it takes "b", and the PINGRESP behind it is read.
        assert!(drain(&mut s, at(21)).is_empty());
        assert!(matches!(
            s.poll_event(),
            Some(Event::Message(Publish { payload: b"b", .. }))
        ));
        assert_eq!(s.poll_event(), None);
        assert_eq!(drain(&mut s, at(21)), PINGREQ, "{v}");
        assert_eq!(
            s.poll_timeout(),
            Some(at(26)),
            "{v}: the new ping's deadline"
        );
        assert!(s.is_connected());
    }
}

#[test]
fn a_connack_slower_than_the_keep_alive_sends_a_ping_at_once() {
    // CONNECT at 0 s, CONNACK read at 12 s with a keep alive of 10 s (the connect timeout is 30 s): nothing was
    // sent for longer than the keep alive, so PINGREQ goes out now rather than at a deadline already past.
    for v in VERSIONS {
        let config = Config {
            version: v,
            keep_alive: secs(10),
            ..Config::new("slow-connack")
        };
        let t0 = Instant::from_millis(0);
        let mut s = connected_by_hand(&config, t0, t0 + secs(12));
        assert_eq!(drain(&mut s, t0 + secs(12)), PINGREQ, "{v}");
        assert!(s.poll_timeout().is_some_and(|at| at > t0 + secs(12)), "{v}");
    }
}
