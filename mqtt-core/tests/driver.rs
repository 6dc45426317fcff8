//! The async driver over an in-memory stream to the fake broker, with a virtual clock: no sockets, no runtime.
//!
//! The stream hands written bytes to the broker at once and reads what the broker answered; when there is nothing
//! to read it stays pending, and the virtual clock's sleep completes at once by jumping to the deadline. A minimal
//! `block_on` with a no-op waker runs it, so every step is deterministic.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mqtt_core::codec::{ProtocolVersion, Publish, QoS, Subscription};
use mqtt_core::driver::{Driver, DriverError};
use mqtt_core::io::{Clock, Connect};
use mqtt_core::reconnect::ReconnectPolicy;
use mqtt_core::session::Event;
use mqtt_core::{Buf, Buffers, Config, Instant, Session};
use mqtt_test::memory::{MemoryConnector as Connector, MemoryStream as Stream};
use mqtt_test::{BrokerConfig, FakeBroker};

/// Polls `future` to completion; `None` if it stays pending (nothing can wake it in these tests).
fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
    }
    None
}

/// Virtual time: a sleep jumps to its deadline at once, unless the clock is frozen, when it never completes.
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
        if self.1.get() {
            core::future::pending::<()>().await;
        }
        if deadline > self.0.get() {
            self.0.set(deadline);
        }
    }
}

type TestDriver = Driver<'static, Connector, VirtualClock>;
/// A driver, the broker behind it, the connect attempt counter and the clock.
type Setup = (
    TestDriver,
    Rc<RefCell<FakeBroker>>,
    Rc<Cell<u32>>,
    VirtualClock,
);

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

fn driver(version: ProtocolVersion, fail_first: u32) -> Setup {
    let config = Config {
        version,
        // Exact delays to assert.
        reconnect: ReconnectPolicy {
            jitter_permille: 0,
            ..ReconnectPolicy::default()
        },
        ..Config::new("driver")
    };
    let session = Session::new(&config, Buffers::owned(4096, 16384, 1024)).unwrap();
    let broker = Rc::new(RefCell::new(FakeBroker::new(BrokerConfig::default())));
    let attempts = Rc::new(Cell::new(0));
    let clock = VirtualClock::new();
    let connector = Connector {
        broker: broker.clone(),
        fail_first,
        attempts: attempts.clone(),
    };
    let driver = Driver::new(session, connector, clock.clone(), Buf::owned(512));
    (driver, broker, attempts, clock)
}

/// Steps until `done` says so (or a step bound is hit), collecting event descriptions.
fn run_until(driver: &mut TestDriver, log: &mut Vec<String>, done: impl Fn(&[String]) -> bool) {
    for _ in 0..200 {
        if done(log) {
            return;
        }
        let stepped = block_on(driver.step(&mut |event| log.push(describe(&event))));
        assert!(
            stepped.is_some(),
            "the driver is stuck; events so far: {log:?}"
        );
    }
    panic!("not done after 200 steps: {log:?}");
}

#[test]
fn the_driver_connects_subscribes_publishes_and_receives_over_a_stream() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (mut driver, broker, _, _) = driver(version, 0);
        let mut log = Vec::new();
        let now = driver.now();
        driver.session_mut().connect(now);
        run_until(&mut driver, &mut log, |l| {
            l.iter().any(|e| e.starts_with("connected"))
        });

        let now = driver.now();
        driver
            .session_mut()
            .subscribe(&[Subscription::new("d/#", QoS::ExactlyOnce)], now)
            .unwrap();
        run_until(&mut driver, &mut log, |l| {
            l.iter().any(|e| e.starts_with("subscribed"))
        });

        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let now = driver.now();
            let message = Publish {
                qos,
                topic: "d/x",
                payload: format!("{qos:?}").into_bytes().leak(),
                ..Publish::default()
            };
            driver.session_mut().publish(&message, now).unwrap();
        }
        run_until(&mut driver, &mut log, |l| {
            l.iter().filter(|e| e.starts_with("message")).count() == 3
                && l.iter().filter(|e| *e == "published").count() == 2
        });
        assert_eq!(
            log.iter()
                .filter(|e| e.starts_with("message"))
                .cloned()
                .collect::<Vec<_>>(),
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
fn failed_connects_are_retried_on_the_schedule_through_the_connector() {
    let (mut driver, _broker, attempts, clock) = driver(ProtocolVersion::V5, 3);
    let mut log = Vec::new();
    let start = clock.now();
    driver.session_mut().connect(start);
    let mut connected_at = None;
    for _ in 0..20 {
        let stamp = clock.clone();
        block_on(driver.step(&mut |event| {
            if matches!(event, Event::Connected { .. }) {
                connected_at = Some(stamp.now());
            }
            log.push(describe(&event));
        }))
        .expect("the driver is stuck");
        if connected_at.is_some() {
            break;
        }
    }
    assert_eq!(attempts.get(), 4);
    assert!(matches!(
        driver.last_error(),
        Some(DriverError::Connect("connection refused"))
    ));
    let reconnecting: Vec<&String> = log
        .iter()
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
    assert_eq!(
        connected_at.map(|t| t - start),
        Some(Duration::from_secs(7))
    );
}

#[test]
fn a_closed_stream_is_a_lost_connection_and_the_driver_reconnects() {
    let (mut driver, broker, attempts, _) = driver(ProtocolVersion::V311, 0);
    let mut log = Vec::new();
    let now = driver.now();
    driver.session_mut().connect(now);
    run_until(&mut driver, &mut log, |l| {
        l.iter().any(|e| e.starts_with("connected"))
    });
    broker.borrow_mut().close_connection();
    run_until(&mut driver, &mut log, |l| {
        l.iter().filter(|e| e.starts_with("connected")).count() == 2
    });
    assert_eq!(attempts.get(), 2);
    assert!(log.iter().any(|e| e.contains("ConnectionLost")), "{log:?}");
}

/// `tokio::spawn` needs the driver's future to be `Send` when the stream and clock are.
#[test]
fn the_step_future_is_send_when_io_and_clock_are() {
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
    fn assert_send<T: Send>(_: &T) {}

    let session = Session::new(&Config::new("send"), Buffers::owned(256, 4096, 256)).unwrap();
    let mut driver = Driver::new(session, SendConnect, SendClock, Buf::owned(256));
    let mut on_event = |_: Event<'_>| {};
    let step = driver.step(&mut on_event);
    assert_send(&step);
}

#[test]
fn failover_moves_to_the_next_broker_after_a_failure_and_stays_on_a_working_one() {
    use mqtt_core::io::{Failover, FailoverError};
    let config = Config::new("failover");
    let session = Session::new(&config, Buffers::owned(4096, 16384, 1024)).unwrap();
    let broker = Rc::new(RefCell::new(FakeBroker::new(BrokerConfig::default())));
    let down = Rc::new(Cell::new(0));
    let up = Rc::new(Cell::new(0));
    let list = vec![
        Connector {
            broker: broker.clone(),
            fail_first: u32::MAX,
            attempts: down.clone(),
        },
        Connector {
            broker: broker.clone(),
            fail_first: 0,
            attempts: up.clone(),
        },
    ];
    let failover = Failover::new(list).expect("two brokers");
    let clock = VirtualClock::new();
    let mut driver = Driver::new(session, failover, clock, Buf::owned(512));
    let mut log = Vec::new();
    let now = driver.now();
    driver.session_mut().connect(now);
    for _ in 0..20 {
        block_on(driver.step(&mut |e| log.push(describe(&e)))).expect("stuck");
        if log.iter().any(|e| e.starts_with("connected")) {
            break;
        }
    }
    assert_eq!((down.get(), up.get()), (1, 1), "{log:?}");
    assert!(matches!(
        driver.last_error(),
        Some(DriverError::Connect(FailoverError::Connect {
            index: 0,
            error: "connection refused"
        }))
    ));
    // The connection breaks: the next attempt stays with the broker that worked.
    broker.borrow_mut().close_connection();
    for _ in 0..20 {
        block_on(driver.step(&mut |e| log.push(describe(&e)))).expect("stuck");
        if log.iter().filter(|e| e.starts_with("connected")).count() == 2 {
            break;
        }
    }
    assert_eq!((down.get(), up.get()), (1, 2));
    let empty: Vec<Connector> = Vec::new();
    assert!(Failover::new(empty).is_none());
}

/// A command arriving while the driver awaits a connection drops the `step` future; the attempt must be made again
/// by the next step rather than forgotten until the connect timeout.
#[test]
fn a_step_cancelled_while_connecting_retries_the_connection() {
    struct Slow {
        inner: Connector,
        polls_before_ready: Rc<Cell<u32>>,
    }
    impl Connect for Slow {
        type Io = Stream;
        type Error = &'static str;
        async fn connect(&mut self) -> Result<Stream, &'static str> {
            // The first attempt is still in progress when its future is dropped; later ones complete at once.
            let mut pending_once = self.polls_before_ready.replace(0) > 0;
            core::future::poll_fn(|_| {
                if pending_once {
                    pending_once = false;
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            self.inner.connect().await
        }
    }
    let broker = Rc::new(RefCell::new(FakeBroker::new(BrokerConfig::default())));
    let attempts = Rc::new(Cell::new(0));
    let slow = Slow {
        inner: Connector {
            broker,
            fail_first: 0,
            attempts: attempts.clone(),
        },
        polls_before_ready: Rc::new(Cell::new(1)),
    };
    let session = Session::new(&Config::new("cancel"), Buffers::owned(4096, 16384, 1024)).unwrap();
    let clock = VirtualClock::new();
    let mut driver = Driver::new(session, slow, clock.clone(), Buf::owned(512));
    let now = driver.now();
    driver.session_mut().connect(now);
    let mut log = Vec::new();
    clock.freeze(true);
    {
        // Poll the step once (it parks in the connect) and drop it, as a select! would when a command arrives.
        let mut on_event = |e: Event<'_>| log.push(describe(&e));
        let mut step = core::pin::pin!(driver.step(&mut on_event));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(step.as_mut().poll(&mut cx).is_pending());
    }
    clock.freeze(false);
    // The next step connects at once, without waiting for the 30 s connect timeout.
    let mut connected_at = None;
    let stamp = clock;
    for _ in 0..3 {
        block_on(driver.step(&mut |e| {
            if matches!(e, Event::Connected { .. }) {
                connected_at = Some(stamp.now());
            }
            log.push(describe(&e));
        }))
        .expect("stuck");
        if connected_at.is_some() {
            break;
        }
    }
    assert_eq!(connected_at, Some(Instant::from_millis(1)), "{log:?}");
    assert_eq!(attempts.get(), 1);
}
