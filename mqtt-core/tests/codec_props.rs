//! Properties of the codec over generated packets of every type in both protocol versions.

use mqtt_core::codec::{self, FixedHeader, Packet, ProtocolVersion};
use mqtt_core::{DecodeError, EncodeError};
use mqtt_test::strategy::{packet, versioned_packet};
use proptest::collection::vec;
use proptest::prelude::*;

fn encode(packet: &Packet<'_>, version: ProtocolVersion) -> Vec<u8> {
    let len = packet.encoded_len(version);
    let mut buf = vec![0u8; len];
    let written = packet
        .encode(version, &mut buf)
        .expect("generated packets are encodable");
    assert_eq!(
        written, len,
        "encoded_len disagrees with encode for {packet:?}"
    );
    buf
}

/// Decodes packets from a byte stream that arrives in chunks, the way a connection delivers it.
fn decode_stream(chunks: &[&[u8]], version: ProtocolVersion, mut each: impl FnMut(Packet<'_>)) {
    let mut pending = Vec::new();
    for chunk in chunks {
        pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some((packet, used)) =
            codec::decode(&pending[start..], version, u32::MAX).expect("valid stream")
        {
            each(packet);
            start += used;
        }
        pending.drain(..start);
    }
    assert!(pending.is_empty(), "{} bytes left undecoded", pending.len());
}

fn versions() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn decode_of_encode_is_identity((version, p) in versioned_packet()) {
        let bytes = encode(&p, version);
        let (decoded, used) = codec::decode(&bytes, version, u32::MAX)
            .unwrap_or_else(|e| panic!("{e} decoding {p:?} from {bytes:02x?}"))
            .expect("a whole packet");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(decoded, p);
        // Re-encoding the decoded (wire-backed) packet gives the same bytes.
        prop_assert_eq!(encode(&decoded, version), bytes);
    }

    #[test]
    fn every_proper_prefix_is_incomplete_not_an_error((version, p) in versioned_packet()) {
        let bytes = encode(&p, version);
        // Every cut point for short packets; a sample of them for long ones.
        let step = (bytes.len() / 64).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            prop_assert_eq!(codec::decode(&bytes[..cut], version, u32::MAX), Ok(None), "cut at {}", cut);
        }
    }

    #[test]
    fn any_split_into_chunks_decodes_to_the_same_packets(
        (version, generated) in versions().prop_flat_map(|v| (Just(v), vec(packet(v), 1..6))),
        seed in vec(any::<prop::sample::Index>(), 0..8),
    ) {
        // A stream of 1..6 packets, cut at up to 8 random points.
        let stream: Vec<u8> = generated.iter().flat_map(|p| encode(p, version)).collect();
        let mut cuts: Vec<usize> = seed.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for cut in cuts {
            chunks.push(&stream[last..cut]);
            last = cut;
        }
        chunks.push(&stream[last..]);

        let mut decoded = Vec::new();
        decode_stream(&chunks, version, |p| decoded.push(format!("{p:?}")));
        let expected: Vec<String> = generated.iter().map(|p| format!("{p:?}")).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decoded_packets_reencode(
        version in versions(),
        bytes in vec(any::<u8>(), 0..256),
    ) {
        if let Ok(Some((p, used))) = codec::decode(&bytes, version, u32::MAX) {
            prop_assert!(used <= bytes.len());
            // Whatever was accepted is a packet we can send back and read again unchanged.
            let again = encode(&p, version);
            let (back, _) = codec::decode(&again, version, u32::MAX).expect("re-decodes").expect("complete");
            prop_assert_eq!(back, p);
        }
    }

    #[test]
    fn corrupting_one_byte_of_a_valid_packet_never_panics(
        (version, p) in versioned_packet(),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut bytes = encode(&p, version);
        let i = position.index(bytes.len());
        bytes[i] = value;
        if let Ok(Some((p, _))) = codec::decode(&bytes, version, u32::MAX) {
            let again = encode(&p, version);
            prop_assert!(codec::decode(&again, version, u32::MAX).is_ok());
        }
    }

    #[test]
    fn a_buffer_one_byte_short_is_refused_without_panicking((version, p) in versioned_packet()) {
        let len = p.encoded_len(version);
        let mut buf = vec![0u8; len - 1];
        prop_assert_eq!(
            p.encode(version, &mut buf),
            Err(EncodeError::BufferTooSmall { needed: len, available: len - 1 })
        );
    }

    #[test]
    fn max_packet_size_is_enforced_from_the_fixed_header_alone((version, p) in versioned_packet()) {
        let bytes = encode(&p, version);
        let header = FixedHeader::parse(&bytes, version, u32::MAX).unwrap().unwrap();
        prop_assert_eq!(header.packet_len(), bytes.len());
        let max = u32::try_from(bytes.len()).unwrap() - 1;
        // Only the fixed header is offered: the verdict must not wait for the body.
        let result = codec::decode(&bytes[..header.header_len], version, max);
        prop_assert_eq!(result, Err(DecodeError::PacketTooLarge { size: max + 1, max }));
        prop_assert!(codec::decode(&bytes, version, max + 1).unwrap().is_some());
    }
}

#[test]
fn remaining_length_of_256_mb_is_refused_before_buffering() {
    // PUBLISH announcing 268,435,455 bytes; only its fixed header has arrived.
    let header = [0x30, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(
        codec::decode(&header, ProtocolVersion::V5, 1024 * 1024),
        Err(DecodeError::PacketTooLarge {
            size: 268_435_460,
            max: 1024 * 1024
        })
    );
    // Without a configured limit the protocol's own applies, and the body is simply awaited.
    assert_eq!(
        codec::decode(&header, ProtocolVersion::V5, u32::MAX),
        Ok(None)
    );
}

#[test]
fn both_versions_agree_on_packets_without_5_0_features() {
    let p = Packet::Publish(codec::Publish {
        qos: codec::QoS::ExactlyOnce,
        packet_id: codec::PacketId::new(10),
        topic: "a/b",
        payload: b"x",
        ..Default::default()
    });
    let v311 = encode(&p, ProtocolVersion::V311);
    let v5 = encode(&p, ProtocolVersion::V5);
    // 5.0 adds exactly one byte: the empty property length.
    assert_eq!(v5.len(), v311.len() + 1);
    assert_eq!(
        codec::decode(&v311, ProtocolVersion::V311, u32::MAX)
            .unwrap()
            .unwrap()
            .0,
        p
    );
}

/// The fuzz target's invariants, over every input in `fuzz/seeds/decode` (which keeps each failure the fuzzer
/// found): decoding never claims more than it was given, and what it accepts re-encodes to `encoded_len` bytes
/// that decode to the same packet. The first byte of an input selects the version and a small size limit.
#[test]
fn fuzz_seed_inputs_round_trip_through_the_codec() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/decode");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz seed corpus exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let Some((&selector, mut rest)) = data.split_first() else {
            continue;
        };
        let version = if selector & 1 == 0 {
            ProtocolVersion::V311
        } else {
            ProtocolVersion::V5
        };
        let max = if selector & 2 == 0 {
            u32::MAX
        } else {
            u32::from(selector) * 4
        };
        while let Ok(Some((packet, used))) = codec::decode(rest, version, max) {
            assert!(used > 0 && used <= rest.len(), "{}", path.display());
            let bytes = encode(&packet, version);
            assert_eq!(
                bytes.len(),
                packet.encoded_len(version),
                "{}",
                path.display()
            );
            let again = codec::decode(&bytes, version, u32::MAX);
            assert_eq!(again, Ok(Some((packet, bytes.len()))), "{}", path.display());
            rest = &rest[used..];
        }
        checked += 1;
    }
    assert!(checked > 0, "no seed inputs in {}", dir.display());
}

#[test]
fn v311_refusal_of_a_v5_connect_reencodes_as_the_server_sent_it() {
    // A 3.1.1-only server refuses a level-5 CONNECT with its own CONNACK: return code 2, no property length.
    let bytes = [0x20, 0x02, 0x00, 0x02];
    let (packet, used) = codec::decode(&bytes, ProtocolVersion::V5, u32::MAX)
        .unwrap()
        .unwrap();
    assert_eq!(used, 4);
    assert_eq!(encode(&packet, ProtocolVersion::V5), bytes);
}
