//! mqtt-blocking in the paho style, pushed further: callbacks that call back into the client (subscribe,
//! unsubscribe, disconnect from a message callback), callbacks that panic (message, state, and the failure
//! callback itself), and one `messages()` iterator shared by worker threads. Against a real mosquitto started by
//! the harness; every wait is bounded.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mqtt_blocking::{ConnectionState, Error, QoS};

mod habits;

use habits::{WAIT, broker, connect, forward, next, options, publish_acked};

#[test]
fn a_message_callback_can_subscribe_unsubscribe_and_disconnect_its_own_client() {
    let broker = broker();
    let publisher = connect(&options(&broker, "nc-ctl-pub"));
    let client = connect(&options(&broker, "nc-ctl"));
    let (to, data) = mpsc::channel();
    let (answered, answers) = mpsc::channel();
    client
        .subscribe("nc/ctl", QoS::AtLeastOnce, move |client, message| {
            let outcome = match &message.payload[..] {
                b"sub" => client
                    .subscribe("nc/data", QoS::AtLeastOnce, forward(&to))
                    .map(|pending| {
                        // Waiting for the SUBACK here would stop the loop that brings it.
                        assert!(matches!(pending.wait(), Err(Error::WaitInCallback)));
                    }),
                b"unsub" => client.unsubscribe(["nc/data".to_owned()]).map(|_| ()),
                b"bye" => client.disconnect(WAIT),
                _ => Ok(()),
            };
            let _ = answered.send(outcome);
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();

    publish_acked(&publisher, "nc/ctl", "sub");
    answers.recv_timeout(WAIT).unwrap().unwrap();
    // The subscription made in the callback is live once the broker has it: a marker on the control topic
    // (answered after the SUBACK, the loop being one thread) tells when.
    publish_acked(&publisher, "nc/ctl", "noop");
    answers.recv_timeout(WAIT).unwrap().unwrap();
    publish_acked(&publisher, "nc/data", "1");
    assert_eq!(next(&data).payload, "1");

    publish_acked(&publisher, "nc/ctl", "unsub");
    answers.recv_timeout(WAIT).unwrap().unwrap();
    publish_acked(&publisher, "nc/ctl", "noop");
    answers.recv_timeout(WAIT).unwrap().unwrap();
    publish_acked(&publisher, "nc/data", "2");

    publish_acked(&publisher, "nc/ctl", "bye");
    // From a callback, disconnect only starts the disconnection.
    answers.recv_timeout(WAIT).unwrap().unwrap();
    // Another thread waits for the end with a second disconnect; then the client says it has ended, and the
    // unsubscribed filter got nothing more.
    client.disconnect(WAIT).unwrap();
    assert_eq!(client.wait_connected(WAIT), Err(Error::Closed));
    assert!(!client.is_connected());
    assert!(data.try_recv().is_err(), "nothing after the unsubscribe");
    publisher.disconnect(WAIT).unwrap();
}

#[test]
fn panicking_state_and_failure_callbacks_are_caught_and_the_loop_goes_on() {
    let broker = broker();
    let (client, event_loop) = mqtt_blocking::new(&options(&broker, "nc-panic")).unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let reported = failures.clone();
    let mut first = true;
    client.on_loop_failure(move |error| {
        reported.lock().unwrap().push(error.to_string());
        if std::mem::take(&mut first) {
            panic!("a broken failure callback");
        }
    });
    client.on_state(|_, state| {
        if matches!(state, ConnectionState::Connected { .. }) {
            panic!("a broken state callback");
        }
    });
    let running = event_loop.start().unwrap();
    client.wait_connected(WAIT).unwrap();
    let (to, data) = mpsc::channel();
    client
        .subscribe("nc/panic", QoS::AtLeastOnce, forward(&to))
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    publish_acked(&client, "nc/panic", "still working");
    assert_eq!(next(&data).payload, "still working");
    // A second broken connection callback: reported too (the failure callback survived its own panic).
    client.reconnect().unwrap();
    client.wait_connected(WAIT).unwrap();
    publish_acked(&client, "nc/panic", "after reconnect");
    assert_eq!(next(&data).payload, "after reconnect");
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures
            .iter()
            .filter(|f| f.contains("a broken state callback"))
            .count()
            >= 2,
        "{failures:?}"
    );
    client.disconnect(WAIT).unwrap();
    drop(running);
}

#[test]
fn one_messages_iterator_shared_by_two_threads_wakes_the_thread_still_waiting() {
    let broker = broker();
    let client = connect(&options(&broker, "nc-shared"));
    client
        .subscribe("nc/shared", QoS::AtLeastOnce, |_, _| {})
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let messages = Arc::new(client.messages());
    // Two workers take one message each with `recv()` (no timeout of their own), then leave.
    let (done, results) = mpsc::channel();
    for _ in 0..2 {
        let (messages, done) = (messages.clone(), done.clone());
        thread::spawn(move || {
            let _ = done.send(messages.recv().map(|m| m.payload));
        });
    }
    for i in 0..2 {
        // Whichever worker is woken first takes it; the other must still be woken for the next one.
        publish_acked(&client, "nc/shared", &format!("{i}"));
    }
    let mut got: Vec<_> = (0..2)
        .map(|_| {
            results
                .recv_timeout(WAIT)
                .expect("a worker still waits: its wake-up went to the one that left")
                .expect("the stream is live")
        })
        .collect();
    got.sort();
    assert_eq!(got, ["0", "1"]);
    client.disconnect(WAIT).unwrap();
}

/// A callback that blocks for longer than the keep alive interval (but less than the broker's one and a half
/// times it): the loop sends nothing meanwhile, and the connection must survive all the same: the client must
/// not take its own pause for a dead broker.
#[test]
fn a_callback_blocking_past_the_keep_alive_interval_keeps_the_connection() {
    let broker = broker();
    let client = connect(&options(&broker, "nc-block").keep_alive(Duration::from_secs(2)));
    let states = Arc::new(Mutex::new(Vec::new()));
    let seen = states.clone();
    client.on_state(move |_, state| seen.lock().unwrap().push(state));
    let (to, data) = mpsc::channel();
    client
        .subscribe("nc/block", QoS::AtLeastOnce, move |_, message| {
            if message.payload == "block" {
                thread::sleep(Duration::from_millis(2_600));
            }
            let _ = to.send(message.clone());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    publish_acked(&client, "nc/block", "block");
    assert_eq!(next(&data).payload, "block");
    publish_acked(&client, "nc/block", "after");
    assert_eq!(next(&data).payload, "after");
    let states = states.lock().unwrap().clone();
    assert!(
        states
            .iter()
            .all(|state| matches!(state, ConnectionState::Connected { .. })),
        "{states:?}"
    );
    client.disconnect(WAIT).unwrap();
}

/// paho's `disconnect(timeout=0)`: leave at once, without waiting for acknowledgements; the DISCONNECT still
/// goes out, so the broker does not publish the will.
#[test]
fn a_disconnect_with_no_time_to_wait_still_disconnects_cleanly() {
    let broker = broker();
    let watcher = connect(&options(&broker, "nc-zero-watch"));
    let (to, wills) = mpsc::channel();
    watcher
        .subscribe("nc/zero/#", QoS::AtLeastOnce, forward(&to))
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let client = connect(
        &options(&broker, "nc-zero")
            .last_will(mqtt_blocking::LastWill::new("nc/zero/will", "gone")),
    );
    let outcome = client.disconnect(Duration::ZERO);
    assert!(
        matches!(outcome, Ok(()) | Err(Error::Unacknowledged(_))),
        "{outcome:?}"
    );
    assert!(!client.is_connected());
    publish_acked(&watcher, "nc/zero/marker", "m");
    assert_eq!(
        next(&wills).topic,
        "nc/zero/marker",
        "no will after a disconnect [MQTT-3.1.2-10]"
    );
    watcher.disconnect(WAIT).unwrap();
}
