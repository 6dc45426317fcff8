//! The blocking [`Client`]'s MQTT 5.0 calls, the same as the async clients' with blocking waits: publishing with
//! properties, subscribing with options, unsubscribing with codes, request/response, re-authentication, what the
//! broker announced, disconnecting with properties.

use std::time::Duration;

use bytes::Bytes;

use crate::client::{Pending, block_on, wait_for};
use crate::{
    Client, Delivery, DisconnectOptions, Error, Granted, LastReason, Message, QoS, ReasonCode,
    ServerInfo, SubscribeRequest, UnsubscribeRequest,
};

// The requests are taken by value, as the async clients take them: switching backends changes no call.
#[allow(clippy::needless_pass_by_value)]
impl Client {
    /// Publishes a message built with [`Message::new`], with its 5.0 properties (payload format, expiry, content
    /// type, response topic, correlation data, user properties): returns at once, once the session has accepted
    /// it; wait on the [`Delivery`] for the broker's acknowledgement.
    ///
    /// ```no_run
    /// # fn run(client: mqtt_blocking::Client) -> Result<(), mqtt_blocking::Error> {
    /// use std::time::Duration;
    /// use mqtt_blocking::{Message, QoS};
    ///
    /// let message = Message::new("sensors/kitchen", r#"{"t":21.5}"#)
    ///     .qos(QoS::AtLeastOnce)
    ///     .content_type("application/json")
    ///     .message_expiry_interval(300);
    /// client.publish_message(message)?.wait_timeout(Duration::from_secs(5))
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish); [`Error::Publish`] with
    /// [`PublishError::QoSNotSupported`](crate::PublishError::QoSNotSupported) above the broker's Maximum QoS
    /// (nothing is sent).
    pub fn publish_message(&self, message: Message) -> Result<Delivery, Error> {
        Ok(self.delivery(self.inner.shared.publish_message(&message)?))
    }

    /// Subscribes with options per filter (No Local, Retain As Published, Retain Handling), a chosen (or no)
    /// Subscription Identifier and user properties ([`SubscribeRequest`]); `callback` gets each message the
    /// granted filters match, on the event loop's thread. The [`Pending`] gives, per filter, the granted QoS or
    /// the refusal.
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid request; [`Error::Closed`] if the event loop has ended.
    pub fn subscribe_with(
        &self,
        request: SubscribeRequest,
        callback: impl FnMut(&Self, &Message) + Send + 'static,
    ) -> Result<Pending<Granted>, Error> {
        let receiver = self.subscribe_filters(&request, Box::new(callback))?;
        Ok(self.pending(receiver, Ok))
    }

    /// Unsubscribes with 5.0 user properties; the [`Pending`] gives per filter the broker's code (Success, No
    /// subscription existed `0x11`, or a refusal; 3.1.1: Success for every filter).
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] if the event loop has ended.
    pub fn unsubscribe_with(
        &self,
        request: UnsubscribeRequest,
    ) -> Result<Pending<Vec<ReasonCode>>, Error> {
        let answer = self.inner.shared.unsubscribe_request(&request)?;
        Ok(self.pending(answer, Ok))
    }

    /// Sends a request and blocks until its response comes (5.0 request/response), for at most `timeout`: see
    /// the async clients' `request` (QoS 1, a Response Topic on the client's reply inbox, Correlation Data of its
    /// own; any number of threads may wait at once, each gets its own reply).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] without a reply in time; [`Error::InboxRefused`] if the broker refused the inbox;
    /// the errors of [`publish`](Self::publish); [`Error::WaitInCallback`] from a callback (the reply could only
    /// come through the loop it blocks).
    pub fn request(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Message, Error> {
        if self.inner.in_loop() {
            return Err(Error::WaitInCallback);
        }
        let deadline = crate::client::deadline_after(timeout);
        let topic = topic.into();
        let mut request = self
            .inner
            .shared
            .request(&topic, payload.into(), QoS::AtLeastOnce)?;
        if let Some(inbox) = request.take_inbox() {
            match wait_for(inbox, deadline) {
                Some(Ok(ready)) => ready?,
                Some(Err(_)) => return Err(Error::Closed),
                None => return Err(Error::Timeout),
            }
        }
        drop(request.send()?);
        block_on(deadline, |cx| request.poll_reply(cx)).unwrap_or(Err(Error::Timeout))
    }

    /// Answers requests (5.0 request/response): subscribes to `filter`, and on the event loop's thread publishes
    /// what `answer` returns for each message with a Response Topic to that topic, with the request's Correlation
    /// Data and QoS (`None`: no response). The [`Pending`] gives the QoS the broker granted.
    ///
    /// ```no_run
    /// # fn run(client: mqtt_blocking::Client) -> Result<(), mqtt_blocking::Error> {
    /// use std::time::Duration;
    /// use mqtt_blocking::QoS;
    ///
    /// client
    ///     .respond("services/echo", QoS::AtLeastOnce, |request| Some(request.payload.clone()))?
    ///     .wait_timeout(Duration::from_secs(5))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe); [`PublishError::PropertiesNotSupported`](crate::PublishError) at once on
    /// a 3.1.1 session (configured, or fallen back to): requests carry no Response Topic there.
    pub fn respond(
        &self,
        filter: impl Into<String>,
        qos: QoS,
        mut answer: impl FnMut(&Message) -> Option<Bytes> + Send + 'static,
    ) -> Result<Pending<QoS>, Error> {
        if !self.inner.shared.core().session.version().is_v5() {
            return Err(Error::Publish(proto::PublishError::PropertiesNotSupported));
        }
        self.subscribe(filter, qos, move |client, request| {
            if let Some(response) = answer(request).and_then(|payload| request.reply(payload)) {
                // Not waited for (a callback cannot): a refusal shows in the statistics and the broker's reason.
                drop(client.publish_message(response));
            }
        })
    }

    /// Re-authenticates the connection (5.0 enhanced authentication, with the options' authenticator); the
    /// [`Pending`] completes when the broker accepted it. Messages keep flowing meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Reauthenticate`] without an authenticator, when not connected, or while one runs; the
    /// [`Pending`] fails with [`Error::ConnectionLost`] if the connection ended first.
    pub fn reauthenticate(&self) -> Result<Pending<()>, Error> {
        let done = self.inner.shared.reauthenticate()?;
        Ok(self.pending(done, Ok))
    }

    /// What the broker announced in its latest successful CONNACK (assigned client identifier, Server Keep Alive,
    /// Maximum QoS, Retain Available, wildcard, subscription identifier and shared subscription availability,
    /// Response Information, Server Reference, Reason String...); `None` before the first connection.
    pub fn server_info(&self) -> Option<ServerInfo> {
        self.inner.shared.server_info()
    }

    /// The latest Reason String the broker sent (5.0), with the packet and code it came with.
    pub fn last_reason(&self) -> Option<LastReason> {
        self.inner.shared.last_reason()
    }

    /// Disconnects gracefully as [`disconnect`](Self::disconnect) does, with a DISCONNECT that carries `options`
    /// (5.0: a new Session Expiry Interval, a Reason String, user properties, or Disconnect with Will Message).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] for options the connection cannot carry; otherwise as `disconnect`.
    pub fn disconnect_with(
        &self,
        options: DisconnectOptions,
        timeout: Duration,
    ) -> Result<(), Error> {
        if self.inner.has_finished() {
            return Ok(());
        }
        self.inner.forget_callback_reconnect();
        let deadline = crate::client::deadline_after(proto::client::disconnect_wait(timeout));
        let closed = self.inner.shared.disconnect_with(&options, timeout)?;
        self.closed_by(closed, deadline)
    }
}
