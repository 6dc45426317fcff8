//! The layout of the store buffer: the encoded CONNECT, the QoS 2 receive table, the record of messages awaiting
//! the application's acknowledgement (with `manual_ack`), the topic alias tables, and the outbox ring taking the
//! rest.

use core::num::{NonZeroU16, NonZeroU32};

use crate::buffer::Buf;
use crate::codec::{self, Connect, ConnectProperties, Packet, ProtocolVersion};
use crate::config::{Config, ConfigError};
use crate::error::ProtocolError;
use crate::topic;

use super::receipt;

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
    ring_at: usize,
}

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
    pub(crate) fn new(
        config: &Config<'_>,
        mut buf: Buf<'b>,
        max_packet_size: u32,
    ) -> Result<Self, ConfigError> {
        let v5 = config.version == ProtocolVersion::V5;
        if let Some(will) = &config.will {
            topic::validate_name(will.topic).map_err(ConfigError::WillTopic)?;
        }
        let password_only = config.password.is_some() && config.username.is_none();
        // 3.1.1 has no password without a user name: such a session cannot fall back.
        let fallback = v5 && config.fallback_to_v311 && !password_only;
        if !v5 && password_only {
            return Err(ConfigError::PasswordWithoutUserName);
        }
        let properties = if v5 {
            ConnectProperties {
                session_expiry_interval: (config.session_expiry_interval != 0)
                    .then_some(config.session_expiry_interval),
                receive_maximum: NonZeroU16::new(config.receive_maximum)
                    .filter(|r| r.get() != u16::MAX),
                maximum_packet_size: NonZeroU32::new(max_packet_size),
                topic_alias_maximum: (config.topic_alias_maximum != 0)
                    .then_some(config.topic_alias_maximum),
                user_properties: config.user_properties,
                ..ConnectProperties::default()
            }
        } else {
            ConnectProperties::default()
        };
        let fields = Connect {
            clean_start: config.clean_start,
            keep_alive: u16::try_from(config.keep_alive.as_secs()).unwrap_or(u16::MAX),
            client_id: config.client_id,
            will: config.will,
            username: config.username,
            password: config.password,
            properties,
        };
        let connect = Packet::Connect(fields);
        let connect_len = connect.encoded_len(config.version);
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
            true => v311_connect.encoded_len(ProtocolVersion::V311),
            false => 0,
        };
        let qos2_at = v311_at + v311_len;
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
        let alias_in_count = if v5 {
            usize::from(config.topic_alias_maximum)
        } else {
            0
        };
        let alias_out_at = alias_in_at + alias_in_count * alias_slot;
        let alias_out_count = if v5 {
            usize::from(config.outgoing_topic_aliases)
        } else {
            0
        };
        let ring_at = alias_out_at + alias_out_count * alias_slot;
        if buf.len() < ring_at + MIN_RING {
            return Err(ConfigError::StoreTooSmall {
                needed: ring_at + MIN_RING,
                available: buf.len(),
            });
        }
        let slot = buf.get_mut(..connect_len).unwrap_or_default();
        connect
            .encode(config.version, slot)
            .map_err(ConfigError::Connect)?;
        if fallback {
            let slot = buf.get_mut(v311_at..qos2_at).unwrap_or_default();
            v311_connect
                .encode(ProtocolVersion::V311, slot)
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
            ring_at,
        })
    }

    /// The encoded CONNECT.
    pub(crate) fn connect(&self) -> &[u8] {
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
        let Ok(Some((Packet::Connect(connect), _))) = codec::decode(
            first.get(..self.connect_len).unwrap_or_default(),
            version,
            u32::MAX,
        ) else {
            return;
        };
        let adopted = Packet::Connect(Connect {
            client_id: id,
            ..connect
        });
        if let Ok(len) = adopted.encode(version, second) {
            self.connect_len = len;
            self.active_connect = 1;
            self.adopted_client_id = true;
        }
    }

    pub(crate) fn assigned_client_id(&self) -> Option<&str> {
        if !self.adopted_client_id || self.v311 {
            return None;
        }
        match codec::decode(self.connect(), ProtocolVersion::V5, u32::MAX) {
            Ok(Some((Packet::Connect(c), _))) => Some(c.client_id),
            _ => None,
        }
    }

    // ----- incoming QoS 2 identifiers awaiting PUBREL -----
    //
    // The list form keeps its identifiers in the order they arrived; the oldest `qos2_carried` ones are carried
    // over from an earlier connection and not mentioned by the broker on this one. Those are the only ones the
    // broker can have forgotten (a session lost at a CONNACK that never reached the client): an identifier that
    // arrived on this connection, or that the broker sent again on it, is in its flight until PUBREL.

    fn qos2_ids(&self) -> impl Iterator<Item = u16> + '_ {
        let region = self
            .buf
            .get(self.qos2_at..self.qos2_at + 2 * self.qos2_len)
            .unwrap_or_default();
        region.chunks_exact(2).map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
    }

    /// Where the bit of `id` is in the bitmap: the byte's index in the buffer, and the mask.
    fn qos2_bit(&self, id: u16) -> (usize, u8) {
        (self.qos2_at + usize::from(id / 8), 1 << (id % 8))
    }

    pub(crate) fn qos2_contains(&self, id: u16) -> bool {
        if self.qos2_bitmap {
            let (at, mask) = self.qos2_bit(id);
            return self.buf.get(at).is_some_and(|byte| byte & mask != 0);
        }
        self.qos2_ids().any(|x| x == id)
    }

    /// Records `id`; `false` if the table is full.
    pub(crate) fn qos2_insert(&mut self, id: u16) -> bool {
        if self.qos2_bitmap {
            let (at, mask) = self.qos2_bit(id);
            return match self.buf.get_mut(at) {
                Some(byte) => {
                    if *byte & mask == 0 {
                        *byte |= mask;
                        self.qos2_len += 1;
                    }
                    true
                }
                None => false,
            };
        }
        if self.qos2_len == self.qos2_cap {
            return false;
        }
        let at = self.qos2_at + 2 * self.qos2_len;
        match self.buf.get_mut(at..at + 2) {
            Some(slot) => {
                slot.copy_from_slice(&id.to_le_bytes());
                self.qos2_len += 1;
                true
            }
            None => false,
        }
    }

    pub(crate) fn qos2_remove(&mut self, id: u16) -> bool {
        if self.qos2_bitmap {
            let (at, mask) = self.qos2_bit(id);
            let Some(byte) = self.buf.get_mut(at).filter(|byte| **byte & mask != 0) else {
                return false;
            };
            *byte &= !mask;
            self.qos2_len -= 1;
            return true;
        }
        let Some(index) = self.qos2_ids().position(|x| x == id) else {
            return false;
        };
        let at = self.qos2_at + 2 * index;
        let end = self.qos2_at + 2 * self.qos2_len;
        if end <= self.buf.len() {
            self.buf.copy_within(at + 2..end, at);
        }
        self.qos2_len -= 1;
        if index < self.qos2_carried {
            self.qos2_carried -= 1;
        }
        true
    }

    /// A connection resumed the session: every identifier in the table now dates from an earlier connection.
    pub(crate) fn qos2_carry_over(&mut self) {
        self.qos2_carried = match self.qos2_bitmap {
            true => 0,
            false => self.qos2_len,
        };
    }

    /// The broker sent the PUBLISH of `id` again on this connection: it still has the message in flight, so the
    /// identifier counts as one of this connection's (it moves to the back of the list).
    pub(crate) fn qos2_refresh(&mut self, id: u16) {
        if self.qos2_bitmap {
            return;
        }
        let Some(index) = self
            .qos2_ids()
            .take(self.qos2_carried)
            .position(|x| x == id)
        else {
            return;
        };
        let at = self.qos2_at + 2 * index;
        let end = self.qos2_at + 2 * self.qos2_len;
        if let Some(entries) = self.buf.get_mut(at..end) {
            entries.rotate_left(2);
        }
        self.qos2_carried -= 1;
    }

    /// Forgets the oldest identifier carried over from an earlier connection that the broker has not mentioned on
    /// this one, and returns it; `None` if there is none.
    pub(crate) fn qos2_forget_oldest_carried(&mut self) -> Option<u16> {
        if self.qos2_carried == 0 {
            return None;
        }
        let id = self.qos2_ids().next()?;
        self.qos2_remove(id);
        Some(id)
    }

    pub(crate) fn qos2_clear(&mut self) {
        if self.qos2_bitmap && self.qos2_len > 0 {
            let end = self.qos2_at + QOS2_BITMAP;
            self.buf
                .get_mut(self.qos2_at..end)
                .unwrap_or_default()
                .fill(0);
        }
        self.qos2_len = 0;
        self.qos2_carried = 0;
    }

    pub(crate) fn qos2_capacity(&self) -> usize {
        self.qos2_cap
    }

    /// The identifier of the table at or after `cursor` (0 to start), and the cursor after it: for reading the
    /// whole table out (feature `persist`).
    #[cfg(feature = "persist")]
    pub(crate) fn qos2_next(&self, cursor: usize) -> Option<(u16, usize)> {
        if !self.qos2_bitmap {
            let id = self.qos2_ids().nth(cursor)?;
            return Some((id, cursor + 1));
        }
        (cursor..=usize::from(u16::MAX)).find_map(|i| {
            let id = u16::try_from(i).ok()?;
            self.qos2_contains(id).then_some((id, i + 1))
        })
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

    // ----- topic aliases -----

    fn slot(&self, base: usize, index: usize) -> Option<&str> {
        let at = base + index * self.alias_slot;
        let len = self.buf.get(at..at + 2)?;
        let len = usize::from(u16::from_le_bytes([*len.first()?, *len.get(1)?]));
        let bytes = self.buf.get(at + 2..at + 2 + len)?;
        core::str::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    }

    fn set_slot(&mut self, base: usize, index: usize, topic: &str) -> bool {
        let at = base + index * self.alias_slot;
        let len = topic.len();
        if len + 2 > self.alias_slot {
            return false;
        }
        let Some(slot) = self.buf.get_mut(at..at + 2 + len) else {
            return false;
        };
        let (prefix, body) = slot.split_at_mut(2);
        prefix.copy_from_slice(&u16::try_from(len).unwrap_or(0).to_le_bytes());
        body.copy_from_slice(topic.as_bytes());
        true
    }

    /// Remembers the topic a broker's alias stands for. `[MQTT-3.3.2.3.4]`
    pub(crate) fn alias_in_set(&mut self, alias: u16, topic: &str) -> Result<(), ProtocolError> {
        let index = usize::from(alias).wrapping_sub(1);
        if index >= self.alias_in_count {
            return Err(ProtocolError::TopicAliasInvalid(alias));
        }
        if self.set_slot(self.alias_in_at, index, topic) {
            Ok(())
        } else {
            Err(ProtocolError::TopicAliasTooLong {
                alias,
                len: topic.len(),
            })
        }
    }

    /// The topic a broker's alias stands for.
    pub(crate) fn alias_in_get(&self, alias: u16) -> Result<&str, ProtocolError> {
        let index = usize::from(alias).wrapping_sub(1);
        if index >= self.alias_in_count {
            return Err(ProtocolError::TopicAliasInvalid(alias));
        }
        self.slot(self.alias_in_at, index)
            .ok_or(ProtocolError::TopicAliasInvalid(alias))
    }

    /// The alias this session already uses for `topic` on this connection.
    pub(crate) fn alias_out_find(&self, topic: &str) -> Option<u16> {
        (0..self.alias_out_used)
            .find(|&i| self.slot(self.alias_out_at, i) == Some(topic))
            .and_then(|i| u16::try_from(i + 1).ok())
    }

    /// The alias `topic` would get next, if one is free below `server_max` and the topic fits a slot.
    pub(crate) fn alias_out_next(&self, topic: &str, server_max: u16) -> Option<u16> {
        let index = self.alias_out_used;
        let fits = index < self.alias_out_count
            && index < usize::from(server_max)
            && topic.len() + 2 <= self.alias_slot;
        fits.then(|| u16::try_from(index + 1).ok()).flatten()
    }

    /// Assigns a new alias to the topic stored at `topic` (a range of the outbox ring), if one is free below
    /// `server_max`.
    pub(crate) fn alias_out_assign_from_ring(
        &mut self,
        topic: core::ops::Range<usize>,
        server_max: u16,
    ) -> Option<u16> {
        let index = self.alias_out_used;
        let len = topic.len();
        if index >= self.alias_out_count
            || index >= usize::from(server_max)
            || len + 2 > self.alias_slot
        {
            return None;
        }
        let at = self.alias_out_at + index * self.alias_slot;
        let from = self.ring_at + topic.start;
        if from + len > self.buf.len() {
            return None;
        }
        self.buf
            .get_mut(at..at + 2)?
            .copy_from_slice(&u16::try_from(len).ok()?.to_le_bytes());
        self.buf.copy_within(from..from + len, at + 2);
        self.alias_out_used += 1;
        u16::try_from(index + 1).ok()
    }

    /// Forgets both alias tables: aliases last one connection. `[MQTT-3.3.2-7]`
    pub(crate) fn aliases_clear(&mut self) {
        self.alias_out_used = 0;
        for i in 0..self.alias_in_count {
            let at = self.alias_in_at + i * self.alias_slot;
            if let Some(len) = self.buf.get_mut(at..at + 2) {
                len.fill(0);
            }
        }
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
