//! `mcp-keybridge check`: the doctor. Connects exactly as the bridge would (same options,
//! credentials and transports), runs `initialize` and `tools/list`, closes the session and
//! reports what worked, how long it took, and on failure the likely cause and the command
//! that fixes it. `--demo` does the same against a built-in loopback server.

mod demo;
mod diagnosis;
mod probe;
mod report;

use crate::cli::{CheckArgs, RunArgs};
use crate::config;
use crate::exit::{Exit, ExitCode};
use diagnosis::{Context, Diagnosis};
use probe::Outcome;

/// Runs `check`; returns the exit code.
pub async fn run(args: CheckArgs) -> Exit {
    if args.demo {
        return demo::run(args.json, args.verbose).await;
    }
    let cfg = match config::resolve(&args.run, &|k| std::env::var(k).ok()) {
        Ok(cfg) => cfg,
        Err(e) => {
            let d = diagnosis::of_config(&e);
            let message = e.to_string();
            if args.json {
                println!("{}", report::json_config(&message, &d));
            } else {
                print!("{}", report::human_config(&message, &d));
            }
            return e.exit();
        }
    };
    // Named on stderr (stdout may be --json): a typo in another profile does not stop this one.
    for note in &cfg.profile_notes {
        eprintln!("note: another profile cannot be used: {note}");
    }
    let outcome = probe::run(&cfg).await;
    let diagnosis = diagnose(&outcome, &args.run);
    if args.json {
        println!("{}", report::json(&outcome, diagnosis.as_ref()));
    } else {
        print!(
            "{}",
            report::human(&outcome, diagnosis.as_ref(), args.verbose)
        );
    }
    Exit::ok_if(diagnosis.is_none())
}

/// The diagnosis of a failed check, in terms of the options it ran with.
fn diagnose(outcome: &Outcome, run: &RunArgs) -> Option<Diagnosis> {
    let failure = outcome.failure.as_ref()?;
    Some(diagnosis::of_failure(failure, &context(outcome, run)))
}

/// What a suggested command should repeat: the URL and the options that name credentials
/// (--profile, --bearer), never a header value.
fn context(outcome: &Outcome, run: &RunArgs) -> Context {
    let mut opts = Vec::new();
    if let Some(p) = &run.profile {
        opts.push(format!("--profile {p}"));
    }
    if let Some(b) = &run.bearer {
        opts.push(format!("--bearer {b}"));
    }
    if !run.headers.is_empty() {
        opts.push("-H …".into());
    }
    Context {
        refs: outcome
            .credentials
            .iter()
            .flat_map(|c| c.sources.iter().cloned())
            .collect(),
        requested: Some(outcome.requested),
        url: run
            .url
            .as_ref()
            .map_or_else(String::new, |_| outcome.url.clone()),
        opts: opts.join(" "),
    }
}
