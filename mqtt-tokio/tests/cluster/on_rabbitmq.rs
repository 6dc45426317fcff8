//! A three-node RabbitMQ 3.10 cluster (MQTT 3.1.1, persistent sessions in quorum queues).

use std::time::{Duration, Instant};

use mqtt_test::cluster::RabbitMq;
use mqtt_tokio::ProtocolVersion;

use super::flow::{Received, States, deliver_everything_once, spawn_stream};
use super::{WAIT, connect, options, serial};

const V311: ProtocolVersion = ProtocolVersion::V311;

fn cluster() -> RabbitMq {
    super::started("rabbitmq", 3, RabbitMq::start)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn rabbitmq_cross_node_delivery_loses_and_duplicates_nothing() {
    let _serial = serial();
    let cluster = cluster();
    let urls = cluster.urls();
    // The subscriber speaks 5.0 with the fall back (the default): RabbitMQ 3.10 closes the connection over a 5.0
    // CONNECT, and the client goes on in 3.1.1.
    let subscriber =
        connect(options(&[&urls[1]], "cross-sub", ProtocolVersion::V5).fallback_to_v311(true))
            .await;
    let received = Received::subscribe(&subscriber, "cluster/cross").await;
    let publisher = connect(options(&[&urls[0]], "cross-pub", V311)).await;

    deliver_everything_once(publisher, "cluster/cross", &received, "rabbitmq cross-node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn rabbitmq_publisher_moves_to_the_next_node_when_its_node_is_killed() {
    let _serial = serial();
    let mut cluster = cluster();
    let urls = cluster.urls();
    let subscriber = connect(options(&[&urls[2]], "kill-sub", V311)).await;
    let received = Received::subscribe(&subscriber, "cluster/kill").await;
    // The default reconnect policy and timeouts.
    let publisher = connect(options(&[&urls[0], &urls[1], &urls[2]], "kill-pub", V311)).await;
    let states = States::record(&publisher);

    let (acks, stream) = spawn_stream(publisher, "cluster/kill", 0..6_000);
    acks.reach(2_000, WAIT).await;
    let killed = Instant::now();
    cluster.node_mut(0).kill();
    stream.await.unwrap();

    let (moved, broker, _) = states.connected_after(killed).expect("reconnected");
    let first_ack = acks
        .first_after(killed + moved)
        .expect("an acknowledgement after the move");
    let acked = acks.seqs();
    let missing = received.wait_for(&acked, WAIT).await;
    println!(
        "rabbitmq SIGKILL: connected to {broker} {moved:?} after the kill, first message acknowledged by it \
         {:?} after the kill; {} acknowledged, {} received, {} lost, duplicates {:?}; states: {:#?}",
        moved + first_ack,
        acked.len(),
        received.distinct(),
        missing.len(),
        received.duplicates(),
        states.after(killed)
    );
    assert_eq!(broker, urls[1], "the next node of the list");
    assert!(
        missing.is_empty(),
        "acknowledged, never received: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn rabbitmq_clients_leave_a_hung_node() {
    let _serial = serial();
    let mut cluster = cluster();
    let urls = cluster.urls();
    let subscriber = connect(options(&[&urls[2]], "hung-sub", V311)).await;
    let received = Received::subscribe(&subscriber, "cluster/hung").await;
    let all = [urls[0].as_str(), &urls[1], &urls[2]];
    let publisher = connect(
        options(&all, "hung-pub", V311)
            .keep_alive(Duration::from_secs(2))
            .ping_timeout(Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(3)),
    )
    .await;
    let states = States::record(&publisher);

    let (acks, stream) = spawn_stream(publisher, "cluster/hung", 0..6_000);
    acks.reach(2_000, WAIT).await;
    let paused = Instant::now();
    cluster.node_mut(0).pause().unwrap();
    let (moved, broker, _) = states.wait_connected_after(paused, WAIT).await;

    // A client that starts while the node hangs: its first attempt goes there, times out, the next node takes it.
    let started = Instant::now();
    let late =
        connect(options(&all, "hung-late", V311).connect_timeout(Duration::from_secs(3))).await;
    let late_states = States::record(&late);
    let late_took = started.elapsed();
    stream.await.unwrap();

    let first_ack = acks
        .first_after(paused + moved)
        .expect("an acknowledgement after the move");
    let acked = acks.seqs();
    let missing = received.wait_for(&acked, WAIT).await;
    println!(
        "rabbitmq SIGSTOP: connected to {broker} {moved:?} after the pause (keep alive 2 s, ping timeout 1 s), first message \
         acknowledged by it {:?} after the pause; {} acknowledged, {} lost, duplicates {:?}; a client started \
         meanwhile was connected in {late_took:?} (connect timeout 3 s): {:?}; states: {:#?}",
        moved + first_ack,
        acked.len(),
        missing.len(),
        received.duplicates(),
        late_states.all().first().map(|(_, s)| s.to_string()),
        states.after(paused)
    );
    assert_eq!(broker, urls[1], "the next node of the list");
    assert!(
        missing.is_empty(),
        "acknowledged, never received: {missing:?}"
    );
    assert!(late.is_connected());
    cluster.node_mut(0).kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn rabbitmq_persistent_session_resumes_on_another_node_with_nothing_lost() {
    let _serial = serial();
    let mut cluster = cluster();
    let urls = cluster.urls();
    let all = [urls[0].as_str(), &urls[1], &urls[2]];
    let subscriber = connect(options(&all, "quorum-sub", V311).clean_start(false)).await;
    let subscriber_states = States::record(&subscriber);
    let received = Received::subscribe(&subscriber, "cluster/quorum").await;
    let publisher = connect(options(&[&urls[2], &urls[1]], "quorum-pub", V311)).await;

    let (acks, stream) = spawn_stream(publisher, "cluster/quorum", 0..6_000);
    acks.reach(2_000, WAIT).await;
    let killed = Instant::now();
    cluster.node_mut(0).kill();
    let (moved, broker, session_present) =
        subscriber_states.wait_connected_after(killed, WAIT).await;
    stream.await.unwrap();

    let acked = acks.seqs();
    let missing = received.wait_for(&acked, WAIT).await;
    println!(
        "rabbitmq persistent session: the subscriber reconnected to {broker} {moved:?} after its node was \
         killed, session present: {session_present}; {} acknowledged, {} received, {} lost, duplicates {:?}",
        acked.len(),
        received.distinct(),
        missing.len(),
        received.duplicates(),
    );
    assert_eq!(broker, urls[1], "the next node of the list");
    assert!(session_present, "the quorum queue kept the session");
    assert!(
        missing.is_empty(),
        "acknowledged, never received: {missing:?}"
    );
}
