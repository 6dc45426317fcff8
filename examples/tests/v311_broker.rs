//! Issue 13 against a real broker that speaks only MQTT 3.1.1 (rumqttd's v4 listener, in process), for tokio, smol
//! and blocking: the default options reach it through the fall back to 3.1.1, an explicit 5.0 is refused at once
//! and says why, a connection it drops for bad credentials and a stopped broker are reported at once,
//! `reconnect()` twice in a row ends connected, and `disconnect(timeout)` returns in time and counts what the
//! broker did not acknowledge. (rumqttd closes the connection of a 5.0 CONNECT, and of a client it does not
//! authenticate, without a CONNACK.)

use std::time::Duration;

use examples::broker::InProcessBroker;

const WAIT: Duration = Duration::from_secs(10);
/// A connect timeout no test reaches: an outcome within `WAIT` is an outcome at once.
const PATIENT: Duration = Duration::from_secs(3600);

/// The same tests for each async client: `$test` is how one runs (a test attribute, or a `block_on`).
macro_rules! async_tests {
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
    ($client:ident, $how:tt, $timeout:path) => {
        use std::time::Duration;

        use examples::broker::InProcessBroker;
        use futures::StreamExt as _;
        use $client::{
            ConnectRefusal, ConnectionState, Error, Options, ProtocolVersion, QoS, ReconnectPolicy,
        };

        use super::{PATIENT, WAIT};

        async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
            $timeout(WAIT, future)
                .await
                .unwrap_or_else(|_| panic!("timed out: {what}"))
        }

        fn patient(broker: &InProcessBroker, id: &str) -> Options {
            Options::new(&broker.url())
                .unwrap()
                .client_id(format!("{id}-{}", stringify!($client)))
                .connect_timeout(PATIENT)
        }

        async_tests!(@test $how a_3_1_1_only_broker_is_reached_through_the_fall_back_by_default {
            let broker = InProcessBroker::start_v311().unwrap();
            let client = within("connect", $client::connect(patient(&broker, "fallback")))
                .await
                .unwrap();
            let mut inbox = client.subscribe("v311/echo", QoS::AtLeastOnce).await.unwrap();
            let delivery = client
                .publish("v311/echo", "over 3.1.1", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
            let message = within("the echo", inbox.recv()).await.unwrap();
            assert_eq!(message.payload.as_ref(), b"over 3.1.1");
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        async_tests!(@test $how an_explicit_5_0_is_refused_at_once_saying_the_broker_does_not_speak_5_0 {
            let broker = InProcessBroker::start_v311().unwrap();
            let options = patient(&broker, "only-v5").version(ProtocolVersion::V5);
            let error = within("the refusal", $client::connect(options)).await.unwrap_err();
            assert_eq!(error, Error::Refused(ConnectRefusal::UnsupportedProtocolVersion));
            assert!(error.to_string().contains("does not speak MQTT 5.0"), "{error}");
        });

        async_tests!(@test $how a_connection_dropped_for_bad_credentials_is_reported_at_once {
            let broker = InProcessBroker::start_v311_with_user("alice", "right").unwrap();
            for version in [None, Some(ProtocolVersion::V311)] {
                let mut options = patient(&broker, "wrong").credentials("alice", "wrong");
                if let Some(version) = version {
                    options = options.version(version);
                }
                match within("the failure", $client::connect(options)).await {
                    // No CONNACK: the broker closed the connection, which is what the caller hears.
                    Err(Error::Io(e)) => {
                        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{version:?}")
                    }
                    other => panic!("{version:?}: expected the close, got {other:?}"),
                }
            }
            let right = patient(&broker, "right").credentials("alice", "right");
            let client = within("connect", $client::connect(right)).await.unwrap();
            within("disconnect", client.disconnect(WAIT)).await.unwrap();
        });

        async_tests!(@test $how a_stopped_broker_is_reported_at_once {
            let mut broker = InProcessBroker::start_v311().unwrap();
            broker.stop();
            match within("the refusal", $client::connect(patient(&broker, "stopped"))).await {
                Err(Error::Io(e)) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused)
                }
                other => panic!("expected the refused connection, got {other:?}"),
            }
        });

        async_tests!(@test $how reconnect_twice_in_a_row_ends_connected {
            let broker = InProcessBroker::start_v311().unwrap();
            let options = patient(&broker, "twice")
                .reconnect(ReconnectPolicy::manual())
                .connect_timeout(WAIT);
            let client = within("connect", $client::connect(options)).await.unwrap();
            let mut states = client.states();
            let first = within("the current state", states.next()).await;
            assert!(matches!(first, Some(ConnectionState::Connected { .. })), "{first:?}");
            client.reconnect().unwrap();
            client.reconnect().unwrap();
            loop {
                match within("connected again", states.next()).await {
                    Some(ConnectionState::Connected { .. }) => break,
                    Some(ConnectionState::GaveUp(reason)) => panic!("gave up: {reason}"),
                    Some(_) => {}
                    None => panic!("the states ended"),
                }
            }
            let delivery = client
                .publish("v311/twice", "x", QoS::AtLeastOnce, false)
                .await
                .unwrap();
            within("PUBACK", delivery.wait()).await.unwrap();
            client.reconnect().unwrap();
            assert_eq!(within("disconnect", client.disconnect(WAIT)).await, Ok(()));
            assert!(!client.is_connected());
        });

        async_tests!(@test $how disconnect_returns_in_time_and_counts_what_the_broker_did_not_acknowledge {
            let broker = InProcessBroker::start_v311().unwrap();
            let options = patient(&broker, "cut").queue_bytes(32 * 1024 * 1024);
            let client = within("connect", $client::connect(options)).await.unwrap();
            let mut deliveries = Vec::new();
            for i in 0..10_000u16 {
                deliveries.push(
                    client
                        .publish("v311/cut", vec![i as u8; 1024], QoS::AtLeastOnce, false)
                        .await
                        .unwrap(),
                );
            }
            let outcome = $timeout(Duration::from_secs(3), client.disconnect(Duration::from_millis(50)))
                .await
                .unwrap_or_else(|_| panic!("disconnect(50 ms) still running after 3 s"));
            let unacknowledged = match outcome {
                Ok(()) => 0,
                Err(Error::Unacknowledged(n)) => n,
                Err(other) => panic!("{other}"),
            };
            let failed = within("the deliveries", async {
                let mut failed = 0;
                for delivery in deliveries {
                    match delivery.wait().await {
                        Ok(()) => {}
                        Err(Error::Closed) => failed += 1,
                        Err(other) => panic!("{other}"),
                    }
                }
                failed
            })
            .await;
            assert_eq!(unacknowledged, failed, "the count is what failed");
        });
    };
}

mod tokio_client {
    async_tests!(mqtt_tokio, [attribute tokio::test], tokio::time::timeout);
}

mod smol_client {
    async_tests!(mqtt_smol, [block_on smol::block_on], timeout);

    /// `future`, or `Err(())` if it has not finished after `duration`.
    async fn timeout<T>(duration: Duration, future: impl Future<Output = T>) -> Result<T, ()> {
        use smol::future::FutureExt as _;
        async { Ok(future.await) }
            .or(async {
                smol::Timer::after(duration).await;
                Err(())
            })
            .await
    }
}

mod blocking_client {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use mqtt_blocking::{
        ConnectRefusal, ConnectionState, Error, Options, ProtocolVersion, QoS, ReconnectPolicy,
    };

    use super::{InProcessBroker, PATIENT, WAIT};

    fn patient(broker: &InProcessBroker, id: &str) -> Options {
        Options::new(&broker.url())
            .unwrap()
            .client_id(format!("{id}-blocking"))
            .connect_timeout(PATIENT)
    }

    /// `connect`, which must end within `WAIT` (a connect timeout of an hour is given).
    fn connect_at_once(options: &Options) -> Result<mqtt_blocking::Client, Error> {
        let started = Instant::now();
        let outcome = mqtt_blocking::connect(options);
        assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
        outcome
    }

    #[test]
    fn a_3_1_1_only_broker_is_reached_through_the_fall_back_by_default() {
        let broker = InProcessBroker::start_v311().unwrap();
        let client = connect_at_once(&patient(&broker, "fallback")).unwrap();
        let inbox = client.messages();
        client
            .subscribe("v311/echo", QoS::AtLeastOnce, |_, _| {})
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        client
            .publish("v311/echo", "over 3.1.1", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        let message = inbox.recv_timeout(WAIT).unwrap();
        assert_eq!(message.payload.as_ref(), b"over 3.1.1");
        client.disconnect(WAIT).unwrap();
    }

    #[test]
    fn an_explicit_5_0_is_refused_at_once_saying_the_broker_does_not_speak_5_0() {
        let broker = InProcessBroker::start_v311().unwrap();
        let error =
            connect_at_once(&patient(&broker, "only-v5").version(ProtocolVersion::V5)).unwrap_err();
        assert_eq!(
            error,
            Error::Refused(ConnectRefusal::UnsupportedProtocolVersion)
        );
        assert!(
            error.to_string().contains("does not speak MQTT 5.0"),
            "{error}"
        );
    }

    #[test]
    fn a_connection_dropped_for_bad_credentials_is_reported_at_once() {
        let broker = InProcessBroker::start_v311_with_user("alice", "right").unwrap();
        for version in [None, Some(ProtocolVersion::V311)] {
            let mut options = patient(&broker, "wrong").credentials("alice", "wrong");
            if let Some(version) = version {
                options = options.version(version);
            }
            match connect_at_once(&options) {
                Err(Error::Io(e)) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{version:?}");
                }
                other => panic!("{version:?}: expected the close, got {other:?}"),
            }
        }
        let client =
            connect_at_once(&patient(&broker, "right").credentials("alice", "right")).unwrap();
        client.disconnect(WAIT).unwrap();
    }

    #[test]
    fn a_stopped_broker_is_reported_at_once() {
        let mut broker = InProcessBroker::start_v311().unwrap();
        broker.stop();
        match connect_at_once(&patient(&broker, "stopped")) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
            other => panic!("expected the refused connection, got {other:?}"),
        }
    }

    #[test]
    fn reconnect_twice_in_a_row_ends_connected() {
        let broker = InProcessBroker::start_v311().unwrap();
        let options = patient(&broker, "twice")
            .reconnect(ReconnectPolicy::manual())
            .connect_timeout(WAIT);
        let client = connect_at_once(&options).unwrap();
        let (sink, states) = mpsc::channel();
        client.on_state(move |_, state| {
            let _ = sink.send(state);
        });
        let first = states.recv_timeout(WAIT).unwrap();
        assert!(
            matches!(first, ConnectionState::Connected { .. }),
            "{first:?}"
        );
        client.reconnect().unwrap();
        client.reconnect().unwrap();
        loop {
            match states.recv_timeout(WAIT).unwrap() {
                ConnectionState::Connected { .. } => break,
                ConnectionState::GaveUp(reason) => panic!("gave up: {reason}"),
                _ => {}
            }
        }
        client
            .publish("v311/twice", "x", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        client.reconnect().unwrap();
        assert_eq!(client.disconnect(WAIT), Ok(()));
        assert!(!client.is_connected());
    }

    #[test]
    fn disconnect_returns_in_time_and_counts_what_the_broker_did_not_acknowledge() {
        let broker = InProcessBroker::start_v311().unwrap();
        let client =
            connect_at_once(&patient(&broker, "cut").queue_bytes(32 * 1024 * 1024)).unwrap();
        let deliveries: Vec<_> = (0..10_000u16)
            .map(|i| {
                client
                    .publish("v311/cut", vec![i as u8; 1024], QoS::AtLeastOnce, false)
                    .unwrap()
            })
            .collect();
        let started = Instant::now();
        let outcome = client.disconnect(Duration::from_millis(50));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let unacknowledged = match outcome {
            Ok(()) => 0,
            Err(Error::Unacknowledged(n)) => n,
            Err(other) => panic!("{other}"),
        };
        let failed = deliveries
            .into_iter()
            .map(|delivery| delivery.wait_timeout(WAIT))
            .filter(|outcome| match outcome {
                Ok(()) => false,
                Err(Error::Closed) => true,
                Err(other) => panic!("{other}"),
            })
            .count();
        assert_eq!(unacknowledged, failed, "the count is what failed");
    }
}
