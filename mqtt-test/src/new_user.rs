//! [`new_user_tests!`](crate::new_user_tests): the one list of new-user tests, run by the async std bindings from
//! their own `tests/new_user.rs` (`mqtt-tokio` and `mqtt-smol`). Each test drives a binding as a new user would,
//! with the habits of paho-style and device-style MQTT clients, against a real mosquitto started by the harness:
//! subscribing from the connection-state handler, publishing before the connection is up, reconnecting by hand,
//! slow consumers, wills, retained messages, persistent sessions, MQTT 5.0 properties, invalid input. Every wait
//! is bounded.
//!
//! The tests are written once, against the names the bindings share, and expand in the binding's test crate (this
//! crate depends on neither binding). What differs between runtimes is given to the macro, as for
//! [`interop_tests!`](crate::interop_tests): how a test runs (a test attribute, or a `block_on` function), how a
//! future is given a time limit (`timeout(duration, future)`, `Err` when the time is up, the shape of
//! `tokio::time::timeout`), and a module of the calling crate that runs tasks (see the macro).
//!
//! The test crate must depend on `futures` (for `StreamExt` on the streams the clients return), as the bindings do.

mod message;
mod reconnect;

/// Expands to the new-user tests for one async binding, as `#[test]` functions in the calling module (which must
/// not define the helper names the expansion uses: `WAIT`, `broker`, `options`, `within`, `connect`, `next`,
/// `publish_acked`).
///
/// `task` names a module of the calling crate with four functions, for the tasks the tests spawn (a handler of
/// connection states, the event loop):
///
/// - `detach(future)`: runs a `Send + 'static` future of output `()` on the runtime for as long as it lasts;
/// - `spawn(future) -> Handle`: the same, with a handle;
/// - `async join(handle)`: waits for the task's end (a panic in it fails the test);
/// - `kill(handle)`: ends the task at once, as a process that dies would (the connection dies with it).
///
/// ```ignore
/// // mqtt-tokio/tests/new_user.rs, with `task` a small module of that file
/// mqtt_test::new_user_tests!(
///     client = mqtt_tokio,
///     test = #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
///     timeout = tokio::time::timeout,
///     task = task,
/// );
///
/// // mqtt-smol/tests/new_user.rs, with `runtime::timeout` and `task` small modules of that crate
/// mqtt_test::new_user_tests!(
///     client = mqtt_smol,
///     block_on = smol::block_on,
///     timeout = runtime::timeout,
///     task = task,
/// );
/// ```
#[macro_export]
macro_rules! new_user_tests {
    (client = $client:ident, test = #[$test:meta], timeout = $timeout:path, task = $task:ident $(,)?) => {
        $crate::new_user_tests!(@all $client, [attribute $test], $timeout, $task);
    };
    (client = $client:ident, block_on = $block_on:path, timeout = $timeout:path, task = $task:ident $(,)?) => {
        $crate::new_user_tests!(@all $client, [block_on $block_on], $timeout, $task);
    };

    // One test, in the form the runtime wants.
    (@test [attribute $test:meta] $name:ident $body:block) => {
        #[$test]
        async fn $name() $body
    };
    (@test [block_on $block_on:path] $name:ident $body:block) => {
        #[test]
        fn $name() {
            $block_on(async { $body })
        }
    };

    // The list.
    (@all $client:ident, $how:tt, $timeout:path, $task:ident) => {
        use ::core::time::Duration;
        use ::std::collections::BTreeSet;

        use ::futures::StreamExt;
        use $crate::{Listener, Mosquitto, MosquittoConfig};
        use $client::{
            ConnectRefusal, ConnectionState, Error, LastWill, Message, Options, ProtocolVersion,
            PublishError, QoS, SubscribeError, Subscription,
        };

        const WAIT: Duration = Duration::from_secs(10);

        fn broker(config: MosquittoConfig) -> Mosquitto {
            Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
        }

        fn options(broker: &Mosquitto, id: &str) -> Options {
            Options::new(&broker.url(Listener::Plain))
                .unwrap()
                .client_id(id)
        }

        async fn within<T>(what: &str, future: impl ::core::future::Future<Output = T>) -> T {
            $timeout(WAIT, future)
                .await
                .unwrap_or_else(|_| panic!("timed out: {what}"))
        }

        async fn connect(options: Options) -> $client::Client {
            within("connect", $client::connect(options))
                .await
                .unwrap_or_else(|e| panic!("connect: {e}"))
        }

        async fn next(subscription: &mut Subscription) -> Message {
            within("the next message", subscription.recv())
                .await
                .expect("the subscription ended")
        }

        /// A QoS 1 publish, waited for until the broker acknowledged it.
        async fn publish_acked(client: &$client::Client, topic: &str, payload: &str) {
            let delivery = client
                .publish(topic, payload.to_owned(), QoS::AtLeastOnce, false)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
        }

        $crate::new_user_tests!(@test $how subscribing_from_the_state_handler_receives_after_each_connection {
            let broker = broker(MosquittoConfig::default());
            let publisher = connect(options(&broker, "nu-handler-pub")).await;
            let (client, event_loop) = $client::new(&options(&broker, "nu-handler")).unwrap();
            let mut states = client.states();
            let handler = client.clone();
            let (subscribed, mut subscriptions) = futures::channel::mpsc::unbounded();
            $task::detach(async move {
                while let Some(state) = states.next().await {
                    if let ConnectionState::Connected { .. } = state {
                        let subscription = handler.subscribe("nu/handler", QoS::AtLeastOnce).await;
                        if subscribed.unbounded_send(subscription).is_err() {
                            return;
                        }
                    }
                }
            });
            $task::detach(event_loop.run());

            let mut first = within("the first subscription", subscriptions.next())
                .await
                .unwrap()
                .unwrap();
            publish_acked(&publisher, "nu/handler", "one").await;
            assert_eq!(next(&mut first).await.payload, "one");

            client.reconnect().unwrap();
            let mut second = within("the subscription after reconnect", subscriptions.next())
                .await
                .unwrap()
                .unwrap();
            publish_acked(&publisher, "nu/handler", "two").await;
            assert_eq!(next(&mut second).await.payload, "two");
            // The first subscription is still alive, and gets it once too.
            assert_eq!(next(&mut first).await.payload, "two");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how publishing_before_the_event_loop_runs_delivers_every_qos_after_connect {
            let broker = broker(MosquittoConfig::default());
            let subscriber = connect(options(&broker, "nu-early-sub")).await;
            let mut messages = within(
                "subscribe",
                subscriber.subscribe("nu/early", QoS::ExactlyOnce),
            )
            .await
            .unwrap();

            let (client, event_loop) = $client::new(&options(&broker, "nu-early")).unwrap();
            assert!(!client.is_connected());
            let mut deliveries = Vec::new();
            for (payload, qos) in [
                ("q0", QoS::AtMostOnce),
                ("q1", QoS::AtLeastOnce),
                ("q2", QoS::ExactlyOnce),
            ] {
                deliveries.push(
                    client
                        .publish("nu/early", payload, qos, false)
                        .await
                        .unwrap(),
                );
            }
            $task::detach(event_loop.run());
            for delivery in deliveries {
                within("the acknowledgement", delivery.wait())
                    .await
                    .unwrap();
            }
            let mut received = BTreeSet::new();
            for _ in 0..3 {
                received.insert(next(&mut messages).await.payload);
            }
            assert_eq!(
                received,
                BTreeSet::from(["q0".into(), "q1".into(), "q2".into()])
            );
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how reconnect_twice_in_a_row_keeps_subscriptions_and_publishes {
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-twice")).await;
            let mut messages = within("subscribe", client.subscribe("nu/twice", QoS::AtLeastOnce))
                .await
                .unwrap();
            client.reconnect().unwrap();
            client.reconnect().unwrap();
            publish_acked(&client, "nu/twice", "after").await;
            assert_eq!(next(&mut messages).await.payload, "after");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        $crate::new_user_tests!(@test $how after_disconnect_commands_fail_at_once_with_typed_errors {
            let broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-after")).await;
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
            assert!(!client.is_connected());
            assert_eq!(client.reconnect(), Err(Error::Closed));
            let publish = within(
                "publish after disconnect",
                client.publish("nu/after", "x", QoS::AtLeastOnce, false),
            )
            .await;
            assert!(publish.is_err(), "a publish after disconnect is refused");
            let subscribe = within(
                "subscribe after disconnect",
                client.subscribe("nu/after", QoS::AtLeastOnce),
            )
            .await;
            assert!(
                subscribe.is_err(),
                "a subscribe after disconnect is refused"
            );
            // A second disconnect is harmless.
            within("second disconnect", client.disconnect(WAIT))
                .await
                .unwrap();
        });

        $crate::new_user_tests!(@test $how dropping_the_last_handle_sends_pending_publishes_then_ends_the_loop {
            let broker = broker(MosquittoConfig::default());
            let subscriber = connect(options(&broker, "nu-drop-sub")).await;
            let mut messages = within(
                "subscribe",
                subscriber.subscribe("nu/drop", QoS::AtLeastOnce),
            )
            .await
            .unwrap();
            let (client, event_loop) = $client::new(&options(&broker, "nu-drop")).unwrap();
            let task = $task::spawn(event_loop.run());
            within("connected", client.wait_connected(WAIT))
                .await
                .unwrap();
            for i in 0..20 {
                let _ = client
                    .publish("nu/drop", format!("{i}"), QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
            }
            drop(client);
            within("the event loop's end", $task::join(task)).await;
            for i in 0..20 {
                assert_eq!(next(&mut messages).await.payload, format!("{i}"));
            }
        });

        $crate::new_user_tests!(@test $how the_will_is_published_when_the_connection_dies_and_not_after_disconnect {
            let broker = broker(MosquittoConfig::default());
            let watcher = connect(options(&broker, "nu-will-watch")).await;
            let mut wills = within(
                "subscribe",
                watcher.subscribe("nu/will/#", QoS::AtLeastOnce),
            )
            .await
            .unwrap();

            // Graceful: DISCONNECT, so no will [MQTT-3.1.2-10]. The marker published after it comes first.
            let polite = connect(
                options(&broker, "nu-will-polite")
                    .last_will(LastWill::new("nu/will/polite", "gone").qos(QoS::AtLeastOnce)),
            )
            .await;
            within("disconnect", polite.disconnect(WAIT)).await.unwrap();
            publish_acked(&watcher, "nu/will/marker", "marker").await;
            assert_eq!(next(&mut wills).await.topic, "nu/will/marker");

            // Abrupt: the event loop's task dies with the connection.
            let (client, event_loop) = $client::new(
                &options(&broker, "nu-will-dies")
                    .last_will(LastWill::new("nu/will/dies", "gone").qos(QoS::AtLeastOnce)),
            )
            .unwrap();
            let task = $task::spawn(event_loop.run());
            within("connected", client.wait_connected(WAIT))
                .await
                .unwrap();
            $task::kill(task);
            let will = next(&mut wills).await;
            assert_eq!(
                (will.topic.as_str(), &will.payload[..]),
                ("nu/will/dies", &b"gone"[..])
            );
        });

        $crate::new_user_tests!(@test $how a_panic_that_drops_the_last_handle_lets_the_broker_publish_the_will {
            // An application bug is a crash, not a goodbye: the connection ends without DISCONNECT and the broker
            // publishes the will [MQTT-3.1.2-8]. A plain drop still says goodbye: no will [MQTT-3.1.2-10].
            let broker = broker(MosquittoConfig::default());
            let watcher = connect(options(&broker, "nu-panic-watch")).await;
            let mut wills = within("subscribe", watcher.subscribe("nu/panic/#", QoS::AtLeastOnce))
                .await
                .unwrap();
            for (id, panics) in [("dropped", false), ("panicked", true)] {
                let (client, event_loop) = $client::new(
                    &options(&broker, &format!("nu-panic-{id}"))
                        .last_will(LastWill::new(format!("nu/panic/{id}"), "gone").qos(QoS::AtLeastOnce)),
                )
                .unwrap();
                let task = $task::spawn(event_loop.run());
                within("connected", client.wait_connected(WAIT)).await.unwrap();
                let worker = ::std::thread::spawn(move || {
                    let _client = client;
                    if panics {
                        panic!("an application bug (this panic is the test's)");
                    }
                });
                assert_eq!(worker.join().is_err(), panics);
                within("the event loop's end", $task::join(task)).await;
            }
            // The first client's will would have come first.
            assert_eq!(next(&mut wills).await.topic, "nu/panic/panicked");
            publish_acked(&watcher, "nu/panic/marker", "marker").await;
            assert_eq!(next(&mut wills).await.topic, "nu/panic/marker");
        });

        $crate::new_user_tests!(@test $how a_persistent_session_gets_the_qos1_messages_published_while_it_was_offline {
            let broker = broker(MosquittoConfig::default());
            for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
                let id = format!("nu-offline-{version:?}");
                let topic = format!("nu/offline/{version:?}");
                let persistent = || {
                    options(&broker, &id)
                        .version(version)
                        .clean_start(false)
                        .session_expiry(300)
                };
                // A first connection that asks the broker to keep its session (3.1.1: Clean Session 0; 5.0: a Session
                // Expiry Interval).
                let first = connect(match version {
                    ProtocolVersion::V311 => persistent(),
                    _ => options(&broker, &id).version(version).session_expiry(300),
                })
                .await;
                let subscription = within("subscribe", first.subscribe(&topic, QoS::AtLeastOnce))
                    .await
                    .unwrap();
                drop(subscription);
                within("disconnect", first.disconnect(WAIT)).await.unwrap();

                let publisher = connect(options(&broker, &format!("{id}-pub"))).await;
                for i in 0..5 {
                    publish_acked(&publisher, &topic, &format!("{i}")).await;
                }

                // The usual order: connect, then subscribe again. Nothing is lost.
                let again = connect(persistent()).await;
                let mut messages = within("subscribe", again.subscribe(&topic, QoS::AtLeastOnce))
                    .await
                    .unwrap();
                for i in 0..5 {
                    assert_eq!(
                        next(&mut messages).await.payload,
                        format!("{i}"),
                        "{version:?}"
                    );
                }
                publish_acked(&publisher, &topic, "live").await;
                assert_eq!(
                    next(&mut messages).await.payload,
                    "live",
                    "{version:?}: no duplicate"
                );
                within("disconnect", again.disconnect(WAIT)).await.unwrap();
            }
        });

        $crate::new_user_tests!(@test $how clean_start_false_alone_keeps_the_session_on_both_protocol_versions {
            // paho's habit: clean_session=False and nothing else. On 5.0 the Session Expiry Interval was 0, so
            // mosquitto dropped the session when the connection ended, and the messages published meanwhile with it,
            // while the same options kept them on 3.1.1.
            let broker = broker(MosquittoConfig::default());
            for version in [None, Some(ProtocolVersion::V311)] {
                let id = format!("nu-clean-{version:?}");
                let topic = format!("nu/clean/{version:?}");
                let persistent = || {
                    let options = options(&broker, &id).clean_start(false);
                    match version {
                        Some(version) => options.version(version),
                        None => options,
                    }
                };
                let first = connect(persistent()).await;
                drop(within("subscribe", first.subscribe(&topic, QoS::AtLeastOnce)).await.unwrap());
                within("disconnect", first.disconnect(WAIT)).await.unwrap();

                let publisher = connect(options(&broker, &format!("{id}-pub"))).await;
                for i in 0..3 {
                    publish_acked(&publisher, &topic, &format!("{i}")).await;
                }

                let again = connect(persistent()).await;
                let mut messages = within("subscribe", again.subscribe(&topic, QoS::AtLeastOnce))
                    .await
                    .unwrap();
                for i in 0..3 {
                    assert_eq!(
                        next(&mut messages).await.payload,
                        format!("{i}"),
                        "{version:?}"
                    );
                }
                within("disconnect", again.disconnect(WAIT)).await.unwrap();
                within("disconnect", publisher.disconnect(WAIT)).await.unwrap();
            }
        });

        $crate::new_user_tests!(@test $how options_from_a_url_with_credentials_connect_and_a_wrong_password_is_refused {
            const PASSWORD: &str = "p@ss:w/rd";
            let broker = broker(MosquittoConfig::default().with_users([("alice", PASSWORD)]));
            let port = broker.password_port().unwrap();
            let url = format!("mqtt://alice:p%40ss%3Aw%2Frd@127.0.0.1:{port}");
            let options = Options::new(&url).unwrap().client_id("nu-url");
            assert!(
                !format!("{options:?}").contains("w/rd"),
                "the password never shows"
            );
            let client = connect(options).await;
            publish_acked(&client, "nu/url", "in").await;
            within("disconnect", client.disconnect(WAIT)).await.unwrap();

            let wrong = Options::new(&format!("mqtt://alice:wrong@127.0.0.1:{port}"))
                .unwrap()
                .client_id("nu-url-wrong");
            let result = within("a refused connect", $client::connect(wrong)).await;
            assert!(
                matches!(
                    result,
                    Err(Error::Refused(
                        ConnectRefusal::BadUserNameOrPassword | ConnectRefusal::NotAuthorized
                    ))
                ),
                "{result:?}"
            );
        });

        $crate::new_user_tests!(@test $how qos2_is_exactly_once_while_both_ends_reconnect {
            const COUNT: usize = 60;
            let broker = broker(MosquittoConfig::default());
            let persistent = |id: &str| options(&broker, id).clean_start(false).session_expiry(300);
            let subscriber = connect(persistent("nu-qos2-sub")).await;
            let mut messages = within(
                "subscribe",
                subscriber.subscribe("nu/qos2", QoS::ExactlyOnce),
            )
            .await
            .unwrap();
            let publisher = connect(persistent("nu-qos2-pub")).await;
            let mut deliveries = Vec::new();
            for i in 0..COUNT {
                deliveries.push(
                    publisher
                        .publish("nu/qos2", format!("{i}"), QoS::ExactlyOnce, false)
                        .await
                        .unwrap(),
                );
                if i % 10 == 5 {
                    publisher.reconnect().unwrap();
                    subscriber.reconnect().unwrap();
                }
            }
            for delivery in deliveries {
                within("PUBCOMP", delivery.wait()).await.unwrap();
            }
            let mut seen = BTreeSet::new();
            for _ in 0..COUNT {
                let payload = next(&mut messages).await.payload;
                assert!(seen.insert(payload.clone()), "{payload:?} arrived twice");
            }
            let end = publisher
                .publish("nu/qos2", "end", QoS::ExactlyOnce, false)
                .await
                .unwrap();
            within("PUBCOMP", end.wait()).await.unwrap();
            assert_eq!(
                next(&mut messages).await.payload,
                "end",
                "no duplicate before the end"
            );
        });

        $crate::new_user_tests!(@test $how with_the_broker_down_waits_time_out_and_disconnect_returns_in_time {
            let mut broker = broker(MosquittoConfig::default());
            let client = connect(options(&broker, "nu-down")).await;
            broker.kill();
            let queued = client
                .publish("nu/down", "queued", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            let waited = client
                .publish("nu/down", "waited", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            assert_eq!(
                within(
                    "a short wait",
                    waited.wait_timeout(Duration::from_millis(200))
                )
                .await,
                Err(Error::Timeout)
            );
            broker.restart().unwrap();
            within("the queued message's PUBACK", queued.wait())
                .await
                .unwrap();
            broker.kill();
            let stuck = client
                .publish("nu/down", "stuck", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            let result = within("disconnect", client.disconnect(Duration::from_millis(500))).await;
            assert!(
                matches!(result, Err(Error::Unacknowledged(n)) if n >= 1),
                "{result:?}"
            );
            assert_eq!(
                within("the stuck delivery", stuck.wait()).await,
                Err(Error::Closed)
            );
        });

        $crate::new_user_message_tests!($client, $how, $task);
        $crate::new_user_reconnect_tests!($client, $how, $timeout, $task);
    };
}
