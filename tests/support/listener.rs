//! The test server's socket: an accept loop that keeps a handle on every connection, so a
//! test can take the server down for real (listener closed, every open connection and
//! stream cut, new connections refused) and bring it back on the same port, as a server
//! restart does. axum's own `serve` cannot do that: its connection tasks outlive it.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// Serves `app` on one address until stopped.
pub(crate) struct Listener {
    accept: JoinHandle<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl Listener {
    /// Binds `addr` (port 0 for any) with `SO_REUSEADDR`, so a restart can take the same
    /// port while the old connections sit in TIME_WAIT.
    pub async fn bind(addr: SocketAddr, app: Router) -> (Listener, SocketAddr) {
        // A listener just stopped closes when its aborted task next runs: retry briefly.
        let mut tries = 0;
        let listener = loop {
            let socket = TcpSocket::new_v4().expect("socket");
            socket.set_reuseaddr(true).expect("SO_REUSEADDR");
            match socket.bind(addr).and_then(|()| socket.listen(1024)) {
                Ok(listener) => break listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("bind test server on {addr}: {e}"),
            }
        };
        let bound = listener.local_addr().expect("local addr");
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let accept = tokio::spawn(accept_loop(listener, app, connections.clone()));
        (
            Listener {
                accept,
                connections,
            },
            bound,
        )
    }

    /// Closes the listener and every connection: requests in flight and open streams end
    /// abruptly, new connections are refused.
    pub fn stop(&self) {
        self.accept.abort();
        self.connections.lock().unwrap().abort_all();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, app: Router, connections: Arc<Mutex<JoinSet<()>>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        let mut set = connections.lock().unwrap();
        // Reap finished connections so a long soak does not accumulate handles.
        while set.try_join_next().is_some() {}
        set.spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
