//! The benchmark of issue #5: mcp-keybridge (driven by a stateful client and by a 2026-07-28
//! stateless one) against a direct keep-alive HTTP client (the physical limit), mcp-remote and
//! mcp-proxy, all talking to the same fixed in-process server, alternating candidate by
//! candidate, round by round. `scripts/bench.sh` builds, installs the
//! peers and runs it; `--smoke` checks correctness only (every present candidate relays the
//! echo answers and the 50 MB result intact) with small counts and no timing assertions.

mod candidate;
mod procfs;
mod report;
mod server;
mod session;

use candidate::{Candidate, Counts, Kind};
use clap::Parser;
use report::Results;
use std::path::PathBuf;

/// Benchmark mcp-keybridge (stateful and 2026-07-28 clients) against a direct client,
/// mcp-remote and mcp-proxy.
#[derive(Debug, Parser)]
struct Args {
    /// Correctness only: one round, small counts; exit 1 if a present candidate relays wrong.
    #[arg(long)]
    smoke: bool,
    /// Fail when a candidate is missing (CI, where the peers are installed).
    #[arg(long)]
    require_all: bool,
    /// Rounds (each candidate once per round, in rotating order).
    #[arg(long)]
    rounds: Option<usize>,
    /// Sequential `tools/call`s per round.
    #[arg(long)]
    sequential: Option<usize>,
    /// Pipelined `tools/call`s per round (64 in flight).
    #[arg(long)]
    pipelined: Option<usize>,
    /// The bridge binary.
    #[arg(long, default_value = "target/release/mcp-keybridge")]
    bridge: PathBuf,
    /// Where scripts/bench.sh installed mcp-remote (npm/) and mcp-proxy (proxy-venv/).
    #[arg(long, default_value = "bench/.tools")]
    tools: PathBuf,
    /// Write <OUT>.md and <OUT>.json.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only these candidates (by kind: bridge, bridge-stateless, direct, mcp-remote, mcp-proxy),
    /// for quick A/B runs.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("direct-init") {
        std::process::exit(session::direct_init_main(&argv[2]));
    }
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    std::process::exit(rt.block_on(run(args)));
}

async fn run(args: Args) -> i32 {
    let (rounds, counts) = if args.smoke {
        (
            args.rounds.unwrap_or(1),
            Counts {
                sequential: args.sequential.unwrap_or(5),
                pipelined: args.pipelined.unwrap_or(128),
            },
        )
    } else {
        (
            args.rounds.unwrap_or(5),
            Counts {
                sequential: args.sequential.unwrap_or(300),
                pipelined: args.pipelined.unwrap_or(3000),
            },
        )
    };
    let (url, server) = server::start();
    let expected = server::big_text();
    let logs = args.tools.join("logs");
    if let Err(e) = std::fs::create_dir_all(&logs) {
        eprintln!("bench: cannot create {}: {e}", logs.display());
        return 1;
    }
    let mut cands: Vec<Candidate> = candidate::discover(&args.bridge, &args.tools, &url);
    if !args.only.is_empty() {
        cands.retain(|c| args.only.iter().any(|o| kind_name(c.kind) == o));
    }
    let mut results: Vec<Results> = cands.iter().map(|_| Results::default()).collect();
    for c in &cands {
        if let Err(why) = &c.launch {
            eprintln!("bench: {} is missing: {why}", c.name);
        }
    }
    for round in 0..rounds {
        eprintln!("bench: round {}/{rounds}", round + 1);
        for k in 0..cands.len() {
            let i = (k + round) % cands.len();
            let c = &cands[i];
            if c.launch.is_err() {
                continue;
            }
            let log = logs.join(format!("{}.log", kind_name(c.kind)));
            match candidate::main_session(c, &server, &url, counts, &log).await {
                Ok(r) => results[i].runs.push(r),
                Err(e) => results[i].errors.push(format!("{e:#}")),
            }
            match candidate::big_session(c, &server, &url, &expected, &log).await {
                Ok(r) => results[i].bigs.push(r),
                Err(e) => results[i].errors.push(format!("50 MB: {e:#}")),
            }
        }
    }
    let mode = if args.smoke {
        "Smoke run (correctness only; debug build, small counts: these figures are not a benchmark). "
    } else {
        ""
    };
    let setup = format!(
        "{mode}{} rounds; per round and candidate: 1 cold start, {} sequential and {} pipelined `tools/call`s (echo), 1 × 50 MB result; server in-process (Rust, axum, HTTP/1.1, JSON replies).",
        rounds, counts.sequential, counts.pipelined
    );
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let message = server::BIG_LEN + 100;
    let rep = report::build(
        &date,
        &procfs::machine(),
        &setup,
        &cands,
        &results,
        message,
        args.smoke,
    );
    println!("{}", rep.markdown);
    println!("{}", rep.json);
    if !rep.missed.is_empty() {
        eprintln!("bench: targets missed: {}", rep.missed.join("; "));
    }
    if let Some(out) = &args.out {
        let md = out.with_extension("md");
        let js = out.with_extension("json");
        if let Err(e) = std::fs::write(&md, &rep.markdown)
            .and_then(|_| std::fs::write(&js, format!("{}\n", rep.json)))
        {
            eprintln!("bench: cannot write {}: {e}", md.display());
            return 1;
        }
        eprintln!("bench: wrote {} and {}", md.display(), js.display());
    }
    let failed: Vec<&Candidate> = cands
        .iter()
        .zip(&results)
        .filter(|(_, r)| !r.errors.is_empty())
        .map(|(c, _)| c)
        .collect();
    let missing: Vec<&str> = cands
        .iter()
        .filter(|c| c.launch.is_err())
        .map(|c| c.name)
        .collect();
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|c| c.name).collect();
        eprintln!("bench: relaying failed for: {}", names.join(", "));
        // A broken bridge (in either era) always fails the run; a broken peer fails it only
        // in smoke mode, where correctness is the point.
        if args.smoke || failed.iter().any(|c| c.kind.is_bridge()) {
            return 1;
        }
    }
    if args.require_all && !missing.is_empty() {
        eprintln!("bench: missing (--require-all): {}", missing.join(", "));
        return 1;
    }
    if args.smoke {
        eprintln!(
            "bench: smoke OK — every present candidate relayed the echo answers and the 50 MB result intact, each in its era"
        );
    }
    0
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Bridge => "bridge",
        Kind::BridgeStateless => "bridge-stateless",
        Kind::Direct => "direct",
        Kind::McpRemote => "mcp-remote",
        Kind::McpProxy => "mcp-proxy",
    }
}
