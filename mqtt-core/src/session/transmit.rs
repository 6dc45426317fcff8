//! Producing bytes to send, in [`Session::poll_transmit`]: CONNECT, acknowledgements, pings, subscription requests,
//! the outbox and DISCONNECT, batched into the caller's buffer.

mod request;

use super::event::OwnedEvent;
use super::outbox::{HEADER, State as Out};
use super::{Partial, PublishFailure, Session, SessionState, Ticket};
use crate::codec::wire::{Writer, read_var_int};
use crate::codec::{
    self, Ack, Disconnect, Packet, PacketType, ProtocolVersion, Publish, QoS, ReasonCode,
};
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
        self.transmit_need = 0;
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
        self.stats.last_sent_at = Some(now);
        self.stats.bytes_sent += written as u64;
        Some(written)
    }

    /// Tells the session the largest buffer the binding can give [`poll_transmit`](Self::poll_transmit) (a
    /// staging buffer's maximum). A SUBSCRIBE or UNSUBSCRIBE is written whole, never in pieces: without this,
    /// one that does not fit the buffer of a call that starts empty is dropped as too large
    /// ([`Event::RequestTooLarge`](super::Event::RequestTooLarge)); with it, only one larger than `bytes` (or
    /// than the broker's Maximum Packet Size) is, and one that fits waits, with
    /// [`transmit_needs`](Self::transmit_needs) saying how large a buffer it needs.
    pub fn set_transmit_capacity(&mut self, bytes: usize) {
        self.transmit_capacity = Some(bytes);
    }

    /// After a [`poll_transmit`](Self::poll_transmit) that wrote nothing more for lack of room: the bytes the
    /// next packet needs (at most the [transmit capacity](Self::set_transmit_capacity)). Give it a buffer that
    /// large, once what is staged has gone out.
    #[must_use]
    pub fn transmit_needs(&self) -> Option<usize> {
        (self.transmit_need > 0).then_some(self.transmit_need)
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
        if self.reconnect_after_acks && !self.acks_to_write() {
            // Every acknowledgement released before the application's reconnect is staged: the connection ends
            // now, and the binding writes them before it opens the next one.
            let now = self.now;
            self.reconnect_now(now);
            self.reopen_after_write = true;
            return 0;
        }
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
        if self.reconnect_after_acks {
            // Only acknowledgements before a reconnect: the rest goes out on the next connection.
            return 0;
        }
        if self.send_ping {
            let n = self.write(Packet::PingReq, buf);
            if n > 0 {
                self.send_ping = false;
                self.ping_sent_at = self.now;
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

    /// Whether the next message to send is a QoS 1 or 2 message that waits for room in the window.
    pub(super) fn window_blocked(&self) -> bool {
        let ring = self.store.ring();
        self.inflight >= self.window()
            && self
                .outbox
                .cursor()
                .and_then(|pos| self.outbox.header(ring, pos))
                .is_some_and(|h| h.state == Out::Queued && h.qos != QoS::AtMostOnce)
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
    fn assign_ahead(&mut self, pos: usize, packet_id: codec::PacketId) {
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
