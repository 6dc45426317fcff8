//! What mqtt-tokio logs through `tracing` while it is refused, connects, pauses for a full queue, refuses a publish
//! and meets a protocol error (`mqtt_test::logging_tests!`): enough to debug a reconnect loop, and no secret.

mqtt_test::logging_tests!(
    client = mqtt_tokio,
    test = #[tokio::test],
    timeout = tokio::time::timeout,
);
