//! Publishing with backpressure: [`Client::publish_when_room`] and [`Client::publish_message_when_room`] wait,
//! up to the caller's timeout, while the outgoing queue is full.

use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use proto::client::Published;
use proto::codec::Publish;

use crate::client::block_on;
use crate::{Client, Delivery, Error, Message, QoS};

// The message is taken by value, as the async clients take it: switching backends changes no call.
#[allow(clippy::needless_pass_by_value)]
impl Client {
    /// Publishes a message, waiting up to `timeout` while the outgoing queue is full
    /// ([`Options::queue_bytes`](crate::Options::queue_bytes)) until a message leaves it (acknowledged by the
    /// broker, or sent at QoS 0): the backpressure of a publisher faster than its link, with nothing dropped.
    /// Otherwise as [`publish`](Self::publish): it returns once the session has accepted the message.
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish), except for the full queue: [`Error::Timeout`] if it was still full after
    /// `timeout` (the message is not queued); [`Error::WaitInCallback`] if it is full when called from a callback
    /// (only the event loop, which runs the callback, could make room).
    pub fn publish_when_room(
        &self,
        topic: impl AsRef<str>,
        payload: impl AsRef<[u8]>,
        qos: QoS,
        retain: bool,
        timeout: Duration,
    ) -> Result<Delivery, Error> {
        let (topic, payload) = (topic.as_ref(), payload.as_ref());
        let message = Publish::new(topic, payload, qos, retain);
        let shared = &self.inner.shared;
        self.when_room(timeout, |cx| shared.poll_publish(&message, cx))
    }

    /// [`publish_message`](Self::publish_message), waiting up to `timeout` while the outgoing queue is full as
    /// [`publish_when_room`](Self::publish_when_room) does.
    ///
    /// # Errors
    ///
    /// As [`publish_message`](Self::publish_message), and as [`publish_when_room`](Self::publish_when_room) for
    /// the full queue.
    pub fn publish_message_when_room(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<Delivery, Error> {
        let shared = &self.inner.shared;
        self.when_room(timeout, |cx| shared.poll_publish_message(&message, cx))
    }

    fn when_room(
        &self,
        timeout: Duration,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<Result<Published, Error>>,
    ) -> Result<Delivery, Error> {
        let in_loop = self.inner.in_loop();
        let deadline = Instant::now().checked_add(timeout);
        let outcome = block_on(deadline, |cx| match poll(cx) {
            Poll::Pending if in_loop => Poll::Ready(Err(Error::WaitInCallback)),
            outcome => outcome,
        });
        Ok(self.delivery(outcome.ok_or(Error::Timeout)??))
    }
}
