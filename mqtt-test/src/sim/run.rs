//! Running a [`Sim`]: draining the session and the broker at one instant as the driving contract asks, jumping
//! the clock to the next link delivery or deadline, and checking that every deadline the session returns lies in
//! the future.

use core::time::Duration;

use mqtt_core::codec::Subscription;
use mqtt_core::{Event, Instant, TransportAction};

use super::{MAX_DRIVE_ROUNDS, RecordedEvent, Sim};
use crate::link::{End, LinkEvent};

impl Sim {
    /// Drains the session and the broker at the current instant, as the driving contract asks, until neither
    /// has anything more to do now. No virtual time passes.
    ///
    /// # Panics
    ///
    /// If draining never ends at one instant (livelock), or if the session's deadline afterwards is not in the
    /// future. A deadline at or before now is accepted only when it was read earlier while it was still ahead
    /// and `handle_timeout` has not been called since the clock reached it (the clock stopped at it for a link
    /// delivery at the same instant, which goes first); every deadline the session sets, and whatever it
    /// returns after `handle_timeout(now)`, must be later than now.
    pub fn drive(&mut self) {
        for _ in 0..MAX_DRIVE_ROUNDS {
            if !self.drive_once() {
                self.check_deadline();
                return;
            }
        }
        self.fail(format!(
            "no quiescence after {MAX_DRIVE_ROUNDS} rounds of draining at one instant (livelock)"
        ));
    }

    /// Drives, then processes everything due at the current instant (link deliveries with no latency left,
    /// an expired session deadline). The clock does not move.
    pub fn settle(&mut self) {
        self.drive();
        while self.next_event_at().is_some_and(|t| t <= self.clock.now()) {
            self.step();
        }
    }

    /// When the next thing happens: a link delivery or the session's deadline (never before now).
    pub fn next_event_at(&self) -> Option<Instant> {
        if self.store.as_ref().is_some_and(|s| s.pending() > 0) {
            return Some(self.clock.now());
        }
        let next = match (self.link.next_event_at(), self.session.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map(|t| t.max(self.clock.now()))
    }

    /// Drives, then jumps the clock to the next thing that happens and processes it: one link delivery, or the
    /// session's timeout (a delivery due at the same instant goes first). Returns `false` if nothing is
    /// scheduled at all.
    ///
    /// A delivery to the client takes every other delivery due at the same instant with it before anything is
    /// drained, as one read would: bytes followed by the close of the connection reach the session's receive
    /// buffer before `handle_transport_down`, which must not lose them.
    ///
    /// # Panics
    ///
    /// As [`drive`](Self::drive): if the session's deadline is not in the future after `handle_timeout` (a
    /// session bug that would loop forever) or after any other input, or if draining never ends at one instant.
    pub fn step(&mut self) -> bool {
        self.drive();
        // A lagging store's writes become durable: a step of its own, at the current instant.
        if self.persist_sync() {
            self.trace.push(self.clock.now(), "store: writes durable");
            self.drive();
            return true;
        }
        let Some(at) = self.next_event_at() else {
            return false;
        };
        let now = self.clock.advance_to(at);
        if self.link.next_event_at().is_some_and(|t| t <= now) {
            if let Some(event) = self.link.poll(now) {
                // Everything that reaches the client at one instant arrives together, as in one read: bytes
                // followed by the close are handed to the session before it hears of the close, and it must
                // still process them (`Session::handle_transport_down`). What else is due at that instant is
                // applied with them.
                let to_client = Self::is_for_client(&event);
                self.apply_link_event(event);
                while to_client && self.link.next_event_at().is_some_and(|t| t <= now) {
                    match self.link.poll(now) {
                        Some(event) => self.apply_link_event(event),
                        None => break,
                    }
                }
                self.drive();
            }
        } else {
            let deadline = self.session.poll_timeout();
            self.trace.push(
                now,
                format!("session: handle_timeout (deadline {deadline:?})"),
            );
            self.session.handle_timeout(now);
            self.timeout_handled_at = Some(now);
        }
        self.drive();
        true
    }

    /// Steps until `done` holds, for at most `max` of virtual time. Returns whether `done` held; on `false` the
    /// clock stands at the limit. `done` is checked before the first step and after each one.
    pub fn run_until(&mut self, mut done: impl FnMut(&Self) -> bool, max: Duration) -> bool {
        let end = self.clock.now() + max;
        loop {
            self.drive();
            if done(self) {
                return true;
            }
            match self.next_event_at() {
                Some(at) if at <= end => {
                    self.step();
                }
                _ => {
                    self.clock.advance_to(end);
                    self.drive();
                    return done(self);
                }
            }
        }
    }

    /// Runs for `duration` of virtual time: everything due up to then happens, and the clock ends there.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(|_| false, duration);
    }

    /// Runs until the link is quiet: nothing in flight, nothing due. Session deadlines that fall before that are
    /// honoured; later ones (keep alive, reconnect) are not waited for, so this ends even while connected. Use
    /// [`run_for`](Self::run_for) or [`run_until`](Self::run_until) to let timers fire.
    ///
    /// # Panics
    ///
    /// After a million steps (an exchange that never ends).
    pub fn run_until_idle(&mut self) {
        for _ in 0..1_000_000 {
            self.drive();
            let now = self.clock.now();
            let timer_due = self.session.poll_timeout().is_some_and(|t| t <= now);
            let store_due = self.store.as_ref().is_some_and(|s| s.pending() > 0);
            if self.link.next_event_at().is_none() && !timer_due && !store_due {
                return;
            }
            self.step();
        }
        self.fail("run_until_idle: the link never went quiet after a million steps");
    }

    // ----- internals -----

    /// The session's deadline after a drive must lie in the future; see [`drive`](Self::drive).
    fn check_deadline(&mut self) {
        let now = self.clock.now();
        let deadline = self.session.poll_timeout();
        if let Some(at) = deadline
            && at <= now
        {
            let set_while_ahead = self
                .deadline_seen
                .is_some_and(|(seen, read_at)| seen == at && read_at < at);
            if let Some(handled) = self.timeout_handled_at.filter(|&t| t >= at) {
                self.fail(format!(
                    "session bug: poll_timeout() is {at:?} at {now:?}, after handle_timeout({handled:?}): a deadline \
                     not in the future"
                ));
            }
            if !set_while_ahead {
                self.fail(format!(
                    "session bug: poll_timeout() is {at:?} at {now:?}: a new deadline not in the future"
                ));
            }
        }
        if self.deadline_seen.map(|(seen, _)| seen) != deadline {
            self.deadline_seen = deadline.map(|at| (at, now));
        }
    }

    fn drive_once(&mut self) -> bool {
        let now = self.clock.now();
        let mut progress = false;
        while let Some(action) = self.session.poll_transport() {
            progress = true;
            self.on_transport_action(action);
        }
        // The runner stores what changed before it writes to the network (the session holds back what depends on
        // a change until it is durable).
        progress |= self.persist();
        let mut writes = 0usize;
        while let Some(n) = self.session.poll_transmit(now, &mut self.tx_buf) {
            progress = true;
            let bytes = self.tx_buf[..n.min(self.tx_buf.len())].to_vec();
            self.send(End::Client, &bytes);
            writes += 1;
            if writes > MAX_DRIVE_ROUNDS {
                self.fail("poll_transmit never returns None");
            }
        }
        if !self.to_session.is_empty() {
            let n = self.session.handle_bytes(&self.to_session, now);
            if n > 0 {
                progress = true;
                self.to_session.drain(..n.min(self.to_session.len()));
            }
        }
        loop {
            let again = self.session.has_held_message();
            let Some(event) = self.session.poll_event() else {
                break;
            };
            let is_message = matches!(event, Event::Message(_));
            let event = RecordedEvent::from(event);
            if is_message && self.message_budget == Some(0) {
                // The application's queue is full: hold it (again), and look no further now.
                let held = self.session.hold_message();
                if !again {
                    progress = true;
                    self.holds += 1;
                    self.trace
                        .push(now, format!("application holds {event} (held: {held})"));
                }
                break;
            }
            progress = true;
            if is_message {
                self.message_budget = self.message_budget.map(|b| b.saturating_sub(1));
                if let Some(token) = self.session.message_ack() {
                    self.unacked.push(token);
                }
            }
            self.trace.push(now, format!("session event: {event}"));
            let connected = matches!(event, RecordedEvent::Connected { .. });
            self.events.push(event);
            if connected && !self.on_connect.is_empty() {
                let subscriptions: Vec<Subscription<'_>> = self
                    .on_connect
                    .iter()
                    .map(|(filter, options)| Subscription {
                        filter,
                        options: *options,
                    })
                    .collect();
                let result = self.session.subscribe(&subscriptions, now);
                self.trace.push(
                    now,
                    format!(
                        "command (on connect): subscribe {:?}: {result:?}",
                        self.on_connect
                            .iter()
                            .map(|(f, _)| f.as_str())
                            .collect::<Vec<_>>()
                    ),
                );
                self.on_connect_requests.push(result);
            }
        }
        while let Some(bytes) = self.active_mut().poll_transmit() {
            progress = true;
            self.send(End::Broker, &bytes);
        }
        if self.active_mut().poll_close() {
            progress = true;
            self.trace.push(now, "broker closes the connection");
            self.link.close(End::Broker, now);
        }
        progress
    }

    fn on_transport_action(&mut self, action: TransportAction) {
        let now = self.clock.now();
        self.trace
            .push(now, format!("session: poll_transport → {action:?}"));
        self.to_session.clear();
        match action {
            TransportAction::Open => {
                for reader in &mut self.readers {
                    reader.reset();
                }
                if !self.failover.is_empty() {
                    // Events of the old connection still reach the old broker: the new one is chosen when the
                    // link reports the new connection.
                    self.opening = self.session.broker() % self.reachable.len();
                    self.link.set_reachable(self.reachable[self.opening]);
                    self.trace
                        .push(now, format!("open goes to broker {}", self.opening));
                }
                self.link.open(now);
            }
            TransportAction::Close => self.link.close(End::Client, now),
        }
    }

    fn send(&mut self, from: End, bytes: &[u8]) {
        let now = self.clock.now();
        let version = self.session.version();
        let packets = self.readers[usize::from(from == End::Broker)].feed(bytes, version);
        let taken = self.link.send(from, bytes, now);
        let mut line = format!("{from} sends {} B", bytes.len());
        if taken < bytes.len() {
            line += &format!(" (the link took {taken} B)");
        }
        if !packets.is_empty() {
            line += ": ";
            line += &packets.join(", ");
        }
        self.trace.push(now, line);
    }

    fn is_for_client(event: &LinkEvent) -> bool {
        matches!(
            event,
            LinkEvent::Data {
                to: End::Client,
                ..
            } | LinkEvent::Closed { to: End::Client }
        )
    }

    /// Applies one delivery of the link, without draining the session or the broker afterwards.
    fn apply_link_event(&mut self, event: LinkEvent) {
        let now = self.clock.now();
        match event {
            LinkEvent::Opened => {
                self.active = self.opening;
                self.trace.push(now, "link: connection established");
                self.active_mut().handle_connection_opened();
                self.session.handle_transport_up(now);
            }
            LinkEvent::Refused => {
                self.active = self.opening;
                self.trace.push(now, "link: connection refused");
                self.session.handle_transport_down(now);
            }
            LinkEvent::Data {
                to: End::Broker,
                bytes,
            } => {
                self.trace
                    .push(now, format!("broker receives {} B", bytes.len()));
                self.active_mut().handle_bytes(&bytes);
            }
            LinkEvent::Data {
                to: End::Client,
                bytes,
            } => {
                self.trace
                    .push(now, format!("client receives {} B", bytes.len()));
                self.to_session.extend_from_slice(&bytes);
                self.feed_session();
            }
            LinkEvent::Closed { to: End::Broker } => {
                self.trace
                    .push(now, "link: broker sees the connection close");
                self.active_mut().handle_connection_closed();
            }
            LinkEvent::Closed { to: End::Client } => {
                // Bytes that arrived before the close are read before it is noticed, as a binding reads up to
                // the end of the stream: into the session's receive buffer, draining events only to make room.
                loop {
                    self.feed_session();
                    if self.to_session.is_empty() || !self.drive_once() {
                        break;
                    }
                }
                self.to_session.clear();
                self.trace
                    .push(now, "link: client sees the connection close");
                self.session.handle_transport_down(now);
            }
        }
    }

    /// Hands the session what its receive buffer takes of the bytes received, without processing them.
    fn feed_session(&mut self) {
        let now = self.clock.now();
        let n = self.session.handle_bytes(&self.to_session, now);
        self.to_session.drain(..n.min(self.to_session.len()));
    }
}
