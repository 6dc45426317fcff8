//! mqtt-tokio as a new user drives it, against a real mosquitto started by the harness: the shared list of new-user
//! tests (`mqtt_test::new_user_tests!`), each on a multi-threaded tokio runtime.

mqtt_test::new_user_tests!(
    client = mqtt_tokio,
    test = #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    timeout = tokio::time::timeout,
    task = task,
);

/// The tasks of the list on tokio: a dropped `JoinHandle` leaves its task running, `abort` ends it.
mod task {
    use tokio::task::JoinHandle;

    /// Runs `future` on the runtime for as long as it lasts.
    pub(crate) fn detach(future: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(future));
    }

    /// Runs `future` on the runtime, with a handle to wait for its end or to end it.
    pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        tokio::spawn(future)
    }

    /// Waits for the task's end; a panic in it fails the test.
    pub(crate) async fn join(task: JoinHandle<()>) {
        task.await.unwrap();
    }

    /// Ends the task at once, as a process that dies would.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the handle is used up, as smol's is"
    )]
    pub(crate) fn kill(task: JoinHandle<()>) {
        task.abort();
    }
}
