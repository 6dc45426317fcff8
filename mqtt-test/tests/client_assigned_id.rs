//! A 5.0 client that leaves its identifier to the broker (`client_id("")`) and asks for a persistent session
//! (`clean_start(false)`), over the in-memory [`Link`] in tokio's virtual time: the assigned identifier is visible,
//! and the session lives on across a lost connection, as `clean_start(false)` asks.

use core::time::Duration;

use futures_util::StreamExt;
use mqtt_core::client::ConnectionState;
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_test::tokio_link::{Link, within};

const WAIT: Duration = Duration::from_secs(120);

/// The session of an assigned identifier outlives a lost connection: the client connects again with the
/// identifier it was given and a Session Expiry Interval above zero (with 0 the broker ends the session with the
/// connection `[MQTT-3.1.2-23]`, and what was published meanwhile for it was lost), and gets what was published
/// while it was away.
#[tokio::test(start_paused = true)]
async fn a_broker_assigned_identifier_keeps_its_session_across_a_lost_connection() {
    let link = Link::default();
    let options = link
        .options("")
        .version(ProtocolVersion::V5)
        .clean_start(false);
    let (client, runner) = link.spawn(&options);
    let mut states = client.states();
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let assigned = client
        .server_info()
        .unwrap()
        .assigned_client_id
        .expect("an assigned identifier");
    let mut subscription = within("subscribe", client.subscribe("adopt/#", QoS::AtLeastOnce))
        .await
        .unwrap();
    link.broker(|b| b.close_connection());
    assert!(link.wait_for(|b| !b.is_connected(), WAIT).await);
    link.broker(|b| b.inject("adopt/x", b"while away", QoS::AtLeastOnce, false));
    loop {
        match within("the next connection", states.next()).await {
            Some(ConnectionState::Connected {
                session_present, ..
            }) if link.broker(|b| b.connections().len()) == 2 => {
                assert!(session_present, "the session was kept");
                break;
            }
            Some(_) => {}
            None => panic!("the states ended"),
        }
    }
    let connections = link.broker(|b| b.connections().to_vec());
    assert!(
        connections[0].session_expiry_interval > 0,
        "{:?}",
        connections[0]
    );
    assert_eq!(
        connections[1].client_id, assigned,
        "the identifier it was given"
    );
    let message = within("the message published while away", subscription.next())
        .await
        .unwrap();
    assert_eq!(message.payload.as_ref(), b"while away");
    drop(client);
    runner.abort();
}

/// The reply inbox of `request` is named after the identifier the broker assigned (`replies/<assigned id>`), as
/// it is after a chosen one: every client that left its identifier to the broker had `replies/client`, one inbox
/// for all of them, so that each received the responses to the others' requests (and clients made from one
/// `Options`, whose Correlation Data start alike, could take another's response for their own).
#[tokio::test(start_paused = true)]
async fn a_broker_assigned_identifier_names_the_reply_inbox() {
    let link = Link::default();
    let options = link.options("").version(ProtocolVersion::V5);
    let (client, runner) = link.spawn(&options);
    within("connect", client.wait_connected(WAIT))
        .await
        .unwrap();
    let assigned = client
        .server_info()
        .unwrap()
        .assigned_client_id
        .expect("an assigned identifier");
    let requester = client.clone();
    let request = tokio::spawn(async move {
        requester
            .request("services/echo", "hello", Duration::from_secs(5))
            .await
    });
    assert!(
        link.wait_for(|b| !b.subscriptions().is_empty(), WAIT).await,
        "the inbox is subscribed"
    );
    let filters: Vec<String> =
        link.broker(|b| b.subscriptions().iter().map(|s| s.filter.clone()).collect());
    assert_eq!(filters, [format!("replies/{assigned}")]);
    request.abort();
    drop(client);
    runner.abort();
}
