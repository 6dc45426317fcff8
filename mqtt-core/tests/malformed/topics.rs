//! Rows breaking a rule of topic names, topic filters or subscription options.

use mqtt_core::TopicError;

use super::{E, P, Row, V3, V5};

pub(super) const ROWS: &[Row] = &[
    // ---------------------------------------------------------------------------------------------
    // Topic names: [MQTT-3.3.2-2], [MQTT-4.7.3-1]
    // ---------------------------------------------------------------------------------------------
    (
        "'+' in a PUBLISH topic",
        V3,
        &[
            0x30, 0x05, // PUBLISH QoS 0, RL 5
            0x00, 0x03, b'a', b'/', b'+', // topic "a/+"
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "'#' in a PUBLISH topic",
        V5,
        &[
            0x30, 0x06, // PUBLISH QoS 0, RL 6
            0x00, 0x03, b'a', b'/', b'#', 0x00, // topic "a/#", property length 0
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "'+' in a will topic",
        V3,
        &[
            0x10, 0x13, // CONNECT, RL 19
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x06, 0x00, 0x3c, // level 4; will, clean; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x03, b'a', b'/', b'+', 0x00, 0x00, // will topic "a/+", will message ""
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "'#' in a will topic",
        V5,
        &[
            0x10, 0x13, // CONNECT, RL 19
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x05, 0x06, 0x00, 0x3c, 0x00, // level 5; will, clean; keep alive 60; no props
            0x00, 0x00, 0x00, // client id "", no will properties
            0x00, 0x01, b'#', 0x00, 0x00, // will topic "#", will payload ""
        ],
        E::InvalidTopicName(TopicError::WildcardInName),
    ),
    (
        "empty PUBLISH topic (3.1.1)",
        V3,
        &[
            0x30, 0x02, // PUBLISH QoS 0, RL 2
            0x00, 0x00, // topic ""
        ],
        E::InvalidTopicName(TopicError::Empty),
    ),
    (
        "empty will topic",
        V3,
        &[
            0x10, 0x10, // CONNECT, RL 16
            0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
            0x04, 0x06, 0x00, 0x3c, // level 4; will, clean; keep alive 60
            0x00, 0x00, // client id ""
            0x00, 0x00, 0x00, 0x00, // will topic "", will message ""
        ],
        E::InvalidTopicName(TopicError::Empty),
    ),
    (
        "empty PUBLISH topic without a topic alias (5.0 §3.3.2.1)",
        V5,
        &[
            0x30, 0x03, // PUBLISH QoS 0, RL 3
            0x00, 0x00, 0x00, // topic "", property length 0
        ],
        E::EmptyTopicWithoutAlias,
    ),
    (
        "empty PUBLISH topic with other properties but no alias",
        V5,
        &[
            0x32, 0x07, // PUBLISH QoS 1, RL 7
            0x00, 0x00, 0x00, 0x0a, // topic "", packet id 10
            0x02, 0x01, 0x01, // property length 2: payload format indicator 1
        ],
        E::EmptyTopicWithoutAlias,
    ),
    // ---------------------------------------------------------------------------------------------
    // Topic filters: [MQTT-4.7.1-2], [MQTT-4.7.1-3], [MQTT-4.7.3-1], [MQTT-4.8.2-1]
    // ---------------------------------------------------------------------------------------------
    (
        "filter \"a/#/b\": '#' not last",
        V3,
        &[
            0x82, 0x0a, 0x00, 0x0a, // SUBSCRIBE, RL 10, packet id 10
            0x00, 0x05, b'a', b'/', b'#', b'/', b'b', 0x00, // "a/#/b" QoS 0
        ],
        E::InvalidTopicFilter(TopicError::MisplacedMultiLevelWildcard),
    ),
    (
        "filter \"a+\": '+' not a whole level",
        V5,
        &[
            0x82, 0x08, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 8, packet id 10, no properties
            0x00, 0x02, b'a', b'+', 0x00, // "a+" QoS 0
        ],
        E::InvalidTopicFilter(TopicError::MisplacedSingleLevelWildcard),
    ),
    (
        "empty filter in SUBSCRIBE",
        V5,
        &[
            0x82, 0x06, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 6, packet id 10, no properties
            0x00, 0x00, 0x00, // "" QoS 0
        ],
        E::InvalidTopicFilter(TopicError::Empty),
    ),
    (
        "filter \"a#\" in UNSUBSCRIBE",
        V3,
        &[
            0xa2, 0x06, 0x00, 0x0a, // UNSUBSCRIBE, RL 6, packet id 10
            0x00, 0x02, b'a', b'#', // "a#"
        ],
        E::InvalidTopicFilter(TopicError::MisplacedMultiLevelWildcard),
    ),
    (
        "shared subscription without a filter (\"$share/g\")",
        V5,
        &[
            0x82, 0x0e, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 14, packet id 10, no properties
            0x00, 0x08, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', // "$share/g"
            0x00, // QoS 0
        ],
        E::InvalidTopicFilter(TopicError::InvalidSharedSubscription),
    ),
    (
        "shared subscription without a share name (\"$share//a\")",
        V5,
        &[
            0xa2, 0x0e, 0x00, 0x0a, 0x00, // UNSUBSCRIBE, RL 14, packet id 10, no properties
            0x00, 0x09, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'/', b'a', // "$share//a"
        ],
        E::InvalidTopicFilter(TopicError::InvalidSharedSubscription),
    ),
    (
        "SUBSCRIBE without any filter (3.1.1, [MQTT-3.8.3-3])",
        V3,
        &[
            0x82, 0x02, 0x00, 0x0a, // SUBSCRIBE, RL 2, packet id 10, no payload
        ],
        E::NoTopicFilter {
            packet: P::Subscribe,
        },
    ),
    (
        "SUBSCRIBE without any filter (5.0, [MQTT-3.8.3-2])",
        V5,
        &[
            0x82, 0x03, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 3, packet id 10, no properties
        ],
        E::NoTopicFilter {
            packet: P::Subscribe,
        },
    ),
    (
        "UNSUBSCRIBE without any filter (3.1.1, [MQTT-3.10.3-2])",
        V3,
        &[
            0xa2, 0x02, 0x00, 0x0a, // UNSUBSCRIBE, RL 2, packet id 10, no payload
        ],
        E::NoTopicFilter {
            packet: P::Unsubscribe,
        },
    ),
    (
        "UNSUBSCRIBE without any filter (5.0, [MQTT-3.10.3-2])",
        V5,
        &[
            0xa2, 0x03, 0x00, 0x0a, 0x00, // UNSUBSCRIBE, RL 3, packet id 10, no properties
        ],
        E::NoTopicFilter {
            packet: P::Unsubscribe,
        },
    ),
    // ---------------------------------------------------------------------------------------------
    // Subscription options: [MQTT-3-8.3-4] (3.1.1), [MQTT-3.8.3-5] and §3.8.3.1 (5.0)
    // ---------------------------------------------------------------------------------------------
    (
        "3.1.1 requested QoS byte with bit 2 set",
        V3,
        &[
            0x82, 0x08, 0x00, 0x0a, // SUBSCRIBE, RL 8, packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x04, // "a/b", 0000 0100
        ],
        E::InvalidSubscriptionOptions(0x04),
    ),
    (
        "3.1.1 requested QoS byte with bit 7 set",
        V3,
        &[
            0x82, 0x08, 0x00, 0x0a, // SUBSCRIBE, RL 8, packet id 10
            0x00, 0x03, b'a', b'/', b'b', 0x81, // "a/b", 1000 0001
        ],
        E::InvalidSubscriptionOptions(0x81),
    ),
    (
        "5.0 subscription options with bit 6 set",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x41, // "a/b", 0100 0001
        ],
        E::InvalidSubscriptionOptions(0x41),
    ),
    (
        "5.0 subscription options with bit 7 set",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x80, // "a/b", 1000 0000
        ],
        E::InvalidSubscriptionOptions(0x80),
    ),
    (
        "5.0 retain handling 3",
        V5,
        &[
            0x82, 0x09, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 9, packet id 10, no properties
            0x00, 0x03, b'a', b'/', b'b', 0x30, // "a/b", retain handling 3
        ],
        E::InvalidSubscriptionOptions(0x30),
    ),
    (
        "No Local on a shared subscription ([MQTT-3.8.3-4])",
        V5,
        &[
            0x82, 0x10, 0x00, 0x0a, 0x00, // SUBSCRIBE, RL 16, packet id 10, no properties
            0x00, 0x0a, // filter, 10 bytes
            b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a', // "$share/g/a"
            0x05, // no local, QoS 1
        ],
        E::NoLocalOnSharedSubscription,
    ),
    (
        "3.1.1 shared filter with the No Local bit: a reserved bit there",
        V3,
        &[
            0x82, 0x0f, 0x00, 0x0a, // SUBSCRIBE, RL 15, packet id 10
            0x00, 0x0a, // filter, 10 bytes
            b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a', // "$share/g/a"
            0x05, // bit 2 and QoS 1
        ],
        E::InvalidSubscriptionOptions(0x05),
    ),
];
