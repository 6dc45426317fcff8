//! The std clients' `Dispatch` between a session and the fake broker, pumped by hand at a fixed time: replies,
//! routing of messages to the requests whose filters match, connection states. Deterministic, no runtime.
//!
//! Needs the `std` feature, which `cargo test --workspace` turns on (the std bindings enable it).
#![cfg(feature = "std")]

use std::sync::{Arc, Mutex};

use futures_channel::oneshot;
use mqtt_core::Instant;
use mqtt_core::client::{
    Command, ConnectionState, Dispatch, Error, Granted, Message, MessageSink, Options, Shared,
};
use mqtt_core::codec::{ProtocolVersion, QoS};
use mqtt_core::{Session, TransportAction};
use mqtt_test::{BrokerConfig, FakeBroker};

const NOW: Instant = Instant::from_millis(1_000);

/// A session, the fake broker, and the dispatch between the session and the "application".
struct Rig {
    session: Session<'static>,
    broker: FakeBroker,
    dispatch: Dispatch,
    shared: Arc<Shared>,
}

impl Rig {
    fn new(version: ProtocolVersion) -> Self {
        let options = Options::new("mqtt://broker.test")
            .unwrap()
            .client_id("dispatch")
            .version(version);
        let shared = Arc::new(Shared::default());
        let mut rig = Self {
            session: options.session().unwrap(),
            broker: FakeBroker::new(BrokerConfig::default()),
            dispatch: Dispatch::new(shared.clone()),
            shared,
        };
        rig.session.connect(NOW);
        rig.pump();
        rig
    }

    fn apply(&mut self, command: Command) {
        self.dispatch.apply(&mut self.session, NOW, command);
        self.pump();
    }

    /// Moves bytes both ways and hands every event to the dispatch until nothing moves.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(event) = self.session.poll_event() {
                self.dispatch.on_event(event);
                moved = true;
            }
            while let Some(action) = self.session.poll_transport() {
                moved = true;
                match action {
                    TransportAction::Open => {
                        self.broker.handle_connection_opened();
                        self.session.handle_transport_up(NOW);
                    }
                    TransportAction::Close => self.broker.handle_connection_closed(),
                }
            }
            let mut buf = [0; 4096];
            while let Some(n) = self.session.poll_transmit(NOW, &mut buf) {
                self.broker.handle_bytes(&buf[..n]);
                moved = true;
            }
            while let Some(bytes) = self.broker.poll_transmit() {
                moved = true;
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let taken = self.session.handle_bytes(rest, NOW);
                    rest = &rest[taken..];
                    while let Some(event) = self.session.poll_event() {
                        self.dispatch.on_event(event);
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the rig never settled");
    }
}

/// The topics a sink collected.
type Seen = Arc<Mutex<Vec<String>>>;

/// A sink that collects topics, and what it collected.
fn collector() -> (MessageSink, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let collect = move |message: &Message| {
        sink.lock().unwrap().push(message.topic.clone());
        true
    };
    (Box::new(collect), seen)
}

fn subscribe(rig: &mut Rig, filters: &[&str]) -> (Granted, Seen) {
    let (sink, seen) = collector();
    let (done, mut answer) = oneshot::channel();
    rig.apply(Command::Subscribe {
        filters: filters
            .iter()
            .map(|f| ((*f).to_owned(), QoS::AtLeastOnce))
            .collect(),
        sink,
        done,
    });
    let granted = answer.try_recv().unwrap().expect("SUBACK handled").unwrap();
    (granted, seen)
}

#[test]
fn each_request_gets_a_message_once_however_many_of_its_filters_match() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut rig = Rig::new(version);
        assert!(rig.shared.is_connected());
        let (granted, both) = subscribe(&mut rig, &["home/+/temperature", "home/kitchen/#"]);
        assert_eq!(granted.len(), 2);
        assert!(granted.iter().all(|g| matches!(g, Ok(QoS::AtLeastOnce))));
        let (_, kitchen) = subscribe(&mut rig, &["home/kitchen/#"]);
        let (listen, everything) = collector();
        rig.apply(Command::Messages(listen));

        for topic in [
            "home/kitchen/temperature",
            "home/hall/temperature",
            "garden/light",
        ] {
            assert!(
                rig.broker.inject(topic, b"1", QoS::AtLeastOnce, false) || topic == "garden/light"
            );
        }
        rig.pump();
        let seen = |list: &Seen| list.lock().unwrap().clone();
        assert_eq!(
            seen(&both),
            ["home/kitchen/temperature", "home/hall/temperature"],
            "{version}"
        );
        assert_eq!(seen(&kitchen), ["home/kitchen/temperature"], "{version}");
        assert_eq!(
            seen(&everything),
            ["home/kitchen/temperature", "home/hall/temperature"]
        );

        // Unsubscribing one filter of the first request leaves its other filter routed.
        let (done, mut answer) = oneshot::channel();
        rig.apply(Command::Unsubscribe {
            filters: vec!["home/+/temperature".to_owned()],
            done,
        });
        assert!(answer.try_recv().unwrap().unwrap().is_ok());
        rig.broker
            .inject("home/hall/temperature", b"2", QoS::AtLeastOnce, false);
        rig.broker
            .inject("home/kitchen/light", b"3", QoS::AtLeastOnce, false);
        rig.pump();
        assert_eq!(
            seen(&both).last().unwrap(),
            "home/kitchen/light",
            "{version}"
        );
        assert_eq!(seen(&both).len(), 3, "{version}");
    }
}

#[test]
fn a_sink_that_stops_listening_is_dropped_and_others_keep_receiving() {
    let mut rig = Rig::new(ProtocolVersion::V5);
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let (done, _answer) = oneshot::channel();
    rig.apply(Command::Subscribe {
        filters: vec![("t/#".to_owned(), QoS::AtMostOnce)],
        sink: Box::new(move |_| {
            *counted.lock().unwrap() += 1;
            false
        }),
        done,
    });
    let (_, other) = subscribe(&mut rig, &["t/#"]);
    for _ in 0..3 {
        rig.broker.inject("t/x", b"", QoS::AtMostOnce, false);
        rig.pump();
    }
    assert_eq!(*calls.lock().unwrap(), 1, "a gone sink is not called again");
    assert_eq!(other.lock().unwrap().len(), 3);
}

#[test]
fn a_late_state_listener_hears_the_current_state_first() {
    let mut rig = Rig::new(ProtocolVersion::V311);
    let states = Arc::new(Mutex::new(Vec::new()));
    let sink = states.clone();
    rig.apply(Command::States(Box::new(move |state| {
        sink.lock().unwrap().push(state);
        true
    })));
    assert_eq!(
        *states.lock().unwrap(),
        [ConnectionState::Connected {
            session_present: false
        }]
    );
    let (done, mut finished) = oneshot::channel();
    rig.apply(Command::Disconnect { done });
    assert_eq!(finished.try_recv().unwrap(), Some(()));
    assert_eq!(
        states.lock().unwrap().last(),
        Some(&ConnectionState::Disconnected)
    );
    assert!(rig.dispatch.is_finished());
    assert!(!rig.shared.is_connected());
}

#[test]
fn acknowledgements_complete_deliveries_and_closing_fails_what_is_still_pending() {
    let mut rig = Rig::new(ProtocolVersion::V5);
    let publish = |rig: &mut Rig, qos| {
        let (accepted, mut answer) = oneshot::channel();
        rig.apply(Command::Publish {
            topic: "out".to_owned(),
            payload: "x".into(),
            qos,
            retain: false,
            accepted,
        });
        answer.try_recv().unwrap().expect("answered while applied")
    };
    assert!(matches!(publish(&mut rig, QoS::AtMostOnce), Ok(None)));
    let mut acked = publish(&mut rig, QoS::ExactlyOnce).unwrap().unwrap();
    assert!(
        matches!(acked.try_recv(), Ok(Some(Ok(())))),
        "PUBCOMP completes QoS 2"
    );
    assert!(matches!(
        publish(&mut rig, QoS::AtLeastOnce)
            .unwrap()
            .unwrap()
            .try_recv(),
        Ok(Some(Ok(())))
    ));
    let (accepted, mut answer) = oneshot::channel();
    rig.apply(Command::Publish {
        topic: "bad/#".to_owned(),
        payload: "x".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        accepted,
    });
    assert!(matches!(
        answer.try_recv(),
        Ok(Some(Err(Error::Publish(_))))
    ));

    // Held acknowledgements: the disconnect gives up waiting for them, and the waiters hear that it closed.
    rig.broker.hold_acks();
    let mut pending = publish(&mut rig, QoS::AtLeastOnce).unwrap().unwrap();
    assert!(matches!(pending.try_recv(), Ok(None)));
    let (done, _finished) = oneshot::channel();
    rig.dispatch
        .apply(&mut rig.session, NOW, Command::Disconnect { done });
    let later = Instant::from_millis(NOW.as_millis() + 60_000);
    rig.session.handle_timeout(later);
    rig.pump();
    assert!(rig.dispatch.is_finished());
    assert!(
        matches!(pending.try_recv(), Ok(Some(Err(Error::Closed)))),
        "{:?}",
        pending.try_recv()
    );
}
