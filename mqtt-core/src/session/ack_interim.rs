//! INTERIM (replaced by the manual-acknowledgement work of the `session-acks` branch): the acknowledgement API the
//! std client is written against, with today's behaviour (messages are acknowledged when processed).

use super::{Event, Session};
use crate::time::Instant;

/// The acknowledgement an incoming QoS 1 or 2 message owes the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckToken(());

impl Session<'_> {
    /// The next event, with the acknowledgement a message owes.
    pub fn poll_event_acked(&mut self) -> Option<(Event<'_>, Option<AckToken>)> {
        self.poll_event().map(|event| (event, None))
    }

    /// Acknowledges a message the application has taken.
    pub fn ack(&mut self, token: AckToken, now: Instant) {
        let _ = (token, now);
    }
}
