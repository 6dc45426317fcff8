//! [`Receiver`]: the application's end of a message queue (a subscription's, or `messages()`'s). Taking a message
//! releases its acknowledgement; a receiver dropped with messages in it acknowledges them (the application let
//! them go) and lets the runner go on.

use core::task::{Context, Poll};
use std::sync::Arc;

use super::dispatch::{AckRef, Delivered};
use super::queue::Queue;
use super::{ConnectionState, Message, Shared};

/// The receiving end of a bounded message queue.
#[derive(Debug)]
pub struct Receiver {
    queue: Arc<Queue<Delivered>>,
    shared: Arc<Shared>,
}

/// A message taken from a [`Receiver`] whose acknowledgement waits until [`done`](Self::done) (or drop): for
/// callbacks, so that the broker hears of the message only once the callback has run.
#[derive(Debug)]
#[must_use = "dropping it acknowledges at once; call done() when the message has been handled"]
pub struct Taken {
    /// The message.
    pub message: Message,
    ack: Option<AckRef>,
    shared: Arc<Shared>,
}

impl Taken {
    /// The message has been handled: its acknowledgement can go out.
    pub fn done(self) {
        drop(self);
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if let Some(token) = self.ack.take().and_then(AckRef::taken) {
            self.shared.ack(token);
        }
    }
}

impl Receiver {
    pub(crate) fn new(queue: Arc<Queue<Delivered>>, shared: Arc<Shared>) -> Self {
        Self { queue, shared }
    }

    /// The next message, acknowledged as it is taken; `Ready(None)` once the queue has ended.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.queue.poll_pop(cx).map(|popped| {
            popped.map(|popped| {
                match owed_on_take(&popped.item).and_then(AckRef::taken) {
                    // Taken: the acknowledgement can go; this also wakes the runner.
                    Some(token) => self.shared.ack(token),
                    None if popped.was_full => self.shared.wake(),
                    None => {}
                }
                popped.item.message
            })
        })
    }

    /// The next message, acknowledged when the returned [`Taken`] is done with.
    pub fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Option<Taken>> {
        self.queue.poll_pop(cx).map(|popped| {
            popped.map(|popped| {
                if popped.was_full {
                    // The runner may be holding a message for want of room.
                    self.shared.wake();
                }
                Taken {
                    ack: owed_on_take(&popped.item),
                    message: popped.item.message,
                    shared: self.shared.clone(),
                }
            })
        })
    }
}

/// What taking `delivered` acknowledges: its copy of the acknowledgement, unless the application acknowledges
/// itself (manual acknowledgement: the message carries its token, and [`Client::ack`](super::Client::ack) sends
/// it). A message never taken (its receiver dropped) is acknowledged either way.
fn owed_on_take(delivered: &Delivered) -> Option<AckRef> {
    delivered
        .ack
        .clone()
        .filter(|_| delivered.message.ack_token().is_none())
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // What was never taken counts as taken: acknowledge it, and let the runner go on.
        let left = self.queue.abandon();
        for token in left
            .into_iter()
            .filter_map(|delivered| delivered.ack.and_then(AckRef::taken))
        {
            self.shared.ack(token);
        }
        self.shared.wake();
    }
}

/// The receiving end of a connection-state queue. It keeps the latest 64 states: a listener that does not read
/// loses the oldest.
#[derive(Debug)]
pub struct StateReceiver {
    queue: Arc<Queue<ConnectionState>>,
}

impl StateReceiver {
    pub(crate) fn new(queue: Arc<Queue<ConnectionState>>) -> Self {
        Self { queue }
    }

    /// The next state; `Ready(None)` once the client is finished.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<ConnectionState>> {
        self.queue
            .poll_pop(cx)
            .map(|popped| popped.map(|popped| popped.item))
    }
}

impl Drop for StateReceiver {
    fn drop(&mut self) {
        self.queue.abandon();
    }
}
