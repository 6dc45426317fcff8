//! The [`Runner`]: the one task that owns the connection and drives the core [`Driver`], and the state it shares
//! with the [`Client`](crate::Client) handles: the session behind a short lock, and a wake-up.

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::task::{Poll, Waker};

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::waitqueue::GenericAtomicWaker;
use proto::Session;
use proto::codec::QoS;
use proto::driver::{Driver, EventSink, Flow, Host, Wake};
use proto::io::{Clock, Connect};
use proto::session::{AckToken, Event, Ticket};

use crate::Error;

/// How many commands can be awaited at once (publish completions, subscribe and unsubscribe answers, disconnect).
pub const SLOTS: usize = 8;

/// What an awaiting command is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Free,
    Reserved,
    Ticket(Ticket),
    Disconnect,
}

/// One awaited command: its key, its outcome once known, and the task to wake then.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) key: Key,
    pub(crate) outcome: Option<Result<QoS, Error>>,
    /// The one task awaiting the slot. Replaced, not woken, when it polls with another waker (tokio's `block_on`
    /// gives a new one at each poll: waking the old one would make the task wake itself forever).
    pub(crate) waker: Option<Waker>,
}

impl Slot {
    pub(crate) fn register(&mut self, waker: &Waker) {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.waker = Some(waker.clone());
        }
    }

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
    pub(crate) slots: [Slot; SLOTS],
    /// The largest record the flash store holds (feature `persist`; 0: no store).
    #[cfg(feature = "persist")]
    pub(crate) max_record: usize,
    /// Clients waiting for their message to be stored (feature `persist`).
    #[cfg(feature = "persist")]
    pub(crate) stored: embassy_sync::waitqueue::MultiWakerRegistration<SLOTS>,
}

/// Everything the runner and the clients share, kept in the [`Resources`](crate::Resources): the session behind a
/// short lock (never held across an await), the clock, and the runner's wake-up.
pub(crate) struct Shared<'d, M: RawMutex, C: Clock> {
    pub(crate) session: BlockingMutex<M, RefCell<Session<'d>>>,
    pub(crate) clock: C,
    /// A client gave the session a command: the runner looks again.
    pub(crate) wake: Flag<M>,
    /// The session has changes to store: the persister looks (feature `persist`).
    #[cfg(feature = "persist")]
    pub(crate) stored: Flag<M>,
    pub(crate) state: BlockingMutex<M, RefCell<State>>,
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
            slots: core::array::from_fn(|_| slot()),
            #[cfg(feature = "persist")]
            max_record: 0,
            #[cfg(feature = "persist")]
            stored: embassy_sync::waitqueue::MultiWakerRegistration::new(),
        };
        Self {
            session: BlockingMutex::new(RefCell::new(session)),
            clock,
            wake: Flag::new(),
            #[cfg(feature = "persist")]
            stored: Flag::new(),
            state: BlockingMutex::new(RefCell::new(state)),
        }
    }

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

    /// Hands `outcome` to the commands waiting for `key` (with `None`: every command waiting for a ticket).
    fn complete(&self, key: Option<Key>, outcome: Result<QoS, Error>) {
        self.with(|state| {
            let waiting = |k: Key| key.map_or(matches!(k, Key::Ticket(_)), |key| k == key);
            for slot in state.slots.iter_mut().filter(|slot| waiting(slot.key)) {
                slot.outcome = Some(outcome);
                slot.wake();
            }
        });
    }

    /// Turns the completions among the session's events into the outcomes awaited by clients.
    fn record(&self, event: &Event<'_>) {
        let ticket = |t: &Ticket| Some(Key::Ticket(*t));
        match event {
            Event::Published { ticket: t } => self.complete(ticket(t), Ok(QoS::AtMostOnce)),
            Event::PublishFailed { ticket: t, reason } => {
                self.complete(ticket(t), Err(Error::PublishFailed(*reason)));
            }
            Event::Subscribed { ticket: t, reasons } => {
                let granted = reasons.iter().try_fold(QoS::ExactlyOnce, |lowest, code| {
                    code.granted_qos()
                        .map(|qos| lowest.min(qos))
                        .ok_or(Error::Refused(code))
                });
                self.complete(ticket(t), granted);
            }
            Event::Unsubscribed { ticket: t, reasons } => {
                let refused = reasons.iter().find(|code| code.is_failure());
                self.complete(
                    ticket(t),
                    refused.map_or(Ok(QoS::AtMostOnce), |code| Err(Error::Refused(code))),
                );
            }
            Event::RequestTooLarge { ticket: t } => {
                self.complete(ticket(t), Err(Error::RequestTooLarge));
            }
            Event::Connected { .. } => self.with(|state| state.connected = true),
            Event::ConnectionLost { .. } | Event::ConnectFailed { .. } => {
                self.with(|state| state.connected = false);
            }
            Event::GaveUp { reason } => {
                self.with(|state| state.connected = false);
                self.complete(Some(Key::Disconnect), Ok(QoS::AtMostOnce));
                self.complete(None, Err(Error::GaveUp(*reason)));
            }
            Event::Disconnected { .. } => {
                self.with(|state| state.connected = false);
                self.complete(Some(Key::Disconnect), Ok(QoS::AtMostOnce));
                self.complete(None, Err(Error::Closed));
            }
            _ => {}
        }
    }
}

/// The session and the application's handler, as the driver sees them.
struct RunnerHost<'h, 'd, M: RawMutex, C: Clock, F> {
    shared: &'h Shared<'d, M, C>,
    /// Behind the same kind of lock as the session, so that the runner is `Send` whenever the session's lock is.
    handler: &'h BlockingMutex<M, RefCell<F>>,
}

/// Where the driver hands events: the clients' completions, then the application's handler.
struct Sink<'h, 'd, M: RawMutex, C: Clock, F> {
    shared: &'h Shared<'d, M, C>,
    handler: &'h BlockingMutex<M, RefCell<F>>,
}

impl<M: RawMutex, C: Clock, F: FnMut(Event<'_>), E> EventSink<E> for Sink<'_, '_, M, C, F> {
    fn event(&mut self, event: Event<'_>, _ack: Option<AckToken>) -> Flow {
        self.shared.record(&event);
        self.handler.lock(|handler| (handler.borrow_mut())(event));
        Flow::Taken
    }
}

impl<'h, 'd, M: RawMutex, C: Clock, F: FnMut(Event<'_>)> Host<'d> for RunnerHost<'h, 'd, M, C, F> {
    type Sink = Sink<'h, 'd, M, C, F>;

    fn lock<R>(&self, f: impl FnOnce(&mut Session<'d>, &mut Self::Sink) -> R) -> R {
        let mut sink = Sink {
            shared: self.shared,
            handler: self.handler,
        };
        self.shared.with_session(|session| f(session, &mut sink))
    }
}

impl<M: RawMutex, C: Clock, F> Wake for RunnerHost<'_, '_, M, C, F> {
    fn woken(&self) -> impl Future<Output = ()> {
        self.shared.wake.wait()
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
    /// Every event of the session goes to `handler`, in order: [`Event::Message`] borrows the topic and payload
    /// straight from the receive buffer (no copy), valid for the duration of the call. The handler runs inside
    /// the runner with the session locked, so it must not block (and, with a [`CriticalSectionRawMutex`]
    /// (crate::CriticalSectionRawMutex), it runs in a critical section: keep it short); to hand a message to
    /// another task, copy what it needs into a channel.
    ///
    /// A [`Client`](crate::Client) command never interrupts a connection attempt or a write: it changes the
    /// session and wakes the runner, which acts on it at its next turn.
    ///
    /// # Cancel safety
    ///
    /// The connection belongs to this future: dropping it closes the connection at once (the stream is dropped),
    /// without DISCONNECT, so the broker publishes the will.
    pub async fn run(mut self, handler: impl FnMut(Event<'_>)) -> ! {
        let shared = self.shared;
        let now = shared.clock.now();
        shared.with_session(|session| session.connect(now));
        let handler = BlockingMutex::new(RefCell::new(handler));
        let host = RunnerHost {
            shared,
            handler: &handler,
        };
        loop {
            // Returns only when the session is closed and the sink finished, which this sink never is.
            self.driver.run(&host).await;
            shared.wake.wait().await;
        }
    }
}
