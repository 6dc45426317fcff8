//! mqtt-embedded on std against a real mosquitto: TCP from tokio through `embedded-io-adapters`, a tokio clock,
//! the runner spawned on a multi-threaded runtime (so `CriticalSectionRawMutex`). This is how a benchmark or a
//! gateway runs the embedded client on a server, and how reconnecting is tested (a UART in QEMU cannot see a TCP
//! connection close).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use mqtt_embedded::{
    Clock, Config, Connect, CriticalSectionRawMutex, Event, Instant, ProtocolVersion, QoS,
    Resources, Subscription, Will,
};
use mqtt_test::{Mosquitto, MosquittoConfig};
use tokio::net::TcpStream;

struct Tcp(u16);

impl Connect for Tcp {
    type Io = FromTokio<TcpStream>;
    type Error = std::io::Error;

    async fn connect(&mut self) -> Result<Self::Io, std::io::Error> {
        Ok(FromTokio::new(
            TcpStream::connect(("127.0.0.1", self.0)).await?,
        ))
    }
}

/// Milliseconds since the clock was made, on tokio's timer.
#[derive(Clone, Copy)]
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }

    async fn sleep_until(&self, deadline: Instant) {
        tokio::time::sleep_until(self.0 + Duration::from_millis(deadline.as_millis())).await;
    }
}

type Memory<const STORE: usize> =
    Resources<'static, CriticalSectionRawMutex, Tcp, TokioClock, 16384, STORE, 1024, 2048>;
type Client = mqtt_embedded::Client<'static, CriticalSectionRawMutex, Tcp, TokioClock>;
type Seen = Arc<Mutex<Vec<String>>>;

/// A client whose runner runs on a task of its own, and what its handler saw: messages as `topic qos length`,
/// and connection events.
fn start(broker: &Mosquitto, version: ProtocolVersion) -> (Client, Seen) {
    let config = Config {
        version,
        ..Config::new(if version == ProtocolVersion::V5 {
            "embedded-v5"
        } else {
            "embedded-v311"
        })
    };
    let (client, seen, _) = start_with::<65536>(broker, &config);
    (client, seen)
}

/// A client with `config` and `STORE` bytes of store, whose runner runs on a task of its own (the handle to
/// abort it), and what its handler saw.
fn start_with<const STORE: usize>(
    broker: &Mosquitto,
    config: &Config<'_>,
) -> (Client, Seen, tokio::task::AbortHandle) {
    let memory: &'static mut Memory<STORE> = Box::leak(Box::new(Resources::new()));
    let clock = TokioClock(tokio::time::Instant::now());
    let (client, runner) =
        mqtt_embedded::new(config, memory, Tcp(broker.plain_port()), clock).expect("memory fits");
    let seen = Seen::default();
    let log = seen.clone();
    let task = tokio::spawn(runner.run(move |event| {
        let line = match event {
            Event::Message(m) => format!("{} {} {}", m.topic, m.qos as u8, m.payload.len()),
            Event::Connected { .. } => "connected".into(),
            Event::ConnectionLost { .. } => "lost".into(),
            _ => return,
        };
        log.lock().unwrap().push(line);
    }));
    (client, seen, task.abort_handle())
}

async fn until(what: &str, seen: &Seen, done: impl Fn(&[String]) -> bool) {
    for _ in 0..1000 {
        if done(&seen.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "timed out waiting for {what}; seen: {:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_0_1_2_round_trip_through_mosquitto_in_both_versions() {
    let broker = Mosquitto::start(MosquittoConfig::default()).expect("mosquitto starts");
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (client, seen) = start(&broker, version);
        let prefix = format!("embedded/{version:?}");
        let filter = format!("{prefix}/#");
        let granted = client
            .subscribe(&[Subscription::new(&filter, QoS::ExactlyOnce)])
            .await
            .map(|granted| granted.lowest());
        assert_eq!(
            granted,
            Ok(Ok(QoS::ExactlyOnce)),
            "{version:?}: {}",
            broker.log()
        );
        let big = vec![0x5a; 10_000];
        for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            client
                .publish(&format!("{prefix}/{i}"), &big[..10 + i], qos)
                .await
                .unwrap();
        }
        client
            .publish(&format!("{prefix}/big"), &big, QoS::ExactlyOnce)
            .await
            .unwrap();
        until("four messages", &seen, |seen| seen.len() == 5).await;
        let expected = [
            "connected".to_owned(),
            format!("{prefix}/0 0 10"),
            format!("{prefix}/1 1 11"),
            format!("{prefix}/2 2 12"),
            format!("{prefix}/big 2 10000"),
        ];
        assert_eq!(*seen.lock().unwrap(), expected, "{version:?}");
        client.disconnect().await.unwrap();
        assert!(!client.is_connected());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_broker_restart_and_delivers_what_was_queued_meanwhile() {
    let mut broker = Mosquitto::start(MosquittoConfig::default()).expect("mosquitto starts");
    let (client, seen) = start(&broker, ProtocolVersion::V5);
    let filter = Subscription::new("embedded/restart", QoS::AtLeastOnce);
    client.subscribe(&[filter]).await.unwrap();
    broker.kill();
    until("the loss", &seen, |seen| {
        seen.last().is_some_and(|l| l == "lost")
    })
    .await;
    // Queued offline; the session restores the subscription the restarted broker lost.
    let message = mqtt_embedded::Publish {
        topic: "embedded/restart",
        payload: b"while away",
        qos: QoS::AtLeastOnce,
        ..Default::default()
    };
    let delivery = client.queue(&message).await.unwrap();
    broker.restart().expect("mosquitto restarts");
    let waited = tokio::time::timeout(Duration::from_secs(20), delivery.wait()).await;
    assert_eq!(waited.map_err(|_| broker.log()), Ok(Ok(())));
    until("the message", &seen, |seen| seen.len() == 4).await;
    assert_eq!(
        *seen.lock().unwrap(),
        ["connected", "lost", "connected", "embedded/restart 1 10"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_publishes_the_will_once_the_runner_future_is_dropped() {
    let broker = Mosquitto::start(MosquittoConfig::default()).expect("mosquitto starts");
    let (watcher, seen) = start(&broker, ProtocolVersion::V5);
    watcher
        .subscribe(&[Subscription::new("embedded/will", QoS::AtLeastOnce)])
        .await
        .unwrap();
    let config = Config {
        will: Some(Will {
            topic: "embedded/will",
            payload: b"the runner is gone",
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Default::default(),
        }),
        ..Config::new("embedded-with-will")
    };
    let (client, _, runner) = start_with::<4096>(&broker, &config);
    for _ in 0..500 {
        if client.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(client.is_connected(), "{}", broker.log());
    // The runner's future is dropped: its stream (a TCP socket) closes without DISCONNECT.
    runner.abort();
    until("the will", &seen, |seen| {
        seen.last().is_some_and(|l| l == "embedded/will 1 18")
    })
    .await;
    assert!(!client.is_connected());
    assert_eq!(
        client.publish("embedded/x", b"", QoS::AtLeastOnce).await,
        Err(mqtt_embedded::Error::Closed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishing_loop_through_a_small_store_waits_for_room_and_inboxes_receive_across_threads()
{
    let broker = Mosquitto::start(MosquittoConfig::default()).expect("mosquitto starts");
    let config = Config::new("embedded-loop");
    // 2 KiB of store for 200 messages of 200 bytes: `queue` waits for acknowledgements many times over, and the
    // runner (on another thread) wakes it.
    let (client, seen, _) = start_with::<2048>(&broker, &config);
    let buf: &'static mut [u8; 1024] = Box::leak(Box::new([0; 1024]));
    let inbox: &'static mqtt_embedded::Inbox<'static> =
        Box::leak(Box::new(mqtt_embedded::Inbox::new(buf)));
    let granted = client
        .subscribe_to(inbox, &["embedded/loop/+"], QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(granted.lowest(), Ok(QoS::AtLeastOnce));
    let receiver = tokio::spawn(async move {
        let mut topics = Vec::new();
        for _ in 0..200 {
            topics.push(client.receive(inbox, |m| m.topic.to_owned()).await);
        }
        topics
    });
    let payload = [0x33; 200];
    for i in 0..200 {
        let topic = format!("embedded/loop/{i}");
        let message = mqtt_embedded::Publish {
            topic: &topic,
            payload: &payload,
            qos: QoS::AtLeastOnce,
            ..Default::default()
        };
        let queued = tokio::time::timeout(Duration::from_secs(10), client.queue(&message)).await;
        assert!(matches!(queued, Ok(Ok(_))), "message {i}: {}", broker.log());
    }
    let topics = tokio::time::timeout(Duration::from_secs(20), receiver)
        .await
        .expect("the inbox received everything in time")
        .unwrap();
    let expected: Vec<_> = (0..200).map(|i| format!("embedded/loop/{i}")).collect();
    assert_eq!(topics, expected);
    // Routed messages do not reach the handler.
    assert_eq!(*seen.lock().unwrap(), ["connected"]);
}
