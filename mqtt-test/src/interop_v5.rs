//! [`interop_v5_tests!`](crate::interop_v5_tests): the MQTT 5.0 tests of the async std bindings, against a real
//! mosquitto where it implements the feature (every PUBLISH property between two clients, No Local, Retain
//! Handling 0/1/2, Retain As Published, a will with a delay, outgoing topic aliases with more topics than
//! aliases, message expiry, unsubscribe codes, what CONNACK announced, request/response) and against the
//! [`FakeBrokerServer`](crate::FakeBrokerServer) where it does not (enhanced authentication and
//! re-authentication with messages in flight, redirection by CONNACK and by DISCONNECT, reason strings of every
//! packet, a CONNACK that lowers Maximum QoS). mqtt-blocking runs the same list written for threads in its own
//! `tests/mqtt5.rs`.
//!
//! The expansion needs the same things as [`interop_tests!`](crate::interop_tests) (`futures`, and a `timeout`
//! function of the runtime); it brings its own helper names (`V5_WAIT`, `v5_broker`, `v5_options`, `v5_within`,
//! `v5_pause`, `v5_nothing_within`, `v5_fake`, `v5_broker_sees`), which the calling module must not define.

/// Expands to the MQTT 5.0 tests for one async binding, as `#[test]` functions in the calling module.
///
/// ```ignore
/// // mqtt-tokio/tests/mqtt5.rs
/// mqtt_test::interop_v5_tests!(client = mqtt_tokio, test = #[tokio::test], timeout = tokio::time::timeout);
/// ```
#[macro_export]
macro_rules! interop_v5_tests {
    (client = $client:ident, test = #[$test:meta], timeout = $timeout:path $(,)?) => {
        $crate::interop_v5_tests!(@all $client, [attribute $test], $timeout);
    };
    (client = $client:ident, block_on = $block_on:path, timeout = $timeout:path $(,)?) => {
        $crate::interop_v5_tests!(@all $client, [block_on $block_on], $timeout);
    };

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

    (@all $client:ident, $how:tt, $timeout:path) => {
        use ::core::time::Duration;

        use ::futures::StreamExt as _;
        use $crate::{BrokerAuth, BrokerConfig, FakeBrokerServer, HmacAuthenticator, Mosquitto, MosquittoConfig};
        use $client::{
            ConnectionState, DisconnectOptions, Disconnection, Error, Filter, LastWill, Message, Options,
            ProtocolVersion, PublishError, QoS, ReasonCode, RetainHandling, SubscribeRequest, UnsubscribeRequest,
        };

        const V5_WAIT: Duration = Duration::from_secs(10);
        const V5_KEY: &[u8] = b"the key both sides hold";

        fn v5_broker(config: MosquittoConfig) -> Mosquitto {
            Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
        }

        fn v5_options(url: &str, id: &str) -> Options {
            Options::new(url)
                .unwrap()
                .client_id(format!("{id}-{}", stringify!($client)))
                .version(ProtocolVersion::V5)
                .connect_timeout(V5_WAIT)
        }

        async fn v5_within<T>(what: &str, future: impl ::core::future::Future<Output = T>) -> T {
            $timeout(V5_WAIT, future)
                .await
                .unwrap_or_else(|_| panic!("timed out: {what}"))
        }

        /// Lets `duration` of real time pass (for what the broker does with time: expiry, will delay).
        async fn v5_pause(duration: Duration) {
            let _ = $timeout(duration, ::futures::future::pending::<()>()).await;
        }

        /// `future` must not complete within `duration`.
        async fn v5_nothing_within<T: ::core::fmt::Debug>(
            what: &str,
            duration: Duration,
            future: impl ::core::future::Future<Output = T>,
        ) {
            if let Ok(output) = $timeout(duration, future).await {
                panic!("{what}: {output:?}");
            }
        }

        // ----- against mosquitto -----

        $crate::interop_v5_tests!(@test $how every_publish_property_makes_the_round_trip_between_two_clients {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let subscriber = v5_within("connect", $client::connect(v5_options(&url, "props-sub"))).await.unwrap();
            let request = SubscribeRequest::new()
                .filter(("v5/props/#", QoS::ExactlyOnce))
                .subscription_id(77)
                .user_property("on", "subscribe");
            let mut stream = v5_within("subscribe", subscriber.subscribe_with(request)).await.unwrap();
            let publisher = v5_within("connect", $client::connect(v5_options(&url, "props-pub"))).await.unwrap();
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let sent = Message::new(format!("v5/props/{qos:?}"), "héllo")
                    .qos(qos)
                    .payload_format_indicator(true)
                    .message_expiry_interval(300)
                    .content_type("text/plain; charset=utf-8")
                    .response_topic("v5/answers/props")
                    .correlation_data(&b"\x00\x01corr"[..])
                    .user_property("k", "first")
                    .user_property("k", "second")
                    .user_property("other", "x");
                let delivery = publisher.publish_message(sent.clone()).await.unwrap();
                v5_within("acknowledgement", delivery.wait()).await.unwrap();
                let got = v5_within("the message", stream.recv()).await.expect("a message");
                assert_eq!((got.topic.as_str(), &got.payload[..], got.qos), (sent.topic.as_str(), &sent.payload[..], qos));
                assert_eq!(got.payload_format_indicator, Some(true));
                assert_eq!(got.content_type, sent.content_type);
                assert_eq!(got.response_topic, sent.response_topic);
                assert_eq!(got.correlation_data, sent.correlation_data);
                assert_eq!(got.user_properties, sent.user_properties, "all of them, in order");
                assert_eq!(got.subscription_identifiers, [77]);
                let left = got.message_expiry_interval.expect("the broker passes on what is left of the expiry");
                assert!((290..=300).contains(&left), "{left}");
            }
            publisher.disconnect(V5_WAIT).await.unwrap();
            subscriber.disconnect(V5_WAIT).await.unwrap();
        });

        $crate::interop_v5_tests!(@test $how no_local_keeps_a_clients_own_messages_from_it {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let own = v5_within("connect", $client::connect(v5_options(&url, "nolocal-own"))).await.unwrap();
            let other = v5_within("connect", $client::connect(v5_options(&url, "nolocal-other"))).await.unwrap();
            let mut stream = own
                .subscribe_with(SubscribeRequest::new().filter(Filter::new("v5/nolocal", QoS::AtLeastOnce).no_local(true)))
                .await
                .unwrap();
            let mut watching = other.subscribe("v5/nolocal", QoS::AtLeastOnce).await.unwrap();
            own.publish("v5/nolocal", "own", QoS::AtLeastOnce, false).await.unwrap().wait().await.unwrap();
            // The other client got it: the broker had it before the next one.
            assert_eq!(&v5_within("other gets it", watching.recv()).await.unwrap().payload[..], b"own");
            other.publish("v5/nolocal", "from the other", QoS::AtLeastOnce, false).await.unwrap().wait().await.unwrap();
            let first = v5_within("a message", stream.recv()).await.unwrap();
            assert_eq!(&first.payload[..], b"from the other", "its own message came back");
        });

        $crate::interop_v5_tests!(@test $how retain_handling_0_1_2_decides_when_retained_messages_come {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let publisher = v5_within("connect", $client::connect(v5_options(&url, "rh-pub"))).await.unwrap();
            publisher.publish("v5/rh", "retained", QoS::AtLeastOnce, true).await.unwrap().wait().await.unwrap();
            // After each SUBSCRIBE two live markers follow: whether the retained message came before the second
            // one says whether it came at all (the broker queues it at the SUBSCRIBE; its order against a live
            // message from another client is the broker's to choose).
            let mut marker = 0;
            for (handling, expected) in [
                (RetainHandling::SendAtSubscribe, [true, true]),
                (RetainHandling::SendAtSubscribeIfNew, [true, false]),
                (RetainHandling::DoNotSend, [false, false]),
            ] {
                let client = v5_within("connect", $client::connect(v5_options(&url, &format!("rh-{handling:?}")))).await.unwrap();
                for (round, expected) in expected.into_iter().enumerate() {
                    let filter = Filter::new("v5/rh", QoS::AtLeastOnce).retain_handling(handling);
                    let mut stream = client.subscribe_with(SubscribeRequest::new().filter(filter)).await.unwrap();
                    let mut retained = false;
                    for _ in 0..2 {
                        marker += 1;
                        let live = format!("marker {marker}");
                        publisher.publish("v5/rh", live.clone(), QoS::AtLeastOnce, false)
                            .await.unwrap().wait().await.unwrap();
                        loop {
                            let message = v5_within("a message", stream.recv()).await.unwrap();
                            if message.payload[..] == *live.as_bytes() {
                                break;
                            }
                            assert_eq!(&message.payload[..], b"retained", "{handling:?}: {message:?}");
                            retained = true;
                        }
                    }
                    assert_eq!(retained, expected, "{handling:?}, subscribe #{}", round + 1);
                }
                client.disconnect(V5_WAIT).await.unwrap();
            }
        });

        $crate::interop_v5_tests!(@test $how retain_as_published_keeps_the_retain_flag_of_live_messages {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let keeping = v5_within("connect", $client::connect(v5_options(&url, "rap-keep"))).await.unwrap();
            let clearing = v5_within("connect", $client::connect(v5_options(&url, "rap-clear"))).await.unwrap();
            let filter = |rap| SubscribeRequest::new()
                .filter(Filter::new("v5/rap", QoS::AtLeastOnce).retain_as_published(rap).retain_handling(RetainHandling::DoNotSend));
            let mut kept = keeping.subscribe_with(filter(true)).await.unwrap();
            let mut cleared = clearing.subscribe_with(filter(false)).await.unwrap();
            keeping.publish("v5/rap", "live and retained", QoS::AtLeastOnce, true).await.unwrap().wait().await.unwrap();
            assert!(v5_within("kept", kept.recv()).await.unwrap().retain);
            assert!(!v5_within("cleared", cleared.recv()).await.unwrap().retain);
        });

        $crate::interop_v5_tests!(@test $how a_will_with_a_delay_waits_and_is_cancelled_by_a_reconnect_in_time {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let watcher = v5_within("connect", $client::connect(v5_options(&url, "will-watch"))).await.unwrap();
            let mut wills = watcher.subscribe("v5/will/#", QoS::AtLeastOnce).await.unwrap();
            for comes_back in [true, false] {
                let will = LastWill::new(format!("v5/will/{comes_back}"), "gone")
                    .qos(QoS::AtLeastOnce)
                    .delay_interval(3)
                    .content_type("text/plain");
                let options = v5_options(&url, &format!("will-{comes_back}"))
                    .clean_start(false)
                    .session_expiry(60)
                    .last_will(will);
                // The connection ends without DISCONNECT: the event loop is dropped.
                let (client, event_loop) = $client::new(&options).unwrap();
                let running = ::std::boxed::Box::pin(event_loop.run());
                let connected = ::std::boxed::Box::pin(client.wait_connected(V5_WAIT));
                match ::futures::future::select(running, connected).await {
                    ::futures::future::Either::Right((outcome, running)) => {
                        outcome.unwrap();
                        drop(running);
                    }
                    ::futures::future::Either::Left(_) => panic!("the event loop ended"),
                }
                drop(client);
                // Not at once: the delay runs.
                v5_nothing_within("a will before its delay", Duration::from_secs(1), wills.next()).await;
                if comes_back {
                    // Back within the delay, on the same session: no will at all.
                    let again = v5_within("reconnect", $client::connect(options.clone())).await.unwrap();
                    v5_nothing_within("a will after a reconnect in time", Duration::from_secs(4), wills.next()).await;
                    again.disconnect(V5_WAIT).await.unwrap();
                } else {
                    let will = v5_within("the will, after its delay", wills.recv()).await.unwrap();
                    assert_eq!((will.topic.as_str(), &will.payload[..]), ("v5/will/false", &b"gone"[..]));
                    assert_eq!(will.content_type.as_deref(), Some("text/plain"));
                }
            }
        });

        $crate::interop_v5_tests!(@test $how outgoing_topic_aliases_serve_more_topics_than_aliases {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let subscriber = v5_within("connect", $client::connect(v5_options(&url, "alias-sub"))).await.unwrap();
            let mut stream = subscriber.subscribe("v5/alias/#", QoS::AtLeastOnce).await.unwrap();
            let long = "a-topic-level-long-enough-that-an-alias-saves-bytes".repeat(2);
            let mut bytes = Vec::new();
            for aliases in [0u16, 3] {
                let id = format!("alias-pub-{aliases}");
                let publisher = v5_within("connect", $client::connect(v5_options(&url, &id).topic_aliases(0, aliases)))
                    .await.unwrap();
                if aliases > 0 {
                    assert_eq!(publisher.server_info().unwrap().topic_alias_maximum, 10, "mosquitto's default");
                }
                let before = publisher.stats().bytes_sent;
                // Eight topics over three aliases: each topic five times in a row, then the next (aliases are
                // replaced, least recently used first), and once more in a round that misses every time.
                let mut sent = Vec::new();
                for round in 0..2 {
                    for t in 0..8 {
                        let repeats = if round == 0 { 5 } else { 1 };
                        for r in 0..repeats {
                            let topic = format!("v5/alias/{t}/{long}");
                            let payload = format!("{aliases}:{round}:{t}:{r}");
                            publisher.publish(topic.clone(), payload.clone(), QoS::AtLeastOnce, false)
                                .await.unwrap().wait().await.unwrap();
                            sent.push((topic, payload));
                        }
                    }
                }
                bytes.push(publisher.stats().bytes_sent - before);
                for (topic, payload) in sent {
                    let got = v5_within("a message", stream.recv()).await.unwrap();
                    assert_eq!((got.topic.as_str(), &got.payload[..]), (topic.as_str(), payload.as_bytes()));
                }
                publisher.disconnect(V5_WAIT).await.unwrap();
            }
            assert!(bytes[1] < bytes[0], "aliases saved nothing: {bytes:?}");
        });

        $crate::interop_v5_tests!(@test $how an_expired_queued_message_is_not_delivered {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let options = v5_options(&url, "expiry-sub").clean_start(false).session_expiry(300);
            let subscriber = v5_within("connect", $client::connect(options.clone())).await.unwrap();
            let subscription = subscriber.subscribe("v5/expiry", QoS::AtLeastOnce).await.unwrap();
            drop(subscription);
            subscriber.disconnect(V5_WAIT).await.unwrap();
            let publisher = v5_within("connect", $client::connect(v5_options(&url, "expiry-pub"))).await.unwrap();
            for message in [
                Message::new("v5/expiry", "expires").qos(QoS::AtLeastOnce).message_expiry_interval(1),
                Message::new("v5/expiry", "stays").qos(QoS::AtLeastOnce).message_expiry_interval(600),
            ] {
                publisher.publish_message(message).await.unwrap().wait().await.unwrap();
            }
            v5_pause(Duration::from_millis(2500)).await;
            let subscriber = v5_within("reconnect", $client::connect(options)).await.unwrap();
            let mut queued = subscriber.messages();
            let first = v5_within("the queued message", queued.next()).await.unwrap();
            assert_eq!(&first.payload[..], b"stays", "the expired message was delivered");
            assert!(first.message_expiry_interval.is_some_and(|left| left <= 598));
        });

        $crate::interop_v5_tests!(@test $how unsubscribe_reports_a_code_per_filter {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let client = v5_within("connect", $client::connect(v5_options(&url, "unsub").user_property("app", "tests")))
                .await.unwrap();
            let _subscription = client.subscribe("v5/unsub/a", QoS::AtMostOnce).await.unwrap();
            let codes = client
                .unsubscribe_with(UnsubscribeRequest::new(["v5/unsub/a", "v5/unsub/never"]).user_property("k", "v"))
                .await
                .unwrap();
            assert_eq!(codes, [ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]);
        });

        $crate::interop_v5_tests!(@test $how server_info_says_what_mosquitto_announced {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let client = v5_within("connect", $client::connect(v5_options(&url, "").client_id("")))
                .await.unwrap();
            let info = client.server_info().unwrap();
            assert!(info.assigned_client_id.as_deref().is_some_and(|id| id.starts_with("auto-")), "{info:?}");
            assert_eq!(info.maximum_qos, QoS::ExactlyOnce);
            assert_eq!(info.topic_alias_maximum, 10);
            assert!(info.retain_available && info.wildcard_subscription_available);
            assert!(info.subscription_identifiers_available && info.shared_subscription_available);
            assert!(!info.session_present);
            client.disconnect(V5_WAIT).await.unwrap();
        });

        $crate::interop_v5_tests!(@test $how concurrent_requests_each_get_their_own_response {
            let broker = v5_broker(MosquittoConfig::default());
            let url = broker.url($crate::Listener::Plain);
            let responder = v5_within("connect", $client::connect(v5_options(&url, "responder"))).await.unwrap();
            let requester = v5_within("connect", $client::connect(v5_options(&url, "requester"))).await.unwrap();
            // The responder's subscription is in place before the first request.
            let service = v5_within("responder", responder.responder("v5/service/+", QoS::AtLeastOnce)).await.unwrap();
            let serving = ::std::boxed::Box::pin(service.serve(|request| {
                let mut answer = b"answer to ".to_vec();
                answer.extend_from_slice(&request.payload);
                Some(answer.into())
            }));
            let ready = ::std::boxed::Box::pin(async {
                let requests = (0..50).map(|i| {
                    let requester = &requester;
                    async move {
                        let answer = requester
                            .request(format!("v5/service/{}", i % 3), format!("question {i}"), V5_WAIT)
                            .await
                            .unwrap();
                        assert_eq!(answer.payload, format!("answer to question {i}").as_bytes());
                    }
                });
                ::futures::future::join_all(requests).await;
            });
            match ::futures::future::select(serving, ready).await {
                ::futures::future::Either::Right(_) => {}
                ::futures::future::Either::Left((outcome, _)) => panic!("the responder ended: {outcome:?}"),
            }
        });

        // ----- against the fake broker -----

        fn v5_fake(config: BrokerConfig) -> FakeBrokerServer {
            FakeBrokerServer::start(config).expect("a fake broker")
        }

        /// Waits until the fake broker satisfies `done`, looking every 5 ms without blocking the runtime (the
        /// client's event loop may run on this thread); whether it did within the time limit.
        async fn v5_broker_sees(server: &FakeBrokerServer, done: impl Fn(&$crate::FakeBroker) -> bool) -> bool {
            for _ in 0..(V5_WAIT.as_millis() / 5) {
                if done(&server.broker()) {
                    return true;
                }
                v5_pause(Duration::from_millis(5)).await;
            }
            false
        }

        $crate::interop_v5_tests!(@test $how enhanced_authentication_and_reauthentication_with_messages_in_flight {
            let server = v5_fake(BrokerConfig { auth: Some(BrokerAuth::hmac(V5_KEY)), ..BrokerConfig::default() });
            let authenticator = HmacAuthenticator::new(V5_KEY);
            let options = v5_options(&server.url(), "auth").authenticator(authenticator.clone());
            let client = v5_within("connect", $client::connect(options)).await.unwrap();
            assert_eq!(server.broker().authentications(), (1, 0));
            let mut deliveries = Vec::new();
            for i in 0..40 {
                deliveries.push(client.publish(format!("auth/{i}"), "x", QoS::AtLeastOnce, false).await.unwrap());
                if i == 20 {
                    // Re-authentication starts while the first messages are still in flight.
                    let reauthenticated = client.reauthenticate();
                    deliveries.push(client.publish("auth/during", "x", QoS::ExactlyOnce, false).await.unwrap());
                    v5_within("re-authentication", reauthenticated).await.unwrap();
                }
            }
            for delivery in deliveries {
                v5_within("acknowledgement", delivery.wait()).await.unwrap();
            }
            assert_eq!(server.broker().authentications(), (1, 1));
            assert_eq!(authenticator.succeeded(), 2);
            assert!(client.is_connected());
            assert!(server.broker().violations().is_empty(), "{:?}", server.broker().violations());
        });

        $crate::interop_v5_tests!(@test $how a_server_that_cannot_prove_itself_is_refused {
            let auth = BrokerAuth { tamper_proof: true, ..BrokerAuth::hmac(V5_KEY) };
            let server = v5_fake(BrokerConfig { auth: Some(auth), ..BrokerConfig::default() });
            let options = v5_options(&server.url(), "auth-refused").authenticator(HmacAuthenticator::new(V5_KEY));
            let refused = v5_within("connect", $client::connect(options)).await;
            let expected = Disconnection::Protocol(::proto::ProtocolError::AuthenticationFailed(
                $client::AuthError::Rejected,
            ));
            assert!(matches!(&refused, Err(Error::ConnectionFailed(reason)) if *reason == expected), "{refused:?}");
            assert!(v5_broker_sees(&server, |b| {
                b.packets($crate::Direction::ClientToBroker, ::proto::codec::PacketType::Disconnect)
                    .first()
                    .is_some_and(|p| p.reason == Some(ReasonCode::NOT_AUTHORIZED))
            }).await);
            assert!(matches!(
                v5_within("connect", $client::connect(v5_options(&server.url(), "no-auth"))).await,
                Err(Error::Refused(_))
            ), "a broker that requires AUTH refuses a client without it");
        });

        $crate::interop_v5_tests!(@test $how a_connack_redirection_moves_the_client_to_the_referenced_server {
            let target = v5_fake(BrokerConfig::default());
            let first = v5_fake(BrokerConfig {
                redirect: Some((ReasonCode::USE_ANOTHER_SERVER, target.address())),
                ..BrokerConfig::default()
            });
            let (client, event_loop) = $client::new(&v5_options(&first.url(), "redirect")).unwrap();
            let mut states = client.states();
            let running = ::std::boxed::Box::pin(event_loop.run());
            let watched = ::std::boxed::Box::pin(async {
                let mut seen = Vec::new();
                while let Some(state) = v5_within("a state", states.next()).await {
                    let connected = matches!(state, ConnectionState::Connected { .. });
                    seen.push(state);
                    if connected {
                        return seen;
                    }
                }
                panic!("no connection: {seen:?}");
            });
            let seen = match ::futures::future::select(running, watched).await {
                ::futures::future::Either::Right((seen, _running)) => seen,
                ::futures::future::Either::Left(_) => panic!("the event loop ended"),
            };
            assert!(seen.contains(&ConnectionState::Redirected { to: target.url(), permanent: false }), "{seen:?}");
            assert!(matches!(seen.last(), Some(ConnectionState::Connected { broker, .. }) if *broker == target.url()), "{seen:?}");
            assert_eq!(target.broker().connections().len(), 1);
        });

        $crate::interop_v5_tests!(@test $how server_moved_in_a_disconnect_moves_the_client {
            let target = v5_fake(BrokerConfig::default());
            let first = v5_fake(BrokerConfig::default());
            let client = v5_within("connect", $client::connect(v5_options(&first.url(), "moved"))).await.unwrap();
            let mut states = client.states();
            let _current = v5_within("the current state", states.next()).await;
            first.broker().send_disconnect_with(ReasonCode::SERVER_MOVED, Some("moving house"), Some(&target.address()));
            let mut seen = Vec::new();
            loop {
                let state = v5_within("a state", states.next()).await.unwrap();
                seen.push(state.clone());
                if matches!(state, ConnectionState::Connected { .. }) {
                    break;
                }
            }
            assert!(matches!(&seen[0], ConnectionState::Lost(Disconnection::ServerDisconnect(ReasonCode::SERVER_MOVED))), "{seen:?}");
            assert!(seen.contains(&ConnectionState::Redirected { to: target.url(), permanent: true }), "{seen:?}");
            let reason = client.last_reason().unwrap();
            assert_eq!((reason.code, reason.reason_string.as_str()), (ReasonCode::SERVER_MOVED, "moving house"));
            assert_eq!(client.server_info().unwrap().server_reference, Some(target.address()));
            client.publish("moved/t", "x", QoS::AtLeastOnce, false).await.unwrap().wait().await.unwrap();
            assert!(v5_broker_sees(&target, |b| b.received().len() == 1).await);
        });

        $crate::interop_v5_tests!(@test $how reason_strings_of_every_packet_reach_the_application {
            let server = v5_fake(BrokerConfig { reason_strings: true, ..BrokerConfig::default() });
            let client = v5_within("connect", $client::connect(v5_options(&server.url(), "reasons"))).await.unwrap();
            let last = |packet: &str| {
                let reason = client.last_reason().expect("a reason string");
                assert_eq!(reason.reason_string, format!("fake broker: {packet}"));
                assert_eq!(reason.packet.to_string(), packet);
            };
            assert_eq!(client.server_info().unwrap().reason_string.as_deref(), Some("fake broker: CONNACK"));
            last("CONNACK");
            let _stream = client.subscribe("reasons/#", QoS::AtMostOnce).await.unwrap();
            last("SUBACK");
            client.publish("other/1", "x", QoS::AtLeastOnce, false).await.unwrap().wait().await.unwrap();
            last("PUBACK");
            client.publish("other/2", "x", QoS::ExactlyOnce, false).await.unwrap().wait().await.unwrap();
            last("PUBCOMP");
            client.unsubscribe(["reasons/#".to_owned()]).await.unwrap();
            last("UNSUBACK");
            let mut states = client.states();
            let _current = v5_within("the current state", states.next()).await;
            server.broker().send_disconnect_with(ReasonCode::ADMINISTRATIVE_ACTION, Some("maintenance"), None);
            let lost = v5_within("the loss", states.next()).await.unwrap();
            assert_eq!(lost, ConnectionState::Lost(Disconnection::ServerDisconnect(ReasonCode::ADMINISTRATIVE_ACTION)));
            let reason = client.last_reason().unwrap();
            assert_eq!(reason.reason_string, "maintenance", "the broker's DISCONNECT reason string");
        });

        $crate::interop_v5_tests!(@test $how a_connack_lowering_maximum_qos_makes_higher_publishing_a_typed_error {
            let server = v5_fake(BrokerConfig { maximum_qos: QoS::AtMostOnce, ..BrokerConfig::default() });
            let client = v5_within("connect", $client::connect(v5_options(&server.url(), "maxqos"))).await.unwrap();
            assert_eq!(client.server_info().unwrap().maximum_qos, QoS::AtMostOnce);
            for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let refused = client.publish("maxqos/t", "x", qos, false).await;
                assert!(matches!(refused, Err(Error::Publish(PublishError::QoSNotSupported { max: 0 }))), "{refused:?}");
            }
            drop(client.publish("maxqos/t", "at zero", QoS::AtMostOnce, false).await.unwrap());
            assert!(v5_broker_sees(&server, |b| !b.received().is_empty()).await, "{:?}", server.broker().log());
            let broker = server.broker();
            assert_eq!(broker.received().len(), 1, "only the QoS 0 message went out");
            assert!(broker.violations().is_empty());
        });

        $crate::interop_v5_tests!(@test $how disconnect_with_properties_reaches_the_broker {
            let server = v5_fake(BrokerConfig::default());
            let options = v5_options(&server.url(), "goodbye").session_expiry(60).last_will(LastWill::new("goodbye/will", "w"));
            let client = v5_within("connect", $client::connect(options)).await.unwrap();
            let goodbye = DisconnectOptions::new().with_will().session_expiry_interval(0).reason_string("bye");
            client.disconnect_with(goodbye, V5_WAIT).await.unwrap();
            assert!(v5_broker_sees(&server, |b| b.wills().len() == 1).await, "Disconnect with Will Message");
            assert!(!server.broker().has_session(), "the new expiry (0) ended the session");
        });
    };
}
