//! What smol lacks for the shared test lists of mqtt-test (a module of its own, apart from the names their
//! macros bring in).

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
