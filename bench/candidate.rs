//! The candidates and how one round measures each: a main session (cold start, idle memory,
//! requests before the first real one, sequential round trips, pipelined throughput, memory
//! under load) and a fresh session for the 50 MB result (time, peak memory, intact).
//!
//! The bridge runs twice: driven by a stateful client (`initialize`, then requests in the
//! session) and by a 2026-07-28 client (no handshake: `server/discover` first, every request
//! with its `_meta`), same binary, same arguments, same server. After each session the
//! server's record must show the era the candidate was meant to speak.

use crate::procfs::Sampler;
use crate::server::{Seen, Server};
use crate::session::{self, DirectSession, Era, StdioSession};
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many requests the pipelined phase keeps in flight.
pub const IN_FLIGHT: usize = 64;
/// How long a fresh session sits idle before its memory is read.
const SETTLE: Duration = Duration::from_millis(300);

/// What a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bridge,
    /// The bridge driven by a 2026-07-28 (stateless) client.
    BridgeStateless,
    Direct,
    McpRemote,
    McpProxy,
}

/// A candidate: its name, how to start it (or why it is missing) and its installed size.
pub struct Candidate {
    pub name: &'static str,
    pub kind: Kind,
    pub launch: Result<(String, Vec<String>), String>,
    pub size: String,
}

/// Figures from one main session.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub cold_ms: f64,
    pub rtt_us: f64,
    pub rps: f64,
    pub rss_idle: Option<u64>,
    pub rss_load: Option<u64>,
    pub before_real: Vec<Seen>,
}

/// Figures from the 50 MB session.
#[derive(Debug, Default, Clone)]
pub struct BigRun {
    pub ms: f64,
    pub rss: Option<u64>,
}

/// How much each phase does.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub sequential: usize,
    pub pipelined: usize,
}

impl Kind {
    /// The protocol era the driver speaks to this candidate.
    pub fn era(self) -> Era {
        match self {
            Kind::BridgeStateless => Era::Stateless,
            _ => Era::Stateful,
        }
    }

    /// The bridge itself, whichever client drives it.
    pub fn is_bridge(self) -> bool {
        matches!(self, Kind::Bridge | Kind::BridgeStateless)
    }
}

/// Finds every candidate; one that is not installed carries the reason.
pub fn discover(bridge: &Path, tools: &Path, url: &str) -> Vec<Candidate> {
    let token_arg = format!("Bearer {}", crate::server::TOKEN);
    let bridge_launch = exists(bridge).map(|p| {
        let args = vec![url.into(), "--bearer".into(), "env:MCP_BENCH_TOKEN".into()];
        (p, args)
    });
    let bridge_size = file_size(bridge).map_or("—".into(), |b| format!("{:.1} MB binary", mb(b)));
    let bridge_c = Candidate {
        name: "mcp-keybridge",
        kind: Kind::Bridge,
        launch: bridge_launch.clone(),
        size: bridge_size.clone(),
    };
    let stateless = Candidate {
        name: "mcp-keybridge 2026-07-28",
        kind: Kind::BridgeStateless,
        launch: bridge_launch,
        size: bridge_size,
    };
    let direct = Candidate {
        name: "direct (reqwest)",
        kind: Kind::Direct,
        launch: Ok((String::new(), Vec::new())),
        size: "—".into(),
    };
    let npm = tools.join("npm/node_modules");
    let remote_js = npm.join("mcp-remote/dist/proxy.js");
    let remote = Candidate {
        name: "mcp-remote",
        kind: Kind::McpRemote,
        launch: exists(&remote_js).and_then(|js| {
            which("node").ok_or_else(|| "node is not on PATH".to_string())?;
            let args = vec![
                js,
                url.into(),
                "--header".into(),
                format!("Authorization:{token_arg}"),
                "--transport".into(),
                "http-only".into(),
            ];
            Ok(("node".to_string(), args))
        }),
        size: dir_size(&npm).map_or("—".into(), |b| {
            format!("{:.1} MB node_modules + node", mb(b))
        }),
    };
    let venv = tools.join("proxy-venv");
    let proxy = Candidate {
        name: "mcp-proxy",
        kind: Kind::McpProxy,
        launch: exists(&venv.join("bin/mcp-proxy")).map(|p| {
            let args = vec![
                "--transport".into(),
                "streamablehttp".into(),
                "-H".into(),
                "Authorization".into(),
                token_arg.clone(),
                url.into(),
            ];
            (p, args)
        }),
        size: dir_size(&venv).map_or("—".into(), |b| format!("{:.1} MB venv + python", mb(b))),
    };
    vec![bridge_c, stateless, direct, remote, proxy]
}

/// One main session of `c`.
pub async fn main_session(
    c: &Candidate,
    server: &Arc<Server>,
    url: &str,
    counts: Counts,
    log: &Path,
) -> Result<Run> {
    let (program, args) = c.launch.clone().map_err(anyhow::Error::msg)?;
    if c.kind == Kind::Direct {
        return direct_session(server, url, counts, log).await;
    }
    let era = c.kind.era();
    server.reset();
    let start = Instant::now();
    let mut s = StdioSession::spawn(&program, &args, open_log(log)?)?;
    let cold_ms = handshake(&mut s, era, Some(start)).await?;
    let sampler = Sampler::start(s.pid());
    tokio::time::sleep(SETTLE).await;
    let rss_idle = Some(sampler.peak());

    let mut rtts = Vec::with_capacity(counts.sequential);
    for i in 1..=counts.sequential as u64 {
        let text = echo_text(i);
        let t = Instant::now();
        let line = s.call(i, &session::echo(era, i, &text)).await?;
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
        check_text(&line, &text).with_context(|| format!("echo {i}"))?;
    }
    let before_real = server.before_first_real().unwrap_or_default();

    let first = 1_000_000u64;
    let total = counts.pipelined as u64;
    let mut answered = vec![false; counts.pipelined];
    let t = Instant::now();
    let mut sent = 0u64;
    while sent < total.min(IN_FLIGHT as u64) {
        s.send(&session::echo(era, first + sent, &echo_text(first + sent)))
            .await?;
        sent += 1;
    }
    for _ in 0..total {
        let (id, line) = s.next_reply().await?;
        let slot = id
            .checked_sub(first)
            .filter(|&k| k < total)
            .context("unknown id")?;
        ensure!(!answered[slot as usize], "id {id} answered twice");
        answered[slot as usize] = true;
        check_text(&line, &echo_text(id))?;
        if sent < total {
            s.send(&session::echo(era, first + sent, &echo_text(first + sent)))
                .await?;
            sent += 1;
        }
    }
    let rps = total as f64 / t.elapsed().as_secs_f64();
    let rss_load = Some(sampler.peak());
    drop(sampler);
    s.close().await;
    check_era(server, era, 1 + counts.sequential + counts.pipelined)?;
    Ok(Run {
        cold_ms,
        rtt_us: median(&mut rtts),
        rps,
        rss_idle,
        rss_load,
        before_real,
    })
}

/// The same session with the direct client; its cold start is `bench direct-init` as a
/// process of its own.
async fn direct_session(
    server: &Arc<Server>,
    url: &str,
    counts: Counts,
    log: &Path,
) -> Result<Run> {
    let exe = std::env::current_exe()?.to_string_lossy().into_owned();
    let start = Instant::now();
    let mut child = StdioSession::spawn(&exe, &["direct-init".into(), url.into()], open_log(log)?)?;
    let (_, init) = child.next_reply().await.context("direct-init")?;
    let cold_ms = ms(start.elapsed());
    check_initialize(&init)?;
    child.close().await;

    server.reset();
    let mut d = DirectSession::new(url)?;
    check_initialize(&d.handshake().await?)?;
    let mut rtts = Vec::with_capacity(counts.sequential);
    for i in 1..=counts.sequential as u64 {
        let text = echo_text(i);
        let t = Instant::now();
        let body = d.call(session::echo(Era::Stateful, i, &text)).await?;
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
        check_text(&body, &text)?;
    }
    let before_real = server.before_first_real().unwrap_or_default();

    let d = Arc::new(d);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = counts.pipelined as u64;
    let t = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (d, next) = (d.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= total {
                        return anyhow::Ok(());
                    }
                    let id = 1_000_000 + k;
                    let body = d
                        .call(session::echo(Era::Stateful, id, &echo_text(id)))
                        .await?;
                    check_text(&body, &echo_text(id))?;
                }
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    let rps = total as f64 / t.elapsed().as_secs_f64();
    Ok(Run {
        cold_ms,
        rtt_us: median(&mut rtts),
        rps,
        rss_idle: None,
        rss_load: None,
        before_real,
    })
}

/// A fresh session that asks for the 50 MB result once and checks it arrived intact.
pub async fn big_session(
    c: &Candidate,
    server: &Arc<Server>,
    url: &str,
    expected: &str,
    log: &Path,
) -> Result<BigRun> {
    let (program, args) = c.launch.clone().map_err(anyhow::Error::msg)?;
    if c.kind == Kind::Direct {
        let mut d = DirectSession::new(url)?;
        d.handshake().await?;
        let t = Instant::now();
        let body = d.call(session::big(Era::Stateful, 1)).await?;
        let ms = ms(t.elapsed());
        check_text(&body, expected).context("50 MB result")?;
        return Ok(BigRun { ms, rss: None });
    }
    let era = c.kind.era();
    server.reset();
    let mut s = StdioSession::spawn(&program, &args, open_log(log)?)?;
    handshake(&mut s, era, None).await?;
    let sampler = Sampler::start(s.pid());
    let t = Instant::now();
    let line = s.call(1, &session::big(era, 1)).await?;
    let ms = ms(t.elapsed());
    let rss = Some(sampler.peak());
    drop(sampler);
    s.close().await;
    check_text(&line, expected).context("50 MB result")?;
    check_era(server, era, 2)?;
    Ok(BigRun { ms, rss })
}

/// A client's first exchange, id 0: `initialize` + `notifications/initialized` (stateful) or
/// `server/discover` (2026-07-28, which has no handshake). Returns the milliseconds from
/// `start` to the reply.
async fn handshake(s: &mut StdioSession, era: Era, start: Option<Instant>) -> Result<f64> {
    let start = start.unwrap_or_else(Instant::now);
    match era {
        Era::Stateful => {
            let init = s
                .call(0, &session::initialize(0))
                .await
                .context("initialize")?;
            let cold_ms = ms(start.elapsed());
            check_initialize(&init)?;
            s.send(session::INITIALIZED).await?;
            Ok(cold_ms)
        }
        Era::Stateless => {
            let reply = s
                .call(0, &session::discover(0))
                .await
                .context("server/discover")?;
            let cold_ms = ms(start.elapsed());
            let v: serde_json::Value =
                serde_json::from_slice(&reply).context("server/discover reply")?;
            ensure!(
                v["result"]["supportedVersions"][0] == crate::server::MODERN_VERSION,
                "server/discover reply without the server's versions: {}",
                String::from_utf8_lossy(&reply[..reply.len().min(300)])
            );
            Ok(cold_ms)
        }
    }
}

/// The server's record of the session must show the era the candidate was driven in: for
/// 2026-07-28 exactly `requests` stateless POSTs (discover + every call) and nothing else (no
/// `initialize`, no session, no GET stream, no DELETE); for the stateful ones no stateless
/// request at all.
fn check_era(server: &Server, era: Era, requests: usize) -> Result<()> {
    let e = server.eras();
    match era {
        Era::Stateless => ensure!(
            e.modern == requests && e.legacy == 0 && e.other == 0 && e.with_session == 0,
            "the server saw {} stateless POSTs (expected {requests}), {} stateful POSTs, {} other requests, {} with Mcp-Session-Id (expected 0 each)",
            e.modern,
            e.legacy,
            e.other,
            e.with_session
        ),
        Era::Stateful => ensure!(
            e.modern == 0,
            "the server saw {} 2026-07-28 requests from a stateful client",
            e.modern
        ),
    }
    Ok(())
}

/// The echo text for request `i`: non-ASCII, quotes and escapes, so a relay that re-encodes
/// badly shows.
pub fn echo_text(i: u64) -> String {
    format!("héllo \"bench\" \\ ✓ 🚀 tab\t#{i}")
}

fn check_initialize(line: &[u8]) -> Result<()> {
    let v: serde_json::Value = serde_json::from_slice(line).context("initialize reply")?;
    ensure!(
        v["result"]["serverInfo"].is_object() || v["result"]["protocolVersion"].is_string(),
        "initialize reply without a result: {}",
        String::from_utf8_lossy(&line[..line.len().min(300)])
    );
    Ok(())
}

/// Checks a `tools/call` reply's first text content.
fn check_text(line: &[u8], expected: &str) -> Result<()> {
    let v: serde_json::Value = serde_json::from_slice(line).context("reply is not JSON")?;
    let Some(text) = v["result"]["content"][0]["text"].as_str() else {
        bail!(
            "reply without text content: {}",
            String::from_utf8_lossy(&line[..line.len().min(300)])
        );
    };
    if text != expected {
        bail!(
            "text differs: {} bytes, expected {} ({}…)",
            text.len(),
            expected.len(),
            text.chars().take(60).collect::<String>()
        );
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn open_log(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

fn exists(p: &Path) -> Result<String, String> {
    if p.exists() {
        Ok(p.to_string_lossy().into_owned())
    } else {
        Err(format!("{} not found", p.display()))
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

fn dir_size(p: &Path) -> Option<u64> {
    let meta = std::fs::symlink_metadata(p).ok()?;
    if !meta.is_dir() {
        return Some(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(p).ok()?.flatten() {
        total += dir_size(&entry.path()).unwrap_or(0);
    }
    Some(total)
}
