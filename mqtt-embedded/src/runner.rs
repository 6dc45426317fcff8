//! The [`Runner`]: the one task that owns the connection and drives the core [`Driver`], and the state it shares
//! with the [`Client`](crate::Client) handles.

use core::cell::{Cell, RefCell};
use core::future::poll_fn;
use core::task::{Poll, Waker};

use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::waitqueue::GenericAtomicWaker;
use proto::SessionState;
use proto::codec::QoS;
use proto::driver::Driver;
use proto::io::{Clock, Connect};
use proto::session::{Event, Ticket};

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

/// The small state the runner and the clients share outside the driver.
#[derive(Debug)]
pub(crate) struct State {
    /// Clients waiting for, or using, the driver: the runner lets them go first.
    pub(crate) busy: usize,
    pub(crate) connected: bool,
    pub(crate) slots: [Slot; SLOTS],
}

/// Everything the runner and the clients share, kept in the [`Resources`](crate::Resources).
pub(crate) struct Shared<'d, M: RawMutex, N: Connect, C: Clock> {
    pub(crate) driver: Mutex<M, Driver<'d, N, C>>,
    /// A client wants the driver: the runner stops waiting for I/O and releases it.
    pub(crate) wake: Flag<M>,
    /// A client released the driver.
    pub(crate) turn: Flag<M>,
    pub(crate) state: BlockingMutex<M, RefCell<State>>,
}

impl<'d, M: RawMutex, N: Connect, C: Clock> Shared<'d, M, N, C> {
    pub(crate) fn new(driver: Driver<'d, N, C>) -> Self {
        let slot = || Slot {
            key: Key::Free,
            outcome: None,
            waker: None,
        };
        let state = State {
            busy: 0,
            connected: false,
            slots: core::array::from_fn(|_| slot()),
        };
        Self {
            driver: Mutex::new(driver),
            wake: Flag::new(),
            turn: Flag::new(),
            state: BlockingMutex::new(RefCell::new(state)),
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.state.lock(|state| f(&mut state.borrow_mut()))
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

/// Owns the connection: spawn [`run`](Self::run) as a task of its own. It is the only thing that touches the I/O.
pub struct Runner<'d, M: RawMutex, N: Connect, C: Clock> {
    pub(crate) shared: &'d Shared<'d, M, N, C>,
}

impl<M: RawMutex, N: Connect, C: Clock> Runner<'_, M, N, C> {
    /// Connects and keeps the session running: reads, writes, keep alive, and reconnects through the connector on
    /// the session's schedule. Never returns.
    ///
    /// Every event of the session goes to `handler`, in order: [`Event::Message`] borrows the topic and payload
    /// straight from the receive buffer (no copy), valid for the duration of the call. The handler runs inside
    /// the runner, so it must not block; to hand a message to another task, copy what it needs into a channel.
    ///
    /// While a [`Client`](crate::Client) command runs, the runner pauses between two I/O operations (nothing is
    /// lost: the core driver is cancel-safe) and resumes when the command is queued.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection without DISCONNECT (the broker publishes the will).
    pub async fn run(self, mut handler: impl FnMut(Event<'_>)) -> ! {
        let shared = self.shared;
        {
            let mut driver = shared.driver.lock().await;
            let now = driver.now();
            driver.session_mut().connect(now);
        }
        loop {
            while shared.with(|state| state.busy > 0) {
                shared.turn.wait().await;
            }
            let mut driver = shared.driver.lock().await;
            let mut on_event = |event: Event<'_>| {
                shared.record(&event);
                handler(event);
            };
            let stepped = select(driver.step(&mut on_event), shared.wake.wait()).await;
            // A closed session (disconnected, or gave up) has nothing to do until a command starts it again.
            if matches!(stepped, Either::First(()))
                && driver.session().state() == SessionState::Closed
            {
                drop(driver);
                shared.wake.wait().await;
            }
        }
    }
}
