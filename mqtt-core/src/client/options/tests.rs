//! The options: environment, secrets kept out of `Debug`, reconnect seeds, what a session gets from them.

use super::*;

fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[test]
fn from_env_reads_broker_port_and_credentials() {
    let options = Options::from_vars(vars(&[
        ("MQTT_BROKER", "broker.local"),
        ("MQTT_PORT", "1884"),
        ("MQTT_USERNAME", "dev"),
        ("MQTT_PASSWORD", "pw"),
        ("MQTT_CLIENT_ID", "me"),
    ]))
    .unwrap();
    assert_eq!(options.brokers(), ["mqtt://broker.local:1884"]);
    assert_eq!(options.username.as_deref(), Some("dev"));
    assert_eq!(options.password.as_deref(), Some(&b"pw"[..]));
    assert_eq!(options.client_id, "me");

    let options = Options::from_vars(vars(&[
        ("MQTT_BROKER", "wss://b.example/ws"),
        ("MQTT_PORT", "9443"),
    ]))
    .unwrap();
    assert_eq!(options.brokers(), ["wss://b.example:9443/ws"]);
    assert!(matches!(
        Options::from_vars(vars(&[])),
        Err(Error::Environment(_))
    ));
    assert!(matches!(
        Options::from_vars(vars(&[("MQTT_BROKER", "b"), ("MQTT_PORT", "x")])),
        Err(Error::Environment(_))
    ));
}

const PASSWORD: &str = "hunter2-correct-horse";

#[test]
fn debug_of_options_shows_no_password_no_will_payload_and_no_key() {
    let options = Options::new("mqtts://user:url-secret-pw@host")
        .unwrap()
        .credentials("me", PASSWORD)
        .will("w", PASSWORD, QoS::AtLeastOnce, false)
        .client_auth_pem("-----BEGIN CERTIFICATE-----", PASSWORD);
    for text in [format!("{options:?}"), format!("{options:#?}")] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains("url-secret-pw"), "{text}");
        assert!(text.contains("redacted"), "{text}");
        assert!(text.len() < 4096, "{} bytes", text.len());
    }
    let session = options.session().unwrap();
    let text = format!("{session:?}");
    assert!(!text.contains(PASSWORD), "{text}");
    // The std store is 4 MiB: its Debug used to be a dump of it.
    assert!(text.len() < 2048, "{} bytes", text.len());
}

/// The delays a session made from `options` draws when its broker never answers.
fn delays(options: &Options) -> Vec<Duration> {
    let mut session = options.session().unwrap();
    let mut now = crate::Instant::from_millis(1);
    session.connect(now);
    let mut delays = Vec::new();
    while delays.len() < 6 {
        while session.poll_transport().is_some() {}
        session.handle_transport_down(now);
        while let Some(event) = session.poll_event() {
            if let crate::Event::Reconnecting { delay, .. } = event {
                delays.push(delay);
                now += delay;
            }
        }
        session.handle_timeout(now);
    }
    delays
}

#[test]
fn two_clients_from_the_same_options_code_draw_different_reconnect_delays() {
    let a = Options::new("mqtt://host").unwrap();
    let b = Options::new("mqtt://host").unwrap();
    assert_ne!(a.jitter_seed, b.jitter_seed);
    assert_ne!(delays(&a), delays(&b));
    // The seed survives a policy of the application's own, and can be fixed for reproducible runs.
    let policy = ReconnectPolicy::default();
    let c = Options::new("mqtt://host").unwrap().reconnect(policy);
    assert_ne!(delays(&a), delays(&c));
    let fixed = |seed| Options::new("mqtt://host").unwrap().jitter_seed(seed);
    assert_eq!(delays(&fixed(9)), delays(&fixed(9)));
}

#[test]
fn options_give_the_session_its_broker_count_version_fall_back_and_3_1_1_window() {
    let options = Options::new("mqtt://a")
        .unwrap()
        .failover("mqtt://b")
        .unwrap()
        .failover("mqtt://c")
        .unwrap();
    let mut session = options.session().unwrap();
    let now = crate::Instant::from_millis(1);
    session.connect(now);
    let mut brokers = Vec::new();
    for _ in 0..3 {
        while session.poll_transport().is_some() {}
        brokers.push(session.broker());
        session.handle_transport_down(now);
        while session.poll_event().is_some() {}
    }
    assert_eq!(brokers, [0, 1, 2]);
    assert!(options.fallback_to_v311);
    assert!(
        !options
            .clone()
            .version(ProtocolVersion::V5)
            .fallback_to_v311
    );
    assert_eq!(options.window_v311(), 20);
}

#[test]
fn a_max_inflight_given_applies_to_311_connections_unless_their_own_is_given() {
    let options = Options::new("mqtt://host").unwrap();
    assert_eq!(options.clone().max_inflight(100).window_v311(), 100);
    assert_eq!(options.clone().max_inflight(5).window_v311(), 5);
    assert_eq!(
        options
            .clone()
            .max_inflight(100)
            .max_inflight_v311(30)
            .window_v311(),
        30
    );
    assert_eq!(
        options
            .clone()
            .max_inflight_v311(30)
            .max_inflight(100)
            .window_v311(),
        30
    );
    assert_eq!(options.max_inflight_v311(30).window_v311(), 30);
}

#[test]
fn credentials_in_the_url_are_used_and_not_kept_in_it() {
    let options = Options::new("mqtts://user:pa:ss@host").unwrap();
    assert_eq!(options.brokers(), ["mqtts://host:8883"]);
    assert_eq!(options.username.as_deref(), Some("user"));
    assert_eq!(options.password.as_deref(), Some(&b"pa:ss"[..]));
}

#[test]
fn the_first_connection_may_take_a_connect_timeout_per_broker() {
    // Three nodes, the first one hung: its attempt takes the whole connect timeout before the second is tried.
    let one = Options::new("mqtt://a")
        .unwrap()
        .connect_timeout(Duration::from_secs(3));
    assert_eq!(one.first_connection_timeout(), Duration::from_secs(3));
    let three = one
        .failover("mqtt://b")
        .unwrap()
        .failover("mqtt://c")
        .unwrap();
    assert_eq!(three.first_connection_timeout(), Duration::from_secs(9));
}

#[test]
fn percent_encoded_credentials_in_the_url_are_decoded() {
    // RFC 3986 §3.2.1: the userinfo is percent-encoded; an e-mail user name or a password with `@`, `:` or `/`
    // can only be written so.
    let options = Options::new("mqtt://me%40example.com:p%40ss%3Aw%2Frd%25@broker.local").unwrap();
    assert_eq!(options.username.as_deref(), Some("me@example.com"));
    assert_eq!(options.password.as_deref(), Some(&b"p@ss:w/rd%"[..]));
    // A `%` that starts no escape is kept as it is.
    let options = Options::new("mqtt://user:50%off%4@broker.local").unwrap();
    assert_eq!(options.password.as_deref(), Some(&b"50%off%4"[..]));
}

#[test]
fn from_env_keeps_the_urls_credentials_when_the_port_is_given_apart() {
    let options = Options::from_vars(vars(&[
        ("MQTT_BROKER", "mqtt://dev:pw@broker.local"),
        ("MQTT_PORT", "1884"),
    ]))
    .unwrap();
    assert_eq!(options.brokers(), ["mqtt://broker.local:1884"]);
    assert_eq!(options.username.as_deref(), Some("dev"));
    assert_eq!(options.password.as_deref(), Some(&b"pw"[..]));
}
