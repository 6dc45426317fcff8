//! Resource hygiene over a long life, against a real mosquitto: 200 connect/disconnect cycles and 200 clients
//! created and dropped leave the process's file descriptors, threads and resident memory where they were; a
//! dropped client's event loop ends and its socket closes; a client dropped while the broker is down stops
//! trying. Counted in `/proc/self` (Linux), so alone in its test binary, with mosquitto in its own process.

#![cfg(target_os = "linux")]

use std::time::Duration;

use futures::StreamExt as _;
use mqtt_test::footprint::{Footprint, descriptors};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{LastWill, Options, QoS};

/// The tests count the process's descriptors and threads: one at a time.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
async fn start(options: &Options) -> (mqtt_tokio::Client, tokio::task::JoinHandle<()>) {
    let (client, event_loop) = mqtt_tokio::new(options).unwrap();
    let connected = client.wait_connected(WAIT);
    let task = tokio::spawn(event_loop.run());
    connected.await.unwrap();
    (client, task)
}

async fn ended(task: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(WAIT, task)
        .await
        .expect("the event loop ended")
        .unwrap();
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

#[tokio::test]
async fn two_hundred_connect_disconnect_and_create_drop_cycles_return_descriptors_threads_and_memory()
 {
    let _alone = ALONE.lock().await;
    let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    // Warm up: the runtime's threads, the allocator's first arenas.
    cycles(&url, true).await;
    let before = Footprint::now();
    cycles(&url, true).await;
    cycles(&url, false).await;
    before.assert_returned(RSS_SLACK_KIB, &format!("{CYCLES} cycles of each kind"));
}

/// How many clients mosquitto counts as connected, from `$SYS` (published every second with `sys_interval 1`),
/// once it says `expected`; whether it did within the time limit.
async fn broker_counts(sys: &mut mqtt_tokio::Subscription, expected: &str) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, sys.next()).await {
        if message.payload.as_ref() == expected.as_bytes() {
            return true;
        }
    }
    false
}

/// A client dropped without `disconnect` ends its connection: its event loop ends, its socket closes, and the
/// broker counts it gone. (Dropping the last handle disconnects gracefully, with DISCONNECT: the broker discards
/// the will `[MQTT-3.1.2-10]`; a process that dies leaves the will.)
#[tokio::test]
async fn a_client_dropped_without_disconnect_ends_its_connection_and_its_event_loop() {
    let _alone = ALONE.lock().await;
    let config = MosquittoConfig::default().with_line("sys_interval 1");
    let broker = Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let watcher = mqtt_tokio::connect(options(&url, "watcher")).await.unwrap();
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
}

/// A client dropped while its broker is down stops its retry loop: its event loop ends, leaving no socket.
#[tokio::test]
async fn a_client_dropped_while_the_broker_is_down_stops_trying() {
    let _alone = ALONE.lock().await;
    let mut broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let fds = descriptors();
    let (client, task) = start(&options(&url, "orphan")).await;
    let mut states = client.states();
    let _current = states.next().await;
    broker.stop();
    let lost = tokio::time::timeout(WAIT, states.next()).await.unwrap();
    assert!(lost.is_some(), "{lost:?}");
    assert!(!client.is_connected());
    drop(states);
    drop(client);
    ended(task).await;
    assert_eq!(descriptors(), fds, "no socket left");
}
