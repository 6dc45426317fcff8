//! mqtt-embedded's MQTT 5.0, without an allocator in the client: enhanced authentication and re-authentication
//! with messages in flight, SUBSCRIBE and UNSUBSCRIBE properties, what CONNACK announced, the latest reason string,
//! a DISCONNECT with properties; against the fake broker over an in-memory stream, in virtual time.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use embassy_futures::select::{Either, select};
use mqtt_embedded::proto::codec::{
    DisconnectProperties, List, PacketType, SubscriptionId, UserProperty,
};
use mqtt_embedded::{
    Authenticator, Clock, Config, Disconnect, Instant, NoopRawMutex, Publish, PublishProperties,
    QoS, ReasonCode, Resources, SubscribeProperties, Subscription, UnsubscribeProperties,
};
use mqtt_test::memory::MemoryConnector as Connector;
use mqtt_test::{BrokerAuth, BrokerConfig, FakeBroker, HmacAuthenticator};

const KEY: &[u8] = b"device key";

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the test did not finish: the client is stuck");
}

/// Virtual time: a sleep yields once, then jumps to its deadline.
#[derive(Clone, Default)]
struct VirtualClock(Rc<Cell<u64>>);

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.get())
    }

    async fn sleep_until(&self, deadline: Instant) {
        let mut yielded = false;
        poll_fn(|_| {
            if core::mem::replace(&mut yielded, true) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        self.0.set(self.0.get().max(deadline.as_millis()));
    }
}

type Client = mqtt_embedded::Client<'static, NoopRawMutex, Connector, VirtualClock>;
type Res = Resources<'static, NoopRawMutex, Connector, VirtualClock, 4096, 8192, 1024, 512>;

/// Runs `app` against a client of `broker` (with `authenticator`, if any) until it returns.
fn run<T>(
    config: &Config<'_>,
    broker: BrokerConfig,
    authenticator: Option<HmacAuthenticator>,
    app: impl AsyncFnOnce(Client, Rc<RefCell<FakeBroker>>) -> T,
) -> T {
    let resources: &'static mut Res = Box::leak(Box::new(Resources::new()));
    let broker = Rc::new(RefCell::new(FakeBroker::new(broker)));
    let connector = Connector {
        broker: broker.clone(),
        fail_first: 0,
        attempts: Rc::default(),
    };
    let clock = VirtualClock::default();
    let (client, runner) = match authenticator {
        Some(authenticator) => {
            let authenticator: &'static mut (dyn Authenticator + Send) =
                Box::leak(Box::new(authenticator));
            mqtt_embedded::new_with_authenticator(
                config,
                resources,
                connector,
                clock,
                authenticator,
            )
        }
        None => mqtt_embedded::new(config, resources, connector, clock),
    }
    .expect("the buffers fit the configuration");
    match block_on(select(runner.run(|_| {}), app(client, broker))) {
        Either::First(never) => never,
        Either::Second(result) => result,
    }
}

async fn connected(client: &Client) {
    poll_fn(|_| match client.is_connected() {
        true => Poll::Ready(()),
        false => Poll::Pending,
    })
    .await;
}

#[test]
fn a_device_authenticates_and_reauthenticates_with_messages_in_flight() {
    let broker = BrokerConfig {
        auth: Some(BrokerAuth::hmac(KEY)),
        ..BrokerConfig::default()
    };
    let authenticator = HmacAuthenticator::new(KEY);
    let watch = authenticator.clone();
    run(
        &Config::new("device"),
        broker,
        Some(authenticator),
        async |client, broker| {
            connected(&client).await;
            assert_eq!(broker.borrow().authentications(), (1, 0));
            let mut deliveries = Vec::new();
            for i in 0..3 {
                let topic = format!("d/{i}");
                let message = Publish {
                    topic: &topic,
                    payload: b"x",
                    qos: QoS::AtLeastOnce,
                    ..Publish::default()
                };
                deliveries.push(client.queue(&message).await.unwrap());
            }
            client.reauthenticate().await.unwrap();
            for delivery in deliveries {
                delivery.wait().await.unwrap();
            }
            assert_eq!(broker.borrow().authentications(), (1, 1));
            let method = client.with_server_info(|info| info.map(|i| i.maximum_qos));
            assert_eq!(method, Some(QoS::ExactlyOnce));
        },
    );
    assert_eq!(watch.succeeded(), 2);
}

#[test]
fn a_device_subscribes_with_properties_and_reads_the_brokers_reasons() {
    let broker = BrokerConfig {
        reason_strings: true,
        ..BrokerConfig::default()
    };
    let config = Config {
        text_len: 128,
        ..Config::new("device-props")
    };
    run(&config, broker, None, async |client, broker| {
        connected(&client).await;
        let user = [UserProperty {
            name: "site",
            value: "roof",
        }];
        let properties = SubscribeProperties {
            subscription_identifier: SubscriptionId::new(9),
            user_properties: List::new(&user),
        };
        let granted = client
            .subscribe_with(&[Subscription::new("d/#", QoS::AtLeastOnce)], &properties)
            .await
            .unwrap();
        assert_eq!(granted.get(0), Some(Ok(QoS::AtLeastOnce)));
        assert_eq!(granted.len(), 1);
        let reason = client.with_last_reason(|r| r.map(|r| (r.packet, r.reason_string.to_owned())));
        assert_eq!(
            reason,
            Some((PacketType::SubAck, "fake broker: SUBACK".to_owned()))
        );
        let message = Publish {
            topic: "d/1",
            payload: b"{}",
            qos: QoS::AtLeastOnce,
            properties: PublishProperties {
                content_type: Some("application/json"),
                ..PublishProperties::default()
            },
            ..Publish::default()
        };
        client.queue(&message).await.unwrap().wait().await.unwrap();
        let unsubscribe = UnsubscribeProperties {
            user_properties: List::new(&user),
        };
        client
            .unsubscribe_with(&["d/#"], &unsubscribe)
            .await
            .unwrap();
        let info = client.with_server_info(|i| i.and_then(|i| i.reason_string.map(str::to_owned)));
        assert_eq!(info.as_deref(), Some("fake broker: CONNACK"));
        let goodbye = Disconnect {
            reason: ReasonCode::NORMAL_DISCONNECTION,
            properties: DisconnectProperties {
                reason_string: Some("battery low"),
                ..DisconnectProperties::default()
            },
        };
        client.disconnect_with(&goodbye).await.unwrap();
        assert!(!broker.borrow().is_connected());
    });
}
