//! One MCP session with a candidate, the same operations whatever the candidate is: a stdio
//! relay (the bridge, mcp-remote, mcp-proxy) spoken to over its stdin/stdout, or the direct
//! HTTP client (reqwest, keep-alive) posting to the server itself.

use crate::server::TOKEN;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

/// How long one exchange may take before the candidate counts as failed.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The initialize request every candidate gets.
pub fn initialize(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"mcp-keybridge-bench","version":"1.0.0"}}}}}}"#
    )
}

/// The notification that ends the handshake.
pub const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Which protocol era a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-06-18: `initialize`, then requests in its session.
    Stateful,
    /// 2026-07-28: no handshake; every request carries its version, capabilities and client
    /// identity in `params._meta`.
    Stateless,
}

/// The `_meta` member every 2026-07-28 request carries (with the leading comma).
const MODERN_META: &str = r#","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcp-keybridge-bench","version":"1.0.0"}}"#;

fn meta(era: Era) -> &'static str {
    match era {
        Era::Stateful => "",
        Era::Stateless => MODERN_META,
    }
}

/// The 2026-07-28 client's first request (what a dual-era client probes with).
pub fn discover(id: u64) -> String {
    let meta = &MODERN_META[1..];
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"server/discover","params":{{{meta}}}}}"#)
}

/// A `tools/call` of `echo` with `text`.
pub fn echo(era: Era, id: u64, text: &str) -> String {
    let text = serde_json::Value::from(text);
    let meta = meta(era);
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":{text}}}{meta}}}}}"#
    )
}

/// A `tools/call` of `big`.
pub fn big(era: Era, id: u64) -> String {
    let meta = meta(era);
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"big","arguments":{{}}{meta}}}}}"#
    )
}

#[derive(Deserialize)]
struct ReplyProbe<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The numeric id of a reply line; `None` for anything that is not a reply.
pub fn reply_id(line: &[u8]) -> Option<u64> {
    let probe: ReplyProbe<'_> = serde_json::from_slice(line).ok()?;
    probe.result.or(probe.error)?;
    probe.id?.get().parse().ok()
}

/// A candidate running as a child process with piped stdio.
pub struct StdioSession {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Vec<u8>>,
}

impl StdioSession {
    /// Spawns `program args…`; stderr goes to `log`.
    pub fn spawn(program: &str, args: &[String], log: std::fs::File) -> Result<Self> {
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .env("MCP_BENCH_TOKEN", TOKEN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let stdout = child.stdout.take().expect("piped");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut out = BufReader::with_capacity(1 << 20, stdout);
            loop {
                let mut line = Vec::new();
                match out.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok(StdioSession {
            child,
            stdin,
            lines,
        })
    }

    /// The child's pid, for /proc.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Writes one message line.
    pub async fn send(&mut self, msg: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        let mut line = Vec::with_capacity(msg.len() + 1);
        line.extend_from_slice(msg.as_bytes());
        line.push(b'\n');
        stdin
            .write_all(&line)
            .await
            .context("writing to the candidate's stdin")?;
        Ok(())
    }

    /// The next reply line (server requests and notifications are skipped).
    pub async fn next_reply(&mut self) -> Result<(u64, Vec<u8>)> {
        loop {
            let line = tokio::time::timeout(TIMEOUT, self.lines.recv())
                .await
                .context("no reply within the time limit")?
                .context("the candidate closed stdout (see its log)")?;
            if let Some(id) = reply_id(&line) {
                return Ok((id, line));
            }
        }
    }

    /// Sends a request and waits for the reply to it.
    pub async fn call(&mut self, id: u64, msg: &str) -> Result<Vec<u8>> {
        self.send(msg).await?;
        let (got, line) = self.next_reply().await?;
        if got != id {
            bail!("reply to id {got} while waiting for {id}");
        }
        Ok(line)
    }

    /// Closes stdin and waits briefly for a clean exit, then kills.
    pub async fn close(mut self) {
        self.stdin.take();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The direct client: reqwest with keep-alive, posting to the server with the session id.
pub struct DirectSession {
    client: reqwest::Client,
    url: String,
    session: Option<String>,
}

impl DirectSession {
    /// A client with the same connection settings as the bridge's.
    pub fn new(url: &str) -> Result<Self> {
        let client = reqwest::Client::builder()
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(DirectSession {
            client,
            url: url.into(),
            session: None,
        })
    }

    /// POSTs one message; returns the session id the server set (if any) and the body
    /// (empty for 202).
    pub async fn post(&self, msg: String) -> Result<(Option<String>, bytes::Bytes)> {
        let mut req = self
            .client
            .post(&self.url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(msg);
        if let Some(s) = &self.session {
            req = req
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-06-18");
        }
        let exchange = async {
            let resp = req.send().await?;
            if !resp.status().is_success() {
                bail!("HTTP {}", resp.status());
            }
            let session = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            Ok((session, resp.bytes().await?))
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .context("no reply within the time limit")?
    }

    /// A request's reply body.
    pub async fn call(&self, msg: String) -> Result<bytes::Bytes> {
        Ok(self.post(msg).await?.1)
    }

    /// initialize (keeping the session id) + notifications/initialized; returns the
    /// initialize reply.
    pub async fn handshake(&mut self) -> Result<bytes::Bytes> {
        let (session, reply) = self.post(initialize(0)).await?;
        self.session = session;
        self.post(INITIALIZED.into()).await?;
        Ok(reply)
    }
}

/// `bench direct-init URL`: the direct client as its own process, for a fair cold start:
/// spawn → runtime → client → initialize → reply on stdout.
pub fn direct_init_main(url: &str) -> i32 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let Ok(client) = DirectSession::new(url) else {
            return 1;
        };
        match client.post(initialize(0)).await.map(|(_, body)| body) {
            Ok(body) => {
                println!("{}", String::from_utf8_lossy(&body).trim_end());
                0
            }
            Err(e) => {
                eprintln!("direct-init: {e}");
                1
            }
        }
    })
}
