//! The subscription table: the subscriptions the session re-establishes when a broker has lost its session, and
//! the SUBSCRIBE and UNSUBSCRIBE requests still waiting to be sent or acknowledged.
//!
//! Entries are packed in caller memory: a 15-byte header, then the filter. A request is the run of entries sharing
//! a ticket; requests are appended in the order they are made and go out in that order. Removing an entry moves
//! the ones after it down.
//!
//! # One filter, several requests
//!
//! A filter has at most one `Active` entry (what the broker granted), and any number of requests for it after
//! that entry, each waiting for its own acknowledgement: a request never replaces or takes over another one, so
//! every SUBACK and UNSUBACK finds the entries of its own request and completes its own ticket. The broker applies
//! MQTT's replace rule (`[MQTT-3.8.4-3]`) in the order the requests arrive, and the table follows it when they are
//! acknowledged:
//!
//! - a granted SUBSCRIBE entry becomes the filter's `Active` entry, replacing the one before it (its options are
//!   the latest the broker took);
//! - a refused one is dropped, and what was active stays (the broker kept it);
//! - a successful UNSUBSCRIBE removes the `Active` entry before it; a refused one leaves it.
//!
//! So an UNSUBSCRIBE of a filter whose SUBSCRIBE is still in flight goes out after that SUBSCRIBE and removes what
//! it granted: the filter ends unsubscribed, and both tickets complete.
//!
//! # User properties of a request
//!
//! A request with 5.0 user properties has one more entry, in state `Properties`, with its ticket and subscription
//! identifier, whose text is the pairs as `name NUL value NUL ...` (MQTT strings never hold U+0000). It is sent with
//! the request whenever the request is (again after a reconnect), and pruned once no entry of its request is
//! waiting to be sent or acknowledged. The session's own re-subscription after a lost session carries none.

use crate::buffer::Buf;
use crate::codec::{PacketId, QoS, ReasonCode, SubscriptionOptions};

const HEADER: usize = 15;

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    /// SUBSCRIBE to send.
    SubscribeQueued = 1,
    /// SUBSCRIBE sent, awaiting SUBACK.
    SubscribeSent = 2,
    /// Granted by the broker.
    Active = 3,
    /// UNSUBSCRIBE to send.
    UnsubscribeQueued = 4,
    /// UNSUBSCRIBE sent, awaiting UNSUBACK.
    UnsubscribeSent = 5,
    /// Not a filter: the user properties of the request with its ticket and subscription identifier.
    Properties = 6,
}

impl State {
    fn from_u8(b: u8) -> Self {
        match b {
            1 => Self::SubscribeQueued,
            2 => Self::SubscribeSent,
            4 => Self::UnsubscribeQueued,
            5 => Self::UnsubscribeSent,
            6 => Self::Properties,
            _ => Self::Active,
        }
    }
}

/// An entry's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) state: State,
    pub(crate) options: SubscriptionOptions,
    /// The reason code of the SUBACK (granted QoS) once active.
    pub(crate) granted: ReasonCode,
    pub(crate) ticket: u32,
    pub(crate) packet_id: Option<PacketId>,
    /// The 5.0 Subscription Identifier of the request (0: none).
    pub(crate) subscription_id: u32,
    filter_len: usize,
}

impl Entry {
    /// The highest QoS the broker may deliver through this subscription.
    pub(crate) fn granted_qos(&self) -> QoS {
        self.granted.granted_qos().unwrap_or(self.options.qos)
    }

    fn read(b: &[u8]) -> Option<Self> {
        let h: &[u8; HEADER] = b.get(..HEADER)?.try_into().ok()?;
        let total = usize::from(u16::from_le_bytes([h[0], h[1]]));
        Some(Self {
            state: State::from_u8(h[2]),
            options: SubscriptionOptions::from_byte(h[3], crate::codec::ProtocolVersion::V5)
                .unwrap_or_default(),
            granted: ReasonCode(h[4]),
            ticket: u32::from_le_bytes([h[5], h[6], h[7], h[8]]),
            packet_id: PacketId::new(u16::from_le_bytes([h[9], h[10]])),
            subscription_id: u32::from_le_bytes([h[11], h[12], h[13], h[14]]),
            filter_len: total.checked_sub(HEADER)?,
        })
    }

    fn write(&self, b: &mut [u8]) {
        let Some(Ok(h)) = b.get_mut(..HEADER).map(<&mut [u8; HEADER]>::try_from) else {
            return;
        };
        let total = u16::try_from(HEADER + self.filter_len).unwrap_or(u16::MAX);
        h[0..2].copy_from_slice(&total.to_le_bytes());
        h[2] = self.state as u8;
        h[3] = self.options.to_byte();
        h[4] = self.granted.0;
        h[5..9].copy_from_slice(&self.ticket.to_le_bytes());
        h[9..11].copy_from_slice(&self.packet_id.map_or(0, PacketId::get).to_le_bytes());
        h[11..15].copy_from_slice(&self.subscription_id.to_le_bytes());
    }

    fn size(&self) -> usize {
        HEADER + self.filter_len
    }
}

/// The table's bookkeeping; the memory is passed to each call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subscriptions {
    used: usize,
    /// The table changed since a store last took it (feature `persist`).
    #[cfg(feature = "persist")]
    changed: bool,
    /// The fingerprint of the subscriptions last stored (feature `persist`).
    #[cfg(feature = "persist")]
    stored: u32,
}

impl Subscriptions {
    /// Whether entries for these filters (total filter bytes, count) would fit, growing a growable table.
    pub(crate) fn fits(&self, buf: &mut Buf<'_>, filter_bytes: usize, count: usize) -> bool {
        buf.grow_to_fit(self.used + filter_bytes + count * HEADER)
    }

    /// Appends an entry.
    pub(crate) fn push(
        &mut self,
        buf: &mut [u8],
        filter: &str,
        options: SubscriptionOptions,
        state: State,
        ticket: u32,
        subscription_id: u32,
    ) -> bool {
        let entry = Entry {
            state,
            options,
            granted: ReasonCode(options.qos as u8),
            ticket,
            packet_id: None,
            subscription_id,
            filter_len: filter.len(),
        };
        self.append(buf, entry, |text| text.copy_from_slice(filter.as_bytes()))
    }

    /// Appends an entry whose `len` bytes of text `write` fills (valid UTF-8).
    pub(crate) fn push_with(
        &mut self,
        buf: &mut [u8],
        len: usize,
        write: impl FnOnce(&mut [u8]),
        state: State,
        ticket: u32,
        subscription_id: u32,
    ) -> bool {
        let entry = Entry {
            state,
            options: SubscriptionOptions::default(),
            granted: ReasonCode::SUCCESS,
            ticket,
            packet_id: None,
            subscription_id,
            filter_len: len,
        };
        self.append(buf, entry, write)
    }

    fn append(&mut self, buf: &mut [u8], entry: Entry, write: impl FnOnce(&mut [u8])) -> bool {
        let size = entry.size();
        if size > usize::from(u16::MAX) {
            return false;
        }
        let Some(slot) = buf.get_mut(self.used..self.used + size) else {
            return false;
        };
        let (header, text) = slot.split_at_mut(HEADER);
        write(text);
        entry.write(header);
        self.used += size;
        true
    }

    /// The entry at `pos` and its filter.
    pub(crate) fn get<'t>(&self, buf: &'t [u8], pos: usize) -> Option<(Entry, &'t str)> {
        if pos >= self.used {
            return None;
        }
        let entry = Entry::read(buf.get(pos..)?)?;
        let filter = buf.get(pos + HEADER..pos + entry.size())?;
        Some((entry, core::str::from_utf8(filter).ok()?))
    }

    pub(crate) fn set(&self, buf: &mut [u8], pos: usize, entry: &Entry) {
        if let Some(b) = buf.get_mut(pos..) {
            entry.write(b);
        }
    }

    /// The position of the entry after the one at `pos`.
    pub(crate) fn next(&self, buf: &[u8], pos: usize) -> Option<usize> {
        let next = pos + Entry::read(buf.get(pos..)?)?.size();
        (next < self.used).then_some(next)
    }

    pub(crate) fn first(&self) -> Option<usize> {
        (self.used > 0).then_some(0)
    }

    /// Removes the entry at `pos`; the next entry, if any, is then at `pos`.
    pub(crate) fn remove(&mut self, buf: &mut [u8], pos: usize) {
        let Some(size) = Entry::read(buf.get(pos..).unwrap_or_default()).map(|e| e.size()) else {
            return;
        };
        if pos + size <= self.used && self.used <= buf.len() {
            crate::buffer::move_within(buf, pos + size..self.used, pos);
            self.used -= size;
        }
    }

    /// Whether a SUBSCRIBE or UNSUBSCRIBE in flight uses `packet_id`.
    pub(crate) fn uses_packet_id(&self, buf: &[u8], packet_id: PacketId) -> bool {
        let mut pos = self.first();
        while let Some(p) = pos {
            if let Some((e, _)) = self.get(buf, p)
                && e.packet_id == Some(packet_id)
                && matches!(e.state, State::SubscribeSent | State::UnsubscribeSent)
            {
                return true;
            }
            pos = self.next(buf, p);
        }
        false
    }

    /// The first entry in `state` with `packet_id`: the next one a SUBACK or UNSUBACK settles, in request order.
    pub(crate) fn find_sent(&self, buf: &[u8], state: State, packet_id: PacketId) -> Option<usize> {
        let mut pos = self.first();
        while let Some(p) = pos {
            if self
                .get(buf, p)
                .is_some_and(|(e, _)| e.state == state && e.packet_id == Some(packet_id))
            {
                return Some(p);
            }
            pos = self.next(buf, p);
        }
        None
    }

    /// The `Active` entry for the filter of the entry at `pos`, if one comes before it.
    fn active_before(&self, buf: &[u8], pos: usize) -> Option<usize> {
        let (_, filter) = self.get(buf, pos)?;
        let mut p = self.first();
        while let Some(q) = p.filter(|&q| q < pos) {
            if self
                .get(buf, q)
                .is_some_and(|(e, f)| e.state == State::Active && f == filter)
            {
                return Some(q);
            }
            p = self.next(buf, q);
        }
        None
    }

    /// Settles the request entry at `pos` with the broker's `code` for it (see the module docs): a granted
    /// subscription becomes the filter's active one, a successful unsubscription removes it, a refusal leaves
    /// what was active.
    pub(crate) fn settle(&mut self, buf: &mut [u8], pos: usize, code: ReasonCode) {
        let Some((mut entry, _)) = self.get(buf, pos) else {
            return;
        };
        self.note_change();
        let mut pos = pos;
        if !code.is_failure()
            && let Some(active) = self.active_before(buf, pos)
        {
            let size = self.get(buf, active).map_or(0, |(e, _)| e.size());
            self.remove(buf, active);
            pos -= size;
        }
        if entry.state == State::SubscribeSent && !code.is_failure() {
            entry.state = State::Active;
            entry.granted = code;
            entry.packet_id = None;
            self.set(buf, pos, &entry);
        } else {
            self.remove(buf, pos);
        }
    }

    /// The highest QoS the broker may use for `topic`: what the active subscriptions matching it were granted,
    /// and what requests for them not yet acknowledged asked for (the broker may send under a new subscription
    /// before its SUBACK, `[MQTT-3.8.4]`). `None` if no entry matches.
    pub(crate) fn granted_qos(&self, buf: &[u8], topic: &str) -> Option<QoS> {
        let mut granted = None;
        let mut pos = self.first();
        while let Some(p) = pos {
            if let Some((entry, filter)) = self.get(buf, p)
                && crate::topic::matches(filter, topic)
            {
                let qos = match entry.state {
                    State::Active => Some(entry.granted_qos()),
                    State::SubscribeQueued | State::SubscribeSent => Some(entry.options.qos),
                    State::UnsubscribeQueued | State::UnsubscribeSent | State::Properties => None,
                };
                granted = granted.max(qos);
            }
            pos = self.next(buf, p);
        }
        granted
    }

    /// The user properties of the request `ticket` with `subscription_id`, as `name NUL value NUL ...`.
    pub(crate) fn user_properties<'t>(
        &self,
        buf: &'t [u8],
        ticket: u32,
        subscription_id: u32,
    ) -> Option<&'t str> {
        let mut pos = self.first();
        while let Some(p) = pos {
            if let Some((e, text)) = self.get(buf, p)
                && e.state == State::Properties
                && e.ticket == ticket
                && e.subscription_id == subscription_id
            {
                return Some(text);
            }
            pos = self.next(buf, p);
        }
        None
    }

    /// Removes the user properties of requests that have no entry left waiting to be sent or acknowledged.
    pub(crate) fn prune_properties(&mut self, buf: &mut [u8]) {
        let mut pos = self.first();
        while let Some(p) = pos {
            let Some((e, _)) = self.get(buf, p) else {
                return;
            };
            if e.state == State::Properties && !self.has_request(buf, e.ticket, e.subscription_id) {
                self.remove(buf, p);
                pos = (p < self.used).then_some(p);
            } else {
                pos = self.next(buf, p);
            }
        }
    }

    fn has_request(&self, buf: &[u8], ticket: u32, subscription_id: u32) -> bool {
        let mut pos = self.first();
        while let Some(p) = pos {
            if let Some((e, _)) = self.get(buf, p)
                && e.ticket == ticket
                && e.subscription_id == subscription_id
                && matches!(
                    e.state,
                    State::SubscribeQueued
                        | State::SubscribeSent
                        | State::UnsubscribeQueued
                        | State::UnsubscribeSent
                )
            {
                return true;
            }
            pos = self.next(buf, p);
        }
        false
    }

    /// Applies `f` to every entry (it may change the entry, or return `false` to remove it).
    pub(crate) fn retain(&mut self, buf: &mut [u8], mut f: impl FnMut(&mut Entry, &str) -> bool) {
        self.note_change();
        let mut pos = 0;
        while pos < self.used {
            let Some((mut entry, filter)) = self.get(buf, pos) else {
                return;
            };
            if f(&mut entry, filter) {
                let size = entry.size();
                self.set(buf, pos, &entry);
                pos += size;
            } else {
                self.remove(buf, pos);
            }
        }
    }
}

impl Subscriptions {
    /// Notes that the table changed, for a store (feature `persist`).
    #[inline(always)]
    fn note_change(&mut self) {
        #[cfg(feature = "persist")]
        {
            self.changed = true;
        }
    }

    /// Whether the table changed since [`take_changed`](Self::take_changed).
    #[cfg(feature = "persist")]
    pub(crate) fn has_changed(&self) -> bool {
        self.changed
    }

    /// Whether the table changed since the last call.
    #[cfg(feature = "persist")]
    pub(crate) fn take_changed(&mut self) -> bool {
        core::mem::take(&mut self.changed)
    }

    /// The fingerprint of the subscriptions last stored; `stored` replaces it. Whether it changed.
    #[cfg(feature = "persist")]
    pub(crate) fn store_fingerprint(&mut self, stored: u32) -> bool {
        core::mem::replace(&mut self.stored, stored) != stored
    }

    /// Sets the granted code of the entry pushed last (a subscription restored from a store).
    #[cfg(feature = "persist")]
    pub(crate) fn set_granted_of_last(&mut self, buf: &mut [u8], granted: ReasonCode) {
        let mut last = None;
        let mut pos = self.first();
        while let Some(p) = pos {
            last = Some(p);
            pos = self.next(buf, p);
        }
        if let Some(p) = last
            && let Some((mut entry, _)) = self.get(buf, p)
        {
            entry.granted = granted;
            self.set(buf, p, &entry);
        }
    }
}

impl super::Session<'_> {
    /// The subscribe requests of the application the broker has not answered yet (each
    /// [`subscribe`](Self::subscribe) is one, whatever its number of filters): queued while disconnected, or sent
    /// and waiting for their SUBACK. The session's own re-subscription after a broker lost the session does not
    /// count. Walks the subscription table.
    pub fn pending_subscriptions(&self) -> usize {
        let mut count = 0;
        let mut last = None;
        let mut pos = self.subscriptions.first();
        while let Some(p) = pos {
            if let Some((e, _)) = self.subscriptions.get(&self.subscriptions_buf, p)
                && matches!(e.state, State::SubscribeQueued | State::SubscribeSent)
                && e.ticket != super::Ticket::RESUBSCRIBE.0
                && last != Some(e.ticket)
            {
                count += 1;
                last = Some(e.ticket);
            }
            pos = self.subscriptions.next(&self.subscriptions_buf, p);
        }
        count
    }
}
