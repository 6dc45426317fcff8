//! The reconnect part of the new-user list: a consumer that reconnects when a message tells it to (the
//! acknowledgements it released go out first), with manual acknowledgement and a message not yet acknowledged,
//! and with QoS 2 in flight both ways. Expanded by [`new_user_tests!`](crate::new_user_tests) in the same module,
//! so the list's helpers (`broker`, `options`, `within`, `connect`, `next`, `publish_acked`, `WAIT`) and imports
//! are in scope.

/// The tests of this module, for [`new_user_tests!`](crate::new_user_tests); not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! new_user_reconnect_tests {
    ($client:ident, $how:tt, $timeout:path, $task:ident) => {
        /// Waits until `states` says the client reconnects as asked, then is connected again.
        async fn reconnected(states: &mut (impl ::futures::Stream<Item = ConnectionState> + Unpin)) {
            within("the next connection", async {
                let mut lost = false;
                while let Some(state) = states.next().await {
                    match state {
                        ConnectionState::Reconnecting { attempt: 0, .. } => lost = true,
                        ConnectionState::Connected { .. } if lost => return,
                        _ => {}
                    }
                }
                panic!("the states ended");
            })
            .await;
        }

        $crate::new_user_tests!(@test $how a_consumer_that_reconnects_on_a_message_gets_it_once_on_a_resumed_session {
            // The message's PUBACK goes out before the connection ends: the broker does not send it again on the
            // resumed session, and the consumer does not reconnect again and again [MQTT-4.4.0-1].
            let broker = broker(MosquittoConfig::default());
            let operator = connect(options(&broker, "nu-cmd-operator")).await;
            for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
                let consumer = connect(
                    options(&broker, &format!("nu-cmd-{version:?}"))
                        .version(version)
                        .clean_start(false)
                        .session_expiry(300),
                )
                .await;
                let topic = format!("nu/cmd/{version:?}");
                let mut commands = within("subscribe", consumer.subscribe(topic.as_str(), QoS::AtLeastOnce))
                    .await
                    .unwrap();
                let mut states = consumer.states();
                publish_acked(&operator, &topic, "reconnect").await;
                assert_eq!(next(&mut commands).await.payload, "reconnect");
                consumer.reconnect().unwrap();
                reconnected(&mut states).await;
                publish_acked(&operator, &topic, "after").await;
                assert_eq!(
                    next(&mut commands).await.payload,
                    "after",
                    "{version:?}: the command came again"
                );
                within("disconnect", consumer.disconnect(WAIT)).await.unwrap();
            }
        });

        $crate::new_user_tests!(@test $how a_manual_ack_consumer_that_reconnects_before_acking_gets_the_message_again {
            // Not acknowledged when the connection ended: the broker sends it again on the resumed session
            // [MQTT-4.4.0-1]; the late ack of the first copy does nothing, the ack of the second ends it.
            let broker = broker(MosquittoConfig::default());
            let operator = connect(options(&broker, "nu-manual-operator")).await;
            let consumer = connect(
                options(&broker, "nu-manual")
                    .manual_ack(true)
                    .clean_start(false)
                    .session_expiry(300),
            )
            .await;
            let mut messages = within("subscribe", consumer.subscribe("nu/manual", QoS::AtLeastOnce))
                .await
                .unwrap();
            let mut states = consumer.states();
            publish_acked(&operator, "nu/manual", "job").await;
            let first = next(&mut messages).await;
            assert_eq!(first.payload, "job");
            consumer.reconnect().unwrap();
            reconnected(&mut states).await;
            let again = next(&mut messages).await;
            assert_eq!(again.payload, "job", "the unacknowledged message comes again");
            consumer.ack(&first);
            consumer.ack(&again);
            publish_acked(&operator, "nu/manual", "after").await;
            let after = next(&mut messages).await;
            assert_eq!(after.payload, "after", "acknowledged: the job does not come a third time");
            consumer.ack(&after);
            within("disconnect", consumer.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how a_handler_that_reconnects_whenever_the_broker_is_unreachable_is_paced {
            // paho's habit: `reconnect()` on every failure. Nothing listens on the port, so each attempt fails at
            // once: after the handler's first retry, at once, the attempts follow the schedule (200, 400, 800 ms
            // here), not the refusals (thousands a second before).
            use ::std::sync::atomic::{AtomicUsize, Ordering};
            let port = ::std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .unwrap()
                .port();
            let policy = $client::ReconnectPolicy {
                initial_delay: Duration::from_millis(200),
                jitter_permille: 0,
                ..$client::ReconnectPolicy::default()
            };
            let options = Options::new(&format!("mqtt://127.0.0.1:{port}"))
                .unwrap()
                .client_id("nu-unreachable")
                .reconnect(policy);
            let (client, event_loop) = $client::new(&options).unwrap();
            let mut states = client.states();
            $task::detach(event_loop.run());
            let failures = AtomicUsize::new(0);
            let handler = async {
                while let Some(state) = states.next().await {
                    if matches!(state, ConnectionState::Unreachable(_) | ConnectionState::Lost(_)) {
                        failures.fetch_add(1, Ordering::Relaxed);
                        client.reconnect().unwrap();
                    }
                }
            };
            assert!($timeout(Duration::from_secs(2), handler).await.is_err(), "the states ended");
            let failures = failures.load(Ordering::Relaxed);
            assert!((3..=8).contains(&failures), "{failures} failed attempts in 2 s, about 5 expected");
            // The last handle: the event loop ends.
            drop(client);
        });

        $crate::new_user_tests!(@test $how qos2_both_ways_is_exactly_once_when_the_handler_reconnects_on_messages {
            // A worker answers each QoS 2 request at QoS 2 and reconnects after every third: PUBREC, PUBCOMP and
            // its own flows in progress cross the reconnects; each request and each answer arrives once.
            const COUNT: usize = 24;
            let broker = broker(MosquittoConfig::default());
            let persistent = |id: &str| options(&broker, id).clean_start(false).session_expiry(300);
            let worker = connect(persistent("nu-q2-worker")).await;
            let mut requests = within("subscribe", worker.subscribe("nu/q2/req", QoS::ExactlyOnce))
                .await
                .unwrap();
            let requester = connect(persistent("nu-q2-requester")).await;
            let mut answers = within("subscribe", requester.subscribe("nu/q2/ans", QoS::ExactlyOnce))
                .await
                .unwrap();
            let mut sent = Vec::new();
            for i in 0..COUNT {
                sent.push(
                    requester
                        .publish("nu/q2/req", format!("{i}"), QoS::ExactlyOnce, false)
                        .await
                        .unwrap(),
                );
            }
            let mut seen = BTreeSet::new();
            let mut answered = Vec::new();
            for n in 0..COUNT {
                let request = next(&mut requests).await;
                let payload = String::from_utf8(request.payload.to_vec()).unwrap();
                assert!(seen.insert(payload.clone()), "request {payload} arrived twice");
                answered.push(
                    worker
                        .publish("nu/q2/ans", payload, QoS::ExactlyOnce, false)
                        .await
                        .unwrap(),
                );
                if n % 3 == 2 {
                    worker.reconnect().unwrap();
                }
            }
            for delivery in sent.into_iter().chain(answered) {
                within("PUBCOMP", delivery.wait()).await.unwrap();
            }
            let mut answers_seen = BTreeSet::new();
            for _ in 0..COUNT {
                let payload = String::from_utf8(next(&mut answers).await.payload.to_vec()).unwrap();
                assert!(answers_seen.insert(payload.clone()), "answer {payload} arrived twice");
            }
            let end = requester
                .publish("nu/q2/req", "end", QoS::ExactlyOnce, false)
                .await
                .unwrap();
            within("PUBCOMP", end.wait()).await.unwrap();
            assert_eq!(next(&mut requests).await.payload, "end", "no request twice");
        });
    };
}
