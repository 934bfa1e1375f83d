//! The bridge command: wires credentials, the HTTP client, the router, the transports and the
//! stdio pump together, and maps how it ended to an exit code (`exit.rs`).

use crate::config::RunConfig;
use crate::credentials::Credentials;
use crate::exit::{Exit, ExitCode};
use crate::network::client_build_error;
use crate::oauth::{OAuth, OAuthError, OAuthOptions};
use crate::relay::Relay;
use crate::router::Router;
use crate::stdio;
use crate::transport::{Upstream, http::Http};
use std::sync::Arc;

/// Runs the bridge on this process's stdin and stdout; returns the exit code.
pub async fn run(cfg: RunConfig) -> Exit {
    // A source that cannot be read now does not end the bridge: the client would show only
    // "Connection closed". Each request re-reads it and, until it can be read, is answered
    // with an error that names it and the fix.
    let creds = Arc::new(Credentials::resolve_or_defer(cfg.headers.clone()).await);
    if let Some(problem) = creds.problem() {
        eprintln!(
            "mcp-keybridge: cannot read the credentials: {problem}. {} Every request is answered with this error until then.",
            crate::credentials::advice::unreadable(&problem)
        );
    }
    tracing::info!(
        "relaying to {} with {}",
        cfg.url.origin().ascii_serialization(),
        creds.describe()
    );
    for note in &cfg.profile_notes {
        tracing::warn!("another profile cannot be used: {note}");
    }
    if cfg.tool_filter.is_active() {
        tracing::info!("tool filter: {}", cfg.tool_filter.describe());
    }
    let http = match Http::for_config(&cfg, creds.clone()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "mcp-keybridge: cannot set up the HTTP client: {}",
                client_build_error(&e)
            );
            return Exit::Failure;
        }
    };
    // After the main client, whose set-up error (no CA certificates, say) explains more.
    let http = match oauth_source(&cfg) {
        Ok(Some(o)) => Arc::new(http.with_oauth(o)),
        Ok(None) => Arc::new(http),
        Err(e) => {
            eprintln!("mcp-keybridge: {e}");
            return e.exit();
        }
    };
    let (out, writer) = stdio::spawn_writer(tokio::io::stdout());
    let router = Arc::new(
        Router::new(out.clone(), creds.describe(), !creds.is_empty())
            .normalising(!cfg.strict)
            .with_input_timeout(cfg.input_timeout)
            .filtering_tools(cfg.tool_filter.clone()),
    );
    let upstream = Arc::new(Upstream::new(
        cfg.transport,
        cfg.protocol,
        http,
        cfg.url.clone(),
        router.clone(),
        cfg.connect_timeout,
    ));
    let stdin = tokio::io::BufReader::with_capacity(64 * 1024, tokio::io::stdin());
    let stop = Relay::new(
        stdin,
        cfg.max_message,
        router,
        upstream,
        cfg.request_timeout,
    )
    .run()
    .await;
    // An empty message tells the writer to flush and stop; nothing else is ever empty.
    let _ = out.send(bytes::Bytes::new()).await;
    match writer.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("stdout: {e}"),
        Err(e) => tracing::debug!("stdout writer: {e}"),
    }
    tracing::debug!("stopped: {stop:?}");
    Exit::Ok
}

/// OAuth sign-in as a credential source, when `--oauth` is given or no Authorization
/// credential is configured (it then waits for the server's first 401 Bearer challenge).
fn oauth_source(cfg: &RunConfig) -> Result<Option<Arc<OAuth>>, OAuthError> {
    let opts = OAuthOptions::from_args(&cfg.oauth)?;
    let has_authorization = cfg
        .headers
        .iter()
        .any(|h| h.name == reqwest::header::AUTHORIZATION);
    if has_authorization && !opts.forced {
        return Ok(None);
    }
    let oauth = OAuth::new(&cfg.url, opts, cfg.connect_timeout, &cfg.network)?;
    tracing::info!(
        "OAuth sign-in {} (tokens in the keychain as oauth:{})",
        if oauth.forced() {
            "from the first request"
        } else {
            "when the server asks for it"
        },
        oauth.key()
    );
    Ok(Some(Arc::new(oauth)))
}
