//! [`BrokerConfig`]: the knobs of the [`FakeBroker`](super::FakeBroker).

use mqtt_core::codec::{QoS, ReasonCode};

/// How the broker answers a 5.0 CONNECT ([`BrokerConfig::v5_connect`]): as a 5.0 broker, or as one of the ways
/// 3.1.1-only brokers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum V5Connect {
    /// Speak 5.0. The default.
    #[default]
    Accept,
    /// Answer with the 3.1.1 CONNACK "unacceptable protocol version", `20 02 00 01` (aedes, mosquitto in 3.1.1
    /// mode), then close.
    RefuseAsV311,
    /// Answer with a 5.0 CONNACK `0x84` Unsupported Protocol Version, then close.
    RefuseAsV5,
    /// Close the connection without a word (several 3.1.1-only brokers).
    Close,
}

/// The enhanced authentication a [`FakeBroker`](super::FakeBroker) requires (5.0): the challenge-response of
/// [`auth`](crate::auth) with `key`, and knobs to get it wrong on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAuth {
    /// The method the broker speaks; a CONNECT with another one is refused with `0x8C` Bad authentication method.
    pub method: String,
    /// The shared key.
    pub key: Vec<u8>,
    /// Sign the challenge with a wrong key (a server that cannot prove itself). Default `false`.
    pub tamper_proof: bool,
    /// Name another method in AUTH packets (a broken server). Default `false`.
    pub wrong_method: bool,
}

impl BrokerAuth {
    /// The method of [`auth`](crate::auth) with this key.
    pub fn hmac(key: impl Into<Vec<u8>>) -> Self {
        Self {
            method: crate::auth::METHOD.to_owned(),
            key: key.into(),
            tamper_proof: false,
            wrong_method: false,
        }
    }
}

/// How the [`FakeBroker`](super::FakeBroker) behaves. Every field can be changed between packets through
/// [`FakeBroker::config_mut`](super::FakeBroker::config_mut) or the broker's setters; what it announces in CONNACK applies from the next
/// connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Refuse every CONNECT with this code (3.1.1 return code 1 to 5, or a 5.0 reason code of `0x80` and above).
    /// Default `None`: accept.
    pub refuse_connect: Option<ReasonCode>,
    /// Keep sessions that ask to be kept. With `false` the broker forgets every session when its connection
    /// ends (a broker without persistence). Default `true`.
    pub keep_sessions: bool,
    /// Receive Maximum announced in CONNACK (5.0) and enforced on 5.0 clients: one more QoS 1 or 2 PUBLISH in
    /// flight from the client is answered with DISCONNECT `0x93`. Default `None` (65,535, not announced).
    pub receive_maximum: Option<u16>,
    /// Maximum Packet Size announced in CONNACK (5.0) and enforced: a larger packet from the client is answered
    /// with DISCONNECT `0x95` (5.0) or a close (3.1.1). Default `None`.
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum announced in CONNACK (5.0): the aliases the client may use. Default `None` (0).
    pub topic_alias_maximum: Option<u16>,
    /// Server Keep Alive announced in CONNACK (5.0). Default `None`.
    pub server_keep_alive: Option<u16>,
    /// The highest QoS granted to subscriptions; announced in CONNACK (5.0) when below 2 and enforced on the
    /// client's messages (DISCONNECT `0x9b`). Default QoS 2.
    pub maximum_qos: QoS,
    /// Retain Available, announced in CONNACK (5.0) when false and enforced (DISCONNECT `0x9a`). Default `true`.
    pub retain_available: bool,
    /// Answer PINGREQ with PINGRESP. Default `true`; `false` makes a silent broker.
    pub answer_pings: bool,
    /// Hold back the acknowledgements of the client's messages (PUBACK, PUBREC, PUBCOMP) until
    /// [`FakeBroker::release_acks`](super::FakeBroker::release_acks). Held acknowledgements are lost with the connection. Default `false`.
    pub hold_acks: bool,
    /// Use topic aliases towards the client (5.0, within the Topic Alias Maximum of its CONNECT): the first
    /// message on a topic assigns an alias, later ones send an empty topic with the alias. Default `false`.
    pub topic_aliases_to_client: bool,
    /// Topic filters whose SUBSCRIBE is refused (exact match).
    pub refused_filters: Vec<String>,
    /// The SUBACK code for a refused filter in 5.0 (3.1.1 always uses `0x80`). Default Not authorized (`0x87`).
    pub subscribe_refusal: ReasonCode,
    /// Prefix of the client identifiers the broker assigns to clients that send an empty one. Default
    /// `"fake-client-"`, followed by a counter.
    pub assigned_id_prefix: String,
    /// Answer every accepted CONNECT with Session Present 1, Clean Start 1 included (a broken broker,
    /// `[MQTT-3.2.2-2]`); the broker's own session handling is unchanged. Default `false`.
    pub claim_session_present: bool,
    /// Take QoS 2 messages from the client as QoS 1: accept each arrival and answer with PUBACK, as RabbitMQ does.
    /// Default `false`.
    pub qos2_as_qos1: bool,
    /// The reason code of the PUBCOMP answering a PUBREL the broker knows, to a 5.0 client (an unknown one always
    /// gets `0x92`). Default Success.
    pub pubcomp_reason: ReasonCode,
    /// How a 5.0 CONNECT is answered; 3.1.1 CONNECTs are always answered as 3.1.1. Default
    /// [`V5Connect::Accept`].
    pub v5_connect: V5Connect,
    /// Answer CONNECT at all. `false` makes a hung node: the transport opens (the kernel completes the TCP
    /// handshake of a stopped broker) and nothing comes back. Default `true`.
    pub answer_connect: bool,
    /// Close every connection right after accepting it with CONNACK (a broker that accepts and drops). Default
    /// `false`.
    pub drop_after_connack: bool,
    /// Shared subscriptions (`$share/...`) supported. Without, a SUBSCRIBE with a shared filter is answered with
    /// DISCONNECT `0x9E`, as ejabberd does. Default `true`.
    pub shared_subscriptions: bool,
    /// Wildcard subscriptions supported. Without, a SUBSCRIBE with `+` or `#` is answered with DISCONNECT `0xA2`.
    /// Default `true`.
    pub wildcard_subscriptions: bool,
    /// Say what is not supported (shared, wildcard subscriptions) in CONNACK (5.0). With `false` the broker only
    /// disconnects. Default `true`.
    pub announce_support: bool,
    /// Send the retained messages a SUBSCRIBE matches before its SUBACK (allowed: §3.8.4 only requires the
    /// SUBACK; brokers with queued or retained messages often do). Default `false`: SUBACK first.
    pub retained_before_suback: bool,
    /// Enhanced authentication required of 5.0 clients (see [`BrokerAuth`]). Default `None`.
    pub auth: Option<BrokerAuth>,
    /// Put a Reason String on every packet that carries one (5.0 CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP,
    /// SUBACK, UNSUBACK, DISCONNECT, AUTH): `fake broker: <PACKET>`. Default `false`.
    pub reason_strings: bool,
    /// Refuse every 5.0 CONNECT with this reason code (Use Another Server, Server Moved...) and Server Reference.
    /// Default `None`.
    pub redirect: Option<(ReasonCode, String)>,
    /// Response Information in CONNACK, for a 5.0 client that asks for it. Default `None`.
    pub response_information: Option<String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            refuse_connect: None,
            keep_sessions: true,
            receive_maximum: None,
            maximum_packet_size: None,
            topic_alias_maximum: None,
            server_keep_alive: None,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            answer_pings: true,
            hold_acks: false,
            topic_aliases_to_client: false,
            refused_filters: Vec::new(),
            subscribe_refusal: ReasonCode::NOT_AUTHORIZED,
            assigned_id_prefix: "fake-client-".to_owned(),
            claim_session_present: false,
            qos2_as_qos1: false,
            pubcomp_reason: ReasonCode::SUCCESS,
            v5_connect: V5Connect::Accept,
            answer_connect: true,
            drop_after_connack: false,
            shared_subscriptions: true,
            wildcard_subscriptions: true,
            announce_support: true,
            retained_before_suback: false,
            auth: None,
            reason_strings: false,
            redirect: None,
            response_information: None,
        }
    }
}
