//! The results: per candidate the median of the rounds with min–max, the markdown table, the
//! targets of issue #5 checked against the same run, and one JSON line for tools.

use crate::candidate::{BigRun, Candidate, Kind, Run};
use crate::procfs::Machine;
use serde_json::{Value, json};
use std::fmt::Write;

/// Everything measured for one candidate.
#[derive(Default)]
pub struct Results {
    pub runs: Vec<Run>,
    pub bigs: Vec<BigRun>,
    pub errors: Vec<String>,
}

/// Median, min and max of a figure over the rounds.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    fn of(mut v: Vec<f64>) -> Option<Stat> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Stat {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    fn json(self) -> Value {
        json!({ "median": round(self.median), "min": round(self.min), "max": round(self.max) })
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The figures of one candidate, as rows of the table (name, unit, stat).
struct Figures {
    cold_ms: Option<Stat>,
    rtt_us: Option<Stat>,
    rps: Option<Stat>,
    rss_idle_mb: Option<Stat>,
    rss_load_mb: Option<Stat>,
    big_ms: Option<Stat>,
    big_rss_mb: Option<Stat>,
    before_real: Option<Stat>,
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn figures(r: &Results) -> Figures {
    let runs = |f: fn(&Run) -> Option<f64>| Stat::of(r.runs.iter().filter_map(f).collect());
    Figures {
        cold_ms: runs(|x| Some(x.cold_ms)),
        rtt_us: runs(|x| Some(x.rtt_us)),
        rps: runs(|x| Some(x.rps)),
        rss_idle_mb: runs(|x| x.rss_idle.map(mb)),
        rss_load_mb: runs(|x| x.rss_load.map(mb)),
        big_ms: Stat::of(r.bigs.iter().map(|b| b.ms).collect()),
        big_rss_mb: Stat::of(r.bigs.iter().filter_map(|b| b.rss.map(mb)).collect()),
        before_real: runs(|x| Some(x.before_real.len() as f64)),
    }
}

/// The full report: markdown (table, targets, notes) and the JSON line.
pub struct Report {
    pub markdown: String,
    pub json: String,
    /// Targets missed, by description (empty when all are met).
    pub missed: Vec<String>,
}

/// Builds the report for the candidates in `order` (their results alongside).
pub fn build(
    date: &str,
    machine: &Machine,
    setup: &str,
    cands: &[Candidate],
    results: &[Results],
    message_bytes: usize,
    smoke: bool,
) -> Report {
    let figs: Vec<Figures> = results.iter().map(figures).collect();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Measured {date} on {}, {} cores, {:.1} GiB RAM, {}.",
        machine.cpu, machine.cores, machine.ram_gib, machine.os
    );
    let _ = writeln!(md, "{setup}\n");
    let _ = write!(md, "| figure (median, min–max) |");
    for c in cands {
        let _ = write!(md, " {} |", c.name);
    }
    let _ = write!(md, "\n|---|");
    for _ in cands {
        let _ = write!(md, "---|");
    }
    md.push('\n');
    type Pick = fn(&Figures) -> Option<Stat>;
    let rows: [(&str, Pick, usize); 8] = [
        (
            "cold start: spawn → `initialize` reply (ms)",
            |f| f.cold_ms,
            1,
        ),
        (
            "sequential round trip, small `tools/call` (µs)",
            |f| f.rtt_us,
            0,
        ),
        ("pipelined, 64 in flight (requests/s)", |f| f.rps, 0),
        (
            "peak RSS of the process tree, idle (MB)",
            |f| f.rss_idle_mb,
            1,
        ),
        (
            "peak RSS of the process tree, under load (MB)",
            |f| f.rss_load_mb,
            1,
        ),
        ("50 MB tool result relayed (ms)", |f| f.big_ms, 0),
        ("50 MB tool result: peak RSS (MB)", |f| f.big_rss_mb, 1),
        (
            "HTTP requests before the first real one",
            |f| f.before_real,
            0,
        ),
    ];
    for (label, pick, digits) in rows {
        let _ = write!(md, "| {label} |");
        for (c, f) in cands.iter().zip(&figs) {
            let cell = match (&c.launch, pick(f)) {
                (Err(_), _) => "missing".to_string(),
                (Ok(_), Some(s)) if s.min == s.max => format!("{:.*}", digits, s.median),
                (Ok(_), Some(s)) => {
                    format!(
                        "{:.*} ({:.*}–{:.*})",
                        digits, s.median, digits, s.min, digits, s.max
                    )
                }
                (Ok(_), None) if c.kind == Kind::Direct && label.contains("RSS") => "—".into(),
                (Ok(_), None) => "failed".into(),
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    let _ = write!(md, "| installed size |");
    for c in cands {
        let _ = write!(md, " {} |", c.size);
    }
    md.push('\n');

    let mut notes = String::new();
    for (c, r) in cands.iter().zip(results) {
        if let Err(why) = &c.launch {
            let _ = writeln!(notes, "- {}: missing ({why}).", c.name);
        }
        for e in dedup(&r.errors) {
            let _ = writeln!(notes, "- {}: failed: {e}", c.name);
        }
        if let Some(run) = r.runs.first() {
            let seen: Vec<String> = run.before_real.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                notes,
                "- {} before its first `tools/call`: {}",
                c.name,
                if seen.is_empty() {
                    "nothing".into()
                } else {
                    seen.join(", ")
                }
            );
        }
    }

    let find = |k: Kind| cands.iter().position(|c| c.kind == k);
    let fig = |k: Kind| find(k).map(|i| &figs[i]);
    let (bridge, direct, remote) = (fig(Kind::Bridge), fig(Kind::Direct), fig(Kind::McpRemote));
    let med = |f: Option<&Figures>, p: Pick| f.and_then(p).map(|s| s.median);
    let mut targets: Vec<(String, String, Option<bool>)> = Vec::new();
    let mut check = |target: &str,
                     measured: Option<(f64, f64)>,
                     fmt: &dyn Fn(f64, f64) -> String,
                     ok: &dyn Fn(f64, f64) -> bool| {
        match measured {
            Some((a, b)) => targets.push((target.into(), fmt(a, b), Some(ok(a, b)))),
            None => targets.push((target.into(), "not measured".into(), None)),
        }
    };
    let pair = |a: Option<f64>, b: Option<f64>| a.zip(b);
    let cold = |f| med(f, |f: &Figures| f.cold_ms);
    check(
        "cold start ≤ 1/20 of mcp-remote's",
        pair(cold(bridge), cold(remote)),
        &|a, b| format!("{a:.1} ms vs {b:.1} ms (1/{:.0})", b / a),
        &|a, b| a * 20.0 <= b,
    );
    check(
        "cold start ≤ 2× the direct client's",
        pair(cold(bridge), cold(direct)),
        &|a, b| format!("{a:.1} ms vs {b:.1} ms ({:.2}×)", a / b),
        &|a, b| a <= 2.0 * b,
    );
    let rtt = |f| med(f, |f: &Figures| f.rtt_us);
    check(
        "sequential round trip ≤ direct + 100 µs",
        pair(rtt(bridge), rtt(direct)),
        &|a, b| format!("{a:.0} µs vs {b:.0} µs (+{:.0} µs)", a - b),
        &|a, b| a <= b + 100.0,
    );
    let rps = |f| med(f, |f: &Figures| f.rps);
    check(
        "pipelined ≥ 80 % of direct",
        pair(rps(bridge), rps(direct)),
        &|a, b| format!("{a:.0}/s vs {b:.0}/s ({:.0} %)", 100.0 * a / b),
        &|a, b| a >= 0.8 * b,
    );
    check(
        "pipelined ≥ 10× mcp-remote",
        pair(rps(bridge), rps(remote)),
        &|a, b| format!("{a:.0}/s vs {b:.0}/s ({:.1}×)", a / b),
        &|a, b| a >= 10.0 * b,
    );
    let one = |x: Option<f64>| x.map(|v| (v, 0.0));
    check(
        "peak RSS ≤ 10 MB idle",
        one(med(bridge, |f| f.rss_idle_mb)),
        &|a, _| format!("{a:.1} MB"),
        &|a, _| a <= 10.0,
    );
    check(
        "peak RSS ≤ 10 MB under load",
        one(med(bridge, |f| f.rss_load_mb)),
        &|a, _| format!("{a:.1} MB"),
        &|a, _| a <= 10.0,
    );
    let msg_mb = message_bytes as f64 / 1e6;
    check(
        "50 MB result: peak RSS ≤ 3× the message",
        one(med(bridge, |f| f.big_rss_mb)),
        &|a, _| {
            format!(
                "{a:.1} MB for a {msg_mb:.1} MB message ({:.2}×)",
                a / msg_mb
            )
        },
        &|a, _| a <= 3.0 * msg_mb,
    );
    let extra = find(Kind::Bridge)
        .and_then(|i| results[i].runs.first())
        .map(|r| {
            let handshake = r.before_real.iter().filter(|s| is_session_setup(s)).count();
            (
                (r.before_real.len() - handshake) as f64,
                r.before_real.len() as f64,
            )
        });
    check(
        "0 extra requests before the first real reply",
        extra,
        &|a, b| format!("{a:.0} extra ({b:.0} in all: the session setup)"),
        &|a, _| a == 0.0,
    );

    if smoke {
        // Debug build, tiny counts: the figures prove the relays work, not how fast they are.
        targets.clear();
    } else {
        let _ = writeln!(md, "\nTargets (issue #5), from the medians above:\n");
        let _ = writeln!(md, "| target | measured | met |\n|---|---|---|");
    }
    let mut missed = Vec::new();
    for (t, m, ok) in &targets {
        let verdict = match ok {
            Some(true) => "yes",
            Some(false) => {
                missed.push(t.clone());
                "**no**"
            }
            None => "—",
        };
        let _ = writeln!(md, "| {t} | {m} | {verdict} |");
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\nNotes:\n\n{notes}");
    }

    let mut cj = serde_json::Map::new();
    for ((c, r), f) in cands.iter().zip(results).zip(&figs) {
        let status = match (&c.launch, r.errors.is_empty()) {
            (Err(_), _) => "missing",
            (Ok(_), true) => "ok",
            (Ok(_), false) => "failed",
        };
        let s = |x: Option<Stat>| x.map_or(Value::Null, Stat::json);
        cj.insert(c.name.into(), json!({
            "status": status,
            "missing_reason": c.launch.as_ref().err(),
            "errors": dedup(&r.errors),
            "cold_start_ms": s(f.cold_ms),
            "sequential_rtt_us": s(f.rtt_us),
            "pipelined_rps": s(f.rps),
            "peak_rss_idle_mb": s(f.rss_idle_mb),
            "peak_rss_load_mb": s(f.rss_load_mb),
            "big_result_ms": s(f.big_ms),
            "big_result_peak_rss_mb": s(f.big_rss_mb),
            "requests_before_first_real": s(f.before_real),
            "requests_seen": r.runs.first().map(|x| x.before_real.iter().map(ToString::to_string).collect::<Vec<_>>()),
            "size": c.size,
        }));
    }
    let tj: Vec<Value> = targets
        .iter()
        .map(|(t, m, ok)| json!({ "target": t, "measured": m, "met": ok }))
        .collect();
    let json = json!({ "date": date, "machine": machine, "setup": setup, "candidates": cj, "targets": tj }).to_string();
    Report {
        markdown: md,
        json,
        missed,
    }
}

/// `initialize`, `notifications/initialized` and the optional server-message GET stream: what
/// a Streamable HTTP session consists of before its first real request.
fn is_session_setup(s: &crate::server::Seen) -> bool {
    match (s.method.as_str(), s.rpc.as_deref()) {
        ("POST", Some("initialize" | "notifications/initialized")) => s.path == "/mcp",
        ("GET", None) => s.path == "/mcp",
        _ => false,
    }
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in v {
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out
}
