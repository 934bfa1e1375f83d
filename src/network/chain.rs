//! Telling failures apart by the types in an error's source chain, never by its wording
//! (which changes between crate versions and operating systems), and the DNS resolver that
//! makes a failed lookup recognisable: hyper-util reports it through a private type, and
//! std's getaddrinfo error has no stable `io::ErrorKind`.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::error::Error;
use std::net::ToSocketAddrs;

/// Every error in `err`'s chain, `err` first, including the error each `io::Error` wraps:
/// an io::Error's `source()` skips it (hyper wraps rustls's io::Error in another one).
pub fn layers<'a>(
    err: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let mut stack = vec![err];
    std::iter::from_fn(move || {
        let e = stack.pop()?;
        if let Some(next) = e.source() {
            stack.push(next);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            stack.push(inner);
        }
        Some(e)
    })
}

/// The first error of type `T` in `err`'s chain.
pub fn find<'a, T: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a T> {
    layers(err).find_map(|e| e.downcast_ref::<T>())
}

/// Whether an `io::Error` of `kind` is in `err`'s chain.
pub fn has_io_kind(err: &(dyn Error + 'static), kind: std::io::ErrorKind) -> bool {
    layers(err).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

/// Why a connection could not be made, as far as the advice differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProblem {
    /// Nothing listens at the address (or a firewall rejects it).
    Refused,
    /// The host name does not resolve.
    Dns,
    /// The port answered, but not with TLS (a plain HTTP server behind an https:// URL).
    NotTls,
    /// Anything else: unreachable network, reset, a proxy tunnel refused…
    Other,
}

impl ConnectProblem {
    /// The problem `err` (a connect failure) is.
    pub fn of(err: &(dyn Error + 'static)) -> ConnectProblem {
        if matches!(
            find::<rustls::Error>(err),
            Some(rustls::Error::InvalidMessage(_))
        ) {
            ConnectProblem::NotTls
        } else if find::<LookupFailed>(err).is_some() {
            ConnectProblem::Dns
        } else if has_io_kind(err, std::io::ErrorKind::ConnectionRefused) {
            ConnectProblem::Refused
        } else {
            ConnectProblem::Other
        }
    }
}

/// A host name lookup that failed; wraps the resolver's own error, which stays the deepest
/// cause (so the text shown is the system's, as before).
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve the host name")]
pub struct LookupFailed(#[source] std::io::Error);

/// The system resolver (getaddrinfo on a blocking thread), exactly as reqwest's default one,
/// with a failure marked as [`LookupFailed`].
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = tokio::task::spawn_blocking(move || (host.as_str(), 0).to_socket_addrs());
            let result = lookup
                .await
                .unwrap_or_else(|e| Err(std::io::Error::new(std::io::ErrorKind::Interrupted, e)));
            match result {
                Ok(addrs) => Ok(Box::new(addrs) as Addrs),
                Err(e) => Err(Box::new(LookupFailed(e)) as _),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn finds_causes_through_io_errors_and_sources() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(ConnectProblem::of(&refused), ConnectProblem::Refused);
        // As hyper hands it over: an io::Error inside another one.
        let wrapped = io::Error::other(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(ConnectProblem::of(&wrapped), ConnectProblem::Refused);
        let lookup = LookupFailed(io::Error::other("failed to lookup address information"));
        assert_eq!(ConnectProblem::of(&lookup), ConnectProblem::Dns);
        // The lookup's own text stays the deepest cause.
        let deepest = layers(&lookup).last().unwrap().to_string();
        assert_eq!(deepest, "failed to lookup address information");
        let not_tls = io::Error::other(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert_eq!(ConnectProblem::of(&not_tls), ConnectProblem::NotTls);
        // Words alone mean nothing.
        let words = io::Error::other("dns lookup refused: corrupt message");
        assert_eq!(ConnectProblem::of(&words), ConnectProblem::Other);
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_dns_problem() {
        // RFC 6761: `.invalid` never resolves; a real reqwest error through the resolver.
        let client = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(SystemResolver))
            .no_proxy()
            .build()
            .unwrap();
        let err = client
            .get("http://no-such-host.invalid/")
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!(ConnectProblem::of(&err), ConnectProblem::Dns, "{err:?}");
    }

    #[tokio::test]
    async fn nothing_listening_is_refused() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(ConnectProblem::of(&err), ConnectProblem::Refused, "{err:?}");
    }
}
