//! What a seeded run asked of the client (the messages it published, the subscribe and unsubscribe requests of
//! its habits and of its connect callback) and the events that complete each ticket.

use mqtt_core::Ticket;
use mqtt_core::codec::QoS;
use mqtt_core::session::PublishFailure;
use mqtt_test::{RecordedEvent, Sim};

use crate::MAIN;

/// A message the run published, and the range of events in which its ticket names it (a crash ends the range,
/// or starts a new one if the restarted process recovered the message).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    /// The message's number (its first two payload bytes).
    pub(crate) i: u16,
    pub(crate) qos: QoS,
    pub(crate) ticket: Ticket,
    /// How many events the client had reported when it was published.
    pub(crate) published_at: usize,
    pub(crate) from: usize,
    pub(crate) to: usize,
}

/// A subscribe or unsubscribe request of the habits, with the range of events its ticket names it in.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) ticket: Ticket,
    pub(crate) what: String,
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// Its process crashed before it completed: it never will.
    pub(crate) dead: bool,
}

impl Request {
    pub(crate) fn new(ticket: Ticket, what: String, from: usize) -> Self {
        Self {
            ticket,
            what,
            from,
            to: usize::MAX,
            dead: false,
        }
    }
}

/// The events `from..to` (clamped).
pub(crate) fn range(sim: &Sim, from: usize, to: usize) -> &[RecordedEvent] {
    let events = sim.events();
    &events[from.min(events.len())..to.min(events.len())]
}

pub(crate) fn completions_of(sim: &Sim, ticket: Ticket, from: usize, to: usize) -> usize {
    range(sim, from, to)
        .iter()
        .filter(|e| {
            matches!(e, RecordedEvent::Published { ticket: t } | RecordedEvent::PublishFailed { ticket: t, .. }
                if *t == ticket)
        })
        .count()
}

pub(crate) fn request_completions(sim: &Sim, r: &Request) -> usize {
    range(sim, r.from, r.to)
        .iter()
        .filter(|e| {
            matches!(e, RecordedEvent::Subscribed { ticket: t, .. } | RecordedEvent::Unsubscribed { ticket: t, .. }
                | RecordedEvent::RequestTooLarge { ticket: t } if *t == r.ticket)
        })
        .count()
}

/// The requests the connect callback made (`Sim::subscribe_on_connect`), each with the range of the process that
/// made it: `segments` holds, per process, the index of its first request and its first event.
pub(crate) fn on_connect_requests(sim: &Sim, segments: &[(usize, usize)]) -> Vec<Request> {
    let results = sim.on_connect_requests();
    let mut out = Vec::new();
    for (k, &(first, from)) in segments.iter().enumerate() {
        let (end, to) = match segments.get(k + 1) {
            Some(&(next, crash)) => (next, crash),
            None => (results.len(), usize::MAX),
        };
        for ticket in results[first..end].iter().filter_map(|r| r.ok()) {
            let mut r = Request::new(ticket, format!("subscribe {MAIN} on connect"), from);
            r.to = to;
            r.dead = to != usize::MAX && request_completions(sim, &r) == 0;
            out.push(r);
        }
    }
    out
}

/// How a QoS 1 or 2 ticket completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completion {
    Published,
    Failed(PublishFailure),
}
