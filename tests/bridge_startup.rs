//! Credentials that cannot be read when the bridge starts (issue 16): the bridge stays up as
//! a stdio server, answers each request with an error that names the source and its fix,
//! re-reads the source on every request and recovers without a restart. And the messages a
//! refused credential gets: an expired JWT called expired, the fix for its kind of source,
//! the server's words quoted as the server's.

mod support;

use serde_json::Value;
use support::*;

fn message(reply: &Value) -> &str {
    reply["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_unset_env_source_is_an_initialize_error_that_says_restart_the_client() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--bearer", "env:JIRA_TOKEN"])
        .spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 1);
    let text = message(&reply);
    assert!(
        text.contains("JIRA_TOKEN") && text.contains("restart the client"),
        "{text}"
    );
    // Still up, and every later request gets the same answer.
    bridge.send(&initialize(2)).await;
    assert_bridge_error(&bridge.recv().await, 2);
    assert_eq!(
        server.requests().len(),
        0,
        "nothing is sent without the credential"
    );
    bridge.close_stdin();
    assert!(bridge.wait_exit().await.success());
}

#[tokio::test]
async fn a_source_that_becomes_readable_is_used_without_a_restart() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("late-token".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let path = support::bridge::scratch_dir().join("late-token");
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .arg("--bearer")
        .arg(&format!("file:{}", path.display()))
        .spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    assert_bridge_error(&reply, 1);
    let text = message(&reply);
    assert!(
        text.contains("cannot read the credentials") && text.contains(&path.display().to_string()),
        "{text}"
    );
    assert!(bridge.stderr().contains("cannot read the credentials"));

    std::fs::write(&path, "late-token\n").unwrap();
    bridge.send(&initialize(2)).await;
    assert_result(&bridge.recv().await, 2);
    bridge.send(&initialized()).await;
    bridge.send(&echo_call(3, "now")).await;
    assert_eq!(tool_text(&bridge.recv().await), "now");
}

#[tokio::test]
async fn an_expired_jwt_is_called_expired_with_the_fix_for_its_source() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("only-this".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let path = support::bridge::scratch_dir().join("stale-jwt");
    std::fs::write(&path, jwt("alice", -12 * 60 - 5)).unwrap();
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .arg("--bearer")
        .arg(&format!("file:{}", path.display()))
        .spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    let error = assert_bridge_error(&reply, 1);
    assert_eq!(error["data"]["httpStatus"], 401);
    let text = message(&reply);
    let source = format!("file:{}", path.display());
    assert!(
        text.contains(&format!(
            "the token from {source} expired 12 minutes ago (its exp claim)"
        )),
        "{text}"
    );
    assert!(
        text.contains(r#"the server said: "Authentication required""#),
        "{text}"
    );
    assert!(text.contains("Write a fresh token"), "{text}");
    assert!(!text.to_lowercase().contains("check the url"), "{text}");

    // An env: source cannot change under a running bridge: the advice says so.
    let mut bridge = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--bearer", "env:T"])
        .env("T", "wrong")
        .spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv().await;
    let text = message(&reply);
    assert!(text.contains("rejected the credentials"), "{text}");
    assert!(text.contains("restart the client"), "{text}");
    assert!(!text.contains("re-read on the next request"), "{text}");
}

#[tokio::test]
async fn auth_status_exits_1_for_an_expired_jwt() {
    let run = |token: String| async move {
        BridgeBuilder::new()
            .args(&["auth", "status", "--bearer", "env:T"])
            .env("T", &token)
            .run(b"")
            .await
    };
    let stale = run(jwt("u", -60)).await;
    assert_eq!(stale.status.code(), Some(1), "{:?}", stale.stdout);
    let out = stale.stdout.join("\n");
    assert!(
        out.contains("NOT USABLE") && out.contains("expired"),
        "{out}"
    );
    let fresh = run(jwt("u", 3600)).await;
    assert_eq!(fresh.status.code(), Some(0), "{:?}", fresh.stdout);
}
