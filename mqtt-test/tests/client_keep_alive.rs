//! Keep alive in the async std client over the in-memory [`Link`], in tokio's virtual time: a broker that goes
//! silent is found out within one and a half keep alive intervals of its last word, whether the client was
//! quiet or publishing at QoS 0 (which a healthy broker does not answer).

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::{ConnectionState, Options};
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(60);

/// Connects a client of `options` on `link`, makes the broker stop answering pings, and returns how long the
/// client took to declare the connection lost (virtual time).
async fn detection_of_a_silent_broker(link: &Link, options: &Options) -> Duration {
    let (client, runner) = link.spawn(options);
    let mut states = client.states();
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    link.broker(|b| b.set_answer_pings(false));
    let silent_from = tokio::time::Instant::now();
    loop {
        match within("lost", states.next()).await {
            Some(ConnectionState::Lost(_)) => break,
            Some(_) => {}
            None => panic!("the states ended"),
        }
    }
    let detected = silent_from.elapsed();
    drop(client);
    runner.abort();
    detected
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_goes_silent_is_detected_within_one_and_a_half_keep_alives() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let link = Link::default();
        let keep_alive = Duration::from_secs(10);
        let options = link
            .options("silent")
            .version(version)
            .keep_alive(keep_alive);
        let detected = detection_of_a_silent_broker(&link, &options).await;
        assert!(
            detected <= keep_alive * 3 / 2,
            "{version}: detected after {detected:?}, keep alive {keep_alive:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_goes_silent_under_a_qos0_publisher_is_detected_within_one_and_a_half_keep_alives()
 {
    let link = Link::default();
    let keep_alive = Duration::from_secs(60);
    let (client, runner) = link.spawn(&link.options("silent-publisher").keep_alive(keep_alive));
    let mut states = client.states();
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    // A healthy broker says nothing to a QoS 0 publisher but answers its pings; this one has hung.
    link.broker(|b| b.set_answer_pings(false));
    let silent_from = tokio::time::Instant::now();
    let publisher = {
        let client = client.clone();
        tokio::spawn(async move {
            for i in 0..600 {
                let _ = client
                    .publish("telemetry", format!("{i}"), QoS::AtMostOnce, false)
                    .await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let lost = tokio::time::timeout(keep_alive * 3, async {
        loop {
            match states.next().await {
                Some(ConnectionState::Lost(_)) | None => return,
                Some(_) => {}
            }
        }
    })
    .await;
    assert!(lost.is_ok(), "the silent broker was never detected");
    let detected = silent_from.elapsed();
    assert!(
        detected <= keep_alive * 3 / 2,
        "detected after {detected:?}, keep alive {keep_alive:?}"
    );
    publisher.abort();
    drop(client);
    runner.abort();
}

#[tokio::test(start_paused = true)]
async fn a_ping_timeout_given_is_used_as_given() {
    // The default is 10 s or half the keep alive; a value the application gives is its own, longer or not.
    let link = Link::default();
    let keep_alive = Duration::from_secs(10);
    let ping_timeout = Duration::from_secs(8);
    let options = link
        .options("patient")
        .keep_alive(keep_alive)
        .ping_timeout(ping_timeout);
    let detected = detection_of_a_silent_broker(&link, &options).await;
    assert!(
        detected > keep_alive && detected <= keep_alive + ping_timeout,
        "detected after {detected:?}: the PINGREQ after {keep_alive:?}, then {ping_timeout:?} for its answer"
    );
    assert!(
        detected > keep_alive * 3 / 2,
        "not capped to half the keep alive"
    );
}
