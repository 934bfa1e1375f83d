//! `mcp-keybridge login URL` and `logout URL`: signing in to an OAuth-protected server
//! ahead of time from a terminal (headless machines print the URL and wait), and revoking
//! and removing what sign-in stored. Also the OAuth line of `auth status`. Nothing here
//! prints a token.

use crate::cli::RunArgs;
use crate::config;
use crate::exit::{Exit, ExitCode};
use crate::oauth::{OAuth, OAuthError, OAuthOptions, canonical_server_url, tokens};
use url::Url;

/// `login`: returns the exit code.
pub async fn login(args: RunArgs) -> Exit {
    let (cfg, mut opts) = match setup(&args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    // The address the browser ended on may be pasted on stdin (a browser on another machine).
    opts.paste_callback = true;
    let oauth = match OAuth::new(&cfg.url, opts, cfg.connect_timeout, &cfg.network) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let tried = oauth.tried();
    match oauth.login().await {
        Ok(t) => {
            println!(
                "Signed in to {} ({}).\nStored in the OS keychain as oauth:{}; the bridge uses it from its next request.",
                oauth.key(),
                t.summary(),
                oauth.key()
            );
            Exit::Ok
        }
        Err(e) => {
            let code = fail(&e);
            let advice = e.advice(tried);
            if !advice.is_empty() {
                eprintln!("{advice}");
            }
            code
        }
    }
}

/// `logout`: returns the exit code (1 when a token may still be valid at the server).
pub async fn logout(args: RunArgs, forget_client: bool) -> Exit {
    let (cfg, opts) = match setup(&args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let key = canonical_server_url(&cfg.url);
    let http = match crate::oauth::http_client(cfg.connect_timeout, &cfg.network) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    match crate::oauth::logout::logout(&http, &key, &opts, forget_client).await {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            Exit::ok_if(report.clean)
        }
        Err(e) => fail(&e),
    }
}

/// The `OAuth:` line of `auth status` for `url`: shown when something is stored, or when
/// `--oauth` asks for it. Expiry and scopes, never a token.
pub async fn status_line(url: &Url, asked: bool) {
    let key = canonical_server_url(url);
    match tokens::load(&key).await {
        Ok(Some(stored)) => match &stored.tokens {
            Some(t) => println!("OAuth (keychain oauth:{key}): signed in, {}", t.summary()),
            None => println!(
                "OAuth (keychain oauth:{key}): registered, not signed in; run `mcp-keybridge login {key}`"
            ),
        },
        Ok(None) if asked => {
            println!("OAuth: not signed in to {key}; run `mcp-keybridge login {key}`")
        }
        Ok(None) => {}
        Err(e) if asked => println!("OAuth: NOT USABLE: {e}"),
        Err(e) => tracing::debug!("no OAuth entry readable: {e}"),
    }
}

/// The server URL and the OAuth options, or the exit code of a usage error.
fn setup(args: &RunArgs) -> Result<(config::RunConfig, OAuthOptions), Exit> {
    let cfg = config::resolve(args, &|k| std::env::var(k).ok()).map_err(|e| {
        eprintln!("mcp-keybridge: {e}");
        e.exit()
    })?;
    let opts = OAuthOptions::from_args(&cfg.oauth).map_err(|e| fail(&e))?;
    Ok((cfg, opts))
}

/// Shows `e` and returns its exit code.
fn fail(e: &OAuthError) -> Exit {
    eprintln!("mcp-keybridge: {e}");
    e.exit()
}
