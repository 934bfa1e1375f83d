//! A 2026-07-28 client through the bridge to a stateful server that asks it something
//! during a call (`router/redirect.rs`): the server's request becomes an input round of the
//! call whose reply stream carried it, under a `requestState` bound to that call; the retry
//! answers the held request, and a round the client leaves alone is cancelled upstream.

mod support;

use serde_json::{Value, json};
use support::modern::stateless_request as modern;
use support::*;

/// A server that asks `roots/list` on the reply stream of every `tools/call`.
async fn asking_server() -> TestServer {
    TestServer::start(ServerConfig {
        reply: ReplyMode::Sse,
        sse_server_request: true,
        ..ServerConfig::streamable()
    })
    .await
}

/// The `inputRequests` key and the `requestState` of an `input_required` answer.
fn round_of(reply: &Value) -> (String, String) {
    assert_eq!(reply["result"]["resultType"], "input_required", "{reply}");
    let key = reply["result"]["inputRequests"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("one input request");
    let state = reply["result"]["requestState"]
        .as_str()
        .unwrap()
        .to_string();
    (key, state)
}

/// The retry of a `slow` call of `ms` with the answer `roots` and the `state`.
fn slow_retry(id: u64, ms: u64, key: &str, state: &str) -> String {
    modern(
        id,
        "tools/call",
        json!({"name": "slow", "arguments": {"ms": ms},
            "inputResponses": {key: {"roots": []}}, "requestState": state}),
    )
}

#[tokio::test]
async fn a_stateful_servers_request_during_a_call_becomes_an_input_round() {
    let server = TestServer::start(ServerConfig {
        reply: ReplyMode::Sse,
        sse_server_request: true,
        ..ServerConfig::streamable()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.send(&modern(1, "server/discover", json!({}))).await;
    bridge.recv().await;
    let call = modern(
        2,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    bridge.send(&call).await;
    let round = bridge.recv().await;
    assert_eq!(round["id"], 2, "{round}");
    assert_eq!(round["result"]["resultType"], "input_required");
    let (key, ask) = round["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(ask["method"], "roots/list");
    let state = round["result"]["requestState"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(state.len() >= 32, "an unguessable handle: {state}");

    let retry = modern(
        3,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"},
        "inputResponses": {key.as_str(): {"roots": []}}, "requestState": state}),
    );
    bridge.send(&retry).await;
    let reply = bridge.recv().await;
    assert_eq!(
        reply["id"], 3,
        "the call's answer comes under the retry's id: {reply}"
    );
    assert_eq!(tool_text(&reply), "hi");
    assert_eq!(reply["result"]["resultType"], "complete");
    server
        .wait_for("the answer to the server's request", |r| {
            r.json().is_some_and(|m| {
                m["id"].as_str().is_some_and(|i| i.starts_with("srv-"))
                    && m["result"]["roots"] == json!([])
            })
        })
        .await;
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.is_post_of("tools/call"))
            .count(),
        1,
        "the retry is not sent again: the call goes on upstream"
    );
    bridge.finish().await;
}

#[tokio::test]
async fn concurrent_calls_each_get_the_round_their_stream_carried() {
    let server = asking_server().await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.send(&modern(1, "server/discover", json!({}))).await;
    bridge.recv().await;
    // Both calls are under way upstream when their servers' questions come.
    for (id, ms) in [(2, 400), (3, 300)] {
        let call = modern(
            id,
            "tools/call",
            json!({"name": "slow", "arguments": {"ms": ms}}),
        );
        bridge.send(&call).await;
    }
    let mut rounds = std::collections::HashMap::new();
    for _ in 0..2 {
        let reply = bridge.recv().await;
        rounds.insert(reply["id"].as_u64().unwrap(), round_of(&reply));
    }
    assert_eq!(rounds.len(), 2, "one round for each call, none refused");
    let (k2, s2) = &rounds[&2];
    let (k3, s3) = &rounds[&3];
    // Each handle is bound to its own call: the 400 ms call's state does not retry the other.
    bridge.send(&slow_retry(4, 300, k2, s2)).await;
    let refused = bridge.recv().await;
    assert_eq!(refused["id"], 4);
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    bridge.send(&slow_retry(5, 300, k3, s3)).await;
    bridge.send(&slow_retry(6, 400, k2, s2)).await;
    let mut answers = std::collections::HashMap::new();
    for _ in 0..2 {
        let reply = bridge.recv().await;
        answers.insert(reply["id"].as_u64().unwrap(), tool_text(&reply).to_string());
    }
    assert_eq!(answers[&5], "slept 300 ms");
    assert_eq!(answers[&6], "slept 400 ms");
    // A handle is used once.
    bridge.send(&slow_retry(7, 400, k2, s2)).await;
    let again = bridge.recv().await;
    assert_eq!(again["error"]["code"], -32602, "{again}");
    assert_eq!(
        server.count(|r| r.is_post_of("tools/call")),
        2,
        "retries answer the calls under way; nothing is called twice"
    );
    bridge.finish().await;
}

#[tokio::test]
async fn an_altered_request_state_is_refused() {
    let server = asking_server().await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.send(&modern(1, "server/discover", json!({}))).await;
    bridge.recv().await;
    let call = modern(
        2,
        "tools/call",
        json!({"name": "slow", "arguments": {"ms": 200}}),
    );
    bridge.send(&call).await;
    let (key, state) = round_of(&bridge.recv().await);
    let mut forged = state.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    bridge.send(&slow_retry(3, 200, &key, &forged)).await;
    let refused = bridge.recv().await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert_eq!(refused["error"]["data"]["source"], "mcp-keybridge");
    // The round is still there for the real retry.
    bridge.send(&slow_retry(4, 200, &key, &state)).await;
    let reply = bridge.recv().await;
    assert_eq!(reply["id"], 4);
    assert_eq!(tool_text(&reply), "slept 200 ms");
    bridge.finish().await;
}

#[tokio::test]
async fn a_round_left_unanswered_is_cancelled_upstream() {
    let server = asking_server().await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--input-timeout", "1"])
        .spawn();
    bridge.send(&modern(1, "server/discover", json!({}))).await;
    bridge.recv().await;
    let call = modern(
        2,
        "tools/call",
        json!({"name": "slow", "arguments": {"ms": 5000}}),
    );
    bridge.send(&call).await;
    let (key, state) = round_of(&bridge.recv().await);
    let cancel = server
        .wait_for("the cancellation of the abandoned call", |r| {
            r.json().is_some_and(|m| {
                m["method"] == "notifications/cancelled" && m["params"]["requestId"] == 2
            })
        })
        .await;
    assert!(cancel.json().unwrap()["params"]["reason"].is_string());
    server
        .wait_for("an error for the server's held request", |r| {
            r.json().is_some_and(|m| {
                m["id"].as_str().is_some_and(|i| i.starts_with("srv-")) && m["error"].is_object()
            })
        })
        .await;
    // A retry after the expiry is refused, never sent as a new call.
    bridge.send(&slow_retry(3, 5000, &key, &state)).await;
    let late = bridge.recv().await;
    assert_eq!(late["error"]["code"], -32602, "{late}");
    assert_eq!(server.count(|r| r.is_post_of("tools/call")), 1);
    bridge.finish().await;
}
