//! The table of incoming QoS 2 messages awaiting PUBREL, driven by hand: its size on 3.1.1 (whose broker does not
//! know it) and on 5.0 (whose broker is told it as Receive Maximum), across reconnects and hidden session losses.

mod wire;

use mqtt_core::codec::{Ack, ConnAck, Packet, PacketId, ProtocolVersion, Publish, QoS};
use mqtt_core::session::{Disconnection, Event};
use mqtt_core::{Buffers, Config, Instant, ProtocolError, Session, TransportAction};
use wire::{encode, exact_delays, packets, sent};

/// A connected 3.1.1 session with a store of `store_len` bytes and this Receive Maximum.
fn connected_v311(
    store: &mut [u8],
    rx: &mut [u8],
    receive_maximum: u16,
    t: Instant,
) -> Session<'static> {
    let config = Config {
        version: ProtocolVersion::V311,
        receive_maximum,
        ..Config::new("qos2-in")
    };
    connected_with(&config, store, rx, t)
}

/// A session made from `config` with these buffers, connected (CONNACK with Session Present 0).
fn connected_with(
    config: &Config<'_>,
    store: &mut [u8],
    rx: &mut [u8],
    t: Instant,
) -> Session<'static> {
    let buffers = Buffers {
        rx: rx.to_vec().leak().into(),
        store: store.to_vec().leak().into(),
        subscriptions: vec![0u8; 256].leak().into(),
    };
    let mut s = Session::new(config, buffers).unwrap();
    s.connect(t);
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    s.handle_transport_up(t);
    sent(&mut s, t);
    let connack = encode(Packet::ConnAck(ConnAck::default()), config.version);
    s.handle_bytes(&connack, t);
    assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
    s
}

fn qos2_publish(id: u16, dup: bool) -> Vec<u8> {
    qos2_publish_in(ProtocolVersion::V311, id, dup)
}

fn qos2_publish_in(version: ProtocolVersion, id: u16, dup: bool) -> Vec<u8> {
    encode(
        Packet::Publish(Publish {
            qos: QoS::ExactlyOnce,
            dup,
            packet_id: PacketId::new(id),
            topic: "in/q2",
            payload: &id.to_be_bytes(),
            ..Publish::default()
        }),
        version,
    )
}

/// Feeds `bytes`, counts the messages delivered, and adds what the session sends in answer to `out`.
fn delivered(s: &mut Session<'_>, bytes: &[u8], t: Instant, out: &mut Vec<u8>) -> usize {
    let mut count = 0;
    let mut rest = bytes;
    for _ in 0..100 {
        let taken = s.handle_bytes(rest, t);
        rest = &rest[taken..];
        while let Some(event) = s.poll_event() {
            match event {
                Event::Message(_) => count += 1,
                Event::ConnectionLost { reason } => panic!("connection lost: {reason}"),
                _ => {}
            }
        }
        // Acknowledgements go out as the driver would send them: the session reads on once they have.
        out.extend(sent(s, t));
        if rest.is_empty() {
            return count;
        }
    }
    panic!("the session stopped taking bytes")
}

#[test]
fn a_3_1_1_broker_may_leave_thousands_of_qos2_messages_unreleased_with_receive_maximum_65535() {
    // 3.1.1 has no Receive Maximum: mosquitto sends on after PUBREC, before PUBREL. With 65,535 the session keeps a
    // bitmap of every identifier (8 KiB of the store) and never has to refuse one.
    let t = Instant::from_millis(1000);
    let mut s = connected_v311(&mut [0; 16 * 1024], &mut [0; 1024], u16::MAX, t);
    let ids: Vec<u16> = (1..=u16::MAX).step_by(7).collect();
    let mut out = Vec::new();
    for &id in &ids {
        assert_eq!(
            delivered(&mut s, &qos2_publish(id, false), t, &mut out),
            1,
            "id {id}"
        );
    }
    // A resent PUBLISH awaiting PUBREL is acknowledged again, not delivered twice.
    assert_eq!(
        delivered(&mut s, &qos2_publish(ids[100], true), t, &mut out),
        0
    );
    let acks = packets(&out, ProtocolVersion::V311);
    assert_eq!(acks.len(), ids.len() + 1);
    assert!(acks.iter().all(|a| a.starts_with("PubRec(")));
    // PUBREL releases an identifier: PUBCOMP goes out, and the identifier is new again.
    let mut out = Vec::new();
    for &id in &ids {
        let pubrel = encode(
            Packet::PubRel(Ack::new(PacketId::new(id).unwrap())),
            ProtocolVersion::V311,
        );
        assert_eq!(delivered(&mut s, &pubrel, t, &mut out), 0);
    }
    let comps = packets(&out, ProtocolVersion::V311);
    assert_eq!(comps.len(), ids.len());
    assert!(comps.iter().all(|a| a.starts_with("PubComp(")));
    assert_eq!(
        delivered(&mut s, &qos2_publish(ids[100], false), t, &mut out),
        1
    );
}

#[test]
fn a_311_qos2_publish_beyond_the_table_waits_for_the_pubrel_behind_it() {
    let t = Instant::from_millis(1000);
    let mut s = connected_v311(&mut [0; 4096], &mut [0; 1024], 4, t);
    let mut out = Vec::new();
    for id in 1..=4 {
        assert_eq!(delivered(&mut s, &qos2_publish(id, false), t, &mut out), 1);
    }
    // A 3.1.1 broker cannot know the table holds 4: the fifth waits, and the connection stays.
    assert_eq!(delivered(&mut s, &qos2_publish(5, false), t, &mut out), 0);
    assert!(s.is_connected());
    assert_eq!(s.error(), None);
    // The PUBREL that frees a place arrives behind it: both are handled, the message delivered once.
    let pubrel = encode(
        Packet::PubRel(Ack::new(PacketId::new(2).unwrap())),
        ProtocolVersion::V311,
    );
    assert_eq!(delivered(&mut s, &pubrel, t, &mut out), 1);
    assert_eq!(
        delivered(&mut s, &qos2_publish(5, true), t, &mut out),
        0,
        "no duplicate"
    );
    assert!(s.is_connected());
}

#[test]
fn a_receive_buffer_full_of_qos2_publishes_beyond_the_table_ends_the_connection() {
    let t = Instant::from_millis(1000);
    let mut s = connected_v311(&mut [0; 4096], &mut [0; 256], 4, t);
    let mut out = Vec::new();
    for id in 1..=4 {
        assert_eq!(delivered(&mut s, &qos2_publish(id, false), t, &mut out), 1);
    }
    // No PUBREL can arrive behind them: nothing more fits in the receive buffer.
    let mut lost = None;
    for id in 5..100 {
        s.handle_bytes(&qos2_publish(id, false), t);
        while let Some(event) = s.poll_event() {
            if let Event::ConnectionLost { reason } = event {
                lost = Some(reason.to_string());
            }
        }
        if lost.is_some() {
            break;
        }
    }
    let lost = lost.expect("a full receive buffer of waiting messages ends the connection");
    assert!(lost.contains('4'), "{lost}");
}

/// Ends the connection, and connects again when the reconnect timer fires; the broker answers with this Session
/// Present. Moves `t` to the time of the new connection.
fn reconnect(s: &mut Session<'_>, t: &mut Instant, session_present: bool) {
    s.handle_transport_down(*t);
    while s.poll_event().is_some() {}
    assert_eq!(s.poll_transport(), None);
    *t = s.poll_timeout().expect("a reconnect is scheduled");
    s.handle_timeout(*t);
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    s.handle_transport_up(*t);
    sent(s, *t);
    let connack = ConnAck {
        session_present,
        ..ConnAck::default()
    };
    s.handle_bytes(&encode(Packet::ConnAck(connack), s.version()), *t);
    assert!(matches!(
        s.poll_event(),
        Some(Event::Connected { session_present: p }) if p == session_present
    ));
}

/// A persistent 5.0 session with a Receive Maximum of 2, connected.
fn persistent_v5_window_of_2(t: Instant) -> Session<'static> {
    let config = Config {
        version: ProtocolVersion::V5,
        receive_maximum: 2,
        clean_start: false,
        session_expiry_interval: 3600,
        reconnect: exact_delays(),
        ..Config::new("qos2-in")
    };
    connected_with(&config, &mut [0; 4096], &mut [0; 1024], t)
}

#[test]
fn a_qos2_identifier_forgotten_in_a_hidden_session_loss_does_not_close_the_receive_window() {
    // The broker loses the session while its PUBREL of 6 is on the way, and the CONNACK with Session Present 0
    // that says so never reaches the client: the next connection resumes the broker's new, empty session with
    // Session Present 1, and 6 is never released. With a Receive Maximum of 2 the broker may have two new messages
    // in flight `[MQTT-3.3.4-9]`: the second one proves 6 forgotten. Ending the connection instead would end
    // every connection for ever, the broker sending both again each time (seed 1928 of the seeded runs).
    let v = ProtocolVersion::V5;
    let mut t = Instant::from_millis(1000);
    let mut s = persistent_v5_window_of_2(t);
    let mut out = Vec::new();
    assert_eq!(
        delivered(&mut s, &qos2_publish_in(v, 6, false), t, &mut out),
        1
    );
    reconnect(&mut s, &mut t, true);
    for id in [1, 2] {
        assert_eq!(
            delivered(&mut s, &qos2_publish_in(v, id, false), t, &mut out),
            1,
            "id {id}"
        );
    }
    // Exactly once still holds for what the broker has in flight: sent again, 1 and 2 are acknowledged again
    // and not delivered a second time, and their PUBREL completes them. `[MQTT-4.3.3-10]`
    reconnect(&mut s, &mut t, true);
    let mut out = Vec::new();
    for id in [1, 2] {
        let resent = qos2_publish_in(v, id, true);
        assert_eq!(delivered(&mut s, &resent, t, &mut out), 0, "id {id}");
    }
    for id in [1, 2] {
        let pubrel = encode(Packet::PubRel(Ack::new(PacketId::new(id).unwrap())), v);
        assert_eq!(delivered(&mut s, &pubrel, t, &mut out), 0);
    }
    let acks = packets(&out, v);
    assert!(acks.iter().all(|a| a.contains("0x00 Success")), "{acks:?}");
    let kinds: Vec<&str> = acks
        .iter()
        .map(|a| a.split(", reason").next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "PubRec(Ack { packet_id: 1",
            "PubRec(Ack { packet_id: 2",
            "PubComp(Ack { packet_id: 1",
            "PubComp(Ack { packet_id: 2",
        ]
    );
}

#[test]
fn a_qos2_identifier_the_broker_mentions_after_a_reconnect_keeps_its_place_and_a_full_window_still_ends_it()
 {
    // Only an identifier the broker has not mentioned since the reconnect can be one it forgot: 1, sent again, is
    // in its flight, so the new 3 makes room by forgetting 2. Then 1 and 3 both belong to this connection, and a
    // fourth message is the broker exceeding the Receive Maximum: the connection ends with 0x93.
    let v = ProtocolVersion::V5;
    let mut t = Instant::from_millis(1000);
    let mut s = persistent_v5_window_of_2(t);
    let mut out = Vec::new();
    for id in [1, 2] {
        assert_eq!(
            delivered(&mut s, &qos2_publish_in(v, id, false), t, &mut out),
            1
        );
    }
    reconnect(&mut s, &mut t, true);
    assert_eq!(
        delivered(&mut s, &qos2_publish_in(v, 1, true), t, &mut out),
        0
    );
    assert_eq!(
        delivered(&mut s, &qos2_publish_in(v, 3, false), t, &mut out),
        1
    );
    assert_eq!(
        delivered(&mut s, &qos2_publish_in(v, 1, true), t, &mut out),
        0
    );
    assert_eq!(
        delivered(&mut s, &qos2_publish_in(v, 3, true), t, &mut out),
        0
    );
    s.handle_bytes(&qos2_publish_in(v, 4, false), t);
    let mut lost = None;
    while let Some(event) = s.poll_event() {
        if let Event::ConnectionLost { reason } = event {
            lost = Some(reason);
        }
    }
    assert_eq!(
        lost,
        Some(Disconnection::Protocol(
            ProtocolError::ReceiveMaximumExceeded(2)
        ))
    );
    let disconnect = packets(&sent(&mut s, t), v);
    assert!(
        disconnect[0].contains("0x93"),
        "DISCONNECT Receive Maximum exceeded: {disconnect:?}"
    );
}
