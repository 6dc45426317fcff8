//! A message from the broker larger than the client accepts ([`Options::max_packet_size`]) on MQTT 3.1.1, where
//! the client cannot announce its limit: over the in-memory [`Link`] in tokio's virtual time.
//!
//! [`Options::max_packet_size`]: mqtt_core::client::Options::max_packet_size

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::ConnectionState;
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(120);

/// A persistent 3.1.1 session and a QoS 1 message above the client's limit: the broker sends it again after
/// every reconnect (`[MQTT-4.4.0-1]`), so a client that only drops the connection never gets past it, and never
/// gets the messages behind it. The client must get past it (taking it as received and reporting that it was too
/// large), so that the next message arrives and the connection stays up.
#[tokio::test(start_paused = true)]
async fn a_message_above_max_packet_size_on_a_persistent_311_session_does_not_block_the_ones_behind_it()
 {
    let link = Link::default();
    let options = link
        .options("small-buffer")
        .version(ProtocolVersion::V311)
        .clean_start(false)
        .max_packet_size(1024);
    let (client, runner) = link.spawn(&options);
    let mut states = client.states();
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let mut subscription = within("subscribe", client.subscribe("big/#", QoS::AtLeastOnce))
        .await
        .unwrap();
    assert!(link.broker(|b| b.inject("big/1", &[b'x'; 4000], QoS::AtLeastOnce, false)));
    assert!(link.broker(|b| b.inject("big/2", b"small", QoS::AtLeastOnce, false)));
    let next = tokio::time::timeout(WAIT, subscription.next()).await;
    let mut seen = Vec::new();
    while let Ok(Some(state)) = tokio::time::timeout(Duration::ZERO, states.next()).await {
        seen.push(state);
    }
    let lost = seen
        .iter()
        .filter(|s| matches!(s, ConnectionState::Lost(_)))
        .count();
    assert!(
        matches!(&next, Ok(Some(message)) if message.topic == "big/2"),
        "the message behind the large one: {next:?}; states: {seen:?}"
    );
    assert_eq!(lost, 0, "the connection was lost {lost} times: {seen:?}");
    assert_eq!(client.stats().messages_too_large, 1);
    drop(client);
    runner.abort();
}
