use super::*;

fn list(tools: &str) -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"tools":[{tools}],"resultType":"complete"}}}}"#)
        .into_bytes()
}

fn tool(name: &str, props: &str) -> String {
    format!(r#"{{"name":"{name}","inputSchema":{{"type":"object","properties":{props}}}}}"#)
}

fn names(raw: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(raw).unwrap();
    v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn valid_annotations_are_learned_and_the_reply_is_untouched() {
    let reg = ToolHeaders::default();
    let raw = list(&[
        tool("plain", r#"{"q":{"type":"string"}}"#),
        tool(
            "sql",
            r#"{"region":{"type":"string","x-mcp-header":"Region"},"n":{"type":"integer","x-mcp-header":"N"},"o":{"type":"object","properties":{"deep":{"type":"boolean","x-mcp-header":"Deep"}}}}"#,
        ),
    ]
    .join(","));
    assert!(reg.on_list_reply(&raw).is_none());
    assert!(reg.for_tool("plain").unwrap().is_empty());
    let sql = reg.for_tool("sql").unwrap();
    let got: Vec<(String, &str)> = sql
        .iter()
        .map(|p| (p.path.join("."), p.header.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("region".to_string(), "mcp-param-region"),
            ("n".to_string(), "mcp-param-n"),
            ("o.deep".to_string(), "mcp-param-deep"),
        ]
    );
    assert!(reg.for_tool("never-listed").is_none());
}

#[test]
fn invalid_annotations_drop_only_their_tool() {
    let reg = ToolHeaders::default();
    let bad = [
        ("empty", r#"{"v":{"type":"string","x-mcp-header":""}}"#),
        ("object", r#"{"v":{"type":"object","x-mcp-header":"V"}}"#),
        (
            "array",
            r#"{"v":{"type":"array","items":{"type":"string"},"x-mcp-header":"V"}}"#,
        ),
        ("null", r#"{"v":{"type":"null","x-mcp-header":"V"}}"#),
        ("number", r#"{"v":{"type":"number","x-mcp-header":"V"}}"#),
        (
            "dup",
            r#"{"a":{"type":"string","x-mcp-header":"My"},"b":{"type":"string","x-mcp-header":"my"}}"#,
        ),
        (
            "space",
            r#"{"v":{"type":"string","x-mcp-header":"My Region"}}"#,
        ),
        ("colon", r#"{"v":{"type":"string","x-mcp-header":"A:B"}}"#),
        (
            "accent",
            r#"{"v":{"type":"string","x-mcp-header":"Région"}}"#,
        ),
        ("tab", r#"{"v":{"type":"string","x-mcp-header":"R\t1"}}"#),
        (
            "in-items",
            r#"{"v":{"type":"array","items":{"type":"string","x-mcp-header":"V"}}}"#,
        ),
        (
            "in-anyof",
            r#"{"v":{"anyOf":[{"type":"string","x-mcp-header":"V"}]}}"#,
        ),
    ];
    let mut tools: Vec<String> = bad.iter().map(|(n, p)| tool(n, p)).collect();
    tools.push(tool(
        "good",
        r#"{"r":{"type":"string","x-mcp-header":"Region"}}"#,
    ));
    let fixed = reg.on_list_reply(&list(&tools.join(","))).unwrap();
    assert_eq!(names(&fixed), ["good"]);
    let v: Value = serde_json::from_slice(&fixed).unwrap();
    assert_eq!(v["result"]["resultType"], "complete");
    assert!(reg.for_tool("dup").is_none());
    assert_eq!(reg.for_tool("good").unwrap().len(), 1);
}

#[test]
fn a_property_named_like_the_annotation_is_no_annotation() {
    let reg = ToolHeaders::default();
    let raw = list(&tool("t", r#"{"x-mcp-header":{"type":"object"}}"#));
    assert!(reg.on_list_reply(&raw).is_none());
    assert!(reg.for_tool("t").unwrap().is_empty());
}
