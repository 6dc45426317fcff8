//! The topic alias tables of the store buffer: the broker's aliases for incoming messages and the session's own
//! for outgoing ones, with the use stamps that pick the alias to replace. `[MQTT-3.3.2-7]`

use super::{ALIASES, STAMP, Store};
use crate::error::ProtocolError;

impl Store<'_> {
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
        if !ALIASES || index >= self.alias_in_count {
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
        if !ALIASES || index >= self.alias_in_count {
            return Err(ProtocolError::TopicAliasInvalid(alias));
        }
        self.slot(self.alias_in_at, index)
            .ok_or(ProtocolError::TopicAliasInvalid(alias))
    }

    /// Whether outgoing aliases can be used at all (this build has them, and the configuration asked for some).
    pub(crate) fn has_alias_out(&self) -> bool {
        ALIASES && self.alias_out_count > 0
    }

    /// The alias this session already uses for `topic` on this connection.
    pub(crate) fn alias_out_find(&self, topic: &str) -> Option<u16> {
        (0..self.alias_out_used)
            .find(|&i| self.slot(self.alias_out_at, i) == Some(topic))
            .and_then(|i| u16::try_from(i + 1).ok())
    }

    /// Marks `alias` used now (for the least-recently-used replacement).
    pub(crate) fn alias_out_touch(&mut self, alias: u16) {
        self.alias_clock = self.alias_clock.wrapping_add(1);
        let at = self.alias_out_stamps_at + usize::from(alias).wrapping_sub(1) * STAMP;
        if let Some(stamp) = self.buf.get_mut(at..at + STAMP) {
            stamp.copy_from_slice(&self.alias_clock.to_le_bytes());
        }
    }

    fn alias_out_stamp(&self, index: usize) -> u32 {
        let at = self.alias_out_stamps_at + index * STAMP;
        self.buf
            .get(at..at + STAMP)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    }

    /// The slot `topic` would take: the next free one below `server_max`, or else the least recently used; `None`
    /// if aliases are off or the topic does not fit a slot.
    fn alias_out_slot(&self, len: usize, server_max: u16) -> Option<usize> {
        let count = self.alias_out_count.min(usize::from(server_max));
        if count == 0 || len + 2 > self.alias_slot {
            return None;
        }
        if self.alias_out_used < count {
            return Some(self.alias_out_used);
        }
        // Counters wrap: the oldest is the one furthest behind the clock.
        (0..count).max_by_key(|&i| self.alias_clock.wrapping_sub(self.alias_out_stamp(i)))
    }

    /// The alias `topic` would get next: a free one below `server_max`, or the least recently used one (its
    /// topic is replaced), if the topic fits a slot.
    pub(crate) fn alias_out_next(&self, topic: &str, server_max: u16) -> Option<u16> {
        let index = self.alias_out_slot(topic.len(), server_max)?;
        u16::try_from(index + 1).ok()
    }

    /// Assigns an alias to the topic stored at `topic` (a range of the outbox ring): a free one below
    /// `server_max`, or the least recently used one.
    pub(crate) fn alias_out_assign_from_ring(
        &mut self,
        topic: core::ops::Range<usize>,
        server_max: u16,
    ) -> Option<u16> {
        let len = topic.len();
        let index = self.alias_out_slot(len, server_max)?;
        let at = self.alias_out_at + index * self.alias_slot;
        let from = self.ring_at + topic.start;
        if from + len > self.buf.len() {
            return None;
        }
        self.buf
            .get_mut(at..at + 2)?
            .copy_from_slice(&u16::try_from(len).ok()?.to_le_bytes());
        crate::buffer::move_within(&mut self.buf, from..from + len, at + 2);
        if index == self.alias_out_used {
            self.alias_out_used += 1;
        }
        let alias = u16::try_from(index + 1).ok()?;
        self.alias_out_touch(alias);
        Some(alias)
    }

    /// Forgets both alias tables: aliases last one connection. `[MQTT-3.3.2-7]`
    pub(crate) fn aliases_clear(&mut self) {
        self.alias_out_used = 0;
        if !ALIASES {
            return;
        }
        for i in 0..self.alias_in_count {
            let at = self.alias_in_at + i * self.alias_slot;
            if let Some(len) = self.buf.get_mut(at..at + 2) {
                len.fill(0);
            }
        }
    }
}
