//! A hand-driven exchange with the session: the broker side is written out packet by packet.

use mqtt_core::codec::{
    self, Ack, ConnAck, Packet, PacketId, ProtocolVersion, Publish, QoS, SubAck, Subscription,
};
use mqtt_core::session::Event;
use mqtt_core::{Buffers, Config, Instant, Session, TransportAction};

fn encode(p: Packet<'_>, v: ProtocolVersion) -> Vec<u8> {
    let mut buf = vec![0; p.encoded_len(v)];
    p.encode(v, &mut buf).unwrap();
    buf
}

fn sent(session: &mut Session<'_>, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(n) = session.poll_transmit(now, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn packets(bytes: &[u8], v: ProtocolVersion) -> Vec<String> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while let Some((p, used)) = codec::decode(rest, v, u32::MAX).unwrap() {
        out.push(format!("{p:?}"));
        rest = &rest[used..];
    }
    out
}

#[test]
fn connect_subscribe_publish_and_receive_by_hand() {
    for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (mut rx, mut store, mut subs) = ([0u8; 2048], [0u8; 4096], [0u8; 512]);
        let config = Config {
            version: v,
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
