//! The cluster harness itself, against the real brokers (opt-in: `cargo xtask test --clusters`).

use std::time::{Duration, Instant};

use mqtt_test::cluster::{EJABBERD_PASSWORD, EJABBERD_USER, Ejabberd, RabbitMq, mqtt_answers};

const PROBE: Duration = Duration::from_secs(3);

#[test]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
fn ejabberd_nodes_join_answer_mqtt_and_can_be_taken_out_of_service() {
    let started = Instant::now();
    let mut cluster = Ejabberd::start(2).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "ejabberd: 2 nodes up and joined in {:.1?}",
        started.elapsed()
    );
    let mut names: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| n.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(cluster.cluster_nodes(1).unwrap(), names);
    let credentials = Some((EJABBERD_USER, EJABBERD_PASSWORD));
    assert!(mqtt_answers(cluster.node(0).port(), credentials, PROBE));
    let mut subscriber = std::process::Command::new("mosquitto_sub")
        .args([
            "-p",
            &cluster.node(0).port().to_string(),
            "-t",
            "t",
            "-i",
            "held",
        ])
        .args(["-u", EJABBERD_USER, "-P", EJABBERD_PASSWORD])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let closed = cluster.refuse_connections(0).unwrap();
    let _ = subscriber.kill();
    let _ = subscriber.wait();
    assert_eq!(closed, 1);
    assert!(!mqtt_answers(cluster.node(0).port(), credentials, PROBE));
    assert!(mqtt_answers(cluster.node(1).port(), credentials, PROBE));
    cluster.node_mut(1).pause().unwrap();
    assert!(!mqtt_answers(cluster.node(1).port(), credentials, PROBE));
    cluster.node_mut(1).resume().unwrap();
    assert!(mqtt_answers(cluster.node(1).port(), credentials, PROBE));
    cluster.node_mut(1).kill();
    assert!(!cluster.node_mut(1).is_running());
}

#[test]
#[ignore = "starts real broker clusters: cargo xtask test --clusters"]
fn rabbitmq_nodes_form_one_cluster_and_answer_mqtt() {
    let started = Instant::now();
    let mut cluster = RabbitMq::start(3).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "rabbitmq: 3 nodes up and joined in {:.1?}",
        started.elapsed()
    );
    assert_eq!(cluster.running_nodes(2).unwrap().len(), 3);
    for node in cluster.nodes() {
        assert!(mqtt_answers(node.port(), None, PROBE), "{}", node.name());
    }
    cluster.node_mut(0).kill();
    assert!(!mqtt_answers(cluster.node(0).port(), None, PROBE));
    assert!(mqtt_answers(cluster.node(1).port(), None, PROBE));
}
