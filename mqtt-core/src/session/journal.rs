//! The journal of changes a persistent store must learn of (feature `persist`): a small FIFO of notices, in the
//! order the changes happened, that [`Session::poll_persist`](super::Session::poll_persist) turns into records.
//!
//! A notice is small and fixed-size: it names what changed (a message accepted, its packet identifier or state, its
//! end, an incoming QoS 2 identifier) and, for a new message, where its bytes are in the outbox ring; the record is
//! rendered from the session's memory when the binding takes it. The journal lives with the outbox, whose methods
//! note their own changes (`push`, `set_header`, `complete`, `compact`), so that no caller of the outbox has to.
//!
//! Without the feature the journal is an empty type whose methods do nothing, and the outbox's own notes are
//! compiled out: firmware that does not persist pays nothing for it.
#![cfg_attr(not(feature = "persist"), allow(dead_code, unreachable_pub))]

use super::outbox::{Header, State};

/// Notices the journal holds; more overflow it (the store then takes a snapshot).
#[cfg(feature = "persist")]
pub(crate) const NOTICES: usize = 64;

/// What a persisted message's state says about it after a restart: the part of the outbox state that outlives a
/// process. The states of one connection (sent on this one or an earlier one, PUBREL sent or to send) look alike
/// here, as they do after any reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Form {
    /// Accepted, no packet identifier yet: never sent.
    #[default]
    Queued = 0,
    /// A packet identifier was given: the PUBLISH may have gone out (it goes again with DUP).
    Sent = 1,
    /// PUBREC arrived: PUBREL goes (again) until PUBCOMP.
    Released = 2,
    /// The broker lost the session before acknowledging it: to be reported as failed.
    Lost = 3,
    /// The broker lost the session after PUBREC: to be reported as delivered.
    Accepted = 4,
    /// A QoS 2 message given up as poison before PUBREC: PUBREL frees its identifier, nothing is reported.
    Abandoned = 5,
}

impl Form {
    /// The form of an outbox record's header; `None` for a finished record.
    pub(crate) fn of(header: &Header) -> Option<Self> {
        Some(match header.state {
            State::Queued if header.packet_id.is_none() => Self::Queued,
            State::Queued | State::Sent => Self::Sent,
            State::Released | State::ReleasePending | State::Rereleased => Self::Released,
            State::ReportLost => Self::Lost,
            State::ReportAccepted => Self::Accepted,
            State::Abandon | State::Abandoned => Self::Abandoned,
            State::Done => return None,
        })
    }

    /// The form stored as `byte`.
    pub(crate) fn from_u8(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Queued,
            1 => Self::Sent,
            2 => Self::Released,
            3 => Self::Lost,
            4 => Self::Accepted,
            5 => Self::Abandoned,
            _ => return None,
        })
    }

    /// Whether the change to this form must be durable before the session sends anything (the packet it leads
    /// to: a PUBLISH with this identifier, a PUBREL).
    #[cfg(feature = "persist")]
    fn is_barrier(self) -> bool {
        !matches!(self, Self::Lost | Self::Accepted)
    }
}

/// One change, as the journal keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Notice {
    /// Nothing (an empty slot).
    #[default]
    None,
    /// A QoS 1 or 2 message was accepted; its record was at `pos` in the ring.
    Message { ticket: u32, pos: u32 },
    /// A message's form or packet identifier changed (0: none).
    State {
        ticket: u32,
        form: Form,
        packet_id: u16,
    },
    /// A message is finished and leaves the store.
    Done { ticket: u32 },
    /// An incoming QoS 2 identifier whose PUBREC is due: it stays until PUBREL.
    Qos2Received(u16),
    /// An incoming QoS 2 identifier left the table (PUBREL, or a message dropped before its PUBREC).
    Qos2Released(u16),
    /// The QoS 2 table was emptied (the broker lost the session).
    Qos2Cleared,
    /// The client identifier in use changed (the broker assigned one).
    Identity,
}

impl Notice {
    /// Whether nothing may be sent until this change is durable.
    #[cfg(feature = "persist")]
    fn is_barrier(self) -> bool {
        match self {
            Self::State { form, .. } => form.is_barrier(),
            Self::Qos2Received(_) | Self::Qos2Released(_) | Self::Qos2Cleared | Self::Identity => {
                true
            }
            Self::None | Self::Message { .. } | Self::Done { .. } => false,
        }
    }
}

/// The notice a header change makes, if the change outlives a process.
#[cfg(feature = "persist")]
pub(crate) fn header_change(old: Option<&Header>, new: &Header) -> Option<Notice> {
    if new.qos == crate::codec::QoS::AtMostOnce {
        return None;
    }
    let ticket = new.ticket;
    let Some(form) = Form::of(new) else {
        return Some(Notice::Done { ticket });
    };
    let packet_id = new.packet_id.map_or(0, |id| id.get());
    let unchanged = old.is_some_and(|old| {
        Form::of(old) == Some(form) && old.packet_id.map_or(0, |id| id.get()) == packet_id
    });
    (!unchanged).then_some(Notice::State {
        ticket,
        form,
        packet_id,
    })
}

/// The journal: see the [module docs](self).
#[cfg(feature = "persist")]
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    /// Off until the binding turns persistence on: nothing is noted, nothing is held back.
    enabled: bool,
    notices: [Notice; NOTICES],
    head: usize,
    len: usize,
    /// Sequence number of the latest notice (counting those lost to an overflow).
    pushed: u64,
    /// Sequence number of the latest notice handed to the binding.
    taken: u64,
    /// What the binding said is durable.
    confirmed: u64,
    /// Sequence number of the latest notice that holds back what the session sends.
    barrier: u64,
    /// Notices were lost for want of room: the binding must take a snapshot.
    overflowed: bool,
}

#[cfg(feature = "persist")]
impl Default for Journal {
    fn default() -> Self {
        Self {
            enabled: false,
            notices: [Notice::None; NOTICES],
            head: 0,
            len: 0,
            pushed: 0,
            taken: 0,
            confirmed: 0,
            barrier: 0,
            overflowed: false,
        }
    }
}

#[cfg(feature = "persist")]
impl Journal {
    pub(crate) fn enable(&mut self) {
        self.enabled = true;
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Notes a change. A full journal overflows: the notice is lost and the binding must take a snapshot.
    pub(crate) fn note(&mut self, notice: Notice) {
        if !self.enabled {
            return;
        }
        self.pushed += 1;
        if notice.is_barrier() {
            self.barrier = self.pushed;
        }
        if self.overflowed || self.len == NOTICES {
            self.overflowed = true;
            return;
        }
        if let Some(slot) = self.notices.get_mut((self.head + self.len) % NOTICES) {
            *slot = notice;
            self.len += 1;
        }
    }

    /// Room for this many notices before an overflow (always enough while disabled).
    pub(crate) fn free(&self) -> usize {
        match self.enabled {
            true => NOTICES - self.len,
            false => NOTICES,
        }
    }

    /// Takes the oldest notice.
    pub(crate) fn take(&mut self) -> Option<Notice> {
        if self.len == 0 {
            return None;
        }
        let notice = self.notices.get(self.head).copied()?;
        self.head = (self.head + 1) % NOTICES;
        self.len -= 1;
        self.taken = self.pushed - self.len as u64;
        Some(notice)
    }

    /// The store lost changes (a write failed): the next thing to store is a snapshot.
    pub(crate) fn force_snapshot(&mut self) {
        self.overflowed = self.enabled;
    }

    /// Whether notices were lost: the next thing to store is a snapshot.
    pub(crate) fn has_overflowed(&self) -> bool {
        self.overflowed
    }

    /// A snapshot of the whole state is taken now: it covers every notice so far, which are dropped.
    pub(crate) fn start_over(&mut self) -> u64 {
        self.head = 0;
        self.len = 0;
        self.overflowed = false;
        self.taken = self.pushed;
        self.taken
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0 && !self.overflowed
    }

    pub(crate) fn taken(&self) -> u64 {
        self.taken
    }

    pub(crate) fn pushed(&self) -> u64 {
        self.pushed
    }

    pub(crate) fn confirmed(&self) -> u64 {
        self.confirmed
    }

    pub(crate) fn confirm(&mut self, mark: u64) {
        self.confirmed = self.confirmed.max(mark.min(self.taken));
    }

    /// Whether the session must send nothing: a change that what it sends depends on is not durable yet.
    pub(crate) fn blocks(&self) -> bool {
        self.enabled && self.barrier > self.confirmed
    }

    /// A record moved in the ring (compaction): notices that point at it follow.
    pub(crate) fn moved(&mut self, from: usize, to: usize) {
        for i in 0..self.len {
            if let Some(Notice::Message { pos, .. }) =
                self.notices.get_mut((self.head + i) % NOTICES)
                && *pos as usize == from
            {
                *pos = u32::try_from(to).unwrap_or(u32::MAX);
            }
        }
    }
}

/// Without the feature: nothing is noted and nothing is held back.
#[cfg(not(feature = "persist"))]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Journal;

#[cfg(not(feature = "persist"))]
impl Journal {
    #[inline(always)]
    pub(crate) fn note(&mut self, _: Notice) {}

    #[inline(always)]
    pub(crate) fn free(&self) -> usize {
        usize::MAX
    }

    #[inline(always)]
    pub(crate) fn blocks(&self) -> bool {
        false
    }

    #[inline(always)]
    pub(crate) fn moved(&mut self, _: usize, _: usize) {}
}
