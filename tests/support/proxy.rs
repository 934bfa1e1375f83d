//! A small HTTP forward proxy for the corporate-network tests: `CONNECT host:port` tunnels
//! (https) and absolute-form requests (`GET http://host/path`, plain http), each recorded
//! with the `Proxy-Authorization` it carried. Forwarded plain-http requests get
//! `Connection: close`, so the client opens a new connection (and the proxy records a new
//! request) for every request: the record then accounts for all the traffic.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the proxy handled.
#[derive(Clone, Debug)]
pub struct ProxyRequest {
    /// `CONNECT` or the forwarded request's method.
    pub method: String,
    /// `host:port` for CONNECT, the absolute URL otherwise.
    pub target: String,
    /// The `Proxy-Authorization` header, if any.
    pub auth: Option<String>,
}

/// A host name only this proxy can resolve (to 127.0.0.1). The bridge connects to loopback
/// directly whatever the proxy variables say, so tests of `HTTP_PROXY`/`HTTPS_PROXY` address
/// the server by this name; without the proxy the name does not resolve at all.
pub const PROXIED_HOST: &str = "proxied.test";

/// `authority` with [`PROXIED_HOST`] resolved the way this proxy does.
fn resolve(authority: &str) -> String {
    match authority.strip_prefix(PROXIED_HOST) {
        Some(port) if port.starts_with(':') => format!("127.0.0.1{port}"),
        _ => authority.to_owned(),
    }
}

/// A running proxy. Dropping it stops accepting connections.
pub struct TestProxy {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<ProxyRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestProxy {
    /// Starts a proxy; with `require_auth`, requests without exactly that
    /// `Proxy-Authorization` value get `407`.
    pub async fn start(require_auth: Option<String>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let record = record.clone();
                let require = require_auth.clone();
                tokio::spawn(async move {
                    let _ = handle(client, record, require).await;
                });
            }
        });
        TestProxy { addr, seen, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request handled so far.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    mut client: TcpStream,
    seen: Arc<Mutex<Vec<ProxyRequest>>>,
    require_auth: Option<String>,
) -> std::io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let auth = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.clone());
    seen.lock().unwrap().push(ProxyRequest {
        method: method.clone(),
        target: target.clone(),
        auth: auth.clone(),
    });
    if require_auth.is_some() && auth != require_auth {
        let reply = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return client.write_all(reply.as_bytes()).await;
    }
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(resolve(&target)).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        upstream.write_all(&rest).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute form: `http://host:port/path?query` → connect, send the origin form.
    let after_scheme = target.strip_prefix("http://").unwrap_or(&target);
    let (authority, path) = match after_scheme.find('/') {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, "/"),
    };
    let mut upstream = TcpStream::connect(resolve(authority)).await?;
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for (k, v) in &headers {
        let lower = k.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "proxy-authorization" | "proxy-connection" | "connection"
        ) {
            forwarded.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Reads up to the blank line that ends a request head; returns the head and any bytes
/// read past it (the start of a body, or of the TLS handshake after CONNECT).
async fn read_head(client: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Ok((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("request head too long"));
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
