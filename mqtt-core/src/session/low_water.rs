//! [`Session::read_low_water`]: how many bytes are worth a wake-up while the session waits only for the
//! acknowledgements of its own messages.
//!
//! A publisher faster than its broker keeps its window full: every acknowledgement that comes back frees one slot,
//! and a driver woken for each would send one message per wake-up (one read, one write, one sleep per message).
//! Until enough acknowledgements have come to send a batch, reading them one by one gains nothing. The session
//! knows a lower bound of what the broker owes it (one packet of at least 4 bytes per message in flight), so it
//! can tell the transport to report readable only once part of that has arrived: a socket's receive low-water
//! mark (`SO_RCVLOWAT`), which the broker's end of the connection (FIN, reset) passes whatever it is set to.
//!
//! The mark is above one byte only when waiting longer cannot hold anything up: the session is connected and
//! sends nothing, its window is full with messages queued behind it, and it waits for no other answer (no
//! PINGRESP, no SUBACK or UNSUBACK, no AUTH exchange). Anything else the broker sends meanwhile (a message for a
//! subscription) waits at most until the acknowledgements owed arrive, and counts towards the mark.

use super::{Session, SessionState};

/// The shortest acknowledgement (PUBACK, PUBREC or PUBCOMP): fixed header, remaining length, packet identifier;
/// 3.1.1 and 5.0 alike (5.0 may add a reason code and properties, never fewer bytes).
const ACK_LEN: usize = 4;

impl Session<'_> {
    /// Bytes that must have arrived before reading is worth a wake-up: 1 (any), except while the session waits
    /// for nothing but the acknowledgements of its own messages and cannot send until they come (its window is
    /// full, messages are queued behind it). Then it is half of what the broker owes at least: 4 bytes (the
    /// shortest acknowledgement) for each of half the messages in flight, so that a batch of messages goes out per wake-up instead of one.
    ///
    /// A driver gives it to the transport before it waits to read (a socket's `SO_RCVLOWAT`; transports that
    /// cannot take it ignore it, which is always correct). Calls that change it: everything that changes what the
    /// session sends or awaits ([`commit_read`](Self::commit_read), [`poll_transmit`](Self::poll_transmit),
    /// [`publish`](Self::publish), [`subscribe`](Self::subscribe), [`handle_timeout`](Self::handle_timeout), ...).
    pub fn read_low_water(&self) -> usize {
        if self.state != SessionState::Connected
            || self.ping_outstanding
            || self.wants_write()
            || self.is_reauthenticating()
            || !self.window_blocked()
            || self.awaits_answers()
        {
            return 1;
        }
        (usize::from(self.inflight) / 2 * ACK_LEN).max(1)
    }
}
