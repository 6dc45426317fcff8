//! The async driver over an in-memory stream to the fake broker, with a virtual clock: no sockets, no runtime.
//!
//! The stream hands written bytes to the broker at once and reads what the broker answered; when there is nothing
//! to read it stays pending, and the virtual clock's sleep completes at once by jumping to the deadline (unless
//! frozen). The test polls the driver's `run` future by hand with a no-op waker and acts on the shared session
//! between polls, as handles do: every step is deterministic.

use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mqtt_core::codec::{PacketType, ProtocolVersion, Publish, QoS, Subscription};
use mqtt_core::driver::{Driver, EventSink, Flow, Host, Wake};
use mqtt_core::io::{Clock, Connect, Failover};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::{AckToken, Event};
use mqtt_core::{Buf, Buffers, Config, Instant, Session};
use mqtt_test::memory::{MemoryConnector as Connector, MemoryStream as Stream};
use mqtt_test::{BrokerConfig, Direction, End, FakeBroker};

/// Virtual time: a sleep jumps to its deadline at its second poll (the first returns `Pending`, so that each poll
/// of the driver moves time at most once), unless the clock is frozen, when it never completes.
#[derive(Clone)]
struct VirtualClock(Rc<Cell<Instant>>, Rc<Cell<bool>>);

impl VirtualClock {
    fn new() -> Self {
        Self(
            Rc::new(Cell::new(Instant::from_millis(1))),
            Rc::new(Cell::new(false)),
        )
    }

    fn freeze(&self, frozen: bool) {
        self.1.set(frozen);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.0.get()
    }

    async fn sleep_until(&self, deadline: Instant) {
        let mut polled = false;
        core::future::poll_fn(|_| {
            if self.1.get() || !core::mem::replace(&mut polled, true) {
                return Poll::Pending;
            }
            if deadline > self.0.get() {
                self.0.set(deadline);
            }
            Poll::Ready(())
        })
        .await;
    }
}

/// What the test's sink saw, and whether it takes messages.
#[derive(Default)]
struct Log {
    events: Vec<String>,
    errors: Vec<String>,
    /// Messages are refused (queues full) while this is set.
    full: bool,
    finished: bool,
}

impl<E: core::fmt::Debug> EventSink<E> for Log {
    fn event(&mut self, event: Event<'_>, _ack: Option<AckToken>) -> Flow {
        if matches!(event, Event::Message(_)) && self.full {
            return Flow::Hold;
        }
        self.events.push(describe(&event));
        Flow::Taken
    }

    fn transport_failed(&mut self, error: E) {
        self.errors.push(format!("{error:?}"));
    }

    fn is_finished(&self) -> bool {
        self.finished
    }
}

/// The shared session and the log, as a binding keeps them, with a wake-up flag.
struct TestHost {
    core: RefCell<(Session<'static>, Log)>,
    woken: Cell<bool>,
    clock: VirtualClock,
}

impl TestHost {
    fn new(session: Session<'static>, clock: VirtualClock) -> Self {
        Self {
            core: RefCell::new((session, Log::default())),
            woken: Cell::new(false),
            clock,
        }
    }

    /// Gives the session a command, as a handle does: under the lock, then a wake-up.
    fn command<R>(&self, f: impl FnOnce(&mut Session<'static>, Instant) -> R) -> R {
        let now = self.clock.now();
        let result = f(&mut self.core.borrow_mut().0, now);
        self.woken.set(true);
        result
    }

    fn events(&self) -> Vec<String> {
        self.core.borrow().1.events.clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.core
            .borrow()
            .1
            .events
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
}

impl Host<'static> for TestHost {
    type Sink = Log;

    fn lock<R>(&self, f: impl FnOnce(&mut Session<'static>, &mut Log) -> R) -> R {
        let mut core = self.core.borrow_mut();
        let (session, log) = &mut *core;
        f(session, log)
    }
}

impl Wake for TestHost {
    async fn woken(&self) {
        core::future::poll_fn(|_| {
            if self.woken.replace(false) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// A text record of an event, for assertions.
fn describe(event: &Event<'_>) -> String {
    match event {
        Event::Message(m) => format!(
            "message {} {:?}",
            m.topic,
            String::from_utf8_lossy(m.payload)
        ),
        Event::Published { .. } => "published".into(),
        Event::Subscribed { reasons, .. } => {
            format!("subscribed {:?}", reasons.iter().collect::<Vec<_>>())
        }
        Event::Connected { session_present } => format!("connected {session_present}"),
        Event::ConnectFailed { .. } => "connect failed".into(),
        Event::Reconnecting { attempt, delay } => {
            format!("reconnecting {attempt} in {}s", delay.as_secs())
        }
        other => format!("{other:?}"),
    }
}

/// Polls `run` until `done` holds, at most `polls` times; panics with the log otherwise.
fn poll_until(
    run: &mut Pin<&mut impl Future<Output = ()>>,
    host: &TestHost,
    polls: usize,
    done: impl Fn(&TestHost) -> bool,
) {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if done(host) {
            return;
        }
        if run.as_mut().poll(&mut cx).is_ready() {
            break;
        }
    }
    assert!(done(host), "not done; events so far: {:?}", host.events());
}

fn session(version: ProtocolVersion) -> Session<'static> {
    let config = Config {
        version,
        // Exact delays to assert.
        reconnect: ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        },
        ..Config::new("driver")
    };
    Session::new(&config, Buffers::owned(4096, 16384, 1024)).unwrap()
}

fn broker() -> Rc<RefCell<FakeBroker>> {
    Rc::new(RefCell::new(FakeBroker::new(BrokerConfig::default())))
}

fn connector(broker: &Rc<RefCell<FakeBroker>>, fail_first: u32) -> (Connector, Rc<Cell<u32>>) {
    let attempts = Rc::new(Cell::new(0));
    let connector = Connector {
        broker: broker.clone(),
        fail_first,
        attempts: attempts.clone(),
    };
    (connector, attempts)
}

fn driver<N: Connect>(connector: N, clock: &VirtualClock) -> Driver<'static, N, VirtualClock> {
    Driver::new(connector, clock.clone(), Buf::owned(512), Buf::owned(512))
}

#[test]
fn the_driver_connects_subscribes_publishes_and_receives_over_a_stream() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let broker = broker();
        let clock = VirtualClock::new();
        let (connector, _) = connector(&broker, 0);
        let mut driver = driver(connector, &clock);
        let host = TestHost::new(session(version), clock.clone());
        host.command(|session, now| session.connect(now));
        let mut run = pin!(driver.run(&host));
        poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);

        host.command(|session, now| {
            session
                .subscribe(&[Subscription::new("d/#", QoS::ExactlyOnce)], now)
                .unwrap()
        });
        poll_until(&mut run, &host, 100, |h| h.count("subscribed") == 1);

        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let payload = format!("{qos:?}");
            let message = Publish {
                qos,
                topic: "d/x",
                payload: payload.as_bytes(),
                ..Publish::default()
            };
            host.command(|session, now| session.publish(&message, now).unwrap());
        }
        poll_until(&mut run, &host, 200, |h| {
            h.count("message") == 3 && h.count("published") == 2
        });
        let messages: Vec<String> = host
            .events()
            .into_iter()
            .filter(|e| e.starts_with("message"))
            .collect();
        assert_eq!(
            messages,
            [
                "message d/x \"AtMostOnce\"",
                "message d/x \"AtLeastOnce\"",
                "message d/x \"ExactlyOnce\""
            ],
            "{version}"
        );
        assert_eq!(broker.borrow().received().len(), 3);
        assert!(broker.borrow().violations().is_empty());
    }
}

#[test]
fn failed_connects_are_retried_on_the_schedule_and_reported_to_the_sink() {
    let broker = broker();
    let clock = VirtualClock::new();
    let (connector, attempts) = connector(&broker, 3);
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V5), clock.clone());
    let start = clock.now();
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 200, |h| h.count("connected") == 1);
    assert_eq!(attempts.get(), 4);
    assert_eq!(
        host.core.borrow().1.errors,
        ["Connect(\"connection refused\")"; 3]
    );
    let reconnecting: Vec<String> = host
        .events()
        .into_iter()
        .filter(|e| e.starts_with("reconnecting"))
        .collect();
    assert_eq!(
        reconnecting,
        [
            "reconnecting 1 in 1s",
            "reconnecting 2 in 2s",
            "reconnecting 3 in 4s"
        ]
    );
    // Virtual time went through the waits: 1 + 2 + 4 seconds.
    assert_eq!(clock.now() - start, Duration::from_secs(7));
}

#[test]
fn a_closed_stream_is_a_lost_connection_and_the_driver_reconnects() {
    let broker = broker();
    let clock = VirtualClock::new();
    let (connector, attempts) = connector(&broker, 0);
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V311), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);
    broker.borrow_mut().close_connection();
    host.woken.set(true);
    poll_until(&mut run, &host, 200, |h| h.count("connected") == 2);
    assert_eq!(attempts.get(), 2);
    assert!(host.count("ConnectionLost") == 1, "{:?}", host.events());
    assert_eq!(host.core.borrow().1.errors, ["Closed"]);
}

/// `tokio::spawn` needs the driver's future to be `Send` when the stream, clock and host are.
#[test]
fn the_run_future_is_send_when_io_clock_and_host_are() {
    struct SendIo;
    impl embedded_io_async::ErrorType for SendIo {
        type Error = embedded_io_async::ErrorKind;
    }
    impl embedded_io_async::Read for SendIo {
        async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
            Ok(0)
        }
    }
    impl embedded_io_async::Write for SendIo {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            Ok(buf.len())
        }
        async fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }
    struct SendConnect;
    impl Connect for SendConnect {
        type Io = SendIo;
        type Error = ();
        async fn connect(&mut self) -> Result<SendIo, ()> {
            Ok(SendIo)
        }
    }
    struct SendClock;
    impl Clock for SendClock {
        fn now(&self) -> Instant {
            Instant::ZERO
        }
        async fn sleep_until(&self, _: Instant) {}
    }
    struct SendHost(std::sync::Mutex<(Session<'static>, Log)>);
    impl Host<'static> for SendHost {
        type Sink = Log;
        fn lock<R>(&self, f: impl FnOnce(&mut Session<'static>, &mut Log) -> R) -> R {
            let mut core = self.0.lock().unwrap();
            let (session, log) = &mut *core;
            f(session, log)
        }
    }
    impl Wake for SendHost {
        async fn woken(&self) {}
    }
    fn assert_send<T: Send>(_: &T) {}

    let host = SendHost(std::sync::Mutex::new((
        session(ProtocolVersion::V5),
        Log::default(),
    )));
    let mut driver = Driver::new(SendConnect, SendClock, Buf::owned(256), Buf::owned(256));
    let run = driver.run(&host);
    assert_send(&run);
}

/// The session chooses the broker of each attempt and the driver selects it: a failure moves on to the next
/// broker at once, and so does a lost connection (the node may be gone); the schedule applies between rounds.
#[test]
fn failover_moves_to_the_next_broker_at_once_after_a_failure_or_a_loss() {
    let broker = broker();
    let clock = VirtualClock::new();
    let (down, down_attempts) = connector(&broker, u32::MAX);
    let (up, up_attempts) = connector(&broker, 0);
    let failover = Failover::new(vec![down, up]).expect("two brokers");
    let mut driver = driver(failover, &clock);
    let host = TestHost::new(session(ProtocolVersion::V5), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 200, |h| h.count("connected") == 1);
    assert_eq!((down_attempts.get(), up_attempts.get()), (1, 1));
    assert_eq!(
        host.core.borrow().1.errors,
        ["Connect(Connect { index: 0, error: \"connection refused\" })"]
    );
    // The connection breaks: the next attempt goes to the next broker at once (down), then back to the one
    // that works.
    broker.borrow_mut().close_connection();
    host.woken.set(true);
    poll_until(&mut run, &host, 200, |h| h.count("connected") == 2);
    assert_eq!((down_attempts.get(), up_attempts.get()), (2, 2));
    assert_eq!(
        host.events()
            .iter()
            .filter(|e| e.starts_with("reconnecting"))
            .cloned()
            .collect::<Vec<_>>(),
        // Within a round over the list the next broker is tried at once; the connection that dropped right
        // after CONNACK did not stay up for `stable_after`, so the round that ended with it counts as failed and
        // the schedule (1 s) applies before the next one.
        [
            "reconnecting 1 in 0s",
            "reconnecting 2 in 1s",
            "reconnecting 3 in 0s"
        ],
    );
    let empty: Vec<Connector> = Vec::new();
    assert!(Failover::new(empty).is_none());
}

/// A connector whose first attempt takes `polls` polls to complete (a slow TLS handshake, say).
struct Slow {
    inner: Connector,
    polls: Rc<Cell<u32>>,
}

impl Connect for Slow {
    type Io = Stream;
    type Error = &'static str;
    async fn connect(&mut self) -> Result<Stream, &'static str> {
        core::future::poll_fn(|_| {
            if self.polls.get() == 0 {
                Poll::Ready(())
            } else {
                self.polls.set(self.polls.get() - 1);
                Poll::Pending
            }
        })
        .await;
        self.inner.connect().await
    }
}

/// Commands that arrive while a connection is being opened wake the driver; they must not cancel the attempt,
/// and each attempt opens exactly one connection.
#[test]
fn commands_flooding_during_a_slow_connect_do_not_cancel_it() {
    let broker = broker();
    let clock = VirtualClock::new();
    let (inner, attempts) = connector(&broker, 0);
    let slow = Slow {
        inner,
        polls: Rc::new(Cell::new(50)),
    };
    let mut driver = driver(slow, &clock);
    let host = TestHost::new(session(ProtocolVersion::V5), clock.clone());
    host.command(|session, now| session.connect(now));
    // Time stands still while the handshake runs: only the commands' wake-ups move the driver.
    clock.freeze(true);
    let mut run = pin!(driver.run(&host));
    let mut cx = Context::from_waker(Waker::noop());
    for i in 0..40 {
        let payload = format!("{i}");
        let message = Publish {
            qos: QoS::AtLeastOnce,
            topic: "busy/app",
            payload: payload.as_bytes(),
            ..Publish::default()
        };
        host.command(|session, now| session.publish(&message, now).unwrap());
        assert!(run.as_mut().poll(&mut cx).is_pending());
    }
    clock.freeze(false);
    poll_until(&mut run, &host, 500, |h| {
        h.count("connected") == 1 && h.count("published") == 40
    });
    assert_eq!(attempts.get(), 1, "one connection per attempt");
    assert_eq!(broker.borrow().connections().len(), 1);
    assert_eq!(broker.borrow().received().len(), 40);
}

/// A stream that counts its writes, and whose writes wait while `stalled` is set (a socket whose send buffer is
/// full).
struct Watched {
    inner: Stream,
    writes: Rc<Cell<u32>>,
    stalled: Rc<Cell<bool>>,
}

impl embedded_io_async::ErrorType for Watched {
    type Error = embedded_io_async::ErrorKind;
}

impl embedded_io_async::Read for Watched {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.inner.read(buf).await
    }
}

impl embedded_io_async::Write for Watched {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        core::future::poll_fn(|_| match self.stalled.get() {
            true => Poll::Pending,
            false => Poll::Ready(()),
        })
        .await;
        self.writes.set(self.writes.get() + 1);
        self.inner.write(buf).await
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Opens [`Watched`] streams to the fake broker, sharing their counter and switch.
#[derive(Default)]
struct WatchedConnector {
    inner: Option<Connector>,
    writes: Rc<Cell<u32>>,
    stalled: Rc<Cell<bool>>,
}

impl WatchedConnector {
    fn new(broker: &Rc<RefCell<FakeBroker>>) -> Self {
        Self {
            inner: Some(connector(broker, 0).0),
            ..Self::default()
        }
    }
}

impl Connect for WatchedConnector {
    type Io = Watched;
    type Error = &'static str;
    async fn connect(&mut self) -> Result<Watched, &'static str> {
        let inner = self.inner.as_mut().ok_or("no broker")?;
        Ok(Watched {
            inner: inner.connect().await?,
            writes: self.writes.clone(),
            stalled: self.stalled.clone(),
        })
    }
}

#[test]
fn everything_queued_since_the_last_write_goes_out_in_one_write() {
    let broker = broker();
    let clock = VirtualClock::new();
    let connector = WatchedConnector::new(&broker);
    let writes = connector.writes.clone();
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V311), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);
    let before = writes.get();
    for i in 0..10 {
        let payload = [i];
        let message = Publish {
            topic: "batch",
            payload: &payload,
            ..Publish::default()
        };
        host.command(|session, now| session.publish(&message, now).unwrap());
    }
    poll_until(&mut run, &host, 100, |_| {
        broker.borrow().received().len() == 10
    });
    // Ten 10-byte packets fit the 512-byte staging buffer: one write.
    assert_eq!(writes.get() - before, 1);
}

#[test]
fn a_disconnect_is_written_before_the_connection_closes() {
    let broker = broker();
    let clock = VirtualClock::new();
    let (connector, _) = connector(&broker, 0);
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V5), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);
    host.command(|session, now| session.disconnect(now));
    host.core.borrow_mut().1.finished = true;
    let mut cx = Context::from_waker(Waker::noop());
    let mut ended = false;
    for _ in 0..100 {
        if run.as_mut().poll(&mut cx).is_ready() {
            ended = true;
            break;
        }
    }
    assert!(ended, "run returns once closed and finished");
    let from_client = Direction::from_sender(End::Client);
    assert_eq!(
        broker.borrow().count(from_client, PacketType::Disconnect),
        1
    );
    assert!(!broker.borrow().is_connected());
}

/// The sink hears `Disconnected` (which is what ends an application's `disconnect().await`) only once the
/// DISCONNECT is written: an application that ends its program right after the call must not leave the broker
/// without it, which would publish the will [MQTT-3.1.2-10].
#[test]
fn the_sink_hears_disconnected_only_once_the_disconnect_is_written() {
    let broker = broker();
    let clock = VirtualClock::new();
    let connector = WatchedConnector::new(&broker);
    let stalled = connector.stalled.clone();
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V5), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);
    let from_client = Direction::from_sender(End::Client);
    // The socket takes nothing for a while (time stands still: shorter than the bound of the closing write): the
    // DISCONNECT stays staged, and the sink must not hear the disconnect yet.
    stalled.set(true);
    clock.freeze(true);
    host.command(|session, now| session.disconnect(now));
    host.core.borrow_mut().1.finished = true;
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..20 {
        assert!(run.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(
        broker.borrow().count(from_client, PacketType::Disconnect),
        0
    );
    assert_eq!(
        host.count("Disconnected"),
        0,
        "the sink heard the disconnect before the DISCONNECT went out: {:?}",
        host.events()
    );
    // The socket takes bytes again: the DISCONNECT goes out, then the sink hears it, then the run ends.
    stalled.set(false);
    clock.freeze(false);
    let mut ended = false;
    for _ in 0..100 {
        if run.as_mut().poll(&mut cx).is_ready() {
            ended = true;
            break;
        }
    }
    assert!(ended, "run returns once closed and finished");
    assert_eq!(
        broker.borrow().count(from_client, PacketType::Disconnect),
        1
    );
    assert_eq!(host.count("Disconnected"), 1, "{:?}", host.events());
}

/// A socket that takes nothing for longer than the session's close write timeout (its ping timeout): the driver
/// gives the DISCONNECT up, closes the connection, and the run ends; it does not wait for ever.
#[test]
fn a_disconnect_the_socket_never_takes_is_given_up_after_the_close_write_timeout() {
    let broker = broker();
    let clock = VirtualClock::new();
    let connector = WatchedConnector::new(&broker);
    let stalled = connector.stalled.clone();
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V5), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);
    stalled.set(true);
    host.command(|session, now| session.disconnect(now));
    host.core.borrow_mut().1.finished = true;
    let mut cx = Context::from_waker(Waker::noop());
    let mut ended = false;
    for _ in 0..100 {
        if run.as_mut().poll(&mut cx).is_ready() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the run ends although the DISCONNECT never went out");
    // (This clock jumps to each deadline the driver sleeps to, so the time taken says little here; the bound itself
    // is measured in mqtt-test's client_outgoing.)
    let from_client = Direction::from_sender(End::Client);
    assert_eq!(
        broker.borrow().count(from_client, PacketType::Disconnect),
        0
    );
    assert_eq!(host.count("Disconnected"), 1, "{:?}", host.events());
}

#[test]
fn a_message_the_sink_cannot_take_is_held_and_offered_again_after_a_wake() {
    let broker = broker();
    let clock = VirtualClock::new();
    let (connector, _) = connector(&broker, 0);
    let mut driver = driver(connector, &clock);
    let host = TestHost::new(session(ProtocolVersion::V311), clock.clone());
    host.command(|session, now| session.connect(now));
    let mut run = pin!(driver.run(&host));
    poll_until(&mut run, &host, 100, |h| h.count("connected") == 1);
    host.command(|session, now| {
        session
            .subscribe(&[Subscription::new("held/#", QoS::AtMostOnce)], now)
            .unwrap()
    });
    poll_until(&mut run, &host, 100, |h| h.count("subscribed") == 1);
    host.core.borrow_mut().1.full = true;
    for i in 0..3 {
        broker
            .borrow_mut()
            .inject(&format!("held/{i}"), b"x", QoS::AtMostOnce, false);
    }
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..20 {
        assert!(run.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(host.count("message"), 0);
    assert!(host.core.borrow().0.has_held_message());
    // Room again: the held message and those behind it arrive, once each, in order.
    host.core.borrow_mut().1.full = false;
    host.woken.set(true);
    poll_until(&mut run, &host, 100, |h| h.count("message") == 3);
    let messages: Vec<String> = host
        .events()
        .into_iter()
        .filter(|e| e.starts_with("message"))
        .collect();
    assert_eq!(
        messages,
        [
            "message held/0 \"x\"",
            "message held/1 \"x\"",
            "message held/2 \"x\"",
        ]
    );
}
