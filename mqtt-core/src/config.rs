//! Session configuration.

use core::time::Duration;

use crate::codec::{List, ProtocolVersion, UserProperty, Will};
use crate::reconnect::ReconnectPolicy;

/// What a session does with unacknowledged QoS 1 and 2 messages when it reconnects and the broker no longer has
/// the session (CONNACK with session present = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionLostPolicy {
    /// Publish them again as new messages (new packet identifiers, DUP clear). The default: nothing is lost,
    /// duplicates are possible.
    #[default]
    Republish,
    /// Drop them and report each as [`PublishFailure::SessionLost`](crate::session::PublishFailure::SessionLost).
    Report,
}

/// Everything a [`Session`](crate::session::Session) needs to know before it connects.
///
/// Strings are borrowed only by [`Session::new`](crate::session::Session::new), which copies what it keeps into
/// the session's own memory. Its `Debug` output never shows the password.
#[derive(Clone, Copy)]
pub struct Config<'a> {
    /// MQTT 3.1.1 or 5.0. Default 5.0 (3.1.1 in a build without the `v5` feature). A version this build does not
    /// speak (cargo features `v5`, `v311`) is refused by `Session::new`.
    pub version: ProtocolVersion,
    /// With `version` 5.0: when the broker shows it does not speak 5.0, the next attempt uses 3.1.1, at once and
    /// for the rest of the session's life (paho's default behaviour). Default `false`: a 5.0 session stays 5.0 and
    /// reports [`ConnectRefusal::UnsupportedProtocolVersion`](crate::session::ConnectRefusal).
    ///
    /// The broker shows it by refusing the CONNECT for its protocol version (5.0 reason `0x84`, or the 3.1.1
    /// answer `20 02 00 01`), or, until a first 5.0 connection succeeded, by closing the connection after CONNECT
    /// without any answer (what several 3.1.1-only brokers do). Messages queued in 5.0 form go out in 3.1.1 form
    /// after the fall back; one with 5.0 properties fails with
    /// [`PublishFailure::PropertiesNotSupported`](crate::session::PublishFailure), and 5.0 subscription options
    /// other than QoS are dropped from SUBSCRIBE requests. A session with a password and no user name, or with an
    /// empty client identifier and `clean_start` false, cannot fall back (3.1.1 forbids both) and stays 5.0.
    pub fallback_to_v311: bool,
    /// The client identifier. May be empty if the broker is to assign one (with `clean_start` in 3.1.1).
    pub client_id: &'a str,
    /// Start every connection without session state (3.1.1 Clean Session, 5.0 Clean Start). Default `true`.
    pub clean_start: bool,
    /// 5.0 Session Expiry Interval in seconds: how long the broker keeps the session after a disconnection.
    /// Default 0 (3.1.1 brokers keep non-clean sessions regardless).
    pub session_expiry_interval: u32,
    /// Keep alive: the longest time without a packet sent before the client sends PINGREQ. Whole seconds up to
    /// 65,535; zero turns keep alive off. Default 60 s.
    pub keep_alive: Duration,
    /// User name.
    pub username: Option<&'a str>,
    /// Password (in 3.1.1 only together with a user name).
    pub password: Option<&'a [u8]>,
    /// Will message.
    pub will: Option<Will<'a>>,
    /// User properties of CONNECT (5.0).
    pub user_properties: List<'a, UserProperty<'a>>,
    /// Time allowed for opening the transport and receiving CONNACK. Default 30 s.
    pub connect_timeout: Duration,
    /// Time allowed for PINGRESP after PINGREQ before the connection counts as lost. Default zero: automatic,
    /// 10 s or half the keep alive interval, whichever is shorter, so that a silent broker is found out within
    /// one and a half keep alive intervals of its last word (the bound a broker applies to a silent client,
    /// `[MQTT-3.1.2-24]`). Any other value is used as given.
    pub ping_timeout: Duration,
    /// Longest wait for outgoing messages to be acknowledged after [`Session::disconnect`] was called, before
    /// DISCONNECT is sent anyway. Default 5 s. [`Session::disconnect_within`] takes the wait from its caller
    /// instead.
    ///
    /// [`Session::disconnect`]: crate::session::Session::disconnect
    /// [`Session::disconnect_within`]: crate::session::Session::disconnect_within
    pub disconnect_timeout: Duration,
    /// Outgoing QoS 1 and 2 messages in flight at most (the broker's Receive Maximum may lower it). Default 64.
    pub max_inflight: u16,
    /// The same limit on a 3.1.1 connection, where the broker has no way to announce its own: the window is the
    /// smaller of this and `max_inflight`. Default 20, mosquitto's default `max_inflight_messages`: mosquitto
    /// acknowledges 3.1.1 QoS 2 messages beyond it and drops them. Raise it only for a broker configured higher.
    pub max_inflight_v311: u16,
    /// Read batching under a flood: once this many bytes or more arrived within
    /// [`read_batch_delay`](Self::read_batch_delay), and none of them was a QoS 1 or 2 message (whose
    /// acknowledgements the broker waits for), the session's
    /// [`read_low_water`](crate::session::Session::read_low_water) asks the transport to wake the driver only once
    /// this many bytes are there, or when `read_batch_delay` has passed since the last read, whichever comes
    /// first; it ends when a read finds fewer. A flood is then read in batches, with one wake-up per batch instead
    /// of one per message, and a message arriving after it ends waits `read_batch_delay` at most. Default 0: off
    /// (a transport without a low-water mark would only wake more often). The std clients turn it on
    /// (`Options::read_batching`).
    pub read_batch_bytes: usize,
    /// See [`read_batch_bytes`](Self::read_batch_bytes). Default 1 ms; under a millisecond (the session's clock
    /// counts milliseconds), batching is off.
    pub read_batch_delay: Duration,
    /// Incoming QoS 2 messages that may await PUBREL at once; advertised to 5.0 brokers as Receive Maximum.
    /// Default 32. The session keeps their identifiers in the store: 2 bytes each, or above 4,096 a bitmap of
    /// 8 KiB that holds every identifier, so 65,535 (the 5.0 default, "no limit") never refuses one. A 3.1.1
    /// broker does not know this limit and may exceed it (mosquitto frees its slot at PUBREC): the PUBLISH that
    /// does not fit then waits, unprocessed, while reading goes on, until a PUBREL behind it frees a place (only
    /// a receive buffer full of such messages ends the connection, with
    /// [`ProtocolError::ReceiveMaximumExceeded`](crate::ProtocolError)). Give 3.1.1 sessions 65,535 where 8 KiB
    /// can be spared: nothing waits then. A 5.0 broker that sends one more while the table is full proves
    /// that an identifier kept from an earlier connection, which it has not mentioned since, belongs to a session
    /// it lost at a CONNACK the client never read: that identifier is forgotten to make room.
    ///
    /// With [`manual_ack`](Self::manual_ack) it is also the number of incoming QoS 1 and 2 messages whose
    /// acknowledgement may wait for the application: the store keeps a record of 3 bytes per message (packet
    /// identifier and state), `3 × receive_maximum` bytes in all (196,605 bytes for 65,535). When the record is
    /// full the session leaves the next QoS 1 or 2 PUBLISH unprocessed until an acknowledgement frees a slot.
    pub receive_maximum: u16,
    /// Largest packet accepted from the broker; advertised to 5.0 brokers. `None`: the length of the rx buffer.
    /// A larger message from a 3.1.1 broker (which cannot be told) is acknowledged and read past:
    /// [`Event::MessageTooLarge`](crate::Event::MessageTooLarge).
    pub max_packet_size: Option<u32>,
    /// Topic aliases accepted from the broker (5.0 Topic Alias Maximum). Default 0: none. Needs the cargo
    /// feature `topic-alias` (on by default).
    pub topic_alias_maximum: u16,
    /// Topic aliases the session assigns on its own to outgoing messages, within the broker's Topic Alias
    /// Maximum (5.0). Default 0: none. Needs the cargo feature `topic-alias` (on by default).
    pub outgoing_topic_aliases: u16,
    /// Longest topic, in bytes, that a topic alias can stand for. Default 64.
    ///
    /// Outgoing aliases are assigned automatically to topics up to this length: a free alias while there is one,
    /// then the least recently used one is given to the new topic (the PUBLISH that carries the topic redefines
    /// the alias, `[MQTT-3.3.2-12]`).
    pub topic_alias_len: u16,
    /// Include Maximum Packet Size in CONNECT (5.0). Default `true`. With `false` the broker is told no limit
    /// (some brokers refuse or mishandle the property); the session still refuses larger packets, as the rx
    /// buffer bounds them: a broker that sends one ends the connection with a protocol error.
    pub announce_maximum_packet_size: bool,
    /// Ask the broker for Response Information in CONNACK (5.0 Request Response Information = 1), the basis of
    /// response topics. Default `false`.
    pub request_response_information: bool,
    /// Let the broker send Reason Strings and User Properties with failures other than PUBLISH, CONNACK and
    /// DISCONNECT (5.0 Request Problem Information). Default `true` (the property is left out).
    pub request_problem_information: bool,
    /// Follow a broker's redirection (5.0): a CONNACK refusal or a DISCONNECT with Use Another Server (`0x9C`) or
    /// Server Moved (`0x9D`) and a Server Reference sends the next attempt to that server, at once, with
    /// [`Session::broker`](crate::session::Session::broker) returning the index one past the failover list and
    /// [`Session::server_reference`](crate::session::Session::server_reference) naming it. Default `false`: the
    /// binding must be able to open a connection to a server it was not configured with (the std clients do;
    /// a device usually cannot). See [redirection](crate::session#redirection).
    pub follow_redirects: bool,
    /// Bytes of each text the session keeps in its store: the Response Information, the Server Reference, the
    /// assigned client identifier and the Reason String of the latest CONNACK (read with
    /// [`Session::connack_info`](crate::session::Session::connack_info)), and the application's own DISCONNECT
    /// with properties ([`Session::disconnect_with`](crate::session::Session::disconnect_with)). Five slots of
    /// `2 + text_len` bytes. Default 0: none are kept (a Response Information or Server Reference longer than
    /// the slot is not kept either; a Reason String is cut). Redirection needs a Server Reference kept.
    pub text_len: u16,
    /// When and how often to reconnect.
    pub reconnect: ReconnectPolicy,
    /// Brokers of the failover list the connector rotates over (see
    /// [`Session::broker`](crate::session::Session::broker)): a failure about the broker moves the next attempt to
    /// the next one, at once, and the reconnect schedule applies between rounds over the list. Default 1.
    pub brokers: usize,
    /// What happens to unacknowledged messages when the broker lost the session.
    pub on_session_lost: SessionLostPolicy,
    /// Acknowledge incoming QoS 1 and 2 messages only when the application says it has them, with
    /// [`Session::ack`](crate::session::Session::ack), instead of as soon as they are processed. Default `false`.
    ///
    /// PUBACK and PUBREC then go out in the order the PUBLISH packets arrived, whatever the order of the `ack`
    /// calls, and the broker's Receive Maximum window (the session's [`receive_maximum`](Self::receive_maximum))
    /// stops the flow while the application holds too many unacknowledged messages. The store gives
    /// `3 × receive_maximum` bytes to the record of those messages. See the
    /// [session docs](crate::session#acknowledging-messages-manually).
    pub manual_ack: bool,
    /// How many connections in a row may end while the same outgoing message is the oldest one in flight without
    /// an acknowledgement (or, at QoS 0, is being written) before it fails as
    /// [`PublishFailure::Poison`](crate::session::PublishFailure::Poison) and the queue moves on. A broker that
    /// will never take a message (a 3.1.1 broker closes the connection on one larger than it accepts) would
    /// otherwise have it sent again on every connection, and nothing behind it would go out.
    ///
    /// Only connections that end without the application asking count (closed by the broker or the network, keep
    /// alive timeout, DISCONNECT from the broker; not a protocol error of the broker, which is about the packet
    /// that broke the rules), and only for the oldest message unacknowledged. The client
    /// cannot tell a broker that closes on a message from a network that keeps failing while it is in flight: a
    /// network that bad fails the message too. Default 5 (about 5 s of reconnects with the default policy): in
    /// the seeded simulation, whose link cuts most new connections within their first 120 bytes, 3 failed 1.5 %
    /// of the QoS 1 and 2 messages, 5 one in 15,000, 8 none. 0 never gives up; values above 31 count as 31.
    ///
    /// The same count applies to the oldest SUBSCRIBE or UNSUBSCRIBE sent and unanswered: at the threshold it
    /// fails with `0x80` (3.1.1's SUBACK failure) instead of being sent again on every connection (ejabberd closes
    /// a 3.1.1 connection over a `$share/` filter).
    pub poison_threshold: u8,
}

impl<'a> Config<'a> {
    /// A configuration with the defaults listed on each field.
    pub fn new(client_id: &'a str) -> Self {
        Self {
            version: match ProtocolVersion::V5.is_enabled() {
                true => ProtocolVersion::V5,
                false => ProtocolVersion::V311,
            },
            fallback_to_v311: false,
            client_id,
            clean_start: true,
            session_expiry_interval: 0,
            keep_alive: Duration::from_secs(60),
            username: None,
            password: None,
            will: None,
            user_properties: List::default(),
            connect_timeout: Duration::from_secs(30),
            ping_timeout: Duration::ZERO,
            disconnect_timeout: Duration::from_secs(5),
            max_inflight: 64,
            max_inflight_v311: 20,
            read_batch_bytes: 0,
            read_batch_delay: Duration::from_millis(1),
            receive_maximum: 32,
            max_packet_size: None,
            topic_alias_maximum: 0,
            outgoing_topic_aliases: 0,
            topic_alias_len: 64,
            announce_maximum_packet_size: true,
            request_response_information: false,
            request_problem_information: true,
            follow_redirects: false,
            text_len: 0,
            reconnect: ReconnectPolicy::default(),
            brokers: 1,
            on_session_lost: SessionLostPolicy::default(),
            manual_ack: false,
            poison_threshold: 5,
        }
    }
}

impl core::fmt::Debug for Config<'_> {
    /// Every setting but the password (shown as present or not), the will's payload and the user properties
    /// (shown by size).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("version", &self.version)
            .field("fallback_to_v311", &self.fallback_to_v311)
            .field("client_id", &self.client_id)
            .field("clean_start", &self.clean_start)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("keep_alive", &self.keep_alive)
            .field("username", &self.username)
            .field("password", &self.password.map(|_| "<redacted>"))
            .field("will_topic", &self.will.map(|w| w.topic))
            .field("will_payload_len", &self.will.map(|w| w.payload.len()))
            .field("user_properties", &self.user_properties.len())
            .field("connect_timeout", &self.connect_timeout)
            .field("ping_timeout", &self.ping_timeout)
            .field("disconnect_timeout", &self.disconnect_timeout)
            .field("max_inflight", &self.max_inflight)
            .field("max_inflight_v311", &self.max_inflight_v311)
            .field("receive_maximum", &self.receive_maximum)
            .field("max_packet_size", &self.max_packet_size)
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field("outgoing_topic_aliases", &self.outgoing_topic_aliases)
            .field("topic_alias_len", &self.topic_alias_len)
            .field(
                "announce_maximum_packet_size",
                &self.announce_maximum_packet_size,
            )
            .field(
                "request_response_information",
                &self.request_response_information,
            )
            .field(
                "request_problem_information",
                &self.request_problem_information,
            )
            .field("follow_redirects", &self.follow_redirects)
            .field("text_len", &self.text_len)
            .field("reconnect", &self.reconnect)
            .field("brokers", &self.brokers)
            .field("on_session_lost", &self.on_session_lost)
            .finish()
    }
}

/// A configuration that cannot work, found by [`Session::new`](crate::session::Session::new).
///
/// The caller is at fault; the message says which setting to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The store buffer cannot hold the CONNECT packet, the QoS 2 and topic alias tables, the record of messages
    /// awaiting the application's acknowledgement (with [`Config::manual_ack`]) and a minimal outbox.
    #[error("store buffer of {available} bytes is too small: at least {needed} bytes are needed")]
    StoreTooSmall {
        /// Bytes needed at least.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// The rx buffer is too small to receive even a CONNACK.
    #[error("rx buffer of {0} bytes is too small (at least 64 bytes)")]
    RxTooSmall(usize),
    /// A binding's transmit staging buffer (mqtt-embedded's `TX`) is too small to move a byte each way: it needs
    /// at least 2 bytes (half for bytes on their way out, half for bytes read). Without them the client never
    /// connects.
    #[error("the transmit staging buffer of {0} bytes is too small (at least 2)")]
    TxTooSmall(usize),
    /// The keep alive does not fit MQTT's 16-bit number of seconds.
    #[error("keep alive of {0} s exceeds 65,535 s")]
    KeepAliveTooLong(u64),
    /// `max_inflight`, `max_inflight_v311` or `receive_maximum` is zero.
    #[error("max_inflight, max_inflight_v311 and receive_maximum must be at least 1")]
    ZeroWindow,
    /// The CONNECT packet cannot be encoded (a field is too long, or uses 5.0 features in 3.1.1).
    #[error("the CONNECT packet cannot be encoded: {0}")]
    Connect(#[source] crate::error::EncodeError),
    /// The will topic is not a valid topic name.
    #[error("invalid will topic: {0}")]
    WillTopic(#[source] crate::error::TopicError),
    /// The will's 5.0 Response Topic is not a valid topic name (MQTT 5.0 section 3.1.3.2: a topic name, without
    /// wildcards).
    #[error("invalid will response topic: {0}")]
    WillResponseTopic(#[source] crate::error::TopicError),
    /// The client identifier, the user name, a CONNECT or will user property or the will's Content Type holds
    /// U+0000 (`[MQTT-1.5.4-2]`), a control character or a Unicode
    /// non-character (which a UTF-8 Encoded String SHOULD NOT hold, MQTT 5.0 section 1.5.4): brokers take such a
    /// CONNECT for a malformed packet and close the connection, at every attempt. Names the field.
    #[error(
        "the {0} holds U+0000, a control character or a Unicode non-character, which brokers refuse"
    )]
    InvalidText(&'static str),
    /// The will's Payload Format Indicator says its payload is UTF-8 text, and it is not: such a payload MUST be
    /// well-formed UTF-8 (MQTT 5.0 section 3.1.3.2), and a broker may refuse the CONNECT with `0x99` Payload
    /// format invalid, at every attempt.
    #[error("the will's payload format indicator says UTF-8, and its payload is not valid UTF-8")]
    WillPayloadNotUtf8,
    /// In MQTT 3.1.1 a password needs a user name. `[MQTT-3.1.2-22]`
    #[error("a password without a user name is not allowed in MQTT 3.1.1")]
    PasswordWithoutUserName,
    /// In MQTT 3.1.1 an empty client identifier needs a clean start (the broker assigns an identifier for the
    /// connection only, so there is no session to keep): give an identifier, or start clean. `[MQTT-3.1.3-7]`
    #[error("an empty client identifier needs a clean start in MQTT 3.1.1")]
    EmptyClientIdWithoutCleanStart,
    /// Enhanced authentication (an authenticator) needs MQTT 5.0: 3.1.1 has no AUTH packet.
    #[error("enhanced authentication needs MQTT 5.0")]
    AuthenticationNeedsV5,
    /// The configuration asks for something this build of mqtt-core leaves out: the protocol version (cargo
    /// features `v5`, `v311`) or topic aliases (`topic-alias`). Enable the feature, or change the setting.
    #[error("not in this build of mqtt-core: {0}")]
    NotInThisBuild(&'static str),
}
