//! Poison messages: a message the broker will never take (a 3.1.1 broker closes the connection on one larger
//! than it accepts) would be sent again on every connection, and nothing behind it would go out. Each connection
//! that ends without the application asking gives the oldest message in flight a strike; at
//! [`Config::poison_threshold`](crate::Config::poison_threshold) strikes it fails with
//! [`PublishFailure::Poison`] and the queue moves on.

use super::event::OwnedEvent;
use super::{Partial, PublishFailure, Session, Ticket, outbox};
use crate::codec::QoS;

impl Session<'_> {
    /// A connection ended without the application asking: the oldest message in flight without an
    /// acknowledgement (or a QoS 0 message being written) takes a strike, and fails as a poison message once it
    /// has as many in a row as the configuration allows. Later messages are not blamed: the broker handles a
    /// connection's messages in order, so the first one it did not acknowledge is the suspect.
    pub(super) fn blame_oldest_unacknowledged(&mut self) {
        let threshold = self.settings.poison_threshold;
        // Room for the failure and for the loss and reconnect events that follow it.
        if threshold == 0 || self.events.free() < 3 {
            return;
        }
        let writing = match self.partial {
            Some(Partial::Record { pos, .. }) => Some(pos),
            _ => None,
        };
        let ring = self.store.ring_mut();
        let mut pos = self.outbox.first();
        while let Some(p) = pos {
            let Some(mut h) = self.outbox.header(ring, p) else {
                return;
            };
            if h.state == outbox::State::Sent || writing == Some(p) {
                h.strikes = h.strikes.saturating_add(1).min(outbox::MAX_STRIKES);
                self.outbox.set_header(ring, p, &h);
                if h.strikes >= threshold {
                    self.events.push(OwnedEvent::PublishFailed(
                        Ticket(h.ticket),
                        PublishFailure::Poison {
                            connections: h.strikes,
                        },
                    ));
                    if writing == Some(p) {
                        self.partial = None;
                    }
                    if h.qos == QoS::ExactlyOnce && h.state == outbox::State::Sent {
                        // The broker may hold its identifier awaiting PUBREL: release it before it is reused.
                        h.state = outbox::State::Abandon;
                        self.outbox.set_header(ring, p, &h);
                    } else {
                        self.outbox.advance_cursor(ring, p);
                        self.outbox.complete(ring, p);
                    }
                }
                return;
            }
            pos = self.outbox.next(ring, p);
        }
    }
}
