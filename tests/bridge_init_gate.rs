//! The initialize gate when `initialize` fails and the client sends another one while the
//! first is still in flight: the second is held, then sent once the first is answered.
//! (It used to deadlock the runtime: the gate's watch guard was still held when the held
//! `initialize` re-armed the gate.)

mod support;

use support::*;

#[tokio::test]
async fn a_second_initialize_held_behind_a_failing_one_is_answered() {
    let url = format!("http://127.0.0.1:{}/mcp", closed_port());
    let mut bridge = BridgeBuilder::url(&url).spawn();
    // One write: the second line is read while the first is still initializing.
    let both = format!("{}\n{}\n", initialize(1), initialize(2));
    bridge.send_bytes(both.as_bytes()).await;
    let mut ids = vec![];
    for _ in 0..2 {
        let reply = bridge.recv().await;
        ids.push(reply["id"].as_u64().unwrap());
        assert!(reply.get("error").is_some(), "{reply}");
    }
    ids.sort();
    assert_eq!(ids, [1, 2]);
    bridge.finish().await;
}
