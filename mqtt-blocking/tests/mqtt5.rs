//! mqtt-blocking's MQTT 5.0, the list the async clients run (`mqtt_test::interop_v5_tests!`) written for threads:
//! against a real mosquitto, every PUBLISH property between two clients, No Local, Retain Handling 0/1/2, Retain
//! As Published, a will with a delay, outgoing topic aliases, message expiry, unsubscribe codes, request/response
//! from many threads; against the fake broker, enhanced authentication with re-authentication while messages are
//! in flight, a server that cannot prove itself, redirection by CONNACK and DISCONNECT, reason strings, a CONNACK
//! that lowers Maximum QoS, DISCONNECT with properties. Every wait is bounded.

use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use mqtt_blocking::{
    AuthError, Client, ConnectionState, DisconnectOptions, Disconnection, Error, Filter, LastWill,
    Message, Options, ProtocolVersion, PublishError, QoS, ReasonCode, RetainHandling,
    SubscribeRequest, UnsubscribeRequest,
};
use mqtt_test::{
    BrokerAuth, BrokerConfig, FakeBroker, FakeBrokerServer, HmacAuthenticator, Listener, Mosquitto,
    MosquittoConfig,
};

const WAIT: Duration = Duration::from_secs(10);
const KEY: &[u8] = b"the key both sides hold";

fn mosquitto() -> Mosquitto {
    Mosquitto::start(MosquittoConfig::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn options(url: &str, id: &str) -> Options {
    Options::new(url)
        .unwrap()
        .client_id(format!("{id}-blocking"))
        .version(ProtocolVersion::V5)
        .connect_timeout(WAIT)
}

fn connect(options: &Options) -> Client {
    mqtt_blocking::connect(options).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// A subscription whose messages come through a channel.
fn subscribe(client: &Client, request: SubscribeRequest) -> Receiver<Message> {
    let (sink, messages) = mpsc::channel();
    client
        .subscribe_with(request, move |_, message| {
            let _ = sink.send(message.clone());
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    messages
}

fn filter(filter: &str, qos: QoS) -> SubscribeRequest {
    SubscribeRequest::new().filter((filter, qos))
}

fn states(client: &Client) -> Receiver<ConnectionState> {
    let (sink, states) = mpsc::channel();
    client.on_state(move |_, state| {
        let _ = sink.send(state);
    });
    states
}

fn fake(config: BrokerConfig) -> FakeBrokerServer {
    FakeBrokerServer::start(config).expect("a fake broker")
}

fn sees(server: &FakeBrokerServer, done: impl Fn(&FakeBroker) -> bool) -> bool {
    server.wait_until(WAIT, done)
}

// ----- against mosquitto -----

#[test]
fn every_publish_property_makes_the_round_trip_between_two_clients() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let subscriber = connect(&options(&url, "props-sub"));
    let messages = subscribe(
        &subscriber,
        filter("v5/props/#", QoS::ExactlyOnce).subscription_id(5),
    );
    let publisher = connect(&options(&url, "props-pub"));
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let sent = Message::new(format!("v5/props/{qos:?}"), "héllo")
            .qos(qos)
            .payload_format_indicator(true)
            .message_expiry_interval(300)
            .content_type("text/plain; charset=utf-8")
            .response_topic("v5/answers/props")
            .correlation_data(&b"\x00\x01corr"[..])
            .user_property("k", "first")
            .user_property("k", "second");
        publisher
            .publish_message(sent.clone())
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
        let got = messages.recv_timeout(WAIT).unwrap();
        assert_eq!((got.topic.as_str(), got.qos), (sent.topic.as_str(), qos));
        assert_eq!(got.payload, sent.payload);
        assert_eq!(got.payload_format_indicator, Some(true));
        assert_eq!(got.content_type, sent.content_type);
        assert_eq!(got.response_topic, sent.response_topic);
        assert_eq!(got.correlation_data, sent.correlation_data);
        assert_eq!(got.user_properties, sent.user_properties);
        assert_eq!(got.subscription_identifiers, [5]);
        assert!(
            got.message_expiry_interval
                .is_some_and(|left| (290..=300).contains(&left))
        );
    }
    publisher.disconnect(WAIT).unwrap();
    subscriber.disconnect(WAIT).unwrap();
}

#[test]
fn no_local_keeps_a_clients_own_messages_from_it() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let own = connect(&options(&url, "nolocal-own"));
    let other = connect(&options(&url, "nolocal-other"));
    let mine = subscribe(
        &own,
        SubscribeRequest::new().filter(Filter::new("v5/nolocal", QoS::AtLeastOnce).no_local(true)),
    );
    let theirs = subscribe(&other, filter("v5/nolocal", QoS::AtLeastOnce));
    own.publish("v5/nolocal", "own", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(&theirs.recv_timeout(WAIT).unwrap().payload[..], b"own");
    other
        .publish("v5/nolocal", "from the other", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(
        &mine.recv_timeout(WAIT).unwrap().payload[..],
        b"from the other"
    );
}

#[test]
fn retain_handling_0_1_2_decides_when_retained_messages_come() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let publisher = connect(&options(&url, "rh-pub"));
    publisher
        .publish("v5/rh", "retained", QoS::AtLeastOnce, true)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    // After each SUBSCRIBE two live markers follow: whether the retained message came before the second one says
    // whether it came at all (its order against a live message from another client is the broker's to choose).
    let mut marker = 0;
    for (handling, expected) in [
        (RetainHandling::SendAtSubscribe, [true, true]),
        (RetainHandling::SendAtSubscribeIfNew, [true, false]),
        (RetainHandling::DoNotSend, [false, false]),
    ] {
        let client = connect(&options(&url, &format!("rh-{handling:?}")));
        for expected in expected {
            let request = SubscribeRequest::new()
                .filter(Filter::new("v5/rh", QoS::AtLeastOnce).retain_handling(handling));
            let messages = subscribe(&client, request);
            let mut retained = false;
            for _ in 0..2 {
                marker += 1;
                let live = format!("marker {marker}");
                publisher
                    .publish("v5/rh", live.clone(), QoS::AtLeastOnce, false)
                    .unwrap()
                    .wait_timeout(WAIT)
                    .unwrap();
                loop {
                    let message = messages.recv_timeout(WAIT).unwrap();
                    if message.payload[..] == *live.as_bytes() {
                        break;
                    }
                    assert_eq!(
                        &message.payload[..],
                        b"retained",
                        "{handling:?}: {message:?}"
                    );
                    retained = true;
                }
            }
            assert_eq!(retained, expected, "{handling:?}");
        }
        client.disconnect(WAIT).unwrap();
    }
}

#[test]
fn retain_as_published_keeps_the_retain_flag_of_live_messages() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let keeping = connect(&options(&url, "rap-keep"));
    let clearing = connect(&options(&url, "rap-clear"));
    let request = |rap| {
        SubscribeRequest::new().filter(
            Filter::new("v5/rap", QoS::AtLeastOnce)
                .retain_as_published(rap)
                .retain_handling(RetainHandling::DoNotSend),
        )
    };
    let kept = subscribe(&keeping, request(true));
    let cleared = subscribe(&clearing, request(false));
    keeping
        .publish("v5/rap", "live", QoS::AtLeastOnce, true)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert!(kept.recv_timeout(WAIT).unwrap().retain);
    assert!(!cleared.recv_timeout(WAIT).unwrap().retain);
}

#[test]
fn a_will_with_a_delay_waits_and_is_cancelled_by_a_reconnect_in_time() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let watcher = connect(&options(&url, "will-watch"));
    let wills = subscribe(&watcher, filter("v5/will/#", QoS::AtLeastOnce));
    for comes_back in [true, false] {
        let will = LastWill::new(format!("v5/will/{comes_back}"), "gone")
            .qos(QoS::AtLeastOnce)
            .delay_interval(3);
        let options = options(&url, &format!("will-{comes_back}"))
            .clean_start(false)
            .session_expiry(60)
            .last_will(will);
        let (client, event_loop) = mqtt_blocking::new(&options).unwrap();
        let running = event_loop.start().unwrap();
        client.wait_connected(WAIT).unwrap();
        // Gone without DISCONNECT.
        running.abort();
        running.join().unwrap();
        assert!(
            wills.recv_timeout(Duration::from_secs(1)).is_err(),
            "a will before its delay"
        );
        if comes_back {
            let again = connect(&options);
            assert!(
                wills.recv_timeout(Duration::from_secs(4)).is_err(),
                "a will after a reconnect in time"
            );
            again.disconnect(WAIT).unwrap();
        } else {
            let will = wills.recv_timeout(WAIT).unwrap();
            assert_eq!(will.topic, "v5/will/false");
        }
    }
}

#[test]
fn outgoing_topic_aliases_serve_more_topics_than_aliases() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let subscriber = connect(&options(&url, "alias-sub"));
    let messages = subscribe(&subscriber, filter("v5/alias/#", QoS::AtLeastOnce));
    let long = "a-topic-level-long-enough-that-an-alias-saves-bytes".repeat(2);
    let mut bytes = Vec::new();
    for aliases in [0u16, 3] {
        let publisher =
            connect(&options(&url, &format!("alias-{aliases}")).topic_aliases(0, aliases));
        let before = publisher.stats().bytes_sent;
        let mut sent = Vec::new();
        for (round, repeats) in [(0, 5), (1, 1)] {
            for t in 0..8 {
                for r in 0..repeats {
                    let topic = format!("v5/alias/{t}/{long}");
                    let payload = format!("{aliases}:{round}:{t}:{r}");
                    publisher
                        .publish(topic.clone(), payload.clone(), QoS::AtLeastOnce, false)
                        .unwrap()
                        .wait_timeout(WAIT)
                        .unwrap();
                    sent.push((topic, payload));
                }
            }
        }
        bytes.push(publisher.stats().bytes_sent - before);
        for (topic, payload) in sent {
            let got = messages.recv_timeout(WAIT).unwrap();
            assert_eq!(
                (got.topic, got.payload),
                (topic, payload.into_bytes().into())
            );
        }
        publisher.disconnect(WAIT).unwrap();
    }
    assert!(bytes[1] < bytes[0], "aliases saved nothing: {bytes:?}");
}

#[test]
fn an_expired_queued_message_is_not_delivered() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let persistent = options(&url, "expiry-sub")
        .clean_start(false)
        .session_expiry(300);
    let subscriber = connect(&persistent);
    drop(subscribe(
        &subscriber,
        filter("v5/expiry", QoS::AtLeastOnce),
    ));
    subscriber.disconnect(WAIT).unwrap();
    let publisher = connect(&options(&url, "expiry-pub"));
    for message in [
        Message::new("v5/expiry", "expires")
            .qos(QoS::AtLeastOnce)
            .message_expiry_interval(1),
        Message::new("v5/expiry", "stays").qos(QoS::AtLeastOnce),
    ] {
        publisher
            .publish_message(message)
            .unwrap()
            .wait_timeout(WAIT)
            .unwrap();
    }
    // The first message's second passes while nobody takes it.
    thread::sleep(Duration::from_millis(2500));
    let subscriber = connect(&persistent);
    let queued = subscriber.messages();
    assert_eq!(&queued.recv_timeout(WAIT).unwrap().payload[..], b"stays");
}

#[test]
fn unsubscribe_reports_a_code_per_filter() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let client = connect(&options(&url, "unsub").user_property("app", "tests"));
    drop(subscribe(&client, filter("v5/unsub/a", QoS::AtMostOnce)));
    let codes = client
        .unsubscribe_with(UnsubscribeRequest::new(["v5/unsub/a", "v5/unsub/never"]))
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(
        codes,
        [ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
    );
}

#[test]
fn requests_from_many_threads_each_get_their_own_response() {
    let broker = mosquitto();
    let url = broker.url(Listener::Plain);
    let responder = connect(&options(&url, "responder"));
    responder
        .respond("v5/service/+", QoS::AtLeastOnce, |request| {
            let mut answer = b"answer to ".to_vec();
            answer.extend_from_slice(&request.payload);
            Some(answer.into())
        })
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let requester = connect(&options(&url, "requester"));
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let requester = requester.clone();
            thread::spawn(move || {
                for i in 0..10 {
                    let question = format!("{t}:{i}");
                    let answer = requester
                        .request(format!("v5/service/{t}"), question.clone(), WAIT)
                        .unwrap();
                    assert_eq!(answer.payload, format!("answer to {question}").as_bytes());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

// ----- against the fake broker -----

#[test]
fn enhanced_authentication_and_reauthentication_with_messages_in_flight() {
    let server = fake(BrokerConfig {
        auth: Some(BrokerAuth::hmac(KEY)),
        ..BrokerConfig::default()
    });
    let authenticator = HmacAuthenticator::new(KEY);
    let client = connect(&options(&server.url(), "auth").authenticator(authenticator.clone()));
    assert_eq!(server.broker().authentications(), (1, 0));
    let mut deliveries = Vec::new();
    let mut reauthenticated = None;
    for i in 0..40 {
        deliveries.push(
            client
                .publish(format!("auth/{i}"), "x", QoS::AtLeastOnce, false)
                .unwrap(),
        );
        if i == 20 {
            reauthenticated = Some(client.reauthenticate().unwrap());
        }
    }
    reauthenticated.unwrap().wait_timeout(WAIT).unwrap();
    for delivery in deliveries {
        delivery.wait_timeout(WAIT).unwrap();
    }
    assert_eq!(server.broker().authentications(), (1, 1));
    assert_eq!(authenticator.succeeded(), 2);
    assert!(server.broker().violations().is_empty());
}

#[test]
fn a_server_that_cannot_prove_itself_is_refused() {
    let server = fake(BrokerConfig {
        auth: Some(BrokerAuth {
            tamper_proof: true,
            ..BrokerAuth::hmac(KEY)
        }),
        ..BrokerConfig::default()
    });
    let options = options(&server.url(), "auth-refused").authenticator(HmacAuthenticator::new(KEY));
    let refused = mqtt_blocking::connect(&options);
    let expected = Disconnection::Protocol(proto::ProtocolError::AuthenticationFailed(
        AuthError::Rejected,
    ));
    assert!(
        matches!(&refused, Err(Error::ConnectionFailed(reason)) if *reason == expected),
        "{refused:?}"
    );
}

#[test]
fn redirections_by_connack_and_by_disconnect_move_the_client() {
    let target = fake(BrokerConfig::default());
    let moving = fake(BrokerConfig::default());
    let first = fake(BrokerConfig {
        redirect: Some((ReasonCode::USE_ANOTHER_SERVER, moving.address())),
        ..BrokerConfig::default()
    });
    let (client, event_loop) = mqtt_blocking::new(&options(&first.url(), "redirect")).unwrap();
    let states = states(&client);
    let _running = event_loop.start().unwrap();
    let next = || states.recv_timeout(WAIT).unwrap();
    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(ConnectionState::Connected { .. })) {
        seen.push(next());
    }
    assert!(seen.contains(&ConnectionState::Redirected {
        to: moving.url(),
        permanent: false
    }));
    assert!(
        matches!(seen.last(), Some(ConnectionState::Connected { broker, .. }) if *broker == moving.url())
    );
    // The redirected server moves the client on, for good.
    moving
        .broker()
        .send_disconnect_with(ReasonCode::SERVER_MOVED, None, Some(&target.address()));
    seen.clear();
    while !matches!(seen.last(), Some(ConnectionState::Connected { .. })) {
        seen.push(next());
    }
    assert!(
        seen.contains(&ConnectionState::Redirected {
            to: target.url(),
            permanent: true
        }),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(ConnectionState::Connected { broker, .. }) if *broker == target.url())
    );
    client
        .publish("moved/t", "x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(target.broker().received().len(), 1);
    client.disconnect(WAIT).unwrap();
}

#[test]
fn reason_strings_of_every_packet_reach_the_application() {
    let server = fake(BrokerConfig {
        reason_strings: true,
        ..BrokerConfig::default()
    });
    let client = connect(&options(&server.url(), "reasons"));
    let last = |packet: &str| {
        let reason = client.last_reason().expect("a reason string");
        assert_eq!(
            (reason.packet.to_string(), reason.reason_string),
            (packet.to_owned(), format!("fake broker: {packet}"))
        );
    };
    last("CONNACK");
    drop(subscribe(&client, filter("reasons/#", QoS::AtMostOnce)));
    last("SUBACK");
    client
        .publish("other/1", "x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    last("PUBACK");
    client
        .publish("other/2", "x", QoS::ExactlyOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    last("PUBCOMP");
    client
        .unsubscribe(["reasons/#".to_owned()])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    last("UNSUBACK");
    let states = states(&client);
    let _current = states.recv_timeout(WAIT).unwrap();
    server.broker().send_disconnect_with(
        ReasonCode::ADMINISTRATIVE_ACTION,
        Some("maintenance"),
        None,
    );
    assert_eq!(
        states.recv_timeout(WAIT).unwrap(),
        ConnectionState::Lost(Disconnection::ServerDisconnect(
            ReasonCode::ADMINISTRATIVE_ACTION
        ))
    );
    assert_eq!(client.last_reason().unwrap().reason_string, "maintenance");
}

#[test]
fn a_connack_lowering_maximum_qos_makes_higher_publishing_a_typed_error() {
    let server = fake(BrokerConfig {
        maximum_qos: QoS::AtMostOnce,
        ..BrokerConfig::default()
    });
    let client = connect(&options(&server.url(), "maxqos"));
    assert_eq!(client.server_info().unwrap().maximum_qos, QoS::AtMostOnce);
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let refused = client.publish("maxqos/t", "x", qos, false);
        assert!(
            matches!(
                refused,
                Err(Error::Publish(PublishError::QoSNotSupported { max: 0 }))
            ),
            "{refused:?}"
        );
    }
    drop(
        client
            .publish("maxqos/t", "x", QoS::AtMostOnce, false)
            .unwrap(),
    );
    assert!(sees(&server, |b| !b.received().is_empty()));
    assert_eq!(
        server.broker().received().len(),
        1,
        "only the QoS 0 message"
    );
}

#[test]
fn disconnect_with_properties_reaches_the_broker() {
    let server = fake(BrokerConfig::default());
    let client = connect(
        &options(&server.url(), "goodbye")
            .session_expiry(60)
            .last_will(LastWill::new("goodbye/will", "w")),
    );
    client
        .disconnect_with(
            DisconnectOptions::new()
                .with_will()
                .session_expiry_interval(0)
                .reason_string("bye"),
            WAIT,
        )
        .unwrap();
    assert!(sees(&server, |b| b.wills().len() == 1));
    assert!(!server.broker().has_session());
}
