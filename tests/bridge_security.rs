//! Credentials on the HTTP leg: where they come from (`--bearer REF`, `--header` templates,
//! MCP_KEYBRIDGE_TOKEN, the seed's JIRA/CONFLUENCE variables), refusing plain http to a
//! remote host, 401 messages that name the source but never the value, cross-origin
//! redirects that must not carry credentials, and secrets absent from every log.

mod support;

use support::*;

/// Runs a handshake, a tools/list and EOF against `server`; returns every request it saw.
async fn session_requests(server: &TestServer, builder: BridgeBuilder) -> Vec<Recorded> {
    let mut bridge = builder.spawn();
    bridge.handshake().await;
    bridge.send(&tools_list(2)).await;
    assert_result(&bridge.recv().await, 2);
    let done = bridge.finish().await;
    assert!(done.status.success(), "{done:?}");
    server.requests()
}

#[tokio::test]
async fn bearer_from_env_ref_is_sent_on_every_request() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("tok-every".into()),
        get_stream: true,
        ..ServerConfig::streamable()
    })
    .await;
    let builder = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--bearer", "env:MY_TOKEN"])
        .env("MY_TOKEN", "tok-every");
    let reqs = session_requests(&server, builder).await;
    for method in ["POST", "GET", "DELETE"] {
        assert!(reqs.iter().any(|r| r.method == method), "no {method} seen");
    }
    for req in &reqs {
        assert_eq!(
            req.header("authorization"),
            Some("Bearer tok-every"),
            "{}",
            req.summary()
        );
        assert!(
            !req.query
                .as_deref()
                .unwrap_or_default()
                .contains("tok-every")
        );
    }
}

#[tokio::test]
async fn mcp_keybridge_token_is_the_default_bearer() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("tok-default".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let builder = BridgeBuilder::url(&server.url("/mcp")).env("MCP_KEYBRIDGE_TOKEN", "tok-default");
    session_requests(&server, builder).await;
}

#[tokio::test]
async fn header_templates_expand_env_references() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let builder = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--header", "X-Jira-Token: ${env:JIRA}"])
        .args(&["--header", "X-Team: pre-${TEAM}-post"])
        .env("JIRA", "jira-123")
        .env("TEAM", "blue");
    for req in session_requests(&server, builder).await {
        assert_eq!(
            req.header("x-jira-token"),
            Some("jira-123"),
            "{}",
            req.summary()
        );
        assert_eq!(req.header("x-team"), Some("pre-blue-post"));
    }
}

#[tokio::test]
async fn unknown_credential_scheme_exits_2_naming_it() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let done = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--bearer", "bogus:thing"])
        .run(b"")
        .await;
    assert_eq!(done.status.code(), Some(2), "{done:?}");
    assert!(
        done.stderr.contains("bogus"),
        "unclear message: {}",
        done.stderr
    );
    assert!(
        server.requests().is_empty(),
        "refused config still connected"
    );
}

#[tokio::test]
async fn seed_token_variables_equal_or_single_become_a_bearer() {
    let cases = [
        (Some("same"), Some("same")),
        (Some("only-jira"), None),
        (None, Some("only-confluence")),
    ];
    for (jira, confluence) in cases {
        let server = TestServer::start(ServerConfig::seed()).await;
        let mut builder = BridgeBuilder::url(&server.url("/mcp"));
        if let Some(jira) = jira {
            builder = builder.env("JIRA_PERSONAL_TOKEN", jira);
        }
        if let Some(confluence) = confluence {
            builder = builder.env("CONFLUENCE_PERSONAL_TOKEN", confluence);
        }
        let expected = format!("Bearer {}", jira.or(confluence).unwrap());
        for req in session_requests(&server, builder).await {
            assert_eq!(req.header("authorization"), Some(expected.as_str()));
            assert!(!req.has_header("x-jira-token") && !req.has_header("x-confluence-token"));
        }
    }
}

#[tokio::test]
async fn seed_token_variables_that_differ_become_two_headers() {
    let server = TestServer::start(ServerConfig::seed()).await;
    let builder = BridgeBuilder::url(&server.url("/mcp"))
        .env("JIRA_PERSONAL_TOKEN", "jira-tok")
        .env("CONFLUENCE_PERSONAL_TOKEN", "conf-tok");
    for req in session_requests(&server, builder).await {
        assert_eq!(
            req.header("x-jira-token"),
            Some("jira-tok"),
            "{}",
            req.summary()
        );
        assert_eq!(req.header("x-confluence-token"), Some("conf-tok"));
        assert!(!req.has_header("authorization"));
    }
}

#[tokio::test]
async fn explicit_bearer_wins_over_default_and_seed_token_variables() {
    let server = TestServer::start(ServerConfig::seed()).await;
    let builder = BridgeBuilder::url(&server.url("/mcp"))
        .args(&["--bearer", "env:EXPLICIT"])
        .env("EXPLICIT", "explicit-tok")
        .env("MCP_KEYBRIDGE_TOKEN", "default-tok")
        .env("JIRA_PERSONAL_TOKEN", "jira-tok")
        .env("CONFLUENCE_PERSONAL_TOKEN", "conf-tok");
    for req in session_requests(&server, builder).await {
        assert_eq!(req.header("authorization"), Some("Bearer explicit-tok"));
        for loser in ["default-tok", "jira-tok", "conf-tok"] {
            assert!(!req.mentions(loser), "{loser} sent: {}", req.summary());
        }
    }
}

/// Points every http proxy variable at `trap`, so a bridge that (wrongly) goes to a
/// remote host talks to the test server instead of the network: no DNS, no traffic.
fn via_trap_proxy(builder: BridgeBuilder, trap: &TestServer) -> BridgeBuilder {
    let proxy = trap.origin();
    builder
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("ALL_PROXY", &proxy)
}

#[tokio::test]
async fn plain_http_to_a_remote_host_with_credentials_exits_2() {
    const REMOTE: &str = "http://mcp.example.invalid/mcp";
    let trap = TestServer::start(ServerConfig::streamable()).await;
    let credential_sources: [&[(&str, &str)]; 4] = [
        &[("MCP_KEYBRIDGE_TOKEN", "t")],
        &[("JIRA_PERSONAL_TOKEN", "t")],
        &[("--bearer", "env:T"), ("T", "t")],
        &[("--header", "X-Api-Key: k")],
    ];
    for source in credential_sources {
        let mut builder = BridgeBuilder::url(REMOTE);
        for &(key, value) in source {
            builder = match key.strip_prefix("--") {
                Some(_) => builder.args(&[key, value]),
                None => builder.env(key, value),
            };
        }
        let done = via_trap_proxy(builder, &trap).run(b"").await;
        assert_eq!(done.status.code(), Some(2), "{source:?}: {done:?}");
        assert!(
            done.stderr.contains("allow-http"),
            "{source:?}: {}",
            done.stderr
        );
    }
    assert!(
        trap.requests().is_empty(),
        "{}",
        record::summarize(&trap.requests())
    );
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_allowed_without_credentials_or_with_allow_http() {
    let trap = TestServer::start(ServerConfig::streamable()).await;
    let remote = "http://mcp.example.invalid/mcp";
    let mut bridge = via_trap_proxy(BridgeBuilder::url(remote), &trap).spawn();
    bridge.handshake().await;
    drop(bridge);

    let builder = BridgeBuilder::url(remote)
        .args(&["--allow-http", "--bearer", "env:T"])
        .env("T", "opted-in");
    let mut bridge = via_trap_proxy(builder, &trap).spawn();
    bridge.handshake().await;
    assert!(trap.requests().iter().any(|r| r.mentions("opted-in")));
}

#[tokio::test]
async fn loopback_by_name_needs_no_allow_http() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let url = format!("http://localhost:{}/mcp", server.addr.port());
    let builder = BridgeBuilder::url(&url)
        .args(&["--bearer", "env:T"])
        .env("T", "local");
    session_requests(&server, builder).await;
}

/// The two ways in: Streamable HTTP at `/mcp` (auto mode) and legacy SSE at `/sse`.
fn transports() -> [(ServerConfig, &'static str, &'static [&'static str]); 2] {
    [
        (ServerConfig::streamable(), "/mcp", &[]),
        (ServerConfig::legacy_sse(), "/sse", &["--transport", "sse"]),
    ]
}

#[tokio::test]
async fn unauthorized_names_the_credential_source_but_not_the_value() {
    // Each transport, with the Python SDK's 401 and with FastMCP's bare one.
    let cases = transports()
        .into_iter()
        .flat_map(|t| [(t.clone(), false), (t, true)]);
    for ((cfg, path, transport), bare_401) in cases {
        let server = TestServer::start(ServerConfig {
            bearer: Some("the-right-one".into()),
            bare_401,
            ..cfg
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url(path))
            .args(transport)
            .args(&["--bearer", "env:MY_TOKEN"])
            .env("MY_TOKEN", "wrong-value-1234")
            .spawn();
        bridge.send(&initialize(1)).await;
        let (line, reply) = bridge.recv_with_line().await;
        let error = assert_bridge_error(&reply, 1);
        assert_eq!(error["data"]["httpStatus"], 401, "{path}: {reply}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("env:MY_TOKEN"),
            "{path}: source not named: {message}"
        );
        assert!(
            !line.contains("wrong-value-1234"),
            "token value leaked: {line}"
        );
        let done = bridge.finish().await;
        assert!(!done.stderr.contains("wrong-value-1234"), "{}", done.stderr);
    }
}

#[tokio::test]
async fn cross_origin_redirect_is_refused_without_leaking_credentials() {
    for (cfg, path, transport) in transports() {
        let other = TestServer::start(cfg.clone()).await;
        let server = TestServer::start(ServerConfig {
            redirect_to: Some(other.origin()),
            ..cfg
        })
        .await;
        let mut bridge = BridgeBuilder::url(&server.url(path))
            .args(transport)
            .args(&["--bearer", "env:TOKEN"])
            .args(&["--header", "X-Jira-Token: ${env:JIRA}"])
            .env("TOKEN", "redirect-bearer")
            .env("JIRA", "redirect-jira")
            .spawn();
        bridge.send(&initialize(1)).await;
        let reply = bridge.recv().await;
        let error = assert_bridge_error(&reply, 1);
        assert_eq!(error["data"]["httpStatus"], 307, "{path}: {reply}");
        // Actionable: the refusal names where the server wanted to send us.
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(&other.origin()), "{path}: {message}");

        let seen = other.requests();
        for req in &seen {
            assert!(
                !req.has_header("authorization") && !req.has_header("x-jira-token"),
                "{path}: credentials followed the redirect: {:?}",
                req.headers
            );
            assert!(!req.mentions("redirect-bearer") && !req.mentions("redirect-jira"));
        }
        let log = record::summarize(&seen);
        assert!(seen.is_empty(), "{path}: redirect was followed:\n{log}");
    }
}

#[tokio::test]
async fn secrets_never_appear_in_trace_logs_or_stdout() {
    const BEARER: &str = "trace-bearer-9f8e7d";
    const HEADER: &str = "trace-header-6c5b4a";
    let with_secrets = |builder: BridgeBuilder| {
        builder
            .args(&["--log-level", "trace", "--bearer", "env:KB_TOKEN"])
            .args(&["--header", "X-Secret: ${env:KB_HEADER}"])
            .env("KB_TOKEN", BEARER)
            .env("KB_HEADER", HEADER)
    };
    let assert_clean = |what: &str, text: &str| {
        assert!(!text.contains(BEARER), "bearer leaked in {what}:\n{text}");
        assert!(
            !text.contains(HEADER),
            "header secret leaked in {what}:\n{text}"
        );
    };

    for (cfg, path, transport) in transports() {
        let server = TestServer::start(ServerConfig {
            bearer: Some(BEARER.into()),
            reply: ReplyMode::Sse,
            get_stream: true,
            ..cfg
        })
        .await;
        let url = server.url(path);

        // Happy path: handshake, a call, EOF (DELETE).
        let mut bridge = with_secrets(BridgeBuilder::url(&url).args(transport)).spawn();
        bridge.handshake().await;
        bridge.send(&echo_call(2, "visible")).await;
        assert_clean("stdout", &bridge.recv_line().await);
        let done = bridge.finish().await;
        assert!(
            !done.stderr.is_empty(),
            "{path}: trace logging wrote nothing"
        );
        assert_clean("stderr", &done.stderr);
        assert_clean("stdout", &done.stdout.join("\n"));

        // Error path: the server stops accepting the token; logs go to a file this time.
        server.update(|c| c.bearer = Some("rotated".into()));
        let log_path = bridge::scratch_dir().join("trace.log");
        let builder = with_secrets(BridgeBuilder::url(&url).args(transport))
            .args(&["--log-file", log_path.to_str().unwrap()]);
        let mut bridge = builder.spawn();
        bridge.send(&initialize(1)).await;
        assert_clean("the 401 error", &bridge.recv_line().await);
        let done = bridge.finish().await;
        assert_clean("stderr", &done.stderr);
        let file = std::fs::read_to_string(&log_path).unwrap_or_default();
        assert!(
            !file.is_empty() || !done.stderr.is_empty(),
            "{path}: no logs"
        );
        assert_clean("the log file", &file);
    }
}
