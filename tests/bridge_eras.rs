//! A stateful (2025) client through the bridge to a server that speaks only 2026-07-28
//! (`support/modern.rs`): `initialize` answered from `server/discover`, requests stamped
//! with the `_meta` envelope and the revision's headers, `ping` and `logging/setLevel`
//! answered by the bridge, input-required results played as requests to the client, and
//! change notifications from a `subscriptions/listen` the bridge holds.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::modern::{ModernServer, VERSION, stateless_request as modern};
use support::*;

fn initialize_with(id: u64, capabilities: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": capabilities,
        "clientInfo": {"name": "legacy-client", "version": "1.0"}}})
    .to_string()
}

async fn connected(server: &ModernServer, capabilities: Value) -> (Bridge, Value) {
    let mut bridge = BridgeBuilder::url(&server.url())
        .args(&["--log-level", "debug"])
        .spawn();
    bridge.send(&initialize_with(1, capabilities)).await;
    let init = bridge.recv().await;
    assert_result(&init, 1);
    bridge.send(&initialized()).await;
    (bridge, init)
}

#[tokio::test]
async fn a_stateful_client_reaches_a_modern_only_server() {
    let server = ModernServer::start().await;
    let (mut bridge, init) = connected(&server, json!({})).await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "modern-test");
    assert_eq!(
        init["result"]["instructions"],
        "a strict 2026-07-28 test server"
    );

    bridge.send(&ping(2)).await;
    assert_result(&bridge.recv().await, 2);
    bridge
        .send(&request(
            3,
            "logging/setLevel",
            Some(json!({"level": "debug"})),
        ))
        .await;
    assert_result(&bridge.recv().await, 3);
    bridge.send(&tools_list(4)).await;
    let list = bridge.recv().await;
    assert_eq!(
        list["result"]["tools"].as_array().unwrap().len(),
        5,
        "{list}"
    );
    bridge
        .send(&tool_call(5, "region", json!({"region": "eu"})))
        .await;
    assert_eq!(tool_text(&bridge.recv().await), "eu");

    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
    let reqs = server.requests();
    let methods: Vec<String> = reqs
        .iter()
        .filter_map(|r| r.rpc_method())
        .filter(|m| m != "subscriptions/listen")
        .collect();
    assert_eq!(
        methods[..4],
        ["initialize", "server/discover", "tools/list", "tools/call"],
        "one initialize, which the modern server refused; ping and setLevel stay local"
    );
    let call = &server.posts_of("tools/call")[0];
    assert_eq!(call.header("mcp-param-region"), Some("eu"));
    assert_eq!(call.header("mcp-protocol-version"), Some(VERSION));
    let body = call.json().unwrap();
    let meta = &body["params"]["_meta"];
    assert_eq!(
        meta["io.modelcontextprotocol/clientInfo"]["name"],
        "legacy-client"
    );
    assert_eq!(meta["io.modelcontextprotocol/logLevel"], "debug");
    assert_eq!(body["id"], 5, "the client's own id on the first round");
    assert!(
        reqs.iter()
            .all(|r| r.method != "DELETE" && r.method != "GET")
    );
}

#[tokio::test]
async fn input_required_becomes_a_request_to_the_client() {
    let server = ModernServer::start().await;
    let (mut bridge, _) = connected(&server, json!({"elicitation": {}})).await;
    bridge.send(&tool_call(2, "ask", json!({}))).await;
    let ask = bridge.recv().await;
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    assert_eq!(ask["params"]["message"], "Your name?");
    let ask_id = ask["id"].clone();
    assert!(ask_id.as_str().unwrap().starts_with("mcp-keybridge-"));
    let answer = json!({"jsonrpc": "2.0", "id": ask_id,
        "result": {"action": "accept", "content": {"name": "Ada"}}});
    bridge.send(&answer.to_string()).await;
    let reply = bridge.recv().await;
    assert_eq!(reply["id"], 2);
    assert_eq!(tool_text(&reply), "hello Ada");
    let calls = server.posts_of("tools/call");
    assert_eq!(calls.len(), 2);
    let retry = String::from_utf8(calls[1].body.clone()).unwrap();
    assert!(
        retry.contains("\"requestState\":\"opaque-\u{e9}tat-1\""),
        "{retry}"
    );
    assert_ne!(
        calls[1].json().unwrap()["id"],
        2,
        "the retry goes under a new id"
    );
    bridge.finish().await;
}

#[tokio::test]
async fn an_input_request_the_client_did_not_declare_is_refused() {
    let server = ModernServer::start().await;
    let (mut bridge, _) = connected(&server, json!({})).await;
    bridge.send(&tool_call(2, "ask", json!({}))).await;
    let reply = bridge.recv().await;
    let error = assert_bridge_error(&reply, 2);
    assert!(
        error["message"].as_str().unwrap().contains("elicitation"),
        "{reply}"
    );
    assert_eq!(server.posts_of("tools/call").len(), 1);
    bridge.finish().await;
}

#[tokio::test]
async fn change_notifications_come_from_a_listen_the_bridge_holds() {
    let server = ModernServer::start().await;
    let (mut bridge, _) = connected(&server, json!({})).await;
    let first = bridge.recv().await;
    assert_eq!(
        first["method"], "notifications/tools/list_changed",
        "{first}"
    );
    assert!(
        first["params"].get("_meta").is_none(),
        "no subscriptionId for a stateful client: {first}"
    );
    // The first stream ended; the bridge reopened it.
    let second = bridge.recv().await;
    assert_eq!(second["params"]["n"], 1, "{second}");
    bridge.expect_silence(Duration::from_millis(200)).await;
    let listen = &server.posts_of("subscriptions/listen")[0];
    assert_eq!(
        listen.json().unwrap()["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    let done = bridge.finish().await;
    assert!(done.status.success());
}

#[tokio::test]
async fn a_modern_client_reaches_stateful_servers_of_both_transports() {
    for config in [ServerConfig::streamable(), ServerConfig::legacy_sse()] {
        let path = if config.mode == Mode::LegacySse {
            "/sse"
        } else {
            "/mcp"
        };
        let server = TestServer::start(config).await;
        let mut bridge = BridgeBuilder::url(&server.url(path)).spawn();
        bridge.send(&modern(1, "server/discover", json!({}))).await;
        let discover = bridge.recv().await;
        assert_eq!(
            discover["result"]["supportedVersions"],
            json!([VERSION]),
            "{discover}"
        );
        assert_eq!(discover["result"]["resultType"], "complete");
        bridge.send(&modern(2, "tools/list", json!({}))).await;
        let list = bridge.recv().await;
        assert_eq!(list["result"]["tools"][0]["name"], "echo", "{list}");
        assert_eq!(list["result"]["resultType"], "complete");
        assert_eq!(list["result"]["ttlMs"], 0);
        assert_eq!(list["result"]["cacheScope"], "private");
        let call = modern(
            3,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        );
        bridge.send(&call).await;
        let reply = bridge.recv().await;
        assert_eq!(reply["id"], 3);
        assert_eq!(reply["result"]["resultType"], "complete", "{reply}");
        let done = bridge.finish().await;
        assert!(done.status.success(), "{done:?}");

        let inits: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.is_post_of("initialize") && r.status_was_success())
            .collect();
        assert_eq!(inits.len(), 1, "one session for the client");
        let init = inits[0].json().unwrap();
        assert_eq!(init["params"]["clientInfo"]["name"], "modern-client");
    }
}

#[tokio::test]
async fn under_protocol_legacy_a_dual_era_probe_is_refused_at_once() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--protocol", "legacy"])
        .spawn();
    bridge.send(&modern(1, "server/discover", json!({}))).await;
    let reply = bridge.recv().await;
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
    // The probe's process exits cleanly on stdin EOF, having sent nothing.
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
    assert!(server.requests().is_empty(), "nothing reaches the server");
    // The client then falls back to the stateful handshake, which is relayed as it is.
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--protocol", "legacy"])
        .spawn();
    bridge.handshake().await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    bridge.finish().await;
}

#[tokio::test]
async fn a_modern_clients_listen_is_emulated_on_a_stateful_session() {
    let server = TestServer::start(ServerConfig {
        capabilities: Some(json!({"tools": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true}})),
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.send(&modern(1, "server/discover", json!({}))).await;
    bridge.recv().await;
    let listen = modern(
        5,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true,
            "resourceSubscriptions": ["test://greeting"]}}),
    );
    bridge.send(&listen).await;
    let ack = bridge.recv().await;
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["test://greeting"]}),
        "the server has no prompts, so their changes are not acknowledged"
    );
    server
        .wait_for("resources/subscribe on the session", |r| {
            r.is_post_of("resources/subscribe")
                && r.json().unwrap()["params"]["uri"] == "test://greeting"
        })
        .await;

    let note = |method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
    };
    let marker = note(
        "notifications/message",
        json!({"level": "info", "data": "marker"}),
    );
    // Not asked for: dropped; asked for: stamped with the listen's id.
    server.push(&note("notifications/prompts/list_changed", json!({})));
    server.push(&note("notifications/tools/list_changed", json!({})));
    server.push(&note(
        "notifications/resources/updated",
        json!({"uri": "test://greeting"}),
    ));
    server.push(&note(
        "notifications/resources/updated",
        json!({"uri": "test://other"}),
    ));
    server.push(&marker);
    let tools = bridge.recv().await;
    assert_eq!(
        tools["method"], "notifications/tools/list_changed",
        "{tools}"
    );
    assert_eq!(
        tools["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );
    let updated = bridge.recv().await;
    assert_eq!(updated["method"], "notifications/resources/updated");
    assert_eq!(updated["params"]["uri"], "test://greeting");
    assert_eq!(
        updated["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        5
    );
    assert_eq!(bridge.recv().await["params"]["data"], "marker");

    // Cancelled: the session's subscription goes, and so do the notifications.
    let cancel = note("notifications/cancelled", json!({"requestId": 5}));
    bridge.send(&cancel).await;
    server
        .wait_for("resources/unsubscribe on the session", |r| {
            r.is_post_of("resources/unsubscribe")
        })
        .await;
    server.push(&note("notifications/tools/list_changed", json!({})));
    server.push(&marker);
    assert_eq!(bridge.recv().await["params"]["data"], "marker");
    assert_eq!(
        server.count(
            |r| r.is_post_of("subscriptions/listen") || r.is_post_of("notifications/cancelled")
        ),
        0,
        "neither reaches a server that does not know them"
    );
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
}
