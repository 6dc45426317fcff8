//! What the broker does not support: subscriptions refused locally from what CONNACK announced, and requests
//! failed when the broker closes the connection over them, so that none is replayed forever.

use super::event::OwnedEvent;
use super::subscriptions::{Entry, State as Sub};
use super::{Session, Ticket};
use crate::codec::{ReasonCode, Subscription, SubscriptionId};
use crate::error::SubscribeError;
use crate::topic;

/// Room kept in the event queue for the loss that follows (`ConnectionLost`, then `Reconnecting` or `GaveUp`).
const EVENTS_KEPT: usize = 3;

fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

impl Session<'_> {
    /// Refuses, typed, a subscription the connected 5.0 broker said in CONNACK it does not support: shared
    /// subscriptions (Shared Subscription Available = 0), wildcards (Wildcard Subscription Available = 0),
    /// subscription identifiers (Subscription Identifiers Available = 0). `[MQTT-3.2.2.3.11]` to
    /// `[MQTT-3.2.2.3.13]`
    ///
    /// While disconnected nothing is refused here: the request is checked against the next CONNACK before it is
    /// sent, and fails with an event if the broker does not support it.
    pub(super) fn check_supported(
        &self,
        subscriptions: &[Subscription<'_>],
        id: Option<SubscriptionId>,
    ) -> Result<(), SubscribeError> {
        if id.is_some() && !self.server.subscription_ids_available {
            return Err(SubscribeError::SubscriptionIdsNotSupported);
        }
        if !self.is_connected() || !self.version.is_v5() {
            return Ok(());
        }
        for s in subscriptions {
            if topic::is_shared(s.filter) && !self.server.shared_available {
                return Err(SubscribeError::SharedNotSupported);
            }
            if has_wildcard(s.filter) && !self.server.wildcards_available {
                return Err(SubscribeError::WildcardsNotSupported);
            }
        }
        Ok(())
    }

    /// The failure code a queued SUBSCRIBE entry gets because the broker of this connection announced it does not
    /// support what it asks for; `None` if it is supported.
    pub(super) fn unsupported(&self, entry: &Entry, filter: &str) -> Option<ReasonCode> {
        if !self.version.is_v5() || entry.state != Sub::SubscribeQueued {
            return None;
        }
        if topic::is_shared(filter) && !self.server.shared_available {
            Some(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED)
        } else if has_wildcard(filter) && !self.server.wildcards_available {
            Some(ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED)
        } else if entry.subscription_id != 0 && !self.server.subscription_ids_available {
            Some(ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED)
        } else {
            None
        }
    }

    /// Removes the request `ticket` in `state` with `subscription_id` from the table and reports it failed with
    /// `reason` for every filter. `false` if the event queue has no room (nothing changed).
    pub(super) fn fail_request(
        &mut self,
        ticket: u32,
        state: Sub,
        subscription_id: u32,
        reason: ReasonCode,
    ) -> bool {
        if self.events.free() == 0 {
            return false;
        }
        let mut filters = 0;
        self.subscriptions
            .retain(&mut self.subscriptions_buf, |entry, _| {
                let member = entry.ticket == ticket
                    && entry.state == state
                    && entry.subscription_id == subscription_id;
                filters += usize::from(member);
                !member
            });
        self.events.push(OwnedEvent::RequestFailed {
            ticket: Ticket(ticket),
            reason,
            filters,
            subscribe: matches!(state, Sub::SubscribeQueued | Sub::SubscribeSent),
        });
        true
    }

    /// The broker closed the connection with a DISCONNECT whose reason is about a SUBSCRIBE or UNSUBSCRIBE in
    /// flight (5.0 allows this instead of a failure code in SUBACK): fails those requests with the reason instead
    /// of sending them again after the reconnect, which would only repeat the disconnection.
    ///
    /// | reason | requests failed |
    /// |---|---|
    /// | `0x9E` Shared Subscriptions not supported | SUBSCRIBE with a `$share/` filter |
    /// | `0xA2` Wildcard Subscriptions not supported | SUBSCRIBE with a wildcard filter |
    /// | `0xA1` Subscription Identifiers not supported | SUBSCRIBE with a subscription identifier |
    /// | `0x8F` Topic Filter invalid | every SUBSCRIBE and UNSUBSCRIBE |
    pub(super) fn fail_requests_over(&mut self, reason: ReasonCode) {
        let concerns = |entry: &Entry, filter: &str| {
            let subscribe = entry.state == Sub::SubscribeSent;
            let sent = subscribe || entry.state == Sub::UnsubscribeSent;
            sent && match reason {
                ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED => {
                    subscribe && topic::is_shared(filter)
                }
                ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED => {
                    subscribe && has_wildcard(filter)
                }
                ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED => {
                    subscribe && entry.subscription_id != 0
                }
                ReasonCode::TOPIC_FILTER_INVALID => true,
                _ => false,
            }
        };
        while self.events.free() > EVENTS_KEPT {
            let mut found = None;
            let mut pos = self.subscriptions.first();
            while let Some(p) = pos {
                if let Some((entry, filter)) = self.subscriptions.get(&self.subscriptions_buf, p)
                    && concerns(&entry, filter)
                {
                    found = Some((entry.ticket, entry.state, entry.subscription_id));
                    break;
                }
                pos = self.subscriptions.next(&self.subscriptions_buf, p);
            }
            let Some((ticket, state, id)) = found else {
                return;
            };
            self.fail_request(ticket, state, id, reason);
        }
    }
}
