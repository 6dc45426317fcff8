//! The async [`Client`]'s MQTT 5.0 calls: publishing with properties, subscribing with options, unsubscribing
//! with codes, request/response, re-authentication, what the broker announced, disconnecting with properties.

use core::future::poll_fn;
use core::time::Duration;
use std::string::String;
use std::vec::Vec;

use bytes::Bytes;
use futures_util::StreamExt;

use super::handle::within;
use super::v5::{DisconnectOptions, LastReason, ServerInfo, SubscribeRequest, UnsubscribeRequest};
use super::{Client, Delivery, Error, Message, Subscription};
use crate::codec::{QoS, ReasonCode};

impl Client {
    /// Publishes a message built with [`Message::new`], with its 5.0 properties (payload format, expiry, content
    /// type, response topic, correlation data, user properties). Returns once the session has accepted it; await
    /// the [`Delivery`] for the broker's acknowledgement.
    ///
    /// ```no_run
    /// # async fn run(client: mqtt_core::client::Client) -> Result<(), mqtt_core::client::Error> {
    /// use mqtt_core::client::Message;
    /// use mqtt_core::codec::QoS;
    ///
    /// let message = Message::new("sensors/kitchen", r#"{"t":21.5}"#)
    ///     .qos(QoS::AtLeastOnce)
    ///     .content_type("application/json")
    ///     .user_property("unit", "celsius");
    /// client.publish_message(message).await?.wait().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish); [`Error::Publish`] with
    /// [`PublishError::QoSNotSupported`](crate::PublishError::QoSNotSupported) above the broker's Maximum QoS
    /// (nothing is sent) and [`PublishError::PropertiesNotSupported`](crate::PublishError::PropertiesNotSupported)
    /// for properties on a 3.1.1 connection.
    pub async fn publish_message(&self, message: Message) -> Result<Delivery, Error> {
        self.try_publish_message(&message)
    }

    /// [`publish_message`](Self::publish_message) without `async`.
    ///
    /// # Errors
    ///
    /// As [`publish_message`](Self::publish_message).
    pub fn try_publish_message(&self, message: &Message) -> Result<Delivery, Error> {
        Ok(self.delivery(self.shared.publish_message(message)?))
    }

    /// [`publish_message`](Self::publish_message), waiting while the outgoing queue is full as
    /// [`publish_when_room`](Self::publish_when_room) does.
    ///
    /// # Errors
    ///
    /// As [`publish_message`](Self::publish_message), except that a full queue is waited for instead.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes publishes nothing.
    pub async fn publish_message_when_room(&self, message: Message) -> Result<Delivery, Error> {
        let done = poll_fn(|cx| self.shared.poll_publish_message(&message, cx)).await?;
        Ok(self.delivery(done))
    }

    /// Subscribes with options per filter (No Local, Retain As Published, Retain Handling), a chosen (or no)
    /// Subscription Identifier, and user properties: see [`SubscribeRequest`]. The [`Subscription`] reports, per
    /// filter, the granted QoS or the refusal.
    ///
    /// # Errors
    ///
    /// As [`subscribe_many`](Self::subscribe_many).
    pub async fn subscribe_with(&self, request: SubscribeRequest) -> Result<Subscription, Error> {
        let (receiver, answer) = self.shared.subscribe_request(&request)?;
        let granted = self.answer(answer).await?;
        Ok(Subscription { granted, receiver })
    }

    /// Unsubscribes with 5.0 user properties, and reports per filter the broker's code: Success, No subscription
    /// existed (`0x11`), or a refusal (3.1.1: Success for every filter).
    ///
    /// # Errors
    ///
    /// [`Error::Subscribe`] for an invalid filter; [`Error::Closed`] if the event loop has ended.
    pub async fn unsubscribe_with(
        &self,
        request: UnsubscribeRequest,
    ) -> Result<Vec<ReasonCode>, Error> {
        let answer = self.shared.unsubscribe_request(&request)?;
        self.answer(answer).await
    }

    /// Sends a request and waits for its response (5.0 request/response), for at most `timeout`: `payload` goes
    /// to `topic` at QoS 1 with a Response Topic (the client's reply inbox, based on the broker's Response
    /// Information when it gave one) and Correlation Data of its own; the answer is the message on the inbox with
    /// the same Correlation Data. Any number of requests may run at once, each gets its own reply. The first
    /// request subscribes the inbox (and waits for the broker to grant it). See
    /// [`Message::reply`] and [`respond`](Self::respond) for the other side.
    ///
    /// ```no_run
    /// # async fn run(client: mqtt_core::client::Client) -> Result<(), mqtt_core::client::Error> {
    /// use std::time::Duration;
    ///
    /// let answer = client.request("services/time", "now?", Duration::from_secs(5)).await?;
    /// println!("{}", String::from_utf8_lossy(&answer.payload));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] without a reply in time; [`Error::InboxRefused`] if the broker refused the inbox;
    /// the errors of [`publish`](Self::publish), among them
    /// [`PublishError::PropertiesNotSupported`](crate::PublishError::PropertiesNotSupported) on a 3.1.1 connection
    /// (request/response needs 5.0: 3.1.1 has no Response Topic); [`Error::Closed`] if the event loop ended.
    pub async fn request(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Message, Error> {
        let topic = topic.into();
        let mut request = self
            .shared
            .request(&topic, payload.into(), QoS::AtLeastOnce)?;
        within(self.sleep, timeout, async move {
            if let Some(inbox) = request.take_inbox() {
                inbox.await.map_err(|_| Error::Closed)??;
            }
            request.send()?;
            poll_fn(|cx| request.poll_reply(cx)).await
        })
        .await?
    }

    /// Answers requests (5.0 request/response) until the subscription ends: subscribes to `filter` and, for each
    /// message with a Response Topic, publishes what `answer` returns to it, with the request's Correlation Data
    /// and QoS. `answer` returning `None`, and messages without a Response Topic, get no response. Run it in a
    /// task of its own; it ends when the event loop does or the filter is unsubscribed. To know when the
    /// subscription is in place, use [`responder`](Self::responder) and [`Responder::serve`].
    ///
    /// ```no_run
    /// # async fn run(client: mqtt_core::client::Client) -> Result<(), mqtt_core::client::Error> {
    /// use mqtt_core::codec::QoS;
    ///
    /// client
    ///     .respond("services/echo", QoS::AtLeastOnce, |request| Some(request.payload.clone()))
    ///     .await
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe), and [`publish_message`](Self::publish_message) for a response.
    pub async fn respond<F>(
        &self,
        filter: impl Into<String>,
        qos: QoS,
        answer: F,
    ) -> Result<(), Error>
    where
        F: FnMut(&Message) -> Option<Bytes>,
    {
        self.responder(filter, qos).await?.serve(answer).await
    }

    /// Subscribes to the requests of `filter` (5.0 request/response) and returns once the broker granted it: the
    /// [`Responder`] then [`serve`](Responder::serve)s them, or yields them one by one to answer with
    /// [`Message::reply`].
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe);
    /// [`PublishError::PropertiesNotSupported`](crate::PublishError::PropertiesNotSupported) at once on a 3.1.1
    /// session (configured, or fallen back to): requests carry no Response Topic there, so nothing could be
    /// answered.
    pub async fn responder(&self, filter: impl Into<String>, qos: QoS) -> Result<Responder, Error> {
        if !self.shared.core().session.version().is_v5() {
            return Err(Error::Publish(crate::PublishError::PropertiesNotSupported));
        }
        Ok(Responder {
            client: self.clone(),
            requests: self.subscribe(filter, qos).await?,
        })
    }

    /// Re-authenticates the connection (5.0 enhanced authentication, with the options'
    /// [`authenticator`](super::Options::authenticator)) and waits until the broker accepted it; messages keep
    /// flowing meanwhile.
    ///
    /// # Errors
    ///
    /// [`Error::Reauthenticate`] without an authenticator, when not connected, or while one runs;
    /// [`Error::ConnectionLost`] if the connection ended first (the broker refused: it disconnects, or the
    /// client refused the broker's challenge); [`Error::Closed`] if the event loop ended.
    pub async fn reauthenticate(&self) -> Result<(), Error> {
        let done = self.shared.reauthenticate()?;
        self.answer(done).await
    }

    /// What the broker announced in its latest successful CONNACK (assigned client identifier, Server Keep Alive,
    /// Maximum QoS, Retain Available, wildcard, subscription identifier and shared subscription availability,
    /// Response Information, Server Reference, Reason String...); `None` before the first connection.
    pub fn server_info(&self) -> Option<ServerInfo> {
        self.shared.server_info()
    }

    /// The latest Reason String the broker sent (5.0) with the packet and code it came with: a refused
    /// publication's PUBACK, a SUBACK, the broker's DISCONNECT...; `None` if it sent none.
    pub fn last_reason(&self) -> Option<LastReason> {
        self.shared.last_reason()
    }

    /// Disconnects gracefully as [`disconnect`](Self::disconnect) does, with a DISCONNECT that carries `options`
    /// (5.0: a new Session Expiry Interval, a Reason String, user properties, or Disconnect with Will Message).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] for options the connection cannot carry; otherwise as `disconnect`.
    pub async fn disconnect_with(
        &self,
        options: DisconnectOptions,
        timeout: Duration,
    ) -> Result<(), Error> {
        let closed = self.shared.disconnect_with(&options, timeout)?;
        let wait = super::disconnect_wait(timeout);
        super::handle::disconnected(within(self.sleep, wait, closed).await?)
    }
}

/// The answering side of request/response: a subscription to requests, from [`Client::responder`].
#[derive(Debug)]
pub struct Responder {
    client: Client,
    requests: Subscription,
}

impl Responder {
    /// The next request, or `None` once the subscription ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`Subscription::recv`].
    pub async fn recv(&mut self) -> Option<Message> {
        self.requests.next().await
    }

    /// Publishes `payload` as the response to `request` (on its Response Topic, with its Correlation Data and
    /// QoS); `None` if it has no Response Topic.
    ///
    /// # Errors
    ///
    /// As [`Client::publish_message`].
    pub fn reply(
        &self,
        request: &Message,
        payload: impl Into<Bytes>,
    ) -> Result<Option<Delivery>, Error> {
        request
            .reply(payload)
            .map(|response| self.client.try_publish_message(&response))
            .transpose()
    }

    /// Answers every request with what `answer` returns (`None`: no response), until the subscription ends.
    ///
    /// # Errors
    ///
    /// As [`Client::publish_message`] for a response.
    pub async fn serve<F>(mut self, mut answer: F) -> Result<(), Error>
    where
        F: FnMut(&Message) -> Option<Bytes>,
    {
        while let Some(request) = self.recv().await {
            if let Some(payload) = answer(&request) {
                // Not waited for: the next request is answered meanwhile.
                drop(self.reply(&request, payload)?);
            }
        }
        Ok(())
    }
}
