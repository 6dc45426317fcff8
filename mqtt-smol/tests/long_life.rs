//! Resource hygiene over a long life, against a real mosquitto: 200 connect/disconnect cycles and 200 clients
//! created and dropped leave the process's file descriptors, threads and resident memory where they were; a
//! dropped client's event loop ends and its socket closes; a client dropped while the broker is down stops
//! trying. Counted in `/proc/self` (Linux), so alone in its test binary, with mosquitto in its own process.

#![cfg(target_os = "linux")]

use std::time::Duration;

use futures::StreamExt as _;
use mqtt_smol::{LastWill, Options, QoS};
use mqtt_test::footprint::{Footprint, descriptors};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

/// The tests count the process's descriptors and threads: one at a time.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

mod runtime;

const WAIT: Duration = Duration::from_secs(20);
const CYCLES: usize = 200;
/// Growth of the resident set allowed after the cycles (allocator caches, lazily grown tables).
const RSS_SLACK_KIB: u64 = 4 * 1024;

fn options(url: &str, id: &str) -> Options {
    Options::new(url)
        .unwrap()
        .client_id(id)
        .connect_timeout(WAIT)
}

/// Connects a client whose event loop runs on a task this returns.
async fn start(options: &Options) -> (mqtt_smol::Client, smol::Task<()>) {
    let (client, event_loop) = mqtt_smol::new(options).unwrap();
    let connected = client.wait_connected(WAIT);
    let task = smol::spawn(event_loop.run());
    connected.await.unwrap();
    (client, task)
}

async fn ended(task: smol::Task<()>) {
    runtime::timeout(WAIT, task)
        .await
        .expect("the event loop ended");
}

async fn cycles(url: &str, disconnect: bool) {
    for i in 0..CYCLES {
        let (client, task) = start(&options(url, &format!("life-{i}"))).await;
        let delivery = client
            .publish("life/t", "x", QoS::AtLeastOnce, false)
            .await
            .unwrap();
        delivery.wait_timeout(WAIT).await.unwrap();
        if disconnect {
            client.disconnect(WAIT).await.unwrap();
        } else {
            drop(client);
        }
        ended(task).await;
    }
}

#[test]
fn two_hundred_connect_disconnect_and_create_drop_cycles_return_descriptors_threads_and_memory() {
    let _alone = ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    smol::block_on(async {
        let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let url = broker.url(Listener::Plain);
        // Warm up: the runtime's threads, the allocator's first arenas.
        cycles(&url, true).await;
        let before = Footprint::now();
        cycles(&url, true).await;
        cycles(&url, false).await;
        before.assert_returned(RSS_SLACK_KIB, &format!("{CYCLES} cycles of each kind"));
    });
}

/// How many clients mosquitto counts as connected, from `$SYS` (published every second with `sys_interval 1`),
/// once it says `expected`; whether it did within the time limit.
async fn broker_counts(sys: &mut mqtt_smol::Subscription, expected: &str) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while let Ok(Some(message)) = runtime::timeout(
        deadline.saturating_duration_since(std::time::Instant::now()),
        sys.next(),
    )
    .await
    {
        if message.payload.as_ref() == expected.as_bytes() {
            return true;
        }
    }
    false
}

/// A client dropped without `disconnect` ends its connection: its event loop ends, its socket closes, and the
/// broker counts it gone. (Dropping the last handle disconnects gracefully, with DISCONNECT: the broker discards
/// the will `[MQTT-3.1.2-10]`; a process that dies leaves the will.)
#[test]
fn a_client_dropped_without_disconnect_ends_its_connection_and_its_event_loop() {
    let _alone = ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    smol::block_on(async {
        let config = MosquittoConfig::default().with_line("sys_interval 1");
        let broker = Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"));
        let url = broker.url(Listener::Plain);
        let watcher = mqtt_smol::connect(options(&url, "watcher")).await.unwrap();
        let mut sys = watcher
            .subscribe("$SYS/broker/clients/connected", QoS::AtMostOnce)
            .await
            .unwrap();
        let fds = descriptors();
        let (client, task) =
            start(&options(&url, "dropped").last_will(LastWill::new("life/will", "gone"))).await;
        assert!(
            broker_counts(&mut sys, "2").await,
            "the broker counts both clients"
        );
        assert_eq!(descriptors(), fds + 1, "the connection's socket");
        drop(client);
        ended(task).await;
        assert_eq!(descriptors(), fds, "the socket is closed");
        assert!(
            broker_counts(&mut sys, "1").await,
            "the broker counts the dropped client gone"
        );
    });
}

/// A client dropped while its broker is down stops its retry loop: its event loop ends, leaving no socket.
#[test]
fn a_client_dropped_while_the_broker_is_down_stops_trying() {
    let _alone = ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    smol::block_on(async {
        let mut broker =
            Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let url = broker.url(Listener::Plain);
        // smol's reactor (its epoll and wake-up descriptors, its thread) starts with the first use: before counting.
        let (warm, task) = start(&options(&url, "warm-up")).await;
        warm.disconnect(WAIT).await.unwrap();
        ended(task).await;
        let fds = descriptors();
        let (client, task) = start(&options(&url, "orphan")).await;
        let mut states = client.states();
        let _current = states.next().await;
        broker.stop();
        let lost = runtime::timeout(WAIT, states.next()).await.unwrap();
        assert!(lost.is_some(), "{lost:?}");
        assert!(!client.is_connected());
        drop(states);
        drop(client);
        ended(task).await;
        assert_eq!(descriptors(), fds, "no socket left");
    });
}
