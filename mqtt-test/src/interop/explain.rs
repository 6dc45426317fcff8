//! Issue 13 for every std binding, with real sockets: refusals typed and at once (every 3.1.1 code and 5.0
//! reason from the [`FakeBrokerServer`](crate::FakeBrokerServer); bad credentials, an anonymous client, a rejected
//! identifier and a rejected certificate from mosquitto), an X.509 v1 client certificate accepted by mosquitto's
//! mutual TLS, `reconnect()` idempotent against mosquitto, the backoff
//! of an accept-and-drop broker and per-client jitter, secrets kept out of `Debug` and `Display`,
//! `disconnect(timeout)` that keeps its word, and a 3.1.1-only broker reached through the fall back or refused
//! plainly. Expanded by [`interop_tests!`](crate::interop_tests) after its own tests, in the same module, so the
//! list's helpers (`broker`, `options`, `within`, `WAIT`, `listener_options`) are in scope.

/// The tests of this module, for [`interop_tests!`](crate::interop_tests); not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! interop_explain_tests {
    ($client:ident, $how:tt, $timeout:path) => {
        /// A connect timeout no test reaches: an outcome within the list's `WAIT` is an outcome at once.
        const PATIENT: Duration = Duration::from_secs(3600);

        fn fake(config: $crate::BrokerConfig) -> $crate::FakeBrokerServer {
            $crate::FakeBrokerServer::start(config).unwrap_or_else(|e| panic!("fake broker: {e}"))
        }

        fn refusing(code: u8) -> $crate::FakeBrokerServer {
            fake($crate::BrokerConfig {
                refuse_connect: Some($client::ReasonCode(code)),
                ..$crate::BrokerConfig::default()
            })
        }

        /// Options for `url` that only the first round's outcome ends (an hour of connect timeout).
        fn patient(url: &str, id: &str) -> Options {
            Options::new(url)
                .unwrap()
                .client_id(format!("{id}-{}", stringify!($client)))
                .connect_timeout(PATIENT)
        }

        /// A reconnect schedule fast enough for real time: 20, 40, 80, 160 ms, then 320 ms.
        fn quick_schedule() -> ReconnectPolicy {
            ReconnectPolicy {
                initial_delay: Duration::from_millis(20),
                max_backoff: Duration::from_millis(160),
                steady_delay: Duration::from_millis(320),
                ..ReconnectPolicy::default()
            }
        }

        /// The first `count` reconnect delays a client of `options` draws (its event loop runs in this task
        /// meanwhile and is dropped then).
        async fn drawn_delays(options: Options, count: usize) -> Vec<Duration> {
            let (client, event_loop) = $client::new(&options).unwrap();
            let mut states = client.states();
            let delays = async {
                let mut delays = Vec::new();
                while delays.len() < count {
                    if let Some(ConnectionState::Reconnecting { delay, .. }) =
                        within("the next state", states.next()).await
                    {
                        delays.push(delay);
                    }
                }
                delays
            };
            let running = ::std::boxed::Box::pin(event_loop.run());
            match ::futures::future::select(running, ::std::boxed::Box::pin(delays)).await {
                ::futures::future::Either::Right((delays, running)) => {
                    drop(running);
                    delays
                }
                ::futures::future::Either::Left(((), _)) => panic!("the event loop ended"),
            }
        }

        // ----- 13.1: refusals are typed and immediate -----

        $crate::interop_tests!(@test $how every_3_1_1_return_code_reaches_connect_as_itself_at_once {
            // [MQTT-3.2.2-5]: return codes 1 to 5, each with its meaning.
            for (code, refusal) in [
                (1, ConnectRefusal::UnsupportedProtocolVersion),
                (2, ConnectRefusal::IdentifierRejected),
                (3, ConnectRefusal::ServerUnavailable),
                (4, ConnectRefusal::BadUserNameOrPassword),
                (5, ConnectRefusal::NotAuthorized),
            ] {
                let broker = refusing(code);
                let options = patient(&broker.url(), "v311-code").version(ProtocolVersion::V311);
                let outcome = within("the refusal", $client::connect(options)).await;
                assert_eq!(outcome.err(), Some(Error::Refused(refusal)), "code {code}");
            }
        });

        $crate::interop_tests!(@test $how every_5_0_refusal_reason_reaches_connect_as_itself_at_once {
            let named = |code: u8| match code {
                0x84 => ConnectRefusal::UnsupportedProtocolVersion,
                0x85 => ConnectRefusal::IdentifierRejected,
                0x86 => ConnectRefusal::BadUserNameOrPassword,
                0x87 => ConnectRefusal::NotAuthorized,
                0x88 => ConnectRefusal::ServerUnavailable,
                other => ConnectRefusal::Other($client::ReasonCode(other)),
            };
            // Every CONNACK reason code of 0x80 and above (§3.2.2.2).
            for code in [
                0x80u8, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95,
                0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
            ] {
                let broker = refusing(code);
                let options = patient(&broker.url(), "v5-code").version(ProtocolVersion::V5);
                let outcome = within("the refusal", $client::connect(options)).await;
                assert_eq!(
                    outcome.err(),
                    Some(Error::Refused(named(code))),
                    "code {code:#04x}"
                );
            }
        });

        $crate::interop_tests!(@test $how mosquitto_refusals_reach_connect_as_themselves_at_once {
            let broker = broker(MosquittoConfig::default().with_users([("alice", "right")]));
            let url = broker.url(Listener::Password);
            for version in VERSIONS {
                // mosquitto 2 answers a wrong password, and a client without one, "not authorised".
                let wrong = patient(&url, "wrong-password")
                    .version(version)
                    .credentials("alice", "wrong");
                let anonymous = patient(&url, "anonymous").version(version);
                for (what, options) in [("wrong password", wrong), ("anonymous", anonymous)] {
                    let outcome = within(what, $client::connect(options)).await;
                    assert_eq!(
                        outcome.err(),
                        Some(Error::Refused(ConnectRefusal::NotAuthorized)),
                        "{version} {what}"
                    );
                }
            }
            // 3.1.1: an empty client identifier needs a clean session [MQTT-3.1.3-7]: refused when the client is
            // made, before a CONNECT mosquitto would reject (Identifier rejected, [MQTT-3.1.3-8]).
            let plain = broker.url(Listener::Plain);
            let options = patient(&plain, "")
                .client_id("")
                .clean_start(false)
                .version(ProtocolVersion::V311);
            let outcome = within("identifier rejected", $client::connect(options)).await;
            assert_eq!(
                outcome.err(),
                Some(Error::Config($client::ConfigError::EmptyClientIdWithoutCleanStart))
            );
        });

        $crate::interop_tests!(@test $how a_rejected_server_certificate_reaches_connect_at_once {
            let broker = broker(MosquittoConfig::default().with_tls());
            let other = self::broker(MosquittoConfig::default().with_tls());
            let options = patient(&broker.url(Listener::Tls), "wrong-ca").ca_pem(other.ca_pem().unwrap());
            match within("the certificate check", $client::connect(options)).await {
                Err(Error::Tls(TlsError::Certificate(_))) => {}
                other => panic!("expected the certificate refused at once, got {other:?}"),
            }
        });

        // ----- 13.7: X.509 v1 client certificates -----

        $crate::interop_tests!(@test $how an_x509_v1_client_certificate_is_accepted_by_mosquittos_mutual_tls {
            // As `openssl x509 -req` makes it without extensions; webpki cannot parse it, the client takes it all
            // the same and mosquitto (OpenSSL) checks it.
            let v1 = $crate::mosquitto::X509V1Client::generate().unwrap_or_else(|e| panic!("{e}"));
            let broker = broker(MosquittoConfig::default().with_client_ca(v1.ca.clone()));
            let options = listener_options(&broker, Listener::Mtls, "x509-v1")
                .client_auth_pem(v1.cert.clone(), v1.key.clone());
            round_trip(options, "transports/x509-v1").await;
        });

        // ----- 13.2: reconnect() is idempotent -----

        $crate::interop_tests!(@test $how reconnect_twice_in_a_row_ends_connected_against_mosquitto {
            let broker = broker(MosquittoConfig::default());
            for version in VERSIONS {
                let options = options(&broker, version, "reconnect-twice")
                    .reconnect(ReconnectPolicy::manual())
                    .connect_timeout(WAIT);
                let client = within("connect", $client::connect(options)).await.unwrap();
                let mut states = client.states();
                // The current state first.
                let first = within("the current state", states.next()).await;
                assert!(matches!(first, Some(ConnectionState::Connected { .. })), "{first:?}");
                client.reconnect().unwrap();
                client.reconnect().unwrap();
                loop {
                    match within("connected again", states.next()).await {
                        Some(ConnectionState::Connected { .. }) => break,
                        Some(ConnectionState::GaveUp(reason)) => {
                            panic!("{version}: gave up after two reconnects: {reason}")
                        }
                        Some(_) => {}
                        None => panic!("{version}: the states ended"),
                    }
                }
                // The connection works.
                let delivery = client
                    .publish("explain/twice", "x", QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
                within("PUBACK", delivery.wait()).await.unwrap();
                assert!(client.is_connected(), "{version}");
                // Then reconnect and disconnect: the last call wins.
                client.reconnect().unwrap();
                assert_eq!(within("disconnect", client.disconnect(WAIT)).await, Ok(()), "{version}");
                assert!(!client.is_connected(), "{version}");
                assert_eq!(client.reconnect(), Err(Error::Closed), "{version}");
            }
        });

        // ----- 13.3: backoff that protects brokers -----

        $crate::interop_tests!(@test $how an_accept_and_drop_broker_is_retried_on_the_growing_schedule {
            let broker = fake($crate::BrokerConfig {
                drop_after_connack: true,
                ..$crate::BrokerConfig::default()
            });
            let options = patient(&broker.url(), "dropped")
                .reconnect(quick_schedule())
                .jitter_seed(11);
            let delays = drawn_delays(options, 6).await;
            // Never reset by a CONNACK: each connection ended long before `stable_after`.
            for (delay, base) in delays.iter().zip([20u64, 40, 80, 160, 320, 320]) {
                let base = Duration::from_millis(base);
                assert!(
                    *delay >= base.mul_f64(0.75) && *delay <= base.mul_f64(1.25),
                    "{delay:?} for {base:?}: {delays:?}"
                );
            }
            assert!(broker.broker().connections().len() >= 6);
        });

        $crate::interop_tests!(@test $how two_clients_from_default_options_draw_different_delays {
            let broker = fake($crate::BrokerConfig {
                drop_after_connack: true,
                ..$crate::BrokerConfig::default()
            });
            // As an application makes them: no seed given (the policy's own seed is not used).
            let options = || Options::new(&broker.url()).unwrap().reconnect(quick_schedule());
            let first = drawn_delays(options(), 4).await;
            let second = drawn_delays(options(), 4).await;
            assert_ne!(first, second, "a fleet would reconnect in lockstep");
        });

        // ----- 13.4: secrets never printed -----

        $crate::interop_tests!(@test $how no_password_payload_or_key_in_debug_or_display_of_anything {
            const PASSWORD: &str = "hunter2-correct-horse";
            const URL_PASSWORD: &str = "url-secret-pw";
            let broker = fake($crate::BrokerConfig::default());
            let url = broker.url().replace("mqtt://", &format!("mqtt://alice:{URL_PASSWORD}@"));
            let options = patient(&url, "secrets")
                .credentials("alice", PASSWORD)
                .will("explain/will", PASSWORD, QoS::AtLeastOnce, false);
            let clean = |what: &str, text: String| {
                assert!(!text.contains(PASSWORD), "{what}: {text}");
                assert!(!text.contains(URL_PASSWORD), "{what}: {text}");
                assert!(!text.contains("hunter2"), "{what}: {text}");
                assert!(text.len() < 4096, "{what}: {} bytes", text.len());
            };
            clean("options", format!("{options:?}"));
            clean("options", format!("{options:#?}"));
            let (unrun, event_loop) = $client::new(&options).unwrap();
            clean("client", format!("{unrun:?}"));
            clean("event loop", format!("{event_loop:?}"));
            clean("event loop", format!("{event_loop:#?}"));
            drop((unrun, event_loop));
            let client = within("connect", $client::connect(options)).await.unwrap();
            clean("client", format!("{client:?}"));
            let mut states = client.states();
            let state = within("the state", states.next()).await.unwrap();
            assert!(matches!(state, ConnectionState::Connected { .. }), "{state:?}");
            clean("state", format!("{state:?}"));
            clean("state", format!("{state}"));
            let mut inbox = client.subscribe("explain/secret", QoS::AtLeastOnce).await.unwrap();
            let delivery = client
                .publish("explain/secret", PASSWORD, QoS::AtLeastOnce, false)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
            let message = within("the message", inbox.recv()).await.unwrap();
            assert_eq!(message.payload.as_ref(), PASSWORD.as_bytes());
            clean("message", format!("{message:?}"));
            clean("message", format!("{message:#?}"));
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
            // A refusal, as error and as state.
            let refusing = refusing(4);
            let url = refusing.url().replace("mqtt://", &format!("mqtt://alice:{URL_PASSWORD}@"));
            let error = within(
                "the refusal",
                $client::connect(patient(&url, "secrets").credentials("alice", PASSWORD)),
            )
            .await
            .unwrap_err();
            clean("error", format!("{error:?}"));
            clean("error", format!("{error}"));
        });

        // ----- 13.5: disconnect(timeout) keeps its word -----

        $crate::interop_tests!(@test $how disconnect_keeps_the_callers_timeout_and_reports_the_unacknowledged {
            let broker = fake($crate::BrokerConfig::default());
            let client = within("connect", $client::connect(patient(&broker.url(), "held")))
                .await
                .unwrap();
            broker.broker().hold_acks();
            let mut deliveries = Vec::new();
            for i in 0..3 {
                deliveries.push(
                    client
                        .publish(format!("explain/held/{i}"), "x", QoS::AtLeastOnce, false)
                        .await
                        .unwrap(),
                );
            }
            // Waited for without blocking the thread (the event loop may run on it).
            within("the broker holds the three", async {
                while broker.broker().held_acks() < 3 {
                    let _ = $timeout(Duration::from_millis(5), ::futures::future::pending::<()>()).await;
                }
            })
            .await;
            // 300 ms asked; the disconnect used to take 5 s whatever the caller said.
            let outcome = $timeout(Duration::from_secs(3), client.disconnect(Duration::from_millis(300)))
                .await
                .unwrap_or_else(|_| panic!("disconnect(300 ms) still running after 3 s"));
            assert_eq!(outcome, Err(Error::Unacknowledged(3)));
            for delivery in deliveries {
                assert_eq!(
                    within("the failed delivery", delivery.wait()).await,
                    Err(Error::Closed)
                );
            }
        });

        $crate::interop_tests!(@test $how disconnect_against_mosquitto_returns_in_time_and_counts_what_failed {
            let broker = broker(MosquittoConfig::default());
            for version in VERSIONS {
                // Everything acknowledged within the time given: Ok, and every delivery completes.
                let client = within("connect", $client::connect(options(&broker, version, "acked")))
                    .await
                    .unwrap();
                let mut deliveries = Vec::new();
                for i in 0..100u8 {
                    deliveries.push(
                        client.publish("explain/acked", vec![i], QoS::ExactlyOnce, false).await.unwrap(),
                    );
                }
                assert_eq!(within("disconnect", client.disconnect(WAIT)).await, Ok(()), "{version}");
                within("the deliveries", async {
                    for delivery in deliveries {
                        delivery.wait().await.unwrap();
                    }
                })
                .await;
                // Little time for many messages: the call returns in time, and what it counts as unacknowledged
                // is exactly the deliveries that fail (none is lost silently, none counted twice).
                // (10,000 messages through a window of 20 or 64 take longer than the 45 ms the session waits.)
                let many = options(&broker, version, "cut").queue_bytes(32 * 1024 * 1024);
                let client = within("connect", $client::connect(many)).await.unwrap();
                let mut deliveries = Vec::new();
                for i in 0..10_000u16 {
                    deliveries.push(
                        client
                            .publish("explain/cut", vec![i as u8; 1024], QoS::AtLeastOnce, false)
                            .await
                            .unwrap(),
                    );
                }
                let outcome = $timeout(Duration::from_secs(3), client.disconnect(Duration::from_millis(50)))
                    .await
                    .unwrap_or_else(|_| panic!("{version}: disconnect(50 ms) still running after 3 s"));
                let unacknowledged = match outcome {
                    Ok(()) => 0,
                    Err(Error::Unacknowledged(n)) => n,
                    Err(other) => panic!("{version}: {other}"),
                };
                // Every delivery has its answer once the disconnect returned (one time limit for all of them).
                let failed = within("the deliveries", async {
                    let mut failed = 0;
                    for delivery in deliveries {
                        match delivery.wait().await {
                            Ok(()) => {}
                            Err(Error::Closed) => failed += 1,
                            Err(other) => panic!("{version}: {other}"),
                        }
                    }
                    failed
                })
                .await;
                assert_eq!(unacknowledged, failed, "{version}: the count is what failed");
            }
        });

        // ----- 13.6: protocol version mismatch said plainly -----

        $crate::interop_tests!(@test $how a_3_1_1_only_broker_is_reached_through_the_fall_back_by_default {
            for answer in [$crate::V5Connect::RefuseAsV311, $crate::V5Connect::RefuseAsV5, $crate::V5Connect::Close] {
                let broker = fake($crate::BrokerConfig {
                    v5_connect: answer,
                    ..$crate::BrokerConfig::default()
                });
                let client = within("connect", $client::connect(patient(&broker.url(), "fallback")))
                    .await
                    .unwrap_or_else(|e| panic!("{answer:?}: {e}"));
                assert_eq!(broker.broker().version(), Some(ProtocolVersion::V311), "{answer:?}");
                let delivery = client
                    .publish("explain/v311", "x", QoS::ExactlyOnce, false)
                    .await
                    .unwrap();
                within("PUBCOMP", delivery.wait()).await.unwrap();
                within("disconnect", client.disconnect(WAIT)).await.unwrap();
            }
        });

        $crate::interop_tests!(@test $how an_explicit_5_0_to_a_3_1_1_only_broker_is_refused_at_once_as_not_speaking_5_0 {
            for answer in [$crate::V5Connect::RefuseAsV311, $crate::V5Connect::RefuseAsV5, $crate::V5Connect::Close] {
                let broker = fake($crate::BrokerConfig {
                    v5_connect: answer,
                    ..$crate::BrokerConfig::default()
                });
                let options = patient(&broker.url(), "only-v5").version(ProtocolVersion::V5);
                let error = within("the refusal", $client::connect(options)).await.unwrap_err();
                assert_eq!(
                    error,
                    Error::Refused(ConnectRefusal::UnsupportedProtocolVersion),
                    "{answer:?}"
                );
                assert!(error.to_string().contains("does not speak MQTT 5.0"), "{error}");
            }
        });
    };
}
