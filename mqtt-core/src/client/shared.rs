//! [`Shared`]: what a client's handles and its runner share: the session and its [`Dispatch`] behind one short lock,
//! and the runner's wake-up.
//!
//! A handle's call locks, gives the session its command (and the dispatch what the answer needs), unlocks, and wakes
//! the runner: it answers at once, before the runner has run, while disconnected, from any thread. The runner
//! ([`Driver::run`](crate::driver::Driver::run) through [`Host`]) is the only one that touches the connection.

use core::future::poll_fn;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::Poll;
use std::boxed::Box;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use futures_util::task::AtomicWaker;

use super::{Dispatch, Message, Store};
use crate::driver::{Host, Wake};
use crate::session::AckToken;
use crate::{Instant, Session};

/// The session and the routing of its events, locked together.
#[derive(Debug)]
pub struct Core {
    /// The session.
    pub session: Session<'static>,
    /// Where its events go.
    pub dispatch: Dispatch,
}

impl Core {
    /// Whether the broker has accepted the current connection and the runner still runs it: a runner that ended
    /// without disconnecting (its task aborted, its future dropped) leaves a session that still says connected.
    pub fn is_connected(&self) -> bool {
        !self.dispatch.is_finished() && self.session.is_connected()
    }
}

/// The lock of a client's [`Core`]. Releasing it wakes the publishers waiting for room
/// ([`Client::publish_when_room`](super::Client::publish_when_room)) if a message left the outgoing queue meanwhile,
/// whoever held it (the runner after an acknowledgement, a handle that closed the client).
#[derive(Debug)]
pub struct CoreGuard<'a>(MutexGuard<'a, Core>);

impl Deref for CoreGuard<'_> {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.0
    }
}

impl DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Core {
        &mut self.0
    }
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        let Core { session, dispatch } = &mut *self.0;
        let finished = dispatch.is_finished();
        dispatch.room.release(session.queued(), finished);
    }
}

/// What every handle and the runner of one client share.
pub struct Shared {
    pub(crate) core: Mutex<Core>,
    /// Set by a wake-up, cleared by the runner when it looks.
    woken: AtomicBool,
    waker: AtomicWaker,
    now: Box<dyn Fn() -> Instant + Send + Sync>,
    /// Acknowledgements the application released, for the runner's next turn (one lock of the session for many).
    due_acks: Mutex<Vec<AckToken>>,
    /// Counted handles ([`Client`](super::Client)s and their clones) alive.
    handles: AtomicUsize,
    /// Where the session is kept across restarts ([`Options::persistence`](super::Options::persistence)).
    pub(crate) store: Option<Mutex<Store>>,
    /// The messages inherited from the store, with their outcomes, until the application takes them.
    pub(crate) recovered: Mutex<Vec<(Message, super::Published)>>,
    /// [`Options::ack_timeout`](super::Options::ack_timeout), read without the lock.
    ack_timeout: Option<core::time::Duration>,
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("handles", &self.handles.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Shares `session` and `dispatch`; `now` is the runner's clock.
    pub fn new(
        session: Session<'static>,
        dispatch: Dispatch,
        now: impl Fn() -> Instant + Send + Sync + 'static,
    ) -> Self {
        Self {
            ack_timeout: dispatch.ack_timeout,
            core: Mutex::new(Core { session, dispatch }),
            woken: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            now: Box::new(now),
            due_acks: Mutex::new(Vec::new()),
            handles: AtomicUsize::new(0),
            store: None,
            recovered: Mutex::new(Vec::new()),
        }
    }

    /// This client's [`Options::ack_timeout`](super::Options::ack_timeout): how long a wait for the broker's
    /// answer lasts at most, when the call has no timeout of its own.
    pub fn ack_timeout(&self) -> Option<core::time::Duration> {
        self.ack_timeout
    }

    /// Locks the session and its dispatch. Never held across an await or while application code runs.
    pub fn core(&self) -> CoreGuard<'_> {
        // No application code runs under this lock: a poisoned one still holds consistent data.
        CoreGuard(self.core.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Locks the session and its dispatch for the runner: the acknowledgements the application released since the
    /// runner's last turn go to the session first. (The async runner does this through [`Host`]; mqtt-blocking's
    /// loop calls it.)
    pub fn runner_core(&self) -> CoreGuard<'_> {
        let mut core = self.core();
        self.flush_due_acks(&mut core);
        core
    }

    /// The subscribe requests the broker has not answered yet.
    pub fn pending_subscriptions(&self) -> usize {
        self.core().dispatch.subscribes.len()
    }

    /// The runner's clock.
    pub fn now(&self) -> Instant {
        (self.now)()
    }

    /// Asks the runner to look at the session again.
    pub fn wake(&self) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Completes once [`wake`](Self::wake) was called since the last completion. Cancel-safe.
    pub async fn woken(&self) {
        poll_fn(|cx| {
            if self.woken.swap(false, Ordering::AcqRel) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            // A wake between the check and the registration is not missed.
            if self.woken.swap(false, Ordering::AcqRel) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    /// Registers `waker` to be woken by the next [`wake`](Self::wake) (for runners that do not poll
    /// [`woken`](Self::woken), such as mqtt-blocking's poll(2) loop). Whether a wake-up is already pending.
    pub fn register(&self, waker: &core::task::Waker) -> bool {
        self.waker.register(waker);
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// The application has the message of `token`: its acknowledgement goes out at the runner's next turn.
    pub fn ack(&self, token: AckToken) {
        self.due_acks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(token);
        self.wake();
    }

    /// Gives the session the acknowledgements released since the last call.
    fn flush_due_acks(&self, core: &mut Core) {
        let mut due = self.due_acks.lock().unwrap_or_else(PoisonError::into_inner);
        if due.is_empty() {
            return;
        }
        let now = self.now();
        for token in due.drain(..) {
            core.session.ack(token, now);
        }
    }

    /// Whether the client is done with (disconnected, or every handle gone and the session closed).
    pub fn is_finished(&self) -> bool {
        self.core().dispatch.is_finished()
    }

    /// Whether [`reconnect`](Self::reconnect) is refused with [`Error::Closed`](super::Error::Closed): the client is finished, or
    /// ending because every counted handle is gone.
    pub fn refuses_reconnect(&self) -> bool {
        let core = self.core();
        core.dispatch.is_finished() || core.dispatch.handles_gone
    }

    /// The last counted handle is gone: the runner disconnects gracefully.
    fn handle_dropped(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let now = self.now();
            {
                let mut core = self.core();
                let Core { session, dispatch } = &mut *core;
                dispatch.handles_gone(session, now);
            }
            self.wake();
        }
    }
}

/// Counts an application handle of a client: when the last guard is dropped, the runner disconnects gracefully
/// and ends. (Handles given to callbacks do not hold one, so that they do not keep the client alive.)
#[derive(Debug)]
pub struct HandleGuard(Arc<Shared>);

impl HandleGuard {
    /// Counts one more handle of `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        shared.handles.fetch_add(1, Ordering::AcqRel);
        Self(shared)
    }
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        self.0.handle_dropped();
    }
}

impl Host<'static> for Shared {
    type Sink = Dispatch;

    fn lock<R>(&self, f: impl FnOnce(&mut Session<'static>, &mut Dispatch) -> R) -> R {
        let mut core = self.runner_core();
        let Core { session, dispatch } = &mut *core;
        let result = f(session, dispatch);
        // What changed is stored before the session sends what depends on it: the driver looks again.
        if self.persist(&mut core.session) {
            self.wake();
        }
        let version = core.session.version();
        core.dispatch.note_version(version);
        if !core.dispatch.pending_acks.is_empty() {
            // Messages whose consumer left while being delivered: acknowledged on the runner's next round.
            core.flush_acks(self.now());
            self.wake();
        }
        result
    }
}

impl Wake for Shared {
    fn woken(&self) -> impl Future<Output = ()> {
        Self::woken(self)
    }
}
