//! The runner's ownership of the connection, publishing into a full store, and awaiting a publish with a timeout,
//! against the fake broker in virtual time (see `support`).

mod support;

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use mqtt_embedded::proto::codec::PacketType;
use mqtt_embedded::{
    Clock, Error, ProtocolVersion, Publish, PublishError, QoS, Subscription, Will,
};
use mqtt_test::{Direction, End};
use support::{block_on, config, handler, run, start, until};

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future + ?Sized>(future: core::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn dropping_the_runner_closes_the_connection_so_the_broker_publishes_the_will() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let config = mqtt_embedded::Config {
            will: Some(Will {
                topic: "status/embedded",
                payload: b"gone",
                qos: QoS::AtLeastOnce,
                retain: false,
                properties: Default::default(),
            }),
            ..config(version)
        };
        let (client, runner, setup) = start::<4096, 256>(&config, 0);
        let mut run = Box::pin(runner.run(handler(&setup)));
        for _ in 0..100 {
            if client.is_connected() {
                break;
            }
            let _ = poll_once(run.as_mut());
        }
        assert!(client.is_connected() && setup.broker.borrow().is_connected());
        // A QoS 1 message the broker does not acknowledge yet: its delivery is awaited when the runner goes.
        setup.broker.borrow_mut().hold_acks();
        let message = Publish {
            topic: "t",
            payload: b"x",
            qos: QoS::AtLeastOnce,
            ..Publish::default()
        };
        let delivery = client.try_queue(&message).expect("queued");
        let mut waiting = pin!(delivery.wait());
        assert!(poll_once(waiting.as_mut()).is_pending());
        for _ in 0..10 {
            let _ = poll_once(run.as_mut());
        }
        assert_eq!(setup.broker.borrow().received().len(), 1, "{version:?}");

        drop(run);

        let broker = setup.broker.borrow();
        assert!(
            !broker.is_connected(),
            "{version:?}: the stream was not closed"
        );
        let wills: Vec<_> = broker
            .wills()
            .iter()
            .map(|w| (w.topic.as_str(), w.payload.as_slice()))
            .collect();
        assert_eq!(wills, [("status/embedded", &b"gone"[..])], "{version:?}");
        let from_client = Direction::from_sender(End::Client);
        assert_eq!(broker.count(from_client, PacketType::Disconnect), 0);
        assert_eq!(poll_once(waiting.as_mut()), Poll::Ready(Err(Error::Closed)));
        assert!(!client.is_connected());
        let later = block_on(client.subscribe(&[Subscription::new("x", QoS::AtMostOnce)]));
        assert_eq!(later, Err(Error::Closed));
        assert_eq!(
            block_on(client.publish("t", b"y", QoS::AtLeastOnce)),
            Err(Error::Closed)
        );
    }
}

#[test]
fn a_tight_publishing_loop_waits_for_room_and_every_message_arrives_in_order() {
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        // 1 KiB of store and 100-byte messages: the loop outruns the store many times over.
        run::<1024, 256, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
            let payload = [0x5a; 100];
            for i in 0..200u32 {
                let topic = format!("tight/{i}");
                let message = Publish {
                    topic: &topic,
                    payload: &payload,
                    qos,
                    ..Publish::default()
                };
                // Never spins, never fails for a full store: it waits for the runner to make room.
                let delivery = client.queue(&message).await;
                assert!(
                    delivery.is_ok(),
                    "{qos:?} message {i}: {:?}",
                    delivery.err()
                );
            }
            until(|| setup.broker.borrow().received().len() == 200).await;
            let broker = setup.broker.borrow();
            let topics: Vec<_> = broker.received().iter().map(|m| m.topic.clone()).collect();
            let expected: Vec<_> = (0..200).map(|i| format!("tight/{i}")).collect();
            assert_eq!(topics, expected, "{qos:?}");
            assert!(broker.violations().is_empty(), "{:?}", broker.violations());
        });
    }
}

#[test]
fn try_queue_does_not_wait_and_publish_does() {
    run::<1024, 256, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        until(|| client.is_connected()).await;
        setup.broker.borrow_mut().hold_acks();
        let payload = [1; 100];
        let message = Publish {
            topic: "q",
            payload: &payload,
            qos: QoS::AtLeastOnce,
            ..Publish::default()
        };
        let mut queued = Vec::new();
        let full = loop {
            match client.try_queue(&message) {
                Ok(delivery) => queued.push(delivery),
                Err(error) => break error,
            }
        };
        assert_eq!(full, Error::Publish(PublishError::QueueFull));
        // `publish` waits for room, yielding: the runner goes on, and the broker's acknowledgements make room.
        let mut publish = pin!(client.publish("q", &payload, QoS::AtLeastOnce));
        assert!(poll_once(publish.as_mut()).is_pending());
        setup.broker.borrow_mut().release_acks();
        assert_eq!(publish.await, Ok(()));
        for delivery in queued {
            assert_eq!(delivery.wait().await, Ok(()));
        }
    });
}

#[test]
fn wait_timeout_gives_up_on_the_clock_and_the_message_still_goes_through() {
    run::<4096, 256, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        client
            .subscribe(&[Subscription::new("w", QoS::AtLeastOnce)])
            .await
            .unwrap();
        setup.broker.borrow_mut().hold_acks();
        let message = Publish {
            topic: "w",
            payload: b"late",
            qos: QoS::AtLeastOnce,
            ..Publish::default()
        };
        let delivery = client.queue(&message).await.unwrap();
        let start = setup.clock.now();
        assert_eq!(
            delivery.wait_timeout(Duration::from_secs(5)).await,
            Err(Error::TimedOut)
        );
        assert!(setup.clock.now() - start >= Duration::from_secs(5));
        // Still queued: acknowledged once the broker lets go.
        setup.broker.borrow_mut().release_acks();
        until(|| setup.seen.borrow().messages.len() == 1).await;
        assert_eq!(setup.broker.borrow().received().len(), 1);
        // Acknowledged in time: no timeout.
        let delivery = client.queue(&message).await.unwrap();
        assert_eq!(delivery.wait_timeout(Duration::from_secs(5)).await, Ok(()));
    });
}
