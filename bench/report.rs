//! The results: per candidate the median of the rounds with min–max, the markdown table, the
//! targets of issue #5 checked against the same run, the 2026-07-28 path set against the
//! stateful one (same binary, same run), and one JSON line for tools.

use crate::candidate::{BigRun, Candidate, Kind, Run};
use crate::procfs::Machine;
use serde_json::{Value, json};
use std::fmt::Write;

/// How much worse than the stateful path the 2026-07-28 one may measure and still count as
/// costing no more: run-to-run noise on the reference VM is about this much.
const ERA_TIME_TOLERANCE: f64 = 0.10;
/// The same for memory, in MB.
const ERA_RSS_TOLERANCE_MB: f64 = 1.0;

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
            "cold start: spawn → first reply, `initialize` (2026-07-28: `server/discover`) (ms)",
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

    let eras = era_comparison(
        fig(Kind::Bridge),
        fig(Kind::BridgeStateless),
        [Kind::Bridge, Kind::BridgeStateless].map(|k| {
            find(k)
                .and_then(|i| results[i].runs.first())
                .map(own_requests)
        }),
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
    let mut era_rows = Vec::new();
    if !smoke && !eras.is_empty() {
        let _ = writeln!(
            md,
            "\nThe 2026-07-28 (stateless) path against the stateful one, same binary, same run; \"no more\" allows {:.0} % (times, throughput) or {:.0} MB (memory) of noise:\n",
            ERA_TIME_TOLERANCE * 100.0,
            ERA_RSS_TOLERANCE_MB
        );
        let _ = writeln!(
            md,
            "| figure (median) | stateful | 2026-07-28 | difference | no more |\n|---|---|---|---|---|"
        );
        for e in &eras {
            let verdict = match e.ok {
                Some(true) => "yes",
                Some(false) => {
                    missed.push(format!("2026-07-28 {}", e.figure));
                    "**no**"
                }
                None => "—",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {verdict} |",
                e.figure, e.stateful, e.stateless, e.difference
            );
            era_rows.push(json!({
                "figure": e.figure, "stateful": e.stateful, "stateless": e.stateless,
                "difference": e.difference, "no_more": e.ok,
            }));
        }
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
    let json = json!({ "date": date, "machine": machine, "setup": setup, "candidates": cj, "targets": tj, "stateless_vs_stateful": era_rows }).to_string();
    Report {
        markdown: md,
        json,
        missed,
    }
}

/// `initialize`, `notifications/initialized` and the optional server-message GET stream: what
/// a Streamable HTTP session consists of before its first real request; for a 2026-07-28
/// client, its own `server/discover`.
fn is_session_setup(s: &crate::server::Seen) -> bool {
    match (s.method.as_str(), s.rpc.as_deref()) {
        ("POST", Some("initialize" | "notifications/initialized")) => s.path == "/mcp",
        ("POST", Some("server/discover")) => s.path == "/mcp" && s.modern,
        ("GET", None) => s.path == "/mcp",
        _ => false,
    }
}

/// The requests before the first real one that the client's own messages did not cause
/// (`initialize`, `notifications/initialized` and `server/discover` are the client's): for
/// the stateful bridge the session's GET stream, for the stateless one nothing.
fn own_requests(r: &Run) -> f64 {
    r.before_real
        .iter()
        .filter(|s| {
            !matches!(
                s.rpc.as_deref(),
                Some("initialize" | "notifications/initialized" | "server/discover")
            )
        })
        .count() as f64
}

/// One row of the 2026-07-28-against-stateful table.
struct EraRow {
    figure: &'static str,
    stateful: String,
    stateless: String,
    difference: String,
    ok: Option<bool>,
}

/// The bridge's figures in both eras, side by side, with "costs no more" verdicts.
fn era_comparison(
    stateful: Option<&Figures>,
    stateless: Option<&Figures>,
    own: [Option<f64>; 2],
) -> Vec<EraRow> {
    let (Some(a), Some(b)) = (stateful, stateless) else {
        return Vec::new();
    };
    type Pick = fn(&Figures) -> Option<Stat>;
    /// What "no more" means for a figure: at most this fraction or this many more (times,
    /// memory), or at most the time tolerance less (throughput).
    enum Limit {
        Fraction(f64),
        Plus(f64),
        NotLess,
    }
    let rows: [(&'static str, Pick, usize, Limit); 7] = [
        (
            "sequential round trip, small `tools/call` (µs)",
            |f| f.rtt_us,
            0,
            Limit::Fraction(ERA_TIME_TOLERANCE),
        ),
        (
            "pipelined, 64 in flight (requests/s)",
            |f| f.rps,
            0,
            Limit::NotLess,
        ),
        (
            "peak RSS of the process tree, idle (MB)",
            |f| f.rss_idle_mb,
            1,
            Limit::Plus(ERA_RSS_TOLERANCE_MB),
        ),
        (
            "peak RSS of the process tree, under load (MB)",
            |f| f.rss_load_mb,
            1,
            Limit::Plus(ERA_RSS_TOLERANCE_MB),
        ),
        (
            "cold start: spawn → first reply (ms)",
            |f| f.cold_ms,
            1,
            Limit::Fraction(ERA_TIME_TOLERANCE),
        ),
        (
            "50 MB tool result relayed (ms)",
            |f| f.big_ms,
            0,
            Limit::Fraction(ERA_TIME_TOLERANCE),
        ),
        (
            "50 MB tool result: peak RSS (MB)",
            |f| f.big_rss_mb,
            1,
            Limit::Plus(ERA_RSS_TOLERANCE_MB),
        ),
    ];
    let mut out = Vec::new();
    for (figure, pick, digits, limit) in rows {
        let (x, y) = (pick(a).map(|s| s.median), pick(b).map(|s| s.median));
        let show = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.digits$}"));
        let (difference, ok) = match (x, y) {
            (Some(x), Some(y)) => {
                let pct = 100.0 * (y - x) / x;
                let ok = match limit {
                    Limit::Fraction(t) => y <= x * (1.0 + t),
                    Limit::Plus(t) => y <= x + t,
                    Limit::NotLess => y >= x * (1.0 - ERA_TIME_TOLERANCE),
                };
                (format!("{:+.digits$} ({pct:+.1} %)", y - x), Some(ok))
            }
            _ => ("—".into(), None),
        };
        out.push(EraRow {
            figure,
            stateful: show(x),
            stateless: show(y),
            difference,
            ok,
        });
    }
    let [x, y] = own;
    out.push(EraRow {
        figure: "HTTP requests of the bridge's own before the first real one",
        stateful: x.map_or("—".into(), |v| format!("{v:.0}")),
        stateless: y.map_or("—".into(), |v| format!("{v:.0}")),
        difference: x
            .zip(y)
            .map_or("—".into(), |(x, y)| format!("{:+.0}", y - x)),
        ok: x.zip(y).map(|(x, y)| y <= x),
    });
    out
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
