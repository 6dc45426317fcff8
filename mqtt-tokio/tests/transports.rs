//! TLS, mutual TLS, WebSocket and WebSocket over TLS against a real mosquitto, started by the harness with
//! certificates it generates.

use std::time::Duration;

use embedded_io_async::Read as _;
use futures::StreamExt as _;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{
    ConnectionState, Connector, Disconnection, Error, Options, QoS, ReconnectPolicy, TlsError,
};
use proto::io::Connect as _;

const WAIT: Duration = Duration::from_secs(10);

fn broker(config: MosquittoConfig) -> Mosquitto {
    Mosquitto::start(config).unwrap_or_else(|e| panic!("{e}"))
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Options for a listener of `broker`, trusting its CA.
fn options(broker: &Mosquitto, listener: Listener, id: &str) -> Options {
    let options = Options::new(&broker.url(listener)).unwrap().client_id(id);
    match broker.ca_pem() {
        Some(ca) => options.ca_pem(ca),
        None => options,
    }
}

/// Connects, subscribes, publishes 64 KiB at QoS 1 and receives it back, then disconnects.
async fn round_trip(options: Options, topic: &str) {
    let client = within("connect", mqtt_tokio::connect(options))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let mut messages = within("subscribe", client.subscribe(topic, QoS::AtLeastOnce))
        .await
        .unwrap();
    let payload: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    let delivery = within(
        "publish",
        client.publish(topic, payload.clone(), QoS::AtLeastOnce, false),
    )
    .await
    .unwrap();
    within("PUBACK", delivery.wait()).await.unwrap();
    let message = within("the message back", messages.recv())
        .await
        .expect("the subscription ended");
    assert_eq!(message.topic, topic);
    assert_eq!(message.qos, QoS::AtLeastOnce);
    assert!(message.payload == payload, "the payload came back changed");
    within("disconnect", client.disconnect(WAIT)).await.unwrap();
}

/// What a connection attempt ends with: the connector's error, or the first read's for a handshake that the
/// client finished before the broker refused it (TLS 1.3 checks the client certificate after that).
async fn refusal(url: &str, options: &Options) -> String {
    let mut connector = Connector::new(url, options).unwrap();
    match within("connect", connector.connect()).await {
        Err(error) => error.to_string(),
        Ok(mut stream) => {
            let mut buf = [0; 16];
            let read = within("the broker's answer", stream.read(&mut buf)).await;
            read.expect_err("the broker must refuse the connection")
                .to_string()
        }
    }
}

/// The client as a whole fails attempt after attempt, and never connects.
async fn never_connects(options: Options) {
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    };
    let (client, event_loop) = mqtt_tokio::new(&options.reconnect(policy)).unwrap();
    let mut states = client.states();
    let task = tokio::spawn(event_loop.run());
    let mut failures = 0;
    while failures < 3 {
        match within("the next state", states.next()).await {
            Some(ConnectionState::Lost(Disconnection::TransportClosed)) => failures += 1,
            Some(ConnectionState::Reconnecting { .. }) => {}
            other => panic!("expected failed attempts, got {other:?}"),
        }
    }
    task.abort();
}

#[tokio::test]
async fn tls_carries_a_64_kib_qos1_message_both_ways() {
    let broker = broker(MosquittoConfig::default().with_tls());
    round_trip(options(&broker, Listener::Tls, "tls"), "transports/tls").await;
}

#[tokio::test]
async fn mutual_tls_accepts_a_client_certificate() {
    let broker = broker(MosquittoConfig::default().with_mtls());
    let options = options(&broker, Listener::Mtls, "mtls").client_auth_pem(
        broker.client_cert_pem().unwrap(),
        broker.client_key_pem().unwrap(),
    );
    round_trip(options, "transports/mtls").await;
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_certificate() {
    let broker = broker(MosquittoConfig::default().with_mtls());
    let options = options(&broker, Listener::Mtls, "no-cert");
    let error = refusal(&broker.url(Listener::Mtls), &options).await;
    assert!(
        error.contains("CertificateRequired") || error.contains("HandshakeFailure"),
        "expected the broker's alert, got: {error}"
    );
    never_connects(options).await;
}

#[tokio::test]
async fn websocket_carries_a_64_kib_qos1_message_both_ways() {
    let broker = broker(MosquittoConfig::default().with_websocket());
    round_trip(options(&broker, Listener::Ws, "ws"), "transports/ws").await;
}

#[tokio::test]
async fn secure_websocket_carries_a_64_kib_qos1_message_both_ways() {
    let broker = broker(MosquittoConfig::default().with_secure_websocket());
    round_trip(options(&broker, Listener::Wss, "wss"), "transports/wss").await;
}

#[tokio::test]
async fn another_ca_fails_the_certificate_check() {
    let broker = broker(
        MosquittoConfig::default()
            .with_tls()
            .with_secure_websocket(),
    );
    let other = self::broker(MosquittoConfig::default().with_tls());
    for listener in [Listener::Tls, Listener::Wss] {
        let url = broker.url(listener);
        let options = Options::new(&url)
            .unwrap()
            .client_id("other-ca")
            .ca_pem(other.ca_pem().unwrap());
        let mut connector = Connector::new(&url, &options).unwrap();
        match within("connect", connector.connect()).await {
            // The harness's CAs share their name: the signature check is what fails.
            Err(Error::Tls(TlsError::Certificate(_))) => {}
            Err(other) => panic!("{listener:?}: expected a certificate error, got {other}"),
            Ok(_) => panic!("{listener:?}: connected with the wrong CA"),
        }
        never_connects(options).await;
    }
}

#[tokio::test]
async fn system_roots_do_not_trust_the_test_ca() {
    let broker = broker(MosquittoConfig::default().with_tls());
    let url = broker.url(Listener::Tls);
    let options = Options::new(&url).unwrap().client_id("system-roots");
    match Connector::new(&url, &options) {
        // A machine without system roots refuses the options up front, saying so.
        Err(Error::Tls(TlsError::Config(reason))) => {
            assert!(reason.contains("no system root certificates"), "{reason}");
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(mut connector) => {
            match within("connect", connector.connect()).await {
                Err(Error::Tls(TlsError::Certificate(_))) => {}
                Err(other) => panic!("expected a certificate error, got {other}"),
                Ok(_) => panic!("connected with the system roots"),
            }
            never_connects(options).await;
        }
    }
}

#[test]
fn unusable_tls_options_are_refused_when_the_client_is_made() {
    let tls = || Options::new("mqtts://localhost").unwrap();
    let cases = [
        ("garbage CA", tls().ca_pem("not a certificate")),
        (
            "truncated PEM",
            tls().ca_pem("-----BEGIN CERTIFICATE-----\nMIIB"),
        ),
        ("DER CA", tls().ca_der(vec![0x30, 0x03, 1, 2, 3])),
        (
            "client key",
            tls().client_auth_pem(
                "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                "no key",
            ),
        ),
    ];
    for (what, options) in cases {
        match mqtt_tokio::new(&options) {
            Err(Error::Tls(TlsError::Config(_))) => {}
            Err(other) => panic!("{what}: expected a TLS configuration error, got {other}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
    // TLS options mean nothing to a plain TCP broker.
    let plain = Options::new("mqtt://localhost")
        .unwrap()
        .ca_pem("not a certificate");
    assert!(mqtt_tokio::new(&plain).is_ok());
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused() {
    let broker = broker(MosquittoConfig::default().with_mtls());
    let other = self::broker(MosquittoConfig::default().with_mtls());
    let options = options(&broker, Listener::Mtls, "mismatch").client_auth_pem(
        broker.client_cert_pem().unwrap(),
        other.client_key_pem().unwrap(),
    );
    match mqtt_tokio::new(&options) {
        Err(Error::Tls(TlsError::Config(reason))) => {
            assert!(reason.contains("client certificate"), "{reason}");
        }
        Err(other) => panic!("expected a TLS configuration error, got {other}"),
        Ok(_) => panic!("accepted"),
    }
}

/// A failure found while reading (mosquitto refuses the missing client certificate after the handshake) must still
/// reach the caller when the policy does not retry: `connect` returns the session's verdict, not a timeout.
#[tokio::test]
async fn a_refusal_seen_while_reading_is_reported_with_a_manual_policy() {
    let broker = broker(MosquittoConfig::default().with_mtls());
    let options =
        options(&broker, Listener::Mtls, "no-cert-manual").reconnect(ReconnectPolicy::manual());
    let outcome = within("give up", mqtt_tokio::connect(options)).await;
    assert!(matches!(outcome, Err(Error::GaveUp(_))), "{outcome:?}");
}
