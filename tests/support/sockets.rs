//! What the operating system knows about a test server's TCP connections, for a test that
//! must wait until the bridge has seen a connection close (its pool then drops it) rather
//! than guess how long that takes.

use super::STEP;
use std::time::{Duration, Instant};

/// Waits (bounded by [`STEP`]) until no client connection to `port` on this machine is open
/// or half-closed: every client has seen the server's close and closed its end too.
#[cfg(target_os = "linux")]
pub async fn wait_clients_closed(port: u16) {
    let deadline = Instant::now() + STEP;
    loop {
        let open = open_client_sockets(port);
        if open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} client connection(s) to port {port} still open after {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Elsewhere there is no portable way to see another process's sockets: give the client a
/// moment, as these tests did before (CI runs on Linux).
#[cfg(not(target_os = "linux"))]
pub async fn wait_clients_closed(_port: u16) {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Sockets in /proc/net/tcp whose remote end is `port` and that are ESTABLISHED (01) or
/// CLOSE_WAIT (08: the server closed, the client has not yet).
#[cfg(target_os = "linux")]
fn open_client_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let remote = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[2].ends_with(&remote) && matches!(fields[3], "01" | "08")
        })
        .count()
}
