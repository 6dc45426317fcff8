use super::*;
use crate::failure::Class;

fn args(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|a| a.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

const PUB: &[&str] = &["connect", "publish", "disconnect", "will"];
const SUB: &[&str] = &["connect", "subscribe", "disconnect", "will"];

#[test]
fn publish_properties_go_on_the_message_in_order() {
    let properties = parse(
        &args(&[
            &["PUBLISH", "user-property", "k", "v1"],
            &["publish", "content-type", "text/plain"],
            &["Publish", "message-expiry-interval", "60"],
            &["PUBLISH", "response-topic", "replies/me"],
            &["PUBLISH", "correlation-data", "abc"],
            &["PUBLISH", "payload-format-indicator", "1"],
            &["PUBLISH", "user-property", "k", "v2"],
        ]),
        PUB,
    )
    .unwrap();
    let message = properties.message(Message::new("t", "x"));
    assert_eq!(
        message.user_properties,
        [("k".into(), "v1".into()), ("k".into(), "v2".into())]
    );
    assert_eq!(message.content_type.as_deref(), Some("text/plain"));
    assert_eq!(message.message_expiry_interval, Some(60));
    assert_eq!(message.response_topic.as_deref(), Some("replies/me"));
    assert_eq!(message.correlation_data.as_deref(), Some(&b"abc"[..]));
    assert_eq!(message.payload_format_indicator, Some(true));
}

#[test]
fn will_properties_go_on_the_will_and_disconnect_ones_on_the_disconnect() {
    let properties = parse(
        &args(&[
            &["WILL", "will-delay-interval", "5"],
            &["WILL", "user-property", "a", "b"],
            &["DISCONNECT", "reason-string", "bye"],
        ]),
        PUB,
    )
    .unwrap();
    assert!(properties.has("will"));
    let _ = properties.will(LastWill::new("w", "gone"));
    assert_eq!(
        properties.disconnect(),
        Some(DisconnectOptions::new().reason_string("bye"))
    );
    assert_eq!(Properties::default().disconnect(), None);
}

#[test]
fn subscribe_properties_go_on_the_request() {
    let properties = parse(
        &args(&[
            &["SUBSCRIBE", "subscription-identifier", "42"],
            &["SUBSCRIBE", "user-property", "k", "v"],
        ]),
        SUB,
    )
    .unwrap();
    let request = properties.subscribe([Filter::new("a/#", mqtt_tokio::QoS::AtLeastOnce)]);
    let expected = SubscribeRequest::new()
        .filter(("a/#", mqtt_tokio::QoS::AtLeastOnce))
        .subscription_id(42)
        .user_property("k", "v");
    assert_eq!(request, expected);
}

#[test]
fn connect_properties_are_read() {
    let properties = parse(
        &args(&[
            &["CONNECT", "session-expiry-interval", "3600"],
            &["connect", "receive-maximum", "10"],
            &["Connect", "maximum-packet-size", "4096"],
            &["CONNECT", "user-property", "k", "v"],
            &["CONNECT", "request-problem-information", "0"],
            &["CONNECT", "authentication-method", "TOKEN"],
            &["CONNECT", "authentication-data", "secret"],
        ]),
        PUB,
    )
    .unwrap();
    assert_eq!(
        properties.get("connect", "session-expiry-interval"),
        Some(&Value::Number(3600))
    );
    let options = Options::new("mqtt://localhost").unwrap();
    assert!(properties.connect(options).is_ok());
}

#[test]
fn authentication_data_without_a_method_is_a_usage_error() {
    let properties = parse(&args(&[&["CONNECT", "authentication-data", "secret"]]), PUB).unwrap();
    let failure = properties
        .connect(Options::new("mqtt://localhost").unwrap())
        .unwrap_err();
    assert_eq!(failure.class, Class::Usage);
    assert!(
        failure.to_string().contains("authentication-method"),
        "{failure}"
    );
}

#[test]
fn unknown_misplaced_or_malformed_properties_are_usage_errors_naming_the_property() {
    for (list, needle) in [
        (
            &[&["PUBLISH", "session-expiry-interval", "1"][..]][..],
            "session-expiry-interval",
        ),
        (&[&["SUBSCRIBE", "user-property", "k", "v"]], "SUBSCRIBE"),
        (&[&["CONNECT", "receive-maximum", "0"]], "receive-maximum"),
        (
            &[&["CONNECT", "receive-maximum", "many"]],
            "receive-maximum",
        ),
        (&[&["CONNECT", "user-property", "k"]], "user-property"),
        (&[&["AUTH", "reason-string", "x"]], "auth"),
        (&[&["PUBLISH", "no-such-property", "x"]], "no-such-property"),
        (
            &[&["PUBLISH", "payload-format-indicator", "2"]],
            "payload-format-indicator",
        ),
        (&[&["PUBLISH", "response-topic", "a/#"]], "response-topic"),
        (
            &[&["PUBLISH", "message-expiry-interval", "-1"]],
            "message-expiry-interval",
        ),
        (&[&["PUBLISH"]], "COMMAND NAME VALUE"),
    ] {
        let failure = parse(&args(list), PUB).unwrap_err();
        assert_eq!(failure.class, Class::Usage, "{list:?}: {failure}");
        assert!(failure.to_string().contains(needle), "{list:?}: {failure}");
    }
    let failure = parse(
        &args(&[&["SUBSCRIBE", "subscription-identifier", "268435456"]]),
        SUB,
    )
    .unwrap_err();
    assert!(failure.to_string().contains("268435455"), "{failure}");
}
