//! Poison messages: a message the broker will never take (a 3.1.1 broker closes the connection on one larger
//! than it accepts) would be sent again on every connection, and nothing behind it would go out. Each connection
//! that ends without the application asking gives the oldest message in flight a strike; at
//! [`Config::poison_threshold`](crate::Config::poison_threshold) strikes it fails with
//! [`PublishFailure::Poison`] and the queue moves on.
//!
//! Requests the same way: a 3.1.1 broker has no DISCONNECT to say which SUBSCRIBE it will not take (ejabberd
//! closes the connection over a `$share/` filter), so the oldest SUBSCRIBE or UNSUBSCRIBE sent and unanswered
//! takes a strike with each such connection, and at the threshold fails with `0x80` (3.1.1's SUBACK failure)
//! instead of being sent again on every connection, forever.

use super::event::OwnedEvent;
use super::subscriptions::State as Sub;
use super::{Partial, PublishFailure, Session, Ticket, outbox};
use crate::codec::{QoS, ReasonCode};

/// Which request a strike is for: its ticket, state and 5.0 Subscription Identifier (the entries of one request).
pub(super) type RequestKey = (u32, Sub, u32);

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

    /// A connection ended without the application asking: the oldest SUBSCRIBE or UNSUBSCRIBE sent without an
    /// answer takes a strike (strikes count connections in a row with that same request unanswered), and fails
    /// with [`ReasonCode::UNSPECIFIED_ERROR`] at the poison threshold: the broker closed the connection over it
    /// that many times. Requests go out in the order they were made and the broker handles them in order, so the
    /// oldest unanswered one is the suspect.
    pub(super) fn blame_oldest_request(&mut self) {
        let threshold = self.settings.poison_threshold;
        // Room for the failure and for the loss and reconnect events that follow it.
        if threshold == 0 || self.events.free() < 3 {
            return;
        }
        let mut suspect = None;
        let mut pos = self.subscriptions.first();
        while let Some(p) = pos {
            if let Some((entry, _)) = self.subscriptions.get(&self.subscriptions_buf, p)
                && matches!(entry.state, Sub::SubscribeSent | Sub::UnsubscribeSent)
            {
                suspect = Some((entry.ticket, entry.state, entry.subscription_id));
                break;
            }
            pos = self.subscriptions.next(&self.subscriptions_buf, p);
        }
        let Some(key) = suspect else {
            self.request_strikes = None;
            return;
        };
        let strikes = match self.request_strikes {
            Some((blamed, strikes)) if blamed == key => strikes.saturating_add(1),
            _ => 1,
        };
        if strikes >= threshold {
            self.request_strikes = None;
            let (ticket, state, subscription_id) = key;
            self.fail_request(
                ticket,
                state,
                subscription_id,
                ReasonCode::UNSPECIFIED_ERROR,
            );
        } else {
            self.request_strikes = Some((key, strikes));
        }
    }
}
