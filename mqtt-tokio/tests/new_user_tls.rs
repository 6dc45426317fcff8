//! mqtt-tokio against server certificates a client must refuse, as users meet them: an expired certificate, a
//! certificate for another host name. `connect` fails at once with the certificate error, not after a round of
//! retries that hides it. Against a real mosquitto started by the harness (TLS and secure WebSocket listeners).

use std::time::Duration;

use mqtt_test::mosquitto::ServerCertificate;
use mqtt_test::{Listener, Mosquitto, MosquittoConfig};
use mqtt_tokio::{Error, Options, TlsError};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_misnamed_server_certificate_fails_connect_at_once_with_the_reason() {
    for (certificate, reason) in [
        (ServerCertificate::Expired, "expired"),
        (ServerCertificate::OtherName, "not valid for name"),
    ] {
        let broker = Mosquitto::start(
            MosquittoConfig::default()
                .with_tls()
                .with_secure_websocket()
                .with_server_certificate(certificate),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for listener in [Listener::Tls, Listener::Wss] {
            let options = Options::new(&broker.url(listener))
                .unwrap()
                .client_id("bad-cert")
                .ca_pem(broker.ca_pem().unwrap());
            let outcome = tokio::time::timeout(WAIT, mqtt_tokio::connect(options))
                .await
                .unwrap_or_else(|_| panic!("{certificate:?} {listener:?}: connect did not return"));
            match outcome {
                Err(Error::Tls(TlsError::Certificate(message))) => assert!(
                    message.to_lowercase().contains(reason),
                    "{certificate:?} {listener:?}: {message}"
                ),
                Err(other) => {
                    panic!(
                        "{certificate:?} {listener:?}: expected a certificate error, got {other}"
                    )
                }
                Ok(_) => panic!("{certificate:?} {listener:?}: connected"),
            }
        }
    }
}
