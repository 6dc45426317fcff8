//! What an idle connection costs in file descriptors: its socket and the event loop's wake-up descriptor, no more.
//! Counted in `/proc/self/fd` (Linux), against mosquitto in its own process so that the broker's side of each
//! connection is not counted. Alone in its test binary: other tests would open descriptors meanwhile.

#![cfg(target_os = "linux")]

use std::time::Duration;

use mqtt_blocking::Options;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};

const WAIT: Duration = Duration::from_secs(20);
const CONNECTIONS: usize = 20;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap_or_else(|e| panic!("cannot list /proc/self/fd: {e}"))
        .count()
}

#[test]
fn an_idle_connection_holds_at_most_two_descriptors() {
    let broker = Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let url = broker.url(Listener::Plain);
    let before = open_descriptors();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let options = Options::new(&url)
                .unwrap()
                .client_id(format!("descriptors-{i}"))
                .connect_timeout(WAIT);
            // Returns once the broker accepted the connection: every client is connected and idle below.
            mqtt_blocking::connect(&options).unwrap()
        })
        .collect();
    let after = open_descriptors();
    let grown = after.saturating_sub(before);
    assert!(
        grown <= 2 * CONNECTIONS,
        "{CONNECTIONS} idle connections hold {grown} descriptors ({before} before, {after} after): more than 2 each"
    );
    for client in &clients {
        client.disconnect(WAIT).unwrap();
    }
}
