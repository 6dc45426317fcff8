//! A hand-driven exchange with the session: the broker side is written out packet by packet.

use mqtt_core::codec::{
    self, Ack, ConnAck, Packet, PacketId, ProtocolVersion, Publish, QoS, SubAck, Subscription,
};
use mqtt_core::session::{Disconnection, Event};
use mqtt_core::{Buffers, Config, Instant, ProtocolError, Session, TransportAction};

mod wire;
use wire::{encode, exact_delays, packets, sent};

#[test]
fn connect_subscribe_publish_and_receive_by_hand() {
    for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (mut rx, mut store, mut subs) = ([0u8; 2048], [0u8; 4096], [0u8; 512]);
        let config = Config {
            version: v,
            reconnect: exact_delays(),
            ..Config::new("smoke")
        };
        let buffers = Buffers {
            rx: (&mut rx).into(),
            store: (&mut store).into(),
            subscriptions: (&mut subs).into(),
        };
        let mut s = Session::new(&config, buffers).unwrap();
        let t = Instant::from_millis(1000);
        s.connect(t);
        assert_eq!(s.poll_transport(), Some(TransportAction::Open));
        s.handle_transport_up(t);
        let connect = sent(&mut s, t);
        assert!(packets(&connect, v)[0].starts_with("Connect("), "{v}");

        let connack = encode(Packet::ConnAck(ConnAck::default()), v);
        assert_eq!(s.handle_bytes(&connack, t), connack.len());
        assert_eq!(
            s.poll_event(),
            Some(Event::Connected {
                session_present: false
            })
        );
        assert!(s.is_connected());

        let ticket = s
            .subscribe(&[Subscription::new("a/+", QoS::AtLeastOnce)], t)
            .unwrap();
        let subscribe = sent(&mut s, t);
        let (Packet::Subscribe(sub), _) = codec::decode(&subscribe, v, u32::MAX).unwrap().unwrap()
        else {
            panic!("expected SUBSCRIBE")
        };
        let granted = [codec::ReasonCode::GRANTED_QOS_1];
        let suback = encode(
            Packet::SubAck(SubAck {
                packet_id: sub.packet_id,
                properties: Default::default(),
                reasons: codec::List::new(&granted),
            }),
            v,
        );
        s.handle_bytes(&suback, t);
        match s.poll_event() {
            Some(Event::Subscribed {
                ticket: t2,
                reasons,
            }) => {
                assert_eq!(t2, ticket);
                assert_eq!(reasons.iter().collect::<Vec<_>>(), granted);
            }
            other => panic!("{other:?}"),
        }

        let message = Publish {
            qos: QoS::AtLeastOnce,
            topic: "a/b",
            payload: b"hello",
            ..Default::default()
        };
        let ticket = s.publish(&message, t).unwrap();
        let out = sent(&mut s, t);
        let (Packet::Publish(p), _) = codec::decode(&out, v, u32::MAX).unwrap().unwrap() else {
            panic!("expected PUBLISH")
        };
        assert_eq!(
            (p.topic, p.payload, p.qos, p.dup),
            ("a/b", &b"hello"[..], QoS::AtLeastOnce, false)
        );
        assert_eq!(s.inflight(), 1);
        let puback = encode(Packet::PubAck(Ack::new(p.packet_id.unwrap())), v);
        s.handle_bytes(&puback, t);
        assert_eq!(s.poll_event(), Some(Event::Published { ticket }));
        assert_eq!(s.inflight(), 0);

        // The broker forwards it back at QoS 1 with its own id.
        let back = encode(
            Packet::Publish(Publish {
                packet_id: PacketId::new(77),
                ..message
            }),
            v,
        );
        s.handle_bytes(&back, t);
        match s.poll_event() {
            Some(Event::Message(m)) => assert_eq!((m.topic, m.payload), ("a/b", &b"hello"[..])),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.poll_event(), None);
        let ack = sent(&mut s, t);
        assert_eq!(
            ack,
            encode(Packet::PubAck(Ack::new(PacketId::new(77).unwrap())), v)
        );

        // Keep alive: nothing sent for 60 s -> PINGREQ.
        assert_eq!(
            s.poll_timeout(),
            Some(t + core::time::Duration::from_secs(60))
        );
        let later = Instant::from_millis(61_000);
        s.handle_timeout(later);
        assert_eq!(sent(&mut s, later), [0xc0, 0x00]);
        // No PINGRESP within 10 s -> connection lost, reconnect in 1 s.
        let timeout = s.poll_timeout().unwrap();
        assert_eq!(timeout, later + core::time::Duration::from_secs(10));
        s.handle_timeout(timeout);
        assert_eq!(s.poll_transport(), Some(TransportAction::Close));
        assert!(matches!(s.poll_event(), Some(Event::ConnectionLost { .. })));
        assert!(matches!(
            s.poll_event(),
            Some(Event::Reconnecting { attempt: 1, .. })
        ));
        assert_eq!(
            s.poll_timeout(),
            Some(timeout + core::time::Duration::from_secs(1))
        );
    }
}

/// A 5.0 session connected by hand, and its buffers.
struct Wire {
    session: Session<'static>,
    now: Instant,
}

impl Wire {
    fn connected(config: Config<'_>) -> Self {
        let buffers = Buffers {
            rx: Box::leak(Box::new([0u8; 2048])).into(),
            store: Box::leak(Box::new([0u8; 4096])).into(),
            subscriptions: Box::leak(Box::new([0u8; 512])).into(),
        };
        let mut session = Session::new(&config, buffers).unwrap();
        let now = Instant::from_millis(5);
        session.connect(now);
        let _ = session.poll_transport();
        session.handle_transport_up(now);
        sent(&mut session, now);
        let connack = encode(Packet::ConnAck(ConnAck::default()), config.version);
        session.handle_bytes(&connack, now);
        assert!(matches!(
            session.poll_event(),
            Some(Event::Connected { .. })
        ));
        Self { session, now }
    }

    fn receive(&mut self, packet: Packet<'_>) {
        let bytes = encode(packet, self.session.version());
        assert_eq!(self.session.handle_bytes(&bytes, self.now), bytes.len());
    }

    fn sent(&mut self) -> Vec<u8> {
        sent(&mut self.session, self.now)
    }
}

#[test]
fn publish_properties_pass_through_in_both_directions() {
    let mut wire = Wire::connected(Config::new("props"));
    let user = [
        codec::UserProperty {
            name: "unit",
            value: "celsius",
        },
        codec::UserProperty {
            name: "unit",
            value: "again",
        },
    ];
    let properties = codec::PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(60),
        response_topic: Some("reply/here"),
        correlation_data: Some(b"req-7"),
        content_type: Some("text/plain"),
        user_properties: codec::List::new(&user),
        ..Default::default()
    };
    let message = Publish {
        qos: QoS::AtLeastOnce,
        topic: "p/out",
        payload: b"21.5",
        properties,
        ..Default::default()
    };
    wire.session.publish(&message, wire.now).unwrap();
    let out = wire.sent();
    let (Packet::Publish(p), _) = codec::decode(&out, ProtocolVersion::V5, u32::MAX)
        .unwrap()
        .unwrap()
    else {
        panic!("expected PUBLISH")
    };
    assert_eq!(p.properties, properties);

    let incoming = Publish {
        topic: "p/in",
        payload: b"x",
        properties,
        ..Default::default()
    };
    wire.receive(Packet::Publish(incoming));
    match wire.session.poll_event() {
        Some(Event::Message(m)) => {
            assert_eq!(m.properties, properties);
            assert_eq!(
                m.properties.user_properties.iter().collect::<Vec<_>>(),
                user
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reason_strings_from_the_broker_are_kept() {
    let mut wire = Wire::connected(Config::new("reasons"));
    let ticket = wire
        .session
        .publish(
            &Publish {
                qos: QoS::AtLeastOnce,
                topic: "r",
                payload: b"",
                ..Default::default()
            },
            wire.now,
        )
        .unwrap();
    let out = wire.sent();
    let (Packet::Publish(p), _) = codec::decode(&out, ProtocolVersion::V5, u32::MAX)
        .unwrap()
        .unwrap()
    else {
        panic!("expected PUBLISH")
    };
    wire.receive(Packet::PubAck(Ack {
        packet_id: p.packet_id.unwrap(),
        reason: codec::ReasonCode::NOT_AUTHORIZED,
        properties: codec::AckProperties {
            reason_string: Some("no publishing to r"),
            ..Default::default()
        },
    }));
    assert_eq!(
        wire.session.poll_event(),
        Some(Event::PublishFailed {
            ticket,
            reason: mqtt_core::session::PublishFailure::Rejected(codec::ReasonCode::NOT_AUTHORIZED)
        })
    );
    assert_eq!(
        wire.session.last_reason_string(),
        Some("no publishing to r")
    );

    let long = "é".repeat(100); // 200 bytes: cut to 128 at a character boundary
    wire.receive(Packet::Disconnect(codec::Disconnect {
        reason: codec::ReasonCode::SERVER_SHUTTING_DOWN,
        properties: codec::DisconnectProperties {
            reason_string: Some(&long),
            ..Default::default()
        },
    }));
    assert_eq!(
        wire.session.poll_event(),
        Some(Event::ConnectionLost {
            reason: Disconnection::ServerDisconnect(codec::ReasonCode::SERVER_SHUTTING_DOWN)
        })
    );
    assert_eq!(
        wire.session.last_reason_string(),
        Some("é".repeat(64).as_str())
    );
}

#[test]
fn a_message_above_the_granted_qos_is_a_protocol_error() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut wire = Wire::connected(Config {
            version,
            ..Config::new("granted")
        });
        wire.session
            .subscribe(&[Subscription::new("g/#", QoS::ExactlyOnce)], wire.now)
            .unwrap();
        let out = wire.sent();
        let (Packet::Subscribe(sub), _) = codec::decode(&out, version, u32::MAX).unwrap().unwrap()
        else {
            panic!("expected SUBSCRIBE")
        };
        // The broker grants only QoS 0...
        let granted = [codec::ReasonCode::GRANTED_QOS_0];
        wire.receive(Packet::SubAck(SubAck {
            packet_id: sub.packet_id,
            properties: Default::default(),
            reasons: codec::List::new(&granted),
        }));
        assert!(matches!(
            wire.session.poll_event(),
            Some(Event::Subscribed { .. })
        ));
        // ...then sends QoS 1 on it.
        wire.receive(Packet::Publish(Publish {
            qos: QoS::AtLeastOnce,
            packet_id: PacketId::new(3),
            topic: "g/x",
            payload: b"too high",
            ..Default::default()
        }));
        assert!(
            matches!(
                wire.session.poll_event(),
                Some(Event::ConnectionLost { .. })
            ),
            "{version}"
        );
        assert_eq!(
            wire.session.error(),
            Some(ProtocolError::QoSAboveGranted {
                received: 1,
                granted: 0
            })
        );
    }
}

#[test]
fn a_subscription_identifier_goes_out_with_its_request_only() {
    let mut wire = Wire::connected(Config::new("ids"));
    let id = codec::SubscriptionId::new(42).unwrap();
    wire.session
        .subscribe_with_id(
            &[Subscription::new("with/#", QoS::AtLeastOnce)],
            id,
            wire.now,
        )
        .unwrap();
    wire.session
        .subscribe(
            &[Subscription::new("without/#", QoS::AtLeastOnce)],
            wire.now,
        )
        .unwrap();
    let out = wire.sent();
    let (Packet::Subscribe(first), used) = codec::decode(&out, ProtocolVersion::V5, u32::MAX)
        .unwrap()
        .unwrap()
    else {
        panic!("expected SUBSCRIBE")
    };
    assert_eq!(first.properties.subscription_identifier, Some(id));
    assert_eq!(
        first.filters.iter().map(|s| s.filter).collect::<Vec<_>>(),
        ["with/#"]
    );
    let (Packet::Subscribe(second), _) = codec::decode(&out[used..], ProtocolVersion::V5, u32::MAX)
        .unwrap()
        .unwrap()
    else {
        panic!("expected a second SUBSCRIBE")
    };
    assert_eq!(second.properties.subscription_identifier, None);

    let mut v311 = Wire::connected(Config {
        version: ProtocolVersion::V311,
        ..Config::new("ids")
    });
    assert!(matches!(
        v311.session
            .subscribe_with_id(&[Subscription::new("a", QoS::AtMostOnce)], id, v311.now),
        Err(mqtt_core::SubscribeError::InvalidOptions(_))
    ));
}

#[test]
fn no_connack_within_the_connect_timeout_fails_the_attempt_and_schedules_the_next() {
    let config = Config {
        connect_timeout: core::time::Duration::from_secs(10),
        reconnect: exact_delays(),
        ..Config::new("timeout")
    };
    let buffers = Buffers {
        rx: Box::leak(Box::new([0u8; 256])).into(),
        store: Box::leak(Box::new([0u8; 1024])).into(),
        subscriptions: Box::leak(Box::new([0u8; 128])).into(),
    };
    let mut s = Session::new(&config, buffers).unwrap();
    let t0 = Instant::from_millis(100);
    s.connect(t0);
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    s.handle_transport_up(t0);
    assert!(!sent(&mut s, t0).is_empty());
    // The broker stays silent.
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + core::time::Duration::from_secs(10));
    s.handle_timeout(deadline);
    assert_eq!(s.poll_transport(), Some(TransportAction::Close));
    assert_eq!(
        s.poll_event(),
        Some(Event::ConnectFailed {
            reason: Disconnection::ConnectTimeout
        })
    );
    assert!(matches!(
        s.poll_event(),
        Some(Event::Reconnecting { attempt: 1, .. })
    ));
    assert_eq!(
        s.poll_timeout(),
        Some(deadline + core::time::Duration::from_secs(1))
    );
    // A transport that never opens times out the same way.
    s.handle_timeout(deadline + core::time::Duration::from_secs(1));
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    let opened_at = deadline + core::time::Duration::from_secs(1);
    s.handle_timeout(opened_at + core::time::Duration::from_secs(10));
    assert_eq!(s.poll_transport(), Some(TransportAction::Close));
    assert_eq!(
        s.poll_event(),
        Some(Event::ConnectFailed {
            reason: Disconnection::ConnectTimeout
        })
    );
}

#[test]
fn a_full_subscription_table_is_an_error_even_with_repeated_filters() {
    let mut wire = Wire::connected(Config::new("table"));
    let mut accepted = 0;
    let refused = loop {
        let filter = format!("table/{accepted:04}");
        // The same filter twice in one request, plus one already in the table.
        let request = [
            Subscription::new(&filter, QoS::AtMostOnce),
            Subscription::new(&filter, QoS::AtLeastOnce),
            Subscription::new("table/0000", QoS::AtMostOnce),
        ];
        match wire.session.subscribe(&request, wire.now) {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 1000, "the table never filled up");
    };
    assert_eq!(refused, mqtt_core::SubscribeError::TableFull);
    assert!(accepted > 3, "{accepted}");
}

#[test]
fn a_subscribe_larger_than_a_calls_buffer_waits_for_a_larger_one_within_the_transmit_capacity() {
    let t = Instant::from_millis(1000);
    let config = Config::new("big-subscribe");
    let buffers = Buffers {
        rx: vec![0u8; 4096].leak().into(),
        store: vec![0u8; 4096].leak().into(),
        subscriptions: vec![0u8; 32 * 1024].leak().into(),
    };
    let mut s = Session::new(&config, buffers).unwrap();
    s.connect(t);
    assert_eq!(s.poll_transport(), Some(TransportAction::Open));
    s.handle_transport_up(t);
    sent(&mut s, t);
    s.handle_bytes(
        &encode(Packet::ConnAck(ConnAck::default()), config.version),
        t,
    );
    assert!(matches!(s.poll_event(), Some(Event::Connected { .. })));
    s.set_transmit_capacity(4096);

    let filters =
        |n: usize| -> Vec<String> { (0..n).map(|i| format!("big/subscribe/{i:04}")).collect() };
    let many = filters(100);
    let request: Vec<_> = many
        .iter()
        .map(|f| Subscription::new(f, QoS::AtLeastOnce))
        .collect();
    s.subscribe(&request, t).unwrap();
    // What is left of a staging buffer, or a whole small one: the request waits, and says for what.
    let mut small = [0u8; 1024];
    assert_eq!(s.poll_transmit(t, &mut small), None);
    let need = s.transmit_needs().expect("the room the SUBSCRIBE needs");
    assert!(need > 1024 && need <= 4096, "{need}");
    assert_eq!(s.poll_event(), None, "not dropped as too large");
    let mut large = vec![0u8; need];
    assert_eq!(s.poll_transmit(t, &mut large), Some(need));
    let (Packet::Subscribe(sub), used) = codec::decode(&large, config.version, u32::MAX)
        .unwrap()
        .unwrap()
    else {
        panic!("expected SUBSCRIBE")
    };
    assert_eq!((sub.filters.iter().count(), used), (100, need));

    // Larger than any buffer the binding can give: refused at once.
    let too_many = filters(300);
    let request: Vec<_> = too_many
        .iter()
        .map(|f| Subscription::new(f, QoS::AtLeastOnce))
        .collect();
    let ticket = s.subscribe(&request, t).unwrap();
    assert_eq!(s.poll_transmit(t, &mut small), None);
    assert_eq!(s.transmit_needs(), None);
    assert_eq!(s.poll_event(), Some(Event::RequestTooLarge { ticket }));
}
