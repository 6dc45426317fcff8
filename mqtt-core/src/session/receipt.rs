//! The record of incoming QoS 1 and 2 messages whose acknowledgement waits for the application
//! (`Config::manual_ack`), in the order their PUBLISH packets arrived: PUBACK and PUBREC leave from its front, so
//! they go out in that order whatever the order of the application's acks. `[MQTT-4.6.0-2]`, `[MQTT-4.6.0-3]`
//!
//! The entries live in a ring carved from the store buffer: 3 bytes each, the packet identifier (little endian)
//! and a flags byte. Every entry also has a sequence number, never reused in the life of the session: the oldest
//! entry has `head_seq`, the next `head_seq + 1`, and so on. An [`AckToken`](super::AckToken) is that number, so a
//! token of an entry already sent, or of a connection that ended (whose entries were dropped), falls before
//! `head_seq` and matches nothing.

use crate::codec::{PacketId, QoS};

/// Bytes of one entry in the store.
pub(crate) const ENTRY: usize = 3;
/// Flag: a QoS 2 message (PUBREC), else QoS 1 (PUBACK).
const QOS2: u8 = 0x01;
/// Flag: the application acknowledged it (or it needs no acknowledgement: a resent QoS 2 message).
const ACKED: u8 = 0x02;

/// One incoming message awaiting its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Receipt {
    pub(super) packet_id: PacketId,
    pub(super) qos: QoS,
    pub(super) acked: bool,
}

/// The ring of [`Receipt`]s; its bytes are the store's, passed to every call.
#[derive(Debug, Clone, Copy)]
pub(super) struct Receipts {
    cap: usize,
    /// Index of the oldest entry.
    head: usize,
    len: usize,
    /// Sequence number of the oldest entry.
    head_seq: u64,
}

impl Receipts {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap,
            head: 0,
            len: 0,
            head_seq: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_full(&self) -> bool {
        self.len >= self.cap
    }

    /// Where entry `index` (0: the oldest) starts in the ring's bytes.
    fn at(&self, index: usize) -> usize {
        (self.head + index).checked_rem(self.cap).unwrap_or(0) * ENTRY
    }

    fn get(&self, buf: &[u8], index: usize) -> Option<Receipt> {
        if index >= self.len {
            return None;
        }
        let at = self.at(index);
        let bytes = buf.get(at..at + ENTRY)?;
        let (lo, hi, flags) = (*bytes.first()?, *bytes.get(1)?, *bytes.get(2)?);
        Some(Receipt {
            packet_id: PacketId::new(u16::from_le_bytes([lo, hi]))?,
            qos: if flags & QOS2 != 0 {
                QoS::ExactlyOnce
            } else {
                QoS::AtLeastOnce
            },
            acked: flags & ACKED != 0,
        })
    }

    /// Appends a message; its sequence number, or `None` if the record is full.
    pub(super) fn push(
        &mut self,
        buf: &mut [u8],
        packet_id: PacketId,
        qos: QoS,
        acked: bool,
    ) -> Option<u64> {
        if self.is_full() {
            return None;
        }
        let at = self.at(self.len);
        let [lo, hi] = packet_id.get().to_le_bytes();
        let mut flags = 0;
        if qos == QoS::ExactlyOnce {
            flags |= QOS2;
        }
        if acked {
            flags |= ACKED;
        }
        buf.get_mut(at..at + ENTRY)?
            .copy_from_slice(&[lo, hi, flags]);
        let seq = self.head_seq + self.len as u64;
        self.len += 1;
        Some(seq)
    }

    /// Whether the message with sequence number `seq` is still in the record (its acknowledgement not sent).
    pub(super) fn contains(&self, seq: u64) -> bool {
        self.index_of(seq).is_some()
    }

    fn index_of(&self, seq: u64) -> Option<usize> {
        let index = usize::try_from(seq.checked_sub(self.head_seq)?).ok()?;
        (index < self.len).then_some(index)
    }

    /// The message with sequence number `seq`, if it is still in the record.
    #[cfg(feature = "persist")]
    pub(super) fn by_seq(&self, buf: &[u8], seq: u64) -> Option<Receipt> {
        self.get(buf, self.index_of(seq)?)
    }

    /// Marks the message `seq` acknowledged by the application; `false` if it is not in the record (sent already,
    /// or of an earlier connection) or was acknowledged before.
    pub(super) fn acknowledge(&mut self, buf: &mut [u8], seq: u64) -> bool {
        let Some(index) = self.index_of(seq) else {
            return false;
        };
        let at = self.at(index) + 2;
        match buf.get_mut(at) {
            Some(flags) if *flags & ACKED == 0 => {
                *flags |= ACKED;
                true
            }
            _ => false,
        }
    }

    /// The oldest message, if its acknowledgement may go out now.
    pub(super) fn ready(&self, buf: &[u8]) -> Option<Receipt> {
        self.get(buf, 0).filter(|r| r.acked)
    }

    /// The oldest message's acknowledgement was sent.
    pub(super) fn pop(&mut self) {
        if self.len == 0 {
            return;
        }
        self.len -= 1;
        self.head_seq += 1;
        // An empty ring starts over at its beginning: an application that keeps up touches only a few entries.
        self.head = match self.len {
            0 => 0,
            _ => (self.head + 1).checked_rem(self.cap).unwrap_or(0),
        };
    }

    /// The message with this packet identifier and QoS whose acknowledgement has not been sent, if any.
    pub(super) fn find(&self, buf: &[u8], packet_id: PacketId, qos: QoS) -> Option<Receipt> {
        (0..self.len)
            .filter_map(|i| self.get(buf, i))
            .find(|r| r.packet_id == packet_id && r.qos == qos)
    }

    /// Forgets every entry (the connection ended); their sequence numbers are never used again.
    pub(super) fn clear(&mut self) {
        self.head_seq += self.len as u64;
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn acknowledgements_leave_in_arrival_order_and_sequence_numbers_are_never_reused() {
        let mut buf = [0u8; 3 * ENTRY];
        let mut r = Receipts::new(3);
        let a = r.push(&mut buf, id(7), QoS::AtLeastOnce, false).unwrap();
        let b = r.push(&mut buf, id(8), QoS::ExactlyOnce, false).unwrap();
        let c = r.push(&mut buf, id(9), QoS::AtLeastOnce, false).unwrap();
        assert!(r.is_full());
        assert_eq!(r.push(&mut buf, id(10), QoS::AtLeastOnce, false), None);
        assert!(r.acknowledge(&mut buf, c));
        assert!(!r.acknowledge(&mut buf, c), "twice");
        assert_eq!(r.ready(&buf), None, "the oldest is not acknowledged");
        assert!(r.acknowledge(&mut buf, a));
        assert_eq!(r.ready(&buf).map(|x| x.packet_id), Some(id(7)));
        r.pop();
        assert_eq!(r.ready(&buf), None);
        assert!(!r.acknowledge(&mut buf, a), "already sent");
        // Wraps around the ring.
        let d = r.push(&mut buf, id(7), QoS::AtLeastOnce, true).unwrap();
        assert!(d > c);
        assert_eq!(
            r.find(&buf, id(8), QoS::ExactlyOnce).map(|x| x.acked),
            Some(false)
        );
        assert!(r.acknowledge(&mut buf, b));
        let sent: std::vec::Vec<u16> = core::iter::from_fn(|| {
            let next = r.ready(&buf)?;
            r.pop();
            Some(next.packet_id.get())
        })
        .collect();
        assert_eq!(sent, [8, 9, 7]);
        let e = r.push(&mut buf, id(1), QoS::AtLeastOnce, false).unwrap();
        r.clear();
        assert!(!r.contains(e) && !r.acknowledge(&mut buf, e), "cleared");
        assert!(r.push(&mut buf, id(1), QoS::AtLeastOnce, false).unwrap() > e);
    }

    #[test]
    fn a_record_of_no_entries_holds_nothing() {
        let mut r = Receipts::new(0);
        assert!(r.is_full());
        assert_eq!(r.push(&mut [], id(1), QoS::AtLeastOnce, false), None);
        r.pop();
        r.clear();
        assert_eq!(r.len(), 0);
    }
}
