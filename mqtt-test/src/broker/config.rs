//! [`BrokerConfig`]: the knobs of the [`FakeBroker`](super::FakeBroker).

use mqtt_core::codec::{QoS, ReasonCode};

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
        }
    }
}
