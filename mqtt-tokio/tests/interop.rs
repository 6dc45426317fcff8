//! mqtt-tokio against a real mosquitto, started by the harness on a free loopback port: the shared list of
//! interop tests (`mqtt_test::interop_tests!`), each on its own tokio runtime.

mqtt_test::interop_tests!(
    client = mqtt_tokio,
    test = #[tokio::test],
    timeout = tokio::time::timeout,
);
