//! `mcp-keybridge check`, run as a user would run it: the built-in demo (human and JSON), and
//! checks against the in-repo test server for success over both transports and for each
//! failure the report must explain (rejected token, nothing listening, plain http to a remote
//! host, an unreadable credential, the wrong transport, no answer) — exit codes, the advice
//! given, and no secret in any output.

mod support;

use serde_json::Value;
use support::*;

/// Runs `mcp-keybridge check ARGS` with `envs` to the end.
async fn check(args: &[&str], envs: &[(&str, &str)]) -> Finished {
    let mut builder = BridgeBuilder::new().arg("check").args(args);
    for (k, v) in envs {
        builder = builder.env(k, v);
    }
    builder.run(b"").await
}

fn stdout(done: &Finished) -> String {
    done.stdout.join("\n")
}

/// The one JSON object `check --json` prints.
fn report(done: &Finished) -> Value {
    assert_eq!(done.stdout.len(), 1, "one line of JSON expected: {done:?}");
    serde_json::from_str(&done.stdout[0]).expect("check --json prints JSON")
}

fn code(done: &Finished) -> Option<i32> {
    done.status.code()
}

#[tokio::test]
async fn demo_passes_and_says_so() {
    let done = check(&["--demo", "-v"], &[]).await;
    let out = stdout(&done);
    assert_eq!(code(&done), Some(0), "{out}\n{}", done.stderr);
    assert!(out.contains("[1/3] Streamable HTTP: passed"), "{out}");
    assert!(
        out.contains("transport:   streamable-http (detected)"),
        "{out}"
    );
    assert!(out.contains("[2/3] legacy HTTP+SSE: passed"), "{out}");
    assert!(out.contains("transport:   sse (detected)"), "{out}");
    assert!(out.contains("tools:       2: echo, add"), "{out}");
    assert!(
        out.contains("[3/3] without the token (must be refused): passed"),
        "{out}"
    );
    assert!(out.contains("Demo passed"), "{out}");
    // The one-run token starts with this; it must never be shown.
    assert!(!out.contains("mkb-demo-") && !done.stderr.contains("mkb-demo-"));
}

#[tokio::test]
async fn demo_json_reports_every_step_and_cleans_up() {
    let done = check(&["--demo", "--json"], &[]).await;
    assert_eq!(code(&done), Some(0), "{done:?}");
    let r = report(&done);
    assert_eq!(r["ok"], true);
    assert_eq!(r["tokenFileRemoved"], true);
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["report"]["transport"]["used"], "streamable-http");
    assert_eq!(steps[1]["report"]["transport"]["used"], "sse");
    for step in &steps[..2] {
        assert_eq!(step["report"]["credentialsStatus"], "accepted");
        assert_eq!(step["report"]["tools"]["names"][1], "add");
    }
    assert_eq!(steps[2]["report"]["error"]["kind"], "unauthorized");
    assert_eq!(steps[2]["report"]["error"]["httpStatus"], 401);
    let source = steps[0]["report"]["credentials"][0]["sources"][0]
        .as_str()
        .unwrap();
    let path = source.strip_prefix("file:").expect("a file: reference");
    assert!(!std::path::Path::new(path).exists(), "{path} left behind");
    assert!(!done.stdout[0].contains("mkb-demo-"));
}

#[tokio::test]
async fn streamable_success_reports_the_server_and_closes_the_session() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("tok-check-ok".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let url = server.url("/mcp");
    let done = check(
        &[&url, "--bearer", "env:TOK", "-v"],
        &[("TOK", "tok-check-ok")],
    )
    .await;
    let out = stdout(&done);
    assert_eq!(code(&done), Some(0), "{out}\n{}", done.stderr);
    assert!(out.starts_with("mcp-keybridge check: OK"), "{out}");
    assert!(out.contains("streamable-http (detected)"), "{out}");
    assert!(
        out.contains(&format!("protocol:    {PROTOCOL_VERSION}")),
        "{out}"
    );
    assert!(
        out.contains("credentials: authorization from env:TOK: accepted"),
        "{out}"
    );
    assert!(out.contains("round trips: initialize "), "{out}");
    assert!(!out.contains("tok-check-ok"));
    let reqs = server.requests();
    assert!(reqs.iter().any(|r| r.is_post_of("tools/list")));
    assert!(reqs.iter().any(|r| r.method == "DELETE"), "no DELETE");
    assert!(server.live_sessions().is_empty(), "session left open");
}

#[tokio::test]
async fn legacy_sse_success_in_json() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("tok-legacy".into()),
        ..ServerConfig::legacy_sse()
    })
    .await;
    let url = server.url("/sse");
    let done = check(
        &[&url, "--json", "--bearer", "env:TOK"],
        &[("TOK", "tok-legacy")],
    )
    .await;
    assert_eq!(code(&done), Some(0), "{done:?}");
    let r = report(&done);
    assert_eq!(r["ok"], true);
    assert_eq!(r["transport"]["requested"], "auto");
    assert_eq!(r["transport"]["used"], "sse");
    assert_eq!(r["credentials"][0]["sources"][0], "env:TOK");
    assert!(r["tools"]["count"].as_u64().unwrap() > 0, "{r}");
    assert!(r["timingsMs"]["initialize"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn rejected_token_names_the_fix_and_never_the_token() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("the-right-one".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let url = server.url("/mcp");
    let done = check(
        &[&url, "--bearer", "env:TOK"],
        &[("TOK", "wrong-token-5f3a")],
    )
    .await;
    let out = stdout(&done);
    assert_eq!(code(&done), Some(1), "{out}");
    assert!(
        out.starts_with("mcp-keybridge check: FAILED (unauthorized)"),
        "{out}"
    );
    assert!(
        out.contains("authorization from env:TOK: rejected"),
        "{out}"
    );
    assert!(out.contains("mcp-keybridge auth set NAME"), "{out}");
    assert!(
        out.contains("mcp-keybridge auth status --bearer env:TOK"),
        "{out}"
    );
    for text in [&out, &done.stderr] {
        assert!(!text.contains("wrong-token-5f3a") && !text.contains("the-right-one"));
    }

    let done = check(
        &[&url, "--json", "--bearer", "env:TOK"],
        &[("TOK", "wrong-token-5f3a")],
    )
    .await;
    assert_eq!(code(&done), Some(1));
    let r = report(&done);
    assert_eq!(r["credentialsStatus"], "rejected");
    assert_eq!(r["error"]["kind"], "unauthorized");
    assert_eq!(r["error"]["step"], "initialize");
    assert_eq!(r["error"]["httpStatus"], 401);
    assert!(!done.stdout[0].contains("wrong-token-5f3a"));
}

#[tokio::test]
async fn an_expired_jwt_is_called_expired() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("the-right-one".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let token = jwt("u", -12 * 60 - 5);
    let done = check(
        &[&server.url("/mcp"), "--bearer", "env:TOK"],
        &[("TOK", &token)],
    )
    .await;
    let out = stdout(&done);
    assert_eq!(code(&done), Some(1), "{out}");
    assert!(
        out.contains("the token from env:TOK expired 12 minutes ago (its exp claim)"),
        "{out}"
    );
    assert!(!out.contains(&token) && !done.stderr.contains(&token));
}

#[tokio::test]
async fn nothing_listening_is_connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/mcp");
    let done = check(&[&url, "--json"], &[]).await;
    assert_eq!(code(&done), Some(1), "{done:?}");
    let r = report(&done);
    assert_eq!(r["error"]["kind"], "connection_refused", "{r}");
    assert_eq!(r["transport"]["used"], Value::Null);
    assert_eq!(r["credentialsStatus"], "none");
    let fixes = r["error"]["fix"].to_string();
    assert!(
        fixes.contains("server is running") && fixes.contains("--proxy"),
        "{fixes}"
    );
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    let done = check(
        &["http://mcp.example.invalid/mcp", "--bearer", "env:TOK"],
        &[("TOK", "secret-http-1")],
    )
    .await;
    let out = stdout(&done);
    assert_eq!(code(&done), Some(2), "{out}");
    assert!(out.contains("FAILED (plain_http)"), "{out}");
    assert!(out.contains("--allow-http"), "{out}");
    assert!(!out.contains("secret-http-1"));
}

#[tokio::test]
async fn unreadable_credential_says_which_and_how() {
    let server = TestServer::start(ServerConfig::streamable()).await;
    let url = server.url("/mcp");
    let done = check(&[&url, "--bearer", "env:NOT_SET_ANYWHERE"], &[]).await;
    let out = stdout(&done);
    assert_eq!(code(&done), Some(1), "{out}");
    assert!(out.contains("FAILED (credential_source)"), "{out}");
    assert!(
        out.contains("set NOT_SET_ANYWHERE in the environment"),
        "{out}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing is sent without credentials"
    );
}

#[tokio::test]
async fn wrong_transport_suggests_the_other_one() {
    let server = TestServer::start(ServerConfig::legacy_sse()).await;
    let url = server.url("/sse");
    let done = check(&[&url, "--transport", "streamable-http", "--json"], &[]).await;
    assert_eq!(code(&done), Some(1), "{done:?}");
    let r = report(&done);
    assert_eq!(r["error"]["kind"], "wrong_endpoint", "{r}");
    assert_eq!(r["error"]["httpStatus"], 405);
    let fix = r["error"]["fix"][1].as_str().unwrap();
    assert!(fix.ends_with(&format!("{url} --transport sse")), "{fix}");
}

#[tokio::test]
async fn unanswered_initialize_times_out_with_advice() {
    let server = TestServer::start(ServerConfig {
        hang_methods: vec!["initialize".into()],
        ..ServerConfig::streamable()
    })
    .await;
    let url = server.url("/mcp");
    let done = check(&[&url, "--request-timeout", "1", "--json"], &[]).await;
    assert_eq!(code(&done), Some(1), "{done:?}");
    let r = report(&done);
    assert_eq!(r["error"]["kind"], "no_answer", "{r}");
    assert_eq!(r["error"]["step"], "initialize");
    assert!(
        r["error"]["fix"][0]
            .as_str()
            .unwrap()
            .contains("--request-timeout")
    );
}

#[tokio::test]
async fn demo_ignores_a_proxy_for_loopback() {
    // A corporate machine's proxy cannot reach this machine's 127.0.0.1; nothing listens here.
    let proxy = "http://127.0.0.1:9";
    let done = check(
        &["--demo", "--json"],
        &[
            ("HTTP_PROXY", proxy),
            ("HTTPS_PROXY", proxy),
            ("ALL_PROXY", proxy),
            ("http_proxy", proxy),
        ],
    )
    .await;
    assert_eq!(code(&done), Some(0), "{done:?}");
    assert_eq!(report(&done)["ok"], true);
}

#[tokio::test]
async fn a_profile_is_checked_and_named_in_the_advice() {
    let server = TestServer::start(ServerConfig {
        bearer: Some("tok-profile".into()),
        ..ServerConfig::streamable()
    })
    .await;
    let dir = support::bridge::scratch_dir();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.work]\nurl = \"{}\"\nbearer = \"env:WORK_TOKEN\"\n",
            server.url("/mcp")
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let args = ["--profile", "work", "--config", config, "--json"];
    let done = check(&args, &[("WORK_TOKEN", "tok-profile")]).await;
    assert_eq!(code(&done), Some(0), "{done:?}");
    assert_eq!(
        report(&done)["credentials"][0]["sources"][0],
        "env:WORK_TOKEN"
    );

    let done = check(&args, &[("WORK_TOKEN", "stale")]).await;
    assert_eq!(code(&done), Some(1), "{done:?}");
    let fixes = report(&done)["error"]["fix"].to_string();
    assert!(
        fixes.contains("mcp-keybridge auth status --profile work"),
        "{fixes}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
