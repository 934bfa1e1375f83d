//! What counts as a literal secret in a profile or a client entry: a credential-like header
//! with no reference, a token-shaped word, a URL or proxy URL with credentials in it.

use super::HINT;
use crate::credentials::reference::{Part, Template};
use reqwest::header::HeaderName;

/// Header names whose value is a credential: a literal one is refused.
const SENSITIVE_NAMES: &[&str] = &[
    "auth",
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "cookie",
    "credential",
    "session",
    "signature",
];

/// Prefixes of well-known token formats, refused wherever they appear literally.
const TOKEN_PREFIXES: &[&str] = &[
    "eyJ",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "sk-",
    "AKIA",
    "ATATT",
    "ya29.",
];

/// Why this header would put a secret into the file, if it would. The rule: a value with no
/// reference at all under a credential-like header name (Authorization, X-Api-Key,
/// X-Jira-Token…), or a literal word anywhere that has the shape of a known token format.
pub fn literal_secret(name: &HeaderName, template: &Template) -> Option<String> {
    let lower = name.as_str().to_ascii_lowercase();
    if template.refs().next().is_none() && SENSITIVE_NAMES.iter().any(|w| lower.contains(w)) {
        return Some(format!(
            "{name} carries a credential but its value is a literal; write a reference such as \"${{keychain:NAME}}\""
        ));
    }
    let literal_token = template.0.iter().any(|p| match p {
        Part::Literal(text) => text.split_whitespace().any(looks_like_token),
        Part::Ref(_) => false,
    });
    literal_token.then(|| format!("the value of {name} contains what looks like a literal token"))
}

fn looks_like_token(word: &str) -> bool {
    word.len() >= 16 && TOKEN_PREFIXES.iter().any(|p| word.starts_with(p))
}

/// A URL with a user, password or credential-like query parameter would put a secret here.
pub fn check_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("credentials in the URL are refused. {HINT}"));
    }
    if let Some((k, _)) = url.query_pairs().find(|(k, _)| {
        let k = k.to_ascii_lowercase();
        SENSITIVE_NAMES.iter().any(|w| k.contains(w))
    }) {
        return Err(format!(
            "the query parameter {k:?} looks like a credential; send it as a header with a reference instead. {HINT}"
        ));
    }
    Ok(())
}

/// A proxy URL here must not carry a password: that goes in HTTPS_PROXY instead.
pub(super) fn check_proxy(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "proxy credentials in the config file are refused; set HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT in the environment instead".into(),
        );
    }
    Ok(())
}
