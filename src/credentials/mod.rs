//! The credentials the bridge attaches to every upstream request: which headers, where each
//! value comes from, and the resolved values, cached in memory and re-read when the server
//! rejects them (so a rotated token is picked up without a restart) and, for a JWT, shortly
//! before it expires. A source that cannot be read when the bridge starts does not stop it:
//! every request re-reads it until it can be (see [`Credentials::resolve_or_defer`]).

pub mod advice;
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
    #[error("{header} from {reference}: {source}")]
    Source {
        /// The header that needs it.
        header: HeaderName,
        /// The source, as configured (`env:VAR`, `keychain:NAME`…).
        reference: String,
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
    /// Each source whose secret is a JWT with `exp`, and that expiry (for messages).
    expiries: Vec<(SecretRef, SystemTime)>,
    /// Why the sources could not be read; `headers` is empty meanwhile.
    problem: Option<Arc<CredentialError>>,
}

/// What [`render_all`] produces.
struct Rendered {
    headers: HeaderMap,
    expiries: Vec<(SecretRef, SystemTime)>,
}

impl Rendered {
    fn earliest(&self) -> Option<SystemTime> {
        self.expiries.iter().map(|(_, e)| *e).min()
    }
}

/// The headers attached to every upstream request, re-resolvable at run time.
pub struct Credentials {
    cache: Arc<HeaderCache>,
    /// Re-reads the sources before a JWT expires; stopped when the credentials are dropped.
    refresher: Option<tokio::task::JoinHandle<()>>,
}

/// The header specs and their resolved values, shared by the request path and the refresher
/// task.
struct HeaderCache {
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
        let rendered = render_all(&specs).await?;
        Ok(Self::start(specs, Ok(rendered)))
    }

    /// Like [`Credentials::resolve`], but a source that cannot be read is kept as the
    /// problem every request reports (see [`Credentials::ensure`]) instead of an error: the
    /// bridge stays up, and the client can show why.
    pub async fn resolve_or_defer(specs: Vec<HeaderSpec>) -> Self {
        let rendered = render_all(&specs).await;
        Self::start(specs, rendered)
    }

    fn start(specs: Vec<HeaderSpec>, rendered: Result<Rendered, CredentialError>) -> Self {
        let current = match rendered {
            Ok(r) => Resolved {
                generation: 0,
                expires: r.earliest(),
                headers: Arc::new(r.headers),
                expiries: r.expiries,
                problem: None,
            },
            Err(e) => Resolved {
                generation: 0,
                expires: None,
                headers: Arc::default(),
                expiries: Vec::new(),
                problem: Some(Arc::new(e)),
            },
        };
        let cache = Arc::new(HeaderCache {
            specs,
            current: RwLock::new(current),
            refreshing: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
        });
        let refresher =
            (!cache.specs.is_empty()).then(|| tokio::spawn(refresh::run(cache.clone())));
        Credentials { cache, refresher }
    }

    /// Ok when the headers are usable. While the sources could not be read, each call
    /// re-reads them (concurrent calls share one read) and returns why they still cannot.
    pub async fn ensure(&self) -> Result<(), Arc<CredentialError>> {
        if self.cache.problem().is_none() {
            return Ok(());
        }
        let _guard = self.cache.refreshing.lock().await;
        if self.cache.problem().is_some() {
            self.cache.reread().await;
        }
        match self.cache.problem() {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }

    /// Why the sources could not be read (when they still cannot), without re-reading them.
    pub fn problem(&self) -> Option<Arc<CredentialError>> {
        self.cache.problem()
    }

    /// The sources whose secret is a JWT with `exp`, with that expiry.
    pub fn expiries(&self) -> Vec<(SecretRef, SystemTime)> {
        self.cache.read().expiries.clone()
    }

    /// Every source referenced, in order.
    pub fn refs(&self) -> Vec<SecretRef> {
        let mut refs: Vec<SecretRef> = Vec::new();
        for r in self.cache.specs.iter().flat_map(|s| s.template.refs()) {
            if !refs.contains(r) {
                refs.push(r.clone());
            }
        }
        refs
    }

    /// The current headers and their generation (pass it back to [`Credentials::refresh`]).
    pub fn headers(&self) -> (u64, Arc<HeaderMap>) {
        self.cache.headers()
    }

    /// After the server rejected headers of `generation`: re-reads every source once and
    /// reports whether the values changed (worth one retry). Requests that fail together
    /// share one re-read.
    pub async fn refresh(&self, generation: u64) -> bool {
        let _guard = self.cache.refreshing.lock().await;
        if self.headers().0 != generation {
            return true;
        }
        self.cache.reread().await
    }

    /// True when no credential is configured.
    pub fn is_empty(&self) -> bool {
        self.cache.specs.is_empty()
    }

    /// Names the headers and their sources (never values), e.g. `Authorization from env:T`.
    pub fn describe(&self) -> String {
        if self.cache.specs.is_empty() {
            return "no credentials".into();
        }
        let parts: Vec<String> = self.cache.specs.iter().map(describe_spec).collect();
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

impl HeaderCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Resolved> {
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }

    fn headers(&self) -> (u64, Arc<HeaderMap>) {
        let cur = self.read();
        (cur.generation, cur.headers.clone())
    }

    fn expires(&self) -> Option<SystemTime> {
        self.read().expires
    }

    fn problem(&self) -> Option<Arc<CredentialError>> {
        self.read().problem.clone()
    }

    /// Re-reads every source; true when a value changed (the generation then goes up).
    /// Callers hold `refreshing`.
    async fn reread(&self) -> bool {
        let fresh = match render_all(&self.specs).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("re-reading credentials failed: {e}");
                let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
                if cur.problem.is_some() {
                    // Still unreadable since the start: report the latest reason.
                    cur.problem = Some(Arc::new(e));
                }
                return false;
            }
        };
        {
            let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
            let recovered = cur.problem.take().is_some();
            if !recovered && same_values(&cur.headers, &fresh.headers) {
                return false;
            }
            cur.generation += 1;
            cur.expires = fresh.earliest();
            cur.headers = Arc::new(fresh.headers);
            cur.expiries = fresh.expiries;
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

/// Every header, and the JWT expiries among the secrets that went into them.
async fn render_all(specs: &[HeaderSpec]) -> Result<Rendered, CredentialError> {
    let mut headers = HeaderMap::new();
    let mut expiries = Vec::new();
    for spec in specs {
        let value = render(spec, &mut expiries).await?;
        headers.append(spec.name.clone(), value);
    }
    Ok(Rendered { headers, expiries })
}

/// Builds one header value, marked sensitive so that `http` never prints it, and notes the
/// JWT `exp` of each of its secrets that has one.
async fn render(
    spec: &HeaderSpec,
    expiries: &mut Vec<(SecretRef, SystemTime)>,
) -> Result<HeaderValue, CredentialError> {
    let mut buf = String::new();
    for part in &spec.template.0 {
        match part {
            Part::Literal(s) => buf.push_str(s),
            Part::Ref(r) => {
                let secret = sources::read(r)
                    .await
                    .map_err(|source| CredentialError::Source {
                        header: spec.name.clone(),
                        reference: r.to_string(),
                        source,
                    })?;
                buf.push_str(secret.expose());
                if let Some(exp) = jwt::expiry(secret.expose())
                    && !expiries.iter().any(|(seen, _)| seen == r)
                {
                    expiries.push((r.clone(), exp));
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
    Ok(value)
}

#[cfg(test)]
mod tests;
