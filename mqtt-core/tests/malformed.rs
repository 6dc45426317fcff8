//! Malformed packets: one row per rule of MQTT 3.1.1 and MQTT 5.0 that a single packet can break,
//! each with the [`DecodeError`] naming that rule.
//!
//! Each row is a whole packet (unless the rule is about the fixed header alone) that would be
//! valid but for the one broken rule, so that the row fails for the reason it names. The
//! near-miss table holds packets one step away from a row that must still decode.
//!
//! The rows live in `malformed/`, one table per theme; this file holds what they share and the
//! checks that run over every row.

use std::collections::BTreeSet;

use mqtt_core::DecodeError;
use mqtt_core::codec::{self, PacketType, ProtocolVersion, ReasonCode};

use DecodeError as E;
use PacketType as P;

const V3: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// The maximum packet size every row is decoded with: 1 MiB.
const MAX_PACKET_SIZE: u32 = 1 << 20;

/// (name, version, bytes, the error `decode` must return).
type Row = (&'static str, ProtocolVersion, &'static [u8], DecodeError);

#[path = "malformed/connect_connack.rs"]
mod connect_connack;
#[path = "malformed/field_values.rs"]
mod field_values;
#[path = "malformed/fixed_header.rs"]
mod fixed_header;
#[path = "malformed/near_misses.rs"]
mod near_misses;
#[path = "malformed/properties.rs"]
mod properties;
#[path = "malformed/reason_codes.rs"]
mod reason_codes;
#[path = "malformed/remaining_length.rs"]
mod remaining_length;
#[path = "malformed/topics.rs"]
mod topics;

/// Every table of rows, in the order of the rules: the fixed header first, then the fields, the
/// properties, and the rules of single packets.
const TABLES: &[&[Row]] = &[
    fixed_header::ROWS,
    remaining_length::ROWS,
    field_values::ROWS,
    topics::ROWS,
    properties::ROWS,
    connect_connack::ROWS,
    reason_codes::ROWS,
];

/// Every row of every table.
fn rows() -> impl Iterator<Item = &'static Row> {
    TABLES.iter().flat_map(|table| table.iter())
}

fn decode(version: ProtocolVersion, bytes: &[u8]) -> Result<Option<usize>, DecodeError> {
    codec::decode(bytes, version, MAX_PACKET_SIZE).map(|p| p.map(|(_, used)| used))
}

#[test]
fn every_row_fails_with_the_error_it_names() {
    let mut wrong = Vec::new();
    for &(name, version, bytes, expected) in rows() {
        let got = decode(version, bytes);
        if got != Err(expected) {
            wrong.push(format!("{name}: expected Err({expected:?}), got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_prefix_of_a_row_waits_or_fails_the_same_way() {
    // Incomplete input is never an error; the only errors a prefix can show are the ones its fixed
    // header already proves, which are the row's own.
    for &(name, version, bytes, expected) in rows() {
        for end in 0..bytes.len() {
            let got = decode(version, &bytes[..end]);
            assert!(
                got == Ok(None) || got == Err(expected),
                "{name} cut after {end} bytes: {got:?}"
            );
        }
    }
}

#[test]
fn every_decode_error_variant_has_a_row() {
    const VARIANTS: [&str; 30] = [
        "InvalidPacketType",
        "InvalidFixedHeaderFlags",
        "VarIntTooLong",
        "NonMinimalVarInt",
        "PacketTooLarge",
        "UnexpectedEnd",
        "TrailingBytes",
        "InvalidUtf8",
        "NullCharacter",
        "ZeroPacketId",
        "InvalidQoS",
        "DupOnQoS0",
        "InvalidTopicName",
        "InvalidTopicFilter",
        "NoTopicFilter",
        "InvalidSubscriptionOptions",
        "NoLocalOnSharedSubscription",
        "UnknownProperty",
        "PropertyNotAllowed",
        "DuplicateProperty",
        "InvalidPropertyValue",
        "InvalidProtocolName",
        "UnsupportedProtocolLevel",
        "ProtocolVersionMismatch",
        "ReservedConnectFlag",
        "WillFlagsInconsistent",
        "PasswordWithoutUserName",
        "InvalidConnAckFlags",
        "EmptyTopicWithoutAlias",
        "InvalidReasonCode",
    ];
    let covered: BTreeSet<String> = rows()
        .map(|row| {
            let debug = format!("{:?}", row.3);
            debug
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let missing: Vec<&str> = VARIANTS
        .into_iter()
        .filter(|v| !covered.contains(*v))
        .collect();
    assert!(missing.is_empty(), "no row for {missing:?}");
    let unknown: Vec<&String> = covered
        .iter()
        .filter(|c| !VARIANTS.contains(&c.as_str()))
        .collect();
    assert!(unknown.is_empty(), "add {unknown:?} to VARIANTS");
}

#[test]
fn every_fixed_header_with_reserved_flags_has_a_row() {
    // Every packet type but PUBLISH reserves its flags. [MQTT-2.2.2-1]
    let types: BTreeSet<String> = rows()
        .filter_map(|row| match row.3 {
            E::InvalidFixedHeaderFlags { packet, .. } => Some(packet.name().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(types.len(), 14, "{types:?}");
}

#[test]
fn rows_have_unique_names() {
    let names: BTreeSet<&str> = rows().map(|row| row.0).collect();
    assert_eq!(names.len(), rows().count());
}

#[test]
fn every_error_has_a_display_message() {
    for &(name, _, _, error) in rows() {
        let message = error.to_string();
        assert!(
            !message.trim().is_empty(),
            "{name}: empty message for {error:?}"
        );
    }
}

#[test]
fn reason_codes_follow_the_specification() {
    // (row, the reason code MQTT 5.0 names for it, where).
    let cases: &[(&str, ReasonCode, &str)] = &[
        (
            "header announcing 256 MB, only the header present",
            ReasonCode::PACKET_TOO_LARGE,
            "§3.1.2.11.4, §4.13",
        ),
        (
            "CONNECT with flags 0001",
            ReasonCode::MALFORMED_PACKET,
            "§2.1.3: invalid flags are a Malformed Packet",
        ),
        (
            "non-minimal property length",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-1.5.5-1]",
        ),
        (
            "UTF-16 surrogate U+D800 (ed a0 80) in a topic",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-1.5.4-1]",
        ),
        (
            "PUBLISH with QoS 3 (5.0)",
            ReasonCode::MALFORMED_PACKET,
            "§3.3.1.2: QoS 3 is a Malformed Packet",
        ),
        (
            "will QoS 3 (5.0)",
            ReasonCode::MALFORMED_PACKET,
            "§3.1.2.6: will QoS 3 is a Malformed Packet",
        ),
        (
            "reserved CONNECT flag set (5.0)",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-3.1.2-3]",
        ),
        (
            "PUBACK with reason code 0xff",
            ReasonCode::MALFORMED_PACKET,
            "§2.4: a reason code its packet's table does not list",
        ),
        (
            "unknown property 0x2b on PUBACK",
            ReasonCode::MALFORMED_PACKET,
            "§2.2.2.2: an identifier not valid for the packet is a Malformed Packet",
        ),
        (
            "Topic Alias on CONNECT",
            ReasonCode::MALFORMED_PACKET,
            "§2.2.2.2",
        ),
        (
            "5.0 subscription options with bit 7 set",
            ReasonCode::MALFORMED_PACKET,
            "[MQTT-3.8.3-5]",
        ),
        (
            "two Topic Aliases on PUBLISH (5.0 §3.3.2.3.4)",
            ReasonCode::PROTOCOL_ERROR,
            "§2.2.2.2: a property included twice is a Protocol Error",
        ),
        (
            "Receive Maximum 0 on CONNECT (5.0 §3.1.2.11.3)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.1.2.11.3",
        ),
        (
            "Maximum QoS 2 on CONNACK (5.0 §3.2.2.3.4)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.2.2.3.4",
        ),
        (
            "Subscription Identifier 0 on SUBSCRIBE (5.0 §3.8.2.1.2)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.8.2.1.2",
        ),
        (
            "Maximum Packet Size 0 on CONNECT (5.0 §3.1.2.11.4)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.1.2.11.4",
        ),
        (
            "No Local on a shared subscription ([MQTT-3.8.3-4])",
            ReasonCode::PROTOCOL_ERROR,
            "[MQTT-3.8.3-4]",
        ),
        (
            "empty PUBLISH topic without a topic alias (5.0 §3.3.2.1)",
            ReasonCode::PROTOCOL_ERROR,
            "§3.3.2.3.4: an empty topic without an alias is a Protocol Error",
        ),
        (
            "Topic Alias 0 on PUBLISH ([MQTT-3.3.2-8])",
            ReasonCode::TOPIC_ALIAS_INVALID,
            "§3.3.4: a Topic Alias of 0 is answered with 0x94 Topic Alias invalid",
        ),
        (
            "5.0 retain handling 3",
            ReasonCode::PROTOCOL_ERROR,
            "§3.8.3.1: Retain Handling 3 is a Protocol Error",
        ),
        (
            "SUBSCRIBE without any filter (5.0, [MQTT-3.8.3-2])",
            ReasonCode::PROTOCOL_ERROR,
            "§3.8.3: a SUBSCRIBE with no payload is a Protocol Error",
        ),
        (
            "UNSUBSCRIBE without any filter (5.0, [MQTT-3.10.3-2])",
            ReasonCode::PROTOCOL_ERROR,
            "§3.10.3: an UNSUBSCRIBE with no payload is a Protocol Error",
        ),
    ];
    let mut wrong = Vec::new();
    for &(name, code, spec) in cases {
        let (_, _, _, error) = rows()
            .find(|row| row.0 == name)
            .unwrap_or_else(|| panic!("no row named {name:?}"));
        if error.reason_code() != code {
            wrong.push(format!(
                "{name}: {error:?} gives {}, {spec} says {code}",
                error.reason_code()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn near_misses_decode() {
    for &(name, version, bytes) in near_misses::NEAR_MISSES {
        assert_eq!(decode(version, bytes), Ok(Some(bytes.len())), "{name}");
    }
}

#[test]
fn the_size_limit_applies_to_the_whole_packet_and_is_checked_from_the_header() {
    // A header announcing 256 MB: with no limit beyond the protocol's own, the decoder waits.
    let header = [0x30, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(codec::decode(&header, V3, u32::MAX), Ok(None));
    // The fixed header counts towards the limit: RL 2 makes a 4-byte packet.
    let header = [0x30, 0x02]; // PUBLISH QoS 0, RL 2
    assert_eq!(
        codec::decode(&header, V3, 3),
        Err(E::PacketTooLarge { size: 4, max: 3 })
    );
    assert_eq!(codec::decode(&header, V3, 4), Ok(None));
}

#[test]
fn connect_version_rejects_a_connect_too_short_for_its_protocol_name() {
    // A complete CONNECT whose body ends inside the protocol name: more bytes cannot help.
    let short = [0x10, 0x02, 0x00, 0x04];
    assert_eq!(
        codec::connect_version(&short),
        Err(E::UnexpectedEnd { packet: P::Connect })
    );
    // A 3-byte CONNECT body followed by bytes that happen to continue "MQTT" and a level: they
    // belong to the next packet and must not be read as part of this one.
    let cut = [0x10, 0x03, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04];
    assert_eq!(
        codec::connect_version(&cut),
        Err(E::UnexpectedEnd { packet: P::Connect })
    );
    assert_eq!(
        codec::decode(&cut, V3, u32::MAX),
        Err(E::UnexpectedEnd { packet: P::Connect })
    );
    assert_eq!(
        codec::connect_version(&[0x20, 0x02, 0x00, 0x00]),
        Err(E::InvalidPacketType(2))
    );
}
