//! Resource hygiene over a long life, against a real mosquitto: 200 connect/disconnect cycles and 200 clients
//! created and dropped leave the process's file descriptors, threads and resident memory where they were; a
//! dropped client's event loop thread ends and its socket closes; a client dropped while the broker is down stops
//! trying. Counted in `/proc/self` (Linux), so alone in its test binary (and one test at a time), with mosquitto
//! in its own process.

#![cfg(target_os = "linux")]

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use mqtt_blocking::{LastWill, LoopHandle, Options, QoS};
use mqtt_test::footprint::{Footprint, descriptors, threads};
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

/// The tests count the process's descriptors and threads: one at a time.
static ALONE: Mutex<()> = Mutex::new(());

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

/// Connects a client whose event loop runs on a thread of its own.
fn start(options: &Options) -> (mqtt_blocking::Client, LoopHandle) {
    let (client, event_loop) = mqtt_blocking::new(options).unwrap();
    let handle = event_loop.start().unwrap();
    client.wait_connected(WAIT).unwrap();
    (client, handle)
}

/// Waits (bounded) for the event loop's thread to end.
fn ended(handle: LoopHandle) {
    let deadline = Instant::now() + WAIT;
    while !handle.is_finished() {
        assert!(Instant::now() < deadline, "the event loop did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.join().unwrap();
}

fn cycles(url: &str, disconnect: bool) {
    for i in 0..CYCLES {
        let (client, handle) = start(&options(url, &format!("life-{i}")));
        let delivery = client
            .publish("life/t", "x", QoS::AtLeastOnce, false)
            .unwrap();
        delivery.wait_timeout(WAIT).unwrap();
        if disconnect {
            client.disconnect(WAIT).unwrap();
        } else {
            drop(client);
        }
        ended(handle);
    }
}

#[test]
fn two_hundred_connect_disconnect_and_create_drop_cycles_return_descriptors_threads_and_memory() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    // Warm up: the allocator's first arenas.
    cycles(&url, true);
    let before = Footprint::now();
    cycles(&url, true);
    cycles(&url, false);
    before.assert_returned(RSS_SLACK_KIB, &format!("{CYCLES} cycles of each kind"));
}

/// A client dropped without `disconnect` ends its connection: its event loop thread ends, its socket and wake-up
/// descriptor close, and the broker counts it gone (`$SYS`, every second with `sys_interval 1`).
#[test]
fn a_client_dropped_without_disconnect_ends_its_connection_and_its_event_loop() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let config = MosquittoConfig::default().with_line("sys_interval 1");
    let broker = Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let watcher = mqtt_blocking::connect(&options(&url, "watcher")).unwrap();
    let (counts, counted) = std::sync::mpsc::channel();
    watcher
        .subscribe(
            "$SYS/broker/clients/connected",
            QoS::AtMostOnce,
            move |_, message| {
                let _ = counts.send(String::from_utf8_lossy(&message.payload).into_owned());
            },
        )
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let broker_counts = |expected: &str| {
        let deadline = Instant::now() + WAIT;
        while let Ok(count) =
            counted.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if count == expected {
                return true;
            }
        }
        false
    };
    let (fds, tasks) = (descriptors(), threads());
    let (client, handle) =
        start(&options(&url, "dropped").last_will(LastWill::new("life/will", "gone")));
    assert!(broker_counts("2"), "the broker counts both clients");
    drop(client);
    ended(handle);
    assert_eq!(
        descriptors(),
        fds,
        "the socket and the wake-up descriptor are closed"
    );
    assert_eq!(threads(), tasks, "the event loop's thread is gone");
    assert!(
        broker_counts("1"),
        "the broker counts the dropped client gone"
    );
}

/// A client dropped while its broker is down stops its retry loop: its event loop thread ends, leaving no
/// descriptor.
#[test]
fn a_client_dropped_while_the_broker_is_down_stops_trying() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let mut broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let (fds, tasks) = (descriptors(), threads());
    let (client, handle) = start(&options(&url, "orphan"));
    broker.stop();
    let deadline = Instant::now() + WAIT;
    while client.is_connected() {
        assert!(
            Instant::now() < deadline,
            "the client did not see the broker go"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(client);
    ended(handle);
    assert_eq!(descriptors(), fds, "no descriptor left");
    assert_eq!(threads(), tasks, "no thread left");
}
