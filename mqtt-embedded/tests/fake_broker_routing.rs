//! Per-filter routing into inboxes, and the QoS granted to each filter, against the fake broker in virtual time
//! (see `support`).

mod support;

use core::ops::Range;

use mqtt_embedded::proto::codec::PacketType;
use mqtt_embedded::{Inbox, ProtocolVersion, QoS, ReasonCode, Subscription};
use mqtt_test::{Direction, End};
use support::{config, run, until};

/// An inbox with `N` bytes for copies, leaked like the client's resources, and where those bytes are.
fn inbox<const N: usize>() -> (&'static Inbox<'static>, Range<usize>) {
    let buf: &'static mut [u8; N] = Box::leak(Box::new([0; N]));
    let at = buf.as_ptr() as usize;
    (Box::leak(Box::new(Inbox::new(buf))), at..at + N)
}

/// What a task received from an inbox: topic, payload, QoS, and where the payload was.
fn take(message: mqtt_embedded::Publish<'_>) -> (String, Vec<u8>, QoS, usize) {
    (
        message.topic.into(),
        message.payload.into(),
        message.qos,
        message.payload.as_ptr() as usize,
    )
}

#[test]
fn each_inbox_gets_the_messages_of_its_filters_and_the_handler_the_rest() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (copies, copies_at) = inbox::<256>();
        let (borrows, _) = inbox::<0>();
        run::<4096, 512, _>(&config(version), 0, async |client, setup| {
            let granted = client
                .subscribe_to(copies, &["a/#"], QoS::AtLeastOnce)
                .await
                .unwrap();
            assert_eq!(granted.iter().collect::<Vec<_>>(), [Ok(QoS::AtLeastOnce)]);
            client
                .subscribe_to(borrows, &["b/+", "both/+"], QoS::ExactlyOnce)
                .await
                .unwrap();
            client
                .subscribe(&[Subscription::new("c", QoS::AtMostOnce)])
                .await
                .unwrap();
            for (topic, qos) in [
                ("a/1", QoS::AtLeastOnce),
                ("b/1", QoS::ExactlyOnce),
                ("c", QoS::AtMostOnce),
                ("a/2", QoS::AtMostOnce),
            ] {
                let mut broker = setup.broker.borrow_mut();
                assert!(broker.inject(topic, topic.as_bytes(), qos, false));
            }
            let first = client.receive(copies, take).await;
            assert_eq!((first.0.as_str(), first.2), ("a/1", QoS::AtLeastOnce));
            assert!(
                copies_at.contains(&first.3),
                "{version:?}: not in the inbox"
            );
            // The zero-copy inbox's message, borrowed from the client's receive buffer.
            let held = client.receive(borrows, take).await;
            assert_eq!(
                (held.0.as_str(), held.1.as_slice(), held.2),
                ("b/1", &b"b/1"[..], QoS::ExactlyOnce)
            );
            assert!(setup.memory.contains(&held.3), "{version:?}: copied");
            assert_eq!(client.receive(copies, take).await.0, "a/2");
            until(|| setup.seen.borrow().messages.len() == 1).await;
            assert_eq!(setup.seen.borrow().messages[0].0, "c");
            assert!(
                client.try_receive(copies, take).is_none()
                    && client.try_receive(borrows, take).is_none()
            );
            let broker = setup.broker.borrow();
            assert!(broker.violations().is_empty(), "{:?}", broker.violations());
        });
    }
}

#[test]
fn a_full_inbox_pauses_the_runner_until_its_task_receives_and_keeps_the_order() {
    // Room for two of the copies (7 + 3 + 10 bytes each): the third waits in the receive buffer.
    let (small, small_at) = inbox::<40>();
    run::<4096, 512, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        client
            .subscribe_to(small, &["s/+"], QoS::AtLeastOnce)
            .await
            .unwrap();
        for i in 0..5 {
            let topic = format!("s/{i}");
            assert!(setup.broker.borrow_mut().inject(
                &topic,
                b"0123456789",
                QoS::AtLeastOnce,
                false
            ));
        }
        let from_client = Direction::from_sender(End::Client);
        let acks = || setup.broker.borrow().count(from_client, PacketType::PubAck);
        until(|| acks() == 2).await;
        // The third is held unacknowledged, and nothing after it is processed, until the task takes one.
        for _ in 0..100 {
            core::future::ready(()).await;
        }
        assert_eq!(acks(), 2);
        let mut received = Vec::new();
        for _ in 0..5 {
            received.push(client.receive(small, take).await);
        }
        let topics: Vec<_> = received.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(topics, ["s/0", "s/1", "s/2", "s/3", "s/4"]);
        assert!(received.iter().all(|m| m.1 == b"0123456789"));
        assert!(small_at.contains(&received[0].3));
        until(|| acks() == 5).await;
        assert!(setup.seen.borrow().messages.is_empty());
    });
}

#[test]
fn a_message_matching_two_inboxes_goes_to_both() {
    let (first, _) = inbox::<0>();
    let (second, _) = inbox::<0>();
    run::<4096, 512, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        client
            .subscribe_to(first, &["m/#"], QoS::ExactlyOnce)
            .await
            .unwrap();
        client
            .subscribe_to(second, &["m/+/x"], QoS::ExactlyOnce)
            .await
            .unwrap();
        assert!(
            setup
                .broker
                .borrow_mut()
                .inject("m/1/x", b"both", QoS::ExactlyOnce, false)
        );
        let from_client = Direction::from_sender(End::Client);
        assert_eq!(client.receive(second, take).await.0, "m/1/x");
        // Not acknowledged while one inbox still waits for it.
        assert_eq!(
            setup.broker.borrow().count(from_client, PacketType::PubRec),
            0
        );
        assert_eq!(client.receive(first, take).await.1, b"both");
        until(|| {
            setup
                .broker
                .borrow()
                .count(from_client, PacketType::PubComp)
                == 1
        })
        .await;
        assert!(
            client.try_receive(first, take).is_none() && client.try_receive(second, take).is_none()
        );
    });
}

#[test]
fn unsubscribe_from_an_inbox_unsubscribes_its_filters_and_stops_the_routing() {
    let (inbox, _) = inbox::<128>();
    run::<4096, 512, _>(&config(ProtocolVersion::V5), 0, async |client, setup| {
        client
            .subscribe_to(inbox, &["u/1", "u/2"], QoS::AtMostOnce)
            .await
            .unwrap();
        assert_eq!(
            client.subscribe_to(inbox, &["u/3"], QoS::AtMostOnce).await,
            Err(mqtt_embedded::Error::Busy)
        );
        assert_eq!(client.unsubscribe_from(inbox).await, Ok(()));
        {
            let broker = setup.broker.borrow();
            assert!(broker.subscriptions().is_empty());
            let from_client = Direction::from_sender(End::Client);
            assert_eq!(broker.count(from_client, PacketType::Unsubscribe), 1);
        }
        // Routed again after a new subscription; the handler got nothing meanwhile.
        client
            .subscribe_to(inbox, &["u/3"], QoS::AtMostOnce)
            .await
            .unwrap();
        setup
            .broker
            .borrow_mut()
            .inject("u/3", b"3", QoS::AtMostOnce, false);
        assert_eq!(client.receive(inbox, take).await.0, "u/3");
        assert!(setup.seen.borrow().messages.is_empty());
    });
}

#[test]
fn subscribe_reports_what_was_granted_to_each_filter() {
    for (version, refused) in [
        (ProtocolVersion::V311, ReasonCode(0x80)),
        (ProtocolVersion::V5, ReasonCode::NOT_AUTHORIZED),
    ] {
        run::<4096, 512, _>(&config(version), 0, async |client, setup| {
            setup.broker.borrow_mut().refuse_filter("secret/#");
            let granted = client
                .subscribe(&[
                    Subscription::new("two", QoS::ExactlyOnce),
                    Subscription::new("secret/#", QoS::AtLeastOnce),
                    Subscription::new("zero", QoS::AtMostOnce),
                ])
                .await
                .unwrap();
            assert_eq!(
                granted.iter().collect::<Vec<_>>(),
                [Ok(QoS::ExactlyOnce), Err(refused), Ok(QoS::AtMostOnce)],
                "{version:?}"
            );
            assert_eq!(granted.get(1), Some(Err(refused)));
            assert_eq!(granted.lowest(), Err(refused));
            let nine = [Subscription::new("n", QoS::AtMostOnce); 9];
            assert_eq!(
                client.subscribe(&nine).await,
                Err(mqtt_embedded::Error::TooManyFilters)
            );
        });
    }
}
