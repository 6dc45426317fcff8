//! The quickstart: two clients, a subscriber and a publisher, exchange one message at each QoS and say what happens,
//! with the tokio clients (`mqtt-tokio`), the smol clients (`mqtt-smol`, the same API) and the blocking clients
//! (`mqtt-blocking`: the same names, plain threads and callbacks).
//!
//! ```text
//! cargo run -p examples --bin quickstart                                    # an in-process broker
//! MQTT_BROKER=mqtt://127.0.0.1:1883 cargo run -p examples --bin quickstart  # your broker
//! ```
//!
//! With `MQTT_BROKER` unset it starts a real broker (rumqttd) inside this process on a free loopback port, so it
//! needs nothing installed. Each client backend has a section: a function that runs the same exchange with that
//! backend's clients, called from `main` in turn. It ends by itself, with exit status 0 when every message arrived.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use examples::broker::{self, InProcessBroker};
use mqtt_tokio::{Client, Error, Options, QoS};

/// Each section (one backend's exchange, connections included) must finish within this.
const SECTION_TIMEOUT: Duration = Duration::from_secs(20);
/// Each connection, and each wait for an acknowledgement or a message.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// The QoS levels, in the order they are shown.
const LEVELS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

fn main() -> ExitCode {
    let started = Instant::now();
    println!(
        "MQTT quickstart: a subscriber and a publisher exchange one message at each QoS (0, 1 and 2),\n\
         with the tokio clients (mqtt-tokio, lines [tokio]), the smol clients (mqtt-smol, [smol]) and the\n\
         blocking clients on plain threads (mqtt-blocking, [blocking]).\n"
    );
    let broker = match broker::start_unless_configured() {
        Ok(broker) => broker,
        Err(e) => return fail(&format!("could not start the in-process broker: {e}")),
    };
    match &broker {
        Some(broker) => println!(
            "Broker: MQTT_BROKER is not set, so this program started one inside itself (rumqttd) at {}.\n        \
             Set MQTT_BROKER=mqtt://HOST:PORT to use another broker.\n",
            broker.url()
        ),
        None => println!("Broker: {} (from MQTT_BROKER).\n", env_broker()),
    }
    // One section per client backend, in turn, each on its own runtime.
    if let Err(e) = tokio_section(broker.as_ref()) {
        return fail(&e);
    }
    println!();
    if let Err(e) = smol_section(broker.as_ref()) {
        return fail(&e);
    }
    println!();
    if let Err(e) = blocking_section(broker.as_ref()) {
        return fail(&e);
    }
    println!(
        "\nDone in {:.1} s: every message arrived at the QoS it was sent with.",
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn fail(why: &str) -> ExitCode {
    eprintln!("\nquickstart failed: {why}");
    if std::env::var_os("MQTT_BROKER").is_some() {
        eprintln!(
            "Check that the broker in MQTT_BROKER runs and accepts plain TCP (mqtt://) connections."
        );
    }
    ExitCode::FAILURE
}

fn env_broker() -> String {
    Options::from_env().map_or_else(|e| e.to_string(), |o| o.brokers().join(", "))
}

/// Options for one client: the in-process broker's URL, or `MQTT_BROKER` and the other `MQTT_*` variables. Both
/// sections use them: `mqtt_smol::{Options, Client, Error}` are the very types of `mqtt_tokio`, since both crates
/// re-export the runtime-independent client of `mqtt-core`.
fn options(broker: Option<&InProcessBroker>, client_id: &str) -> Result<Options, Error> {
    let options = match broker {
        Some(broker) => Options::new(&broker.url())?,
        None => Options::from_env()?,
    };
    Ok(options.client_id(client_id).connect_timeout(STEP_TIMEOUT))
}

/// A name no other run uses, so that runs sharing a broker do not see each other's messages.
fn run_name(backend: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{backend}-{}-{:04x}", std::process::id(), nanos >> 16)
}

/// The topic filters of a run, one per QoS. A message arrives at the lower of its own QoS and its subscription's,
/// so each arrives at the QoS it was sent with (rumqttd always delivers at the subscription's QoS: a single `#` at
/// QoS 2 would not show the difference).
fn filters(run: &str) -> [(String, QoS); 3] {
    LEVELS.map(|qos| (format!("quickstart/{run}/qos{}", qos as u8), qos))
}

/// What a QoS promises, and what the publisher waits for.
fn explain(qos: QoS) -> (&'static str, &'static str) {
    match qos {
        QoS::AtMostOnce => (
            "at most once",
            "no acknowledgement at QoS 0: sent is all the publisher knows",
        ),
        QoS::AtLeastOnce => ("at least once", "the broker acknowledged it (PUBACK)"),
        QoS::ExactlyOnce => (
            "exactly once",
            "the broker acknowledged it (PUBREC, PUBREL, PUBCOMP)",
        ),
    }
}

/// The tokio section: `mqtt-tokio` clients on a tokio runtime, each running its connection on a background task.
fn tokio_section(broker: Option<&InProcessBroker>) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no tokio runtime: {e}"))?;
    runtime.block_on(async {
        tokio::time::timeout(SECTION_TIMEOUT, tokio_exchange(broker))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "the tokio section did not finish within {SECTION_TIMEOUT:?}"
                ))
            })
    })
}

async fn tokio_exchange(broker: Option<&InProcessBroker>) -> Result<(), String> {
    let say = |line: &str| println!("[tokio] {line}");
    let run = run_name("tokio");
    let connect = |role: &'static str| {
        let id = format!("quickstart-{run}-{role}");
        async move {
            let client = mqtt_tokio::connect(options(broker, &id)?).await?;
            say(&format!("{role} connected, client id {id:?}"));
            Ok::<Client, Error>(client)
        }
    };
    let subscriber = connect("subscriber")
        .await
        .map_err(|e| format!("the subscriber could not connect within {STEP_TIMEOUT:?}: {e}"))?;
    let publisher = connect("publisher")
        .await
        .map_err(|e| format!("the publisher could not connect within {STEP_TIMEOUT:?}: {e}"))?;

    let filters = filters(&run);
    let mut messages = subscriber
        .subscribe_many(filters.clone())
        .await
        .map_err(|e| format!("could not subscribe: {e}"))?;
    for ((filter, asked), granted) in filters.iter().zip(messages.granted()) {
        let granted = granted
            .as_ref()
            .map_err(|e| format!("the broker refused the subscription to {filter:?}: {e}"))?;
        say(&format!(
            "subscriber subscribed to {filter:?} asking for QoS {}: the broker granted QoS {}",
            *asked as u8, *granted as u8
        ));
    }

    for (topic, qos) in &filters {
        let (qos, level) = (*qos, *qos as u8);
        let (promise, acknowledged) = explain(qos);
        let payload = format!("hello at QoS {level}");
        say(&format!(
            "publisher sends {payload:?} to {topic:?} at QoS {level} ({promise})"
        ));
        publisher
            .publish(topic.as_str(), payload.clone(), qos, false)
            .await
            .map_err(|e| format!("could not publish: {e}"))?
            .wait_timeout(STEP_TIMEOUT)
            .await
            .map_err(|e| format!("the QoS {level} message was not acknowledged: {e}"))?;
        say(&format!("  {acknowledged}"));
        let message = tokio::time::timeout(STEP_TIMEOUT, messages.recv())
            .await
            .map_err(|_| format!("the QoS {level} message did not arrive within {STEP_TIMEOUT:?}"))?
            .ok_or("the subscriber's connection ended")?;
        say(&format!(
            "subscriber received {:?} on {:?} at QoS {}",
            String::from_utf8_lossy(&message.payload),
            message.topic,
            message.qos as u8
        ));
        if message.payload != payload.as_bytes() || message.qos != qos {
            return Err(format!(
                "expected {payload:?} at QoS {level}, got {message:?}"
            ));
        }
    }

    let sent = publisher.stats();
    for (role, client) in [("publisher", &publisher), ("subscriber", &subscriber)] {
        client
            .disconnect(STEP_TIMEOUT)
            .await
            .map_err(|e| format!("the {role} did not disconnect cleanly: {e}"))?;
        say(&format!(
            "{role} disconnected (sent DISCONNECT and closed the connection)"
        ));
    }
    say(&format!(
        "the publisher sent {} messages, {} bytes with the MQTT packets around them",
        sent.messages_sent, sent.bytes_sent
    ));
    Ok(())
}

/// The smol section: the same exchange with `mqtt-smol` clients on smol's executor. The API is the tokio one: only
/// the crate name changes, and the timeouts, which smol builds from its `Timer`.
fn smol_section(broker: Option<&InProcessBroker>) -> Result<(), String> {
    smol::block_on(within(SECTION_TIMEOUT, smol_exchange(broker))).unwrap_or_else(|| {
        Err(format!(
            "the smol section did not finish within {SECTION_TIMEOUT:?}"
        ))
    })
}

/// `future`'s output, or `None` if it did not finish within `limit` (a timeout on smol's executor).
async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    smol::future::or(async { Some(future.await) }, async {
        smol::Timer::after(limit).await;
        None
    })
    .await
}

async fn smol_exchange(broker: Option<&InProcessBroker>) -> Result<(), String> {
    let say = |line: &str| println!("[smol] {line}");
    let run = run_name("smol");
    let connect = |role: &'static str| {
        let id = format!("quickstart-{run}-{role}");
        async move {
            let client = mqtt_smol::connect(options(broker, &id)?).await?;
            say(&format!("{role} connected, client id {id:?}"));
            Ok::<Client, Error>(client)
        }
    };
    let subscriber = connect("subscriber")
        .await
        .map_err(|e| format!("the subscriber could not connect within {STEP_TIMEOUT:?}: {e}"))?;
    let publisher = connect("publisher")
        .await
        .map_err(|e| format!("the publisher could not connect within {STEP_TIMEOUT:?}: {e}"))?;

    let filters = filters(&run);
    let mut messages = subscriber
        .subscribe_many(filters.clone())
        .await
        .map_err(|e| format!("could not subscribe: {e}"))?;
    for ((filter, asked), granted) in filters.iter().zip(messages.granted()) {
        let granted = granted
            .as_ref()
            .map_err(|e| format!("the broker refused the subscription to {filter:?}: {e}"))?;
        say(&format!(
            "subscriber subscribed to {filter:?} asking for QoS {}: the broker granted QoS {}",
            *asked as u8, *granted as u8
        ));
    }

    for (topic, qos) in &filters {
        let (qos, level) = (*qos, *qos as u8);
        let (promise, acknowledged) = explain(qos);
        let payload = format!("hello at QoS {level}");
        say(&format!(
            "publisher sends {payload:?} to {topic:?} at QoS {level} ({promise})"
        ));
        publisher
            .publish(topic.as_str(), payload.clone(), qos, false)
            .await
            .map_err(|e| format!("could not publish: {e}"))?
            .wait_timeout(STEP_TIMEOUT)
            .await
            .map_err(|e| format!("the QoS {level} message was not acknowledged: {e}"))?;
        say(&format!("  {acknowledged}"));
        let message = within(STEP_TIMEOUT, messages.recv())
            .await
            .ok_or_else(|| {
                format!("the QoS {level} message did not arrive within {STEP_TIMEOUT:?}")
            })?
            .ok_or("the subscriber's connection ended")?;
        say(&format!(
            "subscriber received {:?} on {:?} at QoS {}",
            String::from_utf8_lossy(&message.payload),
            message.topic,
            message.qos as u8
        ));
        if message.payload != payload.as_bytes() || message.qos != qos {
            return Err(format!(
                "expected {payload:?} at QoS {level}, got {message:?}"
            ));
        }
    }

    let sent = publisher.stats();
    for (role, client) in [("publisher", &publisher), ("subscriber", &subscriber)] {
        client
            .disconnect(STEP_TIMEOUT)
            .await
            .map_err(|e| format!("the {role} did not disconnect cleanly: {e}"))?;
        say(&format!(
            "{role} disconnected (sent DISCONNECT and closed the connection)"
        ));
    }
    say(&format!(
        "the publisher sent {} messages, {} bytes with the MQTT packets around them",
        sent.messages_sent, sent.bytes_sent
    ));
    Ok(())
}

/// The blocking section: `mqtt-blocking` clients on plain threads. Each connection runs on an event-loop thread of
/// its own; messages arrive through a callback of the subscription; every wait has a timeout of its own.
fn blocking_section(broker: Option<&InProcessBroker>) -> Result<(), String> {
    let say = |line: &str| println!("[blocking] {line}");
    let run = run_name("blocking");
    let connect = |role: &str| {
        let id = format!("quickstart-{run}-{role}");
        let client = options(broker, &id)
            .and_then(|options| mqtt_blocking::connect(&options))
            .map_err(|e| format!("the {role} could not connect within {STEP_TIMEOUT:?}: {e}"))?;
        say(&format!("{role} connected, client id {id:?}"));
        Ok::<_, String>(client)
    };
    let subscriber = connect("subscriber")?;
    let publisher = connect("publisher")?;

    let filters = filters(&run);
    let (arrived, messages) = std::sync::mpsc::channel();
    let granted = subscriber
        .subscribe_many(filters.clone(), move |_, message| {
            let _ = arrived.send(message.clone());
        })
        .and_then(|pending| pending.wait_timeout(STEP_TIMEOUT))
        .map_err(|e| format!("could not subscribe: {e}"))?;
    for ((filter, asked), granted) in filters.iter().zip(&granted) {
        let granted = granted
            .as_ref()
            .map_err(|e| format!("the broker refused the subscription to {filter:?}: {e}"))?;
        say(&format!(
            "subscriber subscribed to {filter:?} asking for QoS {}: the broker granted QoS {}",
            *asked as u8, *granted as u8
        ));
    }

    for (topic, qos) in &filters {
        let (qos, level) = (*qos, *qos as u8);
        let (promise, acknowledged) = explain(qos);
        let payload = format!("hello at QoS {level}");
        say(&format!(
            "publisher sends {payload:?} to {topic:?} at QoS {level} ({promise})"
        ));
        publisher
            .publish(topic.as_str(), payload.clone(), qos, false)
            .map_err(|e| format!("could not publish: {e}"))?
            .wait_timeout(STEP_TIMEOUT)
            .map_err(|e| format!("the QoS {level} message was not acknowledged: {e}"))?;
        say(&format!("  {acknowledged}"));
        let message = messages.recv_timeout(STEP_TIMEOUT).map_err(|_| {
            format!("the QoS {level} message did not arrive within {STEP_TIMEOUT:?}")
        })?;
        say(&format!(
            "subscriber received {:?} on {:?} at QoS {}",
            String::from_utf8_lossy(&message.payload),
            message.topic,
            message.qos as u8
        ));
        if message.payload != payload.as_bytes() || message.qos != qos {
            return Err(format!(
                "expected {payload:?} at QoS {level}, got {message:?}"
            ));
        }
    }

    let sent = publisher.stats();
    for (role, client) in [("publisher", &publisher), ("subscriber", &subscriber)] {
        client
            .disconnect(STEP_TIMEOUT)
            .map_err(|e| format!("the {role} did not disconnect cleanly: {e}"))?;
        say(&format!(
            "{role} disconnected (sent DISCONNECT and closed the connection)"
        ));
    }
    say(&format!(
        "the publisher sent {} messages, {} bytes with the MQTT packets around them",
        sent.messages_sent, sent.bytes_sent
    ));
    Ok(())
}
