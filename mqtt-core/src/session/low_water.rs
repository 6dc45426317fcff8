//! [`Session::read_low_water`]: how many bytes are worth a wake-up while the session waits only for the
//! acknowledgements of its own messages.
//!
//! A publisher faster than its broker keeps its window full: every acknowledgement that comes back frees one slot,
//! and a driver woken for each would send one message per wake-up (one read, one write, one sleep per message).
//! Until enough acknowledgements have come to send a batch, reading them one by one gains nothing. The session
//! knows a lower bound of what the broker owes it (one packet of at least 4 bytes per message in flight), so it
//! can tell the transport to report readable only once part of that has arrived: a socket's receive low-water
//! mark (`SO_RCVLOWAT`), which the broker's end of the connection (FIN, reset) passes whatever it is set to.
//! The part is an eighth of the window: a QoS 2 message needs our PUBREL after its PUBREC before the broker
//! delivers it, so waiting for more (half the window: a fifth less throughput through mosquitto at QoS 2) holds
//! the broker up; an eighth keeps it busy and still saves seven wake-ups in eight.
//!
//! The mark is above one byte only when waiting longer cannot hold anything up: the session is connected and
//! sends nothing, its window is full with messages queued behind it, and it waits for no other answer (no
//! PINGRESP, no SUBACK or UNSUBACK, no AUTH exchange). Anything else the broker sends meanwhile (a message for a
//! subscription) waits at most until the acknowledgements owed arrive, and counts towards the mark.
//!
//! A subscriber under a flood gets one wake-up per message the broker writes, for no reason of its own: it is
//! faster than the broker. With read batching ([`Config::read_batch_bytes`](crate::Config::read_batch_bytes)),
//! once a flood shows (that many bytes within the batch delay, in reads that each found several messages waiting,
//! none of them a QoS 1 or 2 message, whose acknowledgements the broker waits for), the mark rises to the batch
//! size, and a timer bounds the wait: the read after a batch that did not fill comes at the delay. The first read
//! that finds less than a batch ends it. Request/response traffic, however fast, brings one message per read and
//! never starts a batch.

use core::time::Duration;

use super::{Session, SessionState, Timer};
use crate::time::Instant;

/// Read batching's state.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Batch {
    /// Since when, and how many bytes, the reads have brought while not batching.
    window: Option<(Instant, usize)>,
    /// A QoS 1 or 2 message arrived since the last read was noted: the broker waits for its acknowledgement.
    pub(super) acknowledged_traffic: bool,
    /// Bytes of QoS 0 messages since the last read was noted: what starts a batch (acknowledgements, which a
    /// publisher is owed a bounded number of, do not).
    messages: usize,
    /// How many QoS 0 messages since the last read was noted.
    count: usize,
}

impl Batch {
    /// A QoS 0 message arrived.
    pub(super) fn note_message(&mut self, publish: &crate::codec::Publish<'_>) {
        let size = publish.topic.len() + publish.payload.len() + 4;
        self.messages = self.messages.saturating_add(size);
        self.count = self.count.saturating_add(1);
    }
}

/// The shortest acknowledgement (PUBACK, PUBREC or PUBCOMP): fixed header, remaining length, packet identifier;
/// 3.1.1 and 5.0 alike (5.0 may add a reason code and properties, never fewer bytes).
const ACK_LEN: usize = 4;

impl Session<'_> {
    /// Bytes that must have arrived before reading is worth a wake-up: 1 (any), except while the session waits
    /// for nothing but the acknowledgements of its own messages and cannot send until they come (its window is
    /// full, messages are queued behind it). Then it is part of what the broker owes at least: 4 bytes (the
    /// shortest acknowledgement) for each of an eighth of the messages in flight, so that a batch of messages goes
    /// out per wake-up instead of one.
    ///
    /// A driver gives it to the transport before it waits to read (a socket's `SO_RCVLOWAT`; transports that
    /// cannot take it ignore it, which is always correct). Calls that change it: everything that changes what the
    /// session sends or awaits ([`commit_read`](Self::commit_read), [`poll_transmit`](Self::poll_transmit),
    /// [`publish`](Self::publish), [`subscribe`](Self::subscribe), [`handle_timeout`](Self::handle_timeout), ...).
    ///
    /// With read batching ([`Config::read_batch_bytes`](crate::Config::read_batch_bytes)), at least the batch
    /// size while a batch is under way (see [`note_read`](Self::note_read)).
    ///
    /// Always 1 without the `low-water` feature.
    pub fn read_low_water(&self) -> usize {
        if !cfg!(feature = "low-water") {
            return 1;
        }
        let batching = self.batching().then_some(self.settings.read_batch_bytes);
        self.owed_low_water().max(batching.unwrap_or(1))
    }

    /// Whether a read batch is under way: its timer runs.
    fn batching(&self) -> bool {
        self.timers
            .get(Timer::ReadBatch as usize)
            .is_some_and(Option::is_some)
    }

    /// The transport cannot apply a read low-water mark: ends a read batch under way (its driver then stops
    /// calling [`note_read`](Self::note_read) for the connection, so that none starts again). Without it, a batch
    /// would only add a timer's wake-ups.
    pub fn stop_read_batch(&mut self) {
        self.end_batch();
    }

    /// Ends read batching: the reads take every byte again.
    pub(super) fn end_batch(&mut self) {
        self.set_timer(Timer::ReadBatch, None);
        self.batch = Batch::default();
    }

    /// Tells the session that one read of the transport returned `bytes` bytes, once they were given to it
    /// ([`commit_read`](Self::commit_read) or [`handle_bytes`](Self::handle_bytes)) and its events taken: read
    /// batching ([`Config::read_batch_bytes`](crate::Config::read_batch_bytes)) starts when the reads bring a batch
    /// of QoS 0 messages within the batch delay, goes on while each read brings a batch, and ends at the first
    /// read that brings less, or at a QoS 1 or 2 message. Does nothing without read batching (or the `low-water`
    /// feature).
    pub fn note_read(&mut self, bytes: usize, now: Instant) {
        let size = self.settings.read_batch_bytes;
        let delay: Duration = self.settings.read_batch_delay;
        // The session's clock counts milliseconds: a shorter delay would be no wait at all.
        if size == 0 || delay < Duration::from_millis(1) || !cfg!(feature = "low-water") {
            return;
        }
        let acknowledged = core::mem::take(&mut self.batch.acknowledged_traffic);
        // Only reads that found several messages waiting show a flood: request/response traffic, however fast,
        // brings one message per read, and must never wait for a batch.
        let messages = match core::mem::take(&mut self.batch.count) {
            0 | 1 => 0,
            _ => core::mem::take(&mut self.batch.messages),
        };
        self.batch.messages = 0;
        if acknowledged || self.state != SessionState::Connected {
            self.end_batch();
            return;
        }
        if self.batching() {
            match bytes >= size {
                true => self.set_timer(Timer::ReadBatch, Some(now + delay)),
                false => self.end_batch(),
            }
            return;
        }
        let (start, total) = match self.batch.window {
            Some((start, total)) if now.saturating_duration_since(start) <= delay => {
                (start, total.saturating_add(messages))
            }
            _ => (now, messages),
        };
        if total >= size {
            self.batch.window = None;
            self.set_timer(Timer::ReadBatch, Some(now + delay));
        } else {
            self.batch.window = Some((start, total));
        }
    }

    /// The mark for the acknowledgements owed to a publisher whose window is full (see the module docs).
    fn owed_low_water(&self) -> usize {
        if self.state != SessionState::Connected
            || self.ping_outstanding
            || self.wants_write()
            || self.is_reauthenticating()
            || !self.window_blocked()
            || self.awaits_answers()
        {
            return 1;
        }
        (usize::from(self.inflight) / 8 * ACK_LEN).max(1)
    }
}

/// What a driver keeps per connection for read low-water marks: the reads since the session last heard of them,
/// the mark the transport has, and whether the transport applies marks at all. The async
/// [`Driver`](crate::driver::Driver) and mqtt-blocking's loop use it the same way: [`read`](Self::read) after
/// each read of the transport, [`before_read_wait`](Self::before_read_wait) before waiting to read, a new one for
/// each connection.
#[derive(Debug, Clone, Copy)]
pub struct ReadMarks {
    /// The mark the transport has (1 on a new connection).
    applied: usize,
    /// Bytes read since the session last heard of them.
    read: usize,
    /// The transport applies marks (until it refuses one): read batching is worth it.
    applies: bool,
}

impl Default for ReadMarks {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadMarks {
    /// For a new connection: its mark is one byte.
    pub const fn new() -> Self {
        Self {
            applied: 1,
            read: 0,
            applies: true,
        }
    }

    /// A read of the transport returned `bytes` bytes.
    pub fn read(&mut self, bytes: usize) {
        self.read = self.read.saturating_add(bytes);
    }

    /// Before the driver waits to read, once the session has what was read and its events are taken: tells the
    /// session of the reads ([`Session::note_read`]) and, when nothing is left to write (`written`: the broker
    /// owes acknowledgements only for what it was sent), gives the transport the session's
    /// [`read_low_water`](Session::read_low_water) through `set` if it changed. `set` returns whether the
    /// transport applied it; one that does not ends read batching for the connection
    /// ([`Session::stop_read_batch`]).
    pub fn before_read_wait(
        &mut self,
        session: &mut Session<'_>,
        now: Instant,
        written: bool,
        set: impl FnOnce(usize) -> bool,
    ) {
        let read = core::mem::take(&mut self.read);
        if read > 0 && self.applies {
            session.note_read(read, now);
        }
        if !written {
            return;
        }
        let low_water = session.read_low_water();
        if low_water != self.applied {
            if !set(low_water) && self.applies {
                self.applies = false;
                session.stop_read_batch();
            }
            self.applied = low_water;
        }
    }
}
