//! The delivery part of the interop list: subscribing on every connection through forced reconnects, resuming a
//! persistent session the documented way, and a slow consumer under a QoS 1 flood with the process's memory
//! sampled. Expanded by [`interop_tests!`](crate::interop_tests) after its own tests, in the same module, so the
//! list's helpers (`broker`, `options`, `within`, `WAIT`, `VERSIONS`) are in scope.

/// The resident memory of this process (`VmRSS` of `/proc/self/status`), in bytes; `None` where there is none.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The tests of this module, for [`interop_tests!`](crate::interop_tests); not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! interop_delivery_tests {
    ($client:ident, $how:tt, $timeout:path) => {
        // Issue 12, item 1: the habit of paho users (subscribe again on every `Connected`), through forced
        // reconnects: every request completes, every subscription gets each message once, no protocol error.
        $crate::interop_tests!(@test $how subscribing_on_every_connect_through_forced_reconnects_delivers_each_message_once_per_subscription {
            const RECONNECTS: usize = 20;
            let broker = broker(MosquittoConfig::default());
            for version in VERSIONS {
                let client = within("connect", $client::connect(options(&broker, version, "on-connect")))
                    .await
                    .unwrap();
                let mut states = client.states();
                let mut subscriptions = Vec::new();
                let mut seen_states = Vec::new();
                let mut got: Vec<Vec<String>> = Vec::new();
                for round in 0..=RECONNECTS {
                    loop {
                        let state = within("the next connection", states.next()).await.unwrap();
                        let connected = matches!(state, ConnectionState::Connected { .. });
                        seen_states.push(state);
                        if connected {
                            break;
                        }
                    }
                    let subscription = within("subscribe", client.subscribe("interop/again/#", QoS::AtLeastOnce))
                        .await
                        .unwrap_or_else(|e| panic!("{version}: the subscribe of connection {round}: {e}"));
                    subscriptions.push(subscription);
                    let delivery = client
                        .publish(format!("interop/again/{round}"), round.to_string(), QoS::AtLeastOnce, false)
                        .await
                        .unwrap();
                    within("PUBACK", delivery.wait()).await.unwrap();
                    // Received before the reconnect (a clean session would lose it with the connection): the
                    // newest subscription shows it.
                    let newest = subscriptions.last_mut().unwrap();
                    let message = within("the round's message", newest.recv()).await.unwrap();
                    got.push(vec![String::from_utf8(message.payload.to_vec()).unwrap()]);
                    if round < RECONNECTS {
                        client.reconnect().unwrap();
                    }
                }
                let end = client
                    .publish("interop/again/end", "end", QoS::AtLeastOnce, false)
                    .await
                    .unwrap();
                within("PUBACK of the end", end.wait()).await.unwrap();
                // Subscription k (made on connection k) gets messages k..=RECONNECTS, each once, then the end.
                for (k, (subscription, got)) in subscriptions.iter_mut().zip(&mut got).enumerate() {
                    loop {
                        let Ok(message) = $timeout(WAIT, subscription.recv()).await else {
                            panic!("{version}: subscription {k} has {got:?} and no more");
                        };
                        let message = message.unwrap();
                        let payload = String::from_utf8(message.payload.to_vec()).unwrap();
                        if payload == "end" {
                            break;
                        }
                        got.push(payload);
                    }
                    let expected: Vec<String> = (k..=RECONNECTS).map(|i| i.to_string()).collect();
                    assert_eq!(*got, expected, "{version}: subscription {k}");
                }
                let errors: Vec<_> = seen_states
                    .iter()
                    .filter(|s| matches!(s, ConnectionState::Lost(Disconnection::Protocol(_))))
                    .collect();
                assert!(errors.is_empty(), "{version}: {errors:?}");
                within("disconnect", client.disconnect(WAIT)).await.unwrap();
            }
        });

        // Issue 12, item 6: resuming a persistent session the documented way, `connect()` then `subscribe()`:
        // what the broker queued meanwhile (and sends before the subscription exists) is kept for it.
        $crate::interop_tests!(@test $how resuming_a_persistent_session_with_connect_then_subscribe_loses_none_of_the_queued_messages {
            const QUEUED: usize = 100;
            let broker = broker(MosquittoConfig::default());
            for version in VERSIONS {
                let persistent = || {
                    options(&broker, version, "resume-documented")
                        .clean_start(false)
                        .session_expiry(3600)
                };
                let client = within("connect", $client::connect(persistent())).await.unwrap();
                drop(within("subscribe", client.subscribe("interop/resume", QoS::AtLeastOnce)).await.unwrap());
                within("disconnect", client.disconnect(WAIT)).await.unwrap();

                let publisher = within("connect", $client::connect(options(&broker, version, "resume-pub")))
                    .await
                    .unwrap();
                let mut deliveries = Vec::new();
                for i in 0..QUEUED {
                    deliveries.push(
                        publisher
                            .publish("interop/resume", i.to_string(), QoS::AtLeastOnce, false)
                            .await
                            .unwrap(),
                    );
                }
                for delivery in deliveries {
                    within("PUBACK", delivery.wait()).await.unwrap();
                }
                within("disconnect", publisher.disconnect(WAIT)).await.unwrap();

                let client = within("connect", $client::connect(persistent())).await.unwrap();
                // mosquitto sends the queued messages right after CONNACK, before this SUBSCRIBE.
                let mut subscription = within("subscribe", client.subscribe("interop/resume", QoS::AtLeastOnce))
                    .await
                    .unwrap();
                for i in 0..QUEUED {
                    let message = within("a queued message", subscription.recv())
                        .await
                        .unwrap_or_else(|| panic!("{version}: the stream ended at {i}"));
                    assert_eq!(message.payload, i.to_string(), "{version}: in order, none lost");
                }
                assert!(
                    $timeout(::core::time::Duration::from_millis(500), subscription.recv()).await.is_err(),
                    "{version}: nothing twice"
                );
                within("disconnect", client.disconnect(WAIT)).await.unwrap();
            }
        });

        // Issue 11: a subscriber that does not read while a QoS 1 flood runs holds at most its capacity (the
        // process's resident memory stays flat), and then receives every message once, in order. It runs alone
        // (the other tests of the list wait), so that the memory it samples is its own.
        $crate::interop_tests!(@exclusive $how a_slow_consumer_under_a_qos1_flood_stays_within_its_capacity_and_then_gets_everything_once {
            const COUNT: usize = 50_000;
            const SIZE: usize = 1024;
            const CAPACITY: usize = 256;
            // What may grow besides the queue: the publisher's own queue (256 KiB), buffers, the allocator.
            const SLACK: u64 = 12 * 1024 * 1024;
            let broker = broker(MosquittoConfig::default());
            let subscriber = within(
                "connect",
                $client::connect(options(&broker, ProtocolVersion::V5, "slow-consumer").message_capacity(CAPACITY)),
            )
            .await
            .unwrap();
            let mut flood = within("subscribe", subscriber.subscribe("interop/flood", QoS::AtLeastOnce))
                .await
                .unwrap();
            let publisher = within(
                "connect",
                $client::connect(options(&broker, ProtocolVersion::V5, "flood-pub").queue_bytes(256 * 1024)),
            )
            .await
            .unwrap();
            let baseline = $crate::interop::resident_bytes().expect("/proc/self/status");
            let mut peak = baseline;
            // One time limit per phase (not per message: the blocking adapter's timer is a thread).
            let phase = ::core::time::Duration::from_secs(30);
            $timeout(phase, async {
                let mut pending = ::std::collections::VecDeque::new();
                for i in 0..COUNT {
                    let mut payload = vec![0u8; SIZE];
                    payload[..4].copy_from_slice(&(i as u32).to_be_bytes());
                    loop {
                        match publisher.publish("interop/flood", payload.clone(), QoS::AtLeastOnce, false).await {
                            Ok(delivery) => {
                                pending.push_back(delivery);
                                break;
                            }
                            // The publisher's queue is full: wait for the broker to take the oldest.
                            Err(Error::Publish(_)) if !pending.is_empty() => {
                                pending.pop_front().unwrap().wait().await.unwrap();
                            }
                            Err(e) => panic!("publish {i}: {e}"),
                        }
                    }
                    if pending.len() >= 256 {
                        pending.pop_front().unwrap().wait().await.unwrap();
                    }
                    if i % 1000 == 0 {
                        peak = peak.max($crate::interop::resident_bytes().unwrap_or(0));
                    }
                }
                for delivery in pending {
                    delivery.wait().await.unwrap();
                }
            })
            .await
            .expect("the flood was published in time");
            peak = peak.max($crate::interop::resident_bytes().unwrap_or(0));
            let read = subscriber.stats().messages_received;
            assert!(read < (COUNT / 10) as u64, "the subscriber read {read} messages nobody took: unbounded");
            let bound = (CAPACITY * SIZE) as u64 + SLACK;
            eprintln!(
                "slow consumer: {COUNT} messages of {SIZE} bytes published, {read} read by the subscriber meanwhile, \
                 resident memory +{} KiB (bound {} KiB)",
                (peak - baseline) / 1024,
                bound / 1024
            );
            assert!(
                peak - baseline <= bound,
                "resident memory grew by {} KiB during the flood (bound {} KiB)",
                (peak - baseline) / 1024,
                bound / 1024
            );
            $timeout(phase, async {
                for i in 0..COUNT {
                    let message = flood.recv().await.unwrap_or_else(|| panic!("the stream ended at {i}"));
                    let index = u32::from_be_bytes(message.payload[..4].try_into().unwrap()) as usize;
                    assert_eq!(index, i, "every message once, in order");
                    if i % 1000 == 0 {
                        peak = peak.max($crate::interop::resident_bytes().unwrap_or(0));
                    }
                }
            })
            .await
            .expect("every message was received in time");
            assert!(peak - baseline <= bound, "grew by {} KiB while reading", (peak - baseline) / 1024);
            assert!(
                $timeout(::core::time::Duration::from_millis(500), flood.recv()).await.is_err(),
                "nothing twice"
            );
            within("disconnect", publisher.disconnect(WAIT)).await.unwrap();
            within("disconnect", subscriber.disconnect(WAIT)).await.unwrap();
        });
    };
}
