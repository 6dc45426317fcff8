//! mqtt-blocking against a real mosquitto, started by the harness on a free loopback port: the shared list of
//! interop tests (`mqtt_test::interop_tests!`), the same one tokio and smol run.
//!
//! The list is written with `.await`; [`blocking`] gives the blocking client that shape without changing what it
//! does: each async method calls the blocking one (waits bounded by `blocking::WAIT`), callbacks feed the streams, and an
//! event loop "run in the test's task" is the loop on its own thread, aborted (no DISCONNECT) when the future is
//! dropped. Every test runs on `futures::executor::block_on`: no async runtime is involved.

mod blocking {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::thread;
    use std::time::{Duration, Instant};

    use futures::channel::{mpsc, oneshot};
    use futures::future::{Either, select};
    pub(crate) use mqtt_blocking::{
        ConfigError, ConnectRefusal, ConnectionState, Disconnection, Error, Message, Options,
        Persistence, ProtocolVersion, QoS, ReasonCode, ReconnectPolicy, Stats, TlsError,
    };

    /// Longest blocking wait of the adapter, as long as the list's own time limit.
    pub(crate) const WAIT: Duration = Duration::from_secs(10);

    pub(crate) async fn connect(options: Options) -> Result<Client, Error> {
        mqtt_blocking::connect(&options).map(Client)
    }

    pub(crate) fn new(options: &Options) -> Result<(Client, EventLoop), Error> {
        let (client, event_loop) = mqtt_blocking::new(options)?;
        Ok((Client(client), EventLoop(event_loop)))
    }

    /// `future`, or `Err(())` after `duration`: a timer thread, no runtime.
    pub(crate) async fn timeout<T>(
        duration: Duration,
        future: impl Future<Output = T>,
    ) -> Result<T, ()> {
        let (expired, timer) = oneshot::channel::<()>();
        thread::spawn(move || {
            thread::sleep(duration);
            let _ = expired.send(());
        });
        match select(Box::pin(future), timer).await {
            Either::Left((output, _)) => Ok(output),
            Either::Right(_) => Err(()),
        }
    }

    #[derive(Debug)]
    pub(crate) struct EventLoop(mqtt_blocking::EventLoop);

    impl EventLoop {
        /// The loop on its own thread; the future ends with it, and dropping it aborts the loop.
        pub(crate) fn run(self) -> Running {
            Running(Some(self.0.start().expect("the event loop thread")))
        }
    }

    pub(crate) struct Running(Option<mqtt_blocking::LoopHandle>);

    impl Future for Running {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            match &self.0 {
                Some(handle) if !handle.is_finished() => {
                    let waker = cx.waker().clone();
                    thread::spawn(move || {
                        thread::sleep(Duration::from_millis(5));
                        waker.wake();
                    });
                    Poll::Pending
                }
                _ => {
                    if let Some(handle) = self.0.take() {
                        handle.join().expect("the event loop failed");
                    }
                    Poll::Ready(())
                }
            }
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            if let Some(handle) = self.0.take() {
                handle.abort();
            }
        }
    }

    #[derive(Clone, Debug)]
    pub(crate) struct Client(mqtt_blocking::Client);

    #[derive(Debug)]
    pub(crate) struct Delivery(mqtt_blocking::Delivery);

    impl Delivery {
        pub(crate) async fn wait(self) -> Result<(), Error> {
            self.0.wait_timeout(WAIT)
        }
    }

    pub(crate) struct Subscription {
        granted: Vec<Result<QoS, Error>>,
        messages: mpsc::Receiver<Message>,
    }

    impl Subscription {
        pub(crate) fn granted(&self) -> &[Result<QoS, Error>] {
            &self.granted
        }

        pub(crate) async fn recv(&mut self) -> Option<Message> {
            futures::StreamExt::next(&mut self.messages).await
        }
    }

    impl futures::Stream for Subscription {
        type Item = Message;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
            futures::Stream::poll_next(Pin::new(&mut self.messages), cx)
        }
    }

    /// Messages a stream of the adapter holds before its callback waits for the reader (holding up the event
    /// loop, as a slow callback does: the client's own bounded queues then fill and reading stops).
    const FORWARDED: usize = 256;

    /// A callback that forwards messages to a bounded stream.
    fn forward(mut sink: mpsc::Sender<Message>) -> impl FnMut(&mqtt_blocking::Client, &Message) {
        move |_, message| {
            let _ = futures::executor::block_on(futures::SinkExt::send(&mut sink, message.clone()));
        }
    }

    impl Client {
        pub(crate) async fn publish(
            &self,
            topic: impl AsRef<str>,
            payload: impl AsRef<[u8]>,
            qos: QoS,
            retain: bool,
        ) -> Result<Delivery, Error> {
            self.0.publish(topic, payload, qos, retain).map(Delivery)
        }

        pub(crate) async fn subscribe(
            &self,
            filter: impl Into<String>,
            qos: QoS,
        ) -> Result<Subscription, Error> {
            let (sink, messages) = mpsc::channel(FORWARDED);
            let granted = self
                .0
                .subscribe(filter, qos, forward(sink))?
                .wait_timeout(WAIT)?;
            Ok(Subscription {
                granted: vec![Ok(granted)],
                messages,
            })
        }

        pub(crate) async fn subscribe_many(
            &self,
            filters: impl IntoIterator<Item = (String, QoS)>,
        ) -> Result<Subscription, Error> {
            let (sink, messages) = mpsc::channel(FORWARDED);
            let granted = self
                .0
                .subscribe_many(filters, forward(sink))?
                .wait_timeout(WAIT)?;
            Ok(Subscription { granted, messages })
        }

        pub(crate) fn messages(&self) -> mpsc::Receiver<Message> {
            let (sink, messages) = mpsc::channel(FORWARDED);
            self.0.on_message(forward(sink));
            messages
        }

        pub(crate) fn states(&self) -> mpsc::UnboundedReceiver<ConnectionState> {
            let (sink, states) = mpsc::unbounded();
            self.0.on_state(move |_, state| {
                let _ = sink.unbounded_send(state);
            });
            states
        }

        pub(crate) fn reconnect(&self) -> Result<(), Error> {
            self.0.reconnect()
        }

        pub(crate) fn is_connected(&self) -> bool {
            self.0.is_connected()
        }

        pub(crate) fn recovered(&self) -> Vec<(Message, Delivery)> {
            self.0
                .recovered()
                .into_iter()
                .map(|(message, delivery)| (message, Delivery(delivery)))
                .collect()
        }

        pub(crate) fn stats(&self) -> Stats {
            self.0.stats()
        }

        pub(crate) async fn disconnect(&self, timeout: Duration) -> Result<(), Error> {
            self.0.disconnect(timeout)
        }
    }

    pub(crate) struct Connector(mqtt_blocking::Connector);

    impl Connector {
        pub(crate) fn new(url: &str, options: &Options) -> Result<Self, Error> {
            mqtt_blocking::Connector::new(url, options).map(Self)
        }
    }

    impl proto::io::Connect for Connector {
        type Io = Stream;
        type Error = Error;

        async fn connect(&mut self) -> Result<Stream, Error> {
            self.0.open(WAIT).map(Stream)
        }
    }

    /// The non-blocking stream, waited on by polling: only the transport tests read from it, a few bytes.
    pub(crate) struct Stream(mqtt_blocking::Stream);

    impl Stream {
        fn retry<T>(
            &mut self,
            mut op: impl FnMut(&mut mqtt_blocking::Stream) -> io::Result<T>,
        ) -> io::Result<T> {
            let deadline = Instant::now() + WAIT;
            loop {
                match op(&mut self.0) {
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                    {
                        thread::sleep(Duration::from_millis(5));
                    }
                    other => return other,
                }
            }
        }
    }

    impl embedded_io_async::ErrorType for Stream {
        type Error = io::Error;
    }

    impl embedded_io_async::Read for Stream {
        async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.retry(|stream| io::Read::read(stream, buf))
        }
    }

    impl embedded_io_async::Write for Stream {
        async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.retry(|stream| io::Write::write(stream, buf))
        }

        async fn flush(&mut self) -> io::Result<()> {
            self.retry(io::Write::flush)
        }
    }
}

mqtt_test::interop_tests!(
    client = blocking,
    block_on = futures::executor::block_on,
    timeout = blocking::timeout,
);
