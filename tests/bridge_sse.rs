//! Legacy HTTP+SSE transport (2024-11-05) and the seed server's quirks: the `endpoint`
//! event and its resolution, auto mode's fallback from Streamable HTTP, refusal of an
//! endpoint on another origin, and mcp-jira-confluence-sse's synchronous replies,
//! id-less notification replies and broken `GET /sse`.

mod support;

use std::time::Duration;
use support::*;

/// Field order and spacing no serializer would produce: the server must get these bytes.
const ODD_CALL: &str = r#"{ "params" : {"arguments":{"text":"h\u00e9llo \"q\""},"name":"echo"} ,"id":  7, "method":"tools/call","jsonrpc":"2.0" }"#;

#[tokio::test]
async fn legacy_round_trip_posts_exact_bytes_to_the_endpoint() {
    let server = TestServer::start(ServerConfig {
        sse_notification: true,
        ping_every: Duration::from_millis(100),
        bearer: Some("legacy-tok".into()),
        ..ServerConfig::legacy_sse()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse", "--bearer", "env:TOKEN"])
        .args(&["--header", "X-Tenant: ${env:TENANT}"])
        .env("TOKEN", "legacy-tok")
        .env("TENANT", "acme")
        .spawn();
    bridge.handshake().await;
    // Let a few `: ping` comments (CRLF-framed) go by between messages.
    let pinged = server.pings();
    let deadline = std::time::Instant::now() + STEP;
    while server.pings() < pinged + 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server stopped pinging"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    bridge.send(ODD_CALL).await;
    assert_eq!(bridge.recv().await["method"], "notifications/message");
    let reply = bridge.recv().await;
    assert_result(&reply, 7);
    assert_eq!(tool_text(&reply), "héllo \"q\"");
    bridge.send(&tools_list(8)).await;
    assert_result(&bridge.recv().await, 8);

    let done = bridge.finish().await;
    assert!(done.status.success(), "exit on stdin EOF: {done:?}");
    assert!(
        done.stdout.is_empty(),
        "unexpected output: {:?}",
        done.stdout
    );

    let reqs = server.requests();
    let log = record::summarize(&reqs);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/sse"),
        "{log}"
    );
    assert!(
        reqs[0]
            .header("accept")
            .unwrap_or_default()
            .contains("text/event-stream")
    );
    let posts: Vec<_> = reqs.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(
        posts.len(),
        4,
        "initialize, initialized, call, list:\n{log}"
    );
    for post in &posts {
        assert_eq!(post.path, "/messages/", "{log}");
        assert!(
            post.query
                .as_deref()
                .unwrap_or_default()
                .starts_with("session_id=")
        );
    }
    for req in &reqs {
        assert_eq!(
            req.header("authorization"),
            Some("Bearer legacy-tok"),
            "{log}"
        );
        assert_eq!(req.header("x-tenant"), Some("acme"), "{log}");
    }
    let call = posts.iter().find(|r| r.is_post_of("tools/call")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&call.body),
        ODD_CALL,
        "bytes changed"
    );
}

#[tokio::test]
async fn legacy_framing_variants_are_parsed() {
    // LF endings, unnamed events, and frames (the endpoint event too) arriving in pieces.
    for (sse_event_names, sse_split_every) in [(false, None), (true, Some(3)), (false, Some(1))] {
        let label = format!("names={sse_event_names} split={sse_split_every:?}");
        let server = TestServer::start(ServerConfig {
            crlf: false,
            sse_event_names,
            sse_split_every,
            ..ServerConfig::legacy_sse()
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url("/sse"))
            .args(&["--transport", "sse"])
            .spawn();
        bridge.handshake().await;
        bridge.send(&echo_call(2, "naïve ✓")).await;
        assert_eq!(tool_text(&bridge.recv().await), "naïve ✓", "{label}");
    }
}

#[tokio::test]
async fn stream_without_an_endpoint_event_fails_initialize_instead_of_hanging() {
    let server = TestServer::start(ServerConfig {
        endpoint_event: false,
        ..ServerConfig::legacy_sse()
    })
    .await;
    // Auto mode: the POST gets 405, the fallback GET stream only ever sends pings. The wait
    // for `endpoint` is --connect-timeout's: 1 s instead of the default 10 s.
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--connect-timeout", "1"])
        .spawn();
    bridge.send(&initialize(1)).await;
    let reply = bridge.recv_within(Duration::from_secs(30)).await;
    let reply = reply.expect("initialize unanswered after 30 s");
    assert_bridge_error(&reply, 1);
}

#[tokio::test]
async fn auto_mode_falls_back_to_legacy_sse_on_400_404_405() {
    for status in [400, 404, 405] {
        let server = TestServer::start(ServerConfig {
            legacy_post_status: status,
            ..ServerConfig::legacy_sse()
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url("/sse")).spawn();
        bridge.handshake().await;
        bridge.send(&tools_list(2)).await;
        assert_result(&bridge.recv().await, 2);

        let reqs = server.requests();
        let log = record::summarize(&reqs);
        assert!(
            reqs[0].is_post_of("initialize"),
            "{status}: probe first:\n{log}"
        );
        assert_eq!(reqs[0].path, "/sse");
        assert_eq!(
            (reqs[1].method.as_str(), reqs[1].path.as_str()),
            ("GET", "/sse")
        );
        assert!(
            reqs[2].is_post_of("initialize"),
            "{status}: then the handshake:\n{log}"
        );
        assert_eq!(reqs[2].path, "/messages/");
    }
}

#[tokio::test]
async fn relative_endpoint_is_resolved_against_the_sse_url() {
    let server = TestServer::start(ServerConfig {
        endpoint: "messages/?session_id={session}".into(),
        ..ServerConfig::legacy_sse()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/api/sse"))
        .args(&["--transport", "sse"])
        .spawn();
    bridge.handshake().await;
    let post = server.wait_for("a POST", |r| r.method == "POST").await;
    assert_eq!(
        post.path, "/api/messages/",
        "RFC 3986 resolution against /api/sse"
    );
}

#[tokio::test]
async fn absolute_endpoint_on_the_same_origin_is_accepted() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    let endpoint = server.url("/messages/?session_id={session}");
    server.update(|c| c.endpoint = endpoint);
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse"])
        .spawn();
    bridge.handshake().await;
}

#[tokio::test]
async fn endpoint_on_another_origin_is_refused() {
    let other = TestServer::start(ServerConfig::legacy_sse()).await;
    let server = TestServer::start(ServerConfig {
        endpoint: other.url("/messages/?session_id={session}"),
        bearer: Some("tok-legacy".into()),
        ..ServerConfig::legacy_sse()
    })
    .await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse", "--bearer", "env:LEGACY_TOKEN"])
        .env("LEGACY_TOKEN", "tok-legacy")
        .spawn();
    bridge.send(&initialize(1)).await;
    assert_bridge_error(&bridge.recv().await, 1);
    assert!(
        other.requests().is_empty(),
        "the other origin was contacted:\n{}",
        record::summarize(&other.requests())
    );
}

#[tokio::test]
async fn legacy_stream_relays_server_messages_and_drops_unknown_responses() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse"])
        .spawn();
    bridge.handshake().await;
    server.push(r#"{"jsonrpc":"2.0","id":"nobody-asked","result":{}}"#);
    server.push(r#"{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}"#);
    let first = bridge.recv().await;
    assert_eq!(
        first["method"], "notifications/resources/list_changed",
        "{first}"
    );
}

#[tokio::test]
async fn seed_server_in_auto_mode_drops_its_notification_replies_and_exits() {
    let server = TestServer::start(ServerConfig::seed()).await;
    let mut bridge = BridgeBuilder::url(&server.url("/sse")).spawn();
    let init = bridge.handshake().await;
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    // The seed answers notifications with `"id": null` messages; none may reach stdout.
    bridge
        .send(&notification("notifications/roots/list_changed", None))
        .await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    bridge.send(&echo_call(3, "seed")).await;
    assert_eq!(tool_text(&bridge.recv().await), "seed");
    // The seed has no ping: its -32601 for id 4 is the server's answer and is relayed.
    bridge.send(&ping(4)).await;
    let pong = bridge.recv().await;
    assert_eq!(
        (pong["id"].clone(), pong["error"]["code"].clone()),
        (4.into(), (-32601).into())
    );

    // The GET /sse stream the seed never closes must not keep the bridge alive.
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stdout.is_empty(),
        "unexpected output: {:?}",
        done.stdout
    );
    let reqs = server.requests();
    assert!(
        reqs.iter()
            .any(|r| r.is_post_of("notifications/roots/list_changed"))
    );
}

#[tokio::test]
async fn seed_client_setup_piped_from_sse_server_url() {
    let server = TestServer::start(ServerConfig::seed()).await;
    // The seed's own client: SSE_SERVER_URL without a path, a script closing stdin at once.
    let input = [initialize(1), initialized(), tools_list(2)].join("\n") + "\n";
    let done = BridgeBuilder::new()
        .env("SSE_SERVER_URL", &server.origin())
        .run(input.as_bytes())
        .await;
    assert!(done.status.success(), "{done:?}");
    let messages = done.messages();
    assert_eq!(
        messages.len(),
        2,
        "both replies and nothing else: {:?}",
        done.stdout
    );
    assert_result(&messages[0], 1);
    assert_result(&messages[1], 2);
    let reqs = server.requests();
    assert!(
        reqs[0].is_post_of("initialize"),
        "{}",
        record::summarize(&reqs)
    );
    assert_eq!(reqs[0].path, "/");
}

#[tokio::test]
async fn legacy_piped_script_waits_for_replies_on_the_stream() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    let input = [initialize(1), initialized(), echo_call(2, "piped")].join("\n") + "\n";
    let done = BridgeBuilder::url(&server.url("/sse"))
        .args(&["--transport", "sse"])
        .run(input.as_bytes())
        .await;
    assert!(done.status.success(), "{done:?}");
    let messages = done.messages();
    assert_eq!(messages.len(), 2, "{:?}", done.stdout);
    assert_result(&messages[0], 1);
    assert_eq!(tool_text(&messages[1]), "piped");
}
