//! How a check is shown: a short aligned text report for people, or one JSON object for
//! scripts. Both carry the same facts; neither ever carries a credential's value.

use super::diagnosis::Diagnosis;
use super::probe::{Failure, Outcome};
use crate::cli::TransportArg;
use crate::error::UpstreamError;
use clap::ValueEnum;
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::Duration;

/// What the server made of the credentials, as far as the check can tell.
pub fn credentials_status(outcome: &Outcome) -> &'static str {
    let status = match &outcome.failure {
        Some(Failure::Upstream { error, .. }) => error.http_status(),
        _ => None,
    };
    match (&outcome.failure, status) {
        (Some(Failure::Credentials(_)), _) => "unreadable",
        _ if outcome.credentials.is_empty() => "none",
        (_, Some(401)) => "rejected",
        (_, Some(403)) => "refused",
        _ if outcome.server.is_some() => "accepted",
        _ => "untested",
    }
}

fn transport_name(t: TransportArg) -> String {
    t.to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// The transport line: what was used and whether auto mode detected it.
fn transport_text(outcome: &Outcome) -> String {
    match (outcome.transport, outcome.requested) {
        (Some(used), TransportArg::Auto) => format!("{} (detected)", transport_name(used)),
        (Some(used), _) => transport_name(used),
        (None, asked) => format!("{} (not settled)", transport_name(asked)),
    }
}

fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The human report, one `label: value` line per fact, then the cause and fixes on failure.
pub fn human(outcome: &Outcome, diagnosis: Option<&Diagnosis>, verbose: bool) -> String {
    let mut out = String::new();
    let verdict = match diagnosis {
        None => "OK".to_string(),
        Some(d) => format!("FAILED ({})", d.kind),
    };
    let _ = writeln!(out, "mcp-keybridge check: {verdict}");
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "  {:<13}{value}", format!("{label}:"));
    };
    line("url", &outcome.url);
    line("transport", &transport_text(outcome));
    if let Some(s) = &outcome.server {
        line("protocol", &s.protocol_version);
        line("server", &format!("{} {}", s.name, s.version));
    }
    match &outcome.tools {
        Some(names) if verbose && !names.is_empty() => {
            line("tools", &format!("{}: {}", names.len(), names.join(", ")));
        }
        Some(names) => line("tools", &names.len().to_string()),
        None if outcome.server.is_some() && outcome.failure.is_none() => {
            line("tools", "none (the server offers no tools capability)");
        }
        None => {}
    }
    let status = credentials_status(outcome);
    if outcome.credentials.is_empty() {
        line("credentials", "none configured");
    }
    for c in &outcome.credentials {
        let from = if c.sources.is_empty() {
            "a literal value".to_string()
        } else {
            c.sources.join(" + ")
        };
        let reread = if outcome.credentials_reread {
            ", after re-reading the source"
        } else {
            ""
        };
        line(
            "credentials",
            &format!("{} from {from}: {status}{reread}", c.header),
        );
    }
    if !outcome.timings.is_empty() {
        let parts: Vec<String> = outcome
            .timings
            .iter()
            .map(|(step, d)| format!("{step} {}", millis(*d)))
            .collect();
        line("round trips", &parts.join(", "));
    }
    if let Some(f) = &outcome.failure {
        line("error", &f.to_string());
    }
    if let Some(d) = diagnosis {
        write_advice(&mut out, d);
    }
    out
}

/// The report for options refused before connecting.
pub fn human_config(error: &str, diagnosis: &Diagnosis) -> String {
    let mut out = format!(
        "mcp-keybridge check: FAILED ({})\n  error:       {error}\n",
        diagnosis.kind
    );
    write_advice(&mut out, diagnosis);
    out
}

fn write_advice(out: &mut String, d: &Diagnosis) {
    let _ = writeln!(out, "  {:<13}{}", "cause:", d.cause);
    for (i, fix) in d.fixes.iter().enumerate() {
        let label = if i == 0 { "fix:" } else { "" };
        let _ = writeln!(out, "  {label:<13}{fix}");
    }
}

/// The JSON report: one object with every fact and, on failure, the diagnosis.
pub fn json(outcome: &Outcome, diagnosis: Option<&Diagnosis>) -> Value {
    let timings: serde_json::Map<String, Value> = outcome
        .timings
        .iter()
        .map(|(step, d)| (step.to_string(), json!(d.as_secs_f64() * 1000.0)))
        .collect();
    json!({
        "ok": diagnosis.is_none(),
        "url": outcome.url,
        "transport": {
            "requested": transport_name(outcome.requested),
            "used": outcome.transport.map(transport_name),
        },
        "protocolVersion": outcome.server.as_ref().map(|s| &s.protocol_version),
        "server": outcome.server.as_ref().map(|s| json!({"name": s.name, "version": s.version})),
        "tools": outcome.tools.as_ref().map(|t| json!({"count": t.len(), "names": t})),
        "credentials": outcome.credentials.iter().map(|c| json!({
            "header": c.header,
            "sources": c.sources,
        })).collect::<Vec<_>>(),
        "credentialsStatus": credentials_status(outcome),
        "credentialsReread": outcome.credentials_reread,
        "timingsMs": timings,
        "error": diagnosis.map(|d| error_json(outcome.failure.as_ref(), d)),
    })
}

/// The JSON report for options refused before connecting.
pub fn json_config(error: &str, diagnosis: &Diagnosis) -> Value {
    json!({
        "ok": false,
        "error": {
            "kind": diagnosis.kind,
            "message": error,
            "cause": diagnosis.cause,
            "fix": diagnosis.fixes,
        },
    })
}

fn error_json(failure: Option<&Failure>, d: &Diagnosis) -> Value {
    let (step, http_status) = match failure {
        Some(Failure::Upstream { step, error }) => (Some(*step), error.http_status()),
        Some(Failure::Rpc { step, .. } | Failure::Protocol { step, .. }) => (Some(*step), None),
        Some(Failure::NoAnswer { step, .. }) => (Some(*step), None),
        _ => (None, None),
    };
    json!({
        "kind": d.kind,
        "step": step,
        "httpStatus": http_status,
        "message": failure.map(ToString::to_string),
        "cause": d.cause,
        "fix": d.fixes,
    })
}

/// True when `outcome` failed because the server rejected (401) the request.
pub fn was_unauthorized(outcome: &Outcome) -> bool {
    matches!(
        &outcome.failure,
        Some(Failure::Upstream {
            error: UpstreamError::Status { status: 401, .. },
            ..
        })
    )
}
