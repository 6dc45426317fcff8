//! The incoming QoS 2 table of the store buffer: the packet identifiers of received QoS 2 messages awaiting
//! PUBREL, as a list in arrival order or, for a large Receive Maximum, a bitmap with one bit per identifier.

use super::{QOS2_BITMAP, Store};

impl Store<'_> {
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

    /// Whether the table of QoS 2 identifiers is full (a bitmap never is).
    pub(crate) fn qos2_is_full(&self) -> bool {
        !self.qos2_bitmap && self.qos2_len >= self.qos2_cap
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
            crate::buffer::move_within(&mut self.buf, at + 2..end, at);
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
        if let Some(&[low, high]) = self.buf.get(at..at + 2)
            && end <= self.buf.len()
        {
            // `rotate_left(2)`, without `memmove`.
            crate::buffer::move_within(&mut self.buf, at + 2..end, at);
            if let Some(last) = self.buf.get_mut(end - 2..end) {
                last.copy_from_slice(&[low, high]);
            }
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
}
