//! The tool filter on its own: glob matching, tools/list results of both protocol eras
//! rewritten only inside `tools`, and the tools/call refusals (fail closed).

use super::*;

fn filter(allow: &[&str], deny: &[&str]) -> ToolFilter {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    ToolFilter::new(&own(allow), &own(deny)).unwrap()
}

fn id(n: u64) -> Id {
    let msg = jsonrpc::classify(Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{n},"method":"x"}}"#
    )))
    .unwrap();
    msg.id.unwrap()
}

fn request(line: &str) -> Message {
    jsonrpc::classify(Bytes::from(line.to_string())).unwrap()
}

#[test]
fn globs_match_whole_names() {
    assert!(glob_match("jira_*", "jira_search"));
    assert!(glob_match("*", ""));
    assert!(glob_match("*delete*", "bulk_delete_issues"));
    assert!(glob_match("get_?", "get_x"));
    assert!(!glob_match("get_?", "get_xy"));
    assert!(
        !glob_match("jira", "jira_search"),
        "no implicit prefix match"
    );
    assert!(!glob_match("Jira*", "jira_search"), "case-sensitive");
    assert!(glob_match("a*b*c", "a-b-b-c"));
    assert!(!glob_match("a*b*c", "a-b-b-d"));
    // A pathological pattern stays linear-ish rather than exponential.
    let name = "a".repeat(5000);
    assert!(!glob_match("*a*a*a*a*a*a*b", &name));
}

#[test]
fn allow_and_deny_combine() {
    let f = filter(&["jira_*", "echo"], &["*delete*"]);
    assert!(f.permits("jira_search"));
    assert!(f.permits("echo"));
    assert!(!f.permits("jira_delete_issue"), "deny wins over allow");
    assert!(!f.permits("confluence_search"), "not on the allow list");
    let deny_only = filter(&[], &["*delete*"]);
    assert!(deny_only.permits("anything"));
    assert!(!ToolFilter::default().is_active());
    assert!(ToolFilter::new(&[" ".into()], &[]).is_err());
    assert!(ToolFilter::new(&[], &["a\u{7}".into()]).is_err());
}

const LEGACY_LIST: &str = r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}, {"name":"delete_all","description":"x"} ,{"name":"jira_search"}],"nextCursor":"c2"}}"#;

#[test]
fn nothing_hidden_means_the_same_bytes() {
    let raw = Bytes::from_static(LEGACY_LIST.as_bytes());
    let out = filter(&[], &["nope*"]).screen_reply(Some("tools/list"), &id(7), raw.clone());
    assert_eq!(out, raw);
    assert_eq!(out.as_ptr(), raw.as_ptr(), "not even copied");
    // Another method's result is never looked at.
    let f = filter(&[], &["echo"]);
    let out = f.screen_reply(Some("tools/call"), &id(7), raw.clone());
    assert_eq!(out, raw);
}

#[test]
fn hidden_tools_leave_a_legacy_list_and_nothing_else_changes() {
    let raw = Bytes::from_static(LEGACY_LIST.as_bytes());
    let out = filter(&[], &["delete_*"]).screen_reply(Some("tools/list"), &id(7), raw);
    let text = std::str::from_utf8(&out).unwrap();
    assert_eq!(
        text,
        r#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"jira_search"}],"nextCursor":"c2"}}"#
    );
    let out = filter(&["nothing"], &[]).screen_reply(
        Some("tools/list"),
        &id(7),
        Bytes::from_static(LEGACY_LIST.as_bytes()),
    );
    assert!(std::str::from_utf8(&out).unwrap().contains(r#""tools":[]"#));
}

#[test]
fn a_modern_list_keeps_its_meta_and_cache_hints() {
    let raw = r#"{"jsonrpc":"2.0","id":"m1","result":{"resultType":"complete","ttlMs":60000,"cacheScope":"user","tools":[
  {"name":"read_page","inputSchema":{"type":"object"}},
  {"name":"drop_table","inputSchema":{"type":"object"}}
],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}}}}"#;
    let msg = request(r#"{"jsonrpc":"2.0","id":"m1","method":"x"}"#);
    let out = filter(&["read_*"], &[]).screen_reply(
        Some("tools/list"),
        msg.id.as_ref().unwrap(),
        Bytes::from(raw),
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["result"]["tools"].as_array().unwrap().len(), 1);
    assert_eq!(v["result"]["tools"][0]["name"], "read_page");
    assert_eq!(v["result"]["resultType"], "complete");
    assert_eq!(v["result"]["ttlMs"], 60000);
    assert_eq!(
        v["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "s"
    );
}

#[test]
fn unreadable_lists_and_names_fail_closed() {
    let f = filter(&[], &["secret*"]);
    // A duplicated key could be read one way here and another way by the client.
    let dup = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[],"tools":[{"name":"secret_x"}]}}"#;
    let out = f.screen_reply(Some("tools/list"), &id(1), Bytes::from(dup));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["id"], 1);
    assert_eq!(v["error"]["data"]["source"], "mcp-keybridge");
    // A tool whose name is duplicated, escaped or missing: escaped names are decoded, the
    // others are hidden.
    let odd = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok","name":"secret_y"},{"name":"secret\u005fz"},{"title":"no name"},"junk",{"name":"fine"}]}}"#;
    let out = f.screen_reply(Some("tools/list"), &id(1), Bytes::from(odd));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["result"]["tools"], serde_json::json!([{"name": "fine"}]));
    // An error reply passes untouched.
    let err = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}}"#);
    assert_eq!(f.screen_reply(Some("tools/list"), &id(1), err.clone()), err);
}

#[test]
fn calls_of_hidden_tools_are_refused() {
    let f = filter(&[], &["delete_*"]);
    let ok = request(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}"#);
    assert!(f.refusal(&ok).is_none());
    for line in [
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_all","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete\u005fall"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","name":"delete_all"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
    ] {
        let reply = f
            .refusal(&request(line))
            .unwrap_or_else(|| panic!("{line}"));
        let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(v["id"], 3, "{v}");
        assert_eq!(v["error"]["code"], -32602, "{v}");
        assert_eq!(v["error"]["data"]["source"], "mcp-keybridge", "{v}");
    }
    // Notifications and other methods are never refused; no filter refuses nothing.
    let note = request(r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_all"}}"#);
    assert!(f.refusal(&note).is_none());
    let all =
        request(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_all"}}"#);
    assert!(ToolFilter::default().refusal(&all).is_none());
}

#[test]
fn batches_lose_only_their_refused_calls() {
    let f = filter(&[], &["delete_*"]);
    let line = Bytes::from_static(
        br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_all"}}, {"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#,
    );
    let (rest, refusals) = f.screen_batch(&line).unwrap();
    assert_eq!(
        rest.unwrap(),
        Bytes::from_static(br#"[{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#)
    );
    assert_eq!(refusals.len(), 1);
    let only = Bytes::from_static(
        br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_all"}}]"#,
    );
    let (rest, refusals) = f.screen_batch(&only).unwrap();
    assert!(rest.is_none());
    assert_eq!(refusals.len(), 1);
    let fine = Bytes::from_static(br#"[{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#);
    assert!(f.screen_batch(&fine).is_none());
}
