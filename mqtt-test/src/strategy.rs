//! proptest strategies for every MQTT control packet, valid by construction for the protocol version asked for.
//!
//! Packets borrow their strings and payloads. To hand out `Packet<'static>` values, the generated data is leaked;
//! a test run generates a few thousand small packets, so the leak is bounded and harmless in tests.

use std::num::{NonZeroU16, NonZeroU32};

use mqtt_core::codec::{
    Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, List, Packet, PacketId, PacketType,
    ProtocolVersion, Publish, PublishProperties, QoS, ReasonCode, RetainHandling, SubAck,
    Subscribe, SubscribeProperties, Subscription, SubscriptionId, SubscriptionOptions, UnsubAck,
    Unsubscribe, UnsubscribeProperties, UserProperty, Will, WillProperties,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// A UTF-8 string as MQTT allows it: any characters but U+0000, short.
pub fn string() -> impl Strategy<Value = &'static str> {
    proptest::string::string_regex("[^\u{0}]{0,12}")
        .expect("valid regex")
        .prop_map(leak_str)
}

/// Binary data, short.
pub fn binary() -> impl Strategy<Value = &'static [u8]> {
    vec(any::<u8>(), 0..24).prop_map(leak_slice)
}

/// A payload: usually short, sometimes a few kilobytes.
pub fn payload() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..64),
        1 => vec(any::<u8>(), 0..4096),
    ]
    .prop_map(leak_slice)
}

fn level() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9é€ $_-]{0,5}").expect("valid regex")
}

/// A valid topic name: one or more levels, no wildcards, not empty.
pub fn topic_name() -> impl Strategy<Value = &'static str> {
    vec(level(), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("topic names are not empty", |t| !t.is_empty())
        .prop_map(leak_str)
}

/// A valid topic filter: levels with `+` wildcards, an optional trailing `#`, sometimes a shared subscription.
pub fn topic_filter() -> impl Strategy<Value = &'static str> {
    let level = prop_oneof![3 => level(), 1 => Just("+".to_owned())];
    (vec(level, 0..4), any::<bool>(), of("[a-z]{1,4}"))
        .prop_map(|(mut levels, hash, share)| {
            if hash || levels.is_empty() {
                levels.push("#".to_owned());
            }
            let filter = levels.join("/");
            match share {
                Some(group) if !filter.is_empty() => format!("$share/{group}/{filter}"),
                _ => filter,
            }
        })
        .prop_filter("filters are not empty", |f| !f.is_empty())
        .prop_map(leak_str)
}

/// A packet identifier.
pub fn packet_id() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|id| NonZeroU16::new(id).expect("non-zero"))
}

/// Any QoS.
pub fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

/// Any reason code byte (valid for some packets, not for others: see [`reason_code_for`]).
pub fn reason_code() -> impl Strategy<Value = ReasonCode> {
    any::<u8>().prop_map(ReasonCode)
}

/// A reason code that the table of `packet` lists in `version` ([`ReasonCode::is_valid_for`]).
pub fn reason_code_for(
    packet: PacketType,
    version: ProtocolVersion,
) -> impl Strategy<Value = ReasonCode> {
    let valid: Vec<ReasonCode> = (0..=u8::MAX)
        .map(ReasonCode)
        .filter(|code| code.is_valid_for(packet, version))
        .collect();
    proptest::sample::select(valid)
}

fn non_zero_u16() -> impl Strategy<Value = NonZeroU16> {
    (1..=u16::MAX).prop_map(|v| NonZeroU16::new(v).expect("non-zero"))
}

fn non_zero_u32() -> impl Strategy<Value = NonZeroU32> {
    (1..=u32::MAX).prop_map(|v| NonZeroU32::new(v).expect("non-zero"))
}

fn subscription_id() -> impl Strategy<Value = SubscriptionId> {
    (1..=SubscriptionId::MAX).prop_map(|v| SubscriptionId::new(v).expect("in range"))
}

/// Zero to three user properties.
pub fn user_properties() -> impl Strategy<Value = List<'static, UserProperty<'static>>> {
    vec((string(), string()), 0..3).prop_map(|pairs| {
        let props: Vec<_> = pairs
            .into_iter()
            .map(|(name, value)| UserProperty { name, value })
            .collect();
        List::new(leak_slice(props))
    })
}

/// A strategy that yields `Default` in 3.1.1 and `v5` otherwise.
fn v5_only<T: Default + Clone + std::fmt::Debug + 'static>(
    version: ProtocolVersion,
    v5: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    match version {
        ProtocolVersion::V311 => Just(T::default()).boxed(),
        _ => v5.boxed(),
    }
}

fn connect_properties() -> impl Strategy<Value = ConnectProperties<'static>> {
    (
        (
            of(any::<u32>()),
            of(non_zero_u16()),
            of(non_zero_u32()),
            of(any::<u16>()),
        ),
        (
            of(any::<bool>()),
            of(any::<bool>()),
            of(string()),
            of(binary()),
        ),
        user_properties(),
    )
        .prop_map(
            |((sei, rm, mps, tam), (rri, rpi, am, ad), up)| ConnectProperties {
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                authentication_method: am,
                authentication_data: ad,
                user_properties: up,
            },
        )
}

fn will_properties() -> impl Strategy<Value = WillProperties<'static>> {
    (
        (of(any::<u32>()), of(any::<bool>()), of(any::<u32>())),
        (of(string()), of(topic_name()), of(binary())),
        user_properties(),
    )
        .prop_map(|((wdi, pfi, mei), (ct, rt, cd), up)| WillProperties {
            will_delay_interval: wdi,
            payload_format_indicator: pfi,
            message_expiry_interval: mei,
            content_type: ct,
            response_topic: rt,
            correlation_data: cd,
            user_properties: up,
        })
}

fn connack_properties() -> impl Strategy<Value = ConnAckProperties<'static>> {
    let max_qos = prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)];
    (
        (
            of(any::<u32>()),
            of(non_zero_u16()),
            of(max_qos),
            of(any::<bool>()),
        ),
        (
            of(non_zero_u32()),
            of(string()),
            of(any::<u16>()),
            of(string()),
        ),
        (
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<u16>()),
        ),
        (of(string()), of(string()), of(string()), of(binary())),
        user_properties(),
    )
        .prop_map(
            |(
                (sei, rm, mq, ra),
                (mps, aci, tam, rs),
                (wsa, sia, ssa, ska),
                (ri, sr, am, ad),
                up,
            )| {
                ConnAckProperties {
                    session_expiry_interval: sei,
                    receive_maximum: rm,
                    maximum_qos: mq,
                    retain_available: ra,
                    maximum_packet_size: mps,
                    assigned_client_identifier: aci,
                    topic_alias_maximum: tam,
                    reason_string: rs,
                    wildcard_subscription_available: wsa,
                    subscription_identifiers_available: sia,
                    shared_subscription_available: ssa,
                    server_keep_alive: ska,
                    response_information: ri,
                    server_reference: sr,
                    authentication_method: am,
                    authentication_data: ad,
                    user_properties: up,
                }
            },
        )
}

fn publish_properties() -> impl Strategy<Value = PublishProperties<'static>> {
    (
        (of(any::<bool>()), of(any::<u32>()), of(non_zero_u16())),
        (of(topic_name()), of(binary()), of(string())),
        user_properties(),
        vec(subscription_id(), 0..3),
    )
        .prop_map(
            |((pfi, mei, ta), (rt, cd, ct), up, ids)| PublishProperties {
                payload_format_indicator: pfi,
                message_expiry_interval: mei,
                topic_alias: ta,
                response_topic: rt,
                correlation_data: cd,
                content_type: ct,
                user_properties: up,
                subscription_identifiers: List::new(leak_slice(ids)),
            },
        )
}

fn ack_properties() -> impl Strategy<Value = AckProperties<'static>> {
    (of(string()), user_properties()).prop_map(|(rs, up)| AckProperties {
        reason_string: rs,
        user_properties: up,
    })
}

/// A CONNECT valid in `version`.
pub fn connect(version: ProtocolVersion) -> impl Strategy<Value = Connect<'static>> {
    let will = (
        topic_name(),
        payload(),
        qos(),
        any::<bool>(),
        v5_only(version, will_properties()),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
    let credentials =
        (of(string()), of(binary())).prop_map(move |(username, password)| match version {
            // 3.1.1 has no password without a user name.
            ProtocolVersion::V311 if username.is_none() => (None, None),
            _ => (username, password),
        });
    (
        any::<bool>(),
        any::<u16>(),
        string(),
        of(will),
        credentials,
        v5_only(version, connect_properties()),
    )
        .prop_map(
            |(clean_start, keep_alive, client_id, will, (username, password), properties)| {
                Connect {
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }
            },
        )
}

/// A PUBLISH valid in `version`.
pub fn publish(version: ProtocolVersion) -> impl Strategy<Value = Publish<'static>> {
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        packet_id(),
        v5_only(version, publish_properties()),
        payload(),
    )
        .prop_map(|(qos, dup, retain, topic, id, properties, payload)| {
            let with_id = qos != QoS::AtMostOnce;
            Publish {
                dup: dup && with_id,
                qos,
                retain,
                topic,
                packet_id: with_id.then_some(id),
                properties,
                payload,
            }
        })
}

fn subscription(version: ProtocolVersion) -> impl Strategy<Value = Subscription<'static>> {
    let retain_handling = prop_oneof![
        Just(RetainHandling::SendAtSubscribe),
        Just(RetainHandling::SendAtSubscribeIfNew),
        Just(RetainHandling::DoNotSend),
    ];
    (
        topic_filter(),
        qos(),
        any::<bool>(),
        any::<bool>(),
        retain_handling,
    )
        .prop_map(move |(filter, qos, no_local, rap, rh)| {
            let options = match version {
                ProtocolVersion::V311 => SubscriptionOptions {
                    qos,
                    ..SubscriptionOptions::default()
                },
                _ => SubscriptionOptions {
                    qos,
                    // No Local is a protocol error on a shared subscription. [MQTT-3.8.3-4]
                    no_local: no_local && !filter.starts_with("$share/"),
                    retain_as_published: rap,
                    retain_handling: rh,
                },
            };
            Subscription { filter, options }
        })
}

/// A SUBSCRIBE valid in `version`.
pub fn subscribe(version: ProtocolVersion) -> impl Strategy<Value = Subscribe<'static>> {
    let properties =
        (of(subscription_id()), user_properties()).prop_map(|(id, up)| SubscribeProperties {
            subscription_identifier: id,
            user_properties: up,
        });
    (
        packet_id(),
        v5_only(version, properties),
        vec(subscription(version), 1..5),
    )
        .prop_map(|(packet_id, properties, filters)| Subscribe {
            packet_id,
            properties,
            filters: List::new(leak_slice(filters)),
        })
}

/// Every packet type, valid in `version` (AUTH only in 5.0).
pub fn packet(version: ProtocolVersion) -> BoxedStrategy<Packet<'static>> {
    let v5 = version == ProtocolVersion::V5;
    let ack = move |packet: PacketType| {
        (
            packet_id(),
            reason_code_for(packet, version),
            v5_only(version, ack_properties()),
        )
            .prop_map(|(packet_id, reason, properties)| Ack {
                packet_id,
                reason,
                properties,
            })
    };
    let connack_reason = reason_code_for(PacketType::ConnAck, version);
    let connack = (
        any::<bool>(),
        connack_reason,
        v5_only(version, connack_properties()),
    )
        .prop_map(|(session_present, reason, properties)| ConnAck {
            session_present,
            reason,
            properties,
        });
    let suback = (
        packet_id(),
        v5_only(version, ack_properties()),
        vec(reason_code_for(PacketType::SubAck, version), 1..5),
    )
        .prop_map(|(packet_id, properties, codes)| SubAck {
            packet_id,
            properties,
            reasons: List::new(leak_slice(codes)),
        });
    let unsubscribe = (
        packet_id(),
        v5_only(
            version,
            user_properties().prop_map(|up| UnsubscribeProperties {
                user_properties: up,
            }),
        ),
        vec(topic_filter(), 1..5),
    )
        .prop_map(|(packet_id, properties, filters)| Unsubscribe {
            packet_id,
            properties,
            filters: List::new(leak_slice(filters)),
        });
    let unsuback_codes = if v5 {
        vec(reason_code_for(PacketType::UnsubAck, version), 0..5).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    let unsuback = (
        packet_id(),
        v5_only(version, ack_properties()),
        unsuback_codes,
    )
        .prop_map(|(packet_id, properties, codes)| UnsubAck {
            packet_id,
            properties,
            reasons: List::new(leak_slice(codes)),
        });
    let disconnect_properties = (
        of(any::<u32>()),
        of(string()),
        of(string()),
        user_properties(),
    )
        .prop_map(|(sei, rs, sr, up)| DisconnectProperties {
            session_expiry_interval: sei,
            reason_string: rs,
            server_reference: sr,
            user_properties: up,
        });
    let disconnect = (
        reason_code_for(PacketType::Disconnect, version),
        v5_only(version, disconnect_properties),
    )
        .prop_map(|(reason, properties)| Disconnect { reason, properties });

    let common = prop_oneof![
        connect(version).prop_map(Packet::Connect),
        connack.prop_map(Packet::ConnAck),
        publish(version).prop_map(Packet::Publish),
        ack(PacketType::PubAck).prop_map(Packet::PubAck),
        ack(PacketType::PubRec).prop_map(Packet::PubRec),
        ack(PacketType::PubRel).prop_map(Packet::PubRel),
        ack(PacketType::PubComp).prop_map(Packet::PubComp),
        subscribe(version).prop_map(Packet::Subscribe),
        suback.prop_map(Packet::SubAck),
        unsubscribe.prop_map(Packet::Unsubscribe),
        unsuback.prop_map(Packet::UnsubAck),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        disconnect.prop_map(Packet::Disconnect),
    ];
    if !v5 {
        return common.boxed();
    }
    let auth_properties = (of(string()), of(binary()), of(string()), user_properties()).prop_map(
        |(am, ad, rs, up)| AuthProperties {
            authentication_method: am,
            authentication_data: ad,
            reason_string: rs,
            user_properties: up,
        },
    );
    let auth = (reason_code_for(PacketType::Auth, version), auth_properties)
        .prop_map(|(reason, properties)| Packet::Auth(Auth { reason, properties }));
    prop_oneof![14 => common, 1 => auth].boxed()
}

/// A protocol version and a packet valid in it.
pub fn versioned_packet() -> impl Strategy<Value = (ProtocolVersion, Packet<'static>)> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
        .prop_flat_map(|version| packet(version).prop_map(move |p| (version, p)))
}
