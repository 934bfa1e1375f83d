//! Unit tests of the JSON-RPC peek, batches, one-line output and the bridge's own replies.

use super::*;

fn msg(s: &str) -> Result<Message, Invalid> {
    classify(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn kinds() {
    let r = msg(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
    assert_eq!((r.kind, r.id.unwrap().raw()), (Kind::Request, "7"));
    let n = msg(r#"{"method":"notifications/initialized","jsonrpc":"2.0"}"#).unwrap();
    assert_eq!(n.kind, Kind::Notification);
    let resp = msg(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
    assert_eq!(resp.kind, Kind::Response);
    let err = msg(r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"x"}}"#).unwrap();
    assert_eq!(err.kind, Kind::Response);
}

#[test]
fn ids_match_by_value_not_spelling() {
    let a = msg(r#"{"jsonrpc":"2.0","id":"a","method":"x"}"#).unwrap();
    let b = msg(r#"{"jsonrpc":"2.0","id":"\u0061","result":{}}"#).unwrap();
    assert_eq!(a.id.as_ref().unwrap().key(), b.id.as_ref().unwrap().key());
    assert_eq!(b.id.unwrap().raw(), r#""\u0061""#);
}

#[test]
fn invalid_messages_keep_the_id_when_readable() {
    let e = msg(r#"{"jsonrpc":"1.0","id":3,"method":"x"}"#).unwrap_err();
    assert_eq!(e.id.unwrap().raw(), "3");
    assert!(
        msg(r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#)
            .unwrap_err()
            .id
            .is_none()
    );
    assert!(msg(r#"{"jsonrpc":"2.0","id":[1],"method":"x"}"#).is_err());
    assert!(msg(r#"{"jsonrpc":"2.0","result":{}}"#).is_err());
    assert!(msg(r#"{"jsonrpc":"2.0","id":1}"#).is_err());
    assert!(msg("42").is_err());
}

#[test]
fn null_id_reply_is_not_a_response() {
    // The seed server answers notifications with `"id": null`: not routable.
    assert!(msg(r#"{"jsonrpc":"2.0","id":null,"result":{}}"#).is_err());
}

#[test]
fn batches_split_into_original_bytes() {
    let raw = Bytes::from_static(br#"[ {"a":1},{"b" : 2} ]"#);
    let parts = split_batch(&raw).unwrap();
    assert_eq!(parts, vec![&br#"{"a":1}"#[..], &br#"{"b" : 2}"#[..]]);
    assert!(split_batch(&Bytes::from_static(b"[]")).is_err());
}

#[test]
fn error_reply_shapes() {
    let id = msg(r#"{"jsonrpc":"2.0","id":"q","method":"x"}"#)
        .unwrap()
        .id
        .unwrap();
    let with = error_reply(
        Some(&id),
        INTERNAL_ERROR,
        "boom",
        Some(serde_json::json!({"httpStatus": 502})),
    );
    let v: serde_json::Value = serde_json::from_slice(&with).unwrap();
    assert_eq!(v["id"], "q");
    assert_eq!(v["error"]["data"]["httpStatus"], 502);
    let without = error_reply(None, PARSE_ERROR, "bad", None);
    let v: serde_json::Value = serde_json::from_slice(&without).unwrap();
    assert!(v.get("id").is_none());
}

#[test]
fn cancellations_round_trip() {
    let id = msg(r#"{"jsonrpc":"2.0","id":"x-1","method":"tools/call"}"#)
        .unwrap()
        .id
        .unwrap();
    let note = cancellation(&id, "timed out");
    let parsed = msg(std::str::from_utf8(&note).unwrap()).unwrap();
    assert!(parsed.is("notifications/cancelled"));
    assert_eq!(cancelled_request(&note), Some(id));
    let replay =
        replay_initialize(br#"{"jsonrpc":"2.0","id":9,"method":"initialize","params":{"a":1}}"#)
            .unwrap();
    let parsed = msg(std::str::from_utf8(&replay).unwrap()).unwrap();
    assert!(parsed.is("initialize") && parsed.id.unwrap().raw() != "9");
}

#[test]
fn pretty_printed_messages_go_out_on_one_line() {
    // Pretty-printed so that its second line would read as a reply to request 5.
    let raw = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":\r\n{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}\n}}";
    let line = one_line(Bytes::copy_from_slice(raw.as_bytes()));
    assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
    let before: serde_json::Value = serde_json::from_str(raw).unwrap();
    let after: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(before, after);
    let plain = Bytes::from_static(br#"{"a":"b\nc"}"#);
    assert_eq!(one_line(plain.clone()), plain);
}

#[test]
fn reads_protocol_version() {
    let raw =
        br#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{}}}"#;
    assert_eq!(protocol_version(raw).as_deref(), Some("2025-06-18"));
    assert_eq!(
        protocol_version(br#"{"jsonrpc":"2.0","id":1,"error":{}}"#),
        None
    );
}
