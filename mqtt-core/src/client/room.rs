//! [`Room`]: the publishers waiting for room in the outgoing queue ([`Client::publish_when_room`] and its
//! blocking twin), woken when the session releases a message (acknowledged, or sent at QoS 0) or the client
//! finishes.
//!
//! [`Client::publish_when_room`]: super::Client::publish_when_room

use core::task::Waker;
use std::vec::Vec;

/// Waiters kept at most before all are woken to try again (a waiter that gave up leaves its waker behind until
/// then): the list stays bounded however often an application starts and drops waiting publishes.
const MAX_WAITERS: usize = 64;

/// Publishers waiting for room, and the queue's length when the latest found it full.
#[derive(Debug, Default)]
pub(crate) struct Room {
    waiters: Vec<Waker>,
    /// [`Session::queued`](crate::Session::queued) when the latest waiter found the queue full: fewer means a
    /// message left it, and with it some room.
    mark: usize,
}

impl Room {
    /// Registers `waker` to be woken once the queue holds fewer than `queued` messages.
    pub(crate) fn wait(&mut self, waker: &Waker, queued: usize) {
        self.mark = queued;
        if self.waiters.iter().any(|w| w.will_wake(waker)) {
            return;
        }
        if self.waiters.len() >= MAX_WAITERS {
            // Some of these gave up: wake everyone, and those still waiting register again.
            self.waiters.drain(..).for_each(Waker::wake);
        }
        self.waiters.push(waker.clone());
    }

    /// Wakes the waiters if a message left the queue since they found it full (it now holds `queued`), or
    /// `finished` (they then see the client closed).
    pub(crate) fn release(&mut self, queued: usize, finished: bool) {
        if !self.waiters.is_empty() && (finished || queued < self.mark) {
            self.waiters.drain(..).for_each(Waker::wake);
        }
    }
}
