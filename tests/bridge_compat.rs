//! The compatibility fixes seen from the client: a conformant server's responses come out
//! byte for byte, a seed-style server's `null` optional fields are dropped (and logged once),
//! and `--strict` relays them as sent.

mod support;

use serde_json::{Value, json};
use support::*;

/// Replies the server's hidden `raw` tool sends verbatim (`{id}` → the request id). Each is
/// conformant but contains something that looks like a null to fix.
const CONFORMANT: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":{id},"result":{"content":[{"type":"text","text":"\"annotations\": null"}],"isError":false}}"#,
    r#"{ "jsonrpc" : "2.0", "result" : { "content" : [ { "type" : "text", "text" : "caf\u00e9 é", "n": 1.0E+2 } ], "custom" : null }, "id" : {id} }"#,
    r#"{"jsonrpc":"2.0","id":{id},"result":{"content":[],"structuredContent":{"answer":null},"_meta":{"trace":null}}}"#,
    r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32000,"message":"tool failed","data":null}}"#,
];

#[tokio::test]
async fn conformant_responses_are_relayed_byte_for_byte() {
    for reply in [ReplyMode::Json, ReplyMode::Sse] {
        let server = TestServer::start(ServerConfig {
            reply,
            ..ServerConfig::streamable()
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
            .args(&["--log-level", "info"])
            .spawn();
        let init = bridge.handshake().await;
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init}"
        );
        for (n, template) in CONFORMANT.iter().enumerate() {
            let id = 100 + n;
            bridge
                .send(&tool_call(id, "raw", json!({ "reply": template })))
                .await;
            let line = bridge.recv_line().await;
            assert_eq!(line, template.replace("{id}", &id.to_string()), "{reply:?}");
        }
        let done = bridge.finish().await;
        assert!(
            !done.stderr.contains("normalised"),
            "nothing to fix, yet: {}",
            done.stderr
        );
    }
}

/// A bridge on a seed-style server that writes `null` for every absent optional field.
async fn seed_with_nulls(extra: &[&str]) -> (TestServer, Bridge) {
    let server = TestServer::start(ServerConfig {
        null_fields: true,
        ..ServerConfig::seed()
    })
    .await;
    let bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--log-level", "info"])
        .args(extra)
        .spawn();
    (server, bridge)
}

/// Sends the requests a client makes after the handshake; returns the three replies.
async fn list_and_call(bridge: &mut Bridge) -> [Value; 3] {
    bridge.send(&tools_list(2)).await;
    let tools = bridge.recv().await;
    assert_result(&tools, 2);
    bridge.send(&echo_call(3, "hi")).await;
    let call = bridge.recv().await;
    assert_result(&call, 3);
    assert_eq!(tool_text(&call), "hi");
    bridge.send(&request(4, "resources/list", None)).await;
    let resources = bridge.recv().await;
    assert_result(&resources, 4);
    [tools, call, resources]
}

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn seed_style_nulls_are_dropped_and_logged_once() {
    let (_server, mut bridge) = seed_with_nulls(&[]).await;
    let init = bridge.handshake().await;
    let result = &init["result"];
    assert_eq!(
        keys(result),
        ["capabilities", "protocolVersion", "serverInfo"]
    );
    assert_eq!(keys(&result["capabilities"]), ["tools"]);
    let [tools, call, resources] = list_and_call(&mut bridge).await;
    assert_eq!(keys(&tools["result"]), ["tools"]);
    assert_eq!(
        keys(&tools["result"]["tools"][0]),
        ["description", "inputSchema", "name"]
    );
    assert_eq!(keys(&call["result"]), ["content", "isError"]);
    assert_eq!(keys(&call["result"]["content"][0]), ["text", "type"]);
    assert_eq!(keys(&resources["result"]["resources"][0]), ["name", "uri"]);
    // Once more: the same kinds of fix are not logged again.
    bridge.send(&tools_list(5)).await;
    assert_result(&bridge.recv().await, 5);
    let done = bridge.finish().await;
    for kind in [
        "initialize result.capabilities.logging",
        "initialize result.instructions",
        "tools/list result.tools[].annotations",
        "tools/list result.nextCursor",
        "tools/call result.content[](text).annotations",
        "resources/list result.resources[].mimeType",
    ] {
        let lines = done
            .stderr
            .lines()
            .filter(|l| l.contains(&format!("normalised {kind}: null → absent")))
            .count();
        assert_eq!(lines, 1, "{kind} logged {lines} times:\n{}", done.stderr);
    }
    assert!(done.status.success(), "{done:?}");
}

#[tokio::test]
async fn strict_relays_the_nulls_as_sent() {
    let (_server, mut bridge) = seed_with_nulls(&["--strict"]).await;
    let init = bridge.handshake().await;
    assert_eq!(init["result"]["capabilities"]["logging"], Value::Null);
    assert!(
        keys(&init["result"]["capabilities"]).contains(&"logging"),
        "{init}"
    );
    let [tools, call, resources] = list_and_call(&mut bridge).await;
    assert!(keys(&tools["result"]["tools"][0]).contains(&"annotations"));
    assert!(keys(&call["result"]["content"][0]).contains(&"annotations"));
    assert!(keys(&resources["result"]["resources"][0]).contains(&"mimeType"));
    let done = bridge.finish().await;
    assert!(!done.stderr.contains("normalised"), "{}", done.stderr);
}
