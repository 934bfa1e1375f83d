//! Telling a lost session from any other refusal. The spec says a stale `Mcp-Session-Id` gets
//! 404, but servers built on the TypeScript SDK's session example answer 400 ("No valid
//! session ID provided"); a 400 can also mean a bad protocol version or a batch, which a new
//! session would not cure, so the body decides.

use crate::error::UpstreamError;
use serde::Deserialize;

#[derive(Deserialize)]
struct Message {
    message: Option<String>,
}

/// True when `err`, the answer to a request that carried a session id, means the session is
/// gone: a 404, or a 400 whose body is not a JSON-RPC error, or is one about the session.
pub(super) fn session_lost(err: &UpstreamError) -> bool {
    match err {
        UpstreamError::Status { status: 404, .. } => true,
        UpstreamError::Status {
            status: 400, rpc, ..
        } => match rpc {
            None => true,
            Some(rpc) => serde_json::from_slice::<Message>(&rpc.error)
                .ok()
                .and_then(|m| m.message)
                .is_some_and(|m| m.to_ascii_lowercase().contains("session")),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::era::errors::RpcError;

    fn status(status: u16, body: &str) -> UpstreamError {
        UpstreamError::Status {
            status,
            origin: "http://h".into(),
            detail: String::new(),
            rpc: RpcError::parse(&bytes::Bytes::from(body.to_owned())),
        }
    }

    #[test]
    fn what_counts_as_a_lost_session() {
        let sdk = r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}"#;
        assert!(session_lost(&status(400, sdk)));
        assert!(session_lost(&status(
            400,
            "Bad Request: Missing session ID"
        )));
        assert!(session_lost(&status(400, "")));
        assert!(session_lost(&status(404, "Session not found")));
        let version = r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: Unsupported protocol version"},"id":null}"#;
        assert!(!session_lost(&status(400, version)));
        assert!(!session_lost(&status(405, "")));
        assert!(!session_lost(&status(500, "")));
    }
}
