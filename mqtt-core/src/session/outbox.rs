//! The outbox: every outgoing PUBLISH from the moment `publish` accepts it until it is acknowledged (or, at QoS 0,
//! written), in a ring of variable-size records inside caller memory.
//!
//! A record is a 12-byte header (state and 5.0 form, QoS, DUP and strikes, packet id, ticket, length) followed by
//! the encoded PUBLISH. Records stay in publish order, which is the order
//! the specification wants them resent in after a reconnect. Acknowledgements may arrive out of order (QoS 1 and 2
//! interleave), so a completed record becomes a tombstone and its bytes are reclaimed once it reaches the head.
//!
//! The ring never splits a record: one that does not fit before the end of the memory goes to the start, and the
//! end of the upper part is remembered in `wrap_end`.

use crate::codec::{PacketId, QoS};

use super::journal::Journal;
#[cfg(feature = "persist")]
use super::journal::{self, Notice};

/// Size of a record header.
pub(crate) const HEADER: usize = 12;
/// The most strikes a header can count (five bits).
pub(crate) const MAX_STRIKES: u8 = 31;

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    /// Waiting to be sent on this connection (first time, or again with DUP after a reconnect).
    Queued = 1,
    /// PUBLISH sent, awaiting PUBACK (QoS 1) or PUBREC (QoS 2).
    Sent = 2,
    /// PUBREC received and PUBREL sent on this connection, awaiting PUBCOMP.
    Released = 3,
    /// PUBREC received on an earlier connection: PUBREL must be sent again.
    ReleasePending = 4,
    /// Finished; reclaimed when it reaches the head.
    Done = 5,
    /// The broker lost the session before acknowledging: to be reported as failed, then done.
    ReportLost = 6,
    /// The broker lost the session after PUBREC: to be reported as delivered, then done.
    ReportAccepted = 7,
    /// PUBREL sent again on a later connection than PUBREC (recovery), awaiting PUBCOMP.
    Rereleased = 8,
    /// A QoS 2 message given up as poison before PUBREC (already reported): PUBREL must go out, so that the broker
    /// frees the packet identifier before it is used again.
    Abandon = 9,
    /// PUBREL of an abandoned message sent, awaiting PUBCOMP, which ends it without a report.
    Abandoned = 10,
}

impl State {
    /// A QoS 2 message given up as poison, still releasing its packet identifier.
    pub(crate) fn is_abandoned(self) -> bool {
        matches!(self, Self::Abandon | Self::Abandoned)
    }
}

impl State {
    fn from_u8(b: u8) -> Self {
        match b {
            1 => Self::Queued,
            2 => Self::Sent,
            3 => Self::Released,
            4 => Self::ReleasePending,
            6 => Self::ReportLost,
            7 => Self::ReportAccepted,
            8 => Self::Rereleased,
            9 => Self::Abandon,
            10 => Self::Abandoned,
            _ => Self::Done,
        }
    }
}

/// The header of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) qos: QoS,
    /// Resend: the PUBLISH was sent on an earlier connection and goes out with DUP and its old packet id.
    pub(crate) dup: bool,
    /// Connections that ended while this was the oldest message in flight unacknowledged (at most 31).
    pub(crate) strikes: u8,
    /// The PUBLISH is stored in its MQTT 5.0 form (sent as 3.1.1 after the session fell back).
    pub(crate) v5: bool,
    pub(crate) packet_id: Option<PacketId>,
    pub(crate) ticket: u32,
    /// Bytes of the encoded PUBLISH after the header.
    pub(crate) len: usize,
}

impl Header {
    fn read(b: &[u8]) -> Option<Self> {
        let h: &[u8; HEADER] = b.get(..HEADER)?.try_into().ok()?;
        Some(Self {
            state: State::from_u8(h[0] & 0x7f),
            qos: QoS::from_u8(h[1] & 0x03).unwrap_or(QoS::AtMostOnce),
            dup: h[1] & 0x04 != 0,
            strikes: h[1] >> 3,
            v5: h[0] & 0x80 != 0,
            packet_id: PacketId::new(u16::from_le_bytes([h[2], h[3]])),
            ticket: u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
            len: u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize,
        })
    }

    fn write(&self, b: &mut [u8]) {
        let Some(h) = b.get_mut(..HEADER) else {
            return;
        };
        if let Ok(h) = <&mut [u8; HEADER]>::try_from(h) {
            // The state takes the low bits of the first byte, the 5.0 flag the top one.
            h[0] = self.state as u8 | if self.v5 { 0x80 } else { 0 };
            h[1] = u8::from(self.qos)
                | if self.dup { 0x04 } else { 0 }
                | (self.strikes.min(MAX_STRIKES) << 3);
            h[2..4].copy_from_slice(&self.packet_id.map_or(0, PacketId::get).to_le_bytes());
            h[4..8].copy_from_slice(&self.ticket.to_le_bytes());
            h[8..12].copy_from_slice(&u32::try_from(self.len).unwrap_or(u32::MAX).to_le_bytes());
        }
    }

    fn size(&self) -> usize {
        HEADER + self.len
    }
}

/// The ring's bookkeeping; the memory itself is passed to each call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outbox {
    head: usize,
    tail: usize,
    /// End of the upper part while the ring is wrapped.
    wrap_end: Option<usize>,
    /// Records in the ring, tombstones included.
    records: usize,
    /// Tombstones among them, waiting behind a live record to be reclaimed.
    dead: usize,
    /// The first record that may need sending; every record before it is neither `Queued`, `ReleasePending` nor
    /// `Abandon`.
    /// `None`: nothing to send.
    cursor: Option<usize>,
    /// The first record that may await a report after a session loss.
    report: Option<usize>,
    /// Changes a persistent store must learn of (feature `persist`; empty without it); noted by the methods below.
    pub(crate) journal: Journal,
}

impl Outbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
    }

    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// Records not yet finished (tombstones excluded).
    pub(crate) fn live(&self) -> usize {
        self.records - self.dead
    }

    pub(crate) fn first(&self) -> Option<usize> {
        (!self.is_empty()).then_some(self.head)
    }

    /// The record after the one at `pos`.
    pub(crate) fn next(&self, ring: &[u8], pos: usize) -> Option<usize> {
        let mut next = pos + Header::read(ring.get(pos..)?)?.size();
        if self.wrap_end == Some(next) {
            next = 0;
        }
        (next != self.tail).then_some(next)
    }

    pub(crate) fn header(&self, ring: &[u8], pos: usize) -> Option<Header> {
        Header::read(ring.get(pos..)?)
    }

    pub(crate) fn set_header(&mut self, ring: &mut [u8], pos: usize, header: &Header) {
        #[cfg(feature = "persist")]
        if let Some(notice) = journal::header_change(self.header(ring, pos).as_ref(), header) {
            self.journal.note(notice);
        }
        if let Some(b) = ring.get_mut(pos..) {
            header.write(b);
        }
    }

    /// The encoded PUBLISH of the record at `pos`.
    pub(crate) fn packet<'r>(&self, ring: &'r [u8], pos: usize) -> &'r [u8] {
        let len = self.header(ring, pos).map_or(0, |h| h.len);
        ring.get(pos + HEADER..pos + HEADER + len)
            .unwrap_or_default()
    }

    /// Where a record of `size` bytes would go, and whether the ring wraps to get there.
    fn place(&self, cap: usize, size: usize) -> Option<(usize, bool)> {
        match self.wrap_end {
            None if self.tail + size <= cap => Some((self.tail, false)),
            None if size <= self.head => Some((0, true)),
            Some(_) if self.tail + size <= self.head => Some((self.tail, false)),
            _ => None,
        }
    }

    /// Appends a `Queued` record whose packet `write` encodes into the slice it is given (exactly `len` bytes), in
    /// 5.0 form if `v5`.
    ///
    /// Returns `false`, leaving the ring unchanged, if the record does not fit or `write` fails.
    pub(crate) fn push(
        &mut self,
        ring: &mut [u8],
        qos: QoS,
        v5: bool,
        ticket: u32,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> bool,
    ) -> bool {
        let size = HEADER + len;
        let Some((pos, wraps)) = self.place(ring.len(), size) else {
            return false;
        };
        let Some(record) = ring.get_mut(pos..pos + size) else {
            return false;
        };
        let (header, body) = record.split_at_mut(HEADER);
        if !write(body) {
            return false;
        }
        Header {
            state: State::Queued,
            qos,
            dup: false,
            strikes: 0,
            v5,
            packet_id: None,
            ticket,
            len,
        }
        .write(header);
        if wraps {
            self.wrap_end = Some(self.tail);
        }
        self.tail = pos + size;
        self.records += 1;
        if self.cursor.is_none() {
            self.cursor = Some(pos);
        }
        #[cfg(feature = "persist")]
        if qos != QoS::AtMostOnce {
            self.journal.note(Notice::Message {
                ticket,
                pos: u32::try_from(pos).unwrap_or(u32::MAX),
            });
        }
        true
    }

    /// [`push`](Self::push), returning where the record went.
    #[cfg(feature = "persist")]
    pub(crate) fn push_at(
        &mut self,
        ring: &mut [u8],
        qos: QoS,
        v5: bool,
        ticket: u32,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> bool,
    ) -> Option<usize> {
        // A pushed record ends at the tail.
        self.push(ring, qos, v5, ticket, len, write)
            .then(|| self.tail - HEADER - len)
    }

    /// Marks the record at `pos` done and reclaims every finished record at the head.
    pub(crate) fn complete(&mut self, ring: &mut [u8], pos: usize) {
        if let Some(mut h) = self.header(ring, pos)
            && h.state != State::Done
        {
            h.state = State::Done;
            self.set_header(ring, pos, &h);
            self.dead += 1;
        }
        self.reclaim(ring);
    }

    /// Whether compaction would free memory: tombstones sit behind a live record.
    pub(crate) fn has_tombstones(&self) -> bool {
        self.dead > 0
    }

    /// Squeezes the tombstones out: live records move down, in order, to follow one another from the head.
    ///
    /// Needed when a record stays unacknowledged at the head (a slow QoS 2 flow, held acknowledgements) while
    /// later ones complete. `moved(old, new)` is called for every record that changes place, so that the caller
    /// can follow positions it keeps; the cursors are kept here.
    pub(crate) fn compact(&mut self, ring: &mut [u8], mut moved: impl FnMut(usize, usize)) {
        let cap = ring.len();
        let mut pos = self.first();
        let (old_cursor, old_report) = (self.cursor, self.report);
        let mut fresh = Self::default();
        let mut write = self.head;
        let mut wrapped_to: Option<usize> = None;
        // Positions pointing at a tombstone move on to the next live record.
        let (mut cursor_pending, mut report_pending) = (false, false);
        while let Some(p) = pos {
            let next = self.next(ring, p);
            let Some(h) = self.header(ring, p) else {
                break;
            };
            let is_cursor = old_cursor == Some(p);
            let is_report = old_report == Some(p);
            if h.state == State::Done {
                cursor_pending |= is_cursor;
                report_pending |= is_report;
                pos = next;
                continue;
            }
            let size = h.size();
            if wrapped_to.is_none() && write + size > cap {
                wrapped_to = Some(write);
                write = 0;
            }
            if write != p {
                crate::buffer::move_within(ring, p..p + size, write);
                moved(p, write);
                #[cfg(feature = "persist")]
                self.journal.moved(p, write);
            }
            if fresh.records == 0 {
                fresh.head = write;
            }
            if is_cursor || cursor_pending {
                fresh.cursor.get_or_insert(write);
                cursor_pending = false;
            }
            if is_report || report_pending {
                fresh.report.get_or_insert(write);
                report_pending = false;
            }
            fresh.records += 1;
            write += size;
            pos = next;
        }
        if fresh.records == 0 {
            self.clear_ring();
            return;
        }
        // Live records now run from the old head up to `wrapped_to` and on from 0, or from the head up to `write`.
        fresh.tail = write;
        fresh.wrap_end = wrapped_to;
        fresh.journal = core::mem::take(&mut self.journal);
        *self = fresh;
    }

    /// Forgets every record (the ring is empty), keeping the journal.
    fn clear_ring(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.wrap_end = None;
        self.records = 0;
        self.dead = 0;
        self.cursor = None;
        self.report = None;
    }

    fn reclaim(&mut self, ring: &[u8]) {
        while let Some(h) = self.first().and_then(|head| self.header(ring, head)) {
            if h.state != State::Done {
                break;
            }
            if self.cursor == Some(self.head) {
                self.cursor = self.next(ring, self.head);
            }
            if self.report == Some(self.head) {
                self.report = self.next(ring, self.head);
            }
            self.head += h.size();
            self.records -= 1;
            self.dead -= 1;
            if self.wrap_end == Some(self.head) {
                self.head = 0;
                self.wrap_end = None;
            }
            if self.records == 0 {
                self.clear_ring();
            }
        }
    }

    /// The first record that may need sending.
    pub(crate) fn cursor(&self) -> Option<usize> {
        self.cursor
    }

    /// Moves the cursor past the record at `pos` (which no longer needs sending).
    pub(crate) fn advance_cursor(&mut self, ring: &[u8], pos: usize) {
        if self.cursor == Some(pos) {
            self.cursor = self.next(ring, pos);
        }
    }

    /// The first record that may await a report.
    pub(crate) fn report(&self) -> Option<usize> {
        self.report
    }

    pub(crate) fn set_report(&mut self, pos: Option<usize>) {
        self.report = pos;
    }

    /// Moves the report cursor past the record at `pos`.
    pub(crate) fn advance_report(&mut self, ring: &[u8], pos: usize) {
        if self.report == Some(pos) {
            self.report = self.next(ring, pos);
        }
    }

    /// Starts the next send pass at the head (after a reconnect or a bulk change of states).
    pub(crate) fn rewind(&mut self) {
        self.cursor = self.first();
    }

    /// The records that may hold a packet identifier: identifiers are given in record order, so the scan stops at
    /// the first QoS 1 or 2 record that has none.
    fn with_ids<'r>(&'r self, ring: &'r [u8]) -> impl Iterator<Item = (usize, Header)> + 'r {
        let mut pos = self.first();
        core::iter::from_fn(move || {
            let p = pos?;
            let h = self.header(ring, p)?;
            if h.state == State::Queued && h.qos != QoS::AtMostOnce && h.packet_id.is_none() {
                pos = None;
                return None;
            }
            pos = self.next(ring, p);
            Some((p, h))
        })
    }

    /// Finds the record holding `packet_id` among those sent (`Sent`, the released states, the abandoned ones).
    pub(crate) fn find(&self, ring: &[u8], packet_id: PacketId) -> Option<(usize, Header)> {
        self.with_ids(ring).find(|(_, h)| {
            h.packet_id == Some(packet_id)
                && matches!(
                    h.state,
                    State::Sent
                        | State::Released
                        | State::ReleasePending
                        | State::Rereleased
                        | State::Abandon
                        | State::Abandoned
                )
        })
    }

    /// Whether `packet_id` is held by any live record.
    pub(crate) fn uses_packet_id(&self, ring: &[u8], packet_id: PacketId) -> bool {
        self.with_ids(ring)
            .any(|(_, h)| h.state != State::Done && h.packet_id == Some(packet_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn push(outbox: &mut Outbox, ring: &mut [u8], ticket: u32, len: usize) -> bool {
        outbox.push(ring, QoS::AtLeastOnce, false, ticket, len, |b| {
            b.fill(ticket as u8);
            true
        })
    }

    fn tickets(outbox: &Outbox, ring: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        let mut pos = outbox.first();
        while let Some(p) = pos {
            out.push(outbox.header(ring, p).unwrap().ticket);
            pos = outbox.next(ring, p);
        }
        out
    }

    #[test]
    fn records_keep_order_and_wrap_around_without_splitting() {
        let mut ring = vec![0u8; 100];
        let mut o = Outbox::default();
        for t in 1..=4 {
            assert!(push(&mut o, &mut ring, t, 8)); // 20 bytes each
        }
        assert!(
            !push(&mut o, &mut ring, 5, 30),
            "42 bytes do not fit in the 20 left"
        );
        // Complete the first two: 40 bytes free at the start.
        let first = o.first().unwrap();
        let second = o.next(&ring, first).unwrap();
        o.complete(&mut ring, first);
        o.complete(&mut ring, second);
        assert!(push(&mut o, &mut ring, 5, 28)); // 40 bytes: wraps to the start
        assert_eq!(tickets(&o, &ring), [3, 4, 5]);
        let pos5 = o
            .next(&ring, o.next(&ring, o.first().unwrap()).unwrap())
            .unwrap();
        assert_eq!(pos5, 0);
        assert!(o.packet(&ring, pos5).iter().all(|&b| b == 5));
        assert!(!push(&mut o, &mut ring, 6, 1), "the ring is full");
    }

    #[test]
    fn out_of_order_completion_leaves_tombstones_until_the_head_completes() {
        let mut ring = vec![0u8; 64];
        let mut o = Outbox::default();
        for t in 1..=3 {
            assert!(push(&mut o, &mut ring, t, 4));
        }
        let p1 = o.first().unwrap();
        let p2 = o.next(&ring, p1).unwrap();
        o.complete(&mut ring, p2);
        assert_eq!(o.records(), 3, "tombstone stays behind the live head");
        o.complete(&mut ring, p1);
        assert_eq!(tickets(&o, &ring), [3]);
        let p3 = o.first().unwrap();
        o.complete(&mut ring, p3);
        assert!(o.is_empty());
        assert_eq!(o.first(), None);
    }

    #[test]
    fn compaction_squeezes_out_tombstones_behind_a_stuck_head_and_keeps_order() {
        let mut ring = vec![0u8; 100];
        let mut o = Outbox::default();
        for t in 1..=5 {
            assert!(push(&mut o, &mut ring, t, 8)); // 20 bytes each: full
        }
        // 1 stays in flight; 2..=4 complete behind it; the cursor waits at 5.
        let positions: Vec<usize> = {
            let mut v = vec![o.first().unwrap()];
            while let Some(n) = o.next(&ring, *v.last().unwrap()) {
                v.push(n);
            }
            v
        };
        for &p in &positions[..4] {
            o.advance_cursor(&ring, p);
        }
        for &p in &positions[1..4] {
            o.complete(&mut ring, p);
        }
        assert!(!push(&mut o, &mut ring, 6, 8), "tombstones hold the memory");
        assert!(o.has_tombstones());
        let mut moves = Vec::new();
        o.compact(&mut ring, |from, to| moves.push((from, to)));
        assert_eq!(moves, [(80, 20)]);
        assert_eq!(tickets(&o, &ring), [1, 5]);
        assert_eq!(o.header(&ring, o.cursor().unwrap()).unwrap().ticket, 5);
        assert!(o.packet(&ring, 20).iter().all(|&b| b == 5));
        for t in 6..=8 {
            assert!(push(&mut o, &mut ring, t, 8));
        }
        assert_eq!(tickets(&o, &ring), [1, 5, 6, 7, 8]);
    }

    #[test]
    fn compaction_of_a_wrapped_ring_keeps_order() {
        let mut ring = vec![0u8; 100];
        let mut o = Outbox::default();
        for t in 1..=4 {
            assert!(push(&mut o, &mut ring, t, 8));
        }
        let p1 = o.first().unwrap();
        o.complete(&mut ring, p1); // head moves to 20
        assert!(push(&mut o, &mut ring, 5, 8)); // 80..100
        assert!(push(&mut o, &mut ring, 6, 8)); // wraps to 0..20
        assert_eq!(tickets(&o, &ring), [2, 3, 4, 5, 6]);
        let p3 = o.next(&ring, o.first().unwrap()).unwrap();
        let p4 = o.next(&ring, p3).unwrap();
        o.complete(&mut ring, p3);
        o.complete(&mut ring, p4);
        o.compact(&mut ring, |_, _| {});
        assert_eq!(tickets(&o, &ring), [2, 5, 6]);
        for (pos, t) in [(20, 2u8), (40, 5), (60, 6)] {
            assert!(o.packet(&ring, pos).iter().all(|&b| b == t), "{t} at {pos}");
        }
        assert!(push(&mut o, &mut ring, 7, 8));
        assert!(push(&mut o, &mut ring, 8, 8)); // wraps again
        assert_eq!(tickets(&o, &ring), [2, 5, 6, 7, 8]);
    }

    #[test]
    fn cursor_follows_the_first_unsent_record() {
        let mut ring = vec![0u8; 64];
        let mut o = Outbox::default();
        assert_eq!(o.cursor(), None);
        push(&mut o, &mut ring, 1, 4);
        push(&mut o, &mut ring, 2, 4);
        let p1 = o.cursor().unwrap();
        o.advance_cursor(&ring, p1);
        let p2 = o.cursor().unwrap();
        assert_eq!(o.header(&ring, p2).unwrap().ticket, 2);
        o.advance_cursor(&ring, p2);
        assert_eq!(o.cursor(), None);
        push(&mut o, &mut ring, 3, 4);
        assert_eq!(o.header(&ring, o.cursor().unwrap()).unwrap().ticket, 3);
        o.rewind();
        assert_eq!(o.cursor(), Some(p1));
    }
}
