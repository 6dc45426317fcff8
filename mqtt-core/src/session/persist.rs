//! Persistence (feature `persist`): what a session must keep so that a process that dies (a crash, an OOM kill, a
//! power loss, a deploy) resumes its QoS 1 and 2 flows when it starts again with the same store and client
//! identifier.
//!
//! # What is kept
//!
//! - every outgoing QoS 1 and 2 message from the moment [`publish`](Session::publish) accepts it until it is
//!   acknowledged (or fails), with its packet identifier and its [`Form`] (never sent, sent, PUBREC received...);
//! - the incoming QoS 2 identifiers whose PUBREC went out and whose PUBREL did not arrive yet;
//! - the subscriptions the broker granted (and those the session is restoring), to re-establish them if the broker
//!   lost the session;
//! - the client identifier in use (the configured one, or the one a 5.0 broker assigned).
//!
//! QoS 0 messages, the receive buffer, the connection's state and the acknowledgements of incoming QoS 1 messages
//! are not kept: a restarted client starts a new connection, and the broker sends again what it has no
//! acknowledgement for.
//!
//! # The shape: a journal the binding writes (sans-IO)
//!
//! The session does no I/O, so it cannot write a file or a flash page itself. Two shapes were possible:
//!
//! 1. a `Persist` trait the session calls synchronously at each change: simple to read, but the session would
//!    block on a disk (or wait on a flash erase) under its lock, could not be driven by an async flash driver, and
//!    would need a trait object inside a type that is generic over nothing;
//! 2. a journal: each change is noted in a small fixed FIFO (no allocator; 64 notices of 12 bytes); the binding
//!    takes the changes out as records ([`poll_persist`](Session::poll_persist)), writes them where and how it
//!    wants (a file with `write(2)` and `fsync`, a flash queue, asynchronously or not), and tells the session how
//!    far they are durable ([`handle_persisted`](Session::handle_persisted)).
//!
//! This module takes the second: the binding chooses its I/O and its durability, and the session stays a pure
//! state machine. The price is a rule the session enforces itself, **write-ahead**: a change that a packet
//! depends on is durable before the packet goes out. While such a change is not confirmed,
//! [`poll_transmit`](Session::poll_transmit) gives nothing (and [`wants_write`](Session::wants_write) is false):
//!
//! - a packet identifier given to a message is stored before its PUBLISH is sent (else a restarted client would
//!   send a QoS 2 message again under a new identifier, and the broker would deliver it twice); the session gives
//!   identifiers ahead to every message the inflight window lets out, so that one write covers a batch;
//! - PUBREC received is stored before PUBREL is sent (else the restarted client would send the PUBLISH again, which
//!   the broker, released, takes as new);
//! - an incoming QoS 2 identifier is stored before its PUBREC, and its release before PUBCOMP (else a resend would
//!   be delivered twice, or a new message under a reused identifier dropped);
//! - an assigned client identifier is stored before anything is sent on the connection that assigned it.
//!
//! A message accepted by `publish` needs no barrier (nothing is sent before its identifier is stored), and neither
//! does the end of a message (if it is lost, the restarted client sends the message again with DUP, or PUBREL
//! again, which the broker answers). The guarantee that **every message whose `publish` returned survives a crash**
//! is the binding's to give: it stores the message's record before `publish` returns to the application (the std
//! clients do; see their `Options::persistence`), at the durability it was asked for.
//!
//! The journal is bounded: a burst of changes larger than it (a reconnect that requeues hundreds of messages)
//! overflows it, and the next thing `poll_persist` gives is [`Persist::Snapshot`]: the binding then replaces what
//! it stored by a [`snapshot`](Session::snapshot) of the whole state, as it does to compact a log.
//!
//! # Restoring
//!
//! A new session (same configuration, the same client identifier) is fed the stored records, oldest first, with
//! [`restore`](Session::restore), before [`connect`](Session::connect); then
//! [`enable_persistence`](Session::enable_persistence) turns the journal on. The restored messages are resent on
//! the next connection as after any reconnect: with DUP and their packet identifier if they had one, PUBREL where
//! PUBREC had arrived (with Session Present 0, the [`SessionLostPolicy`](crate::SessionLostPolicy) applies).
//! They keep their tickets; [`recovered`](Session::recovered) lists them so that the binding can tell the
//! application how each ends (its `Published` or `PublishFailed` event carries the ticket).

use crate::codec::{self, Packet, PacketId, ProtocolVersion, Publish, QoS};

use super::journal::Notice;
use super::outbox::{Header, State as Out};
use super::subscriptions;
use super::{PublishFailure, Session, SessionState, Ticket};

mod record;

pub use super::journal::Form;
pub use record::{Change, RestoreError, SavedSubscription, SubscriptionList};

/// How far the records taken from a session reach, for [`Session::handle_persisted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PersistMark(pub u64);

/// What [`Session::poll_persist`] asks the binding to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Persist<'a> {
    /// Append this record.
    Change(Change<'a>),
    /// Changes were more than the journal holds: replace what is stored by [`Session::snapshot`], read now (before
    /// any other call into the session), then confirm [`Session::persist_mark`].
    Snapshot,
}

/// A message a restored session inherited, from [`Session::recovered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered<'a> {
    /// Its ticket: its `Published` or `PublishFailed` event carries it.
    pub ticket: Ticket,
    /// The message.
    pub message: Publish<'a>,
    /// Already ended: given up as poison before the restart (no event follows).
    pub failed: Option<PublishFailure>,
}

// ----- the session's side -----

/// Where [`Snapshot`] is.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Identity,
    Subscriptions,
    Qos2(usize),
    Messages(Option<usize>),
}

/// The whole persistent state of a session, as records: see [`Session::snapshot`].
#[derive(Debug)]
pub struct Snapshot<'s, 'b> {
    session: &'s Session<'b>,
    stage: Stage,
}

impl<'s> Iterator for Snapshot<'s, '_> {
    type Item = Change<'s>;

    fn next(&mut self) -> Option<Change<'s>> {
        let s = self.session;
        loop {
            match self.stage {
                Stage::Identity => {
                    self.stage = Stage::Subscriptions;
                    if let Some(identity) = s.identity() {
                        return Some(identity);
                    }
                }
                Stage::Subscriptions => {
                    self.stage = Stage::Qos2(0);
                    let list = s.subscription_list();
                    if list.iter().next().is_some() {
                        return Some(Change::Subscriptions(list));
                    }
                }
                Stage::Qos2(cursor) => match s.store.qos2_next(cursor) {
                    Some((id, next)) => {
                        self.stage = Stage::Qos2(next);
                        if let Some(id) = PacketId::new(id) {
                            return Some(Change::Qos2Received(id));
                        }
                    }
                    None => self.stage = Stage::Messages(s.outbox.first()),
                },
                Stage::Messages(pos) => {
                    let pos = pos?;
                    self.stage = Stage::Messages(s.outbox.next(s.store.ring(), pos));
                    if let Some(change) = s.message_at(pos) {
                        return Some(change);
                    }
                }
            }
        }
    }
}

impl<'b> Session<'b> {
    /// Turns persistence on: from now on every change a store must keep is noted for
    /// [`poll_persist`](Self::poll_persist), and the session sends nothing that depends on a change not yet
    /// confirmed durable ([`handle_persisted`](Self::handle_persisted)). See the [module docs](self).
    ///
    /// Call it after [`restore`](Self::restore) (if anything was stored) and before [`connect`](Self::connect);
    /// then store a [`snapshot`](Self::snapshot) as the new base (or keep the records just restored).
    pub fn enable_persistence(&mut self) {
        self.outbox.journal.enable();
    }

    /// Whether [`poll_persist`](Self::poll_persist) has something to give. Changes after every command and input
    /// that changes the persistent state: `publish`, `poll_transmit` (packet identifiers given), `poll_event`
    /// (acknowledgements processed), `ack`.
    pub fn wants_persist(&self) -> bool {
        self.outbox.journal.is_enabled()
            && (!self.outbox.journal.is_empty() || self.subscriptions.has_changed())
    }

    /// Whether the session holds back what it sends until the store confirms a change
    /// ([`handle_persisted`](Self::handle_persisted)).
    pub fn is_waiting_for_store(&self) -> bool {
        self.outbox.journal.blocks()
    }

    /// The next change to store, oldest first: append it (or, for [`Persist::Snapshot`], replace everything by a
    /// [`snapshot`](Self::snapshot)). Then make what was appended durable, and confirm it with
    /// [`handle_persisted`](Self::handle_persisted) and the [`persist_mark`](Self::persist_mark) read after the
    /// last record taken. `None` without persistence or when nothing changed.
    ///
    /// The record borrows the session until the next call: encode it (or copy it) at once.
    #[must_use]
    pub fn poll_persist(&mut self) -> Option<Persist<'_>> {
        if !self.outbox.journal.is_enabled() {
            return None;
        }
        if self.outbox.journal.has_overflowed() {
            self.begin_snapshot();
            return Some(Persist::Snapshot);
        }
        if self.subscriptions.take_changed() {
            let fingerprint = self.subscription_list().fingerprint();
            if self.subscriptions.store_fingerprint(fingerprint) {
                return Some(Persist::Change(Change::Subscriptions(
                    self.subscription_list(),
                )));
            }
        }
        let notice = loop {
            let notice = self.outbox.journal.take()?;
            if self.notice_renders(notice) {
                break notice;
            }
        };
        self.render_notice(notice).map(Persist::Change)
    }

    /// How far the records taken by [`poll_persist`](Self::poll_persist) (or covered by a
    /// [`begin_snapshot`](Self::begin_snapshot)) reach: once they are durable, hand it to
    /// [`handle_persisted`](Self::handle_persisted).
    pub fn persist_mark(&self) -> PersistMark {
        PersistMark(self.outbox.journal.taken())
    }

    /// The mark that covers every change noted so far, taken or not: a binding that waits until
    /// [`durable_mark`](Self::durable_mark) reaches it (after a `publish`, say) waits until those changes are stored.
    pub fn noted_mark(&self) -> PersistMark {
        PersistMark(self.outbox.journal.pushed())
    }

    /// How far the store confirmed the changes durable ([`handle_persisted`](Self::handle_persisted)).
    pub fn durable_mark(&self) -> PersistMark {
        PersistMark(self.outbox.journal.confirmed())
    }

    /// The records up to `mark` are durable: what the session sends may go out once everything it depends on is.
    /// Marks only move forward; an older one is ignored.
    pub fn handle_persisted(&mut self, mark: PersistMark) {
        self.outbox.journal.confirm(mark.0);
    }

    /// The binding's store lost changes it was given (a write failed): the next [`poll_persist`](Self::poll_persist)
    /// gives [`Persist::Snapshot`], so that the store catches up with the whole state.
    pub fn force_snapshot(&mut self) {
        self.outbox.journal.force_snapshot();
    }

    /// Starts a snapshot (to compact a log, or to store the base after a restore): every change noted so far is
    /// dropped, as the [`snapshot`](Self::snapshot) read now covers it. Returns the mark to confirm once the
    /// snapshot is durable.
    pub fn begin_snapshot(&mut self) -> PersistMark {
        self.subscriptions.take_changed();
        let fingerprint = self.subscription_list().fingerprint();
        self.subscriptions.store_fingerprint(fingerprint);
        PersistMark(self.outbox.journal.start_over())
    }

    /// The whole persistent state, as records to store in this order (identity, subscriptions, incoming QoS 2
    /// identifiers, messages in publish order). Restoring them gives the same state.
    pub fn snapshot(&self) -> Snapshot<'_, 'b> {
        Snapshot {
            session: self,
            stage: Stage::Identity,
        }
    }

    /// Applies one stored record, oldest first, to a session that has not started (before
    /// [`connect`](Self::connect) and [`enable_persistence`](Self::enable_persistence)).
    ///
    /// Records that refer to a message the session does not have (its end was stored after a snapshot that
    /// already left it out) are ignored; a message stored twice keeps its latest record.
    ///
    /// # Errors
    ///
    /// [`RestoreError`]: a record that does not decode, a store of another client identifier, or state that does
    /// not fit the session's memory. The session keeps what was restored before the error.
    pub fn restore(&mut self, record: &[u8]) -> Result<(), RestoreError> {
        if self.state != SessionState::Idle || self.outbox.journal.is_enabled() {
            return Err(RestoreError::NotIdle);
        }
        match Change::decode(record)? {
            Change::Identity {
                client_id,
                assigned,
            } => self.restore_identity(client_id, assigned),
            Change::Message {
                ticket,
                qos,
                v5,
                form,
                packet_id,
                packet,
            } => self.restore_message(ticket, qos, v5, form, packet_id, packet),
            Change::State {
                ticket,
                form,
                packet_id,
            } => {
                if let Some((pos, h)) = self.find_ticket(ticket) {
                    self.restore_form(pos, h, form, packet_id);
                }
                Ok(())
            }
            Change::Done { ticket } => {
                if let Some((pos, _)) = self.find_ticket(ticket) {
                    let ring = self.store.ring_mut();
                    self.outbox.advance_cursor(ring, pos);
                    self.outbox.advance_report(ring, pos);
                    self.outbox.complete(ring, pos);
                }
                Ok(())
            }
            Change::Qos2Received(id) => match self.store.qos2_insert(id.get()) {
                true => Ok(()),
                false => Err(RestoreError::Qos2TableFull),
            },
            Change::Qos2Released(id) => {
                self.store.qos2_remove(id.get());
                Ok(())
            }
            Change::Qos2Cleared => {
                self.store.qos2_clear();
                Ok(())
            }
            Change::Subscriptions(list) => self.restore_subscriptions_from(list),
        }
    }

    /// The outgoing messages this session holds, in publish order: after a [`restore`](Self::restore), those it
    /// inherited, whose `Published` or `PublishFailed` events (by ticket) tell how they end.
    pub fn recovered(&self) -> impl Iterator<Item = Recovered<'_>> + '_ {
        let ring = self.store.ring();
        let mut pos = self.outbox.first();
        let poison = PublishFailure::Poison {
            connections: self.settings.poison_threshold,
        };
        core::iter::from_fn(move || {
            loop {
                let p = pos?;
                pos = self.outbox.next(ring, p);
                let Some(h) = self.outbox.header(ring, p) else {
                    continue;
                };
                if h.qos == QoS::AtMostOnce || h.state == Out::Done {
                    continue;
                }
                let version = if h.v5 {
                    ProtocolVersion::V5
                } else {
                    ProtocolVersion::V311
                };
                let Ok(Some((Packet::Publish(message), _))) =
                    codec::decode(self.outbox.packet(ring, p), version, u32::MAX)
                else {
                    continue;
                };
                return Some(Recovered {
                    ticket: Ticket(h.ticket),
                    message: Publish {
                        dup: false,
                        packet_id: None,
                        ..message
                    },
                    failed: h.state.is_abandoned().then_some(poison),
                });
            }
        })
    }

    /// Takes back a QoS 1 or 2 message that was never given a packet identifier (never sent): for a binding whose
    /// store could not write the message's record, so that `publish` can fail without the message going out.
    /// Returns whether it was taken back.
    pub fn withdraw(&mut self, ticket: Ticket) -> bool {
        let Some((pos, h)) = self.find_ticket(ticket) else {
            return false;
        };
        if h.state != Out::Queued || h.packet_id.is_some() {
            return false;
        }
        let ring = self.store.ring_mut();
        self.outbox.advance_cursor(ring, pos);
        self.outbox.complete(ring, pos);
        true
    }

    // ----- internals -----

    /// Whether a notice still has something to render (a message may have ended before its record was taken).
    fn notice_renders(&self, notice: Notice) -> bool {
        match notice {
            Notice::Message { ticket, pos } => self.message_pos(ticket, pos).is_some(),
            Notice::Identity => self.identity().is_some(),
            Notice::None => false,
            _ => true,
        }
    }

    fn render_notice(&self, notice: Notice) -> Option<Change<'_>> {
        let id = PacketId::new;
        Some(match notice {
            Notice::Message { ticket, pos } => self.message_at(self.message_pos(ticket, pos)?)?,
            Notice::State {
                ticket,
                form,
                packet_id,
            } => Change::State {
                ticket: Ticket(ticket),
                form,
                packet_id: id(packet_id),
            },
            Notice::Done { ticket } => Change::Done {
                ticket: Ticket(ticket),
            },
            Notice::Qos2Received(packet_id) => Change::Qos2Received(id(packet_id)?),
            Notice::Qos2Released(packet_id) => Change::Qos2Released(id(packet_id)?),
            Notice::Qos2Cleared => Change::Qos2Cleared,
            Notice::Identity => self.identity()?,
            Notice::None => return None,
        })
    }

    /// Where the message `ticket`, noted at `pos`, is now (compaction may have moved it since the notice).
    fn message_pos(&self, ticket: u32, pos: u32) -> Option<usize> {
        let pos = pos as usize;
        let ring = self.store.ring();
        match self.outbox.header(ring, pos) {
            Some(h)
                if h.ticket == ticket && h.state != Out::Done && pos < self.store.ring_len() =>
            {
                Some(pos)
            }
            _ => self.find_ticket(Ticket(ticket)).map(|(pos, _)| pos),
        }
    }

    /// The record of the message at `pos`.
    fn message_at(&self, pos: usize) -> Option<Change<'_>> {
        let ring = self.store.ring();
        let h = self.outbox.header(ring, pos)?;
        if h.qos == QoS::AtMostOnce {
            return None;
        }
        Some(Change::Message {
            ticket: Ticket(h.ticket),
            qos: h.qos,
            v5: h.v5,
            form: Form::of(&h)?,
            packet_id: h.packet_id,
            packet: self.outbox.packet(ring, pos),
        })
    }

    /// The live message with this ticket.
    fn find_ticket(&self, ticket: Ticket) -> Option<(usize, Header)> {
        let ring = self.store.ring();
        let mut pos = self.outbox.first();
        while let Some(p) = pos {
            if let Some(h) = self.outbox.header(ring, p)
                && h.ticket == ticket.0
                && h.state != Out::Done
                && h.qos != QoS::AtMostOnce
            {
                return Some((p, h));
            }
            pos = self.outbox.next(ring, p);
        }
        None
    }

    fn identity(&self) -> Option<Change<'_>> {
        let Ok(Some((Packet::Connect(connect), _))) =
            codec::decode(self.store.connect(), self.version, u32::MAX)
        else {
            return None;
        };
        (!connect.client_id.is_empty()).then_some(Change::Identity {
            client_id: connect.client_id,
            assigned: self.store.assigned_client_id().is_some(),
        })
    }

    fn subscription_list(&self) -> SubscriptionList<'_> {
        SubscriptionList::of_table(&self.subscriptions, &self.subscriptions_buf)
    }

    fn restore_identity(&mut self, client_id: &str, assigned: bool) -> Result<(), RestoreError> {
        let configured = match self.identity() {
            Some(Change::Identity { client_id, .. }) => Some(client_id),
            _ => None,
        };
        match (configured, assigned) {
            // The configured identifier is empty: take the one the broker assigned before.
            (None, true) => {
                self.store.adopt_client_id(client_id, self.version);
                Ok(())
            }
            (Some(configured), _) if configured == client_id => Ok(()),
            _ => Err(RestoreError::OtherClient),
        }
    }

    fn restore_message(
        &mut self,
        ticket: Ticket,
        qos: QoS,
        v5: bool,
        form: Form,
        packet_id: Option<PacketId>,
        packet: &[u8],
    ) -> Result<(), RestoreError> {
        let stored_version = if v5 {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V311
        };
        let publish = match codec::decode(packet, stored_version, u32::MAX) {
            Ok(Some((Packet::Publish(publish), _))) => publish,
            Ok(Some(_)) => return Err(RestoreError::Malformed("stored message is not a PUBLISH")),
            Ok(None) => return Err(RestoreError::Malformed("stored message is cut short")),
            Err(e) => return Err(RestoreError::Packet(e)),
        };
        if publish.qos != qos {
            return Err(RestoreError::Malformed("stored message QoS"));
        }
        // Tickets grow with each message: only one below the next ticket can be stored twice.
        if ticket.0 < self.next_ticket
            && let Some((pos, _)) = self.find_ticket(ticket)
        {
            // Stored again (a snapshot taken while its record waited): the latest wins.
            let ring = self.store.ring_mut();
            self.outbox.advance_cursor(ring, pos);
            self.outbox.advance_report(ring, pos);
            self.outbox.complete(ring, pos);
        }
        // A message stored in 3.1.1 form is written again in 5.0 form for a 5.0 session; one in 5.0 form stays
        // as it is in a 3.1.1 session (it goes out downgraded, or fails if it has properties).
        let (version, v5) = match (stored_version, self.version) {
            (ProtocolVersion::V311, ProtocolVersion::V5) => (ProtocolVersion::V5, true),
            _ => (stored_version, v5),
        };
        let stored = Publish {
            dup: false,
            packet_id: Some(PacketId::MIN),
            ..publish
        };
        let size = Packet::Publish(stored).encoded_len(version);
        let write = |buf: &mut [u8]| Packet::Publish(stored).encode(version, buf) == Ok(size);
        let ring = self.store.ring_mut();
        let mut pushed = self.outbox.push_at(ring, qos, v5, ticket.0, size, write);
        if pushed.is_none() && self.outbox.has_tombstones() {
            self.outbox.compact(ring, |_, _| {});
            pushed = self.outbox.push_at(ring, qos, v5, ticket.0, size, write);
        }
        let Some(pos) = pushed else {
            return Err(RestoreError::QueueFull);
        };
        if self.next_ticket <= ticket.0 {
            self.next_ticket = ticket.0.checked_add(1).unwrap_or(1);
        }
        if let Some(h) = self.outbox.header(self.store.ring(), pos) {
            self.restore_form(pos, h, form, packet_id);
        }
        Ok(())
    }

    /// Gives the restored message at `pos` the state its form stands for between two connections.
    fn restore_form(&mut self, pos: usize, mut h: Header, form: Form, packet_id: Option<PacketId>) {
        h.packet_id = packet_id;
        h.dup = false;
        h.state = match form {
            Form::Queued => {
                h.packet_id = None;
                Out::Queued
            }
            Form::Sent => Out::Sent,
            Form::Released => Out::ReleasePending,
            Form::Lost => Out::ReportLost,
            Form::Accepted => Out::ReportAccepted,
            Form::Abandoned => Out::Abandoned,
        };
        let ring = self.store.ring_mut();
        if let Some(id) = h.packet_id {
            // The identifier is the message's own: write it into the stored PUBLISH.
            let record = ring
                .get_mut(pos + super::outbox::HEADER..pos + super::outbox::HEADER + h.len)
                .unwrap_or_default();
            codec::patch_publish(record, false, id);
        }
        self.outbox.set_header(ring, pos, &h);
        if matches!(form, Form::Lost | Form::Accepted) {
            let first = self.outbox.first();
            self.outbox.set_report(first);
        }
    }

    fn restore_subscriptions_from(
        &mut self,
        list: SubscriptionList<'_>,
    ) -> Result<(), RestoreError> {
        self.subscriptions
            .retain(&mut self.subscriptions_buf, |_, _| false);
        for s in list.iter() {
            let state = match s.pending {
                true => subscriptions::State::SubscribeQueued,
                false => subscriptions::State::Active,
            };
            let ticket = Ticket::RESUBSCRIBE.0;
            if !self.subscriptions.push(
                &mut self.subscriptions_buf,
                s.filter,
                s.options,
                state,
                ticket,
                s.subscription_id,
            ) {
                return Err(RestoreError::SubscriptionsFull);
            }
            self.subscriptions
                .set_granted_of_last(&mut self.subscriptions_buf, s.granted);
        }
        self.subscriptions.take_changed();
        let fingerprint = self.subscription_list().fingerprint();
        self.subscriptions.store_fingerprint(fingerprint);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
