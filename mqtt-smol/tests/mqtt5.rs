//! mqtt-smol's MQTT 5.0: the list mqtt-tokio runs (`mqtt_test::interop_v5_tests!`), each run by `smol::block_on`.

mqtt_test::interop_v5_tests!(
    client = mqtt_smol,
    block_on = smol::block_on,
    timeout = runtime::timeout,
);

mod runtime;
