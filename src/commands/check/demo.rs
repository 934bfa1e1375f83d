//! `check --demo`: proves an install works with no remote server. Starts the loopback
//! [`DemoServer`] with a bearer token made for this run, hands the token to the check the
//! way a user would (`--bearer file:…`, a private temporary file deleted afterwards), checks
//! both transports through the same options, config and transports as a real check, and
//! confirms the server refuses a request without the token.

use super::probe::{self, Outcome};
use super::report;
use crate::cli::{Cli, RunArgs, TransportArg};
use crate::config;
use crate::demo::{DemoServer, random_hex, tools::TOOL_NAMES};
use crate::exit::Exit;
use crate::secret::Secret;
use clap::Parser;
use serde_json::json;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One demo check and whether it came out as it should.
struct Step {
    title: &'static str,
    outcome: Outcome,
    passed: bool,
    /// The options as typed, and as parsed.
    args: Vec<String>,
    run: RunArgs,
}

/// Everything the demo did.
struct Demo {
    origin: String,
    steps: Vec<Step>,
    token_file_removed: bool,
}

/// Runs the demo; returns the exit code (0 when every step passed).
pub async fn run(json: bool, verbose: bool) -> Exit {
    let demo = match demo().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mcp-keybridge: cannot start the demo server: {e}");
            return Exit::Failure;
        }
    };
    let ok = demo.token_file_removed && demo.steps.iter().all(|s| s.passed);
    if json {
        println!("{}", to_json(&demo, ok));
    } else {
        print!("{}", to_text(&demo, ok, verbose));
    }
    Exit::ok_if(ok)
}

async fn demo() -> std::io::Result<Demo> {
    let token = Secret::new(format!("mkb-demo-{}", random_hex(24)?));
    let server = DemoServer::start(&token).await?;
    let origin = server.origin();
    let token_file = TokenFile::write(&token)?;
    let bearer = format!("file:{}", token_file.path().display());
    let mut steps = Vec::new();

    for (title, path, expected) in [
        ("Streamable HTTP", "/mcp", TransportArg::StreamableHttp),
        ("legacy HTTP+SSE", "/sse", TransportArg::Sse),
    ] {
        let args = vec![format!("{origin}{path}"), "--bearer".into(), bearer.clone()];
        let (run, outcome) = check(&args).await;
        let passed = outcome.failure.is_none()
            && outcome.transport == Some(expected)
            && outcome.tools.as_deref() == Some(&TOOL_NAMES.map(String::from)[..])
            && report::credentials_status(&outcome) == "accepted"
            // The check ends its Streamable HTTP session with DELETE, as the bridge does.
            && server.live_sessions() == 0;
        steps.push(Step {
            title,
            outcome,
            passed,
            args,
            run,
        });
    }

    let refused_before = server.rejected();
    let args = vec![format!("{origin}/mcp")];
    let (run, outcome) = check(&args).await;
    let passed = report::was_unauthorized(&outcome) && server.rejected() > refused_before;
    steps.push(Step {
        title: "without the token (must be refused)",
        outcome,
        passed,
        args,
        run,
    });

    drop(server);
    let path = token_file.path().to_path_buf();
    drop(token_file);
    Ok(Demo {
        origin,
        steps,
        token_file_removed: !path.exists(),
    })
}

/// A check with these command-line options, through the same parsing and configuration as
/// `mcp-keybridge check`, but blind to this process's environment (a user's
/// MCP_KEYBRIDGE_TOKEN must not leak into the no-token step).
async fn check(args: &[String]) -> (RunArgs, Outcome) {
    let argv = ["mcp-keybridge"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned())
        .chain(["--connect-timeout", "5", "--request-timeout", "10"].map(String::from));
    let run = Cli::try_parse_from(argv)
        .expect("the demo's own options parse")
        .run;
    let cfg = config::resolve(&run, &|_| None).expect("the demo's own options are valid");
    (run, probe::run(&cfg).await)
}

fn to_text(demo: &Demo, ok: bool, verbose: bool) -> String {
    let mut out = format!(
        "Demo MCP server on {} (loopback only), requiring a bearer token made for this run;\n\
         the check reads it through --bearer file:<a private temporary file>.\n\n",
        demo.origin
    );
    let total = demo.steps.len();
    for (i, step) in demo.steps.iter().enumerate() {
        let verdict = if step.passed { "passed" } else { "FAILED" };
        let _ = writeln!(out, "[{}/{total}] {}: {verdict}", i + 1, step.title);
        let _ = writeln!(out, "  $ mcp-keybridge check {}", step.args.join(" "));
        let diagnosis = super::diagnose(&step.outcome, &step.run);
        let text = report::human(&step.outcome, diagnosis.as_ref(), verbose);
        for line in text.lines() {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
    }
    let cleanup = if demo.token_file_removed {
        "the token file is deleted; nothing was stored"
    } else {
        "FAILED: the token file could not be deleted"
    };
    let _ = writeln!(out, "cleanup: {cleanup}.\n");
    if ok {
        out.push_str(
            "Demo passed: credential resolution, header injection and both MCP transports work here.\n\
             Next: mcp-keybridge auth set NAME, then\n  \
             mcp-keybridge check https://YOUR-SERVER/mcp --bearer keychain:NAME\n",
        );
    } else {
        out.push_str("Demo FAILED: see the steps above.\n");
    }
    out
}

fn to_json(demo: &Demo, ok: bool) -> serde_json::Value {
    let steps: Vec<_> = demo
        .steps
        .iter()
        .map(|s| {
            let diagnosis = super::diagnose(&s.outcome, &s.run);
            json!({
                "name": s.title,
                "passed": s.passed,
                "args": s.args,
                "report": report::json(&s.outcome, diagnosis.as_ref()),
            })
        })
        .collect();
    json!({
        "ok": ok,
        "demo": true,
        "server": demo.origin,
        "steps": steps,
        "tokenFileRemoved": demo.token_file_removed,
    })
}

/// The token in a file only this user can read, in a fresh private directory; both are
/// deleted when this is dropped.
struct TokenFile {
    dir: PathBuf,
    file: PathBuf,
}

impl TokenFile {
    fn write(token: &Secret) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("mcp-keybridge-demo-{}", random_hex(8)?));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        // Said with the path: "No such file or directory" alone does not say that TMPDIR
        // (or the system temp directory) is what is missing.
        builder.create(&dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create the demo's token directory {}: {e}; set TMPDIR to a writable directory",
                    dir.display()
                ),
            )
        })?;
        let this = TokenFile {
            file: dir.join("token"),
            dir,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&this.file)?
            .write_all(token.expose().as_bytes())?;
        Ok(this)
    }

    fn path(&self) -> &Path {
        &self.file
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
