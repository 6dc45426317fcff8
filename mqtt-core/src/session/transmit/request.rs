//! Sending the subscription requests: the next queued SUBSCRIBE or UNSUBSCRIBE, built from the subscription
//! table within the broker's Maximum Packet Size and the caller's buffer (split, or dropped when it can never fit),
//! or failed at once when the broker said it does not support what it asks.

use crate::codec::wire::{Writer, prefixed_len, var_int_len};
use crate::codec::{self, Body, PacketId, PacketType, ProtocolVersion, ReasonCode};
use crate::error::EncodeError;
use crate::session::event::OwnedEvent;
use crate::session::subscriptions::{State as Sub, Subscriptions};
use crate::session::{Session, Ticket};

impl Session<'_> {
    /// Whether a SUBSCRIBE or UNSUBSCRIBE waits to be sent.
    pub(in crate::session) fn has_subscription_work(&self) -> bool {
        self.next_request().is_some()
    }

    /// Whether a SUBSCRIBE or UNSUBSCRIBE waits to be sent or answered.
    pub(in crate::session) fn awaits_answers(&self) -> bool {
        let buf = &self.subscriptions_buf;
        let mut pos = self.subscriptions.first();
        while let Some(p) = pos {
            if let Some((e, _)) = self.subscriptions.get(buf, p)
                && matches!(
                    e.state,
                    Sub::SubscribeQueued
                        | Sub::SubscribeSent
                        | Sub::UnsubscribeQueued
                        | Sub::UnsubscribeSent
                )
            {
                return true;
            }
            pos = self.subscriptions.next(buf, p);
        }
        false
    }

    /// The first queued request: its ticket, kind and subscription identifier.
    fn next_request(&self) -> Option<(u32, Sub, u32)> {
        let buf = &self.subscriptions_buf;
        let mut pos = self.subscriptions.first();
        while let Some(p) = pos {
            if let Some((e, _)) = self.subscriptions.get(buf, p)
                && matches!(e.state, Sub::SubscribeQueued | Sub::UnsubscribeQueued)
            {
                return Some((e.ticket, e.state, e.subscription_id));
            }
            pos = self.subscriptions.next(buf, p);
        }
        None
    }

    /// The failure code of the first filter of a queued request that the broker said it does not support.
    fn request_unsupported(
        &self,
        ticket: u32,
        queued: Sub,
        subscription_id: u32,
    ) -> Option<ReasonCode> {
        let buf = &self.subscriptions_buf;
        let mut pos = self.subscriptions.first();
        while let Some(p) = pos {
            if let Some((e, filter)) = self.subscriptions.get(buf, p)
                && e.ticket == ticket
                && e.state == queued
                && e.subscription_id == subscription_id
                && let Some(reason) = self.unsupported(&e, filter)
            {
                return Some(reason);
            }
            pos = self.subscriptions.next(buf, p);
        }
        None
    }

    /// Sends the next SUBSCRIBE or UNSUBSCRIBE request, built from the subscription table.
    ///
    /// A request goes out whole, within the broker's Maximum Packet Size and `buf`; one that can never fit is
    /// dropped with [`Event::RequestTooLarge`](super::Event::RequestTooLarge) rather than block what follows. The
    /// session's own re-subscription ([`Ticket::RESUBSCRIBE`]) gathers every lost subscription, so it is split over
    /// as many SUBSCRIBE packets as needed; only a filter too large on its own is dropped. `[MQTT-3.2.2-15]`
    pub(super) fn transmit_request(&mut self, buf: &mut [u8], fresh: bool) -> usize {
        let Some((ticket, queued, subscription_id)) = self.next_request() else {
            return 0;
        };
        if let Some(reason) = self.request_unsupported(ticket, queued, subscription_id) {
            // The broker of this connection does not support it: fail it rather than have it disconnect us.
            self.fail_request(ticket, queued, subscription_id, reason);
            return 0;
        }
        let Some(packet_id) = self.allocate_packet_id() else {
            return 0;
        };
        let mut request = Request {
            table: &self.subscriptions,
            buf: &self.subscriptions_buf,
            ticket,
            queued,
            subscription_id,
            user_properties: self
                .subscriptions
                .user_properties(&self.subscriptions_buf, ticket, subscription_id)
                .unwrap_or_default(),
            packet_id,
            limit: usize::MAX,
        };
        let total = request.filters().count();
        let max = usize::try_from(self.server.max_packet_size).unwrap_or(usize::MAX);
        let fit = request.fitting(self.version, max.min(buf.len()));
        let splittable = ticket == Ticket::RESUBSCRIBE.0 && queued == Sub::SubscribeQueued;
        let drop = if let Some(capacity) = self.transmit_capacity {
            // What the largest buffer the binding can give takes decides; a smaller one waits for it.
            let room = request.fitting(self.version, max.min(capacity));
            if room == total || (splittable && room > 0) {
                if fit < room {
                    self.transmit_need = request.packet_len(self.version, room);
                    return 0;
                }
                None
            } else if splittable {
                Some(1)
            } else {
                Some(total)
            }
        } else if fit == total || (splittable && fit > 0) {
            if !fresh && fit < request.fitting(self.version, max) {
                // More fits an empty buffer: wait for the next call.
                return 0;
            }
            None
        } else if !fresh {
            return 0;
        } else if splittable {
            // Its first filter alone does not fit: drop that one.
            Some(1)
        } else {
            Some(total)
        };
        if let Some(count) = drop {
            if self.events.free() == 0 {
                return 0;
            }
            let mut left = count;
            self.subscriptions
                .retain(&mut self.subscriptions_buf, |entry, _| {
                    let dropped = left > 0
                        && entry.ticket == ticket
                        && entry.state == queued
                        && entry.subscription_id == subscription_id;
                    left -= usize::from(dropped);
                    !dropped
                });
            self.events
                .push(OwnedEvent::RequestTooLarge(Ticket(ticket)));
            return 0;
        }
        request.limit = fit;
        let packet = if queued == Sub::SubscribeQueued {
            PacketType::Subscribe
        } else {
            PacketType::Unsubscribe
        };
        let sent = if queued == Sub::SubscribeQueued {
            Sub::SubscribeSent
        } else {
            Sub::UnsubscribeSent
        };
        match codec::encode_body(&request, packet, self.version, buf) {
            Ok(n) => {
                let mut left = fit;
                self.subscriptions
                    .retain(&mut self.subscriptions_buf, |entry, _| {
                        if left > 0
                            && entry.ticket == ticket
                            && entry.state == queued
                            && entry.subscription_id == subscription_id
                        {
                            entry.state = sent;
                            entry.packet_id = Some(packet_id);
                            left -= 1;
                        }
                        true
                    });
                n
            }
            Err(_) => 0,
        }
    }
}

/// The property identifier of Subscription Identifier. `[MQTT-3.8.2.1.2]`
const SUBSCRIPTION_IDENTIFIER: u8 = 0x0b;
/// The property identifier of User Property. `[MQTT-3.8.2.1.3]`
const USER_PROPERTY: u8 = 0x26;

/// A SUBSCRIBE or UNSUBSCRIBE built from the table entries of one request (at most `limit` of them).
struct Request<'t> {
    table: &'t Subscriptions,
    buf: &'t [u8],
    ticket: u32,
    queued: Sub,
    subscription_id: u32,
    /// The request's user properties, `name NUL value NUL ...` (empty: none).
    user_properties: &'t str,
    packet_id: PacketId,
    limit: usize,
}

impl Request<'_> {
    fn filters(&self) -> impl Iterator<Item = (&str, codec::SubscriptionOptions)> + '_ {
        let mut pos = self.table.first();
        let mut left = self.limit;
        core::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            while let Some(p) = pos {
                pos = self.table.next(self.buf, p);
                if let Some((e, filter)) = self.table.get(self.buf, p)
                    && e.ticket == self.ticket
                    && e.state == self.queued
                    && e.subscription_id == self.subscription_id
                {
                    return Some((filter, e.options));
                }
            }
            None
        })
    }

    fn is_subscribe(&self) -> bool {
        self.queued == Sub::SubscribeQueued
    }

    /// How many of the request's filters, from the first, fit one packet of at most `max` bytes.
    /// Bytes of the packet with the first `count` filters.
    fn packet_len(&self, version: ProtocolVersion, count: usize) -> usize {
        let per_filter = usize::from(self.is_subscribe());
        let body = 2
            + self.properties_block_len(version)
            + self
                .filters()
                .take(count)
                .map(|(filter, _)| prefixed_len(filter.len()) + per_filter)
                .sum::<usize>();
        1 + var_int_len(body) + body
    }

    fn fitting(&self, version: ProtocolVersion, max: usize) -> usize {
        let properties = self.properties_block_len(version);
        let per_filter = usize::from(self.is_subscribe());
        let mut body = 2 + properties;
        let mut count = 0;
        for (filter, _) in self.filters() {
            body += prefixed_len(filter.len()) + per_filter;
            if 1 + var_int_len(body) + body > max {
                break;
            }
            count += 1;
        }
        count
    }

    /// Bytes of the Subscription Identifier property, if the request has one.
    fn id_property_len(&self) -> usize {
        match self.subscription_id {
            0 => 0,
            id => 1 + var_int_len(id as usize),
        }
    }

    /// The user properties, as (name, value) pairs.
    fn user_pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut parts = self.user_properties.split('\0');
        // "n1 NUL v1 NUL" splits into n1, v1 and an empty rest: pairs end there.
        core::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
    }

    /// Bytes of the properties (without their length).
    fn properties_len(&self) -> usize {
        let user: usize = self
            .user_pairs()
            .map(|(name, value)| 1 + prefixed_len(name.len()) + prefixed_len(value.len()))
            .sum();
        let id = match self.is_subscribe() {
            true => self.id_property_len(),
            false => 0,
        };
        id + user
    }

    /// Bytes of the property block, its length included (none in 3.1.1).
    fn properties_block_len(&self, version: ProtocolVersion) -> usize {
        match version.folded() {
            ProtocolVersion::V5 => {
                let len = self.properties_len();
                var_int_len(len) + len
            }
            ProtocolVersion::V311 => 0,
        }
    }
}

impl Body for Request<'_> {
    fn body_len(&self, version: ProtocolVersion) -> usize {
        let properties = self.properties_block_len(version);
        let per_filter = usize::from(self.is_subscribe());
        2 + properties
            + self
                .filters()
                .map(|(f, _)| prefixed_len(f.len()) + per_filter)
                .sum::<usize>()
    }

    fn write_body(&self, version: ProtocolVersion, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        w.u16(self.packet_id.get())?;
        if version.is_v5() {
            w.var_int(self.properties_len())?;
            if self.is_subscribe() && self.subscription_id != 0 {
                w.u8(SUBSCRIPTION_IDENTIFIER)?;
                w.var_int(self.subscription_id as usize)?;
            }
            for (name, value) in self.user_pairs() {
                w.u8(USER_PROPERTY)?;
                w.string(name)?;
                w.string(value)?;
            }
        }
        for (filter, options) in self.filters() {
            w.string(filter)?;
            if self.is_subscribe() {
                // After a fall back to 3.1.1, 5.0 options of requests made before it are dropped.
                w.u8(match version.folded() {
                    ProtocolVersion::V5 => options.to_byte(),
                    _ => options.qos as u8,
                })?;
            }
        }
        Ok(())
    }
}
