//! The transport part of the interop list: TLS, mutual TLS (required and accepted), WebSocket and secure WebSocket
//! against mosquitto's own listeners, with certificates the harness generates; a wrong CA or the system's roots fail
//! the certificate check; TLS options that cannot be used are refused when the client is made; a refusal seen while
//! reading reaches `connect` with a manual policy. Expanded by [`interop_tests!`](crate::interop_tests) after its own
//! tests, in the same module, so the list's helpers (`broker`, `within`, `WAIT`, `listener_options`, `round_trip`)
//! and imports are in scope.

/// The tests of this module, for [`interop_tests!`](crate::interop_tests); not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! interop_transport_tests {
    ($client:ident, $how:tt, $timeout:path) => {
        /// What a connection attempt ends with: the connector's error, or the first read's for a handshake that
        /// the client finished before the broker refused it (TLS 1.3 checks the client certificate after that).
        async fn refusal(url: &str, options: &Options) -> String {
            let mut connector = Connector::new(url, options).unwrap();
            match within("connect", connector.connect()).await {
                Err(error) => error.to_string(),
                Ok(mut stream) => {
                    let mut buf = [0; 16];
                    let read = within("the broker's answer", stream.read(&mut buf)).await;
                    read.expect_err("the broker must refuse the connection")
                        .to_string()
                }
            }
        }

        /// The client as a whole fails attempt after attempt, and never connects. The event loop runs in this
        /// task until three attempts have failed, and is dropped then.
        async fn never_connects(options: Options) {
            let policy = ReconnectPolicy {
                initial_delay: Duration::from_millis(20),
                ..ReconnectPolicy::default()
            };
            let (client, event_loop) = $client::new(&options.reconnect(policy)).unwrap();
            let mut states = client.states();
            let failures = async {
                let mut failures = 0;
                while failures < 3 {
                    match within("the next state", states.next()).await {
                        // An attempt that could not reach the broker says why: not a lost connection.
                        Some(ConnectionState::Unreachable(_)) => failures += 1,
                        Some(ConnectionState::Reconnecting { .. }) => {}
                        other => panic!("expected failed attempts, got {other:?}"),
                    }
                }
            };
            let running = ::std::boxed::Box::pin(event_loop.run());
            match ::futures::future::select(running, ::std::boxed::Box::pin(failures)).await {
                ::futures::future::Either::Right(((), running)) => drop(running),
                ::futures::future::Either::Left(((), _)) => {
                    panic!("the event loop ended before three attempts failed")
                }
            }
        }

        $crate::interop_tests!(@test $how tls_carries_a_64_kib_qos1_message_both_ways {
            let broker = broker(MosquittoConfig::default().with_tls());
            round_trip(listener_options(&broker, Listener::Tls, "tls"), "transports/tls").await;
        });

        $crate::interop_tests!(@test $how mutual_tls_accepts_a_client_certificate {
            let broker = broker(MosquittoConfig::default().with_mtls());
            let options = listener_options(&broker, Listener::Mtls, "mtls").client_auth_pem(
                broker.client_cert_pem().unwrap(),
                broker.client_key_pem().unwrap(),
            );
            round_trip(options, "transports/mtls").await;
        });

        $crate::interop_tests!(@test $how mutual_tls_refuses_a_client_without_certificate {
            let broker = broker(MosquittoConfig::default().with_mtls());
            let options = listener_options(&broker, Listener::Mtls, "no-cert");
            let error = refusal(&broker.url(Listener::Mtls), &options).await;
            assert!(
                error.contains("CertificateRequired") || error.contains("HandshakeFailure"),
                "expected the broker's alert, got: {error}"
            );
            never_connects(options).await;
        });

        $crate::interop_tests!(@test $how websocket_carries_a_64_kib_qos1_message_both_ways {
            let broker = broker(MosquittoConfig::default().with_websocket());
            round_trip(listener_options(&broker, Listener::Ws, "ws"), "transports/ws").await;
        });

        $crate::interop_tests!(@test $how secure_websocket_carries_a_64_kib_qos1_message_both_ways {
            let broker = broker(MosquittoConfig::default().with_secure_websocket());
            round_trip(listener_options(&broker, Listener::Wss, "wss"), "transports/wss").await;
        });

        $crate::interop_tests!(@test $how another_ca_fails_the_certificate_check {
            let broker = broker(
                MosquittoConfig::default()
                    .with_tls()
                    .with_secure_websocket(),
            );
            let other = self::broker(MosquittoConfig::default().with_tls());
            for listener in [Listener::Tls, Listener::Wss] {
                let url = broker.url(listener);
                let options = Options::new(&url)
                    .unwrap()
                    .client_id("other-ca")
                    .ca_pem(other.ca_pem().unwrap());
                let mut connector = Connector::new(&url, &options).unwrap();
                match within("connect", connector.connect()).await {
                    // The harness's CAs share their name: the signature check is what fails.
                    Err(Error::Tls(TlsError::Certificate(_))) => {}
                    Err(other) => panic!("{listener:?}: expected a certificate error, got {other}"),
                    Ok(_) => panic!("{listener:?}: connected with the wrong CA"),
                }
                never_connects(options).await;
            }
        });

        $crate::interop_tests!(@test $how system_roots_do_not_trust_the_test_ca {
            let broker = broker(MosquittoConfig::default().with_tls());
            let url = broker.url(Listener::Tls);
            let options = Options::new(&url).unwrap().client_id("system-roots");
            match Connector::new(&url, &options) {
                // A machine without system roots refuses the options up front, saying so.
                Err(Error::Tls(TlsError::Config(reason))) => {
                    assert!(reason.contains("no system root certificates"), "{reason}");
                }
                Err(other) => panic!("unexpected error: {other}"),
                Ok(mut connector) => {
                    match within("connect", connector.connect()).await {
                        Err(Error::Tls(TlsError::Certificate(_))) => {}
                        Err(other) => panic!("expected a certificate error, got {other}"),
                        Ok(_) => panic!("connected with the system roots"),
                    }
                    never_connects(options).await;
                }
            }
        });

        $crate::interop_tests!(@test $how unusable_tls_options_are_refused_when_the_client_is_made {
            let tls = || Options::new("mqtts://localhost").unwrap();
            let cases = [
                ("garbage CA", tls().ca_pem("not a certificate")),
                (
                    "truncated PEM",
                    tls().ca_pem("-----BEGIN CERTIFICATE-----\nMIIB"),
                ),
                ("DER CA", tls().ca_der(vec![0x30, 0x03, 1, 2, 3])),
                (
                    "client key",
                    tls().client_auth_pem(
                        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                        "no key",
                    ),
                ),
            ];
            for (what, options) in cases {
                match $client::new(&options) {
                    Err(Error::Tls(TlsError::Config(_))) => {}
                    Err(other) => panic!("{what}: expected a TLS configuration error, got {other}"),
                    Ok(_) => panic!("{what}: accepted"),
                }
            }
            // TLS options mean nothing to a plain TCP broker.
            let plain = Options::new("mqtt://localhost")
                .unwrap()
                .ca_pem("not a certificate");
            assert!($client::new(&plain).is_ok());
        });

        $crate::interop_tests!(@test $how a_key_that_does_not_match_its_certificate_is_refused {
            let broker = broker(MosquittoConfig::default().with_mtls());
            let other = self::broker(MosquittoConfig::default().with_mtls());
            let options = listener_options(&broker, Listener::Mtls, "mismatch").client_auth_pem(
                broker.client_cert_pem().unwrap(),
                other.client_key_pem().unwrap(),
            );
            match $client::new(&options) {
                Err(Error::Tls(TlsError::Config(reason))) => {
                    assert!(reason.contains("client certificate"), "{reason}");
                }
                Err(other) => panic!("expected a TLS configuration error, got {other}"),
                Ok(_) => panic!("accepted"),
            }
        });

        // A failure found while reading (mosquitto refuses the missing client certificate after the handshake)
        // must still reach the caller when the policy does not retry: `connect` returns the session's verdict, not
        // a timeout.
        $crate::interop_tests!(@test $how a_refusal_seen_while_reading_is_reported_with_a_manual_policy {
            let broker = broker(MosquittoConfig::default().with_mtls());
            let options = listener_options(&broker, Listener::Mtls, "no-cert-manual")
                .reconnect(ReconnectPolicy::manual());
            let outcome = within("the refusal", $client::connect(options)).await;
            match outcome {
                // The broker's alert (or its close) while the session waited for CONNACK, as itself.
                Err(error @ (Error::Io(_) | Error::Tls(_))) => {
                    let text = error.to_string().to_lowercase();
                    assert!(text.contains("certificate") || text.contains("closed"), "{text}");
                }
                other => panic!("expected the broker's refusal, got {other:?}"),
            }
        });
    };
}
