//! What the pump waits on besides stdin: a watched value reaching a state, the router's
//! messages for the server, and the signals that end the run.

use bytes::Bytes;

/// The next message the router sends the server; never, without a channel.
pub(super) async fn next_bound(
    rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Bytes>>,
) -> Option<Bytes> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves once the watched value equals `value` (or its sender is gone), holding no guard.
pub(super) async fn watch_reaches<T: PartialEq>(
    rx: &mut tokio::sync::watch::Receiver<T>,
    value: T,
) {
    let _ = rx.wait_for(|v| *v == value).await;
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub(super) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
