//! The in-memory link itself ([`mqtt_test::tokio_link`]): what the client tests rely on it to show.

use core::time::Duration;

use mqtt_core::client::{Options, Runtime};
use mqtt_core::io::Connect;
use mqtt_test::tokio_link::{Link, LinkRuntime, OpenOutcome, within};

#[tokio::test(start_paused = true)]
async fn an_open_dropped_before_it_completes_is_recorded_as_abandoned() {
    let link = Link::default();
    link.settings(|s| s.connect_delay = Duration::from_millis(900));
    let mut connector =
        LinkRuntime::connector(&link.url(), &Options::new(&link.url()).unwrap()).unwrap();
    let cut_short = tokio::time::timeout(Duration::from_millis(100), connector.connect()).await;
    assert!(cut_short.is_err());
    assert_eq!(link.opens()[0].outcome, OpenOutcome::Abandoned);
    let opened = connector.connect().await;
    assert!(opened.is_ok());
    assert!(matches!(
        link.opens()[1].outcome,
        OpenOutcome::Opened { .. }
    ));
    assert!(
        link.broker(|b| b.connections().is_empty()),
        "nothing sent yet"
    );
}

#[tokio::test(start_paused = true)]
async fn the_connect_delay_and_the_latency_each_way_apply() {
    let link = Link::default();
    link.settings(|s| {
        s.connect_delay = Duration::from_millis(900);
        s.latency = Duration::from_millis(150);
    });
    let (client, runner) = link.spawn(&link.options("timing"));
    within("connected", client.wait_connected(Duration::from_secs(10)))
        .await
        .unwrap();
    // The open, then CONNECT one way and CONNACK the other.
    assert_eq!(link.elapsed(), Duration::from_millis(900 + 2 * 150));
    let opens = link.opens();
    assert!(
        matches!(opens[0].outcome, OpenOutcome::Opened { opened, .. } if opened == Duration::from_millis(900))
    );
    client.disconnect(Duration::from_secs(5)).await.unwrap();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refused_open_fails_the_attempt_and_the_next_one_connects() {
    let link = Link::default();
    link.settings(|s| s.refuse_opens = 1);
    let (client, runner) = link.spawn(&link.options("refused-open").keep_trying(true));
    within("connected", client.wait_connected(Duration::from_secs(30)))
        .await
        .unwrap();
    let opens = link.opens();
    assert_eq!(opens[0].outcome, OpenOutcome::Refused);
    assert!(matches!(opens[1].outcome, OpenOutcome::Opened { .. }));
    assert!(client.last_transport_error().is_some());
    client.disconnect(Duration::from_secs(5)).await.unwrap();
    runner.await.unwrap();
}
