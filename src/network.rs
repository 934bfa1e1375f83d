//! Corporate networks: which CAs the client trusts (the OS trust store, plus `--ca-cert`
//! files), which proxy it goes through (`--proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` /
//! `NO_PROXY`), what a TLS failure was, and keeping a proxy's password out of every message.

use reqwest::{Certificate, ClientBuilder, Proxy};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

pub mod chain;
pub use chain::ConnectProblem;

/// Trust roots and proxy for the upstream client. The default is the OS trust store and the
/// proxy environment variables.
#[derive(Clone, Default)]
pub struct Network {
    /// CA files added to the OS trust store, with the certificates each holds.
    ca_files: Vec<(PathBuf, Vec<Certificate>)>,
    /// The proxy every request goes through; `None` leaves the choice to the environment.
    proxy: Option<Url>,
}

/// A `--ca-cert` or `--proxy` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The CA file could not be read.
    #[error("--ca-cert {}: cannot read it: {cause}", path.display())]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The CA file holds no PEM certificate.
    #[error(
        "--ca-cert {}: no PEM certificate in it{cause}; pass the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)",
        path.display()
    )]
    NoCert {
        /// The file.
        path: PathBuf,
        /// What the parser said, if anything.
        cause: String,
    },
    /// The proxy URL does not parse or has an unsupported scheme.
    #[error("--proxy {0}: {1}")]
    BadProxy(String, String),
}

impl Network {
    /// Reads every CA file (PEM, one or more certificates each) and checks the proxy URL.
    pub fn load(ca_paths: &[PathBuf], proxy: Option<&str>) -> Result<Self, NetworkError> {
        let mut ca_files = Vec::new();
        for path in ca_paths {
            ca_files.push((path.clone(), read_ca(path)?));
        }
        let proxy = proxy.map(parse_proxy).transpose()?;
        Ok(Network { ca_files, proxy })
    }

    /// The explicit proxy, if one was given.
    pub fn proxy(&self) -> Option<&Url> {
        self.proxy.as_ref()
    }

    /// Adds the extra roots (merged with the OS trust store by the platform verifier) and
    /// the explicit proxy, which replaces the environment's.
    pub fn apply(&self, mut builder: ClientBuilder) -> reqwest::Result<ClientBuilder> {
        // The system resolver, with failed lookups recognisable by type (`ConnectProblem`).
        builder = builder.dns_resolver(Arc::new(chain::SystemResolver));
        let certs: Vec<Certificate> = self
            .ca_files
            .iter()
            .flat_map(|(_, certs)| certs.iter().cloned())
            .collect();
        if !certs.is_empty() {
            builder = builder.tls_certs_merge(certs);
        }
        if let Some(proxy) = &self.proxy {
            tracing::info!("using proxy {}", redact_userinfo(proxy.as_str()));
            builder = builder.proxy(Proxy::all(proxy.as_str())?);
        } else {
            // reqwest reads these itself; say which are set, for a person debugging a network.
            for var in PROXY_VARS {
                if let Some(v) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
                    tracing::info!("{var}={}", redact_userinfo(&v));
                }
            }
        }
        Ok(builder)
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cas: Vec<String> = self
            .ca_files
            .iter()
            .map(|(p, c)| format!("{} ({} certificates)", p.display(), c.len()))
            .collect();
        f.debug_struct("Network")
            .field("ca_files", &cas)
            .field(
                "proxy",
                &self.proxy.as_ref().map(|u| redact_userinfo(u.as_str())),
            )
            .finish()
    }
}

/// The proxy variables reqwest honours (the upper-case ones win).
const PROXY_VARS: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

fn read_ca(path: &Path) -> Result<Vec<Certificate>, NetworkError> {
    let pem = std::fs::read(path).map_err(|e| NetworkError::ReadCa {
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    let no_cert = |cause: String| NetworkError::NoCert {
        path: path.to_path_buf(),
        cause,
    };
    match Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(no_cert(String::new())),
        Err(e) => Err(no_cert(format!(" ({e})"))),
    }
}

fn parse_proxy(raw: &str) -> Result<Url, NetworkError> {
    let bad = |why: &str| NetworkError::BadProxy(redact_userinfo(raw), why.to_string());
    let url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(bad("use an http://host:port URL"));
    }
    if url.host().is_none() {
        return Err(bad("it has no host"));
    }
    Ok(url)
}

/// `scheme://user:pass@host…` → `scheme://***@host…`, wherever a URL appears in `text`: a
/// proxy's credentials never reach a log line or an error message.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Why the HTTP client could not be built, with the cause reqwest's "builder error" hides and
/// what to do about it.
pub fn client_build_error(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        text = format!("{text}: {e}");
        next = e.source();
    }
    match TlsProblem::find(err) {
        Some(p) => format!("{}. {}", redact_userinfo(&text), p.advice()),
        None => redact_userinfo(&text),
    }
}

/// What went wrong in a TLS handshake, as far as a person can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProblem {
    /// The certificate chains to no CA this machine trusts.
    UnknownIssuer,
    /// The certificate is for another host name.
    NameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// This machine has no CA certificates at all (a minimal container).
    NoTrustStore,
    /// Anything else (a protocol error, a revoked or malformed certificate…).
    Other,
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsProblem::UnknownIssuer => {
                "the server's certificate is not signed by a CA this machine trusts (unknown issuer)"
            }
            TlsProblem::NameMismatch => {
                "the server's certificate is not valid for this host name (name mismatch)"
            }
            TlsProblem::Expired => "the server's certificate has expired",
            TlsProblem::NotYetValid => "the server's certificate is not valid yet",
            TlsProblem::NoTrustStore => "this machine has no CA certificates to check it with",
            TlsProblem::Other => "the TLS handshake failed",
        })
    }
}

impl TlsProblem {
    /// What to do about it.
    pub fn advice(self) -> &'static str {
        match self {
            TlsProblem::UnknownIssuer => {
                "If your network uses its own CA (a TLS-inspecting proxy, an internal server), pass that CA's certificate: --ca-cert /path/to/ca.pem (or ca_cert in the profile)."
            }
            TlsProblem::NameMismatch => {
                "Check the URL's host name: the certificate was issued for another name."
            }
            TlsProblem::Expired => {
                "The server's certificate must be renewed by its administrators; check this machine's clock too."
            }
            TlsProblem::NotYetValid => "Check this machine's date and time.",
            TlsProblem::NoTrustStore => {
                "Install the system's CA certificates (e.g. the ca-certificates package), or pass --ca-cert."
            }
            TlsProblem::Other => {
                "Check the URL's host name and the server's certificate (is it signed by a CA this machine trusts? if not, --ca-cert)."
            }
        }
    }

    /// The TLS problem in `err`'s chain, if the failure was a TLS one.
    pub fn find(err: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
        chain::find::<rustls::Error>(err).map(classify)
    }
}

fn classify(err: &rustls::Error) -> TlsProblem {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => TlsProblem::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::NameMismatch,
            C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
            _ => TlsProblem::Other,
        },
        // rustls-platform-verifier's words when the system store is empty.
        rustls::Error::General(m) if m.contains("No CA certificates") => TlsProblem::NoTrustStore,
        _ => TlsProblem::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo_wherever_a_url_appears() {
        assert_eq!(
            redact_userinfo("http://alice:s3cret@proxy:3128"),
            "http://***@proxy:3128"
        );
        assert_eq!(
            redact_userinfo("via http://u:p@a:1/x and https://b/c@d"),
            "via http://***@a:1/x and https://b/c@d"
        );
        assert_eq!(redact_userinfo("no url here"), "no url here");
        assert_eq!(redact_userinfo("http://h:1"), "http://h:1");
    }

    #[test]
    fn bad_ca_files_and_proxies_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("mkb-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let err = Network::load(&[junk], None).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        let err = Network::load(&[dir.join("missing.pem")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read it"), "{err}");
        let err = Network::load(&[], Some("ftp://u:hunter2@p:21"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn classifies_certificate_errors() {
        let wrap = |c| std::io::Error::other(rustls::Error::InvalidCertificate(c));
        let io = wrap(rustls::CertificateError::UnknownIssuer);
        assert_eq!(TlsProblem::find(&io), Some(TlsProblem::UnknownIssuer));
        let io = wrap(rustls::CertificateError::NotValidForName);
        assert_eq!(TlsProblem::find(&io), Some(TlsProblem::NameMismatch));
        let io = wrap(rustls::CertificateError::Expired);
        assert_eq!(TlsProblem::find(&io), Some(TlsProblem::Expired));
        // As hyper hands it over: rustls's io::Error inside another io::Error.
        let nested = std::io::Error::other(wrap(rustls::CertificateError::UnknownIssuer));
        assert_eq!(TlsProblem::find(&nested), Some(TlsProblem::UnknownIssuer));
        let plain = std::io::Error::other("connection refused");
        assert_eq!(TlsProblem::find(&plain), None);
    }
}
