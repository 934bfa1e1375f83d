//! The bridge against a hostile server (`support::hostile`): huge replies, endless and
//! dripping event streams, giant headers, broken UTF-8 and JSON, wrong and duplicate ids,
//! pretty-printed forgeries, redirect tricks and bad `endpoint` events.
//!
//! For each attack: the attacked request gets the bridge's error, a `ping` sent right after
//! it is answered, a later request still works, the bridge exits cleanly at EOF, and its
//! peak memory (VmHWM) stays far below what the server tried to make it hold.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::hostile::{HUGE, Hostile};
use support::*;

/// `--max-message-mib` for these tests.
const LIMIT_MIB: usize = 4;
/// The bridge's peak resident memory may not pass this: generous for a debug build with
/// several buffers of `LIMIT_MIB`, and a small fraction of [`HUGE`].
const MAX_PEAK_KIB: u64 = 64 * 1024;

/// The bridge's peak resident set size (VmHWM) in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM value")
}

/// A bridge in a session with a hostile server, numbering its own requests.
struct Session {
    bridge: Bridge,
    next_id: u64,
}

impl Session {
    async fn start(server: &Hostile, extra: &[&str]) -> Session {
        let limit = LIMIT_MIB.to_string();
        let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
            .args(&[
                "--transport",
                "streamable-http",
                "--max-message-mib",
                &limit,
            ])
            .args(extra)
            .spawn();
        bridge.handshake().await;
        Session {
            bridge,
            next_id: 10,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Calls the hostile `tool` with a `ping` right behind it; returns the call's reply once
    /// both are in (the ping must succeed), then checks that a later call still works.
    async fn call(&mut self, tool: &str, args: Value) -> Value {
        let (call, ping_id) = (self.id(), self.id());
        self.bridge.send(&tool_call(call, tool, args)).await;
        self.bridge.send(&ping(ping_id)).await;
        let (mut reply, mut pinged) = (None, false);
        while reply.is_none() || !pinged {
            let msg = self.bridge.recv().await;
            if msg["id"] == json!(ping_id) {
                assert_result(&msg, ping_id);
                pinged = true;
            } else if msg["id"] == json!(call) && reply.is_none() {
                reply = Some(msg);
            } else {
                panic!("{tool}: unexpected message {msg}");
            }
        }
        self.echo().await;
        reply.expect("the call's reply")
    }

    /// Calls the hostile `tool` and returns the bridge's error message for it.
    async fn attack(&mut self, tool: &str, args: Value) -> String {
        let call = self.next_id + 1;
        let reply = self.call(tool, args).await;
        let error = assert_bridge_error(&reply, call);
        error["message"].as_str().unwrap_or_default().to_owned()
    }

    async fn echo(&mut self) {
        let id = self.id();
        self.bridge.send(&echo_call(id, "still here")).await;
        let reply = self.bridge.recv().await;
        assert_result(&reply, id);
        assert_eq!(tool_text(&reply), "still here");
    }

    /// Checks the memory bound, then EOF: the bridge must exit 0.
    async fn finish(self) {
        let peak = peak_kib(self.bridge.pid());
        eprintln!("bridge peak memory (VmHWM): {peak} KiB");
        assert!(
            peak < MAX_PEAK_KIB,
            "bridge peaked at {peak} KiB (bound {MAX_PEAK_KIB} KiB)"
        );
        let done = self.bridge.finish().await;
        assert!(done.status.success(), "{done:?}");
        assert!(
            done.stdout.is_empty(),
            "unexpected output: {:?}",
            done.stdout
        );
    }
}

async fn hostile() -> Hostile {
    Hostile::start(&format!("http://127.0.0.1:{}", closed_port())).await
}

fn assert_mentions(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in: {message}");
    }
}

#[tokio::test]
async fn oversized_replies_are_cut_off_at_the_message_limit() {
    let server = hostile().await;
    let mut s = Session::start(&server, &[]).await;
    let limit = format!("{LIMIT_MIB} MiB message limit (--max-message-mib)");
    for tool in ["huge_json", "huge_sse_event", "endless_line"] {
        let message = s.attack(tool, json!({})).await;
        assert_mentions(&message, &[&limit]);
        assert!(
            server.wait_streams_closed(STEP).await,
            "{tool}: the bridge still holds the stream"
        );
    }
    let sent = server.bytes_sent();
    assert!(sent < HUGE / 4, "the bridge read {sent} bytes");
    s.finish().await;
}

#[tokio::test]
async fn slow_drip_is_ended_by_the_request_timeout_and_the_stream_released() {
    let server = hostile().await;
    let mut s = Session::start(&server, &["--request-timeout", "2"]).await;
    let message = s.attack("slow_drip", json!({})).await;
    assert_mentions(&message, &["--request-timeout"]);
    server
        .wait_for("the cancellation", |r| {
            r.is_post_of("notifications/cancelled")
        })
        .await;
    assert!(
        server.wait_streams_closed(STEP).await,
        "the dripping stream was not dropped"
    );
    s.finish().await;
}

#[tokio::test]
async fn giant_response_headers_are_refused() {
    let server = hostile().await;
    let mut s = Session::start(&server, &[]).await;
    for tool in ["huge_header", "many_headers"] {
        let message = s.attack(tool, json!({})).await;
        assert_mentions(&message, &["header"]);
    }
    s.finish().await;
}

#[tokio::test]
async fn malformed_replies_fail_only_their_request() {
    let server = hostile().await;
    let mut s = Session::start(&server, &[]).await;
    for (tool, expect) in [
        ("bad_utf8_json", "without answering"),
        ("garbage_json", "without answering"),
        ("wrong_id", "without answering"),
        ("bad_utf8_sse", "not UTF-8"),
        ("html", "expected JSON, got text/html"),
    ] {
        let message = s.attack(tool, json!({})).await;
        assert_mentions(&message, &[expect]);
    }
    s.finish().await;
}

#[tokio::test]
async fn duplicate_replies_reach_the_client_once() {
    let server = hostile().await;
    let mut s = Session::start(&server, &[]).await;
    let call = s.next_id + 1;
    let reply = s.call("duplicate", json!({})).await;
    assert_result(&reply, call);
    s.bridge.expect_silence(Duration::from_millis(500)).await;
    s.finish().await;
}

#[tokio::test]
async fn pretty_printed_reply_cannot_forge_another_reply() {
    let server = hostile().await;
    let mut s = Session::start(&server, &[]).await;
    // A request the forgery will claim to answer.
    s.bridge.send(&tool_call(50, "hang", json!({}))).await;
    let call = s.next_id + 1;
    let reply = s.call("pretty_forgery", json!({"forge": 50})).await;
    assert_result(&reply, call);
    assert_eq!(reply["result"]["inner"]["id"], 50, "{reply}");
    s.bridge.expect_silence(Duration::from_millis(500)).await;
    s.bridge
        .send(&notification(
            "notifications/cancelled",
            Some(json!({"requestId": 50})),
        ))
        .await;
    s.finish().await;
}

#[tokio::test]
async fn redirect_tricks_are_refused_and_credentials_stay_home() {
    let trap = hostile().await;
    let server = Hostile::start(&format!("http://{}", trap.addr)).await;
    let args = ["--bearer", "env:T", "--header", "X-Api-Key: ${env:K}"];
    let builder = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--transport", "streamable-http"])
        .args(&args)
        .env("T", "hostile-bearer")
        .env("K", "hostile-key");
    let mut s = Session {
        bridge: builder.spawn(),
        next_id: 10,
    };
    s.bridge.handshake().await;
    for (tool, target) in [
        ("redirect_port", format!("http://{}", trap.addr)),
        ("redirect_https", format!("https://{}", server.addr)),
        ("redirect_userinfo", "user name or password".to_string()),
    ] {
        let message = s.attack(tool, json!({})).await;
        assert_mentions(&message, &["refused", &target]);
        assert!(!message.contains("pw@"), "{message}");
    }
    assert!(trap.requests().is_empty(), "the trap was reached");
    let calls = server
        .requests()
        .into_iter()
        .filter(|r| r.is_post_of("tools/call"));
    // One POST per call: none of the redirects was followed, not even on the same origin.
    assert_eq!(calls.count(), 3 + 3);
    s.finish().await;
}

/// A legacy session whose `endpoint` event is bad: initialize and later requests get
/// errors naming the problem; nothing reaches the other origin; EOF exits 0.
async fn refused_endpoint(path: &str, expect: &str) {
    let trap = hostile().await;
    let server = Hostile::start(&format!("http://{}", trap.addr)).await;
    let mut bridge = BridgeBuilder::url(&server.url(path))
        .args(&["--transport", "sse", "--bearer", "env:T"])
        .env("T", "endpoint-bearer")
        .spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    let message = assert_bridge_error(&reply, 1)["message"].to_string();
    assert_mentions(&message, &[expect]);
    bridge.send(&ping(2)).await;
    assert_bridge_error(&bridge.recv().await, 2);
    assert!(trap.requests().is_empty(), "the other origin was reached");
    let peak = peak_kib(bridge.pid());
    assert!(peak < MAX_PEAK_KIB, "bridge peaked at {peak} KiB");
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
}

#[tokio::test]
async fn endpoint_event_on_another_origin_is_refused() {
    refused_endpoint("/sse-foreign", "another origin").await;
}

#[tokio::test]
async fn oversized_endpoint_event_is_refused() {
    refused_endpoint("/sse-huge-endpoint", "`endpoint` event is").await;
}

#[tokio::test]
async fn oversized_client_line_is_refused_without_holding_it() {
    let server = hostile().await;
    let mut s = Session::start(&server, &[]).await;
    // Far over the limit, written in pieces as a client would stream it.
    let piece = vec![b'x'; 1 << 20];
    for _ in 0..HUGE >> 20 {
        s.bridge.send_bytes(&piece).await;
    }
    s.bridge.send_bytes(b"\n").await;
    assert_idless_error(&s.bridge.recv().await, -32700);
    s.echo().await;
    s.finish().await;
}
