//! The client and its runner against the fake broker of `mqtt-test`, over an in-memory stream, in virtual time.
//!
//! The stream hands written bytes to the broker at once and reads what it answers; the virtual clock's sleeps
//! complete at once by jumping to their deadline; a `block_on` with a no-op waker polls the runner and the
//! application until the application is done. No sockets, no runtime, no real time: every run is the same.

mod support;

use core::time::Duration;

use mqtt_embedded::proto::codec::PacketType;
use mqtt_embedded::proto::session::ConnectRefusal;
use mqtt_embedded::{
    Clock, Config, Disconnection, Error, Instant, ProtocolVersion, PublishError, QoS, ReasonCode,
    SubscribeError, Subscription, Will,
};
use mqtt_test::{Direction, End, FakeBroker};
use support::{config, run, until};

#[test]
fn qos_0_1_2_both_ways_with_messages_borrowed_from_the_receive_buffer() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        run::<8192, 512, _>(&config(version), 0, async |client, setup| {
            let granted = client
                .subscribe(&[Subscription::new("t/#", QoS::ExactlyOnce)])
                .await
                .map(|granted| granted.lowest());
            assert_eq!(granted, Ok(Ok(QoS::ExactlyOnce)));
            for (topic, qos) in [
                ("t/0", QoS::AtMostOnce),
                ("t/1", QoS::AtLeastOnce),
                ("t/2", QoS::ExactlyOnce),
            ] {
                assert_eq!(client.publish(topic, topic.as_bytes(), qos).await, Ok(()));
            }
            until(|| setup.seen.borrow().messages.len() == 3).await;
            let mut messages = setup.seen.borrow().messages.clone();
            messages.sort_by(|a, b| a.0.cmp(&b.0));
            for (message, qos) in
                messages
                    .iter()
                    .zip([QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
            {
                assert_eq!(
                    (message.1.as_slice(), message.2),
                    (message.0.as_bytes(), qos),
                    "{version:?}"
                );
                assert!(
                    message.3,
                    "{version:?}: the payload of {} was copied",
                    message.0
                );
            }
            let from_client = Direction::from_sender(End::Client);
            check_broker(&setup.broker.borrow(), version);
            assert_eq!(client.disconnect().await, Ok(()));
            assert_eq!(
                setup
                    .broker
                    .borrow()
                    .count(from_client, PacketType::Disconnect),
                1
            );
            assert!(!client.is_connected());
        });
    }
}

/// What the broker saw of the QoS 0, 1 and 2 round trip.
fn check_broker(broker: &FakeBroker, version: ProtocolVersion) {
    let from_client = Direction::from_sender(End::Client);
    let received: Vec<_> = broker
        .received()
        .iter()
        .map(|m| (m.topic.as_str(), m.qos))
        .collect();
    assert_eq!(
        received,
        [
            ("t/0", QoS::AtMostOnce),
            ("t/1", QoS::AtLeastOnce),
            ("t/2", QoS::ExactlyOnce)
        ]
    );
    // Both QoS 2 flows: PUBREL for ours, PUBREC and PUBCOMP for the broker's.
    for packet in [
        PacketType::PubRel,
        PacketType::PubRec,
        PacketType::PubComp,
        PacketType::PubAck,
    ] {
        assert_eq!(
            broker.count(from_client, packet),
            1,
            "{version:?} {packet:?}"
        );
    }
    assert!(broker.violations().is_empty(), "{:?}", broker.violations());
}

#[test]
fn try_queue_on_a_full_store_is_an_error_and_nothing_queued_is_lost() {
    run::<1024, 256, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        client
            .subscribe(&[Subscription::new("q", QoS::AtLeastOnce)])
            .await
            .unwrap();
        setup.broker.borrow_mut().hold_acks();
        let payload = [7u8; 100];
        let mut queued = 0;
        let error = loop {
            match client.try_queue(&mqtt_embedded::Publish {
                topic: "q",
                payload: &payload,
                qos: QoS::AtLeastOnce,
                ..Default::default()
            }) {
                Ok(delivery) => drop(delivery),
                Err(e) => break e,
            }
            queued += 1;
            assert!(queued < 100, "the store never filled up");
        };
        assert_eq!(error, Error::Publish(PublishError::QueueFull));
        assert!(queued >= 2, "only {queued} messages fit");
        setup.broker.borrow_mut().release_acks();
        until(|| setup.seen.borrow().messages.len() == queued).await;
        // Acknowledged messages make room again.
        assert_eq!(
            client.publish("q", &payload, QoS::AtLeastOnce).await,
            Ok(())
        );
        assert_eq!(setup.broker.borrow().received().len(), queued + 1);
    });
}

#[test]
fn a_full_subscription_table_is_an_error() {
    run::<2048, 64, _>(&config(ProtocolVersion::V5), 0, async |client, _| {
        let filters = [
            "sensors/one/#",
            "sensors/two/#",
            "sensors/three/#",
            "sensors/four/#",
            "sensors/five/#",
        ];
        let mut results = Vec::new();
        for filter in filters {
            results.push(
                client
                    .subscribe(&[Subscription::new(filter, QoS::AtMostOnce)])
                    .await
                    .map(|granted| granted.lowest()),
            );
        }
        assert_eq!(results.first(), Some(&Ok(Ok(QoS::AtMostOnce))));
        assert_eq!(
            results.last(),
            Some(&Err(Error::Subscribe(SubscribeError::TableFull)))
        );
    });
}

#[test]
fn reconnects_through_the_connector_on_the_default_schedule_and_sends_the_offline_queue() {
    run::<4096, 256, _>(&config(ProtocolVersion::V5), 3, async |client, setup| {
        client
            .subscribe(&[Subscription::new("r", QoS::AtLeastOnce)])
            .await
            .unwrap();
        assert_eq!(setup.attempts.get(), 4);
        let events = setup.seen.borrow().events.clone();
        assert_eq!(
            events,
            [
                "failed",
                "reconnecting 1 in 1s",
                "failed",
                "reconnecting 2 in 2s",
                "failed",
                "reconnecting 3 in 4s",
                "connected"
            ]
        );
        assert_eq!(setup.clock.now(), Instant::from_millis(7_000));
        // The broker drops the connection; a message published meanwhile waits in the offline queue.
        setup.broker.borrow_mut().close_connection();
        until(|| !client.is_connected()).await;
        let delivery = client
            .queue(&mqtt_embedded::Publish {
                topic: "r",
                payload: b"offline",
                qos: QoS::AtLeastOnce,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(delivery.wait().await, Ok(()));
        assert_eq!(setup.attempts.get(), 5);
        // Dropped at once after CONNACK: not a stable connection, so the schedule goes on (8 s), not over.
        assert_eq!(
            setup.seen.borrow().events[7..],
            ["lost", "reconnecting 4 in 8s", "connected"]
        );
        until(|| setup.seen.borrow().messages.len() == 1).await;
        assert_eq!(setup.seen.borrow().messages[0].1, b"offline");
    });
}

#[test]
fn a_permanent_refusal_fails_waiting_commands_and_connect_starts_again() {
    run::<4096, 256, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        until(|| client.is_connected()).await;
        setup
            .broker
            .borrow_mut()
            .refuse_connect(Some(ReasonCode::NOT_AUTHORIZED));
        client.reconnect().await;
        let refused = client
            .subscribe(&[Subscription::new("x", QoS::AtMostOnce)])
            .await;
        assert!(
            matches!(refused, Err(Error::GaveUp(Disconnection::Refused(_)))),
            "{refused:?} {:?}",
            setup.seen.borrow().events
        );
        setup.broker.borrow_mut().refuse_connect(None);
        client.connect().await;
        assert_eq!(
            client
                .subscribe(&[Subscription::new("x", QoS::AtMostOnce)])
                .await
                .map(|granted| granted.lowest()),
            Ok(Ok(QoS::AtMostOnce))
        );
        assert!(client.is_connected());
    });
}

#[test]
fn will_credentials_and_keep_alive_in_3_1_1() {
    let config = Config {
        version: ProtocolVersion::V311,
        username: Some("device"),
        password: Some(b"secret"),
        will: Some(Will {
            topic: "status/embedded",
            payload: b"gone",
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Default::default(),
        }),
        keep_alive: Duration::from_secs(30),
        ..Config::new("embedded")
    };
    run::<4096, 256, _>(&config, 0, async |client, setup| {
        until(|| client.is_connected()).await;
        let start = setup.clock.now();
        until(|| setup.broker.borrow().pings() >= 2).await;
        assert_eq!(setup.clock.now() - start, Duration::from_secs(60));
        let broker = setup.broker.borrow();
        let connect = &broker.connections()[0];
        assert_eq!(
            (connect.version, connect.keep_alive),
            (ProtocolVersion::V311, 30)
        );
        assert_eq!(connect.username.as_deref(), Some("device"));
        assert_eq!(connect.password.as_deref(), Some(&b"secret"[..]));
        let will = connect.will.as_ref().expect("a will");
        assert_eq!(
            (
                will.topic.as_str(),
                will.payload.as_slice(),
                will.qos,
                will.retain
            ),
            ("status/embedded", &b"gone"[..], QoS::AtLeastOnce, true)
        );
    });
}

#[test]
fn more_awaited_commands_than_slots_is_an_error() {
    run::<16384, 256, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        until(|| client.is_connected()).await;
        setup.broker.borrow_mut().hold_acks();
        let message = mqtt_embedded::Publish {
            topic: "s",
            payload: b"x",
            qos: QoS::AtLeastOnce,
            ..Default::default()
        };
        let mut deliveries = Vec::new();
        for _ in 0..mqtt_embedded::SLOTS {
            deliveries.push(client.queue(&message).await.unwrap());
        }
        assert!(matches!(client.queue(&message).await, Err(Error::Busy)));
        deliveries.pop();
        let last = client.queue(&message).await.unwrap();
        setup.broker.borrow_mut().release_acks();
        assert_eq!(last.wait().await, Ok(()));
        for delivery in deliveries {
            assert_eq!(delivery.wait().await, Ok(()));
        }
    });
}

#[test]
fn commands_after_a_refusal_of_the_credentials_report_the_refusal_not_a_closed_session() {
    for (version, code) in [
        (ProtocolVersion::V311, ReasonCode(4)),
        (ProtocolVersion::V5, ReasonCode::BAD_USER_NAME_OR_PASSWORD),
    ] {
        let (client, runner, setup) = support::start::<4096, 256>(&config(version), 0);
        // Refused from the first attempt: the session gives up before the application's first command.
        setup.broker.borrow_mut().refuse_connect(Some(code));
        let app = async {
            until(|| setup.seen.borrow().events.iter().any(|e| e == "failed")).await;
            let refused = Err(Error::GaveUp(Disconnection::Refused(
                ConnectRefusal::BadUserNameOrPassword,
            )));
            assert_eq!(client.publish("t", b"x", QoS::AtLeastOnce).await, refused);
            assert_eq!(client.publish("t", b"x", QoS::AtMostOnce).await, refused);
            assert_eq!(
                client
                    .subscribe(&[Subscription::new("s", QoS::AtMostOnce)])
                    .await
                    .map(drop),
                refused
            );
            assert_eq!(
                setup.attempts.get(),
                1,
                "a permanent refusal is not retried"
            );
            // New credentials (here: the broker relents): connect starts again and commands work.
            setup.broker.borrow_mut().refuse_connect(None);
            client.connect().await;
            assert_eq!(client.publish("t", b"y", QoS::AtLeastOnce).await, Ok(()));
            client.disconnect().await.unwrap();
            // A disconnect the application asked for is not a refusal.
            assert_eq!(
                client.publish("t", b"z", QoS::AtLeastOnce).await,
                Err(Error::Publish(PublishError::Closed))
            );
        };
        let handler = support::handler(&setup);
        match support::block_on(embassy_futures::select::select(runner.run(handler), app)) {
            embassy_futures::select::Either::First(never) => never,
            embassy_futures::select::Either::Second(()) => {}
        }
    }
}

/// A client on a `TX` staging buffer of `TX` bytes, publishing once: the configuration error, or the outcome.
fn with_staging<const TX: usize>() -> Result<Result<(), Error>, mqtt_embedded::ConfigError> {
    type Res<const TX: usize> = mqtt_embedded::Resources<
        'static,
        mqtt_embedded::NoopRawMutex,
        support::Connector,
        support::VirtualClock,
        4096,
        4096,
        256,
        TX,
    >;
    let resources: &'static mut Res<TX> = Box::leak(Box::new(Res::new()));
    let connector = support::Connector {
        broker: Default::default(),
        fail_first: 0,
        attempts: Default::default(),
    };
    let clock = support::VirtualClock::default();
    let config = config(ProtocolVersion::V5);
    let (client, runner) = mqtt_embedded::new(&config, resources, connector, clock)?;
    let app = client.publish("t", b"x", QoS::AtLeastOnce);
    match support::block_on(embassy_futures::select::select(runner.run(|_| {}), app)) {
        embassy_futures::select::Either::First(never) => never,
        embassy_futures::select::Either::Second(published) => Ok(published),
    }
}

#[test]
fn a_staging_buffer_too_small_to_connect_is_a_configuration_error() {
    // Before: `new` accepted 0 and 1 byte, and the runner retried connecting forever without a word.
    assert_eq!(
        with_staging::<0>().err(),
        Some(mqtt_embedded::ConfigError::TxTooSmall(0))
    );
    assert_eq!(
        with_staging::<1>().err(),
        Some(mqtt_embedded::ConfigError::TxTooSmall(1))
    );
    assert_eq!(with_staging::<2>(), Ok(Ok(())));
}
