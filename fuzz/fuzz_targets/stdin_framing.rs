//! stdin framing and message classification: the bytes an MCP client (or anything that
//! writes to the bridge's stdin) can send.
//!
//! Input: byte 0 picks the line limit, byte 1 the read buffer size (so lines cross buffer
//! boundaries anywhere), the rest is stdin.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mcp_keybridge::parsers::jsonrpc::{self, Kind};
use mcp_keybridge::parsers::{Frame, LineReader};
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let [max, cap, input @ ..] = data else {
        return;
    };
    let max = usize::from(*max) * 4 + 1;
    let cap = usize::from(*cap % 64) + 1;
    let frames = runtime().block_on(async {
        let reader = tokio::io::BufReader::with_capacity(cap, input);
        let mut lines = LineReader::new(reader, max);
        let mut frames = Vec::new();
        while let Some(frame) = lines
            .next_frame()
            .await
            .expect("reading a slice cannot fail")
        {
            frames.push(frame);
        }
        frames
    });
    assert!(frames.len() <= input.iter().filter(|&&b| b == b'\n').count() + 1);
    for frame in frames {
        let Frame::Line(line) = frame else { continue };
        assert!(line.len() <= max && !line.contains(&b'\n'));
        assert!(std::str::from_utf8(&line).is_ok());
        check_message(line);
    }
});

/// What the relay does with a line, plus the invariants routing relies on.
fn check_message(line: Bytes) {
    let Ok(parts) = jsonrpc::split_batch(&line) else {
        return;
    };
    for part in parts {
        let Ok(msg) = jsonrpc::classify(part) else {
            continue;
        };
        // Whatever classify accepts is one JSON value, so it can go out on one line intact.
        let before: serde_json::Value = serde_json::from_slice(&msg.raw).expect("valid JSON");
        let out = jsonrpc::one_line(msg.raw.clone());
        assert!(!out.contains(&b'\n') && !out.contains(&b'\r'));
        let after: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
        assert_eq!(before, after);
        if let Some(id) = &msg.id {
            // Error replies embed the id as written: they must be JSON too.
            let reply = jsonrpc::error_reply(Some(id), jsonrpc::INTERNAL_ERROR, "x", None);
            let reply: serde_json::Value = serde_json::from_slice(&reply).expect("reply JSON");
            assert_eq!(reply["id"].to_string(), id.key());
        }
        assert!(msg.kind != Kind::Response || msg.id.is_some());
        let _ = jsonrpc::cancelled_request(&msg.raw);
        let _ = jsonrpc::protocol_version(&msg.raw);
        if let Some(replay) = jsonrpc::replay_initialize(&msg.raw) {
            let replayed = jsonrpc::classify(replay).expect("a replayed initialize is valid");
            assert!(replayed.is("initialize"));
        }
    }
}
