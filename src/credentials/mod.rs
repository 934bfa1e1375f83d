//! The credentials the bridge attaches to every upstream request: which headers, where each
//! value comes from, and the resolved values, cached in memory and re-read when the server
//! rejects them (so a rotated token is picked up without a restart).

pub mod reference;
pub mod sources;

use crate::secret::Secret;
use reference::{Part, SecretRef, Template};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use sources::SourceError;
use std::sync::{Arc, RwLock};

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

/// The resolved headers and a counter that goes up each time they change.
struct Resolved {
    generation: u64,
    headers: Arc<HeaderMap>,
}

/// The headers attached to every upstream request, re-resolvable at run time.
pub struct Credentials {
    specs: Vec<HeaderSpec>,
    current: RwLock<Resolved>,
    /// Serialises re-resolution so that concurrent 401s cause one, not one each.
    refreshing: tokio::sync::Mutex<()>,
}

impl Credentials {
    /// Resolves every source once; fails on the first one that cannot be read.
    pub async fn resolve(specs: Vec<HeaderSpec>) -> Result<Self, CredentialError> {
        let headers = render_all(&specs).await?;
        Ok(Credentials {
            specs,
            current: RwLock::new(Resolved {
                generation: 0,
                headers: Arc::new(headers),
            }),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// The current headers and their generation (pass it back to [`Credentials::refresh`]).
    pub fn headers(&self) -> (u64, Arc<HeaderMap>) {
        let cur = self.current.read().unwrap_or_else(|e| e.into_inner());
        (cur.generation, cur.headers.clone())
    }

    /// After the server rejected headers of `generation`: re-reads every source once and
    /// reports whether the values changed (worth one retry). Requests that fail together
    /// share one re-read.
    pub async fn refresh(&self, generation: u64) -> bool {
        let _guard = self.refreshing.lock().await;
        if self.headers().0 != generation {
            return true;
        }
        let fresh = match render_all(&self.specs).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("re-reading credentials failed: {e}");
                return false;
            }
        };
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        if same_values(&cur.headers, &fresh) {
            return false;
        }
        tracing::info!("credentials changed at their source; using the new values");
        cur.generation += 1;
        cur.headers = Arc::new(fresh);
        true
    }

    /// True when no credential is configured.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Names the headers and their sources (never values), e.g. `Authorization from env:T`.
    pub fn describe(&self) -> String {
        if self.specs.is_empty() {
            return "no credentials".into();
        }
        let parts: Vec<String> = self.specs.iter().map(describe_spec).collect();
        parts.join(", ")
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

async fn render_all(specs: &[HeaderSpec]) -> Result<HeaderMap, CredentialError> {
    let mut map = HeaderMap::new();
    for spec in specs {
        let value = render(spec).await?;
        map.append(spec.name.clone(), value);
    }
    Ok(map)
}

/// Builds one header value, marked sensitive so that `http` never prints it.
pub async fn render(spec: &HeaderSpec) -> Result<HeaderValue, CredentialError> {
    let mut buf = String::new();
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
