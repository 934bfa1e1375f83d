//! The loopback redirect target: a listener on 127.0.0.1 (or `[::1]`, or both for
//! `localhost`, which a browser may resolve either way) that takes one
//! `GET /callback?code=…&state=…` from the browser, checks `state` and (RFC 9207) `iss`,
//! and answers with a small page. A hand parser for one request line is all it needs.

use super::OAuthError;
use crate::cli::CallbackHost;
use crate::secret::Secret;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Longest request head accepted from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// What the callback must carry to be accepted.
#[derive(Debug)]
pub struct Expect {
    /// The `state` sent in the authorization URL.
    pub state: Secret,
    /// The issuer the `iss` parameter must equal when present.
    pub issuer: String,
    /// The server promised `iss` (`authorization_response_iss_parameter_supported`).
    pub iss_required: bool,
}

/// A bound loopback listener.
pub struct Callback {
    /// One, or for `localhost` the IPv4 one and (where the machine has IPv6) the IPv6 one.
    listeners: Vec<TcpListener>,
    host: CallbackHost,
    port: u16,
}

impl Callback {
    /// Binds 127.0.0.1:`port` (0 picks a free port).
    #[cfg(test)]
    pub async fn bind(port: u16) -> std::io::Result<Self> {
        Self::bind_on(CallbackHost::Ipv4, port).await
    }

    /// Binds `host`:`port` (0 picks a free port); `localhost` listens on 127.0.0.1 and, on
    /// the same port, on ::1 when the machine has it.
    pub async fn bind_on(host: CallbackHost, port: u16) -> std::io::Result<Self> {
        let first = match host {
            CallbackHost::Ipv6 => TcpListener::bind(("::1", port)).await?,
            _ => TcpListener::bind(("127.0.0.1", port)).await?,
        };
        let port = first.local_addr()?.port();
        let mut listeners = vec![first];
        if host == CallbackHost::Localhost {
            match TcpListener::bind(("::1", port)).await {
                Ok(l) => listeners.push(l),
                Err(e) => tracing::debug!("no ::1 listener for localhost: {e}"),
            }
        }
        Ok(Callback {
            listeners,
            host,
            port,
        })
    }

    /// `http://HOST:PORT/callback`.
    pub fn redirect_uri(&self) -> String {
        redirect_uri(self.host, self.port)
    }

    /// Waits for the browser to come back with a code for `expect`; requests with another
    /// path or a wrong `state` are answered and ignored (they are not this sign-in's). With
    /// `paste`, the address the browser ended on may also be pasted on stdin (a browser on
    /// another machine cannot reach this loopback listener).
    pub async fn wait(
        self,
        expect: Expect,
        timeout: Duration,
        paste: bool,
    ) -> Result<Secret, OAuthError> {
        let (tx, mut rx) = mpsc::channel::<Result<Secret, OAuthError>>(1);
        let expect = std::sync::Arc::new(expect);
        if paste {
            tokio::spawn(read_pasted(expect.clone(), tx.clone()));
        }
        let accept = async {
            loop {
                let stream = match accept_any(&self.listeners).await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: try again shortly rather than spin.
                        tracing::debug!("callback accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (tx, expect) = (tx.clone(), expect.clone());
                tokio::spawn(async move {
                    if let Some(outcome) = serve(stream, &expect).await {
                        let _ = tx.send(outcome).await;
                    }
                });
            }
        };
        tokio::select! {
            _ = accept => unreachable!("the accept loop never ends"),
            outcome = rx.recv() => outcome.unwrap_or_else(|| Err(OAuthError::Authorize("callback listener stopped".into()))),
            _ = tokio::time::sleep(timeout) => Err(OAuthError::Timeout(timeout.as_secs(), paste)),
        }
    }
}

/// The redirect URI for `host` and `port`.
pub fn redirect_uri(host: CallbackHost, port: u16) -> String {
    format!("http://{}:{port}/callback", host.uri_host())
}

/// The next connection on any of the (one or two) listeners.
async fn accept_any(
    listeners: &[TcpListener],
) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    match listeners {
        [a, b, ..] => tokio::select! {
            r = a.accept() => r,
            r = b.accept() => r,
        },
        [a] => a.accept().await,
        [] => std::future::pending().await,
    }
}

/// Reads pasted callback addresses from stdin until one belongs to this sign-in.
async fn read_pasted(expect: std::sync::Arc<Expect>, tx: mpsc::Sender<Result<Secret, OAuthError>>) {
    use tokio::io::AsyncBufReadExt;
    eprintln!(
        "If the browser runs on another machine, paste here the address it ended on (http://127.0.0.1:…/callback?code=…):"
    );
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let query = line.trim().split_once('?').map(|(_, q)| q).unwrap_or("");
        match outcome(query, &expect) {
            Some(result) => {
                let _ = tx.send(result).await;
                return;
            }
            None if !line.trim().is_empty() => {
                eprintln!(
                    "That address is not from this sign-in (its state does not match); paste the one from the tab this run opened."
                );
            }
            None => {}
        }
    }
}

/// Answers one connection; `Some` when it was this sign-in's callback.
async fn serve(mut stream: TcpStream, expect: &Expect) -> Option<Result<Secret, OAuthError>> {
    let head = match tokio::time::timeout(Duration::from_secs(10), read_head(&mut stream)).await {
        Ok(Some(h)) => h,
        _ => return None,
    };
    let target = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("GET "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/callback" {
        respond(&mut stream, "404 Not Found", "Not found.").await;
        return None;
    }
    let Some(outcome) = outcome(query, expect) else {
        // Not the request this sign-in started (a stale tab, or a forged link): ignore it.
        respond(
            &mut stream,
            "400 Bad Request",
            "This sign-in link is stale or was not started here; close this tab.",
        )
        .await;
        return None;
    };
    let page = match &outcome {
        Ok(_) => "Signed in. You can close this tab and return to your MCP client.".to_string(),
        Err(e) => format!("Sign-in failed: {e}"),
    };
    let status = if outcome.is_ok() {
        "200 OK"
    } else {
        "400 Bad Request"
    };
    respond(&mut stream, status, &page).await;
    Some(outcome)
}

/// The result of a callback query string; `None` when its `state` is not this sign-in's.
fn outcome(query: &str, expect: &Expect) -> Option<Result<Secret, OAuthError>> {
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if params.get("state").map(String::as_str) != Some(expect.state.expose()) {
        return None;
    }
    Some(check(&params, expect))
}

/// The checks on a callback whose `state` matched.
fn check(params: &HashMap<String, String>, expect: &Expect) -> Result<Secret, OAuthError> {
    if let Some(error) = params.get("error") {
        return Err(OAuthError::Refused {
            error: error.chars().take(100).collect(),
            description: params
                .get("error_description")
                .map(|d| d.chars().take(200).collect()),
        });
    }
    match params.get("iss") {
        // Simple string comparison (RFC 9207 §2.4): `https://as.example/` is not
        // `https://as.example`, however equal the two are as URLs.
        Some(iss) if *iss != expect.issuer => {
            return Err(OAuthError::Authorize(format!(
                "the response names issuer {iss:?}, not {} (RFC 9207 mix-up protection); refusing it",
                expect.issuer
            )));
        }
        None if expect.iss_required => {
            return Err(OAuthError::Authorize(
                "the response has no `iss` although the server promised one (RFC 9207); refusing it"
                    .into(),
            ));
        }
        _ => {}
    }
    params
        .get("code")
        .filter(|c| !c.is_empty())
        .map(|c| Secret::new(c.clone()))
        .ok_or_else(|| OAuthError::Authorize("the response carries no code".into()))
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_HEAD {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mcp-keybridge</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>mcp-keybridge</h1><p>{}</p></body></html>",
        escape(text)
    );
    let reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
