//! What the hand-driven session tests share: encoding the broker's packets, and collecting what the session sends.
#![allow(dead_code, unreachable_pub)] // Each test file uses its part.

use mqtt_core::codec::{self, Packet, ProtocolVersion};
use mqtt_core::{Instant, Session};

pub fn encode(p: Packet<'_>, v: ProtocolVersion) -> Vec<u8> {
    let mut buf = vec![0; p.encoded_len(v)];
    p.encode(v, &mut buf).unwrap();
    buf
}

pub fn sent(session: &mut Session<'_>, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(n) = session.poll_transmit(now, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// The default reconnect schedule without jitter, for exact deadlines.
pub fn exact_delays() -> mqtt_core::reconnect::ReconnectPolicy {
    mqtt_core::reconnect::ReconnectPolicy {
        jitter_permille: 0,
        ..Default::default()
    }
}

/// The packets in `bytes`, as their Debug text.
pub fn packets(bytes: &[u8], v: ProtocolVersion) -> Vec<String> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while let Some((p, used)) = codec::decode(rest, v, u32::MAX).unwrap() {
        out.push(format!("{p:?}"));
        rest = &rest[used..];
    }
    out
}
