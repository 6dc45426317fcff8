//! The end a person or a supervisor asks for: Ctrl-C (SIGINT), or SIGTERM (`kill`, `timeout`, systemd,
//! `docker stop`), as mosquitto's tools take both. Where the command listens ([`interrupted`]: `mqtt sub` and
//! `mqtt req` once connected, `mqtt pub -l` and `--repeat`, `mqtt bench`), either ends it gracefully, with a
//! DISCONNECT (so the broker does not publish the will); elsewhere (connecting, say) the process ends at once,
//! as without a handler.

use std::sync::OnceLock;

use tokio::sync::watch;

/// Set once a signal came that a listener took.
static ENDED: OnceLock<watch::Sender<bool>> = OnceLock::new();

/// Installs the handlers (in the runtime's context): from the call on, no signal is missed.
pub(crate) fn install() {
    let ended = ENDED.get_or_init(|| watch::channel(false).0);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        for (kind, code) in [
            (SignalKind::interrupt(), 130),
            (SignalKind::terminate(), 143),
        ] {
            if let Ok(mut stream) = signal(kind) {
                let ended = ended.clone();
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        end(&ended, code);
                    }
                });
            }
        }
    }
    #[cfg(not(unix))]
    {
        let ended = ended.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                end(&ended, 130);
            }
        });
    }
}

/// A signal: the listeners end gracefully; without one, the process ends now with the shell's code for it.
fn end(ended: &watch::Sender<bool>, code: i32) {
    if ended.receiver_count() == 0 {
        std::process::exit(code);
    }
    ended.send_replace(true);
}

/// Completes once Ctrl-C or SIGTERM came, from the call on (never without [`install`]). Listening starts at the
/// call, not at the first poll.
pub(crate) fn interrupted() -> impl Future<Output = ()> + Send + 'static {
    let ended = ENDED.get().map(watch::Sender::subscribe);
    async move {
        match ended {
            Some(mut ended) => {
                if ended.wait_for(|&ended| ended).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }
}
