//! What mqtt-smol logs through `tracing` while it is refused, connects, pauses for a full queue, refuses a publish
//! and meets a protocol error (`mqtt_test::logging_tests!`): enough to debug a reconnect loop, and no secret.

mqtt_test::logging_tests!(
    client = mqtt_smol,
    block_on = smol::block_on,
    timeout = runtime::timeout,
);

mod runtime;
