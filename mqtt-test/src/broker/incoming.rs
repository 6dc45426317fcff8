//! The broker's side of what the client sends: decoding the byte stream, CONNECT and the session it resumes, the
//! client's messages and their QoS flows, SUBSCRIBE, UNSUBSCRIBE and DISCONNECT.

use super::*;
use crate::broker::config::V5Connect;

impl FakeBroker {
    pub(super) fn process(&mut self) {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let version = match conn.version {
                Some(v) => v,
                None => match codec::connect_version(&conn.rx) {
                    Ok(Some(v)) => *conn.version.insert(v),
                    Ok(None) => return,
                    Err(e) => {
                        self.violation(format!(
                            "the first packet is not a CONNECT this broker speaks: {e}"
                        ));
                        self.close_connection();
                        return;
                    }
                },
            };
            let max = self.config.maximum_packet_size.unwrap_or(u32::MAX);
            let rx = std::mem::take(&mut conn.rx);
            let used = match codec::decode(&rx, version, max) {
                Ok(None) => 0,
                Ok(Some((packet, used))) => {
                    self.log
                        .push(PacketRecord::new(Direction::ClientToBroker, &packet));
                    self.handle_packet(version, &packet);
                    used
                }
                Err(DecodeError::PacketTooLarge { size, max }) => {
                    self.fail(
                        ReasonCode::PACKET_TOO_LARGE,
                        format!("packet of {size} bytes exceeds the Maximum Packet Size {max}"),
                    );
                    return;
                }
                Err(e) => {
                    self.fail(
                        ReasonCode::MALFORMED_PACKET,
                        format!("malformed packet: {e}"),
                    );
                    return;
                }
            };
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            conn.rx = rx;
            conn.rx.drain(..used);
            if used == 0 {
                return;
            }
        }
    }

    pub(super) fn handle_packet(&mut self, version: ProtocolVersion, packet: &Packet<'_>) {
        let Some(conn) = &self.conn else {
            return;
        };
        let (connect_seen, accepted) = (conn.connect_seen, conn.accepted);
        match packet {
            Packet::Connect(c) if !connect_seen => self.on_connect(version, c),
            Packet::Connect(_) => {
                self.fail(ReasonCode::PROTOCOL_ERROR, "a second CONNECT".to_owned());
            }
            Packet::Auth(a) => self.on_auth(version, a),
            other if !accepted => {
                self.violation(format!(
                    "{} before an accepted CONNECT",
                    other.packet_type()
                ));
                self.close_connection();
            }
            Packet::Publish(p) => self.on_publish(version, p),
            Packet::PubAck(a) => self.on_puback(a),
            Packet::PubRec(a) => self.on_pubrec(version, a),
            Packet::PubRel(a) => self.on_pubrel(version, a),
            Packet::PubComp(a) => self.on_pubcomp(a),
            Packet::Subscribe(s) => self.on_subscribe(version, s),
            Packet::Unsubscribe(u) => self.on_unsubscribe(version, u),
            Packet::PingReq => {
                self.pings += 1;
                if self.config.answer_pings {
                    self.send(Packet::PingResp);
                }
            }
            Packet::Disconnect(d) => self.on_disconnect(d),
            other => self.fail(
                ReasonCode::PROTOCOL_ERROR,
                format!("the client sent {}", other.packet_type()),
            ),
        }
    }

    pub(super) fn on_connect(&mut self, version: ProtocolVersion, c: &Connect<'_>) {
        let p = &c.properties;
        let mut record = ConnectRecord {
            version,
            client_id: c.client_id.to_owned(),
            effective_client_id: c.client_id.to_owned(),
            clean_start: c.clean_start,
            keep_alive: c.keep_alive,
            session_expiry_interval: p.session_expiry_interval.unwrap_or(0),
            receive_maximum: p.receive_maximum.map(NonZeroU16::get),
            maximum_packet_size: p.maximum_packet_size.map(NonZeroU32::get),
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
            username: c.username.map(str::to_owned),
            password: c.password.map(<[u8]>::to_vec),
            will: c
                .will
                .map(|w| Message::new(w.topic, w.payload, w.qos, w.retain)),
            reason: ReasonCode::SUCCESS,
            session_present: false,
        };
        let authenticated = match &mut self.conn {
            Some(conn) => {
                conn.connect_seen = true;
                conn.authenticated
            }
            None => false,
        };
        if !self.config.answer_connect {
            // A hung node: the connection stays open and silent.
            self.connections.push(record);
            return;
        }
        if version == ProtocolVersion::V5 && self.config.v5_connect != V5Connect::Accept {
            record.reason = ReasonCode::UNSUPPORTED_PROTOCOL_VERSION;
            self.connections.push(record);
            match self.config.v5_connect {
                V5Connect::RefuseAsV311 => self.tx.extend_from_slice(&[0x20, 0x02, 0x00, 0x01]),
                V5Connect::RefuseAsV5 => self.send(Packet::ConnAck(ConnAck {
                    session_present: false,
                    reason: ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                    properties: ConnAckProperties::default(),
                })),
                V5Connect::Close | V5Connect::Accept => {}
            }
            self.close_connection();
            return;
        }
        // 3.1.1: an empty client identifier needs Clean Session 1. `[MQTT-3.1.3-8]`
        let refusal = self.config.refuse_connect.or_else(|| {
            (version == ProtocolVersion::V311 && c.client_id.is_empty() && !c.clean_start)
                .then_some(ReasonCode(2))
        });
        let redirect = self
            .config
            .redirect
            .clone()
            .filter(|_| version == ProtocolVersion::V5);
        if let Some(reason) = refusal.or(redirect.as_ref().map(|(code, _)| *code)) {
            record.reason = reason;
            self.connections.push(record);
            self.send(Packet::ConnAck(ConnAck {
                session_present: false,
                reason,
                properties: ConnAckProperties {
                    server_reference: redirect.as_ref().map(|(_, to)| to.as_str()),
                    ..ConnAckProperties::default()
                },
            }));
            self.close_connection();
            return;
        }
        if let Some(auth) = self
            .config
            .auth
            .clone()
            .filter(|_| version == ProtocolVersion::V5)
            && !authenticated
        {
            if p.authentication_method != Some(auth.method.as_str()) {
                record.reason = ReasonCode::BAD_AUTHENTICATION_METHOD;
                self.connections.push(record);
                self.send(Packet::ConnAck(ConnAck {
                    reason: ReasonCode::BAD_AUTHENTICATION_METHOD,
                    ..ConnAck::default()
                }));
                self.close_connection();
                return;
            }
            // The CONNECT waits for the exchange: the server challenges first.
            let connect = Packet::Connect(*c);
            let mut encoded = vec![0; connect.encoded_len(version)];
            if connect.encode(version, &mut encoded).is_err() {
                return;
            }
            let client_nonce = p.authentication_data.unwrap_or_default().to_vec();
            if let Some(conn) = &mut self.conn {
                conn.pending_connect = Some(encoded);
            }
            self.challenge(&auth, client_nonce, false);
            return;
        }
        let assigned = c.client_id.is_empty();
        if assigned {
            self.assigned_ids += 1;
            record.effective_client_id =
                format!("{}{}", self.config.assigned_id_prefix, self.assigned_ids);
        }
        let client_id = record.effective_client_id.clone();
        let forget = std::mem::take(&mut self.forget_next);
        let present = !c.clean_start
            && !forget
            && self.config.keep_sessions
            && self
                .session
                .as_ref()
                .is_some_and(|s| s.client_id == client_id);
        if !present {
            self.session = Some(ClientSession {
                client_id: client_id.clone(),
                persistent: false,
                subscriptions: Vec::new(),
                outgoing: Vec::new(),
                awaiting_pubrel: BTreeSet::new(),
                next_packet_id: 1,
            });
        }
        if let Some(session) = &mut self.session {
            session.persistent = match version {
                ProtocolVersion::V5 => record.session_expiry_interval > 0,
                _ => !c.clean_start,
            };
        }
        if let Some(conn) = &mut self.conn {
            conn.accepted = true;
            conn.client_receive_maximum = p.receive_maximum.map_or(u16::MAX, NonZeroU16::get);
            conn.client_maximum_packet_size =
                p.maximum_packet_size.map_or(u32::MAX, NonZeroU32::get);
            conn.client_topic_alias_maximum = p.topic_alias_maximum.unwrap_or(0);
            conn.will = record.will.clone();
        }
        record.session_present = present || self.config.claim_session_present;
        let claimed = record.session_present;
        self.connections.push(record);
        let response_information = self.config.response_information.clone();
        let auth_method = authenticated
            .then(|| self.config.auth.as_ref().map(|a| a.method.clone()))
            .flatten();
        let properties = if version == ProtocolVersion::V5 {
            ConnAckProperties {
                receive_maximum: self.config.receive_maximum.and_then(NonZeroU16::new),
                maximum_packet_size: self.config.maximum_packet_size.and_then(NonZeroU32::new),
                topic_alias_maximum: self.config.topic_alias_maximum.filter(|&m| m > 0),
                server_keep_alive: self.config.server_keep_alive,
                maximum_qos: (self.config.maximum_qos < QoS::ExactlyOnce)
                    .then_some(self.config.maximum_qos),
                retain_available: (!self.config.retain_available).then_some(false),
                shared_subscription_available: (self.config.announce_support
                    && !self.config.shared_subscriptions)
                    .then_some(false),
                wildcard_subscription_available: (self.config.announce_support
                    && !self.config.wildcard_subscriptions)
                    .then_some(false),
                assigned_client_identifier: assigned.then_some(client_id.as_str()),
                response_information: response_information
                    .as_deref()
                    .filter(|_| p.request_response_information == Some(true)),
                authentication_method: auth_method.as_deref(),
                ..ConnAckProperties::default()
            }
        } else {
            ConnAckProperties::default()
        };
        self.send(Packet::ConnAck(ConnAck {
            session_present: claimed,
            reason: ReasonCode::SUCCESS,
            properties,
        }));
        if present {
            self.resend_inflight();
        }
        self.flush_outgoing();
        if self.config.drop_after_connack {
            self.close_connection();
        }
    }

    pub(super) fn on_publish(&mut self, version: ProtocolVersion, p: &Publish<'_>) {
        if version == ProtocolVersion::V5 {
            if p.qos > self.config.maximum_qos {
                return self.fail(
                    ReasonCode::QOS_NOT_SUPPORTED,
                    format!("PUBLISH at QoS {} above the Maximum QoS", p.qos as u8),
                );
            }
            if p.retain && !self.config.retain_available {
                return self.fail(
                    ReasonCode::RETAIN_NOT_SUPPORTED,
                    "retained PUBLISH although Retain Available is 0".to_owned(),
                );
            }
        }
        let alias_max = self.config.topic_alias_maximum.unwrap_or(0);
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let topic = match p.properties.topic_alias.map(NonZeroU16::get) {
            Some(alias) if alias > alias_max => {
                return self.fail(
                    ReasonCode::TOPIC_ALIAS_INVALID,
                    format!("topic alias {alias} above the Topic Alias Maximum {alias_max}"),
                );
            }
            Some(alias) if p.topic.is_empty() => match conn.aliases_from_client.get(&alias) {
                Some(topic) => topic.clone(),
                None => {
                    return self.fail(
                        ReasonCode::PROTOCOL_ERROR,
                        format!("unknown topic alias {alias}"),
                    );
                }
            },
            Some(alias) => {
                conn.aliases_from_client.insert(alias, p.topic.to_owned());
                p.topic.to_owned()
            }
            None => p.topic.to_owned(),
        };
        let message = Message::from_publish(p, &topic);
        let Some(packet_id) = p.packet_id else {
            return self.accept(message);
        };
        if p.qos == QoS::ExactlyOnce && self.config.qos2_as_qos1 {
            self.accept(message);
            return self.ack(PacketType::PubAck, packet_id, ReasonCode::SUCCESS);
        }
        let in_flight_before = self.inflight_from_client();
        let receive_maximum = self.config.receive_maximum.unwrap_or(u16::MAX);
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let (ack, already) = match p.qos {
            QoS::AtLeastOnce => (
                PacketType::PubAck,
                conn.held
                    .iter()
                    .any(|h| h.packet == PacketType::PubAck && h.packet_id == packet_id),
            ),
            _ => (
                PacketType::PubRec,
                session.awaiting_pubrel.contains(&packet_id.get()),
            ),
        };
        if already && !p.dup {
            self.violation(format!(
                "new PUBLISH (DUP 0) reuses packet identifier {packet_id} still in flight"
            ));
        }
        if version == ProtocolVersion::V5
            && !already
            && in_flight_before >= usize::from(receive_maximum)
        {
            return self.fail(
                ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                format!(
                    "more than Receive Maximum {receive_maximum} QoS 1 and 2 messages in flight"
                ),
            );
        }
        match p.qos {
            QoS::ExactlyOnce if already => {
                // Exactly once: a resend before PUBREL is acknowledged again, not accepted again.
            }
            QoS::ExactlyOnce => {
                if let Some(session) = self.session.as_mut() {
                    session.awaiting_pubrel.insert(packet_id.get());
                }
                self.accept(message);
            }
            _ => self.accept(message),
        }
        self.ack(ack, packet_id, ReasonCode::SUCCESS);
    }

    /// QoS 1 and 2 messages from the client whose acknowledgement (PUBACK, PUBCOMP) is not sent yet.
    pub(super) fn inflight_from_client(&self) -> usize {
        let held = self.conn.as_ref().map_or(0, |c| {
            c.held
                .iter()
                .filter(|h| matches!(h.packet, PacketType::PubAck | PacketType::PubComp))
                .count()
        });
        held + self.session.as_ref().map_or(0, |s| s.awaiting_pubrel.len())
    }

    /// A message from the client is accepted: record, retain, route.
    pub(super) fn accept(&mut self, message: Message) {
        self.store_retained(&message);
        self.route(&message, true);
        self.received.push(message);
    }

    pub(super) fn on_pubrel(&mut self, version: ProtocolVersion, a: &Ack<'_>) {
        let known = self
            .session
            .as_mut()
            .is_some_and(|s| s.awaiting_pubrel.remove(&a.packet_id.get()));
        let reason = match (known, version) {
            (_, ProtocolVersion::V311) => ReasonCode::SUCCESS,
            (true, _) => self.config.pubcomp_reason,
            (false, _) => ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        };
        self.ack(PacketType::PubComp, a.packet_id, reason);
    }

    pub(super) fn on_subscribe(&mut self, version: ProtocolVersion, s: &Subscribe<'_>) {
        // What this broker does not support ends the connection (5.0 allows it; ejabberd does it for `$share/`).
        let unsupported = s.filters.iter().find_map(|sub| {
            if !self.config.shared_subscriptions && topic::is_shared(sub.filter) {
                Some(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED)
            } else if !self.config.wildcard_subscriptions && sub.filter.contains(['+', '#']) {
                Some(ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED)
            } else {
                None
            }
        });
        if let Some(reason) = unsupported {
            return self.send_disconnect(reason);
        }
        let mut codes = Vec::new();
        let mut retained = Vec::new();
        let max_qos = self.config.maximum_qos;
        for sub in &s.filters {
            if self.config.refused_filters.iter().any(|f| f == sub.filter) {
                codes.push(match version {
                    ProtocolVersion::V5 => self.config.subscribe_refusal,
                    _ => ReasonCode::UNSPECIFIED_ERROR,
                });
                continue;
            }
            let granted = sub.options.qos.min(max_qos);
            let Some(session) = self.session.as_mut() else {
                return;
            };
            let entry = BrokerSubscription {
                filter: sub.filter.to_owned(),
                options: sub.options,
                granted,
                subscription_id: s.properties.subscription_identifier,
            };
            let existed = match session
                .subscriptions
                .iter_mut()
                .find(|e| e.filter == sub.filter)
            {
                Some(e) => {
                    *e = entry;
                    true
                }
                None => {
                    session.subscriptions.push(entry);
                    false
                }
            };
            codes.push(ReasonCode(granted as u8));
            let send_retained = !topic::is_shared(sub.filter)
                && match sub.options.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendAtSubscribeIfNew => !existed,
                    RetainHandling::DoNotSend => false,
                };
            if send_retained {
                retained.extend(
                    self.retained
                        .values()
                        .filter(|m| topic::matches(sub.filter, &m.topic))
                        .map(|m| (m.clone(), granted)),
                );
            }
        }
        let suback = |broker: &mut Self| {
            broker.send(Packet::SubAck(SubAck {
                packet_id: s.packet_id,
                properties: Default::default(),
                reasons: List::new(&codes),
            }));
        };
        let before = self.config.retained_before_suback;
        if !before {
            suback(self);
        }
        for (message, granted) in retained {
            let qos = message.qos.min(granted);
            self.queue_to_client(Message {
                qos,
                retain: true,
                ..message
            });
        }
        self.flush_outgoing();
        if before {
            suback(self);
        }
    }

    pub(super) fn on_unsubscribe(&mut self, version: ProtocolVersion, u: &Unsubscribe<'_>) {
        let mut codes = Vec::new();
        for filter in &u.filters {
            let removed = self.session.as_mut().is_some_and(|s| {
                let before = s.subscriptions.len();
                s.subscriptions.retain(|e| e.filter != filter);
                s.subscriptions.len() < before
            });
            codes.push(if removed {
                ReasonCode::SUCCESS
            } else {
                ReasonCode::NO_SUBSCRIPTION_EXISTED
            });
        }
        if version != ProtocolVersion::V5 {
            codes.clear();
        }
        self.send(Packet::UnsubAck(UnsubAck {
            packet_id: u.packet_id,
            properties: Default::default(),
            reasons: List::new(&codes),
        }));
    }

    pub(super) fn on_disconnect(&mut self, d: &Disconnect<'_>) {
        if let (Some(expiry), Some(session)) =
            (d.properties.session_expiry_interval, self.session.as_mut())
        {
            session.persistent = expiry > 0;
        }
        let graceful = d.reason != ReasonCode::DISCONNECT_WITH_WILL_MESSAGE;
        self.end_connection(graceful);
        self.close_pending = true;
    }

    /// Sends the server's challenge and proof for the client's nonce (AUTH Continue authentication).
    fn challenge(&mut self, auth: &BrokerAuth, client_nonce: Vec<u8>, reauth: bool) {
        self.nonces += 1;
        let server_nonce = format!("s-nonce-{}", self.nonces);
        let key = match auth.tamper_proof {
            true => b"not the key".as_slice(),
            false => &auth.key,
        };
        let proof = crate::auth::proof(key, &[b"server", &client_nonce, server_nonce.as_bytes()]);
        let data = format!("{server_nonce}:{proof}");
        let method = match auth.wrong_method {
            true => "SOMETHING-ELSE",
            false => auth.method.as_str(),
        };
        self.send(Packet::Auth(codec::Auth {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: codec::AuthProperties {
                authentication_method: Some(method),
                authentication_data: Some(data.as_bytes()),
                ..Default::default()
            },
        }));
        if let Some(conn) = &mut self.conn {
            conn.auth = Some((client_nonce, server_nonce, reauth));
        }
    }

    /// An AUTH from the client: its answer to the challenge, or a re-authentication.
    pub(super) fn on_auth(&mut self, version: ProtocolVersion, a: &codec::Auth<'_>) {
        let Some(auth) = self.config.auth.clone() else {
            return self.fail(
                ReasonCode::PROTOCOL_ERROR,
                "AUTH without enhanced authentication".to_owned(),
            );
        };
        if a.properties.authentication_method != Some(auth.method.as_str()) {
            return self.fail(
                ReasonCode::PROTOCOL_ERROR,
                "AUTH with another authentication method [MQTT-4.12.0-5]".to_owned(),
            );
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let data = a.properties.authentication_data.unwrap_or_default();
        match (a.reason, conn.auth.take()) {
            (ReasonCode::CONTINUE_AUTHENTICATION, Some((client_nonce, server_nonce, reauth))) => {
                let expected = crate::auth::proof(
                    &auth.key,
                    &[b"client", &client_nonce, server_nonce.as_bytes()],
                );
                let right = expected.as_bytes() == data;
                match (right, reauth) {
                    (true, false) => {
                        conn.authenticated = true;
                        self.authentications += 1;
                        let Some(encoded) = conn.pending_connect.take() else {
                            return;
                        };
                        if let Ok(Some((Packet::Connect(c), _))) =
                            codec::decode(&encoded, version, u32::MAX)
                        {
                            self.on_connect(version, &c);
                        }
                    }
                    (true, true) => {
                        self.reauthentications += 1;
                        self.send(Packet::Auth(codec::Auth {
                            reason: ReasonCode::SUCCESS,
                            properties: codec::AuthProperties {
                                authentication_method: Some(auth.method.as_str()),
                                ..Default::default()
                            },
                        }));
                    }
                    (false, false) => {
                        self.violation("a wrong answer to the challenge".to_owned());
                        self.send(Packet::ConnAck(ConnAck {
                            reason: ReasonCode::NOT_AUTHORIZED,
                            ..ConnAck::default()
                        }));
                        self.close_connection();
                    }
                    (false, true) => self.send_disconnect(ReasonCode::NOT_AUTHORIZED),
                }
            }
            (ReasonCode::RE_AUTHENTICATE, None) if conn.accepted => {
                self.challenge(&auth, data.to_vec(), true);
            }
            (reason, _) => self.fail(
                ReasonCode::PROTOCOL_ERROR,
                format!("AUTH {reason} out of turn"),
            ),
        }
    }
}
