//! The layout of the store buffer: the encoded CONNECT, the room of enhanced authentication (its data and the
//! CONNECT carrying it), the QoS 2 receive table, the record of messages awaiting the application's acknowledgement
//! (with `manual_ack`), the topic alias tables, the texts kept from the broker, and the outbox ring taking the
//! rest.

use core::num::{NonZeroU16, NonZeroU32};

use crate::buffer::Buf;
use crate::codec::wire::{Reader, Writer, read_var_int};
use crate::codec::{self, Connect, ConnectProperties, Packet, PacketType, ProtocolVersion};
use crate::config::{Config, ConfigError};
use crate::topic;

use super::receipt;

mod alias;
mod qos2;

/// Whether this build has topic aliases (cargo feature `topic-alias`): without, the alias tables are empty and
/// their code compiles away.
const ALIASES: bool = cfg!(feature = "topic-alias");

/// Longest client identifier a broker may assign that the session remembers for reconnects.
const ASSIGNED_ID_MAX: usize = 128;
/// Smallest outbox worth having.
const MIN_RING: usize = 64;
/// One bit per packet identifier: the QoS 2 receive table when a list of identifiers would be as large.
const QOS2_BITMAP: usize = 8192;

/// Its `Debug` output shows the layout, never the bytes (the CONNECT holds the password).
pub(crate) struct Store<'b> {
    buf: Buf<'b>,
    /// Size of one CONNECT slot; two slots when an assigned client identifier may replace an empty one.
    connect_slot: usize,
    connect_slots: usize,
    active_connect: usize,
    connect_len: usize,
    adopted_client_id: bool,
    /// The CONNECT in 3.1.1 form, for the fall back (`Config::fallback_to_v311`): where and how long; 0 without.
    v311_at: usize,
    v311_len: usize,
    /// The 3.1.1 CONNECT is in force.
    v311: bool,
    qos2_at: usize,
    qos2_cap: usize,
    qos2_len: usize,
    /// The table is a bitmap of every identifier (a Receive Maximum of more than 4096, such as 65,535 for "no
    /// limit"), not a list.
    qos2_bitmap: bool,
    /// List form, kept in the order the identifiers arrived: how many at its front date from an earlier connection
    /// and have not been mentioned by the broker since (no PUBLISH sent again, no PUBREL).
    qos2_carried: usize,
    receipts_at: usize,
    receipts_cap: usize,
    alias_slot: usize,
    alias_in_at: usize,
    alias_in_count: usize,
    alias_out_at: usize,
    alias_out_count: usize,
    alias_out_used: usize,
    /// Outgoing aliases: when each was last used (a counter per alias), to replace the least recently used.
    alias_out_stamps_at: usize,
    alias_clock: u32,
    /// Enhanced authentication: the data the authenticator writes, and the CONNECT with method and data.
    auth_data_at: usize,
    auth_data_cap: usize,
    auth_connect_at: usize,
    auth_connect_cap: usize,
    /// The CONNECT with authentication in force (0: the plain one).
    auth_connect_len: usize,
    /// Text slots ([`Text`]), each a 2-byte length and up to `text_len` bytes.
    texts_at: usize,
    text_len: usize,
    ring_at: usize,
}

/// The texts a session keeps in its store (each in a slot of [`Config::text_len`](crate::Config::text_len) bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// The Response Information of the latest CONNACK.
    ResponseInformation = 0,
    /// The latest Server Reference (CONNACK or DISCONNECT).
    ServerReference = 1,
    /// The Reason String of the latest CONNACK.
    ConnAckReason = 2,
    /// The client's own DISCONNECT, encoded, when the application gave it properties.
    Farewell = 3,
    /// The client identifier the latest CONNACK assigned.
    AssignedClientId = 4,
}

const TEXTS: usize = 5;
/// Bytes an outgoing alias's use stamp takes.
const STAMP: usize = 4;

impl core::fmt::Debug for Store<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("len", &self.buf.len())
            .field("connect_len", &self.connect_len)
            .field("qos2_len", &self.qos2_len)
            .field("ring_len", &self.ring_len())
            .finish_non_exhaustive()
    }
}

impl<'b> Store<'b> {
    /// The layout for `config`; `auth` is the length of the authentication method and the largest data, when the
    /// session has an authenticator.
    pub(crate) fn new(
        config: &Config<'_>,
        mut buf: Buf<'b>,
        max_packet_size: u32,
        auth: Option<(usize, usize)>,
    ) -> Result<Self, ConfigError> {
        let v5 = config.version.is_v5();
        if let Some(will) = &config.will {
            topic::validate_name(will.topic).map_err(ConfigError::WillTopic)?;
            let props = &will.properties;
            if let Some(name) = props.response_topic {
                topic::validate_name(name).map_err(ConfigError::WillResponseTopic)?;
            }
            topic::check_text_properties(None, props.content_type, props.user_properties).map_err(
                |what| match what {
                    "content type" => ConfigError::InvalidText("will content type"),
                    _ => ConfigError::InvalidText("will user property"),
                },
            )?;
            if props.payload_format_indicator == Some(true)
                && core::str::from_utf8(will.payload).is_err()
            {
                return Err(ConfigError::WillPayloadNotUtf8);
            }
        }
        if !config
            .user_properties
            .iter()
            .all(|pair| topic::is_sendable_pair(&pair))
        {
            return Err(ConfigError::InvalidText("user property"));
        }
        // mosquitto closes the connection on a CONNECT with such a string: every attempt would fail the same way.
        if !topic::is_sendable_text(config.client_id) {
            return Err(ConfigError::InvalidText("client identifier"));
        }
        if config
            .username
            .is_some_and(|name| !topic::is_sendable_text(name))
        {
            return Err(ConfigError::InvalidText("user name"));
        }
        let password_only = config.password.is_some() && config.username.is_none();
        // `[MQTT-3.1.3-7]`: 3.1.1 keeps no session for a client without identifier.
        let anonymous_session = config.client_id.is_empty() && !config.clean_start;
        // 3.1.1 has no password without a user name, no session without a client identifier (nor enhanced
        // authentication): such a session cannot fall back.
        let fallback = v5
            && ProtocolVersion::V311.is_enabled()
            && config.fallback_to_v311
            && !password_only
            && !anonymous_session
            && auth.is_none();
        if !v5 && auth.is_some() {
            return Err(ConfigError::AuthenticationNeedsV5);
        }
        if !v5 && password_only {
            return Err(ConfigError::PasswordWithoutUserName);
        }
        if !v5 && anonymous_session {
            return Err(ConfigError::EmptyClientIdWithoutCleanStart);
        }
        let properties = if v5 {
            ConnectProperties {
                session_expiry_interval: (config.session_expiry_interval != 0)
                    .then_some(config.session_expiry_interval),
                receive_maximum: NonZeroU16::new(config.receive_maximum)
                    .filter(|r| r.get() != u16::MAX),
                maximum_packet_size: NonZeroU32::new(max_packet_size)
                    .filter(|_| config.announce_maximum_packet_size),
                topic_alias_maximum: (config.topic_alias_maximum != 0)
                    .then_some(config.topic_alias_maximum),
                request_response_information: config.request_response_information.then_some(true),
                request_problem_information: (!config.request_problem_information).then_some(false),
                user_properties: config.user_properties,
                ..ConnectProperties::default()
            }
        } else {
            ConnectProperties::default()
        };
        let fields = Connect {
            clean_start: config.clean_start,
            keep_alive: u16::try_from(super::wire_keep_alive(config.keep_alive))
                .unwrap_or(u16::MAX),
            client_id: config.client_id,
            will: config.will,
            username: config.username,
            password: config.password,
            properties,
        };
        let connect = Packet::Connect(fields);
        let connect_len = connect.encoded_len_from_client(config.version);
        let adoptable = v5 && config.client_id.is_empty() && !config.clean_start;
        let (connect_slot, connect_slots) = if adoptable {
            (connect_len + ASSIGNED_ID_MAX, 2)
        } else {
            (connect_len, 1)
        };
        let v311_at = connect_slot * connect_slots;
        let v311_connect = Packet::Connect(Connect {
            properties: ConnectProperties::default(),
            will: config.will.map(|w| codec::Will {
                properties: Default::default(),
                ..w
            }),
            ..fields
        });
        let v311_len = match fallback {
            true => v311_connect.encoded_len_from_client(ProtocolVersion::V311),
            false => 0,
        };
        // Room for the CONNECT with an Authentication Method and Data: the properties' length and the remaining
        // length may each grow by up to 3 bytes.
        let (auth_data_cap, auth_connect_cap) = match auth {
            Some((method, data)) => (data, connect_slot + method + data + 12),
            None => (0, 0),
        };
        let auth_data_at = v311_at + v311_len;
        let auth_connect_at = auth_data_at + auth_data_cap;
        // The texts are written on every connection: next to the CONNECT, on the page it makes resident already,
        // rather than behind the large tables an idle connection never touches.
        let texts_at = auth_connect_at + auth_connect_cap;
        let text_len = usize::from(config.text_len);
        // No room at all without texts.
        let texts_len = match text_len {
            0 => 0,
            len => TEXTS * (2 + len),
        };
        let qos2_at = texts_at + texts_len;
        let qos2_bitmap = 2 * usize::from(config.receive_maximum) >= QOS2_BITMAP;
        let (qos2_cap, qos2_bytes) = match qos2_bitmap {
            true => (usize::from(u16::MAX), QOS2_BITMAP),
            false => {
                let cap = usize::from(config.receive_maximum);
                (cap, 2 * cap)
            }
        };
        let receipts_at = qos2_at + qos2_bytes;
        let receipts_cap = if config.manual_ack {
            usize::from(config.receive_maximum)
        } else {
            0
        };
        let alias_slot = 2 + usize::from(config.topic_alias_len);
        let alias_in_at = receipts_at + receipts_cap * receipt::ENTRY;
        let alias_in_count = if v5 && ALIASES {
            usize::from(config.topic_alias_maximum)
        } else {
            0
        };
        let alias_out_at = alias_in_at + alias_in_count * alias_slot;
        let alias_out_count = if v5 && ALIASES {
            usize::from(config.outgoing_topic_aliases)
        } else {
            0
        };
        let alias_out_stamps_at = alias_out_at + alias_out_count * alias_slot;
        let ring_at = alias_out_stamps_at + alias_out_count * STAMP;
        if buf.len() < ring_at + MIN_RING {
            return Err(ConfigError::StoreTooSmall {
                needed: ring_at + MIN_RING,
                available: buf.len(),
            });
        }
        let slot = buf.get_mut(..connect_len).unwrap_or_default();
        connect
            .encode_from_client(config.version, slot)
            .map_err(ConfigError::Connect)?;
        if fallback {
            let slot = buf.get_mut(v311_at..v311_at + v311_len).unwrap_or_default();
            v311_connect
                .encode_from_client(ProtocolVersion::V311, slot)
                .map_err(ConfigError::Connect)?;
        }
        if qos2_bitmap {
            // Memory fresh from the allocator is zero already: reading it does not make it resident (the
            // bitmap of an idle connection costs nothing), writing it would.
            let bitmap = buf.get_mut(qos2_at..receipts_at).unwrap_or_default();
            if bitmap.iter().any(|&b| b != 0) {
                bitmap.fill(0);
            }
        }
        let texts = buf.get_mut(texts_at..qos2_at).unwrap_or_default();
        if texts.iter().any(|&b| b != 0) {
            texts.fill(0);
        }
        Ok(Self {
            buf,
            connect_slot,
            connect_slots,
            active_connect: 0,
            connect_len,
            adopted_client_id: false,
            v311_at,
            v311_len,
            v311: false,
            qos2_at,
            qos2_cap,
            qos2_len: 0,
            qos2_bitmap,
            qos2_carried: 0,
            receipts_at,
            receipts_cap,
            alias_slot,
            alias_in_at,
            alias_in_count,
            alias_out_at,
            alias_out_count,
            alias_out_used: 0,
            alias_out_stamps_at,
            alias_clock: 0,
            auth_data_at,
            auth_data_cap,
            auth_connect_at,
            auth_connect_cap,
            auth_connect_len: 0,
            texts_at,
            text_len,
            ring_at,
        })
    }

    /// The encoded CONNECT: with enhanced authentication, the one carrying the exchange's method and data.
    pub(crate) fn connect(&self) -> &[u8] {
        if self.auth_connect_len > 0 && !self.v311 {
            let at = self.auth_connect_at;
            return self
                .buf
                .get(at..at + self.auth_connect_len)
                .unwrap_or_default();
        }
        self.template()
    }

    /// The CONNECT as configured (and with an assigned client identifier adopted), without authentication.
    fn template(&self) -> &[u8] {
        if self.v311 {
            return self
                .buf
                .get(self.v311_at..self.v311_at + self.v311_len)
                .unwrap_or_default();
        }
        let at = self.active_connect * self.connect_slot;
        self.buf.get(at..at + self.connect_len).unwrap_or_default()
    }

    /// Whether the store holds a 3.1.1 CONNECT to fall back to.
    pub(crate) fn can_fall_back(&self) -> bool {
        self.v311_len > 0
    }

    /// Sends the 3.1.1 CONNECT from now on (the session fell back); a no-op if there is none.
    pub(crate) fn use_v311(&mut self) {
        self.v311 = self.v311_len > 0;
    }

    /// Uses the client identifier the broker assigned for the following CONNECTs (5.0, empty configured id,
    /// persistent session), so that reconnects resume the same session.
    pub(crate) fn adopt_client_id(&mut self, id: &str, version: ProtocolVersion) {
        if self.connect_slots < 2 || self.adopted_client_id || id.len() > ASSIGNED_ID_MAX {
            return;
        }
        let (first, second) = self.buf.split_at_mut(self.connect_slot);
        let Some(second) = second.get_mut(..self.connect_slot) else {
            return;
        };
        let stored = first.get(..self.connect_len).unwrap_or_default();
        if let Some(len) = splice_client_id(stored, id, version.is_v5(), second) {
            self.connect_len = len;
            self.active_connect = 1;
            self.adopted_client_id = true;
        }
    }

    /// Where the authenticator writes the data to send (as long as its largest data).
    pub(crate) fn auth_data_mut(&mut self) -> &mut [u8] {
        let at = self.auth_data_at;
        self.buf
            .get_mut(at..at + self.auth_data_cap)
            .unwrap_or_default()
    }

    /// The first `len` bytes the authenticator wrote.
    pub(crate) fn auth_data(&self, len: usize) -> &[u8] {
        let at = self.auth_data_at;
        self.buf
            .get(at..at + len.min(self.auth_data_cap))
            .unwrap_or_default()
    }

    /// Builds the CONNECT of an attempt with enhanced authentication: the configured one with the Authentication
    /// Method and the first `len` bytes of the authenticator's data (none if 0); [`connect`](Self::connect) gives
    /// it from then on. `false` if it does not fit its room.
    pub(crate) fn build_auth_connect(
        &mut self,
        method: &str,
        len: usize,
        version: ProtocolVersion,
    ) -> bool {
        self.auth_connect_len = 0;
        if self.auth_connect_cap == 0 || len > self.auth_data_cap {
            return false;
        }
        let (before, after) = self.buf.split_at_mut(self.auth_connect_at);
        let template = self.active_connect * self.connect_slot;
        let Ok(Some((Packet::Connect(connect), _))) = codec::decode(
            before
                .get(template..template + self.connect_len)
                .unwrap_or_default(),
            version,
            u32::MAX,
        ) else {
            return false;
        };
        let data = before
            .get(self.auth_data_at..self.auth_data_at + len)
            .unwrap_or_default();
        let with_auth = Packet::Connect(Connect {
            properties: ConnectProperties {
                authentication_method: Some(method),
                authentication_data: (len > 0).then_some(data),
                ..connect.properties
            },
            ..connect
        });
        let slot = after.get_mut(..self.auth_connect_cap).unwrap_or_default();
        match with_auth.encode(version, slot) {
            Ok(n) => {
                self.auth_connect_len = n;
                true
            }
            Err(_) => false,
        }
    }

    // ----- texts kept from the broker -----

    /// The text in `slot`, if one is kept.
    pub(crate) fn text(&self, slot: Text) -> Option<&[u8]> {
        if self.text_len == 0 {
            return None;
        }
        let at = self.texts_at + slot as usize * (2 + self.text_len);
        let len = self.buf.get(at..at + 2)?;
        let len = usize::from(u16::from_le_bytes([*len.first()?, *len.get(1)?]));
        self.buf.get(at + 2..at + 2 + len).filter(|t| !t.is_empty())
    }

    /// Keeps `bytes` in `slot`, or forgets the slot's text (`None`, or too long for the slot: `false`).
    pub(crate) fn set_text(&mut self, slot: Text, bytes: Option<&[u8]>) -> bool {
        if self.text_len == 0 {
            return false;
        }
        let at = self.texts_at + slot as usize * (2 + self.text_len);
        let bytes = bytes.filter(|b| b.len() <= self.text_len);
        let len = bytes.map_or(0, <[u8]>::len);
        if let Some(prefix) = self.buf.get_mut(at..at + 2) {
            prefix.copy_from_slice(&u16::try_from(len).unwrap_or(0).to_le_bytes());
        }
        if let (Some(bytes), Some(dst)) = (bytes, self.buf.get_mut(at + 2..at + 2 + len)) {
            dst.copy_from_slice(bytes);
        }
        bytes.is_some()
    }

    /// Where the text of `slot` goes, to write in place (as long as a slot); follow with
    /// [`set_text_len`](Self::set_text_len).
    pub(crate) fn text_room(&mut self, slot: Text) -> &mut [u8] {
        if self.text_len == 0 {
            return &mut [];
        }
        let at = self.texts_at + slot as usize * (2 + self.text_len) + 2;
        self.buf.get_mut(at..at + self.text_len).unwrap_or_default()
    }

    /// The text of `slot` is the first `len` bytes of its room.
    pub(crate) fn set_text_len(&mut self, slot: Text, len: usize) {
        if self.text_len == 0 {
            return;
        }
        let at = self.texts_at + slot as usize * (2 + self.text_len);
        let len = len.min(self.text_len);
        if let Some(prefix) = self.buf.get_mut(at..at + 2) {
            prefix.copy_from_slice(&u16::try_from(len).unwrap_or(0).to_le_bytes());
        }
    }

    pub(crate) fn assigned_client_id(&self) -> Option<&str> {
        if !self.adopted_client_id || self.v311 {
            return None;
        }
        let connect = self.connect();
        let mut r = Reader::new(
            connect.get(client_id_at(connect, true)?..)?,
            PacketType::Connect,
        );
        r.string().ok()
    }

    // ----- incoming QoS 1 and 2 messages awaiting the application's acknowledgement -----

    /// Entries the record of unacknowledged messages holds (0 without `manual_ack`).
    pub(crate) fn receipts_capacity(&self) -> usize {
        self.receipts_cap
    }

    pub(crate) fn receipts(&self) -> &[u8] {
        let end = self.receipts_at + self.receipts_cap * receipt::ENTRY;
        self.buf.get(self.receipts_at..end).unwrap_or_default()
    }

    pub(crate) fn receipts_mut(&mut self) -> &mut [u8] {
        let end = self.receipts_at + self.receipts_cap * receipt::ENTRY;
        self.buf.get_mut(self.receipts_at..end).unwrap_or_default()
    }

    // ----- the outbox ring -----

    pub(crate) fn ring(&self) -> &[u8] {
        self.buf.get(self.ring_at..).unwrap_or_default()
    }

    pub(crate) fn ring_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.ring_at..).unwrap_or_default()
    }

    pub(crate) fn ring_len(&self) -> usize {
        self.buf.len().saturating_sub(self.ring_at)
    }
}

/// Where the client identifier of an encoded CONNECT starts: after the fixed header, the protocol name, level,
/// flags and keep alive, and in 5.0 the properties.
fn client_id_at(connect: &[u8], v5: bool) -> Option<usize> {
    let (_, len_bytes) = read_var_int(connect.get(1..)?).ok()??;
    let mut at = 1 + len_bytes + 2 + 4 + 1 + 1 + 2;
    if v5 {
        let (properties, len_bytes) = read_var_int(connect.get(at..)?).ok()??;
        at += len_bytes + properties as usize;
    }
    Some(at)
}

/// Writes `connect` (encoded, with an empty client identifier) into `out` with the client identifier `id`;
/// returns its length.
fn splice_client_id(connect: &[u8], id: &str, v5: bool, out: &mut [u8]) -> Option<usize> {
    let at = client_id_at(connect, v5)?;
    let (_, len_bytes) = read_var_int(connect.get(1..)?).ok()??;
    let variable_header = connect.get(1 + len_bytes..at)?;
    let rest = connect.get(at + 2..)?;
    let remaining = variable_header.len() + 2 + id.len() + rest.len();
    let mut w = Writer::new(out);
    w.u8(*connect.first()?).ok()?;
    w.var_int(remaining).ok()?;
    w.bytes(variable_header).ok()?;
    w.string(id).ok()?;
    w.bytes(rest).ok()?;
    w.finish().ok()
}
