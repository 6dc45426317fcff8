//! The [`Runner`]: the one task that owns the connection and drives the core [`Driver`], and the state it shares
//! with the [`Client`](crate::Client) handles and the [`Inbox`]es: the session behind a short lock, and wake-ups.

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::task::{Poll, Waker};

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::waitqueue::GenericAtomicWaker;
use proto::Session;
use proto::codec::{Publish, QoS, ReasonCode};
use proto::driver::{Driver, EventSink, Flow, Host, Wake};
use proto::io::{Clock, Connect};
use proto::session::{AckToken, Disconnection, Event, Ticket};

use crate::inbox::Inbox;
use crate::{Error, Granted};

/// How many commands can be awaited at once (publish completions, a `queue` waiting for room, subscribe and
/// unsubscribe answers, disconnect).
pub const SLOTS: usize = 8;

/// What an awaiting command is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Free,
    Reserved,
    Ticket(Ticket),
    /// A message waits for room in the store.
    Room,
    Disconnect,
    Reauthenticate,
    /// A ping waits for its PINGRESP.
    Ping,
}

/// What a completed command answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Done,
    Granted(Granted),
    /// A ping's round trip, in milliseconds (saturated).
    Pong(u32),
}

/// One awaited command: its key, its outcome once known, and the task to wake then.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) key: Key,
    pub(crate) outcome: Option<Result<Answer, Error>>,
    /// The one task awaiting the slot. Replaced, not woken, when it polls with another waker (tokio's `block_on`
    /// gives a new one at each poll: waking the old one would make the task wake itself forever).
    pub(crate) waker: Option<Waker>,
}

/// Keeps `waker` in `slot`, replacing (not waking) another one.
pub(crate) fn register(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

impl Slot {
    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// A wake-up for the one task that waits for it (the runner): set by [`signal`](Self::signal), consumed by
/// [`wait`](Self::wait). Unlike embassy-sync's `Signal`, a new waker replaces the old one without waking it, so
/// a task polled with a fresh waker each time does not wake itself.
pub(crate) struct Flag<M: RawMutex> {
    set: BlockingMutex<M, Cell<bool>>,
    waker: GenericAtomicWaker<M>,
}

impl<M: RawMutex> Flag<M> {
    fn new() -> Self {
        Self {
            set: BlockingMutex::new(Cell::new(false)),
            waker: GenericAtomicWaker::new(M::INIT),
        }
    }

    pub(crate) fn signal(&self) {
        self.set.lock(|set| set.set(true));
        self.waker.wake();
    }

    pub(crate) async fn wait(&self) {
        poll_fn(|cx| {
            if self.set.lock(|set| set.replace(false)) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            // Set between the check and the registration: not missed.
            match self.set.lock(|set| set.replace(false)) {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        })
        .await;
    }
}

/// The small state the runner and the clients share outside the session.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) connected: bool,
    /// The runner is gone (its future was dropped): commands fail with [`Error::Closed`].
    pub(crate) stopped: bool,
    pub(crate) slots: [Slot; SLOTS],
    /// Why the session gave up, until it connects again: commands it refuses as closed meanwhile report this.
    pub(crate) gave_up: Option<Disconnection>,
    /// The largest record the flash store holds (feature `persist`; 0: no store).
    #[cfg(feature = "persist")]
    pub(crate) max_record: usize,
    /// Clients waiting for their message to be stored (feature `persist`).
    #[cfg(feature = "persist")]
    pub(crate) stored: embassy_sync::waitqueue::MultiWakerRegistration<SLOTS>,
}

/// What the runner, the clients and the inboxes share, whatever the clock: the session behind a short lock
/// (never held across an await), the runner's wake-up, the slots, and the first inbox of the routing list.
pub(crate) struct Hub<'d, M: RawMutex> {
    pub(crate) session: BlockingMutex<M, RefCell<Session<'d>>>,
    /// A client gave the session a command, or an inbox took a message: the runner looks again.
    pub(crate) wake: Flag<M>,
    /// The session has changes to store: the persister looks (feature `persist`).
    #[cfg(feature = "persist")]
    pub(crate) stored: Flag<M>,
    pub(crate) state: BlockingMutex<M, RefCell<State>>,
    /// The inboxes, linked through their own `next`.
    pub(crate) routes: BlockingMutex<M, Cell<Option<&'d Inbox<'d>>>>,
    /// [`Hub::route`], once an inbox is subscribed: a firmware without inboxes does not carry the routing.
    pub(crate) router: BlockingMutex<M, Cell<Option<Router<'d, M>>>>,
}

/// How the runner offers a message to the inboxes ([`Hub::route`]).
pub(crate) type Router<'d, M> = fn(&Hub<'d, M>, &Publish<'_>, bool) -> Option<Flow>;

/// Everything the runner and the clients share, kept in the [`Resources`](crate::Resources): the hub and the
/// clock.
pub(crate) struct Shared<'d, M: RawMutex, C: Clock> {
    pub(crate) hub: Hub<'d, M>,
    pub(crate) clock: C,
}

impl<'d, M: RawMutex, C: Clock> Shared<'d, M, C> {
    pub(crate) fn new(session: Session<'d>, clock: C) -> Self {
        let slot = || Slot {
            key: Key::Free,
            outcome: None,
            waker: None,
        };
        let state = State {
            connected: false,
            stopped: false,
            slots: core::array::from_fn(|_| slot()),
            gave_up: None,
            #[cfg(feature = "persist")]
            max_record: 0,
            #[cfg(feature = "persist")]
            stored: embassy_sync::waitqueue::MultiWakerRegistration::new(),
        };
        let hub = Hub {
            session: BlockingMutex::new(RefCell::new(session)),
            wake: Flag::new(),
            #[cfg(feature = "persist")]
            stored: Flag::new(),
            state: BlockingMutex::new(RefCell::new(state)),
            routes: BlockingMutex::new(Cell::new(None)),
            router: BlockingMutex::new(Cell::new(None)),
        };
        Self { hub, clock }
    }
}

impl<'d, M: RawMutex> Hub<'d, M> {
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.state.lock(|state| f(&mut state.borrow_mut()))
    }

    /// Runs `f` on the session, locked. With persistence, the persister is told when the session has changes to
    /// store.
    pub(crate) fn with_session<R>(&self, f: impl FnOnce(&mut Session<'d>) -> R) -> R {
        self.session.lock(|session| {
            let mut session = session.borrow_mut();
            let result = f(&mut session);
            #[cfg(feature = "persist")]
            if session.wants_persist() {
                self.stored.signal();
            }
            result
        })
    }

    /// Wakes the clients waiting for their message to be stored (feature `persist`).
    #[cfg(feature = "persist")]
    pub(crate) fn stored_waiters(&self) {
        self.with(|state| state.stored.wake());
    }

    /// The first inbox of the routing list.
    pub(crate) fn first_route(&self) -> Option<&'d Inbox<'d>> {
        self.routes.lock(Cell::get)
    }

    /// Hands `outcome` to the commands waiting for `key` (with `None`: every command waiting for a ticket).
    fn complete(&self, key: Option<Key>, outcome: Result<Answer, Error>) {
        self.with(|state| {
            let waiting = |k: Key| key.map_or(matches!(k, Key::Ticket(_)), |key| k == key);
            for slot in state.slots.iter_mut().filter(|slot| waiting(slot.key)) {
                slot.outcome = Some(outcome);
                slot.wake();
            }
        });
    }

    /// Wakes the messages waiting for room in the store: some was freed.
    fn room(&self) {
        self.with(|state| {
            for slot in state.slots.iter_mut().filter(|s| s.key == Key::Room) {
                slot.wake();
            }
        });
    }

    /// The runner is gone: every awaited command ends with [`Error::Closed`], and so do later ones.
    fn stop(&self) {
        self.with(|state| {
            state.stopped = true;
            state.connected = false;
            for slot in state.slots.iter_mut().filter(|s| s.key != Key::Free) {
                slot.outcome = Some(Err(Error::Closed));
                slot.wake();
            }
        });
    }

    /// Turns the completions among the session's events into the outcomes awaited by clients.
    fn record(&self, event: &Event<'_>) {
        let ticket = |t: &Ticket| Some(Key::Ticket(*t));
        match event {
            Event::Published { ticket: t } => self.complete(ticket(t), Ok(Answer::Done)),
            Event::PublishFailed { ticket: t, reason } => {
                self.complete(ticket(t), Err(Error::PublishFailed(*reason)));
            }
            Event::Subscribed { ticket: t, reasons } => {
                let mut granted = Granted::default();
                reasons.iter().for_each(|code| granted.push(code));
                self.complete(ticket(t), Ok(Answer::Granted(granted)));
            }
            Event::Unsubscribed { ticket: t, reasons } => {
                let refused = reasons.iter().find(|code| code.is_failure());
                self.complete(
                    ticket(t),
                    refused.map_or(Ok(Answer::Done), |code| Err(Error::Refused(code))),
                );
            }
            Event::RequestTooLarge { ticket: t } => {
                self.complete(ticket(t), Err(Error::RequestTooLarge));
            }
            Event::Connected { .. } => self.with(|state| {
                state.connected = true;
                state.gave_up = None;
            }),
            Event::ConnectionLost { .. } | Event::ConnectFailed { .. } => {
                self.with(|state| state.connected = false);
                self.complete(Some(Key::Reauthenticate), Err(Error::ConnectionLost));
                self.complete(Some(Key::Ping), Err(Error::ConnectionLost));
            }
            Event::PingResponse { round_trip } => {
                let millis = u32::try_from(round_trip.as_millis()).unwrap_or(u32::MAX);
                self.complete(Some(Key::Ping), Ok(Answer::Pong(millis)));
            }
            Event::Reauthenticated => {
                self.complete(Some(Key::Reauthenticate), Ok(Answer::Done));
            }
            Event::GaveUp { reason } => {
                self.with(|state| {
                    state.connected = false;
                    state.gave_up = Some(*reason);
                });
                self.complete(Some(Key::Disconnect), Ok(Answer::Done));
                self.complete(None, Err(Error::GaveUp(*reason)));
                self.room();
            }
            Event::Disconnected { .. } => {
                self.with(|state| {
                    state.connected = false;
                    state.gave_up = None;
                });
                self.complete(Some(Key::Disconnect), Ok(Answer::Done));
                self.complete(None, Err(Error::Closed));
                self.room();
            }
            _ => {}
        }
    }

    /// Offers a message to the inboxes whose filters match its topic. `None` if none matches; otherwise whether
    /// every one of them has it ([`Flow::Taken`]) or one waits to take it from the receive buffer
    /// ([`Flow::Hold`]). `again`: the message is the one held last time, offered again (the inboxes that have it
    /// already are skipped).
    pub(crate) fn route(&self, message: &Publish<'_>, again: bool) -> Option<Flow> {
        let mut matched = false;
        let mut flow = Flow::Taken;
        let mut next = self.first_route();
        while let Some(inbox) = next {
            next = inbox.offer(message, again, &mut matched, &mut flow);
        }
        matched.then_some(flow)
    }

    /// Whether an inbox other than `except` waits to take the held message.
    pub(crate) fn held_elsewhere(&self, except: &Inbox<'d>) -> bool {
        let mut next = self.first_route();
        while let Some(inbox) = next {
            if !core::ptr::eq(inbox, except) && inbox.waits_for_held() {
                return true;
            }
            next = inbox.next();
        }
        false
    }
}

/// The session and the application's handler, as the driver sees them.
struct RunnerHost<'h, 'd, M: RawMutex, F> {
    hub: &'h Hub<'d, M>,
    /// Behind the same kind of lock as the session, so that the runner is `Send` whenever the session's lock is.
    handler: &'h BlockingMutex<M, RefCell<F>>,
}

/// Where the driver hands events: the clients' completions, the inboxes, then the application's handler.
struct Sink<'h, 'd, M: RawMutex, F> {
    hub: &'h Hub<'d, M>,
    handler: &'h BlockingMutex<M, RefCell<F>>,
    /// The session held a message when the lock was taken: the first message is that one, offered again.
    again: bool,
}

impl<M: RawMutex, F: FnMut(Event<'_>), E> EventSink<E> for Sink<'_, '_, M, F> {
    fn event(&mut self, event: Event<'_>, _ack: Option<AckToken>) -> Flow {
        let again = core::mem::take(&mut self.again);
        if let Event::Message(message) = &event
            && let Some(route) = self.hub.router.lock(Cell::get)
            && let Some(flow) = route(self.hub, message, again)
        {
            return flow;
        }
        self.hub.record(&event);
        self.handler.lock(|handler| (handler.borrow_mut())(event));
        Flow::Taken
    }

    /// The handler and the inboxes have a message once they took it: with `Config::manual_ack`, it is
    /// acknowledged then (an inbox that is full holds it, unacknowledged, until it has room).
    fn acks_when_taken(&self) -> bool {
        true
    }
}

impl<'h, 'd, M: RawMutex, F: FnMut(Event<'_>)> Host<'d> for RunnerHost<'h, 'd, M, F> {
    type Sink = Sink<'h, 'd, M, F>;

    fn lock<R>(&self, f: impl FnOnce(&mut Session<'d>, &mut Self::Sink) -> R) -> R {
        self.hub.with_session(|session| {
            let mut sink = Sink {
                hub: self.hub,
                handler: self.handler,
                again: session.has_held_message(),
            };
            let queued = session.queued();
            let result = f(session, &mut sink);
            if session.queued() < queued {
                self.hub.room();
            }
            result
        })
    }
}

impl<M: RawMutex, F> Wake for RunnerHost<'_, '_, M, F> {
    fn woken(&self) -> impl Future<Output = ()> {
        self.hub.wake.wait()
    }
}

/// Owns the connection: spawn [`run`](Self::run) as a task of its own. It is the only thing that touches the I/O.
pub struct Runner<'d, M: RawMutex, N: Connect, C: Clock> {
    pub(crate) shared: &'d Shared<'d, M, C>,
    pub(crate) driver: Driver<'d, N, &'d C>,
}

impl<M: RawMutex, N: Connect, C: Clock> Runner<'_, M, N, C> {
    /// Connects and keeps the session running: reads, writes, keep alive, and reconnects through the connector on
    /// the session's schedule. Never returns.
    ///
    /// Messages go to the [`Inbox`]es whose filters match their topic
    /// ([`Client::subscribe_to`](crate::Client::subscribe_to)); every other event of the session, and the
    /// messages no inbox takes, go to `handler`, in order. [`Event::Message`] borrows the topic and payload
    /// straight from the receive buffer (no copy), valid for the duration of the call. The handler runs inside the
    /// runner with the session locked, so it must not block nor call into the client (and, with a
    /// [`CriticalSectionRawMutex`](crate::CriticalSectionRawMutex), it runs in a critical section: keep it short);
    /// to hand messages to another task, use an inbox.
    ///
    /// A [`Client`](crate::Client) command never interrupts a connection attempt or a write: it changes the
    /// session and wakes the runner, which acts on it at its next turn.
    ///
    /// # Cancel safety
    ///
    /// The connection belongs to this future. Dropping it (or the [`Runner`] before it runs) ends the client:
    ///
    /// 1. The stream is dropped at once, without DISCONNECT: the connector's stream closes the connection when it
    ///    is dropped (a TCP socket does), so the broker sees the connection end and publishes the will. A stream
    ///    whose drop does not close the link (a UART) leaves that to the broker's keep alive: it publishes the
    ///    will once 1.5 keep alive intervals pass without a packet.
    /// 2. Every command awaited then ([`Delivery::wait`](crate::Delivery::wait), a `queue` waiting for room,
    ///    `subscribe`, `disconnect`...) and every later one that awaits the broker returns [`Error::Closed`];
    ///    [`Client::is_connected`](crate::Client::is_connected) is `false`.
    /// 3. The session keeps its state (queued messages, subscriptions) in the resources, but nothing runs it
    ///    any more: a runner cannot be made again for the same resources.
    pub async fn run(mut self, handler: impl FnMut(Event<'_>)) -> ! {
        let hub = &self.shared.hub;
        let now = self.shared.clock.now();
        hub.with_session(|session| session.connect(now));
        let handler = BlockingMutex::new(RefCell::new(handler));
        let host = RunnerHost {
            hub,
            handler: &handler,
        };
        loop {
            // Returns only when the session is closed and the sink finished, which this sink never is.
            self.driver.run(&host).await;
            hub.wake.wait().await;
        }
    }
}

impl<M: RawMutex, N: Connect, C: Clock> Drop for Runner<'_, M, N, C> {
    /// The runner future was dropped, or the runner never ran: the client is closed. The stream, if any, is a
    /// local of the driver's future and was dropped before this.
    fn drop(&mut self) {
        self.shared.hub.stop();
    }
}

impl Granted {
    fn push(&mut self, code: ReasonCode) {
        if let Some(slot) = self.codes.get_mut(usize::from(self.len)) {
            *slot = code;
            self.len += 1;
        }
    }
}

/// The QoS a granted code stands for, or the refusal.
pub(crate) fn granted_qos(code: ReasonCode) -> Result<QoS, ReasonCode> {
    code.granted_qos().ok_or(code)
}
