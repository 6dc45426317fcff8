//! The broker's session as the seeded runs watch it after every step of the simulation: when it was lost (a
//! CONNACK with Session Present 0 after the first connection), whether the client saw that loss, and from which
//! acceptance on the session, with the client's subscription in it, was kept.

use core::time::Duration;

use mqtt_core::codec::ReasonCode;
use mqtt_test::{RecordedEvent, Sim};

use crate::MAIN;

/// A session loss: a CONNACK with Session Present 0 after the first connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loss {
    /// How many messages the broker had accepted by then: one accepted at a lower index was accepted before.
    pub(crate) received: usize,
    /// `Connected { session_present: false }` events of the client at the time.
    client_fresh_starts: usize,
    /// The client received that CONNACK; `false`: the loss is hidden from it (see the module docs of `seeded.rs`).
    pub(crate) seen: bool,
}

/// The broker's session as the test sees it after every step of the simulation.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Connection records of the broker looked at so far.
    records: usize,
    /// Accepted connections so far.
    accepted: usize,
    /// Events of the client looked at so far.
    events: usize,
    /// `Connected { session_present: false }` events of the client so far.
    client_fresh_starts: usize,
    pub(crate) losses: Vec<Loss>,
    /// How many messages the broker had accepted when its session, with the client's subscription, was first
    /// seen after the last loss; `None` after a loss until the subscription is back.
    pub(crate) kept_from: Option<usize>,
}

impl Watch {
    pub(crate) fn observe(&mut self, sim: &Sim) {
        // The client's answer to a CONNACK comes after the broker's next step, never in the same one, and before
        // the broker's next CONNECT: whether it saw the last loss is settled before the next loss can happen.
        for event in &sim.events()[self.events..] {
            if matches!(
                event,
                RecordedEvent::Connected {
                    session_present: false
                }
            ) {
                self.client_fresh_starts += 1;
            }
        }
        self.events = sim.events().len();
        if let Some(last) = self.losses.last_mut() {
            last.seen |= self.client_fresh_starts > last.client_fresh_starts;
        }
        let broker = sim.broker();
        let received = broker.received().len();
        for record in &broker.connections()[self.records..] {
            if record.reason != ReasonCode::SUCCESS {
                continue;
            }
            if self.accepted > 0 && !record.session_present {
                self.losses.push(Loss {
                    received,
                    client_fresh_starts: self.client_fresh_starts,
                    seen: false,
                });
                self.kept_from = None;
            }
            self.accepted += 1;
        }
        self.records = broker.connections().len();
        if self.kept_from.is_none() && broker.subscriptions().iter().any(|s| s.filter == MAIN) {
            self.kept_from = Some(received);
        }
    }

    /// The losses between the broker's acceptances number `a` and `b` (`a < b`).
    pub(crate) fn losses_between(&self, a: usize, b: usize) -> impl Iterator<Item = &Loss> {
        self.losses
            .iter()
            .filter(move |l| a < l.received && l.received <= b)
    }
}

/// Steps `sim` until `done` holds or `max` of virtual time passed, letting `watch` look after every step.
pub(crate) fn run_until(
    sim: &mut Sim,
    watch: &mut Watch,
    mut done: impl FnMut(&Sim) -> bool,
    max: Duration,
) -> bool {
    sim.run_until(
        |s| {
            watch.observe(s);
            done(s)
        },
        max,
    )
}
