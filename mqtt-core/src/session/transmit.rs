//! Producing bytes to send, in [`Session::poll_transmit`]: CONNECT, acknowledgements, pings, subscription requests,
//! the outbox and DISCONNECT, batched into the caller's buffer.

use super::event::OwnedEvent;
use super::outbox::{HEADER, State as Out};
use super::subscriptions::{State as Sub, Subscriptions};
use super::{Partial, PublishFailure, Session, SessionState, Ticket};
use crate::codec::wire::{Writer, prefixed_len, read_var_int, var_int_len};
use crate::codec::{
    self, Ack, Body, Disconnect, Packet, PacketId, PacketType, ProtocolVersion, Publish, QoS,
    ReasonCode,
};
use crate::error::EncodeError;
use crate::time::Instant;

impl<'b> Session<'b> {
    /// Writes the next packets to send into `buf` and returns how many bytes it wrote, or `None` if there is
    /// nothing to send now.
    ///
    /// Several packets are batched when they fit. A stored message (or CONNECT) larger than `buf` is written in
    /// pieces over several calls; acknowledgements and subscription requests are written whole, so `buf` should
    /// hold the largest SUBSCRIBE the application makes (a request that cannot fit an empty buffer fails with
    /// [`Event::RequestTooLarge`](super::Event::RequestTooLarge)).
    ///
    /// Changes after every input and command, after `poll_event` (acknowledgements of received packets), and after
    /// `ack` and `hold_message`. With persistence (feature `persist`), nothing is given while a change it depends on
    /// awaits [`handle_persisted`](Self::handle_persisted): see [`persist`](super::persist).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.now = now;
        if self.down_pending || self.outbox.journal.blocks() {
            return None;
        }
        let mut written = 0;
        while let Some(rest) = buf.get_mut(written..).filter(|r| !r.is_empty()) {
            let n = self.transmit_one(rest, written == 0);
            if n == 0 {
                break;
            }
            written += n;
            if self.partial.is_some() {
                break;
            }
        }
        if written == 0 {
            return None;
        }
        self.last_sent = now;
        self.stats.bytes_sent += written as u64;
        Some(written)
    }

    /// Writes one packet (or the next piece of a large one); 0 when nothing (more) can go into `buf`.
    fn transmit_one(&mut self, buf: &mut [u8], fresh: bool) -> usize {
        if let Some(partial) = self.partial {
            return self.copy_out(partial, buf);
        }
        match self.state {
            SessionState::Connecting if self.send_connect => {
                self.send_connect = false;
                if !self.prepare_connect() {
                    return 0;
                }
                self.copy_out(Partial::Connect(0), buf)
            }
            SessionState::Connecting => self.transmit_auth(buf),
            SessionState::Closing => match self.send_disconnect {
                Some(reason) => {
                    let n = self.write_disconnect(reason, buf);
                    if n > 0 {
                        self.send_disconnect = None;
                        self.finish_closing(self.now);
                    }
                    n
                }
                None => 0,
            },
            SessionState::Connected | SessionState::Disconnecting => {
                // A graceful disconnect whose wait is over: DISCONNECT next, whatever is still queued stays queued.
                let disconnect_now =
                    self.state == SessionState::Disconnecting && self.send_disconnect.is_some();
                if !disconnect_now {
                    let n = self.transmit_connected(buf, fresh);
                    if n > 0 || !self.disconnect_due() {
                        return n;
                    }
                }
                let reason = self
                    .send_disconnect
                    .unwrap_or(ReasonCode::NORMAL_DISCONNECTION);
                let n = match self.write_farewell(buf) {
                    Some(n) => n,
                    None => self.write_disconnect(reason, buf),
                };
                if n > 0 {
                    self.transport.close();
                    self.end_connection(self.now);
                    self.close_for_good();
                    self.push_disconnected();
                }
                n
            }
            _ => 0,
        }
    }

    /// On an established connection: AUTH, acknowledgements, PINGREQ, subscription requests, then the outbox.
    fn transmit_connected(&mut self, buf: &mut [u8], fresh: bool) -> usize {
        if self.auth.wants_write() {
            return self.transmit_auth(buf);
        }
        #[cfg(feature = "persist")]
        if self
            .acks
            .peek()
            .is_some_and(|ack| ack.packet == PacketType::PubRec && !ack.noted)
            && self.outbox.journal.is_enabled()
        {
            // Write-ahead: the identifiers of the PUBRECs queued are stored before the first goes out.
            let journal = &mut self.outbox.journal;
            self.acks.for_each_mut(|ack| {
                if ack.packet == PacketType::PubRec && !ack.noted {
                    ack.noted = true;
                    journal.note(super::journal::Notice::Qos2Received(ack.packet_id.get()));
                }
            });
            return 0;
        }
        if let Some(ack) = self.acks.peek() {
            let packet = Ack {
                packet_id: ack.packet_id,
                reason: ack.reason,
                properties: Default::default(),
            };
            let packet = match ack.packet {
                PacketType::PubAck => Packet::PubAck(packet),
                PacketType::PubRec => Packet::PubRec(packet),
                PacketType::PubRel => Packet::PubRel(packet),
                _ => Packet::PubComp(packet),
            };
            let n = self.write(packet, buf);
            if n > 0 {
                self.acks.pop();
            }
            return n;
        }
        if let Some(receipt) = self.receipts.ready(self.store.receipts()) {
            // Acknowledged by the application, and every message before it too. `[MQTT-4.6.0-2]`,
            // `[MQTT-4.6.0-3]`
            let ack = Ack::new(receipt.packet_id);
            let packet = match receipt.qos {
                QoS::ExactlyOnce => Packet::PubRec(ack),
                _ => Packet::PubAck(ack),
            };
            let n = self.write(packet, buf);
            if n > 0 {
                self.receipts.pop();
            }
            return n;
        }
        if self.send_ping {
            let n = self.write(Packet::PingReq, buf);
            if n > 0 {
                self.send_ping = false;
            }
            return n;
        }
        let n = self.transmit_request(buf, fresh);
        if n > 0 {
            return n;
        }
        self.transmit_outbox(buf)
    }

    fn write_disconnect(&self, reason: ReasonCode, buf: &mut [u8]) -> usize {
        let disconnect = Disconnect {
            reason,
            ..Default::default()
        };
        self.write(Packet::Disconnect(disconnect), buf)
    }

    /// Encodes a small generated packet whole; 0 if it does not fit.
    fn write(&self, packet: Packet<'_>, buf: &mut [u8]) -> usize {
        packet.encode_from_client(self.version, buf).unwrap_or(0)
    }

    /// Copies stored bytes (CONNECT or an outbox record), continuing where the last call stopped.
    fn copy_out(&mut self, partial: Partial, buf: &mut [u8]) -> usize {
        let ring = self.store.ring();
        let downgrade = match partial {
            Partial::Downgraded { pos, .. } => {
                let qos = self
                    .outbox
                    .header(ring, pos)
                    .map_or(QoS::AtMostOnce, |h| h.qos);
                Downgrade::of(self.outbox.packet(ring, pos), qos)
            }
            _ => None,
        };
        let empty: &[u8] = &[];
        let (parts, offset) = match partial {
            Partial::Connect(offset) => ([self.store.connect(), empty, empty], offset),
            Partial::Record { pos, offset } => {
                ([self.outbox.packet(ring, pos), empty, empty], offset)
            }
            Partial::Downgraded { pos, offset } => match &downgrade {
                Some(d) => (d.parts(self.outbox.packet(ring, pos)), offset),
                None => ([empty, empty, empty], offset),
            },
        };
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut skip = offset;
        let mut n = 0;
        for part in parts {
            let part = match part.get(skip..) {
                Some(rest) => {
                    skip = 0;
                    rest
                }
                None => {
                    skip -= part.len();
                    continue;
                }
            };
            let take = part.len().min(buf.len() - n);
            if let (Some(dst), Some(src)) = (buf.get_mut(n..n + take), part.get(..take)) {
                dst.copy_from_slice(src);
            }
            n += take;
        }
        let done = offset + n >= total;
        self.partial = match partial {
            _ if done => None,
            Partial::Connect(offset) => Some(Partial::Connect(offset + n)),
            Partial::Record { pos, offset } => Some(Partial::Record {
                pos,
                offset: offset + n,
            }),
            Partial::Downgraded { pos, offset } => Some(Partial::Downgraded {
                pos,
                offset: offset + n,
            }),
        };
        match partial {
            Partial::Connect(_) => self.connect_sent = done,
            Partial::Record { pos, .. } | Partial::Downgraded { pos, .. } if done => {
                self.record_written(pos);
            }
            _ => {}
        }
        n
    }

    /// A record's packet is completely written: QoS 0 messages are done.
    fn record_written(&mut self, pos: usize) {
        let ring = self.store.ring_mut();
        if self
            .outbox
            .header(ring, pos)
            .is_some_and(|h| h.qos == QoS::AtMostOnce)
        {
            self.outbox.complete(ring, pos);
        }
    }

    /// Outgoing QoS 1 and 2 messages allowed in flight: 3.1.1 brokers cannot announce their limit, so the
    /// 3.1.1 window of the configuration applies.
    fn window(&self) -> u16 {
        let max = match self.version.folded() {
            ProtocolVersion::V311 => self
                .settings
                .max_inflight
                .min(self.settings.max_inflight_v311),
            ProtocolVersion::V5 => self.settings.max_inflight,
        };
        max.min(self.server.receive_maximum)
    }

    /// Whether the outbox has something that may be sent now.
    pub(super) fn outbox_can_send(&self) -> bool {
        let ring = self.store.ring();
        let Some(h) = self
            .outbox
            .cursor()
            .and_then(|pos| self.outbox.header(ring, pos))
        else {
            return false;
        };
        match h.state {
            Out::Queued => h.qos == QoS::AtMostOnce || self.inflight < self.window(),
            _ => true,
        }
    }

    /// Sends the next message (or PUBREL to resend) of the outbox, in publish order.
    fn transmit_outbox(&mut self, buf: &mut [u8]) -> usize {
        while let Some(pos) = self.outbox.cursor() {
            let ring = self.store.ring();
            let Some(mut h) = self.outbox.header(ring, pos) else {
                return 0;
            };
            match h.state {
                Out::Queued => {}
                Out::ReleasePending | Out::Abandon => {
                    let Some(packet_id) = h.packet_id else {
                        self.outbox.advance_cursor(ring, pos);
                        continue;
                    };
                    let n = self.write(Packet::PubRel(Ack::new(packet_id)), buf);
                    if n > 0 {
                        h.state = if h.state == Out::Abandon {
                            Out::Abandoned
                        } else {
                            Out::Rereleased
                        };
                        let ring = self.store.ring_mut();
                        self.outbox.set_header(ring, pos, &h);
                        self.outbox.advance_cursor(ring, pos);
                    }
                    return n;
                }
                _ => {
                    self.outbox.advance_cursor(ring, pos);
                    continue;
                }
            }
            // Limits the broker announced after the message was queued.
            let packet = self.outbox.packet(ring, pos);
            // Queued in 5.0 form before the session fell back to 3.1.1.
            let downgrade = h.v5 && !self.version.is_v5();
            let retain = packet.first().is_some_and(|b| b & 0x01 != 0);
            let failure = if h.len > self.server.max_packet_size as usize {
                Some(PublishFailure::TooLarge {
                    size: u32::try_from(h.len).unwrap_or(u32::MAX),
                    max: self.server.max_packet_size,
                })
            } else if h.qos > self.server.max_qos {
                Some(PublishFailure::QoSNotSupported)
            } else if retain && !self.server.retain_available {
                Some(PublishFailure::RetainNotSupported)
            } else if downgrade && Downgrade::of(packet, h.qos).is_none() {
                Some(PublishFailure::PropertiesNotSupported)
            } else {
                None
            };
            if let Some(reason) = failure {
                if self.events.free() == 0 {
                    return 0;
                }
                self.events
                    .push(OwnedEvent::PublishFailed(Ticket(h.ticket), reason));
                let ring = self.store.ring_mut();
                self.outbox.advance_cursor(ring, pos);
                self.outbox.complete(ring, pos);
                continue;
            }
            if h.qos != QoS::AtMostOnce {
                if self.inflight >= self.window() {
                    return 0;
                }
                let packet_id = match h.packet_id {
                    Some(id) => id,
                    None => match self.allocate_packet_id() {
                        Some(id) => id,
                        None => return 0,
                    },
                };
                #[cfg(feature = "persist")]
                if h.packet_id.is_none() && self.outbox.journal.is_enabled() {
                    // Write-ahead: the identifier is stored before the PUBLISH goes out.
                    self.assign_ahead(pos, packet_id);
                    return 0;
                }
                let ring = self.store.ring_mut();
                let record = ring
                    .get_mut(pos + HEADER..pos + HEADER + h.len)
                    .unwrap_or_default();
                if !codec::patch_publish(record, h.dup, packet_id) {
                    return 0;
                }
                h.packet_id = Some(packet_id);
                h.state = Out::Sent;
                self.inflight += 1;
            }
            let ring = self.store.ring_mut();
            self.outbox.set_header(ring, pos, &h);
            self.outbox.advance_cursor(ring, pos);
            self.stats.messages_sent += 1;
            if downgrade {
                return self.copy_out(Partial::Downgraded { pos, offset: 0 }, buf);
            }
            if let Some(n) = self.write_aliased(pos, buf) {
                self.record_written(pos);
                return n;
            }
            return self.copy_out(Partial::Record { pos, offset: 0 }, buf);
        }
        0
    }

    /// Gives `packet_id` to the queued record at `pos`, and identifiers to the queued records after it as far as the
    /// inflight window lets them out (and the journal has room), without sending anything: the store writes all
    /// the identifiers at once, then they go out (feature `persist`).
    #[cfg(feature = "persist")]
    fn assign_ahead(&mut self, pos: usize, packet_id: PacketId) {
        let ring = self.store.ring_mut();
        if let Some(mut h) = self.outbox.header(ring, pos) {
            h.packet_id = Some(packet_id);
            self.outbox.set_header(ring, pos, &h);
        }
        let room = usize::from(self.window().saturating_sub(self.inflight));
        let mut given = 1;
        let mut next = self.outbox.next(self.store.ring(), pos);
        while let Some(p) = next {
            if given >= room || self.outbox.journal.free() < 2 {
                break;
            }
            next = self.outbox.next(self.store.ring(), p);
            let Some(mut h) = self.outbox.header(self.store.ring(), p) else {
                break;
            };
            if h.state != Out::Queued || h.qos == QoS::AtMostOnce || h.packet_id.is_some() {
                continue;
            }
            let Some(id) = self.allocate_packet_id() else {
                break;
            };
            h.packet_id = Some(id);
            let ring = self.store.ring_mut();
            self.outbox.set_header(ring, p, &h);
            given += 1;
        }
    }

    /// Writes the record with a topic alias instead of its topic when outgoing aliases are on and the aliased packet
    /// fits `buf` whole; `None` to copy it as stored. A new alias is only taken once its defining packet is written.
    fn write_aliased(&mut self, pos: usize, buf: &mut [u8]) -> Option<usize> {
        if !self.version.is_v5()
            || !self.store.has_alias_out()
            || self.settings.outgoing_topic_aliases == 0
            || self.server.topic_alias_maximum == 0
        {
            return None;
        }
        let server_max = self.server.topic_alias_maximum;
        let stored = self.outbox.packet(self.store.ring(), pos);
        let topic_range = codec::publish_topic_range(stored)?;
        let Ok(Some((Ok(Packet::Publish(publish)), _))) =
            codec::decode_from_server(stored, self.version, u32::MAX)
        else {
            return None;
        };
        let (alias, known) = match self.store.alias_out_find(publish.topic) {
            Some(alias) => (alias, true),
            None => (self.store.alias_out_next(publish.topic, server_max)?, false),
        };
        let aliased = Packet::Publish(Publish {
            topic: if known { "" } else { publish.topic },
            properties: codec::PublishProperties {
                topic_alias: core::num::NonZeroU16::new(alias),
                ..publish.properties
            },
            ..publish
        });
        if aliased.encoded_len_from_client(self.version) > buf.len() {
            return None;
        }
        let n = aliased.encode_from_client(self.version, buf).ok()?;
        if known {
            self.store.alias_out_touch(alias);
        } else {
            let start = pos + HEADER;
            self.store.alias_out_assign_from_ring(
                start + topic_range.start..start + topic_range.end,
                server_max,
            )?;
        }
        Some(n)
    }

    /// Whether a SUBSCRIBE or UNSUBSCRIBE waits to be sent.
    pub(super) fn has_subscription_work(&self) -> bool {
        self.next_request().is_some()
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
    fn transmit_request(&mut self, buf: &mut [u8], fresh: bool) -> usize {
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
        let drop = if fit == total || (splittable && fit > 0) {
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

/// A PUBLISH stored in 5.0 form without properties, seen as the 3.1.1 packet it becomes: the same bytes without
/// the property length (a single zero), under a fixed header whose remaining length is one less.
struct Downgrade {
    head: [u8; 5],
    head_len: usize,
    /// Topic and packet identifier.
    variable: core::ops::Range<usize>,
    /// Where the payload starts.
    payload: usize,
}

impl Downgrade {
    /// `None` if the packet has 5.0 properties (or cannot be read).
    fn of(packet: &[u8], qos: QoS) -> Option<Self> {
        let (remaining, len_bytes) = read_var_int(packet.get(1..)?).ok()??;
        let topic = codec::publish_topic_range(packet)?;
        let properties = topic.end + if qos == QoS::AtMostOnce { 0 } else { 2 };
        if *packet.get(properties)? != 0 {
            return None;
        }
        let mut head = [0u8; 5];
        *head.first_mut()? = *packet.first()?;
        let mut w = Writer::new(head.get_mut(1..)?);
        w.var_int(usize::try_from(remaining).ok()?.checked_sub(1)?)
            .ok()?;
        let head_len = 1 + w.finish().ok()?;
        Some(Self {
            head,
            head_len,
            variable: 1 + len_bytes..properties,
            payload: properties + 1,
        })
    }

    fn parts<'p>(&'p self, packet: &'p [u8]) -> [&'p [u8]; 3] {
        [
            self.head.get(..self.head_len).unwrap_or_default(),
            packet.get(self.variable.clone()).unwrap_or_default(),
            packet.get(self.payload..).unwrap_or_default(),
        ]
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
