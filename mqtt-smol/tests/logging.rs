//! What mqtt-smol logs through `tracing` while it is refused, connects, pauses for a full queue, refuses a publish
//! and meets a protocol error (`mqtt_test::logging_tests!`): enough to debug a reconnect loop, and no secret.

mqtt_test::logging_tests!(
    client = mqtt_smol,
    block_on = smol::block_on,
    timeout = runtime::timeout,
);

/// What smol lacks for the test (in a module of its own, apart from the names the macro brings in).
mod runtime {
    use std::time::Duration;

    use smol::future::FutureExt;

    /// `future`, or `Err(())` if it has not finished after `duration` (the shape of `tokio::time::timeout`).
    pub(crate) async fn timeout<T>(
        duration: Duration,
        future: impl Future<Output = T>,
    ) -> Result<T, ()> {
        async { Ok(future.await) }
            .or(async {
                smol::Timer::after(duration).await;
                Err(())
            })
            .await
    }
}
