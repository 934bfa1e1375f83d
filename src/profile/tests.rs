//! Tests of profile parsing: every key, and every mistake named by file, line and key.

use super::*;

const FILE: &str = r#"
[profiles.jira]
url = "https://jira-mcp.corp/mcp"
transport = "streamable-http"
bearer = "keychain:jira"
allow_http = false
connect_timeout = 5
max_message_mib = 8
[profiles.jira.headers]
"X-Confluence-Token" = "${keychain:confluence}"
"X-Client" = "claude"

[profiles.bare]
url = "https://x/mcp"
"#;

fn parse_err(profile: &str, text: &str) -> String {
    parse(profile, text, Path::new("/c/config.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn reads_every_key() {
    let p = parse("jira", FILE, Path::new("c.toml")).unwrap();
    assert_eq!(p.url.as_deref(), Some("https://jira-mcp.corp/mcp"));
    assert_eq!(p.transport, Some(TransportArg::StreamableHttp));
    assert_eq!(p.bearer, Some(SecretRef::Keychain("jira".into())));
    assert_eq!(p.allow_http, Some(false));
    assert_eq!(p.connect_timeout, Some(5.0));
    assert_eq!(p.max_message_mib, Some(8));
    let names: Vec<&str> = p.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["x-client", "x-confluence-token"]);
    let bare = parse("bare", FILE, Path::new("c.toml")).unwrap();
    assert!(bare.bearer.is_none() && bare.headers.is_empty());
    let wrapped = "[profiles.p]\nbearer = \"${env:T}\"\n";
    let p = parse("p", wrapped, Path::new("c")).unwrap();
    assert_eq!(p.bearer, Some(SecretRef::Env("T".into())));
}

#[test]
fn unknown_profile_lists_the_others() {
    let e = parse_err("nope", FILE);
    assert!(
        e.contains("/c/config.toml") && e.contains("bare, jira"),
        "{e}"
    );
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    let e = parse_err(
        "p",
        "[profiles.p]\nurl = \"https://x\"\nbearr = \"keychain:x\"\n",
    );
    assert!(
        e.starts_with("/c/config.toml:3: profiles.p.bearr: unknown field"),
        "{e}"
    );
    let e = parse_err("p", "[profiles.p]\n\nallow_http = \"yes-ghp_secret\"\n");
    assert!(
        e.starts_with("/c/config.toml:3: profiles.p.allow_http: "),
        "{e}"
    );
    assert!(!e.contains("ghp_secret"), "values are not echoed: {e}");
    let e = parse_err("p", "[other]\nx = 1\n");
    assert!(e.contains(":1:") && e.contains("other"), "{e}");
}

#[test]
fn bad_refs_name_file_line_and_key() {
    let e = parse_err("p", "[profiles.p]\nbearer = \"vault:x\"\n");
    assert!(
        e.starts_with("/c/config.toml:2: profiles.p.bearer: "),
        "{e}"
    );
    let text = "[profiles.p.headers]\n\"X-A\" = \"${nope:x}\"\n";
    let e = parse_err("p", text);
    assert!(
        e.starts_with("/c/config.toml:2: profiles.p.headers.\"X-A\": "),
        "{e}"
    );
    let e = parse_err("p", "[profiles.p]\ntransport = \"carrier-pigeon\"\n");
    assert!(e.contains(":2: profiles.p.transport: must be"), "{e}");
    let e = parse_err("p", "[profiles.p]\nconnect_timeout = -1\n");
    assert!(e.contains(":2: profiles.p.connect_timeout"), "{e}");
}

#[test]
fn literal_secrets_are_refused_without_being_echoed() {
    for text in [
        "[profiles.p]\nbearer = \"abcdef0123456789abcdef\"\n",
        "[profiles.p.headers]\nAuthorization = \"Bearer abcdef0123456789\"\n",
        "[profiles.p.headers]\n\"X-Api-Key\" = \"abcdef0123456789\"\n",
        "[profiles.p.headers]\n\"X-Other\" = \"ghp_abcdef0123456789\"\n",
        "[profiles.p.headers]\n\"X-Jira-Token\" = \"${env:A}ghp_abcdef0123456789\"\n",
        "[profiles.p]\nurl = \"https://u:abcdef0123456789@x/mcp\"\n",
        "[profiles.p]\nurl = \"https://x/mcp?api_key=abcdef0123456789\"\n",
    ] {
        let e = parse_err("p", text);
        assert!(e.contains(":2: ") && e.contains("auth set"), "{text}: {e}");
        assert!(!e.contains("abcdef0123456789"), "{text}: {e}");
    }
    // Not secrets: a reference under a credential name, a plain literal elsewhere.
    let ok = "[profiles.p.headers]\nAuthorization = \"Bearer ${keychain:j}\"\n\"X-Client\" = \"claude-desktop\"\n";
    assert_eq!(parse("p", ok, Path::new("c")).unwrap().headers.len(), 2);
}

#[test]
fn config_path_precedence() {
    let none = |_: &str| None;
    let set = |k: &str| (k == CONFIG_ENV).then(|| "/env/c.toml".to_string());
    let explicit = Path::new("/flag/c.toml");
    assert_eq!(config_path(Some(explicit), &set).unwrap(), explicit);
    assert_eq!(config_path(None, &set).unwrap(), Path::new("/env/c.toml"));
    let default = config_path(None, &none).unwrap();
    assert!(
        default.ends_with("mcp-keybridge/config.toml"),
        "{default:?}"
    );
}

#[test]
fn a_broken_profile_fails_only_when_used_and_is_named_otherwise() {
    let text = "[profiles.good]\nurl = \"https://x\"\n[profiles.leaky]\nbearer = \"abcdef0123456789\"\n[profiles.typo]\nurll = \"https://y\"\n";
    let good = parse("good", text, Path::new("/c/config.toml")).unwrap();
    assert_eq!(good.url.as_deref(), Some("https://x"));
    assert_eq!(good.broken_others.len(), 2, "{:?}", good.broken_others);
    assert!(good.broken_others[0].contains(":4: profiles.leaky.bearer"));
    assert!(good.broken_others[1].contains(":6: profiles.typo.urll: unknown field"));
    assert!(!good.broken_others.concat().contains("abcdef0123456789"));
    let e = parse_err("leaky", text);
    assert!(e.contains(":4: profiles.leaky.bearer"), "{e}");
    assert!(!e.contains("abcdef0123456789"), "{e}");
    let e = parse_err("typo", text);
    assert!(e.contains(":6: profiles.typo.urll"), "{e}");
    // A file that does not parse at all still fails every profile, with the place.
    let e = parse_err(
        "good",
        "[profiles.good]\nurl = \"https://x\"\n[profiles.b\nx = 1\n",
    );
    assert!(e.contains("/c/config.toml:3"), "{e}");
}

#[test]
fn network_keys_and_proxy_credentials_refused() {
    let one = "[profiles.p]\nca_cert = \"corp.pem\"\nproxy = \"http://proxy.corp:3128\"\n";
    let p = parse("p", one, Path::new("c.toml")).unwrap();
    assert_eq!(p.ca_certs, [PathBuf::from("corp.pem")]);
    assert_eq!(p.proxy.as_deref(), Some("http://proxy.corp:3128"));
    let many = "[profiles.p]\nca_cert = [\"a.pem\", \"/etc/b.pem\"]\n";
    let p = parse("p", many, Path::new("c.toml")).unwrap();
    assert_eq!(p.ca_certs.len(), 2);
    let err = parse_err(
        "p",
        "[profiles.p]\n\nproxy = \"http://bob:hunter2@proxy:3128\"\n",
    );
    assert!(
        err.starts_with("/c/config.toml:3: profiles.p.proxy:"),
        "{err}"
    );
    assert!(err.contains("HTTPS_PROXY"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn reads_the_oauth_table() {
    let text = r#"
[profiles.corp]
url = "https://h.example/mcp"
[profiles.corp.oauth]
force = true
client_id = "corp-client"
client_secret = "keychain:corp"
scope = "mcp:tools"
no_resource_param = true
auth_timeout = 120
device = true
callback_port = 8976
callback_host = "localhost"
authorization_server = "https://login.example"
client_metadata_url = "https://me.example/client.json"
"#;
    let p = parse("corp", text, Path::new("c.toml")).unwrap();
    let o = &p.oauth;
    assert_eq!(o.client_secret, Some(SecretRef::Keychain("corp".into())));
    assert_eq!(o.callback_port, Some(8976));
    assert_eq!(o.callback_host, Some(crate::cli::CallbackHost::Localhost));
    assert_eq!(o.auth_timeout, Some(120.0));
    // The command line wins; the profile fills in the rest.
    let cli = crate::cli::OAuthArgs {
        callback_port: Some(9000),
        ..Default::default()
    };
    let merged = o.under(&cli);
    assert_eq!(merged.callback_port, Some(9000));
    assert!(merged.oauth && merged.device && merged.no_resource_param);
    assert_eq!(merged.client_secret.as_deref(), Some("keychain:corp"));
    assert_eq!(
        merged.authorization_server.as_deref(),
        Some("https://login.example")
    );
    // Another client on the command line does not get the profile's secret.
    let other = crate::cli::OAuthArgs {
        client_id: Some("mine".into()),
        ..Default::default()
    };
    assert_eq!(o.under(&other).client_secret, None);
}

#[test]
fn oauth_mistakes_are_located_and_secrets_refused() {
    let secret = "hunter2-literal-secret";
    let e = parse_err(
        "p",
        &format!(
            "[profiles.p]\n[profiles.p.oauth]\nclient_id = \"c\"\nclient_secret = \"{secret}\"\n"
        ),
    );
    assert!(
        e.starts_with("/c/config.toml:4: profiles.p.oauth.client_secret: must be a reference"),
        "{e}"
    );
    assert!(e.contains("auth set") && !e.contains(secret), "{e}");
    let e = parse_err("p", "[profiles.p.oauth]\nclient_secret = \"env:S\"\n");
    assert!(e.contains("oauth.client_secret: needs client_id"), "{e}");
    let e = parse_err("p", "[profiles.p.oauth]\ncallback_port = 70000\n");
    assert!(
        e.contains(":2: profiles.p.oauth.callback_port: must be a port number"),
        "{e}"
    );
    let e = parse_err("p", "[profiles.p.oauth]\ncallback_host = \"0.0.0.0\"\n");
    assert!(e.contains("must be 127.0.0.1, localhost or [::1]"), "{e}");
    let e = parse_err("p", "[profiles.p.oauth]\nclient_credentials = true\n");
    assert!(
        e.contains("oauth.client_credentials: needs client_id and client_secret"),
        "{e}"
    );
    let e = parse_err("p", "[profiles.p.oauth]\nclient_idd = \"x\"\n");
    assert!(e.contains("client_idd"), "{e}");
    let e = parse_err(
        "p",
        "[profiles.p.oauth]\nauthorization_server = \"not a url\"\n",
    );
    assert!(
        e.contains("oauth.authorization_server: must be an https:// URL"),
        "{e}"
    );
}

#[test]
fn the_keyless_flows_and_dpop_are_profile_keys_too() {
    let text = r#"
[profiles.ci.oauth]
workload_token = "env:CI_OIDC_TOKEN"
dpop = "always"

[profiles.corp.oauth]
client_id = "c"
client_key = "keychain:corp-key"
id_token = "cmd:corp-id-token"
idp_token_endpoint = "https://idp.corp.example/token"
idp_client_id = "idp-c"
idp_client_secret = "env:IDP_SECRET"
"#;
    let ci = super::parse("ci", text, Path::new("/c/config.toml")).unwrap();
    let merged = ci.oauth.under(&crate::cli::OAuthArgs::default());
    assert_eq!(merged.workload_token.as_deref(), Some("env:CI_OIDC_TOKEN"));
    assert_eq!(merged.dpop, Some(crate::cli::DpopMode::Always));
    // The command line wins.
    let never = crate::cli::OAuthArgs {
        dpop: Some(crate::cli::DpopMode::Never),
        ..Default::default()
    };
    assert_eq!(
        ci.oauth.under(&never).dpop,
        Some(crate::cli::DpopMode::Never)
    );
    let corp = super::parse("corp", text, Path::new("/c/config.toml")).unwrap();
    let merged = corp.oauth.under(&crate::cli::OAuthArgs::default());
    assert_eq!(merged.client_key.as_deref(), Some("keychain:corp-key"));
    assert_eq!(merged.id_token.as_deref(), Some("cmd:corp-id-token"));
    assert_eq!(merged.idp_client_secret.as_deref(), Some("env:IDP_SECRET"));
    assert_eq!(
        merged.idp_token_endpoint.as_deref(),
        Some("https://idp.corp.example/token")
    );

    let pem = "-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49";
    for (key, extra) in [
        ("client_key", "client_id = \"c\"\n"),
        ("workload_token", ""),
        ("id_token", ""),
        ("idp_client_secret", "idp_client_id = \"i\"\n"),
    ] {
        let e = parse_err(
            "p",
            &format!("[profiles.p.oauth]\n{extra}{key} = \"{pem}\"\n"),
        );
        assert!(
            e.contains(&format!("oauth.{key}: must be a reference")),
            "{e}"
        );
        assert!(!e.contains("MIGHAgEA"), "{e}");
    }
    let e = parse_err("p", "[profiles.p.oauth]\nclient_key = \"env:K\"\n");
    assert!(e.contains("oauth.client_key: needs client_id"), "{e}");
    let e = parse_err("p", "[profiles.p.oauth]\ndpop = \"sometimes\"\n");
    assert!(
        e.contains("oauth.dpop: must be auto, always or never"),
        "{e}"
    );
}
