//! OAuth with assertions instead of secrets (issue 15), against the in-repo assertion server
//! (tests/support/assertion_server.rs), which verifies what it is sent: `private_key_jwt`
//! client authentication for the client-credentials grant, a browser sign-in's code exchange
//! and refresh, and revocation at logout; the jwt-bearer grant with a workload token read
//! again after the platform rotates it; enterprise-managed authorization (token exchange at
//! the IdP for an ID-JAG, then the jwt-bearer grant), and a refused exchange named without
//! the secret. The other failures a user meets are in tests/oauth_assertion_failures.rs.

mod support;

use support::assertion_keys::{account, cmd, es256, key_material, private_file};
use support::assertion_server::{AssertionConfig, AssertionServer};
use support::keyring::PrivateKeyring;
use support::oauth_client::browser_script;
use support::*;

#[tokio::test]
async fn client_credentials_with_private_key_jwt_and_logout_revokes_with_a_new_assertion() {
    let (pem, public) = es256();
    let keyring = PrivateKeyring::start();
    let server = AssertionServer::start(AssertionConfig {
        key_client: Some(("svc", public)),
        ..AssertionConfig::default()
    })
    .await;
    // A PEM file spans lines: the whole file is the key, not its first line.
    let key_ref = format!("file:{}", private_file("svc.pem", &pem));
    let url = server.url();
    let mut b = cmd(
        &keyring,
        &[
            &url,
            "--client-credentials",
            "--client-id",
            "svc",
            "--client-key",
            &key_ref,
        ],
    )
    .spawn();
    b.handshake().await;
    b.send(&tools_list(2)).await;
    assert_result(&b.recv().await, 2);
    let done = b.finish().await;
    assert_eq!(server.refusals(), Vec::<String>::new());
    assert_eq!(server.count("client_credentials"), 1);
    assert_eq!(server.count("assertion_ok"), 1);
    let form = &server.forms("/token")[0];
    assert_eq!(form["client_id"], "svc");
    assert!(!form.contains_key("client_secret"), "{form:?}");
    assert_eq!(form["resource"], url);
    assert!(!done.stderr.contains(key_material(&pem)), "{}", done.stderr);
    let entry = keyring.lookup(&account(&server)).unwrap();
    assert!(entry.contains(&key_ref), "the reference is kept: {entry}");
    assert!(
        !entry.contains(key_material(&pem)),
        "never the key: {entry}"
    );

    // logout needs none of the options: the stored reference signs a new assertion.
    let out = cmd(&keyring, &["logout", &url]).run(b"").await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(server.revoked().len(), 1, "{:?}", server.refusals());
    assert_eq!(server.count("assertion_ok"), 2);
    let jtis = server.jtis();
    assert_ne!(jtis[0], jtis[1], "a jti is never reused");
}

#[tokio::test]
async fn a_pre_registered_client_signs_its_code_exchange_and_refresh() {
    let (pem, public) = es256();
    let keyring = PrivateKeyring::start();
    let server = AssertionServer::start(AssertionConfig {
        key_client: Some(("desktop-app", public)),
        ..AssertionConfig::default()
    })
    .await;
    let browser = browser_script();
    let url = server.url();
    let mut b = cmd(
        &keyring,
        &[
            &url,
            "--client-id",
            "desktop-app",
            "--client-key",
            "env:APP_KEY",
        ],
    )
    .env("BROWSER", &browser)
    .env("APP_KEY", &pem)
    .spawn();
    b.handshake().await;
    assert_eq!(
        server.count("authorization_code"),
        1,
        "{:?}",
        server.refusals()
    );
    server.expire_access_tokens();
    b.send(&tools_list(2)).await;
    assert_result(&b.recv().await, 2);
    let done = b.finish().await;
    assert_eq!(server.count("refresh_token"), 1, "{:?}", server.refusals());
    assert_eq!(server.count("assertion_ok"), 2, "both requests signed");
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
    assert!(!done.stderr.contains(key_material(&pem)));
}

#[tokio::test]
async fn a_workload_token_is_read_again_for_every_grant() {
    let keyring = PrivateKeyring::start();
    let server = AssertionServer::start(AssertionConfig {
        auth_methods: vec!["none"],
        ..AssertionConfig::default()
    })
    .await;
    let first = jwt("ci-job", 600);
    server.accept_workload_token(&first);
    let path = private_file("workload.jwt", &first);
    let url = server.url();
    let mut b = cmd(
        &keyring,
        &[&url, "--workload-token", &format!("file:{path}")],
    )
    .spawn();
    b.handshake().await;
    assert_eq!(server.count("jwt-bearer"), 1, "{:?}", server.refusals());
    let form = &server.forms("/token")[0];
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(form["assertion"], first);
    assert_eq!(form["resource"], url);
    assert!(!form.contains_key("client_id"), "no client: {form:?}");

    // The platform rotates the token; the old access token dies.
    let second = jwt("ci-job", 900);
    server.accept_workload_token(&second);
    std::fs::write(&path, &second).unwrap();
    server.expire_access_tokens();
    b.send(&tools_list(2)).await;
    assert_result(&b.recv().await, 2);
    let done = b.finish().await;
    assert_eq!(server.forms("/token")[1]["assertion"], second);
    assert!(!done.stderr.contains(&first) && !done.stderr.contains(&second));
}

#[tokio::test]
async fn enterprise_managed_authorization_exchanges_the_id_token_for_an_id_jag() {
    let keyring = PrivateKeyring::start();
    let id_token = jwt("alice@example.com", 3600);
    let server = AssertionServer::start(AssertionConfig {
        auth_methods: vec!["client_secret_basic"],
        secret_client: Some(("mcp-app", "app-secret-42")),
        idp: Some(("idp-app", id_token.clone())),
        ..AssertionConfig::default()
    })
    .await;
    let url = server.url();
    let idp = server.idp_token_endpoint();
    let args = [
        url.as_str(),
        "--client-id",
        "mcp-app",
        "--client-secret",
        "env:APP_SECRET",
        "--id-token",
        "env:SSO_ID_TOKEN",
        "--idp-token-endpoint",
        &idp,
        "--idp-client-id",
        "idp-app",
    ];
    let mut b = cmd(&keyring, &args)
        .env("APP_SECRET", "app-secret-42")
        .env("SSO_ID_TOKEN", &id_token)
        .spawn();
    b.handshake().await;
    let done = b.finish().await;
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
    assert_eq!(server.count("exchange"), 1);
    assert_eq!(server.count("jwt-bearer"), 1);
    let exchange = &server.forms("/idp/token")[0];
    assert_eq!(exchange["audience"], server.issuer());
    let grant = &server.forms("/token")[0];
    assert!(grant["assertion"].starts_with("jag-"), "{grant:?}");
    for secret in [
        id_token.as_str(),
        "app-secret-42",
        grant["assertion"].as_str(),
    ] {
        assert!(!done.stderr.contains(secret), "{}", done.stderr);
    }

    // A refused exchange says which option to check, without the token.
    let wrong = jwt("mallory@example.com", 3600);
    let out = cmd(&keyring, &[&["login"][..], &args[..]].concat())
        .env("APP_SECRET", "app-secret-42")
        .env("SSO_ID_TOKEN", &wrong)
        .run(b"")
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("refused the token exchange") && out.stderr.contains("--id-token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&wrong));
    assert_eq!(server.count("jwt-bearer"), 1, "no grant without an ID-JAG");
}
