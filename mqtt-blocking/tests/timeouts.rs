//! Timeouts as users give them to the blocking client, against the fake broker over TCP: `Duration::MAX` (the
//! usual way to say "no limit" where a timeout is required) waits as long as it takes, never panics.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use mqtt_blocking::{Options, QoS};
use mqtt_test::{BrokerConfig, TcpBroker};

/// Bounds the whole test: a wait that never ends fails it rather than hanging the suite.
const WAIT: Duration = Duration::from_secs(60);

#[test]
fn duration_max_as_a_timeout_waits_as_long_as_it_takes_without_panicking() {
    let broker = TcpBroker::start(BrokerConfig::default());
    let url = broker.url();
    let (done, finished) = mpsc::channel();
    let body = thread::spawn(move || {
        let options = Options::new(&url)
            .unwrap()
            .client_id("forever")
            .connect_timeout(Duration::MAX);
        let client = mqtt_blocking::connect(&options).unwrap();
        client.wait_connected(Duration::MAX).unwrap();
        let messages = client.messages();
        client
            .subscribe("forever", QoS::AtLeastOnce, |_, _| {})
            .unwrap()
            .wait_timeout(Duration::MAX)
            .unwrap();
        client
            .publish("forever", "x", QoS::AtLeastOnce, false)
            .unwrap()
            .wait_timeout(Duration::MAX)
            .unwrap();
        let message = messages.recv_timeout(Duration::MAX).unwrap();
        assert_eq!(message.topic, "forever");
        client.disconnect(Duration::MAX).unwrap();
        let _ = done.send(());
    });
    match finished.recv_timeout(WAIT) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = body.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("a call with Duration::MAX never returned"),
    }
}
