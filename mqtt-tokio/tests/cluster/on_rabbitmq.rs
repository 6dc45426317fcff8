//! A three-node RabbitMQ 3.10 cluster (MQTT 3.1.1, persistent sessions in quorum queues).

use std::time::{Duration, Instant};

use mqtt_test::cluster::RabbitMq;
use mqtt_tokio::{ProtocolVersion, QoS};

use super::flow::{Acks, Pace, Received, States, publish};
use super::{WAIT, connect, options, serial};

const V311: ProtocolVersion = ProtocolVersion::V311;

fn cluster() -> RabbitMq {
    let started = Instant::now();
    let cluster = RabbitMq::start(3).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "rabbitmq: 3 nodes up and clustered in {:.1?}",
        started.elapsed()
    );
    cluster
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
    let subscription = subscriber
        .subscribe("cluster/cross", QoS::AtLeastOnce)
        .await
        .unwrap();
    let received = Received::default();
    tokio::spawn(received.clone().collect(subscription));
    let publisher = connect(options(&[&urls[0]], "cross-pub", V311)).await;

    let total = 10_000;
    let started = Instant::now();
    let acks = Acks::default();
    publish(
        publisher,
        "cluster/cross".into(),
        0..total,
        Pace::Full,
        WAIT,
        acks.clone(),
    )
    .await;
    let all: Vec<u32> = (0..total).collect();
    let missing = received.wait_for(&all, WAIT).await;
    let took = started.elapsed();
    println!(
        "rabbitmq cross-node: {} of {total} QoS 1 messages from node 1 received on node 2 in {took:.1?} \
         ({:.0} msg/s), duplicates {:?}",
        received.distinct(),
        f64::from(total) / took.as_secs_f64(),
        received.duplicates()
    );
    assert!(
        missing.is_empty(),
        "{} messages lost: {missing:?}",
        missing.len()
    );
    assert_eq!(received.duplicates(), (0, 0));
    assert_eq!(received.distinct(), total as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn rabbitmq_publisher_moves_to_the_next_node_when_its_node_is_killed() {
    let _serial = serial();
    let mut cluster = cluster();
    let urls = cluster.urls();
    let subscriber = connect(options(&[&urls[2]], "kill-sub", V311)).await;
    let subscription = subscriber
        .subscribe("cluster/kill", QoS::AtLeastOnce)
        .await
        .unwrap();
    let received = Received::default();
    tokio::spawn(received.clone().collect(subscription));
    // The default reconnect policy and timeouts.
    let publisher = connect(options(&[&urls[0], &urls[1], &urls[2]], "kill-pub", V311)).await;
    let states = States::record(&publisher);

    let acks = Acks::default();
    let stream = tokio::spawn(publish(
        publisher,
        "cluster/kill".into(),
        0..6_000,
        Pace::PerMillisecond(1),
        WAIT,
        acks.clone(),
    ));
    acks.reach(2_000, WAIT).await;
    let killed = Instant::now();
    cluster.node_mut(0).kill();
    stream.await.unwrap();

    let (moved, broker, _) = states.connected_after(killed).expect("reconnected");
    let first_ack = acks
        .first_after(killed + moved)
        .expect("an acknowledgement after the move");
    let acked: Vec<u32> = acks.all().into_iter().map(|(seq, _)| seq).collect();
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
    let subscription = subscriber
        .subscribe("cluster/hung", QoS::AtLeastOnce)
        .await
        .unwrap();
    let received = Received::default();
    tokio::spawn(received.clone().collect(subscription));
    let all = [urls[0].as_str(), &urls[1], &urls[2]];
    let publisher = connect(
        options(&all, "hung-pub", V311)
            .keep_alive(Duration::from_secs(2))
            .ping_timeout(Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(3)),
    )
    .await;
    let states = States::record(&publisher);

    let acks = Acks::default();
    let stream = tokio::spawn(publish(
        publisher,
        "cluster/hung".into(),
        0..6_000,
        Pace::PerMillisecond(1),
        WAIT,
        acks.clone(),
    ));
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
    let acked: Vec<u32> = acks.all().into_iter().map(|(seq, _)| seq).collect();
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
    let subscription = subscriber
        .subscribe("cluster/quorum", QoS::AtLeastOnce)
        .await
        .unwrap();
    let received = Received::default();
    tokio::spawn(received.clone().collect(subscription));
    let publisher = connect(options(&[&urls[2], &urls[1]], "quorum-pub", V311)).await;

    let acks = Acks::default();
    let stream = tokio::spawn(publish(
        publisher,
        "cluster/quorum".into(),
        0..6_000,
        Pace::PerMillisecond(1),
        WAIT,
        acks.clone(),
    ));
    acks.reach(2_000, WAIT).await;
    let killed = Instant::now();
    cluster.node_mut(0).kill();
    let (moved, broker, session_present) =
        subscriber_states.wait_connected_after(killed, WAIT).await;
    stream.await.unwrap();

    let acked: Vec<u32> = acks.all().into_iter().map(|(seq, _)| seq).collect();
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
