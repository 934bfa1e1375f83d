//! The advice for each kind of failure: the fix a person is told to run.

use super::*;

fn ctx(refs: &[&str]) -> Context {
    Context {
        refs: refs.iter().map(|r| r.to_string()).collect(),
        requested: Some(TransportArg::Auto),
        url: "https://h/mcp".into(),
        opts: "--bearer keychain:jira".into(),
    }
}

fn upstream(error: UpstreamError) -> Failure {
    Failure::Upstream {
        step: "initialize",
        error,
    }
}

#[test]
fn rejected_keychain_token_points_at_auth_set() {
    let d = of_failure(
        &upstream(UpstreamError::Status {
            status: 401,
            origin: "https://h".into(),
            detail: String::new(),
            rpc: None,
        }),
        &ctx(&["keychain:jira"]),
    );
    assert_eq!(d.kind, "unauthorized");
    assert_eq!(d.fixes[0], "mcp-keybridge auth set jira");
    assert_eq!(
        d.fixes[1],
        "mcp-keybridge auth status --bearer keychain:jira"
    );
}

#[test]
fn tls_failure_points_at_ca_cert() {
    let d = of_failure(
        &upstream(UpstreamError::Tls {
            origin: "https://h".into(),
            problem: crate::network::TlsProblem::UnknownIssuer,
            cause: "invalid peer certificate: UnknownIssuer".into(),
        }),
        &ctx(&[]),
    );
    assert_eq!(d.kind, "tls");
    assert!(d.fixes[0].contains("--ca-cert"));
}

#[test]
fn refused_and_dns_are_told_apart() {
    // Told apart by the kind the transport found in the error's types, whatever the words.
    let refused = of_connect(
        "http://127.0.0.1:9",
        "Connection refused (os error 111)",
        ConnectProblem::Refused,
    );
    assert_eq!(refused.kind, "connection_refused");
    let dns = of_connect(
        "https://nope.invalid",
        "dns error: failed to lookup address",
        ConnectProblem::Dns,
    );
    assert_eq!(dns.kind, "dns");
    assert!(dns.fixes.iter().any(|f| f.contains("--proxy")));
    let plain = of_connect(
        "https://127.0.0.1:8000",
        "received corrupt message of type InvalidContentType",
        ConnectProblem::NotTls,
    );
    assert_eq!(plain.kind, "tls");
    let other = of_connect("https://h", "refused by dns", ConnectProblem::Other);
    assert_eq!(other.kind, "connect");
}

#[test]
fn not_found_suggests_the_other_transport() {
    let d = of_failure(
        &upstream(UpstreamError::Status {
            status: 404,
            origin: "https://h".into(),
            detail: String::new(),
            rpc: None,
        }),
        &Context {
            requested: Some(TransportArg::StreamableHttp),
            ..ctx(&[])
        },
    );
    assert_eq!(d.kind, "wrong_endpoint");
    assert_eq!(
        d.fixes[1],
        "mcp-keybridge check https://h/mcp --bearer keychain:jira --transport sse"
    );
}

#[test]
fn plain_http_suggests_allow_http() {
    let d = of_config(&ConfigError::PlainHttp("example.com".into()));
    assert!(d.fixes.iter().any(|f| f.contains("--allow-http")));
}
