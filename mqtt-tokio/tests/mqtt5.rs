//! mqtt-tokio's MQTT 5.0: properties, subscription options, a will with a delay, topic aliases, message expiry,
//! request/response against a real mosquitto; enhanced authentication, redirection, reason strings and a lowered
//! Maximum QoS against the fake broker (`mqtt_test::interop_v5_tests!`).

mqtt_test::interop_v5_tests!(
    client = mqtt_tokio,
    test = #[tokio::test],
    timeout = tokio::time::timeout,
);
