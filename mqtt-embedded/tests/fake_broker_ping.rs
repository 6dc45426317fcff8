//! `Client::ping` (a PINGREQ now, under the keep alive's PINGRESP deadline) and `Client::pending_subscriptions`,
//! against the fake broker in virtual time (see `support`).

mod support;

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use embassy_futures::select::{Either, select};
use mqtt_embedded::{Error, PingError, ProtocolVersion, QoS, Subscription};
use support::{block_on, config, handler, start};

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future + ?Sized>(future: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls the runner until `done` holds (at most 100 times).
fn drive(run: &mut core::pin::Pin<Box<impl Future>>, done: impl Fn() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        let _ = poll_once(run.as_mut());
    }
    assert!(done(), "the runner did not get there");
}

/// Keep alive off. The test clock jumps to a sleep's deadline the second time the sleep is polled, and the runner
/// polls its deadline before a wake-up: a runner asleep until the next keep alive would jump there before it saw
/// the ping. Without keep alive it waits for the wake-up alone; the ping is polled once to send its PINGREQ, then
/// only the runner until the broker answered, so the ping's own deadline is not reached either.
fn quiet(version: ProtocolVersion) -> mqtt_embedded::Config<'static> {
    mqtt_embedded::Config {
        keep_alive: Duration::ZERO,
        ..config(version)
    }
}

#[test]
fn ping_sends_a_pingreq_now_and_returns_the_round_trip_once_the_broker_answered() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (client, runner, setup) = start::<4096, 256>(&quiet(version), 0);
        let mut run = Box::pin(runner.run(handler(&setup)));
        drive(&mut run, || client.is_connected());
        let before = setup.broker.borrow().pings();
        let mut ping = pin!(client.ping(Duration::from_secs(5)));
        assert!(poll_once(ping.as_mut()).is_pending());
        // [MQTT-3.12.4-1]: the broker answers PINGREQ with PINGRESP.
        drive(&mut run, || setup.broker.borrow().pings() == before + 1);
        for _ in 0..10 {
            let _ = poll_once(run.as_mut());
        }
        // The memory link has no latency, and no time passed.
        assert_eq!(
            poll_once(ping.as_mut()),
            Poll::Ready(Ok(Duration::ZERO)),
            "{version:?}"
        );
        assert!(client.is_connected());
    }
}

#[test]
fn ping_before_the_connection_is_a_typed_error() {
    let (client, _runner, _setup) = start::<4096, 256>(&config(ProtocolVersion::V5), 0);
    assert_eq!(
        block_on(client.ping(Duration::from_secs(5))),
        Err(Error::Ping(PingError::NotConnected))
    );
}

#[test]
fn a_ping_the_broker_never_answers_ends_the_connection_at_the_ping_timeout() {
    let config = mqtt_embedded::Config {
        ping_timeout: Duration::from_secs(2),
        ..quiet(ProtocolVersion::V311)
    };
    let (client, runner, setup) = start::<4096, 256>(&config, 0);
    let mut run = Box::pin(runner.run(handler(&setup)));
    drive(&mut run, || client.is_connected());
    setup.broker.borrow_mut().set_answer_pings(false);
    let start = setup.clock.0.get();
    let mut ping = pin!(client.ping(Duration::from_secs(60)));
    assert!(poll_once(ping.as_mut()).is_pending());
    drive(&mut run, || !client.is_connected());
    assert_eq!(
        poll_once(ping.as_mut()),
        Poll::Ready(Err(Error::ConnectionLost))
    );
    // Lost at the session's deadline, after the PINGREQ went out.
    assert_eq!(setup.broker.borrow().pings(), 1);
    assert_eq!(setup.clock.0.get() - start, 2_000);
}

#[test]
fn a_ping_shorter_than_the_answer_times_out_and_the_ping_stays_in_flight() {
    let (client, runner, setup) = start::<4096, 256>(&quiet(ProtocolVersion::V311), 0);
    let mut run = Box::pin(runner.run(handler(&setup)));
    drive(&mut run, || client.is_connected());
    setup.broker.borrow_mut().set_answer_pings(false);
    let mut ping = pin!(client.ping(Duration::from_secs(1)));
    assert!(poll_once(ping.as_mut()).is_pending());
    drive(&mut run, || setup.broker.borrow().pings() == 1);
    assert_eq!(poll_once(ping.as_mut()), Poll::Ready(Err(Error::TimedOut)));
    assert!(client.is_connected());
    // A second call joins the ping in flight: no other PINGREQ.
    let mut again = pin!(client.ping(Duration::from_secs(1)));
    assert!(poll_once(again.as_mut()).is_pending());
    for _ in 0..10 {
        let _ = poll_once(run.as_mut());
        if !client.is_connected() {
            break;
        }
    }
    assert_eq!(setup.broker.borrow().pings(), 1);
}

#[test]
fn pending_subscriptions_counts_requests_until_the_broker_answers_them() {
    let (client, runner, setup) = start::<4096, 256>(&config(ProtocolVersion::V5), 0);
    assert_eq!(client.pending_subscriptions(), 0);
    let one = [Subscription::new("a", QoS::AtLeastOnce)];
    let two = [
        Subscription::new("b", QoS::AtLeastOnce),
        Subscription::new("c", QoS::AtMostOnce),
    ];
    let mut first = pin!(client.subscribe(&one));
    let mut second = pin!(client.subscribe(&two));
    // Queued before the connection: one request per call, whatever its number of filters.
    assert!(poll_once(first.as_mut()).is_pending());
    assert_eq!(client.pending_subscriptions(), 1);
    assert!(poll_once(second.as_mut()).is_pending());
    assert_eq!(client.pending_subscriptions(), 2);
    let answered = block_on(select(runner.run(handler(&setup)), async {
        first.await.unwrap();
        second.await.unwrap();
        client.pending_subscriptions()
    }));
    match answered {
        Either::First(never) => match never {},
        Either::Second(pending) => assert_eq!(pending, 0),
    }
}
