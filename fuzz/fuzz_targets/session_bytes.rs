//! Feeds arbitrary broker bytes, interleaved with application commands, timeouts and transport events, to a
//! session that starts connected.
//!
//! Invariants: nothing panics; `poll_timeout` is never in the past after `handle_timeout`; the inflight count
//! never exceeds the configured window.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use mqtt_core::codec::{self, ConnAck, Packet, ProtocolVersion, Publish, QoS, Subscription};
use mqtt_core::{Buffers, Config, Instant, Session};

const WINDOW: u16 = 4;

fn drain(session: &mut Session<'_>, now: Instant, out: &mut [u8]) {
    for _ in 0..64 {
        let _ = session.poll_transport();
        let mut progressed = false;
        while session.poll_transmit(now, out).is_some() {
            progressed = true;
        }
        while let Some(_event) = session.poll_event() {
            progressed = true;
        }
        assert!(session.inflight() <= WINDOW);
        if !progressed {
            break;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut data)) = data.split_first() else {
        return;
    };
    let version = if first & 1 == 0 { ProtocolVersion::V311 } else { ProtocolVersion::V5 };
    let (mut rx, mut store, mut subs, mut out) = ([0u8; 1024], [0u8; 4096], [0u8; 512], [0u8; 256]);
    let config = Config {
        version,
        max_inflight: WINDOW,
        receive_maximum: 4,
        topic_alias_maximum: 4,
        outgoing_topic_aliases: if first & 2 != 0 { 2 } else { 0 },
        clean_start: first & 4 == 0,
        ..Config::new("fuzz")
    };
    let buffers = Buffers { rx: (&mut rx).into(), store: (&mut store).into(), subscriptions: (&mut subs).into() };
    let Ok(mut session) = Session::new(&config, buffers) else {
        return;
    };
    let mut now = Instant::from_millis(1);
    session.connect(now);
    drain(&mut session, now, &mut out);
    session.handle_transport_up(now);
    drain(&mut session, now, &mut out);
    let mut connack = [0u8; 16];
    let connack_len = Packet::ConnAck(ConnAck { session_present: first & 8 != 0, ..ConnAck::default() })
        .encode(version, &mut connack)
        .unwrap_or(0);
    session.handle_bytes(&connack[..connack_len], now);
    drain(&mut session, now, &mut out);

    while let Some((&op, rest)) = data.split_first() {
        data = rest;
        match op % 8 {
            0..=2 => {
                let n = usize::from(op / 8).min(data.len());
                let (chunk, rest) = data.split_at(n);
                data = rest;
                let mut offered = chunk;
                while !offered.is_empty() {
                    let taken = session.handle_bytes(offered, now);
                    drain(&mut session, now, &mut out);
                    if taken == 0 {
                        break;
                    }
                    offered = &offered[taken..];
                }
            }
            3 => {
                now += Duration::from_millis(u64::from(op) * 500);
                session.handle_timeout(now);
                if let Some(deadline) = session.poll_timeout() {
                    assert!(deadline >= now || session.poll_timeout() == Some(deadline));
                }
            }
            4 => {
                let qos = QoS::from_u8((op >> 3) % 3).unwrap_or(QoS::AtMostOnce);
                let message = Publish { qos, topic: "fuzz/t", payload: &data[..data.len().min(40)], ..Publish::default() };
                let _ = session.publish(&message, now);
            }
            5 => {
                let qos = QoS::from_u8((op >> 3) % 3).unwrap_or(QoS::AtMostOnce);
                let _ = session.subscribe(&[Subscription::new("fuzz/#", qos)], now);
            }
            6 => match op >> 3 {
                0 => session.handle_transport_down(now),
                1 => session.handle_transport_up(now),
                2 => session.reconnect(now),
                3 => session.disconnect(now),
                _ => {
                    let _ = session.unsubscribe(&["fuzz/#"], now);
                }
            },
            _ => {
                // A CONNACK, so that reconnects get through the handshake.
                session.handle_bytes(&connack[..connack_len], now);
            }
        }
        drain(&mut session, now, &mut out);
        // A deadline in the past would make a driver spin.
        session.handle_timeout(now);
        drain(&mut session, now, &mut out);
        if let Some(deadline) = session.poll_timeout() {
            assert!(deadline > now, "deadline {deadline:?} not after now {now:?}");
        }
        let _ = codec::PacketType::Publish;
    }
});
