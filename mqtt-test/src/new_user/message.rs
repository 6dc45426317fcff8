//! The message part of the new-user list: slow consumers, retained messages, unsubscribing, invalid input (control
//! characters in topics too), large payloads and the broker's maximum, MQTT 5.0 properties, many subscriptions,
//! statistics, and a request queued behind a publish. Expanded by [`new_user_tests!`](crate::new_user_tests) after its own tests, in the same
//! module, so the list's helpers (`broker`, `options`, `within`, `connect`, `next`, `publish_acked`, `WAIT`) and
//! imports are in scope.

/// The tests of this module, for [`new_user_tests!`](crate::new_user_tests); not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! new_user_message_tests {
    ($client:ident, $how:tt, $task:ident) => {
        $crate::new_user_tests!(@test $how a_slow_consumer_catches_up_without_loss_or_duplicates_at_qos1 {
            const COUNT: usize = 300;
            let broker = broker(MosquittoConfig::default());
            let subscriber = connect(options(&broker, "nu-slow-sub").message_capacity(8)).await;
            let mut messages = within(
                "subscribe",
                subscriber.subscribe("nu/slow", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let publisher = connect(options(&broker, "nu-slow-pub")).await;
            let mut deliveries = Vec::new();
            for i in 0..COUNT {
                deliveries.push(
                    publisher
                        .publish("nu/slow", format!("{i}"), QoS::AtLeastOnce, false)
                        .await
                        .unwrap(),
                );
            }
            // The subscriber reads nothing until the broker has taken every message.
            for delivery in deliveries {
                within("PUBACK", delivery.wait()).await.unwrap();
            }
            for i in 0..COUNT {
                assert_eq!(next(&mut messages).await.payload, format!("{i}"));
            }
            publish_acked(&publisher, "nu/slow", "end").await;
            assert_eq!(
                next(&mut messages).await.payload,
                "end",
                "no duplicate before the end"
            );
        });

        $crate::new_user_tests!(@test $how a_consumer_that_awaits_each_replys_acknowledgement_keeps_up_with_a_qos1_flood {
            // The habit: answer each message, and wait until the broker took the answer before the next. The
            // PUBACK comes behind the messages mosquitto sent first (its window of 20), into a full queue.
            const COUNT: usize = 300;
            let broker = broker(MosquittoConfig::default());
            let consumer = connect(options(&broker, "nu-replier").message_capacity(4)).await;
            let mut requests = within(
                "subscribe",
                consumer.subscribe("nu/requests/+", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let publisher = connect(options(&broker, "nu-requester")).await;
            let mut replies = within(
                "subscribe",
                publisher.subscribe("nu/replies/+", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let mut deliveries = Vec::new();
            for i in 0..COUNT {
                deliveries.push(
                    publisher
                        .publish(format!("nu/requests/{i}"), format!("{i}"), QoS::AtLeastOnce, false)
                        .await
                        .unwrap(),
                );
            }
            for i in 0..COUNT {
                let request = next(&mut requests).await;
                assert_eq!(request.payload, format!("{i}"), "in order, once");
                let reply = consumer
                    .publish(format!("nu/replies/{i}"), request.payload.clone(), QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
                within("the PUBACK of a reply, behind a full queue", reply.wait())
                    .await
                    .unwrap();
            }
            for delivery in deliveries {
                within("PUBACK", delivery.wait()).await.unwrap();
            }
            for i in 0..COUNT {
                assert_eq!(next(&mut replies).await.payload, format!("{i}"));
            }
        });

        $crate::new_user_tests!(@test $how retained_messages_carry_the_retain_flag_only_when_replayed {
            let broker = broker(MosquittoConfig::default());
            let publisher = connect(options(&broker, "nu-retain-pub")).await;
            let delivery = publisher
                .publish("nu/retain", "kept", QoS::AtLeastOnce, true)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();

            let subscriber = connect(options(&broker, "nu-retain-sub")).await;
            let mut messages = within(
                "subscribe",
                subscriber.subscribe("nu/retain", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let replayed = next(&mut messages).await;
            assert_eq!(replayed.payload, "kept");
            assert!(
                replayed.retain,
                "a retained message replayed at subscribe has retain set [MQTT-3.3.1-8]"
            );

            publish_acked(&publisher, "nu/retain", "live").await;
            let live = next(&mut messages).await;
            assert_eq!(live.payload, "live");
            assert!(
                !live.retain,
                "a live message has retain clear [MQTT-3.3.1-9]"
            );

            // An empty retained message clears it [MQTT-3.3.1-10]: a later subscriber gets the marker first.
            let clear = publisher
                .publish("nu/retain", "", QoS::AtLeastOnce, true)
                .await
                .unwrap();
            within("PUBACK", clear.wait()).await.unwrap();
            let late = connect(options(&broker, "nu-retain-late")).await;
            let mut late_messages = within("subscribe", late.subscribe("nu/retain", QoS::AtLeastOnce))
                .await
                .unwrap();
            publish_acked(&publisher, "nu/retain", "marker").await;
            let first = next(&mut late_messages).await;
            assert_eq!((first.payload, first.retain), ("marker".into(), false));
        });

        $crate::new_user_tests!(@test $how unsubscribe_stops_delivery_and_ends_the_subscription {
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-unsub")).await;
            let mut gone = within(
                "subscribe a",
                client.subscribe("nu/unsub/a", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let mut kept = within(
                "subscribe b",
                client.subscribe("nu/unsub/b", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let mut everything = client.messages();
            within("unsubscribe", client.unsubscribe(["nu/unsub/a".to_owned()]))
                .await
                .unwrap();
            publish_acked(&client, "nu/unsub/a", "late").await;
            publish_acked(&client, "nu/unsub/b", "marker").await;
            assert_eq!(next(&mut kept).await.payload, "marker");
            let first = within("a message", everything.next()).await.unwrap();
            assert_eq!(
                first.topic, "nu/unsub/b",
                "nothing arrives for an unsubscribed filter"
            );
            assert_eq!(within("the end of the stream", gone.recv()).await, None);
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how invalid_topics_filters_and_qos_fail_at_once_with_typed_errors {
            // No event loop runs, and no broker is needed: each call must answer at once.
            let (client, _event_loop) = $client::new(
                &Options::new("mqtt://127.0.0.1:9")
                    .unwrap()
                    .client_id("nu-invalid"),
            )
            .unwrap();
            for topic in ["a/+/b", "a/#", "", "nul\0in/topic"] {
                let result = within(
                    "publish",
                    client.publish(topic, "x", QoS::AtLeastOnce, false),
                )
                .await;
                assert!(
                    matches!(result, Err(Error::Publish(PublishError::InvalidTopic(_)))),
                    "publish to {topic:?}: {result:?}"
                );
            }
            let long = "t".repeat(70_000);
            let result = within("publish", client.publish(long, "x", QoS::AtMostOnce, false)).await;
            assert!(matches!(result, Err(Error::Publish(_))), "{result:?}");
            for filter in ["a/#/b", "a/b#", "a+/b", ""] {
                let result = within("subscribe", client.subscribe(filter, QoS::AtLeastOnce)).await;
                assert!(
                    matches!(
                        result,
                        Err(Error::Subscribe(SubscribeError::InvalidFilter(_)))
                    ),
                    "subscribe to {filter:?}: {result:?}"
                );
                let result = within("unsubscribe", client.unsubscribe([filter.to_owned()])).await;
                assert!(
                    matches!(result, Err(Error::Subscribe(_))),
                    "unsubscribe {filter:?}: {result:?}"
                );
            }
            let result = within("subscribe none", client.subscribe_many(Vec::<(String, QoS)>::new())).await;
            assert!(
                matches!(result, Err(Error::Subscribe(SubscribeError::NoFilters))),
                "{result:?}"
            );
            assert!(QoS::try_from(3).is_err(), "QoS 3 does not exist");
        });

        $crate::new_user_tests!(@test $how a_control_character_in_a_topic_fails_at_once_and_the_connection_stays_up {
            // mosquitto takes a control character or a Unicode non-character in a string for a malformed packet and
            // closes the connection (MQTT 5.0 section 1.5.4: such strings SHOULD NOT be sent). A publish accepted
            // with one was sent again after each reconnect, losing the connection each time, until the poison
            // threshold (five connections by default) failed it.
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-control")).await;
            let mut messages = within("subscribe", client.subscribe("nu/control/#", QoS::AtLeastOnce))
                .await
                .unwrap();
            for topic in ["nu/control/line\nbreak", "nu/control/tab\there", "nu/control/\u{7f}", "nu/control/\u{ffff}"] {
                let result = within(
                    "publish",
                    client.publish(topic, "x", QoS::AtLeastOnce, false),
                )
                .await;
                assert!(
                    matches!(result, Err(Error::Publish(PublishError::InvalidTopic(_)))),
                    "publish to {topic:?}: {result:?}"
                );
                let result = within("subscribe", client.subscribe(topic, QoS::AtLeastOnce)).await;
                assert!(
                    matches!(
                        result,
                        Err(Error::Subscribe(SubscribeError::InvalidFilter(_)))
                    ),
                    "subscribe to {topic:?}: {result:?}"
                );
            }
            // The same for a property (5.0): mosquitto closes the connection on a line end in a user property.
            let message = Message::new("nu/control/fine", "x")
                .qos(QoS::AtLeastOnce)
                .user_property("note", "line\nbreak");
            let result = within("publish", client.publish_message(message)).await;
            assert!(
                matches!(result, Err(Error::Publish(PublishError::InvalidProperty(_)))),
                "{result:?}"
            );
            publish_acked(&client, "nu/control/fine", "still connected").await;
            assert_eq!(next(&mut messages).await.payload, "still connected");
            assert!(client.is_connected());
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how a_publish_the_broker_does_not_authorise_fails_with_its_reason_on_5_0 {
            // mosquitto's access control list lets this client read `nu/acl/readonly/#` and not write it: on 5.0 its
            // PUBACK or PUBREC says Not authorized (0x87), and the delivery fails with that code. (mosquitto 2.0.11
            // then closes the connection: the client connects again, and does not send the refused message again.)
            let broker = broker(
                MosquittoConfig::default()
                    .with_acl("topic readwrite nu/acl/open/#\ntopic read nu/acl/readonly/#\n"),
            );
            let client = connect(options(&broker, "nu-acl").version(ProtocolVersion::V5)).await;
            for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let delivery = client
                    .publish("nu/acl/readonly/x", "x", qos, false)
                    .await
                    .unwrap();
                let result = within("the refusal", delivery.wait()).await;
                assert!(
                    matches!(
                        &result,
                        Err(Error::PublishFailed($client::PublishFailure::Rejected(code)))
                            if *code == $client::ReasonCode::NOT_AUTHORIZED
                    ),
                    "{qos:?}: {result:?}"
                );
            }
            publish_acked(&client, "nu/acl/open/x", "allowed").await;
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
            let log = broker.log();
            let denied = log
                .lines()
                .filter(|line| line.contains("Denied PUBLISH from nu-acl"))
                .count();
            assert_eq!(denied, 2, "each refused message was sent once:\n{log}");
        });

        $crate::new_user_tests!(@test $how large_payloads_round_trip_up_to_the_receivers_maximum_packet_size {
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-large")).await;
            let mut messages = within("subscribe", client.subscribe("nu/large", QoS::AtLeastOnce))
                .await
                .unwrap();
            let big = connect(options(&broker, "nu-large-big").max_packet_size(8 * 1024 * 1024)).await;
            let mut big_messages = within("subscribe", big.subscribe("nu/large", QoS::AtLeastOnce))
                .await
                .unwrap();
            let megabyte: Vec<u8> = (0..=255u8).cycle().take(1_000_000).collect();
            let delivery = client
                .publish("nu/large", megabyte.clone(), QoS::AtLeastOnce, false)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
            assert!(
                next(&mut messages).await.payload == megabyte,
                "the payload came back changed"
            );
            assert!(next(&mut big_messages).await.payload == megabyte);

            // 3 MiB: above the default receive limit (1 MiB), which a 5.0 client announces; the broker then does not
            // send it to that client [MQTT-3.1.2-25], but gives it to the one that allows it.
            let three: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024).collect();
            let delivery = client
                .publish("nu/large", three.clone(), QoS::AtLeastOnce, false)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
            assert!(next(&mut big_messages).await.payload == three);
            publish_acked(&client, "nu/large", "small").await;
            assert_eq!(next(&mut messages).await.payload, "small");

            // Above what the queue can ever hold: a typed error at once, and the client goes on.
            let result = client
                .publish(
                    "nu/large",
                    vec![0u8; 5 * 1024 * 1024],
                    QoS::AtLeastOnce,
                    false,
                )
                .await;
            assert!(matches!(result, Err(Error::Publish(_))), "{result:?}");
            publish_acked(&client, "nu/large", "still works").await;
            assert_eq!(next(&mut messages).await.payload, "still works");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how a_payload_above_the_brokers_announced_maximum_is_refused_at_once {
            let broker = broker(MosquittoConfig::default().with_line("max_packet_size 10000"));
            let client = connect(options(&broker, "nu-broker-max").version(ProtocolVersion::V5)).await;
            let result = client
                .publish("nu/max", vec![0u8; 20_000], QoS::AtLeastOnce, false)
                .await;
            assert!(
                matches!(
                    result,
                    Err(Error::Publish(PublishError::TooLarge { max: 10000, .. }))
                ),
                "{result:?}"
            );
            let mut messages = within("subscribe", client.subscribe("nu/max", QoS::AtLeastOnce))
                .await
                .unwrap();
            publish_acked(&client, "nu/max", "small").await;
            assert_eq!(next(&mut messages).await.payload, "small");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how v5_user_properties_and_message_expiry_round_trip {
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-props").version(ProtocolVersion::V5)).await;
            let mut messages = within("subscribe", client.subscribe("nu/props", QoS::AtLeastOnce))
                .await
                .unwrap();
            let message = Message::new("nu/props", "{}")
                .qos(QoS::AtLeastOnce)
                .user_property("unit", "celsius")
                .user_property("unit", "kelvin")
                .user_property("source", "kitchen")
                .message_expiry_interval(3600)
                .content_type("application/json")
                .payload_format_indicator(true);
            let delivery = within("publish", client.publish_message(message))
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
            let received = next(&mut messages).await;
            assert_eq!(
                received.user_properties,
                [
                    ("unit".to_owned(), "celsius".to_owned()),
                    ("unit".to_owned(), "kelvin".to_owned()),
                    ("source".to_owned(), "kitchen".to_owned()),
                ]
            );
            let expiry = received
                .message_expiry_interval
                .expect("the expiry comes along");
            assert!((1..=3600).contains(&expiry), "expiry {expiry}");
            assert_eq!(received.content_type.as_deref(), Some("application/json"));
            assert_eq!(received.payload_format_indicator, Some(true));

            // On a 3.1.1 connection, properties cannot be sent: a typed error, not a silent drop.
            let old = connect(options(&broker, "nu-props-311").version(ProtocolVersion::V311)).await;
            let result = within(
                "publish with properties on 3.1.1",
                old.publish_message(Message::new("nu/props", "x").user_property("a", "b")),
            )
            .await;
            assert!(result.is_err(), "{result:?}");
        });

        $crate::new_user_tests!(@test $how two_hundred_subscriptions_each_get_their_own_messages {
            const COUNT: usize = 200;
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-many")).await;
            let filters = (0..COUNT).map(|i| (format!("nu/many/{i}"), QoS::AtLeastOnce));
            let mut all = within("subscribe many", client.subscribe_many(filters))
                .await
                .unwrap();
            assert_eq!(all.granted().len(), COUNT);
            assert!(all.granted().iter().all(|g| *g == Ok(QoS::AtLeastOnce)));
            let mut one = within(
                "subscribe one",
                client.subscribe("nu/many/7", QoS::AtMostOnce),
            )
            .await
            .unwrap();
            for i in 0..COUNT {
                publish_acked(&client, &format!("nu/many/{i}"), &format!("{i}")).await;
            }
            let mut topics = BTreeSet::new();
            for _ in 0..COUNT {
                topics.insert(next(&mut all).await.topic);
            }
            assert_eq!(topics.len(), COUNT);
            assert_eq!(next(&mut one).await.topic, "nu/many/7");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how stats_count_messages_both_ways {
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-stats")).await;
            let mut messages = within("subscribe", client.subscribe("nu/stats", QoS::AtLeastOnce))
                .await
                .unwrap();
            for i in 0..3 {
                publish_acked(&client, "nu/stats", &format!("{i}")).await;
                next(&mut messages).await;
            }
            let stats = client.stats();
            assert!(stats.messages_sent >= 3, "{stats:?}");
            assert!(stats.messages_received >= 3, "{stats:?}");
            assert!(stats.first_connected_at.is_some());
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how ping_delivery_ids_and_last_traffic_times_against_a_real_broker {
            // paho's ping(), publish's mid and last_send/last_receive, as a port from it uses them.
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-ping").keep_alive(Duration::from_secs(600))).await;
            let round_trip = within("PINGRESP", client.ping(WAIT)).await.unwrap();
            assert!(round_trip < WAIT, "{round_trip:?}");
            let stats = client.stats();
            assert!(stats.last_sent_at.is_some() && stats.last_received_at.is_some(), "{stats:?}");
            let first = client.publish("nu/ping", "a", QoS::AtMostOnce, false).await.unwrap();
            let second = client.publish("nu/ping", "b", QoS::AtLeastOnce, false).await.unwrap();
            assert!(second.id() > first.id(), "{} then {}", first.id(), second.id());
            within("PUBACK", second.wait()).await.unwrap();
            let after = client.stats();
            assert!(after.last_received_at >= stats.last_received_at, "{after:?}");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how a_subscribe_request_queued_behind_a_publish_is_sent_not_dropped {
            // A 600-byte PUBLISH and a 500-byte SUBSCRIBE, both queued before the connection: each fits the transmit
            // staging buffer on its own, not both together.
            let broker = broker(MosquittoConfig::default());
            for payload in [300, 450, 500, 550, 600, 700] {
                let (client, event_loop) = $client::new(&options(&broker, "nu-behind")).unwrap();
                let _ = client
                    .publish("nu/behind", vec![b'x'; payload], QoS::AtMostOnce, false)
                    .await
                    .unwrap();
                let filters =
                    (0..20).map(|i| (format!("nu/behind/filter/number/{i:04}"), QoS::AtLeastOnce));
                let subscribe = client.subscribe_many(filters);
                let task = $task::spawn(event_loop.run());
                let subscription = within("SUBACK", subscribe).await;
                assert!(
                    subscription.is_ok(),
                    "behind {payload} bytes: {subscription:?}"
                );
                within("disconnect", client.disconnect(WAIT)).await.unwrap();
                within("the loop's end", $task::join(task)).await;
            }
        });
    };
}
