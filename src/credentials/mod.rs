//! The credentials the bridge attaches to every upstream request: which headers, where each
//! value comes from, and the resolved values, cached in memory and re-read when the server
//! rejects them (so a rotated token is picked up without a restart) and, for a JWT, shortly
//! before it expires.

pub mod jwt;
pub mod reference;
mod refresh;
pub mod sources;

use crate::secret::Secret;
use reference::{Part, SecretRef, Template};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use sources::SourceError;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use tokio::sync::Notify;

/// One header to send, and the template its value is built from.
#[derive(Debug, Clone)]
pub struct HeaderSpec {
    /// The header name, e.g. `Authorization` or `X-Jira-Token`.
    pub name: HeaderName,
    /// Its value, e.g. `Bearer ${keychain:jira}`.
    pub template: Template,
}

/// Why the credentials could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A source could not be read.
    #[error("{header}: {source}")]
    Source {
        /// The header that needs it.
        header: HeaderName,
        /// What failed.
        #[source]
        source: SourceError,
    },
    /// The resolved value cannot go into an HTTP header.
    #[error(
        "{header}: the value from {from} has characters an HTTP header cannot carry (a newline?)"
    )]
    BadValue {
        /// The header.
        header: HeaderName,
        /// The sources it was built from.
        from: String,
    },
}

/// The resolved headers, a counter that goes up each time they change, and when the
/// earliest JWT among the secrets expires (the proactive re-read aims just before it).
struct Resolved {
    generation: u64,
    headers: Arc<HeaderMap>,
    expires: Option<SystemTime>,
}

/// The headers attached to every upstream request, re-resolvable at run time.
pub struct Credentials {
    inner: Arc<Inner>,
    /// Re-reads the sources before a JWT expires; stopped when the credentials are dropped.
    refresher: Option<tokio::task::JoinHandle<()>>,
}

/// What the refresher task shares with the request path.
struct Inner {
    specs: Vec<HeaderSpec>,
    current: RwLock<Resolved>,
    /// Serialises re-resolution so that concurrent 401s cause one, not one each.
    refreshing: tokio::sync::Mutex<()>,
    /// Woken whenever the values change, so the refresher re-aims at the new expiry.
    changed: Notify,
}

impl Credentials {
    /// Resolves every source once; fails on the first one that cannot be read. When there
    /// are credentials, starts the task that re-reads them before a JWT among them expires.
    pub async fn resolve(specs: Vec<HeaderSpec>) -> Result<Self, CredentialError> {
        let (headers, expires) = render_all(&specs).await?;
        let inner = Arc::new(Inner {
            specs,
            current: RwLock::new(Resolved {
                generation: 0,
                headers: Arc::new(headers),
                expires,
            }),
            refreshing: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
        });
        let refresher =
            (!inner.specs.is_empty()).then(|| tokio::spawn(refresh::run(inner.clone())));
        Ok(Credentials { inner, refresher })
    }

    /// The current headers and their generation (pass it back to [`Credentials::refresh`]).
    pub fn headers(&self) -> (u64, Arc<HeaderMap>) {
        self.inner.headers()
    }

    /// After the server rejected headers of `generation`: re-reads every source once and
    /// reports whether the values changed (worth one retry). Requests that fail together
    /// share one re-read.
    pub async fn refresh(&self, generation: u64) -> bool {
        let _guard = self.inner.refreshing.lock().await;
        if self.headers().0 != generation {
            return true;
        }
        self.inner.reread().await
    }

    /// True when no credential is configured.
    pub fn is_empty(&self) -> bool {
        self.inner.specs.is_empty()
    }

    /// Names the headers and their sources (never values), e.g. `Authorization from env:T`.
    pub fn describe(&self) -> String {
        if self.inner.specs.is_empty() {
            return "no credentials".into();
        }
        let parts: Vec<String> = self.inner.specs.iter().map(describe_spec).collect();
        parts.join(", ")
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        if let Some(task) = &self.refresher {
            task.abort();
        }
    }
}

impl Inner {
    fn headers(&self) -> (u64, Arc<HeaderMap>) {
        let cur = self.current.read().unwrap_or_else(|e| e.into_inner());
        (cur.generation, cur.headers.clone())
    }

    fn expires(&self) -> Option<SystemTime> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .expires
    }

    /// Re-reads every source; true when a value changed (the generation then goes up).
    /// Callers hold `refreshing`.
    async fn reread(&self) -> bool {
        let (fresh, expires) = match render_all(&self.specs).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("re-reading credentials failed: {e}");
                return false;
            }
        };
        {
            let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
            if same_values(&cur.headers, &fresh) {
                return false;
            }
            cur.generation += 1;
            cur.headers = Arc::new(fresh);
            cur.expires = expires;
        }
        tracing::info!("credentials changed at their source; using the new values");
        self.changed.notify_waiters();
        true
    }
}

/// `Authorization from env:T`, or `X-Static (literal)` for a header with no reference.
pub fn describe_spec(spec: &HeaderSpec) -> String {
    let refs: Vec<String> = spec.template.refs().map(SecretRef::to_string).collect();
    if refs.is_empty() {
        format!("{} (literal)", spec.name)
    } else {
        format!("{} from {}", spec.name, refs.join(" + "))
    }
}

fn same_values(a: &HeaderMap, b: &HeaderMap) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get_all(k).iter().any(|w| w == v))
}

/// Every header, and the earliest JWT expiry among the secrets that went into them.
async fn render_all(
    specs: &[HeaderSpec],
) -> Result<(HeaderMap, Option<SystemTime>), CredentialError> {
    let mut map = HeaderMap::new();
    let mut expires: Option<SystemTime> = None;
    for spec in specs {
        let (value, exp) = render(spec).await?;
        map.append(spec.name.clone(), value);
        expires = match (expires, exp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok((map, expires))
}

/// Builds one header value, marked sensitive so that `http` never prints it, and finds the
/// earliest JWT `exp` among its secrets.
async fn render(spec: &HeaderSpec) -> Result<(HeaderValue, Option<SystemTime>), CredentialError> {
    let mut buf = String::new();
    let mut expires: Option<SystemTime> = None;
    for part in &spec.template.0 {
        match part {
            Part::Literal(s) => buf.push_str(s),
            Part::Ref(r) => {
                let secret = sources::read(r)
                    .await
                    .map_err(|source| CredentialError::Source {
                        header: spec.name.clone(),
                        source,
                    })?;
                buf.push_str(secret.expose());
                if let Some(exp) = jwt::expiry(secret.expose()) {
                    expires = Some(expires.map_or(exp, |e| e.min(exp)));
                }
            }
        }
    }
    // Held as a Secret so the joined value is wiped when dropped.
    let text = Secret::new(buf);
    let mut value =
        HeaderValue::from_str(text.expose()).map_err(|_| CredentialError::BadValue {
            header: spec.name.clone(),
            from: spec
                .template
                .refs()
                .map(SecretRef::to_string)
                .collect::<Vec<_>>()
                .join(" + "),
        })?;
    value.set_sensitive(true);
    Ok((value, expires))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::{Duration, UNIX_EPOCH};

    fn file_spec(path: &std::path::Path) -> HeaderSpec {
        HeaderSpec {
            name: reqwest::header::AUTHORIZATION,
            template: Template::bearer(SecretRef::File(path.to_path_buf())),
        }
    }

    fn temp_file(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mkb-creds-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("token")
    }

    fn jwt_expiring_in(secs: u64, sub: &str) -> String {
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + secs;
        jwt::test_token(&format!(r#"{{"sub":"{sub}","exp":{exp}}}"#))
    }

    #[tokio::test]
    async fn refresh_reports_changes_once() {
        let path = temp_file("refresh");
        std::fs::write(&path, "one\n").unwrap();
        let creds = Credentials::resolve(vec![file_spec(&path)]).await.unwrap();
        let (generation, headers) = creds.headers();
        assert_eq!(headers.get("authorization").unwrap(), "Bearer one");
        assert!(!creds.refresh(generation).await, "nothing changed");
        std::fs::write(&path, "two\n").unwrap();
        assert!(creds.refresh(generation).await);
        // A second request rejected with the old generation retries without another read.
        std::fs::write(&path, "three\n").unwrap();
        assert!(creds.refresh(generation).await);
        let (g2, headers) = creds.headers();
        assert_eq!(g2, 1);
        assert_eq!(headers.get("authorization").unwrap(), "Bearer two");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn rereads_before_a_jwt_expires() {
        let path = temp_file("proactive");
        // Due LEAD before exp, i.e. about a second from now.
        let first = jwt_expiring_in(refresh::LEAD.as_secs() + 1, "first");
        std::fs::write(&path, &first).unwrap();
        let creds = Credentials::resolve(vec![file_spec(&path)]).await.unwrap();
        assert!(creds.inner.expires().is_some());
        let second = jwt_expiring_in(3600, "second");
        std::fs::write(&path, &second).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while creds.headers().0 == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no proactive re-read"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, headers) = creds.headers();
        assert_eq!(
            headers.get("authorization").unwrap(),
            format!("Bearer {second}").as_str()
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn no_expiry_no_rereads() {
        let path = temp_file("plain");
        std::fs::write(&path, "opaque-token").unwrap();
        let creds = Credentials::resolve(vec![file_spec(&path)]).await.unwrap();
        assert_eq!(creds.inner.expires(), None);
        std::fs::write(&path, "other").unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(creds.headers().0, 0, "only a 401 re-reads an opaque token");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
