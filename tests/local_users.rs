//! What other people on the same machine can reach or see: the files the bridge writes
//! (only a log file, created 0600), the sockets it listens on (none but loopback), and its
//! `--help` (never a secret from the environment, e.g. on a shared screen).

#![cfg(target_os = "linux")]

mod support;

use std::os::unix::fs::PermissionsExt;
use support::*;

#[tokio::test]
async fn log_file_is_created_for_its_owner_only() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let path = bridge::scratch_dir().join("bridge.log");
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--log-level", "debug", "--log-file", path.to_str().unwrap()])
        .spawn();
    bridge.handshake().await;
    assert!(bridge.finish().await.status.success());
    let mode = std::fs::metadata(&path)
        .expect("log file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "log file mode {:o}", mode & 0o777);
}

/// Socket inodes the process `pid` holds open.
fn socket_inodes(pid: u32) -> Vec<String> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("read /proc/PID/fd");
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect()
}

/// Local addresses (hex, as /proc/net/tcp{,6} writes them) of listening sockets in `inodes`.
fn listening(inodes: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // local_address, state (0A = LISTEN), inode.
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                found.push(cols[1].to_owned());
            }
        }
    }
    found
}

fn is_loopback_hex(local: &str) -> bool {
    let addr = local.split(':').next().unwrap_or_default();
    // 127.x.x.x little-endian ends in 7F; ::1 is all zeros but the last word.
    addr.ends_with("7F") || addr == "00000000000000000000000001000000"
}

#[tokio::test]
async fn a_running_bridge_listens_on_loopback_at_most() {
    let (_server, mut bridge) = connected(ServerConfig {
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    // The reading of /proc works: this test process listens (the test server, on loopback).
    let ours = listening(&socket_inodes(std::process::id()));
    assert!(
        ours.iter().any(|a| is_loopback_hex(a)),
        "test server not found: {ours:?}"
    );
    let inodes = socket_inodes(bridge.pid());
    assert!(!inodes.is_empty(), "the bridge holds no socket at all?");
    let exposed: Vec<String> = listening(&inodes)
        .into_iter()
        .filter(|a| !is_loopback_hex(a))
        .collect();
    assert!(exposed.is_empty(), "listening beyond loopback: {exposed:?}");
    assert!(bridge.finish().await.status.success());
}

#[tokio::test]
async fn help_never_shows_a_secret_from_the_environment() {
    for args in [
        &["--help"][..],
        &["auth", "--help"],
        &["auth", "status", "--help"],
    ] {
        let done = BridgeBuilder::new()
            .args(args)
            .env("MCP_KEYBRIDGE_TOKEN", "help-secret-1")
            .env("JIRA_PERSONAL_TOKEN", "help-secret-2")
            .env("MCP_KEYBRIDGE_URL", "https://mcp.example.com/mcp")
            .run(b"")
            .await;
        assert!(done.status.success(), "{args:?}: {done:?}");
        let text = format!("{}{}", done.stdout.join("\n"), done.stderr);
        assert!(text.contains("Usage"), "{args:?}: no help printed: {text}");
        assert!(!text.contains("help-secret"), "{args:?}: {text}");
    }
}
