//! Runs the real `mcp-keybridge` binary as an MCP client would: JSON-RPC lines on stdin,
//! replies read line by line from stdout, stderr captured. Every wait is bounded by
//! [`STEP`] and the child is killed on drop, so a misbehaving bridge fails a test instead
//! of hanging it.

use super::{STEP, assert_no_null_id};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// A fresh empty directory under the system temp dir (for HOME, log files…).
pub fn scratch_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("keybridge-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

#[derive(Default)]
pub struct BridgeBuilder {
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl BridgeBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A bridge pointed at `url` (positional argument).
    pub fn url(url: &str) -> Self {
        Self::new().arg(url)
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The environment is cleared so that the developer's own MCP_KEYBRIDGE_*, token,
    /// proxy or RUST_LOG variables cannot change what a test sees; HOME and the XDG
    /// directories point at an empty scratch dir so no real config file is read.
    fn command(self) -> (Command, PathBuf) {
        let home = scratch_dir();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-keybridge"));
        cmd.args(&self.args).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .envs(self.envs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        (cmd, home)
    }

    pub fn spawn(self) -> Bridge {
        let (mut command, home) = self.command();
        let mut child = command.spawn().expect("spawn mcp-keybridge");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr_pipe = child.stderr.take().expect("stderr");

        let (tx, lines) = mpsc::unbounded_channel();
        let stdout_task = tokio::spawn(async move {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        let _ = tx.send(line);
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let stderr_task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Bridge {
            child,
            home,
            stdin,
            lines,
            stdout_task,
            stderr,
            stderr_task,
        }
    }

    /// Runs the bridge with `input` on stdin (then EOF) until it exits.
    pub async fn run(self, input: &[u8]) -> Finished {
        let mut bridge = self.spawn();
        if !input.is_empty() {
            bridge.send_bytes(input).await;
        }
        bridge.finish().await
    }
}

/// A running bridge process.
pub struct Bridge {
    child: Child,
    /// The scratch HOME, removed on drop.
    home: PathBuf,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Vec<u8>>,
    stdout_task: JoinHandle<()>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_task: JoinHandle<()>,
}

/// What a bridge left behind once it exited.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// Stdout lines not read before the exit.
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Finished {
    pub fn messages(&self) -> Vec<Value> {
        self.stdout
            .iter()
            .map(|l| parse_line(l, &self.stderr))
            .collect()
    }
}

impl Bridge {
    /// Writes one message followed by `\n`.
    pub async fn send(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send_bytes(&bytes).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        let write = async {
            stdin.write_all(bytes).await?;
            stdin.flush().await
        };
        match timeout(STEP, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("writing to the bridge failed: {e}\n{}", self.stderr_tail()),
            Err(_) => panic!("bridge stopped reading stdin\n{}", self.stderr_tail()),
        }
    }

    /// The bridge's process id (to read its memory use from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("bridge already exited")
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next stdout line, raw (without the `\n`). Panics after [`STEP`].
    pub async fn recv_line(&mut self) -> String {
        match self.recv_line_within(STEP).await {
            Some(line) => line,
            None => panic!(
                "no stdout line from the bridge within {STEP:?}\n{}",
                self.stderr_tail()
            ),
        }
    }

    /// The next stdout line if one comes within `limit`.
    pub async fn recv_line_within(&mut self, limit: Duration) -> Option<String> {
        match timeout(limit, self.lines.recv()).await {
            Err(_) => None,
            Ok(None) => panic!("bridge closed stdout\n{}", self.stderr_tail()),
            Ok(Some(bytes)) => Some(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| panic!("bridge wrote invalid UTF-8 on stdout: {e}")),
            ),
        }
    }

    /// The next stdout message, parsed. Panics after [`STEP`] or on a non-JSON line.
    pub async fn recv(&mut self) -> Value {
        let line = self.recv_line().await;
        parse_line(&line, &self.stderr())
    }

    /// The next stdout message if one comes within `limit` (for waits longer than [`STEP`]).
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Value> {
        let line = self.recv_line_within(limit).await?;
        Some(parse_line(&line, &self.stderr()))
    }

    /// The next stdout message, raw and parsed (to search the exact bytes for leaks).
    pub async fn recv_with_line(&mut self) -> (String, Value) {
        let line = self.recv_line().await;
        let msg = parse_line(&line, &self.stderr());
        (line, msg)
    }

    /// Asserts that nothing appears on stdout for `limit`.
    pub async fn expect_silence(&mut self, limit: Duration) {
        if let Some(line) = self.recv_line_within(limit).await {
            panic!("expected no stdout output, got: {line}");
        }
    }

    /// Sends `initialize` (id 1), checks the reply and sends `notifications/initialized`.
    pub async fn handshake(&mut self) -> Value {
        self.send(&super::initialize(1)).await;
        let reply = self.recv().await;
        super::assert_result(&reply, 1);
        self.send(&super::initialized()).await;
        reply
    }

    /// Sends SIGTERM, as an MCP client does when stdin EOF was not enough.
    #[cfg(unix)]
    pub fn terminate(&self) {
        let pid = self.child.id().expect("bridge already exited");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits (bounded) for the process to exit, without closing stdin.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        match timeout(STEP, self.child.wait()).await {
            Ok(status) => status.expect("wait for mcp-keybridge"),
            Err(_) => panic!(
                "bridge did not exit within {STEP:?}\n{}",
                self.stderr_tail()
            ),
        }
    }

    /// Closes stdin, waits for the exit and collects what is left of stdout and stderr.
    pub async fn finish(mut self) -> Finished {
        self.close_stdin();
        let status = self.wait_exit().await;
        // The pipes close with the process; bounded anyway in case a grandchild holds them.
        let _ = timeout(STEP, &mut self.stdout_task).await;
        let _ = timeout(STEP, &mut self.stderr_task).await;
        let mut stdout = Vec::new();
        while let Ok(bytes) = self.lines.try_recv() {
            stdout.push(String::from_utf8(bytes).expect("bridge wrote invalid UTF-8"));
        }
        Finished {
            status,
            stdout,
            stderr: self.stderr(),
        }
    }

    /// The bridge's HOME (its XDG dirs are inside), to check what it wrote to files.
    pub fn home(&self) -> &std::path::Path {
        &self.home
    }

    /// Waits (bounded by [`STEP`]) until the bridge has logged `text`.
    pub async fn wait_for_stderr(&self, text: &str) {
        let deadline = std::time::Instant::now() + STEP;
        while !self.stderr().contains(text) {
            if std::time::Instant::now() >= deadline {
                panic!(
                    "the bridge never logged {text:?} within {STEP:?}\n{}",
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    fn stderr_tail(&self) -> String {
        let all = self.stderr();
        let start = all.len().saturating_sub(4000);
        let start = (start..all.len())
            .find(|&i| all.is_char_boundary(i))
            .unwrap_or(0);
        format!("--- bridge stderr (tail) ---\n{}", &all[start..])
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Parses one stdout line; every line must be a JSON-RPC message, and the bridge never
/// writes `"id": null` (in these tests no server message legitimately has one either).
fn parse_line(line: &str, stderr: &str) -> Value {
    let msg: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("stdout line is not JSON ({e}): {line}\n--- stderr ---\n{stderr}")
    });
    assert_no_null_id(&msg);
    msg
}
