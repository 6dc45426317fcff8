//! [`Delivered`]: a received message in a subscription's queue, with the acknowledgement ([`AckRef`]) that taking
//! it owes the broker; what it weighs for the queues' byte bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::queue::Weigh;
use super::{ConnectionState, Message};
use crate::session::AckToken;

/// A message in a queue, with what taking it means for its acknowledgement.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) message: Message,
    pub(crate) ack: Option<AckRef>,
}

impl Weigh for Delivered {
    fn weight(&self) -> usize {
        self.message.weight()
    }
}

impl Weigh for ConnectionState {
    /// States are bounded by their number ([`STATE_QUEUE`](super::dispatch::STATE_QUEUE)).
    fn weight(&self) -> usize {
        0
    }
}

/// The acknowledgement a queued message owes: sent when the last copy is taken.
#[derive(Debug, Clone)]
pub(crate) struct AckRef {
    pub(super) token: AckToken,
    /// Copies not yet taken, when the message went to several queues.
    pub(super) copies: Option<Arc<AtomicUsize>>,
}

impl AckRef {
    /// The acknowledgement of a message that goes to one place.
    pub(crate) fn single(token: AckToken) -> Self {
        Self {
            token,
            copies: None,
        }
    }

    /// One copy was taken: the token, if it was the last.
    pub(crate) fn taken(self) -> Option<AckToken> {
        match self.copies {
            Some(copies) if copies.fetch_sub(1, Ordering::AcqRel) != 1 => None,
            _ => Some(self.token),
        }
    }
}
