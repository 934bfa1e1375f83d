//! TLS for the corporate-network tests: a throwaway CA (rcgen) that signs server
//! certificates — valid, for another name, or expired — and a TLS front that terminates TLS
//! with one of them and relays the plain bytes to a [`super::TestServer`].

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{
    self,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// Which server certificate to present.
#[derive(Clone, Copy, Debug)]
pub enum ServerCert {
    /// Valid now, for `127.0.0.1` and `localhost`.
    Valid,
    /// Valid now, but only for `other.example`.
    OtherName,
    /// For `127.0.0.1`, but expired in 2021.
    Expired,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "mcp-keybridge test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("self-signed CA"),
        }
    }

    /// Writes the CA certificate (PEM) into `dir` and returns its path.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, self.issuer.pem()).expect("write CA pem");
        path
    }

    /// A server certificate signed by this CA, with its key.
    pub fn server_cert(
        &self,
        kind: ServerCert,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let names = match kind {
            ServerCert::OtherName => vec!["other.example".to_string()],
            _ => vec![
                "127.0.0.1".to_string(),
                "localhost".to_string(),
                super::proxy::PROXIED_HOST.to_string(),
            ],
        };
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "mcp-keybridge test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if let ServerCert::Expired = kind {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        let key_der = PrivatePkcs8KeyDer::from(key.serialize_der());
        (
            vec![cert.der().clone(), self.issuer.der().clone()],
            PrivateKeyDer::Pkcs8(key_der),
        )
    }
}

/// A TLS listener in front of a plain test server. Dropping it stops accepting.
pub struct TlsFront {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Listens on 127.0.0.1, presents `cert` and relays every connection to `backend`.
    pub async fn start(
        backend: SocketAddr,
        cert: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
    ) -> TlsFront {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(cert.0, cert.1)
            .expect("server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind TLS");
        let addr = listener.local_addr().expect("TLS addr");
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake is what some tests are about: just drop it.
                    if let Ok(mut tls) = acceptor.accept(tcp).await
                        && let Ok(mut plain) = TcpStream::connect(backend).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        TlsFront { addr, task }
    }

    /// `https://127.0.0.1:PORT<path>`
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
