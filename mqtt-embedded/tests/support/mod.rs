//! What the fake-broker tests share: the client and its runner against the fake broker of `mqtt-test`, over an
//! in-memory stream, in virtual time.
//!
//! The stream hands written bytes to the broker at once and reads what it answers; the virtual clock's sleeps
//! complete at once by jumping to their deadline; a `block_on` with a no-op waker polls the runner and the
//! application until the application is done. No sockets, no runtime, no real time: every run is the same.
#![allow(dead_code, unreachable_pub)] // Each test file uses its part.

use core::future::{Future, poll_fn};
use core::ops::Range;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use embassy_futures::select::{Either, select};
use mqtt_embedded::{
    Clock, Config, Event, Instant, NoopRawMutex, ProtocolVersion, QoS, Resources, Runner,
};
use mqtt_test::FakeBroker;
pub use mqtt_test::memory::MemoryConnector as Connector;

pub type Client = mqtt_embedded::Client<'static, NoopRawMutex, Connector, VirtualClock>;

/// Polls `future` until it is ready; panics if it does not finish within a generous number of polls.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the test did not finish: the client is stuck");
}

/// Virtual time: a sleep yields once (as a real one would, so that the runner lets the application run), then
/// jumps to its deadline.
#[derive(Clone, Default)]
pub struct VirtualClock(pub Rc<Cell<u64>>);

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.get())
    }

    async fn sleep_until(&self, deadline: Instant) {
        let mut yielded = false;
        poll_fn(|_| {
            if core::mem::replace(&mut yielded, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        self.0.set(self.0.get().max(deadline.as_millis()));
    }
}

pub type Res<const STORE: usize, const SUBS: usize> =
    Resources<'static, NoopRawMutex, Connector, VirtualClock, 4096, STORE, SUBS, 256>;

/// What the runner's handler saw: messages (topic, payload, QoS, whether the payload pointed into the resources)
/// and the other events, described.
#[derive(Default)]
pub struct Seen {
    pub messages: Vec<(String, Vec<u8>, QoS, bool)>,
    pub events: Vec<String>,
}

/// The fake broker, the connection attempts, the clock, what the handler saw, and where the resources are.
pub struct Setup {
    pub broker: Rc<RefCell<FakeBroker>>,
    pub attempts: Rc<Cell<u32>>,
    pub clock: VirtualClock,
    pub seen: Rc<RefCell<Seen>>,
    pub memory: Range<usize>,
}

/// A client and its runner on leaked resources, not running yet.
pub fn start<const STORE: usize, const SUBS: usize>(
    config: &Config<'_>,
    fail_first: u32,
) -> (
    Client,
    Runner<'static, NoopRawMutex, Connector, VirtualClock>,
    Setup,
) {
    let resources: &'static mut Res<STORE, SUBS> = Box::leak(Box::new(Resources::new()));
    let memory = resources as *const Res<STORE, SUBS> as usize;
    let setup = Setup {
        broker: Rc::new(RefCell::new(FakeBroker::default())),
        attempts: Rc::new(Cell::new(0)),
        clock: VirtualClock::default(),
        seen: Rc::default(),
        memory: memory..memory + size_of::<Res<STORE, SUBS>>(),
    };
    let connector = Connector {
        broker: setup.broker.clone(),
        fail_first,
        attempts: setup.attempts.clone(),
    };
    let (client, runner) = mqtt_embedded::new(config, resources, connector, setup.clock.clone())
        .expect("the buffers fit the configuration");
    (client, runner, setup)
}

/// The runner's handler: records what it sees in `setup.seen`.
pub fn handler(setup: &Setup) -> impl FnMut(Event<'_>) + use<> {
    let seen = setup.seen.clone();
    let memory = setup.memory.clone();
    move |event: Event<'_>| {
        let mut seen = seen.borrow_mut();
        match event {
            Event::Message(m) => {
                let borrowed = memory.contains(&(m.payload.as_ptr() as usize));
                seen.messages
                    .push((m.topic.into(), m.payload.into(), m.qos, borrowed));
            }
            Event::Reconnecting { attempt, delay } => {
                seen.events
                    .push(format!("reconnecting {attempt} in {}s", delay.as_secs()));
            }
            Event::Connected { .. } => seen.events.push("connected".into()),
            Event::ConnectionLost { .. } => seen.events.push("lost".into()),
            Event::ConnectFailed { .. } => seen.events.push("failed".into()),
            _ => {}
        }
    }
}

/// Builds a client on leaked resources and runs `app` against the runner until it returns.
pub fn run<const STORE: usize, const SUBS: usize, T>(
    config: &Config<'_>,
    fail_first: u32,
    app: impl AsyncFnOnce(Client, &Setup) -> T,
) -> T {
    let (client, runner, setup) = start::<STORE, SUBS>(config, fail_first);
    let handler = handler(&setup);
    match block_on(select(runner.run(handler), app(client, &setup))) {
        Either::First(never) => never,
        Either::Second(result) => result,
    }
}

/// Waits (in polls of the test's `block_on`) until `done` holds.
pub async fn until(done: impl Fn() -> bool) {
    poll_fn(|_| {
        if done() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

pub fn config(version: ProtocolVersion) -> Config<'static> {
    Config {
        version,
        // The base schedule without jitter, for exact delays.
        reconnect: proto::reconnect::ReconnectPolicy {
            jitter_permille: 0,
            ..Default::default()
        },
        ..Config::new("embedded")
    }
}
