//! Application commands: connect, reconnect, disconnect, publish, subscribe and unsubscribe. Commands only queue
//! work; the bytes go out through `poll_transmit`.

#[cfg(doc)]
use super::Event;
use super::event::OwnedEvent;
use super::{Disconnection, Partial, Session, SessionState, Ticket, Timer, outbox, subscriptions};
use crate::codec::{self, List, PacketId, Publish, QoS, Subscription, SubscriptionOptions};
use crate::error::{PublishError, SubscribeError};
use crate::time::Instant;
use crate::topic;

impl Session<'_> {
    /// After `disconnect` (or giving up), new messages and requests are refused until `connect`.
    fn closed_to_commands(&self) -> bool {
        matches!(
            self.state,
            SessionState::Disconnecting | SessionState::Closed
        )
    }

    /// Connects now: from [`SessionState::Idle`] or [`SessionState::Closed`], and from
    /// [`SessionState::Waiting`] without waiting for the reconnect timer. During a graceful
    /// [`disconnect`](Self::disconnect) whose DISCONNECT is not written yet, the disconnect is called off and the
    /// connection stays. A no-op while a connection is being made or is up.
    ///
    /// Starts the reconnect schedule over, except from `Waiting` or `Closed` after an attempt the application
    /// asked for failed: then it is paced as [`reconnect`](Self::reconnect) is.
    pub fn connect(&mut self, now: Instant) {
        self.now = now;
        match self.state {
            SessionState::Idle => {
                self.backoff.reset();
                self.asked_open = false;
                self.open(now);
            }
            SessionState::Closed | SessionState::Waiting => self.open_when_asked(now),
            SessionState::Disconnecting => self.call_off_disconnect(),
            SessionState::Opening
            | SessionState::Connecting
            | SessionState::Connected
            | SessionState::Closing => {}
        }
    }

    /// Drops the current connection, if any, and connects again now, without waiting for the reconnect timer.
    /// Calling it again before the new connection is up starts yet another attempt: the last call wins, and no
    /// sequence of `reconnect`, `connect` and `disconnect` calls loses the connection the last one asked for.
    ///
    /// An established connection ends with [`Event::ConnectionLost`] ([`Disconnection::Reconnect`]), so that
    /// every [`Event::Connected`] is followed by a loss or [`Event::Disconnected`]. A graceful disconnect in
    /// progress is called off (no `Disconnected` follows). Starts the reconnect schedule over.
    ///
    /// Paced when the application retries its own failed attempts at once: within the policy's
    /// [first delay](crate::reconnect::ReconnectPolicy::initial_delay), at most its
    /// [`paced_retry_window`](crate::reconnect::ReconnectPolicy::paced_retry_window) (1 s by default), after an
    /// attempt it asked for failed (or its connection ended before
    /// [`stable_after`](crate::reconnect::ReconnectPolicy::stable_after)), the new one waits for the reconnect
    /// schedule's next attempt, announced with [`Event::Reconnecting`], and the schedule keeps growing. So a
    /// handler that reconnects on every failure (paho's `on_connection_lost`) gets its first reconnect at once
    /// and then the schedule's delays (1, 2, 4... s by default, also under
    /// [`ReconnectPolicy::manual`](crate::reconnect::ReconnectPolicy::manual)), instead of attempts as fast as a
    /// broker refuses or drops connections. A reconnect asked for later than that goes at once.
    ///
    /// Acknowledgements the application already released (a message taken, a callback returned) go out before
    /// the connection ends, within the [ping timeout](Self::ping_timeout): dropped with it, the broker would send
    /// those messages again on a resumed session, and an application that reconnects on a message would get it
    /// again and again. The binding writes them before it opens the next connection
    /// ([`reopens_after_close_write`](Self::reopens_after_close_write)).
    pub fn reconnect(&mut self, now: Instant) {
        self.now = now;
        self.reopen_after_write = false;
        if self.state == SessionState::Disconnecting {
            // Its DISCONNECT is not written yet (the session closes once it is): the connection is ended the
            // reconnect's way, after the acknowledgements released meanwhile, not dropped with them.
            self.call_off_disconnect();
        }
        if self.state == SessionState::Connected && self.partial.is_none() && self.acks_to_write() {
            self.reconnect_after_acks = true;
            self.set_timer(Timer::Disconnect, Some(now + self.ping_timeout()));
            self.backoff.reset();
            return;
        }
        self.reconnect_now(now);
    }

    /// A graceful disconnect whose DISCONNECT is not written yet is called off: the connection stays.
    fn call_off_disconnect(&mut self) {
        self.state = SessionState::Connected;
        self.send_disconnect = None;
        self.announced.farewell = false;
        self.set_timer(Timer::Disconnect, None);
    }

    /// Whether acknowledgements are ready to go out: answers queued, or receipts the application released.
    pub(super) fn acks_to_write(&self) -> bool {
        self.acks.peek().is_some() || self.receipts.ready(self.store.receipts()).is_some()
    }

    /// [`reconnect`](Self::reconnect), now.
    pub(super) fn reconnect_now(&mut self, now: Instant) {
        self.reconnect_after_acks = false;
        if self.has_transport() {
            if self.is_connected() {
                self.events
                    .push(OwnedEvent::ConnectionLost(Disconnection::Reconnect));
            }
            self.transport.close();
            self.end_connection(now);
        }
        self.open_when_asked(now);
    }

    /// Disconnects gracefully: stops accepting messages, waits (up to [`Config::disconnect_timeout`]) until the
    /// outbox is acknowledged, sends DISCONNECT and closes. [`Event::Disconnected`] follows, with the number of
    /// messages still unacknowledged.
    ///
    /// See [`disconnect_within`](Self::disconnect_within).
    ///
    /// [`Config::disconnect_timeout`]: crate::Config::disconnect_timeout
    pub fn disconnect(&mut self, now: Instant) {
        self.disconnect_within(self.settings.disconnect_timeout, now);
    }

    /// Disconnects gracefully, waiting at most `timeout` for the outbox to be acknowledged: stops accepting
    /// messages, sends DISCONNECT once everything sent is acknowledged or `timeout` has passed, and closes.
    /// [`Event::Disconnected`] follows and says how many messages were still unacknowledged (or unsent): they are
    /// not dropped, they stay queued and go out if the session connects again. A zero `timeout` sends DISCONNECT
    /// at once.
    ///
    /// Without an established connection the session closes at once (`Disconnected` follows, but not from
    /// [`SessionState::Idle`], which only becomes `Closed`). A second call while disconnecting shortens the wait
    /// to its own `timeout` if that ends sooner.
    pub fn disconnect_within(&mut self, timeout: core::time::Duration, now: Instant) {
        self.now = now;
        // A reconnect that waited for its acknowledgements to go out is called off (the disconnect writes them).
        self.reconnect_after_acks = false;
        match self.state {
            SessionState::Connected | SessionState::Disconnecting => {
                let at = now + timeout;
                let earlier = match self
                    .timers
                    .get(Timer::Disconnect as usize)
                    .copied()
                    .flatten()
                {
                    Some(current) if self.state == SessionState::Disconnecting => current.min(at),
                    _ => at,
                };
                self.state = SessionState::Disconnecting;
                if earlier <= now {
                    if self.send_disconnect.is_none() {
                        self.send_disconnect = Some(codec::ReasonCode::NORMAL_DISCONNECTION);
                        self.arm_disconnect_write(now);
                    }
                } else {
                    self.set_timer(Timer::Disconnect, Some(earlier));
                }
            }
            SessionState::Closed => {}
            SessionState::Idle => self.state = SessionState::Closed,
            SessionState::Waiting
            | SessionState::Opening
            | SessionState::Connecting
            | SessionState::Closing => {
                if self.has_transport() {
                    self.transport.close();
                    self.end_connection(now);
                }
                self.close_for_good();
                self.push_disconnected();
            }
        }
    }

    /// Ends the connection at once without DISCONNECT, as the connection of an application that crashed would
    /// end: the broker publishes the will [MQTT-3.1.2-8]. Nothing more is written; what is queued or
    /// unacknowledged stays in the store. The session is [`SessionState::Closed`] and [`Event::Disconnected`]
    /// follows, as after [`disconnect`](Self::disconnect). The std clients call it when the last handle is
    /// dropped while its thread panics.
    pub fn abandon(&mut self, now: Instant) {
        self.now = now;
        self.reconnect_after_acks = false;
        if self.state == SessionState::Closed {
            return;
        }
        if self.has_transport() {
            self.transport.close();
            self.end_connection(now);
        }
        self.close_for_good();
        self.push_disconnected();
    }

    /// Queues a message. It goes out as soon as the connection and the inflight window allow; QoS 1 and 2
    /// messages are kept until acknowledged and survive reconnects.
    ///
    /// The completion of a QoS 1 or 2 message arrives as [`Event::Published`] or [`Event::PublishFailed`] with the
    /// returned ticket. QoS 0 messages complete when written and produce no event. `packet_id` and `dup` of
    /// `message` are ignored: the session assigns them.
    ///
    /// # Errors
    ///
    /// A [`PublishError`] when the message is invalid, larger than the broker or the outbox accepts, or the outbox
    /// is full (backpressure: nothing is dropped, retry later).
    pub fn publish(&mut self, message: &Publish<'_>, now: Instant) -> Result<Ticket, PublishError> {
        self.now = now;
        if self.closed_to_commands() {
            return Err(PublishError::Closed);
        }
        topic::validate_name(message.topic).map_err(PublishError::InvalidTopic)?;
        if !self.version.is_v5() && !message.properties.is_empty() {
            return Err(PublishError::PropertiesNotSupported);
        }
        if message.properties.topic_alias.is_some()
            || !message.properties.subscription_identifiers.is_empty()
            || (!cfg!(feature = "properties") && message.properties.has_application_properties())
        {
            return Err(PublishError::PropertiesNotSupported);
        }
        let properties = &message.properties;
        topic::check_text_properties(
            properties.response_topic,
            properties.content_type,
            properties.user_properties,
        )
        .map_err(PublishError::InvalidProperty)?;
        if properties.payload_format_indicator == Some(true)
            && core::str::from_utf8(message.payload).is_err()
        {
            return Err(PublishError::PayloadNotUtf8);
        }
        if self.is_connected() {
            if message.qos > self.server.max_qos {
                return Err(PublishError::QoSNotSupported {
                    max: self.server.max_qos as u8,
                });
            }
            if message.retain && !self.server.retain_available {
                return Err(PublishError::RetainNotSupported);
            }
        }
        let stored = Publish {
            dup: false,
            packet_id: (message.qos != QoS::AtMostOnce).then_some(PacketId::MIN),
            ..*message
        };
        let size = codec::Packet::Publish(stored).encoded_len_from_client(self.version);
        let max = (self.server.max_packet_size as usize)
            .min(self.store.ring_len().saturating_sub(outbox::HEADER));
        if size > max {
            return Err(PublishError::TooLarge { size, max });
        }
        let version = self.version;
        let v5 = version.is_v5();
        let write = |buf: &mut [u8]| {
            codec::Packet::Publish(stored).encode_from_client(version, buf) == Ok(size)
        };
        let ticket = Ticket(self.next_ticket);
        let ring = self.store.ring_mut();
        let mut pushed = self
            .outbox
            .push(ring, message.qos, v5, ticket.0, size, write);
        if !pushed && self.outbox.has_tombstones() {
            // A record stuck at the head keeps completed ones from being reclaimed: squeeze them out.
            let partial = &mut self.partial;
            self.outbox.compact(ring, |from, to| {
                if let Some(Partial::Record { pos, .. } | Partial::Downgraded { pos, .. }) = partial
                    && *pos == from
                {
                    *pos = to;
                }
            });
            pushed = self
                .outbox
                .push(ring, message.qos, v5, ticket.0, size, write);
        }
        if !pushed {
            return Err(PublishError::QueueFull);
        }
        self.next_ticket();
        Ok(ticket)
    }

    /// Subscribes to one or more topic filters in one SUBSCRIBE. The outcome arrives as [`Event::Subscribed`]
    /// with the returned ticket. The subscriptions are remembered and restored if a broker loses the session.
    ///
    /// Every request completes with its own [`Event::Subscribed`], also when it names a filter that an earlier
    /// request (the application's, or the session's own re-subscription after a reconnect) is still waiting for:
    /// the broker replaces the subscription in request order, and the session keeps the options of the last one
    /// it granted.
    ///
    /// # Errors
    ///
    /// A [`SubscribeError`] for an invalid request, one larger than the broker's Maximum Packet Size, or a full
    /// subscription table, and while connected to a 5.0 broker that announced in CONNACK it does not support them,
    /// for shared subscriptions ([`SubscribeError::SharedNotSupported`]) and wildcards
    /// ([`SubscribeError::WildcardsNotSupported`]). A request queued while disconnected that the next broker does
    /// not support fails with `Event::Subscribed` and the failure code for every filter, unsent.
    ///
    /// # Spec
    ///
    /// `[MQTT-3.8.4-3]`: a SUBSCRIBE of a filter the session already has replaces that subscription.
    /// `[MQTT-3.2.2-15]`: no packet above the broker's Maximum Packet Size.
    pub fn subscribe(
        &mut self,
        subscriptions: &[Subscription<'_>],
        now: Instant,
    ) -> Result<Ticket, SubscribeError> {
        self.subscribe_request(subscriptions, None, List::default(), now)
    }

    /// Like [`subscribe`](Self::subscribe), with 5.0 SUBSCRIBE properties: a Subscription Identifier (see
    /// [`subscribe_with_id`](Self::subscribe_with_id)) and user properties. The user properties are kept in the
    /// subscription table with the request (their bytes count against it) and go out with it, again if it is
    /// resent after a reconnect; the session's own re-subscription after a lost session carries none.
    ///
    /// # Errors
    ///
    /// As `subscribe_with_id`; [`SubscribeError::InvalidOptions`] for properties on a 3.1.1 session or a user
    /// property containing U+0000, a control character or a non-character.
    pub fn subscribe_with(
        &mut self,
        subscriptions: &[Subscription<'_>],
        properties: &codec::SubscribeProperties<'_>,
        now: Instant,
    ) -> Result<Ticket, SubscribeError> {
        let id = properties.subscription_identifier;
        if !self.version.is_v5() && !properties.is_empty() {
            return Err(SubscribeError::InvalidOptions(
                "SUBSCRIBE properties need MQTT 5.0",
            ));
        }
        self.subscribe_request(subscriptions, id, properties.user_properties, now)
    }

    /// Like [`subscribe`](Self::subscribe), with a 5.0 Subscription Identifier: every message these subscriptions
    /// match carries it in `properties.subscription_identifiers`.
    ///
    /// # Errors
    ///
    /// As `subscribe`, [`SubscribeError::InvalidOptions`] on a 3.1.1 session, and
    /// [`SubscribeError::SubscriptionIdsNotSupported`] when the broker said it does not support subscription
    /// identifiers.
    pub fn subscribe_with_id(
        &mut self,
        subscriptions: &[Subscription<'_>],
        id: codec::SubscriptionId,
        now: Instant,
    ) -> Result<Ticket, SubscribeError> {
        if !self.version.is_v5() {
            return Err(SubscribeError::InvalidOptions(
                "subscription identifiers need MQTT 5.0",
            ));
        }
        self.subscribe_request(subscriptions, Some(id), List::default(), now)
    }

    fn subscribe_request(
        &mut self,
        subscriptions: &[Subscription<'_>],
        id: Option<codec::SubscriptionId>,
        user_properties: List<'_, codec::UserProperty<'_>>,
        now: Instant,
    ) -> Result<Ticket, SubscribeError> {
        self.now = now;
        if self.closed_to_commands() {
            return Err(SubscribeError::Closed);
        }
        if subscriptions.is_empty() {
            return Err(SubscribeError::NoFilters);
        }
        let properties_len = user_properties_text_len(user_properties)?;
        let mut bytes = 0;
        for s in subscriptions {
            topic::validate_filter_in(s.filter, self.version)
                .map_err(SubscribeError::InvalidFilter)?;
            if !self.version.is_v5()
                && s.options
                    != (SubscriptionOptions {
                        qos: s.options.qos,
                        ..Default::default()
                    })
            {
                return Err(SubscribeError::InvalidOptions(
                    "MQTT 3.1.1 has only the QoS option",
                ));
            }
            if s.options.no_local && topic::is_shared_in(s.filter, self.version) {
                return Err(SubscribeError::InvalidOptions(
                    "No Local on a shared subscription",
                ));
            }
            bytes += s.filter.len();
        }
        self.check_supported(subscriptions, id)?;
        let request = codec::Packet::Subscribe(codec::Subscribe {
            packet_id: PacketId::MIN,
            properties: codec::SubscribeProperties {
                subscription_identifier: id,
                user_properties,
            },
            filters: List::new(subscriptions),
        });
        if subscriptions.len() > usize::from(u16::MAX)
            || request.encoded_len_from_client(self.version) > self.server.max_packet_size as usize
        {
            return Err(SubscribeError::TooLarge);
        }
        // A filter subscribed again gets an entry of its own: the earlier request still completes with its own
        // SUBACK, and the later one replaces what it granted (see `subscriptions`).
        self.subscriptions
            .prune_properties(&mut self.subscriptions_buf);
        let entries = subscriptions.len() + usize::from(properties_len > 0);
        if !self
            .subscriptions
            .fits(&mut self.subscriptions_buf, bytes + properties_len, entries)
        {
            return Err(SubscribeError::TableFull);
        }
        let ticket = self.next_ticket();
        let id = id.map_or(0, codec::SubscriptionId::get);
        let buf = &mut self.subscriptions_buf;
        for s in subscriptions {
            let pushed = self.subscriptions.push(
                buf,
                s.filter,
                s.options,
                subscriptions::State::SubscribeQueued,
                ticket.0,
                id,
            );
            debug_assert!(pushed, "space was checked");
        }
        self.push_user_properties(user_properties, properties_len, ticket, id);
        Ok(ticket)
    }

    /// Unsubscribes from one or more topic filters in one UNSUBSCRIBE. The outcome arrives as
    /// [`Event::Unsubscribed`] with the returned ticket.
    ///
    /// The UNSUBSCRIBE goes out after every request made before it, a SUBSCRIBE of the same filter still in flight
    /// included, and removes what that SUBSCRIBE granted: both tickets complete and the filter ends unsubscribed.
    ///
    /// # Errors
    ///
    /// A [`SubscribeError`] for an invalid request, one larger than the broker's Maximum Packet Size, or a full
    /// subscription table.
    ///
    /// # Spec
    ///
    /// `[MQTT-3.2.2-15]`: no packet above the broker's Maximum Packet Size.
    pub fn unsubscribe(
        &mut self,
        filters: &[&str],
        now: Instant,
    ) -> Result<Ticket, SubscribeError> {
        self.unsubscribe_with(filters, &codec::UnsubscribeProperties::default(), now)
    }

    /// Like [`unsubscribe`](Self::unsubscribe), with 5.0 user properties (kept with the request as for
    /// [`subscribe_with`](Self::subscribe_with)).
    ///
    /// # Errors
    ///
    /// As `unsubscribe`; [`SubscribeError::InvalidOptions`] for properties on a 3.1.1 session or a user property
    /// containing U+0000.
    pub fn unsubscribe_with(
        &mut self,
        filters: &[&str],
        properties: &codec::UnsubscribeProperties<'_>,
        now: Instant,
    ) -> Result<Ticket, SubscribeError> {
        self.now = now;
        if !self.version.is_v5() && !properties.is_empty() {
            return Err(SubscribeError::InvalidOptions(
                "UNSUBSCRIBE properties need MQTT 5.0",
            ));
        }
        let user_properties = properties.user_properties;
        let properties_len = user_properties_text_len(user_properties)?;
        if self.closed_to_commands() {
            return Err(SubscribeError::Closed);
        }
        if filters.is_empty() {
            return Err(SubscribeError::NoFilters);
        }
        if filters.len() > usize::from(u16::MAX) {
            return Err(SubscribeError::TooLarge);
        }
        for f in filters {
            topic::validate_filter_in(f, self.version).map_err(SubscribeError::InvalidFilter)?;
        }
        let request = codec::Packet::Unsubscribe(codec::Unsubscribe {
            packet_id: PacketId::MIN,
            properties: *properties,
            filters: List::new(filters),
        });
        if request.encoded_len_from_client(self.version) > self.server.max_packet_size as usize {
            return Err(SubscribeError::TooLarge);
        }
        let bytes: usize = filters.iter().map(|f| f.len()).sum();
        self.subscriptions
            .prune_properties(&mut self.subscriptions_buf);
        let entries = filters.len() + usize::from(properties_len > 0);
        if !self
            .subscriptions
            .fits(&mut self.subscriptions_buf, bytes + properties_len, entries)
        {
            return Err(SubscribeError::TableFull);
        }
        let ticket = self.next_ticket();
        let buf = &mut self.subscriptions_buf;
        for f in filters {
            let pushed = self.subscriptions.push(
                buf,
                f,
                SubscriptionOptions::default(),
                subscriptions::State::UnsubscribeQueued,
                ticket.0,
                0,
            );
            debug_assert!(pushed, "space was checked");
        }
        self.push_user_properties(user_properties, properties_len, ticket, 0);
        Ok(ticket)
    }

    /// Keeps a request's user properties in the subscription table (room was checked).
    fn push_user_properties(
        &mut self,
        user_properties: List<'_, codec::UserProperty<'_>>,
        len: usize,
        ticket: Ticket,
        subscription_id: u32,
    ) {
        if len == 0 {
            return;
        }
        let buf = &mut self.subscriptions_buf;
        let pushed = self.subscriptions.push_with(
            buf,
            len,
            |text| {
                let mut at = 0;
                for p in user_properties {
                    for part in [p.name, p.value] {
                        if let Some(dst) = text.get_mut(at..at + part.len()) {
                            dst.copy_from_slice(part.as_bytes());
                        }
                        at += part.len() + 1;
                        if let Some(nul) = text.get_mut(at - 1) {
                            *nul = 0;
                        }
                    }
                }
            },
            subscriptions::State::Properties,
            ticket.0,
            subscription_id,
        );
        debug_assert!(pushed, "space was checked");
    }
}

/// Bytes the user properties take in the subscription table (`name NUL value NUL` per pair).
fn user_properties_text_len(
    user_properties: List<'_, codec::UserProperty<'_>>,
) -> Result<usize, SubscribeError> {
    let mut len = 0;
    for p in user_properties {
        // U+0000, control characters and non-characters make a malformed packet (`[MQTT-1.5.4-2]`, MQTT 5.0
        // section 1.5.4): mosquitto closes the connection on them, and the request would go again at every resend.
        if !topic::is_sendable_pair(&p) {
            return Err(SubscribeError::InvalidOptions(
                "a user property contains U+0000, a control character or a non-character",
            ));
        }
        len += p.name.len() + p.value.len() + 2;
    }
    Ok(len)
}
