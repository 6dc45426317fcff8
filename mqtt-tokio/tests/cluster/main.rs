//! mqtt-tokio against real broker clusters on loopback (`mqtt_test::cluster`): cross-node delivery, failover when
//! a node is killed, hung or taken out of service, a persistent session resumed on another node, and what a broker
//! that does not support shared subscriptions does to them.
//!
//! Opt-in (they start RabbitMQ and ejabberd clusters, minutes in all): `cargo xtask test --clusters` installs the
//! brokers and runs them; `.ci/run` always does. One cluster test runs at a time (they share two cores). Times
//! (how long the client took to move to another node) are printed, not asserted: run with `--nocapture`.

// The one lock that serialises the cluster tests is held for a whole test, across its awaits: every test runs on its
// own thread and runtime, so a test waiting for it blocks only itself.
#![allow(clippy::await_holding_lock)]

mod flow;
mod on_ejabberd;
mod on_rabbitmq;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mqtt_tokio::{Client, Options, ProtocolVersion};

/// How long a test waits for a client to connect, a subscription to be answered, the last messages to arrive.
const WAIT: Duration = Duration::from_secs(60);

/// One cluster at a time.
fn serial() -> MutexGuard<'static, ()> {
    static CLUSTERS: Mutex<()> = Mutex::new(());
    CLUSTERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts a cluster of `nodes` nodes with `start` (panics with its error), and prints how long it took, as `what`.
fn started<C, E: std::fmt::Display>(
    what: &str,
    nodes: usize,
    start: impl FnOnce(usize) -> Result<C, E>,
) -> C {
    let started = std::time::Instant::now();
    let cluster = start(nodes).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{what}: {nodes} nodes up and clustered in {:.1?}",
        started.elapsed()
    );
    cluster
}

/// Options for the brokers `urls`, tried in that order, as client `id`.
fn options(urls: &[&str], id: &str, version: ProtocolVersion) -> Options {
    let (first, rest) = urls.split_first().expect("at least one broker");
    let mut options = Options::new(first).unwrap().client_id(id).version(version);
    for url in rest {
        options = options.failover(url).unwrap();
    }
    options
}

/// Connects as `mqtt_tokio::connect` does (the first round over the brokers decides), and says what happened
/// when it fails.
async fn connect(options: Options) -> Client {
    let (client, event_loop) = mqtt_tokio::new(&options).unwrap();
    let states = flow::States::record(&client);
    let started = std::time::Instant::now();
    let connected = client.wait_connected(options.first_connection_timeout());
    tokio::spawn(event_loop.run());
    match tokio::time::timeout(WAIT, connected).await {
        Ok(Ok(())) => client,
        outcome => panic!(
            "connect {options:?}: {outcome:?}; states: {:#?}",
            states.after(started)
        ),
    }
}
