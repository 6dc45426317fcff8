//! [`Capture`]: a `tracing` subscriber that keeps every event and span as text, for tests of what the std
//! clients log (issue 13: what a person debugging a reconnect loop needs, and never a secret).
//!
//! ```
//! use mqtt_test::Capture;
//!
//! let capture = Capture::default();
//! tracing::subscriber::with_default(capture.clone(), || {
//!     tracing::info!(broker = "mqtt://h:1883", "connecting");
//! });
//! let events = capture.events();
//! assert_eq!(events[0].message, "connecting");
//! assert_eq!(events[0].field("broker"), Some("mqtt://h:1883"));
//! assert!(capture.text().contains("INFO connecting broker=mqtt://h:1883"));
//! ```

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event (or the opening of a span), as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Its level.
    pub level: Level,
    /// Its target (the module path of the code that emitted it).
    pub target: String,
    /// Its message; for a span, `span <name>`.
    pub message: String,
    /// Its other fields, in order, each as `Display` (strings) or `Debug` (everything else) text.
    pub fields: Vec<(String, String)>,
}

impl Captured {
    /// The value of field `name`, if it has one.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.level, self.message)?;
        for (name, value) in &self.fields {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

/// A `tracing` subscriber that records everything, at every level; cheap to clone (the clones share the record).
/// Install it for a thread with `tracing::subscriber::with_default`, or for the process with [`global`](Self::global)
/// when the code under test runs on threads of its own.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    events: Arc<Mutex<Vec<Captured>>>,
    next_span: Arc<AtomicU64>,
}

impl Capture {
    /// The capture installed as the process's default subscriber (installed at the first call).
    ///
    /// # Panics
    ///
    /// If another global subscriber was installed first.
    pub fn global() -> &'static Self {
        static GLOBAL: OnceLock<Capture> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let capture = Self::default();
            tracing::subscriber::set_global_default(capture.clone())
                .unwrap_or_else(|e| panic!("another global subscriber: {e}"));
            capture
        })
    }

    /// Everything recorded so far, in order.
    pub fn events(&self) -> Vec<Captured> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Everything recorded so far, one event a line.
    pub fn text(&self) -> String {
        self.events().iter().fold(String::new(), |mut text, event| {
            let _ = writeln!(text, "{event}");
            text
        })
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn push(&self, captured: Captured) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(captured);
    }
}

/// Collects an event's fields as text.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, String)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        span.record(&mut fields);
        let metadata = span.metadata();
        self.push(Captured {
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            message: format!("span {}", metadata.name()),
            fields: fields.fields,
        });
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        self.push(Captured {
            level: *metadata.level(),
            target: metadata.target().to_owned(),
            message: fields.message,
            fields: fields.fields,
        });
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Expands to the logging test of one async std binding (`#[test]` functions in the calling module, which must be
/// a test binary of its own: the test installs [`Capture::global`]). A client is refused, connects, pauses for a
/// full queue, refuses a publish for a full outgoing queue and meets a protocol error, against the
/// [`FakeBrokerServer`](crate::FakeBrokerServer); its log must say all of that, and hold no password, no URL
/// password and no payload. mqtt-blocking runs the same scenario written for threads.
///
/// ```ignore
/// // mqtt-tokio/tests/logging.rs
/// mqtt_test::logging_tests!(client = mqtt_tokio, test = #[tokio::test], timeout = tokio::time::timeout);
/// ```
#[macro_export]
macro_rules! logging_tests {
    (client = $client:ident, test = #[$test:meta], timeout = $timeout:path $(,)?) => {
        $crate::logging_tests!(@all $client, [attribute $test], $timeout);
    };
    (client = $client:ident, block_on = $block_on:path, timeout = $timeout:path $(,)?) => {
        $crate::logging_tests!(@all $client, [block_on $block_on], $timeout);
    };

    (@test [attribute $test:meta] $name:ident $body:block) => {
        #[$test]
        async fn $name() $body
    };
    (@test [block_on $block_on:path] $name:ident $body:block) => {
        #[test]
        fn $name() {
            $block_on(async { $body })
        }
    };

    (@all $client:ident, $how:tt, $timeout:path) => {
        $crate::logging_tests!(@test $how the_log_explains_a_reconnect_loop_and_holds_no_secret_and_no_payload {
            use ::core::time::Duration;
            use ::futures::StreamExt as _;
            use $client::{ConnectionState, Disconnection, Error, Options, ProtocolVersion, PublishError, QoS};

            const WAIT: Duration = Duration::from_secs(10);
            const PASSWORD: &str = "hunter2-correct-horse";
            const URL_PASSWORD: &str = "url-secret-pw";
            const PAYLOAD: &str = "payload-never-logged";

            async fn within<T>(what: &str, future: impl ::core::future::Future<Output = T>) -> T {
                $timeout(WAIT, future)
                    .await
                    .unwrap_or_else(|_| panic!("timed out: {what}"))
            }

            let capture = $crate::Capture::global();
            let broker = $crate::FakeBrokerServer::start($crate::BrokerConfig {
                // Server unavailable: refused, and retried.
                refuse_connect: Some($client::ReasonCode(3)),
                ..$crate::BrokerConfig::default()
            })
            .unwrap();
            let url = broker.url().replace("mqtt://", &format!("mqtt://alice:{URL_PASSWORD}@"));
            let options = Options::new(&url)
                .unwrap()
                .client_id("logged")
                .credentials("alice", PASSWORD)
                .will("log/will", PAYLOAD, QoS::AtLeastOnce, false)
                .version(ProtocolVersion::V311)
                .reconnect($client::ReconnectPolicy {
                    initial_delay: Duration::from_millis(20),
                    ..$client::ReconnectPolicy::default()
                })
                .message_capacity(1)
                .queue_bytes(4096);
            let (client, event_loop) = $client::new(&options).unwrap();
            let mut states = client.states();
            async fn next<S: ::futures::Stream<Item = ConnectionState> + Unpin>(
                states: &mut S,
                what: &str,
            ) -> ConnectionState {
                within(what, states.next()).await.expect("the states ended")
            }
            let scenario = async {
                let pause = || $timeout(Duration::from_millis(5), ::futures::future::pending::<()>());
                // Refused once, then accepted.
                loop {
                    if let ConnectionState::Refused(_) = next(&mut states, "the refusal").await {
                        break;
                    }
                }
                broker.broker().refuse_connect(None);
                while !matches!(next(&mut states, "the connection").await, ConnectionState::Connected { .. }) {}
                // A subscription that holds one message, and three for it: reading pauses.
                let mut inbox = client.subscribe("log/in", QoS::AtLeastOnce).await.unwrap();
                for _ in 0..3 {
                    broker.broker().inject("log/in", PAYLOAD.as_bytes(), QoS::AtLeastOnce, false);
                }
                within("the pause", async {
                    while !capture.text().contains("reading from the broker is paused") {
                        let _ = pause().await;
                    }
                })
                .await;
                for _ in 0..3 {
                    let message = within("a message", inbox.recv()).await.unwrap();
                    assert_eq!(message.payload.as_ref(), PAYLOAD.as_bytes());
                }
                // Acknowledgements held: the outgoing queue fills and refuses.
                broker.broker().hold_acks();
                let mut deliveries = Vec::new();
                let refused = loop {
                    match client.publish("log/out", vec![b'x'; 256], QoS::AtLeastOnce, false).await {
                        Ok(delivery) => deliveries.push(delivery),
                        Err(error) => break error,
                    }
                    assert!(deliveries.len() < 1000, "the queue never filled");
                };
                assert!(
                    matches!(refused, Error::Publish(PublishError::QueueFull)),
                    "{refused:?}"
                );
                broker.broker().release_acks();
                for delivery in deliveries {
                    within("a delivery", delivery.wait()).await.unwrap();
                }
                // A second CONNACK: the broker broke the protocol.
                broker.broker().send_raw(&[0x20, 0x02, 0x00, 0x00]);
                loop {
                    match next(&mut states, "the protocol error").await {
                        ConnectionState::Lost(Disconnection::Protocol(_)) => break,
                        ConnectionState::Lost(other) => panic!("lost for another reason: {other}"),
                        _ => {}
                    }
                }
                while !matches!(next(&mut states, "the reconnection").await, ConnectionState::Connected { .. }) {}
                within("disconnect", client.disconnect(WAIT)).await.unwrap();
            };
            ::futures::future::join(event_loop.run(), scenario).await;

            let text = capture.text();
            let port = broker.address();
            for wanted in [
                // The event loop's span names the client.
                "span mqtt client_id=logged".to_owned(),
                // Each attempt, with the URL but without its password.
                format!("connecting broker=mqtt://{port}"),
                // The refusal with its reason, and the delay before the next attempt.
                "connection refused refusal=server unavailable".to_owned(),
                "reconnecting attempt=1 delay=".to_owned(),
                format!("connected broker=mqtt://{port}"),
                // The protocol error, with what the broker sent.
                "the broker broke the protocol: the connection is closed error=unexpected CONNACK".to_owned(),
                // Backpressure, both ways.
                "a message queue is full: reading from the broker is paused".to_owned(),
                "publish refused: the outgoing queue is full".to_owned(),
                "disconnected".to_owned(),
            ] {
                assert!(text.contains(&wanted), "no `{wanted}` in the log:\n{text}");
            }
            for secret in [PASSWORD, URL_PASSWORD, PAYLOAD, "hunter2"] {
                assert!(!text.contains(secret), "`{secret}` in the log:\n{text}");
            }
        });
    };
}
