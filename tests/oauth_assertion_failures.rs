//! OAuth with assertions instead of secrets (issue 15): the failures a user meets, against the
//! in-repo assertion server (tests/support/assertion_server.rs): an expired workload token, an
//! unreadable or unusable client key, a key of an algorithm the server refuses, conflicting or
//! incomplete grant options. Each is named without the secret; the flows that work are in
//! tests/oauth_assertions.rs.

mod support;

use support::assertion_keys::{cmd, es256, private_file};
use support::assertion_server::{AssertionConfig, AssertionServer};
use support::keyring::PrivateKeyring;
use support::*;

#[tokio::test]
async fn an_expired_workload_token_is_not_sent_and_its_reference_is_named() {
    let keyring = PrivateKeyring::start();
    let server = AssertionServer::start(AssertionConfig::default()).await;
    let stale = jwt("ci-job", -120);
    let out = cmd(
        &keyring,
        &[
            "login",
            &server.url(),
            "--workload-token",
            "env:CI_OIDC_TOKEN",
        ],
    )
    .env("CI_OIDC_TOKEN", &stale)
    .run(b"")
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("--workload-token env:CI_OIDC_TOKEN") && out.stderr.contains("expired"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&stale));
    assert_eq!(server.count("jwt-bearer"), 0);
}

#[tokio::test]
async fn an_unusable_client_key_is_named_but_never_shown() {
    let keyring = PrivateKeyring::start();
    let (_, public) = es256();
    let server = AssertionServer::start(AssertionConfig {
        key_client: Some(("svc", public)),
        ..AssertionConfig::default()
    })
    .await;
    let url = server.url();
    let login = |key_ref: &str| {
        cmd(
            &keyring,
            &[
                "login",
                &url,
                "--client-credentials",
                "--client-id",
                "svc",
                "--client-key",
                key_ref,
            ],
        )
    };
    let out = login("env:NO_SUCH_KEY").run(b"").await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("--client-key env:NO_SUCH_KEY") && out.stderr.contains("not set"),
        "{}",
        out.stderr
    );

    let junk = "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LWJ1dC1zZWNyZXQtYWxs\n-----END PRIVATE KEY-----\n";
    let path = private_file("junk.pem", junk);
    let out = login(&format!("file:{path}")).run(b"").await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("--client-key file:{path}"))
            && out.stderr.contains("PEM private key"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("bm90LWEta2V5"), "{}", out.stderr);
    assert_eq!(server.count("client_credentials"), 0);
}

#[tokio::test]
async fn a_key_of_an_algorithm_the_server_refuses_is_caught_before_the_request() {
    let keyring = PrivateKeyring::start();
    let (pem, public) = es256();
    let server = AssertionServer::start(AssertionConfig {
        key_client: Some(("svc", public)),
        signing_algs: vec!["RS256", "PS256"],
        ..AssertionConfig::default()
    })
    .await;
    let out = cmd(
        &keyring,
        &[
            "login",
            &server.url(),
            "--client-credentials",
            "--client-id",
            "svc",
            "--client-key",
            "env:K",
        ],
    )
    .env("K", &pem)
    .run(b"")
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("signs with ES256") && out.stderr.contains("RS256, PS256"),
        "{}",
        out.stderr
    );
    assert_eq!(server.count("client_credentials"), 0);
}

#[tokio::test]
async fn conflicting_or_incomplete_grant_options_are_usage_errors() {
    for args in [
        &[
            "https://h.example/mcp",
            "--workload-token",
            "env:T",
            "--client-credentials",
            "--client-id",
            "a",
            "--client-secret",
            "env:S",
        ][..],
        &[
            "https://h.example/mcp",
            "--id-token",
            "env:T",
            "--client-id",
            "a",
        ][..],
        &[
            "https://h.example/mcp",
            "--id-token",
            "env:T",
            "--idp-token-endpoint",
            "https://idp.example/token",
        ][..],
        &[
            "https://h.example/mcp",
            "--client-credentials",
            "--client-id",
            "a",
        ][..],
        &[
            "https://h.example/mcp",
            "--client-key",
            "BEGIN PRIVATE KEY",
            "--client-id",
            "a",
        ][..],
    ] {
        let out = BridgeBuilder::new().args(args).run(b"").await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
    }
}
