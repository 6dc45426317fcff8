//! mqtt-smol's MQTT 5.0: the list mqtt-tokio runs (`mqtt_test::interop_v5_tests!`), each run by `smol::block_on`.

mqtt_test::interop_v5_tests!(
    client = mqtt_smol,
    block_on = smol::block_on,
    timeout = runtime::timeout,
);

/// What smol lacks for the list (in a module of its own, apart from the names the macro brings in).
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
