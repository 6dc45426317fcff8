//! Processing of received packets, which happens in [`Session::poll_event`]: a packet is decoded in place in the
//! receive buffer, its effects are applied, and an event that carries its data borrows the buffer until the next
//! call.

use super::delivery::Delivery;
use super::event::OwnedEvent;
use super::journal::Notice;
use super::outbox::State as Out;
use super::subscriptions::State as Sub;
use super::{
    AckToken, ConnectRefusal, Disconnection, Event, PendingAck, PublishFailure, Session,
    SessionState, Ticket, Timer,
};
use crate::codec::{self, Ack, List, Packet, PacketId, PacketType, Publish, QoS, ReasonCode};
use crate::error::ProtocolError;

/// What `poll_event` hands out, decided before the event borrows the receive buffer.
#[derive(Clone, Copy)]
enum Next {
    Owned(OwnedEvent),
    /// The PUBLISH at the front of the buffer, with its topic from this alias if it came without one.
    Deliver(Option<u16>),
    SubAck(Ticket),
    UnsubAck(Ticket),
}

/// What remains to do once the packet's borrow of the receive buffer has ended.
pub(super) enum Step {
    /// Nothing to report; look at the next packet.
    Continue,
    /// Deliver the PUBLISH at the front of the buffer, with its topic from this alias if it came without one,
    /// and its receipt in the acknowledgement record (`manual_ack`).
    Deliver {
        alias: Option<u16>,
        token: Option<AckToken>,
    },
    /// Report the SUBACK or UNSUBACK at the front of the buffer.
    SubAck(Ticket),
    UnsubAck(Ticket),
    ConnAck {
        session_present: bool,
        refusal: Option<ConnectRefusal>,
    },
    ServerDisconnect(ReasonCode),
    Error(ProtocolError),
    /// The QoS 2 PUBLISH at the front needs a place in the full table of messages awaiting PUBREL (3.1.1, whose
    /// broker does not know the table's size): it waits until a PUBREL frees one (`process_next`).
    AwaitRelease,
}

impl<'b> Session<'b> {
    /// The next event for the application, processing received packets as needed.
    ///
    /// Changes after `handle_bytes`/`commit_read` (new packets), `handle_transport_*`, `handle_timeout`,
    /// commands (connection events), `hold_message` (the same message again) and `ack` (room in the
    /// acknowledgement record). Processing a packet may queue packets to send (acknowledgements): call
    /// [`poll_transmit`](Self::poll_transmit) again after draining events. An event's borrowed data stays valid
    /// until the next call into the session.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        let next = self.next_event()?;
        self.render(next)
    }

    /// [`poll_event`](Self::poll_event), with the acknowledgement a message owes (what
    /// [`message_ack`](Self::message_ack) would say right after): for bindings that hand both to the application
    /// while the event still borrows the session.
    #[must_use]
    pub fn poll_event_acked(&mut self) -> Option<(Event<'_>, Option<AckToken>)> {
        let next = self.next_event()?;
        let ack = self.last_ack;
        self.render(next).map(|event| (event, ack))
    }

    /// Does the work of `poll_event` and says what to hand out, without borrowing the receive buffer yet.
    fn next_event(&mut self) -> Option<Next> {
        if core::mem::take(&mut self.holding)
            && let Some(delivery) = self.delivery
        {
            self.last_ack = delivery.token;
            return Some(Next::Deliver(delivery.alias));
        }
        self.last_ack = None;
        self.release_rx();
        if let Some(event) = self.events.pop() {
            return Some(Next::Owned(event));
        }
        if let Some(event) = self.next_report() {
            return Some(Next::Owned(event));
        }
        loop {
            let next = self.process_next();
            self.resume_keep_alive();
            let Some((step, used)) = next else {
                // Everything received before the transport went down is handled: now the connection ends.
                if self.down_pending {
                    self.transport_gone(self.now);
                    return self.events.pop().map(Next::Owned);
                }
                return None;
            };
            self.rx_release = used;
            match step {
                // `process_next` waits for the PUBREL instead (none escapes it): the PUBLISH stays unprocessed.
                Step::AwaitRelease => {
                    self.rx_release = 0;
                    return None;
                }
                Step::Continue => {
                    self.release_rx();
                    if let Some(event) = self.events.pop() {
                        return Some(Next::Owned(event));
                    }
                }
                Step::Deliver { alias, token } => {
                    self.delivery = Some(Delivery {
                        alias,
                        token,
                        retracted: None,
                    });
                    self.last_ack = token;
                    return Some(Next::Deliver(alias));
                }
                Step::SubAck(ticket) => return Some(Next::SubAck(ticket)),
                Step::UnsubAck(ticket) => return Some(Next::UnsubAck(ticket)),
                Step::ConnAck {
                    session_present,
                    refusal,
                } => {
                    self.release_rx();
                    if session_present && self.settings.clean_start {
                        // `[MQTT-3.2.2-4]` (5.0), `[MQTT-3.2.2-1]` (3.1.1)
                        self.reject_connack(ProtocolError::SessionPresentAfterCleanStart);
                    } else {
                        self.on_connack(session_present, refusal);
                    }
                    return self.events.pop().map(Next::Owned);
                }
                Step::ServerDisconnect(reason) => {
                    self.release_rx();
                    self.fail_requests_over(reason);
                    if !self.down_pending {
                        self.transport.close();
                    }
                    self.lose(Disconnection::ServerDisconnect(reason), self.now);
                    return self.events.pop().map(Next::Owned);
                }
                Step::Error(error) => {
                    self.rx_release = 0;
                    self.protocol_error(error);
                    return self.events.pop().map(Next::Owned);
                }
            }
        }
    }

    /// The event `next_event` decided on, borrowing the packet at the front of the receive buffer.
    fn render(&self, next: Next) -> Option<Event<'_>> {
        match next {
            Next::Owned(event) => {
                Some(event.into_event(self.server_reference().unwrap_or_default()))
            }
            Next::Deliver(alias) => self.delivered(alias),
            Next::SubAck(ticket) => {
                let reasons = match self.front_packet() {
                    Some(Packet::SubAck(ack)) => ack.reasons,
                    _ => List::default(),
                };
                Some(Event::Subscribed { ticket, reasons })
            }
            Next::UnsubAck(ticket) => {
                let reasons = match self.front_packet() {
                    Some(Packet::UnsubAck(ack)) => ack.reasons,
                    _ => List::default(),
                };
                Some(Event::Unsubscribed { ticket, reasons })
            }
        }
    }

    /// Frees the bytes of the packet handed out by the previous `poll_event`, unless the application holds it. A
    /// message handed out is the application's from now on: an acknowledgement held back with it is queued.
    pub(super) fn release_rx(&mut self) {
        if self.holding {
            return;
        }
        if let Some(ack) = self.delivery.take().and_then(|d| d.retracted) {
            // Room: nothing was queued since it was taken out (no packet was processed).
            self.acks.push(ack);
        }
        self.rx_start = (self.rx_start + core::mem::take(&mut self.rx_release)).min(self.rx_end);
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
        }
    }

    /// The packet at the front of the receive buffer, decoded again to hand its data out.
    pub(super) fn front_packet(&self) -> Option<Packet<'_>> {
        let buf = self.rx.get(self.rx_start..self.rx_end)?;
        match codec::decode_from_server(buf, self.version, u32::MAX) {
            Ok(Some((Ok(packet), _))) => Some(packet),
            _ => None,
        }
    }

    fn delivered(&self, alias: Option<u16>) -> Option<Event<'_>> {
        let Some(Packet::Publish(publish)) = self.front_packet() else {
            return None;
        };
        let topic = match alias {
            Some(alias) if publish.topic.is_empty() => self.store.alias_in_get(alias).ok()?,
            _ => publish.topic,
        };
        Some(Event::Message(Publish { topic, ..publish }))
    }

    /// Decodes and applies the next packet, if a whole one is buffered and there is room for its consequences.
    fn process_next(&mut self) -> Option<(Step, usize)> {
        self.input_blocked = false;
        if !matches!(
            self.state,
            SessionState::Connecting | SessionState::Connected | SessionState::Disconnecting
        ) || (self.acks.free() == 0 && !self.down_pending)
            || self.events.free() < 4
            || self.outbox.journal.free() < 4
        {
            return None;
        }
        // The packet borrows the receive buffer while the handlers change the rest of the session: move the
        // buffer out for the duration.
        let mut rx = core::mem::replace(&mut self.rx, crate::buffer::Buf::Borrowed(&mut []));
        let mut result =
            self.process_packet(rx.get(self.rx_start..self.rx_end).unwrap_or_default());
        // The PUBLISH at the front cannot be processed yet: it waits for a PUBREL (3.1.1, the QoS 2 table is
        // full) or for an acknowledgement by the application (the acknowledgement record is full). The answers
        // the broker sent behind it (a PUBREL that makes room, the acknowledgement or SUBACK the application
        // awaits before it acknowledges anything) are handled first.
        let blocked = match result {
            Some((Step::AwaitRelease, used)) => Some(used),
            None if self.input_blocked => {
                let front = rx.get(self.rx_start..self.rx_end).unwrap_or_default();
                match codec::decode_from_server(front, self.version, self.settings.max_packet_size)
                {
                    Ok(Some((_, used))) => Some(used),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(publish_len) = blocked {
            result = if self.answer_ahead(&mut rx, publish_len) {
                self.input_blocked = false;
                self.process_packet(rx.get(self.rx_start..self.rx_end).unwrap_or_default())
            } else if matches!(result, Some((Step::AwaitRelease, _)))
                && self.rx_end - self.rx_start >= rx.capacity()
            {
                // The receive buffer is full and holds no PUBREL that would make room: nothing more can come.
                let max = u16::try_from(self.store.qos2_capacity()).unwrap_or(u16::MAX);
                Some((
                    Step::Error(ProtocolError::ReceiveMaximumExceeded(max)),
                    publish_len,
                ))
            } else {
                // Reading goes on: the answer may come behind.
                None
            };
        }
        self.rx = rx;
        result
    }

    /// The PUBLISH at the front of the receive buffer (`publish_len` bytes) waits. Brings the first answer
    /// received after it to the front, ahead of the PUBLISH packets (which keep their order), so that it is
    /// handled next; whether there was one. An answer is an acknowledgement of the client's own PUBLISH,
    /// SUBSCRIBE or UNSUBSCRIBE, a PINGRESP, or a PUBREL for a message of the QoS 2 table: each only concerns
    /// something sent or received before, so handling it early changes nothing else. The search stops at
    /// anything else that is not a PUBLISH (DISCONNECT, AUTH), and at an incomplete or malformed packet, which is
    /// handled in order.
    fn answer_ahead(&mut self, rx: &mut crate::buffer::Buf<'_>, publish_len: usize) -> bool {
        let mut at = self.rx_start + publish_len;
        while at < self.rx_end {
            let rest = rx.get(at..self.rx_end).unwrap_or_default();
            let (answer, used) = match codec::decode_from_server(
                rest,
                self.version,
                self.settings.max_packet_size,
            ) {
                Ok(Some((Ok(packet), used))) if used > 0 => {
                    let answer = match packet {
                        Packet::PubRel(ack) => self.store.qos2_contains(ack.packet_id.get()),
                        Packet::PubAck(_)
                        | Packet::PubRec(_)
                        | Packet::PubComp(_)
                        | Packet::SubAck(_)
                        | Packet::UnsubAck(_)
                        | Packet::PingResp => true,
                        Packet::Publish(_) => false,
                        _ => return false,
                    };
                    (answer, used)
                }
                _ => return false,
            };
            if answer {
                if let Some(span) = rx.get_mut(self.rx_start..at + used) {
                    span.rotate_right(used);
                }
                return true;
            }
            at += used;
        }
        false
    }

    fn process_packet(&mut self, buf: &[u8]) -> Option<(Step, usize)> {
        let decoded = codec::decode_from_server(buf, self.version, self.settings.max_packet_size);
        let (packet, used) = match decoded {
            Ok(Some((Ok(packet), used))) => (packet, used),
            Ok(Some((Err(only_from_clients), used))) => {
                let error = ProtocolError::UnexpectedPacket(only_from_clients);
                return Some((Step::Error(error), used));
            }
            Ok(None) => return None,
            Err(crate::error::DecodeError::PacketTooLarge { size, max })
                if !self.version.is_v5()
                    && self.state == SessionState::Connected
                    && buf.first().is_some_and(|b| b >> 4 == 3) =>
            {
                return self.read_past_publish(buf, size, max);
            }
            Err(e) => return Some((Step::Error(ProtocolError::Malformed(e)), 0)),
        };
        self.note_reason(&packet);
        let step = if self.state == SessionState::Connecting {
            match packet {
                Packet::ConnAck(connack) => self.connack(&connack),
                Packet::Auth(auth) => self.incoming_auth(&auth),
                other => Step::Error(ProtocolError::UnexpectedPacket(other.packet_type())),
            }
        } else {
            match packet {
                Packet::Publish(publish)
                    if publish.qos != QoS::AtMostOnce
                        && self.settings.manual_ack
                        && self.receipts.is_full() =>
                {
                    // Every acknowledgement the window allows awaits the application: backpressure.
                    self.input_blocked = true;
                    return None;
                }
                Packet::Publish(publish) if self.awaits_release(&publish) => Step::AwaitRelease,
                Packet::Publish(publish) => self.incoming_publish(&publish),
                Packet::PubAck(ack) => self.puback(&ack),
                Packet::PubRec(ack) => self.pubrec(&ack),
                Packet::PubRel(ack) => self.pubrel(&ack),
                Packet::PubComp(ack) => self.pubcomp(&ack),
                Packet::SubAck(ack) => {
                    self.request_acked(PacketType::SubAck, ack.packet_id, ack.reasons)
                }
                Packet::UnsubAck(ack) => {
                    self.request_acked(PacketType::UnsubAck, ack.packet_id, ack.reasons)
                }
                Packet::PingResp => {
                    self.ping_answered();
                    self.ping_outstanding = false;
                    self.ping_deferred = false;
                    self.set_timer(Timer::Ping, None);
                    self.ping_if_due(self.now);
                    Step::Continue
                }
                Packet::Disconnect(d) => {
                    self.keep_reason_string(d.properties.reason_string);
                    self.note_disconnect(&d);
                    Step::ServerDisconnect(d.reason)
                }
                Packet::Auth(auth) => self.incoming_auth(&auth),
                other => Step::Error(ProtocolError::UnexpectedPacket(other.packet_type())),
            }
        };
        Some((step, used))
    }

    /// The next completion owed after a session loss, if any.
    fn next_report(&mut self) -> Option<OwnedEvent> {
        let ring = self.store.ring_mut();
        while let Some(pos) = self.outbox.report() {
            let h = self.outbox.header(ring, pos)?;
            let event = match h.state {
                Out::ReportLost => Some(OwnedEvent::PublishFailed(
                    Ticket(h.ticket),
                    PublishFailure::SessionLost,
                )),
                Out::ReportAccepted => Some(OwnedEvent::Published(Ticket(h.ticket))),
                _ => None,
            };
            self.outbox.advance_report(ring, pos);
            if event.is_some() {
                self.outbox.complete(ring, pos);
                return event;
            }
        }
        None
    }

    fn incoming_publish(&mut self, publish: &Publish<'_>) -> Step {
        self.stats.messages_received += 1;
        if cfg!(feature = "low-water") {
            match publish.qos {
                QoS::AtMostOnce => self.batch.note_message(publish),
                _ => self.batch.acknowledged_traffic = true,
            }
        }
        // Topic alias: define or resolve. `[MQTT-3.3.2.3.4]`
        let alias = publish.properties.topic_alias.map(|a| a.get());
        let topic = match alias {
            Some(alias) if publish.topic.is_empty() => match self.store.alias_in_get(alias) {
                Ok(topic) => topic,
                Err(e) => return Step::Error(e),
            },
            Some(alias) => {
                if let Err(e) = self.store.alias_in_set(alias, publish.topic) {
                    return Step::Error(e);
                }
                publish.topic
            }
            None => publish.topic,
        };
        if publish.qos != QoS::AtMostOnce
            && let Some(granted) = self.granted_qos(topic)
            && publish.qos > granted
        {
            return Step::Error(ProtocolError::QoSAboveGranted {
                received: publish.qos as u8,
                granted: granted as u8,
            });
        }
        let Some(packet_id) = publish.packet_id else {
            return Step::Deliver { alias, token: None };
        };
        let manual = self.settings.manual_ack;
        if manual
            && publish.dup
            && self
                .receipts
                .find(self.store.receipts(), packet_id, publish.qos)
                .is_some()
        {
            // Sent again while the first copy awaits the application: its one acknowledgement answers both.
            return Step::Continue;
        }
        match publish.qos {
            QoS::AtMostOnce => Step::Deliver { alias, token: None },
            QoS::AtLeastOnce if manual => self.deliver_unacked(alias, packet_id, QoS::AtLeastOnce),
            QoS::AtLeastOnce => {
                self.queue_ack(PacketType::PubAck, packet_id, ReasonCode::SUCCESS);
                Step::Deliver { alias, token: None }
            }
            QoS::ExactlyOnce => {
                if self.store.qos2_contains(packet_id.get()) {
                    // Already delivered: acknowledge again, deliver nothing. `[MQTT-4.3.3-10]`
                    self.store.qos2_refresh(packet_id.get());
                    if !manual {
                        self.queue_ack(PacketType::PubRec, packet_id, ReasonCode::SUCCESS);
                    } else if self
                        .receipts
                        .find(self.store.receipts(), packet_id, QoS::ExactlyOnce)
                        .is_none()
                    {
                        // Its PUBREC went out on an earlier connection (or the application's ack of it was
                        // lost with that connection): PUBREC again, in order with the others.
                        let ring = self.store.receipts_mut();
                        let _ = self.receipts.push(ring, packet_id, QoS::ExactlyOnce, true);
                        self.outbox
                            .journal
                            .note(Notice::Qos2Received(packet_id.get()));
                    }
                    return Step::Continue;
                }
                if !self.qos2_insert(packet_id) {
                    let max = u16::try_from(self.store.qos2_capacity()).unwrap_or(u16::MAX);
                    return Step::Error(ProtocolError::ReceiveMaximumExceeded(max));
                }
                if manual {
                    // Stored once the application has it and its PUBREC is due (`ack`).
                    return self.deliver_unacked(alias, packet_id, QoS::ExactlyOnce);
                }
                // Stored once its PUBREC is about to go out (the application may still hold the message back).
                self.queue_ack(PacketType::PubRec, packet_id, ReasonCode::SUCCESS);
                Step::Deliver { alias, token: None }
            }
        }
    }

    /// Records a new incoming QoS 2 identifier; `false` if the table is full (the broker exceeds the Receive
    /// Maximum).
    ///
    /// A 5.0 broker keeps at most Receive Maximum QoS 1 and 2 messages in flight, each until PUBACK or PUBCOMP
    /// (`[MQTT-3.3.4-9]`), and every identifier in the table is in its flight until PUBREL, unless the broker lost
    /// the session at a CONNACK the client never read and resumed a new one with Session Present 1 (MQTT gives the
    /// client no way to see that). So a new identifier while the table is full proves that an identifier carried
    /// over from an earlier connection, which the broker has not mentioned since, is one it will never release
    /// nor send again: the oldest such is forgotten to make room. Without that the session would end every
    /// connection at the broker's next message, for ever. A 3.1.1 broker knows no such window, so nothing proves
    /// an identifier forgotten there: the table being full ends the connection, as `Config::receive_maximum`
    /// says.
    pub(super) fn qos2_insert(&mut self, packet_id: PacketId) -> bool {
        let id = packet_id.get();
        if self.store.qos2_insert(id) {
            return true;
        }
        if !self.version.is_v5() {
            return false;
        }
        let Some(forgotten) = self.store.qos2_forget_oldest_carried() else {
            return false;
        };
        self.outbox.journal.note(Notice::Qos2Released(forgotten));
        self.store.qos2_insert(id)
    }

    /// Whether `publish` is a new QoS 2 message from a 3.1.1 broker while the table of messages awaiting PUBREL
    /// is full (see [`Step::AwaitRelease`]). A 5.0 broker exceeding the Receive Maximum it was told is handled
    /// by `qos2_insert`.
    fn awaits_release(&self, publish: &Publish<'_>) -> bool {
        !self.version.is_v5()
            && publish.qos == QoS::ExactlyOnce
            && self.store.qos2_is_full()
            && publish
                .packet_id
                .is_some_and(|id| !self.store.qos2_contains(id.get()))
    }

    /// A QoS 1 or 2 message to deliver whose acknowledgement waits for the application (`manual_ack`).
    fn deliver_unacked(&mut self, alias: Option<u16>, packet_id: PacketId, qos: QoS) -> Step {
        // `process_packet` made sure there is room.
        let ring = self.store.receipts_mut();
        let token = self
            .receipts
            .push(ring, packet_id, qos, false)
            .map(AckToken);
        Step::Deliver { alias, token }
    }

    /// The QoS granted to the subscriptions matching `topic`, if the session knows any.
    fn granted_qos(&self, topic: &str) -> Option<QoS> {
        self.subscriptions
            .granted_qos(&self.subscriptions_buf, topic)
    }

    pub(super) fn queue_ack(
        &mut self,
        packet: PacketType,
        packet_id: PacketId,
        reason: ReasonCode,
    ) {
        if self.down_pending {
            // The transport is gone: the broker resends what it has no acknowledgement for.
            return;
        }
        let pushed = self.acks.push(PendingAck {
            packet,
            packet_id,
            reason,
            #[cfg(feature = "persist")]
            noted: false,
        });
        debug_assert!(pushed, "process_next checks for room");
    }

    fn unknown(packet: PacketType, packet_id: PacketId) -> Step {
        Step::Error(ProtocolError::UnknownPacketId {
            packet,
            packet_id: packet_id.get(),
        })
    }

    fn puback(&mut self, ack: &Ack<'_>) -> Step {
        if ack.reason.is_failure() {
            self.keep_reason_string(ack.properties.reason_string);
        }
        let ring = self.store.ring_mut();
        match self.outbox.find(ring, ack.packet_id) {
            Some((pos, h)) if h.state == Out::Sent && h.qos == QoS::AtLeastOnce => {
                self.outbox.complete(ring, pos);
                self.inflight = self.inflight.saturating_sub(1);
                self.events.push(completion(h.ticket, ack.reason));
                Step::Continue
            }
            Some((pos, h)) if !h.state.is_abandoned() => {
                self.wrong_ack(PacketType::PubAck, ack.packet_id, pos, h.ticket, h.qos)
            }
            _ => Self::unknown(PacketType::PubAck, ack.packet_id),
        }
    }

    fn pubrec(&mut self, ack: &Ack<'_>) -> Step {
        if ack.reason.is_failure() {
            self.keep_reason_string(ack.properties.reason_string);
        }
        let ring = self.store.ring_mut();
        match self.outbox.find(ring, ack.packet_id) {
            Some((pos, h))
                if h.qos == QoS::ExactlyOnce && h.state == Out::Sent && ack.reason.is_failure() =>
            {
                // A refused QoS 2 message ends here, without PUBREL. `[MQTT-4.3.3]`
                self.outbox.complete(ring, pos);
                self.inflight = self.inflight.saturating_sub(1);
                self.events.push(completion(h.ticket, ack.reason));
                Step::Continue
            }
            Some((pos, mut h))
                if h.qos == QoS::ExactlyOnce
                    && matches!(h.state, Out::Sent | Out::Released | Out::Rereleased) =>
            {
                if h.state == Out::Sent {
                    h.state = Out::Released;
                }
                self.outbox.set_header(ring, pos, &h);
                self.queue_ack(PacketType::PubRel, ack.packet_id, ReasonCode::SUCCESS);
                Step::Continue
            }
            Some((pos, h)) if h.qos == QoS::AtLeastOnce => {
                self.wrong_ack(PacketType::PubRec, ack.packet_id, pos, h.ticket, h.qos)
            }
            _ => Self::unknown(PacketType::PubRec, ack.packet_id),
        }
    }

    fn pubrel(&mut self, ack: &Ack<'_>) -> Step {
        if self.settings.manual_ack
            && self
                .receipts
                .find(self.store.receipts(), ack.packet_id, QoS::ExactlyOnce)
                .is_some()
        {
            // The broker releases a message whose PUBREC it cannot have received. `[MQTT-4.3.3]`
            return Step::Error(ProtocolError::UnexpectedPacket(PacketType::PubRel));
        }
        let known = self.store.qos2_remove(ack.packet_id.get());
        if known {
            self.outbox
                .journal
                .note(Notice::Qos2Released(ack.packet_id.get()));
        }
        let reason = if known || !self.version.is_v5() {
            ReasonCode::SUCCESS
        } else {
            ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
        };
        self.queue_ack(PacketType::PubComp, ack.packet_id, reason);
        Step::Continue
    }

    fn pubcomp(&mut self, ack: &Ack<'_>) -> Step {
        if ack.reason.is_failure() {
            self.keep_reason_string(ack.properties.reason_string);
        }
        let ring = self.store.ring_mut();
        match self.outbox.find(ring, ack.packet_id) {
            Some((pos, h)) if h.state.is_abandoned() => {
                // The identifier of a message given up as poison is free again; it was reported then.
                self.outbox.advance_cursor(ring, pos);
                self.outbox.complete(ring, pos);
                self.inflight = self.inflight.saturating_sub(1);
                Step::Continue
            }
            Some((pos, h))
                if h.qos == QoS::ExactlyOnce
                    && matches!(
                        h.state,
                        Out::Released | Out::ReleasePending | Out::Rereleased
                    ) =>
            {
                // 0x92 Packet Identifier not found "is not an error during recovery" (5.0 §3.7.2.1): a PUBREL sent
                // again after a reconnect finds the flow completed, its PUBCOMP lost with the old connection. On
                // the connection that got PUBREC, it means the broker lost the message: it failed.
                let recovered = h.state != Out::Released
                    && ack.reason == ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
                let reason = if recovered {
                    ReasonCode::SUCCESS
                } else {
                    ack.reason
                };
                self.outbox.complete(ring, pos);
                self.inflight = self.inflight.saturating_sub(1);
                self.events.push(completion(h.ticket, reason));
                Step::Continue
            }
            Some((pos, h)) => {
                self.wrong_ack(PacketType::PubComp, ack.packet_id, pos, h.ticket, h.qos)
            }
            None => Self::unknown(PacketType::PubComp, ack.packet_id),
        }
    }

    /// An acknowledgement of the wrong kind for the message in flight with its packet identifier: the message
    /// fails with that cause, so that it is not sent again, and the connection closes (a protocol error).
    fn wrong_ack(
        &mut self,
        packet: PacketType,
        packet_id: PacketId,
        pos: usize,
        ticket: u32,
        qos: QoS,
    ) -> Step {
        let ring = self.store.ring_mut();
        self.outbox.advance_cursor(ring, pos);
        self.outbox.complete(ring, pos);
        self.inflight = self.inflight.saturating_sub(1);
        self.events.push(OwnedEvent::PublishFailed(
            Ticket(ticket),
            PublishFailure::WrongAck { received: packet },
        ));
        Step::Error(ProtocolError::WrongAck {
            packet,
            packet_id: packet_id.get(),
            qos: qos as u8,
        })
    }

    /// SUBACK or UNSUBACK: settle the entries of the request with this packet identifier.
    fn request_acked(
        &mut self,
        packet: PacketType,
        packet_id: PacketId,
        reasons: List<'_, ReasonCode>,
    ) -> Step {
        let sent = if packet == PacketType::SubAck {
            Sub::SubscribeSent
        } else {
            Sub::UnsubscribeSent
        };
        let mut ticket = None;
        let mut expected: u16 = 0;
        let mut pos = self.subscriptions.first();
        while let Some(p) = pos {
            if let Some((e, _)) = self.subscriptions.get(&self.subscriptions_buf, p)
                && e.state == sent
                && e.packet_id == Some(packet_id)
            {
                ticket = Some(e.ticket);
                expected = expected.saturating_add(1);
            }
            pos = self.subscriptions.next(&self.subscriptions_buf, p);
        }
        let Some(ticket) = ticket else {
            return Self::unknown(packet, packet_id);
        };
        let received = u16::try_from(reasons.len()).unwrap_or(u16::MAX);
        let counted = packet == PacketType::SubAck || self.version.is_v5();
        if counted && received != expected {
            return Step::Error(ProtocolError::ReasonCountMismatch {
                packet,
                expected,
                received,
            });
        }
        // Entry by entry in request order: the request's filters, each with its code (3.1.1 UNSUBACK: none).
        let mut codes = reasons.iter();
        while let Some(pos) = self
            .subscriptions
            .find_sent(&self.subscriptions_buf, sent, packet_id)
        {
            let code = codes.next().unwrap_or(ReasonCode::SUCCESS);
            self.subscriptions
                .settle(&mut self.subscriptions_buf, pos, code);
        }
        if packet == PacketType::SubAck {
            Step::SubAck(Ticket(ticket))
        } else {
            Step::UnsubAck(Ticket(ticket))
        }
    }
}

fn completion(ticket: u32, reason: ReasonCode) -> OwnedEvent {
    if reason.is_failure() {
        OwnedEvent::PublishFailed(Ticket(ticket), PublishFailure::Rejected(reason))
    } else {
        OwnedEvent::Published(Ticket(ticket))
    }
}
