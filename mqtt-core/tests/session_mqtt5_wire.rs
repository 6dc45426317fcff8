//! The MQTT 5.0 properties a session writes, read back from its bytes: CONNECT (user properties, will properties,
//! Request Response/Problem Information, Maximum Packet Size left out), SUBSCRIBE and UNSUBSCRIBE with user
//! properties (also when resent after a reconnect), and the application's DISCONNECT with properties.

use core::time::Duration;

use mqtt_core::codec::{
    self, ConnAck, Disconnect, DisconnectProperties, List, Packet, ProtocolVersion, QoS,
    ReasonCode, SubAck, SubscribeProperties, Subscription, SubscriptionId, UnsubAck,
    UnsubscribeProperties, UserProperty, Will, WillProperties,
};
use mqtt_core::{Buffers, Config, EncodeError, Instant, Session, SessionState, SubscribeError};

const V5: ProtocolVersion = ProtocolVersion::V5;

fn buffers() -> Buffers<'static> {
    Buffers::owned(4096, 16 * 1024, 1024)
}

/// Everything the session writes now, as packets (owned bytes, decoded by the caller).
fn written(session: &mut Session<'_>, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(n) = session.poll_transmit(now, &mut buf) {
        let mut rest = &buf[..n];
        while let Ok(Some((_, used))) = codec::decode(rest, V5, u32::MAX) {
            out.push(rest[..used].to_vec());
            rest = &rest[used..];
        }
    }
    out
}

fn encode(packet: Packet<'_>) -> Vec<u8> {
    let mut bytes = vec![0; packet.encoded_len(V5)];
    packet.encode(V5, &mut bytes).unwrap();
    bytes
}

fn drain(session: &mut Session<'_>) {
    while session.poll_transport().is_some() {}
    while session.poll_event().is_some() {}
}

/// A session that has sent CONNECT (returned) and is now connected (CONNACK with `session_present`).
fn connect(session: &mut Session<'_>, now: Instant, session_present: bool) -> Vec<u8> {
    session.connect(now);
    drain(session);
    session.handle_transport_up(now);
    let connect = written(session, now).remove(0);
    let connack = encode(Packet::ConnAck(ConnAck {
        session_present,
        ..ConnAck::default()
    }));
    session.handle_bytes(&connack, now);
    drain(session);
    assert!(session.is_connected());
    connect
}

#[test]
fn connect_carries_user_will_and_information_properties() {
    let user = [UserProperty {
        name: "site",
        value: "plant-3",
    }];
    let will_user = [UserProperty {
        name: "why",
        value: "lost",
    }];
    let config = Config {
        user_properties: List::new(&user),
        request_response_information: true,
        request_problem_information: false,
        announce_maximum_packet_size: false,
        will: Some(Will {
            topic: "status",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(30),
                message_expiry_interval: Some(600),
                content_type: Some("text/plain"),
                response_topic: Some("status/ask"),
                correlation_data: Some(b"w1"),
                payload_format_indicator: Some(true),
                user_properties: List::new(&will_user),
            },
        }),
        ..Config::new("props")
    };
    let mut session = Session::new(&config, buffers()).unwrap();
    let bytes = connect(&mut session, Instant::from_millis(1), false);
    let Some((Packet::Connect(c), _)) = codec::decode(&bytes, V5, u32::MAX).unwrap() else {
        panic!("not a CONNECT");
    };
    assert_eq!(
        c.properties.user_properties.iter().collect::<Vec<_>>(),
        user
    );
    assert_eq!(c.properties.request_response_information, Some(true));
    assert_eq!(c.properties.request_problem_information, Some(false));
    assert_eq!(c.properties.maximum_packet_size, None, "left out");
    let will = c.will.unwrap();
    assert_eq!(will.properties.will_delay_interval, Some(30));
    assert_eq!(will.properties.message_expiry_interval, Some(600));
    assert_eq!(will.properties.content_type, Some("text/plain"));
    assert_eq!(will.properties.response_topic, Some("status/ask"));
    assert_eq!(will.properties.correlation_data, Some(&b"w1"[..]));
    assert_eq!(will.properties.payload_format_indicator, Some(true));
    assert_eq!(
        will.properties.user_properties.iter().collect::<Vec<_>>(),
        will_user
    );

    // By default: Maximum Packet Size announced, the information properties left out.
    let mut plain = Session::new(&Config::new("plain"), buffers()).unwrap();
    let bytes = connect(&mut plain, Instant::from_millis(1), false);
    let Some((Packet::Connect(c), _)) = codec::decode(&bytes, V5, u32::MAX).unwrap() else {
        panic!("not a CONNECT");
    };
    assert_eq!(
        c.properties.maximum_packet_size.map(|m| m.get()),
        Some(4096)
    );
    assert_eq!(c.properties.request_response_information, None);
    assert_eq!(c.properties.request_problem_information, None);
}

#[test]
fn subscribe_and_unsubscribe_carry_user_properties_also_after_a_reconnect() {
    let config = Config {
        clean_start: false,
        session_expiry_interval: 60,
        ..Config::new("sub-props")
    };
    let mut session = Session::new(&config, buffers()).unwrap();
    let mut now = Instant::from_millis(1);
    connect(&mut session, now, false);
    let user = [
        UserProperty {
            name: "tenant",
            value: "a",
        },
        UserProperty {
            name: "tenant",
            value: "b",
        },
    ];
    let properties = SubscribeProperties {
        subscription_identifier: SubscriptionId::new(7),
        user_properties: List::new(&user),
    };
    session
        .subscribe_with(
            &[Subscription::new("s/#", QoS::AtLeastOnce)],
            &properties,
            now,
        )
        .unwrap();
    let check = |bytes: &[u8]| {
        let Some((Packet::Subscribe(s), _)) = codec::decode(bytes, V5, u32::MAX).unwrap() else {
            panic!("not a SUBSCRIBE");
        };
        assert_eq!(
            s.properties.user_properties.iter().collect::<Vec<_>>(),
            user
        );
        assert_eq!(s.properties.subscription_identifier, SubscriptionId::new(7));
        s.packet_id
    };
    check(&written(&mut session, now)[0]);
    // The connection drops before SUBACK: the request goes again, with its properties.
    session.handle_transport_down(now);
    drain(&mut session);
    now += Duration::from_secs(2);
    session.handle_timeout(now);
    drain(&mut session);
    session.handle_transport_up(now);
    let _connect = written(&mut session, now);
    let connack = encode(Packet::ConnAck(ConnAck {
        session_present: true,
        ..ConnAck::default()
    }));
    session.handle_bytes(&connack, now);
    drain(&mut session);
    let packet_id = check(&written(&mut session, now)[0]);
    let codes = [ReasonCode::GRANTED_QOS_1];
    let suback = encode(Packet::SubAck(SubAck {
        packet_id,
        properties: Default::default(),
        reasons: List::new(&codes),
    }));
    session.handle_bytes(&suback, now);
    drain(&mut session);

    let properties = UnsubscribeProperties {
        user_properties: List::new(&user[..1]),
    };
    session
        .unsubscribe_with(&["s/#"], &properties, now)
        .unwrap();
    let bytes = &written(&mut session, now)[0];
    let Some((Packet::Unsubscribe(u), _)) = codec::decode(bytes, V5, u32::MAX).unwrap() else {
        panic!("not an UNSUBSCRIBE");
    };
    assert_eq!(
        u.properties.user_properties.iter().collect::<Vec<_>>(),
        user[..1]
    );
    let codes = [ReasonCode::SUCCESS];
    let unsuback = encode(Packet::UnsubAck(UnsubAck {
        packet_id: u.packet_id,
        properties: Default::default(),
        reasons: List::new(&codes),
    }));
    session.handle_bytes(&unsuback, now);
    drain(&mut session);
}

#[test]
fn user_properties_of_answered_requests_do_not_fill_the_subscription_table() {
    // 1 KiB of table, 200 requests of about 60 bytes each: only pruning makes room.
    let mut session = Session::new(&Config::new("prune"), buffers()).unwrap();
    let now = Instant::from_millis(1);
    connect(&mut session, now, false);
    let user = [UserProperty {
        name: "request",
        value: "with a property of some length",
    }];
    let properties = SubscribeProperties {
        subscription_identifier: None,
        user_properties: List::new(&user),
    };
    for _ in 0..200 {
        session
            .subscribe_with(&[Subscription::new("p", QoS::AtMostOnce)], &properties, now)
            .unwrap();
        let bytes = &written(&mut session, now)[0];
        let Some((Packet::Subscribe(s), _)) = codec::decode(bytes, V5, u32::MAX).unwrap() else {
            panic!("not a SUBSCRIBE");
        };
        let codes = [ReasonCode::GRANTED_QOS_0];
        let suback = encode(Packet::SubAck(SubAck {
            packet_id: s.packet_id,
            properties: Default::default(),
            reasons: List::new(&codes),
        }));
        session.handle_bytes(&suback, now);
        drain(&mut session);
    }
}

#[test]
fn properties_need_mqtt_5_and_no_nul() {
    let v311 = Config {
        version: ProtocolVersion::V311,
        ..Config::new("v311")
    };
    let mut session = Session::new(&v311, buffers()).unwrap();
    let user = [UserProperty {
        name: "a",
        value: "b",
    }];
    let properties = SubscribeProperties {
        subscription_identifier: None,
        user_properties: List::new(&user),
    };
    let now = Instant::from_millis(1);
    let refused =
        session.subscribe_with(&[Subscription::new("t", QoS::AtMostOnce)], &properties, now);
    assert!(matches!(refused, Err(SubscribeError::InvalidOptions(_))));
    let mut session = Session::new(&Config::new("nul"), buffers()).unwrap();
    let nul = [UserProperty {
        name: "a\0b",
        value: "c",
    }];
    let properties = SubscribeProperties {
        subscription_identifier: None,
        user_properties: List::new(&nul),
    };
    let refused =
        session.subscribe_with(&[Subscription::new("t", QoS::AtMostOnce)], &properties, now);
    assert!(matches!(refused, Err(SubscribeError::InvalidOptions(_))));
}

#[test]
fn disconnect_with_properties_sends_them_after_the_wait() {
    let config = Config {
        session_expiry_interval: 60,
        text_len: 256,
        ..Config::new("farewell")
    };
    let mut session = Session::new(&config, buffers()).unwrap();
    let now = Instant::from_millis(1);
    connect(&mut session, now, false);
    let user = [UserProperty {
        name: "k",
        value: "v",
    }];
    let goodbye = Disconnect {
        reason: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
        properties: DisconnectProperties {
            session_expiry_interval: Some(3600),
            reason_string: Some("maintenance"),
            user_properties: List::new(&user),
            server_reference: Some("never sent by a client"),
        },
    };
    session
        .disconnect_with(&goodbye, Duration::ZERO, now)
        .unwrap();
    let bytes = written(&mut session, now);
    let Some((Packet::Disconnect(d), _)) = codec::decode(&bytes[0], V5, u32::MAX).unwrap() else {
        panic!("not a DISCONNECT");
    };
    assert_eq!(d.reason, ReasonCode::DISCONNECT_WITH_WILL_MESSAGE);
    assert_eq!(d.properties.session_expiry_interval, Some(3600));
    assert_eq!(d.properties.reason_string, Some("maintenance"));
    assert_eq!(
        d.properties.user_properties.iter().collect::<Vec<_>>(),
        user
    );
    // `[MQTT-3.14.2-3]`: a client never sends a Server Reference.
    assert_eq!(d.properties.server_reference, None);
    drain(&mut session);
    assert_eq!(session.state(), SessionState::Closed);

    // Without room for texts the properties cannot be kept: refused, nothing changed.
    let mut session = Session::new(&Config::new("no-room"), buffers()).unwrap();
    connect(&mut session, now, false);
    let refused = session.disconnect_with(&goodbye, Duration::ZERO, now);
    assert!(matches!(refused, Err(EncodeError::BufferTooSmall { .. })));
    assert!(session.is_connected());
}
