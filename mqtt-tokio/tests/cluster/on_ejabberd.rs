//! ejabberd 23.01 clusters (MQTT 5.0 and 3.1.1; sessions live on the node of their connection).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mqtt_test::cluster::{EJABBERD_PASSWORD, EJABBERD_USER, Ejabberd};
use mqtt_tokio::{
    ConnectRefusal, ConnectionState, Error, Options, ProtocolVersion, QoS, ReasonCode,
    SubscribeError,
};

use super::flow::{
    Acks, Pace, Received, States, WINDOW, deliver_everything_once, publish, spawn_stream,
};
use super::{WAIT, connect, serial};

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V311;

fn cluster(nodes: usize) -> Ejabberd {
    super::started("ejabberd", nodes, Ejabberd::start)
}

fn options(urls: &[&str], id: &str, version: ProtocolVersion) -> Options {
    super::options(urls, id, version).credentials(EJABBERD_USER, EJABBERD_PASSWORD)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn ejabberd_cross_node_delivery_loses_and_duplicates_nothing() {
    let _serial = serial();
    let cluster = cluster(2);
    let urls = cluster.urls();
    let subscriber = connect(options(&[&urls[1]], "cross-sub", V5)).await;
    let received = Received::subscribe(&subscriber, "cluster/cross").await;
    let publisher = connect(options(&[&urls[0]], "cross-pub", V5)).await;

    deliver_everything_once(
        publisher,
        "cluster/cross",
        &received,
        "ejabberd cross-node (5.0)",
    )
    .await;
}

/// ejabberd keeps a session on the node of its connection: when that node dies the session is gone, whatever the
/// client asked for. The client must say so (`session_present: false`) and subscribe again on the other node;
/// from then on nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn ejabberd_subscriber_subscribes_again_on_the_next_node_when_its_node_is_killed() {
    let _serial = serial();
    let mut cluster = cluster(2);
    let urls = cluster.urls();
    let subscriber = connect(
        options(&[&urls[0], &urls[1]], "kill-sub", V5)
            .clean_start(false)
            .session_expiry(300),
    )
    .await;
    let states = States::record(&subscriber);
    let received = Received::subscribe(&subscriber, "cluster/kill").await;
    let publisher = connect(options(&[&urls[1]], "kill-pub", V5)).await;

    let (acks, stream) = spawn_stream(publisher, "cluster/kill", 0..8_000);
    acks.reach(2_000, WAIT).await;
    let killed = Instant::now();
    cluster.node_mut(0).kill();
    let (moved, broker, session_present) = states.wait_connected_after(killed, WAIT).await;
    stream.await.unwrap();

    // The first message received after the move shows the new subscription at work: every message acknowledged
    // after it (give or take the publisher's window, acknowledged out of order) must come.
    let reconnected = killed + moved;
    let resumed_at = received
        .seqs()
        .into_iter()
        .filter(|&seq| received.at(seq).is_some_and(|at| at >= reconnected))
        .min()
        .expect("messages after the re-subscription");
    let expected: Vec<u32> = acks
        .all()
        .into_iter()
        .map(|(seq, _)| seq)
        .filter(|&seq| seq > resumed_at + WINDOW as u32)
        .collect();
    let missing = received.wait_for(&expected, WAIT).await;
    let gap = acks
        .all()
        .into_iter()
        .filter(|&(seq, _)| seq <= resumed_at && !received.contains(seq))
        .count();
    println!(
        "ejabberd SIGKILL (5.0): the subscriber reconnected to {broker} {moved:?} after its node was killed, \
         session present: {session_present}; the broker dropped {gap} messages published while it had no \
         session there; first message after the re-subscription: {resumed_at}; {} lost after it, duplicates {:?}",
        missing.len(),
        received.duplicates()
    );
    assert_eq!(broker, urls[1]);
    assert!(!session_present, "ejabberd's sessions die with their node");
    assert!(
        missing.is_empty(),
        "acknowledged after the re-subscription, never received: {missing:?}"
    );
}

/// A node taken out of service closes its connections and refuses new ones with "server unavailable": the
/// clients move on at once, past another node that refuses too, to one that accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn ejabberd_publishers_move_past_nodes_that_refuse_as_unavailable() {
    let _serial = serial();
    let cluster = cluster(3);
    let urls = cluster.urls();
    let all = [urls[0].as_str(), &urls[1], &urls[2]];
    let subscriber = connect(options(&[&urls[2]], "refused-sub", V5)).await;
    let received = Received::subscribe(&subscriber, "cluster/refused/#").await;

    let mut runs = Vec::new();
    for (version, offset) in [(V5, 0), (V311, 1_000_000)] {
        let publisher = connect(options(&all, &format!("refused-pub-{version:?}"), version)).await;
        let states = States::record(&publisher);
        let acks = Acks::default();
        let stream = tokio::spawn(publish(
            publisher,
            format!("cluster/refused/{version:?}"),
            offset..offset + 4_000,
            Pace::PerMillisecond(1),
            WAIT,
            acks.clone(),
        ));
        runs.push((version, states, acks, stream));
    }
    for (_, _, acks, _) in &runs {
        acks.reach(1_000, WAIT).await;
    }
    cluster.refuse_connections(1).unwrap();
    let refused = Instant::now();
    let closed = cluster.refuse_connections(0).unwrap();
    assert_eq!(closed, 2, "both publishers were on the first node");

    for (version, states, acks, stream) in runs {
        stream.await.unwrap();
        let (_, broker, _) = states.connected_after(refused).expect("reconnected");
        // From the moment the client saw its connection closed (taking the node out of service is an Erlang
        // remote call that takes a while itself).
        let lost = states
            .lost_after(refused)
            .expect("the connection was closed");
        let (moved, _, _) = states.connected_after(lost).expect("reconnected");
        let acked = acks.seqs();
        let missing = received.wait_for(&acked, WAIT).await;
        let refusals: Vec<String> = states
            .all()
            .into_iter()
            .filter_map(|(at, state)| match state {
                ConnectionState::Refused(refusal) if at >= refused => Some(refusal.to_string()),
                _ => None,
            })
            .collect();
        println!(
            "ejabberd out of service ({version:?}): connected to {broker} {moved:?} after its node closed the \
             connection, refusals on the way: {refusals:?}; {} acknowledged, {} lost; states: {:#?}",
            acked.len(),
            missing.len(),
            states.after(refused)
        );
        assert_eq!(broker, urls[2], "past the two nodes out of service");
        assert!(
            states.all().iter().any(|(at, state)| *at >= refused
                && *state == ConnectionState::Refused(ConnectRefusal::ServerUnavailable)),
            "the second node refused as unavailable: {:#?}",
            states.after(refused)
        );
        assert!(
            missing.is_empty(),
            "acknowledged, never received: {missing:?}"
        );
    }
}

/// ejabberd announces Shared Subscription Available = 0 and, in 5.0, ends the connection with DISCONNECT `0x9E`
/// over a `$share/` SUBSCRIBE. The client refuses such a request itself, typed, and never loses its connection
/// over it; a request queued before the CONNACK said so fails with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
async fn ejabberd_shared_subscriptions_fail_with_the_reason_and_the_connection_stays() {
    let _serial = serial();
    let cluster = cluster(1);
    let url = cluster.node(0).url();

    // The broker's side, byte for byte: CONNACK, SUBSCRIBE `$share/g/t`, DISCONNECT 0x9E.
    assert_eq!(raw_share_subscribe(cluster.node(0).port()), Some(0x9e));

    // Connected: refused at once, nothing sent.
    let client = connect(options(&[&url], "share-v5", V5)).await;
    let refused = client
        .subscribe("$share/group/cluster/share", QoS::AtLeastOnce)
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::Subscribe(SubscribeError::SharedNotSupported))
        ),
        "{refused:?}"
    );

    // Queued before the connection: fails with the reason once CONNACK says the broker does not support it.
    let (queued, event_loop) = mqtt_tokio::new(&options(&[&url], "share-queued", V5)).unwrap();
    let states = States::record(&queued);
    let subscribe = queued.subscribe("$share/group/cluster/share", QoS::AtLeastOnce);
    tokio::spawn(event_loop.run());
    let outcome = tokio::time::timeout(WAIT, subscribe)
        .await
        .expect("answered");
    assert!(
        matches!(
            outcome,
            Err(Error::SubscriptionRefused(
                ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
            ))
        ),
        "{outcome:?}"
    );
    // The connection stays, and serves a plain subscription.
    let plain = tokio::time::timeout(WAIT, queued.subscribe("cluster/share", QoS::AtLeastOnce))
        .await
        .expect("answered");
    assert!(plain.is_ok(), "{plain:?}");
    assert_eq!(queued.stats().disconnections, 0, "{:#?}", states.all());
    assert_eq!(client.stats().disconnections, 0);

    // 3.1.1 has no such announcement: ejabberd closes the connection over the SUBSCRIBE, without a reason.
    let old = connect(options(&[&url], "share-v311", V311)).await;
    let old_states = States::record(&old);
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        WAIT,
        old.subscribe("$share/group/cluster/share", QoS::AtLeastOnce),
    )
    .await;
    let failed_after = started.elapsed();
    // Answered, then connected again (after the reconnect schedule's delay), and not lost again.
    let failed = Instant::now();
    old_states.wait_connected_after(failed, WAIT).await;
    let disconnections = old.stats().disconnections;
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "ejabberd $share over 3.1.1: {outcome:?} after {failed_after:?}, {disconnections} connections closed \
         over it; states: {:#?}",
        old_states.after(started)
    );
    let outcome = outcome.expect("the request is answered: never replayed forever");
    assert!(
        matches!(
            outcome,
            Err(Error::SubscriptionRefused(ReasonCode::UNSPECIFIED_ERROR))
        ),
        "{outcome:?}"
    );
    assert!(old.is_connected(), "{:#?}", old_states.all());
    assert_eq!(old.stats().disconnections, disconnections, "not sent again");
}

/// Sends a 5.0 CONNECT, then SUBSCRIBE `$share/g/t`, and returns the reason code of the DISCONNECT that follows.
fn raw_share_subscribe(port: u16) -> Option<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let field = |text: &str| {
        let mut bytes = (text.len() as u16).to_be_bytes().to_vec();
        bytes.extend_from_slice(text.as_bytes());
        bytes
    };
    let mut connect = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0xc2, 0, 30, 0];
    connect.extend(field("raw-share"));
    connect.extend(field(EJABBERD_USER));
    connect.extend(field(EJABBERD_PASSWORD));
    let mut packet = vec![0x10, connect.len() as u8];
    packet.extend(connect);
    stream.write_all(&packet).ok()?;
    let mut header = [0; 2];
    stream.read_exact(&mut header).ok()?;
    let mut connack = vec![0; usize::from(header[1])];
    stream.read_exact(&mut connack).ok()?;
    let mut subscribe = vec![0, 1, 0];
    subscribe.extend(field("$share/g/t"));
    subscribe.push(1);
    let mut packet = vec![0x82, subscribe.len() as u8];
    packet.extend(subscribe);
    stream.write_all(&packet).ok()?;
    stream.read_exact(&mut header).ok()?;
    let mut disconnect = vec![0; usize::from(header[1])];
    stream.read_exact(&mut disconnect).ok()?;
    (header[0] == 0xe0).then(|| disconnect.first().copied())?
}
