//! mqtt-smol as a new user drives it, against a real mosquitto started by the harness: the shared list of new-user
//! tests (`mqtt_test::new_user_tests!`), each run by `smol::block_on`, its tasks (the event loop, a handler of
//! connection states) on smol's global executor.

mqtt_test::new_user_tests!(
    client = mqtt_smol,
    block_on = smol::block_on,
    timeout = runtime::timeout,
    task = task,
);

mod runtime;

/// The tasks of the list on smol: a dropped `Task` is cancelled, so one that runs on its own is detached.
mod task {
    use smol::Task;

    /// Runs `future` on the global executor for as long as it lasts.
    pub(crate) fn detach(future: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(future).detach();
    }

    /// Runs `future` on the global executor, with a handle to wait for its end or to end it.
    pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) -> Task<()> {
        smol::spawn(future)
    }

    /// Waits for the task's end; a panic in it fails the test.
    pub(crate) async fn join(task: Task<()>) {
        task.await;
    }

    /// Ends the task at once (dropping it cancels it), as a process that dies would.
    pub(crate) fn kill(task: Task<()>) {
        drop(task);
    }
}
