//! Byte vectors for every control packet of MQTT 3.1.1 and MQTT 5.0, built from the packet
//! layouts of section 3 of each OASIS standard and, where the standard gives one, from its worked
//! example.
//!
//! Every vector is checked both ways: `decode` yields exactly the expected packet and consumes
//! every byte, and encoding the expected packet writes exactly the vector, with `encoded_len`
//! equal to its length. Every strict prefix of every vector decodes to `Ok(None)`.
//!
//! Integers are big-endian; strings and binary data carry a two-byte length (3.1.1 §1.5.3, 5.0
//! §1.5.4 and §1.5.6). The encoder writes the properties of a block in the order their struct
//! declares them, user properties (then subscription identifiers) last, so the MQTT 5.0 vectors
//! list them in that order. "RL" is the remaining length of the fixed header.
//!
//! The vectors live in `spec_vectors/`, one module per version and packet family; this file holds
//! the helpers they share and the checks that run over every vector.

use core::num::{NonZeroU16, NonZeroU32};
use std::collections::BTreeSet;

use mqtt_core::codec::{
    self, Ack, AckProperties, Auth, AuthProperties, ConnAck, Disconnect, List, ListItem, Packet,
    PacketId, ProtocolVersion, QoS, ReasonCode, RetainHandling, SubscriptionId,
    SubscriptionOptions, UserProperty,
};

#[path = "spec_vectors/v311.rs"]
mod v311;
#[path = "spec_vectors/v5_connect.rs"]
mod v5_connect;
#[path = "spec_vectors/v5_ping_disconnect_auth.rs"]
mod v5_ping_disconnect_auth;
#[path = "spec_vectors/v5_publish.rs"]
mod v5_publish;
#[path = "spec_vectors/v5_subscribe.rs"]
mod v5_subscribe;

const V3: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// One packet: its bytes on the wire and the value they stand for.
struct Vector {
    /// Protocol version and spec section first, so that a failure points at the clause.
    name: &'static str,
    version: ProtocolVersion,
    bytes: &'static [u8],
    packet: Packet<'static>,
}

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

fn nz16(value: u16) -> NonZeroU16 {
    NonZeroU16::new(value).unwrap()
}

fn nz32(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

fn sub_id(value: u32) -> SubscriptionId {
    SubscriptionId::new(value).unwrap()
}

/// A list built from owned items; leaked so that the vectors can be `'static`.
fn list<T: ListItem<'static>, const N: usize>(items: [T; N]) -> List<'static, T> {
    List::new(Vec::from(items).leak())
}

fn user(name: &'static str, value: &'static str) -> UserProperty<'static> {
    UserProperty { name, value }
}

fn options(
    qos: QoS,
    no_local: bool,
    retain_as_published: bool,
    retain_handling: RetainHandling,
) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local,
        retain_as_published,
        retain_handling,
    }
}

fn ack(packet_id: u16, reason: u8, properties: AckProperties<'static>) -> Ack<'static> {
    Ack {
        packet_id: id(packet_id),
        reason: ReasonCode(reason),
        properties,
    }
}

/// Every vector: those of 3.1.1, then those of 5.0, each in the order of section 3.
fn vectors() -> Vec<Vector> {
    [
        v311::vectors(),
        v5_connect::vectors(),
        v5_publish::vectors(),
        v5_subscribe::vectors(),
        v5_ping_disconnect_auth::vectors(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn every_vector_decodes_to_its_packet_using_every_byte() {
    for v in vectors() {
        let decoded = codec::decode(v.bytes, v.version, u32::MAX);
        assert_eq!(decoded, Ok(Some((v.packet, v.bytes.len()))), "{}", v.name);
    }
}

#[test]
fn every_packet_encodes_to_its_vector() {
    for v in vectors() {
        assert_eq!(
            v.packet.encoded_len(v.version),
            v.bytes.len(),
            "encoded_len of {}",
            v.name
        );
        // Guard bytes after the packet must stay untouched.
        let mut buf = vec![0xa5; v.bytes.len() + 8];
        let written = v
            .packet
            .encode(v.version, &mut buf)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(written, v.bytes.len(), "bytes written for {}", v.name);
        assert_eq!(&buf[..written], v.bytes, "{}", v.name);
        assert!(
            buf[written..].iter().all(|&b| b == 0xa5),
            "{} wrote past its length",
            v.name
        );
    }
}

#[test]
fn every_packet_refuses_a_buffer_one_byte_short() {
    for v in vectors() {
        let mut buf = vec![0; v.bytes.len() - 1];
        assert_eq!(
            v.packet.encode(v.version, &mut buf),
            Err(mqtt_core::EncodeError::BufferTooSmall {
                needed: v.bytes.len(),
                available: v.bytes.len() - 1,
            }),
            "{}",
            v.name
        );
    }
}

#[test]
fn every_truncation_of_a_vector_asks_for_more_bytes() {
    for v in vectors() {
        for end in 0..v.bytes.len() {
            assert_eq!(
                codec::decode(&v.bytes[..end], v.version, u32::MAX),
                Ok(None),
                "{} cut after {end} of {} bytes",
                v.name,
                v.bytes.len()
            );
        }
    }
}

#[test]
fn back_to_back_packets_decode_one_at_a_time() {
    for version in [V3, V5] {
        let vectors: Vec<Vector> = vectors()
            .into_iter()
            .filter(|v| v.version == version)
            .collect();
        let stream: Vec<u8> = vectors
            .iter()
            .flat_map(|v| v.bytes.iter().copied())
            .collect();
        let mut rest = &stream[..];
        for v in &vectors {
            let (packet, used) = codec::decode(rest, version, u32::MAX).unwrap().unwrap();
            assert_eq!(
                (packet, used),
                (v.packet, v.bytes.len()),
                "{} inside a stream",
                v.name
            );
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
    }
}

#[test]
fn a_packet_exactly_at_the_maximum_size_is_accepted() {
    for v in vectors() {
        let max = u32::try_from(v.bytes.len()).unwrap();
        let decoded = codec::decode(v.bytes, v.version, max).unwrap();
        assert_eq!(
            decoded.map(|(_, used)| used),
            Some(v.bytes.len()),
            "{}",
            v.name
        );
    }
}

#[test]
fn connect_version_reads_the_protocol_level_of_every_connect() {
    for v in vectors()
        .iter()
        .filter(|v| matches!(v.packet, Packet::Connect(_)))
    {
        assert_eq!(
            codec::connect_version(v.bytes),
            Ok(Some(v.version)),
            "{}",
            v.name
        );
        // Fixed header (2 bytes here), protocol name (6) and level (1) are all it needs.
        for end in 0..9 {
            assert_eq!(
                codec::connect_version(&v.bytes[..end]),
                Ok(None),
                "{} cut after {end}",
                v.name
            );
        }
        assert_eq!(
            codec::connect_version(&v.bytes[..9]),
            Ok(Some(v.version)),
            "{}",
            v.name
        );
    }
}

/// The property identifiers a decoded packet carries, read from its typed fields.
fn property_ids(packet: &Packet<'_>) -> Vec<u8> {
    macro_rules! collect {
        ($ids:ident, $props:expr, [$($field:ident = $id:literal),*]) => {{
            let props = &$props;
            $( if props.$field.is_some() { $ids.push($id); } )*
            if !props.user_properties.is_empty() {
                $ids.push(0x26);
            }
        }};
    }
    let mut ids = Vec::new();
    match packet {
        Packet::Connect(c) => {
            collect!(
                ids,
                c.properties,
                [
                    session_expiry_interval = 0x11,
                    receive_maximum = 0x21,
                    maximum_packet_size = 0x27,
                    topic_alias_maximum = 0x22,
                    request_response_information = 0x19,
                    request_problem_information = 0x17,
                    authentication_method = 0x15,
                    authentication_data = 0x16
                ]
            );
            if let Some(will) = &c.will {
                collect!(
                    ids,
                    will.properties,
                    [
                        will_delay_interval = 0x18,
                        payload_format_indicator = 0x01,
                        message_expiry_interval = 0x02,
                        content_type = 0x03,
                        response_topic = 0x08,
                        correlation_data = 0x09
                    ]
                );
            }
        }
        Packet::ConnAck(c) => collect!(
            ids,
            c.properties,
            [
                session_expiry_interval = 0x11,
                receive_maximum = 0x21,
                maximum_qos = 0x24,
                retain_available = 0x25,
                maximum_packet_size = 0x27,
                assigned_client_identifier = 0x12,
                topic_alias_maximum = 0x22,
                reason_string = 0x1f,
                wildcard_subscription_available = 0x28,
                subscription_identifiers_available = 0x29,
                shared_subscription_available = 0x2a,
                server_keep_alive = 0x13,
                response_information = 0x1a,
                server_reference = 0x1c,
                authentication_method = 0x15,
                authentication_data = 0x16
            ]
        ),
        Packet::Publish(p) => {
            collect!(
                ids,
                p.properties,
                [
                    payload_format_indicator = 0x01,
                    message_expiry_interval = 0x02,
                    topic_alias = 0x23,
                    response_topic = 0x08,
                    correlation_data = 0x09,
                    content_type = 0x03
                ]
            );
            if !p.properties.subscription_identifiers.is_empty() {
                ids.push(0x0b);
            }
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            collect!(ids, a.properties, [reason_string = 0x1f]);
        }
        Packet::Subscribe(s) => collect!(ids, s.properties, [subscription_identifier = 0x0b]),
        Packet::SubAck(s) => collect!(ids, s.properties, [reason_string = 0x1f]),
        Packet::Unsubscribe(u) => collect!(ids, u.properties, []),
        Packet::UnsubAck(u) => collect!(ids, u.properties, [reason_string = 0x1f]),
        Packet::Disconnect(d) => collect!(
            ids,
            d.properties,
            [
                session_expiry_interval = 0x11,
                reason_string = 0x1f,
                server_reference = 0x1c
            ]
        ),
        Packet::Auth(a) => collect!(
            ids,
            a.properties,
            [
                authentication_method = 0x15,
                authentication_data = 0x16,
                reason_string = 0x1f
            ]
        ),
        Packet::PingReq | Packet::PingResp => {}
    }
    ids
}

#[test]
fn the_vectors_cover_every_property_identifier() {
    // MQTT 5.0 §2.2.2.2 Table 2-4.
    const ALL: [u8; 27] = [
        0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
        0x1c, 0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
    ];
    let covered: BTreeSet<u8> = vectors()
        .iter()
        .filter(|v| v.version == V5)
        .flat_map(|v| property_ids(&v.packet))
        .collect();
    let missing: Vec<String> = ALL
        .iter()
        .filter(|id| !covered.contains(id))
        .map(|id| format!("{id:#04x}"))
        .collect();
    assert!(missing.is_empty(), "no vector carries property {missing:?}");
}

#[test]
fn the_vectors_cover_every_packet_type_in_both_versions() {
    for version in [V3, V5] {
        let types: BTreeSet<u8> = vectors()
            .iter()
            .filter(|v| v.version == version)
            .map(|v| v.packet.packet_type() as u8)
            .collect();
        let expected: BTreeSet<u8> = if version == V5 {
            (1..=15).collect()
        } else {
            (1..=14).collect()
        };
        assert_eq!(types, expected, "{version}");
    }
    // QoS 0, 1 and 2 PUBLISH in both versions.
    for version in [V3, V5] {
        let qos: BTreeSet<u8> = vectors()
            .iter()
            .filter(|v| v.version == version)
            .filter_map(|v| match v.packet {
                Packet::Publish(p) => Some(u8::from(p.qos)),
                _ => None,
            })
            .collect();
        assert_eq!(qos, BTreeSet::from([0, 1, 2]), "{version}");
    }
}

#[test]
fn the_vectors_have_unique_names() {
    let names: Vec<&str> = vectors().iter().map(|v| v.name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(names.len(), unique.len());
}

/// Forms that the specification allows but that the encoder, which always writes the shortest
/// form, does not produce. They decode to the same packet as their canonical vector.
#[test]
fn longer_equivalent_forms_decode_to_the_same_packet() {
    let cases: &[(&str, ProtocolVersion, &[u8], Packet<'static>)] = &[
        (
            // 5.0 §3.4.2.1: success written out with an empty property block.
            "5.0 PUBACK, success and property length 0",
            V5,
            &[0x40, 0x04, 0x00, 0x0a, 0x00, 0x00],
            Packet::PubAck(Ack::new(id(10))),
        ),
        (
            // 5.0 §3.14.2.1: normal disconnection written out.
            "5.0 DISCONNECT, reason 0x00 and property length 0",
            V5,
            &[0xe0, 0x02, 0x00, 0x00],
            Packet::Disconnect(Disconnect::default()),
        ),
        (
            // 5.0 §3.15.2.1: success written out.
            "5.0 AUTH, reason 0x00 and property length 0",
            V5,
            &[0xf0, 0x02, 0x00, 0x00],
            Packet::Auth(Auth::default()),
        ),
        (
            // A reason code without a property length (the DISCONNECT short form, §3.14.2.2.1) is not
            // an AUTH form §3.15.2.1 describes, but it is read the same way.
            "5.0 AUTH, reason code only",
            V5,
            &[0xf0, 0x01, 0x18],
            Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: AuthProperties::default(),
            }),
        ),
        (
            // A 3.1.1-only server answers a level-5 CONNECT with the 3.1.1 CONNACK 0x01
            // "unacceptable protocol level" (3.1.1 §3.1.2.2, [MQTT-3.1.2-2]), which has no
            // property length; it reads as if the property length were 0.
            "5.0 CONNACK without a property length",
            V5,
            &[0x20, 0x02, 0x00, 0x01],
            Packet::ConnAck(ConnAck {
                reason: ReasonCode(1),
                ..ConnAck::default()
            }),
        ),
    ];
    for (name, version, bytes, packet) in cases {
        assert_eq!(
            codec::decode(bytes, *version, u32::MAX),
            Ok(Some((*packet, bytes.len()))),
            "{name}"
        );
    }
}
