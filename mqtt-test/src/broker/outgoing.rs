//! The broker's side of the QoS flows towards the client: routing, the client's Receive Maximum, topic aliases,
//! resending on a resumed session, and the acknowledgements the client sends back.

use std::num::NonZeroU16;

use mqtt_core::codec::{
    Ack, List, Packet, PacketId, ProtocolVersion, Publish, PublishProperties, QoS, ReasonCode,
    SubscriptionId,
};
use mqtt_core::topic;

use super::{ClientSession, FakeBroker, Message};

/// Where a message towards the client is in its QoS flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutState {
    /// Not sent yet (waiting for the connection or the client's Receive Maximum).
    Queued,
    /// PUBLISH sent, waiting for PUBACK or PUBREC.
    Sent,
    /// PUBREC received and PUBREL sent, waiting for PUBCOMP.
    Released,
}

/// A message towards the client, held in its session until its flow completes.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    pub(super) message: Message,
    pub(super) packet_id: Option<PacketId>,
    pub(super) state: OutState,
}

impl FakeBroker {
    pub(super) fn on_puback(&mut self, a: &Ack<'_>) {
        match self.find_outgoing(a.packet_id, QoS::AtLeastOnce, &[OutState::Sent]) {
            Some(i) => {
                self.check_ack_order(i, QoS::AtLeastOnce, "PUBACK", "[MQTT-4.6.0-2]");
                self.remove_outgoing(i);
                self.flush_outgoing();
            }
            None => self.violation(format!(
                "PUBACK for unknown packet identifier {}",
                a.packet_id
            )),
        }
    }

    pub(super) fn on_pubrec(&mut self, version: ProtocolVersion, a: &Ack<'_>) {
        match self.find_outgoing(
            a.packet_id,
            QoS::ExactlyOnce,
            &[OutState::Sent, OutState::Released],
        ) {
            Some(i) if a.reason.is_failure() => {
                self.remove_outgoing(i);
                self.flush_outgoing();
            }
            Some(i) => {
                self.check_ack_order(i, QoS::ExactlyOnce, "PUBREC", "[MQTT-4.6.0-3]");
                if let Some(o) = self.session.as_mut().and_then(|s| s.outgoing.get_mut(i)) {
                    o.state = OutState::Released;
                }
                self.send(Packet::PubRel(Ack::new(a.packet_id)));
            }
            None => {
                self.violation(format!(
                    "PUBREC for unknown packet identifier {}",
                    a.packet_id
                ));
                let mut rel = Ack::new(a.packet_id);
                if version == ProtocolVersion::V5 {
                    rel.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
                }
                self.send(Packet::PubRel(rel));
            }
        }
    }

    pub(super) fn on_pubcomp(&mut self, a: &Ack<'_>) {
        match self.find_outgoing(a.packet_id, QoS::ExactlyOnce, &[OutState::Released]) {
            Some(i) => {
                self.remove_outgoing(i);
                self.flush_outgoing();
            }
            None => self.violation(format!(
                "PUBCOMP for unknown packet identifier {}",
                a.packet_id
            )),
        }
    }

    /// Delivers `message` to the client if one of its subscriptions matches (once, at the highest granted QoS).
    pub(super) fn route(&mut self, message: &Message, from_client: bool) -> bool {
        let Some(session) = &self.session else {
            return false;
        };
        let best = session
            .subscriptions
            .iter()
            .filter(|s| {
                !(from_client && s.options.no_local) && topic::matches(&s.filter, &message.topic)
            })
            .map(|s| (s.granted, s.options.retain_as_published))
            .max();
        let Some((granted, retain_as_published)) = best else {
            return false;
        };
        let v5 = self.conn.as_ref().and_then(|c| c.version) == Some(ProtocolVersion::V5);
        self.queue_to_client(Message::new(
            message.topic.clone(),
            message.payload.clone(),
            message.qos.min(granted),
            message.retain && retain_as_published && v5,
        ));
        self.flush_outgoing();
        true
    }

    pub(super) fn queue_to_client(&mut self, message: Message) {
        if message.qos == QoS::AtMostOnce && self.conn.is_none() {
            return;
        }
        if let Some(session) = &mut self.session {
            session.outgoing.push(Outgoing {
                message,
                packet_id: None,
                state: OutState::Queued,
            });
        }
    }

    /// Sends what the client's Receive Maximum allows, in order.
    pub(super) fn flush_outgoing(&mut self) {
        let Some(conn) = self.conn.as_ref().filter(|c| c.accepted) else {
            return;
        };
        let window = usize::from(conn.client_receive_maximum);
        // Counted once and kept up to date: a long queue behind a full window costs one pass, not one per entry.
        let mut inflight = self.session.as_ref().map_or(0, |s| {
            s.outgoing
                .iter()
                .filter(|o| o.state != OutState::Queued)
                .count()
        });
        let mut i = 0;
        loop {
            let Some(session) = self.session.as_mut() else {
                return;
            };
            let Some(o) = session.outgoing.get(i) else {
                return;
            };
            if o.state != OutState::Queued {
                i += 1;
                continue;
            }
            if o.message.qos == QoS::AtMostOnce {
                let o = session.outgoing.remove(i);
                self.publish_to_client(&o.message, None, false);
                continue;
            }
            if inflight >= window {
                return;
            }
            let packet_id = next_packet_id(session);
            let Some(o) = session.outgoing.get_mut(i) else {
                return;
            };
            o.packet_id = Some(packet_id);
            o.state = OutState::Sent;
            let message = o.message.clone();
            if !self.publish_to_client(&message, Some(packet_id), false) {
                self.remove_outgoing(i);
                continue;
            }
            inflight += 1;
            i += 1;
        }
    }

    /// After CONNACK with Session Present: resend unacknowledged PUBLISH packets with DUP, and PUBREL for those
    /// past PUBREC. `[MQTT-4.4.0-1]`
    pub(super) fn resend_inflight(&mut self) {
        let Some(session) = &self.session else {
            return;
        };
        let resend: Vec<(Message, Option<PacketId>, OutState)> = session
            .outgoing
            .iter()
            .filter(|o| o.state != OutState::Queued)
            .map(|o| (o.message.clone(), o.packet_id, o.state))
            .collect();
        for (message, packet_id, state) in resend {
            match (state, packet_id) {
                (OutState::Released, Some(id)) => self.send(Packet::PubRel(Ack::new(id))),
                _ => {
                    self.publish_to_client(&message, packet_id, true);
                }
            }
        }
    }

    /// Sends one PUBLISH to the client; `false` if it exceeds the client's Maximum Packet Size (discarded).
    fn publish_to_client(
        &mut self,
        message: &Message,
        packet_id: Option<PacketId>,
        dup: bool,
    ) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let Some(version) = conn.version else {
            return false;
        };
        // The identifiers of every subscription the message matches, once each. `[MQTT-3.3.4-3]`, `[MQTT-3.3.4-5]`
        let mut ids: Vec<SubscriptionId> = Vec::new();
        if version == ProtocolVersion::V5
            && let Some(session) = &self.session
        {
            for s in &session.subscriptions {
                if let Some(id) = s.subscription_id
                    && topic::matches(&s.filter, &message.topic)
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
        }
        let mut publish = Publish {
            dup,
            qos: message.qos,
            retain: message.retain,
            topic: &message.topic,
            packet_id,
            properties: PublishProperties {
                subscription_identifiers: List::new(&ids),
                ..PublishProperties::default()
            },
            payload: &message.payload,
        };
        let size = Packet::Publish(publish).encoded_len(version);
        if u32::try_from(size).map_or(true, |s| s > conn.client_maximum_packet_size) {
            self.discarded += 1;
            return false;
        }
        if self.config.topic_aliases_to_client
            && version == ProtocolVersion::V5
            && conn.client_topic_alias_maximum > 0
        {
            let next = u16::try_from(conn.aliases_to_client.len() + 1).unwrap_or(u16::MAX);
            match conn.aliases_to_client.get(&message.topic) {
                Some(&alias) => {
                    publish.topic = "";
                    publish.properties.topic_alias = NonZeroU16::new(alias);
                }
                None if next <= conn.client_topic_alias_maximum => {
                    conn.aliases_to_client.insert(message.topic.clone(), next);
                    publish.properties.topic_alias = NonZeroU16::new(next);
                }
                None => {}
            }
        }
        self.delivered.push(Message {
            dup,
            packet_id: packet_id.map(PacketId::get),
            topic_alias: publish.properties.topic_alias.map(NonZeroU16::get),
            ..message.clone()
        });
        self.send(Packet::Publish(publish));
        true
    }

    /// A first acknowledgement (PUBACK, or PUBREC of a message not released yet) must be for the oldest message of
    /// its QoS still awaiting one: the client acknowledges in the order the PUBLISH packets were received. The
    /// broker sends (and, on a resumed session, resends) its messages in the order of its list.
    fn check_ack_order(&mut self, i: usize, qos: QoS, packet: &str, rule: &str) {
        let Some(session) = &self.session else {
            return;
        };
        let oldest = session
            .outgoing
            .iter()
            .position(|o| o.state == OutState::Sent && o.message.qos == qos);
        let Some(oldest) = oldest.filter(|&oldest| oldest != i) else {
            return;
        };
        let ids = |k: usize| session.outgoing.get(k).and_then(|o| o.packet_id);
        let (acked, expected) = (ids(i), ids(oldest));
        let state = session.outgoing.get(i).map(|o| o.state);
        if state == Some(OutState::Sent) {
            self.violation(format!(
                "{packet} for packet identifier {acked:?} before the one for {expected:?}, whose PUBLISH was sent                  first {rule}"
            ));
        }
    }

    fn find_outgoing(&self, packet_id: PacketId, qos: QoS, states: &[OutState]) -> Option<usize> {
        self.session.as_ref()?.outgoing.iter().position(|o| {
            o.packet_id == Some(packet_id) && o.message.qos == qos && states.contains(&o.state)
        })
    }

    fn remove_outgoing(&mut self, i: usize) {
        if let Some(session) = &mut self.session
            && i < session.outgoing.len()
        {
            session.outgoing.remove(i);
        }
    }
}

/// A packet identifier not used by any message in flight towards the client.
fn next_packet_id(session: &mut ClientSession) -> PacketId {
    loop {
        let candidate = PacketId::new(session.next_packet_id).unwrap_or(PacketId::MIN);
        session.next_packet_id = session.next_packet_id.checked_add(1).unwrap_or(1);
        if !session
            .outgoing
            .iter()
            .any(|o| o.packet_id == Some(candidate))
        {
            return candidate;
        }
    }
}
