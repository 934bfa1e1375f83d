//! Soak: thousands of requests, 32 in flight, through random faults (reply streams cut and
//! resumed, sessions expired, 5xx, the GET stream cut, the server restarted), mixed with
//! client notifications, server notifications and server→client requests.
//!
//! Asserts every request is answered exactly once, no message is ever delivered twice in
//! either direction, the server messages of every request that got a result arrived exactly
//! once, and the bridge exits 0 afterwards. Prints the figures.
//!
//! CI runs 1 000 requests. The full run:
//! `MKB_SOAK_REQUESTS=10000 cargo test --release --test soak -- --nocapture`
//! (`MKB_SOAK_SEED=N` replays one fault sequence).

mod support;

use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const IN_FLIGHT: usize = 32;

/// xorshift64*: reproducible from the printed seed, no crate needed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

/// Injects one random fault every few milliseconds until `stop` is set; returns how many
/// of each it injected, and the server notifications it pushed.
async fn inject_faults(
    server: Arc<TestServer>,
    mut rng: Rng,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (HashMap<&'static str, usize>, usize) {
    let mut counts = HashMap::new();
    let mut pushed = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5 + rng.below(25))).await;
        let fault = match rng.below(100) {
            0..30 => {
                let after = 1 + rng.below(3) as usize;
                server.update(|c| c.cut_sse_after = Some(after));
                tokio::time::sleep(Duration::from_millis(15)).await;
                server.update(|c| c.cut_sse_after = None);
                "reply stream cut (resumed)"
            }
            30..50 => {
                server.expire_sessions();
                "session expired"
            }
            50..62 => {
                server.update(|c| c.fail_next = 1);
                "HTTP 503"
            }
            62..72 => {
                server.close_streams();
                "GET stream cut"
            }
            72..75 => {
                server.stop();
                tokio::time::sleep(Duration::from_millis(30)).await;
                server.restart().await;
                "server restarted"
            }
            _ => {
                pushed += 1;
                let params = json!({"_meta": {"seq": pushed}});
                server.push(&notification(
                    "notifications/tools/list_changed",
                    Some(params),
                ));
                "server notification pushed"
            }
        };
        *counts.entry(fault).or_insert(0) += 1;
    }
    (counts, pushed)
}

/// The next client message: mostly tool calls, some pings and lists, and a notification
/// every tenth message.
fn client_message(n: u64) -> (bool, String) {
    match n % 10 {
        9 => {
            let params = json!({"_meta": {"seq": n}});
            (
                false,
                notification("notifications/roots/list_changed", Some(params)),
            )
        }
        3 => (true, ping(n)),
        6 => (true, tools_list(n)),
        _ => (true, echo_call(n, &format!("soak {n}"))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_every_request_answered_once_every_message_delivered_once() {
    let total = env_u64("MKB_SOAK_REQUESTS").unwrap_or(1000);
    let seed = env_u64("MKB_SOAK_SEED").unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(1, |d| d.as_nanos() as u64) | 1
    });
    eprintln!("soak: {total} requests, seed {seed} (MKB_SOAK_SEED={seed} replays it)");

    let server = Arc::new(
        TestServer::start(ServerConfig {
            reply: ReplyMode::Sse,
            sse_event_ids: true,
            sse_notification: true,
            sse_server_request: true,
            get_stream: true,
            ..ServerConfig::streamable()
        })
        .await,
    );
    let mut bridge = BridgeBuilder::url(&server.url("/mcp")).spawn();
    bridge.handshake().await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let faults = tokio::spawn(inject_faults(server.clone(), Rng(seed), stop.clone()));

    let mut sent_at: HashMap<u64, Instant> = HashMap::new();
    let mut answered: HashMap<u64, bool> = HashMap::new(); // id → got a result
    let mut duplicates = Vec::new();
    let mut errors: HashMap<String, usize> = HashMap::new();
    let mut max_latency = Duration::ZERO;
    let mut for_request: HashMap<String, usize> = HashMap::new(); // request → preamble msgs
    let mut server_requests = HashSet::new();
    let mut pushes = HashSet::new();
    let (mut requests, mut n) = (0u64, 10u64);
    let started = Instant::now();

    while answered.len() < total as usize {
        while requests < total && sent_at.len() - answered.len() < IN_FLIGHT {
            let (is_request, line) = client_message(n);
            bridge.send(&line).await;
            if is_request {
                sent_at.insert(n, Instant::now());
                requests += 1;
            }
            n += 1;
        }
        let msg = bridge
            .recv_within(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| {
                let missing: Vec<_> = sent_at
                    .keys()
                    .filter(|id| !answered.contains_key(id))
                    .collect();
                panic!(
                    "no message for 30 s; unanswered: {missing:?}\n{}",
                    bridge.stderr()
                )
            });
        match (msg.get("id"), msg.get("method").and_then(Value::as_str)) {
            (Some(id), None) => {
                let id = id
                    .as_u64()
                    .unwrap_or_else(|| panic!("unknown reply: {msg}"));
                let at = sent_at
                    .get(&id)
                    .unwrap_or_else(|| panic!("reply to unsent: {msg}"));
                max_latency = max_latency.max(at.elapsed());
                if answered.insert(id, msg.get("result").is_some()).is_some() {
                    duplicates.push(msg.clone());
                }
                if msg.get("error").is_some() {
                    assert_bridge_error(&msg, id);
                    let why = msg["error"]["message"].as_str().unwrap_or("").to_owned();
                    *errors
                        .entry(why.split(". ").next().unwrap_or("").to_owned())
                        .or_insert(0) += 1;
                }
            }
            (Some(id), Some("roots/list")) => {
                if !server_requests.insert(id.clone()) {
                    duplicates.push(msg.clone());
                }
                let owner = msg["params"]["_meta"]["forRequest"].to_string();
                *for_request.entry(owner).or_default() += 1;
                bridge
                    .send(&json!({"jsonrpc": "2.0", "id": id, "result": {"roots": []}}).to_string())
                    .await;
            }
            (None, Some("notifications/message")) => {
                let owner = msg["params"]["data"]["request"].to_string();
                *for_request.entry(owner).or_default() += 1;
            }
            (None, Some("notifications/tools/list_changed")) => {
                if !pushes.insert(msg["params"]["_meta"]["seq"].clone()) {
                    duplicates.push(msg.clone());
                }
            }
            _ => panic!("unexpected message: {msg}"),
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (fault_counts, pushed) = faults.await.expect("fault task");
    // Server notifications queued while the GET stream was down arrive once it reopens.
    while pushes.len() < pushed {
        let Some(msg) = bridge.recv_within(Duration::from_secs(4)).await else {
            break;
        };
        assert_eq!(msg["method"], "notifications/tools/list_changed", "{msg}");
        if !pushes.insert(msg["params"]["_meta"]["seq"].clone()) {
            duplicates.push(msg.clone());
        }
    }
    let finished = bridge.finish().await;
    assert!(
        finished.status.success(),
        "exit: {:?}\n{}",
        finished.status,
        finished.stderr
    );
    assert!(
        finished.stdout.is_empty(),
        "left over: {:?}",
        finished.stdout
    );

    let results = answered.values().filter(|ok| **ok).count();
    let mut tool_calls_ok = 0;
    for (id, ok) in &answered {
        let is_call = !matches!(id % 10, 3 | 6);
        if *ok && is_call {
            tool_calls_ok += 1;
            let seen = for_request.get(&id.to_string()).copied().unwrap_or(0);
            assert_eq!(
                seen, 2,
                "request {id}: its notification and roots/list arrive once each"
            );
        }
    }
    assert!(
        for_request.values().all(|&c| c <= 2),
        "a server message arrived twice"
    );

    // Nothing the client sent reached the server twice: the bridge re-sends only what the
    // server provably never saw (a 404 for an expired session).
    let mut seen_bodies = HashSet::new();
    for r in server.requests() {
        let Some(body) = r.json() else { continue };
        let key = match (body.get("id"), body.get("method")) {
            (Some(id), _) if !id.to_string().contains("mcp-keybridge") => id.to_string(),
            (None, Some(m)) if m == "notifications/roots/list_changed" => body.to_string(),
            _ => continue,
        };
        if r.method == "POST" && r.status_was_success() && !seen_bodies.insert(key.clone()) {
            panic!("delivered to the server twice: {key}");
        }
    }

    eprintln!(
        "soak: {total} sent, {} answered ({results} results, {} errors), {} duplicated, {} lost, \
         max latency {max_latency:?}, {:.0} req/s; {tool_calls_ok} tool calls with their 2 server \
         messages each; GET-stream notifications {}/{pushed} delivered (the rest were cut in transit with the stream); faults: {fault_counts:?}",
        answered.len(),
        answered.len() - results,
        duplicates.len(),
        total as usize - answered.len(),
        total as f64 / elapsed.as_secs_f64(),
        pushes.len(),
    );
    eprintln!("soak: errors by kind: {errors:#?}");
    assert!(duplicates.is_empty(), "duplicates: {duplicates:?}");
    // A message sent without the session id during a re-initialization would be a bridge bug.
    let missing_session = errors.keys().find(|e| e.contains("Missing session ID"));
    assert!(missing_session.is_none(), "{missing_session:?}");
    assert!(
        results * 2 > total as usize,
        "most requests should succeed: {results}/{total}"
    );
}
