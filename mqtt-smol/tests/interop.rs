//! mqtt-smol against a real mosquitto, started by the harness on a free loopback port: the shared list of
//! interop tests (`mqtt_test::interop_tests!`), each run by `smol::block_on`.

mqtt_test::interop_tests!(
    client = mqtt_smol,
    block_on = smol::block_on,
    timeout = runtime::timeout,
);

mod runtime;
