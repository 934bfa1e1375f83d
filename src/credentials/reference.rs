//! The credential reference grammar: `scheme:rest` for `--bearer`, and header value templates
//! with `${scheme:rest}` (or `${VAR}`, short for `${env:VAR}`) inside.

use std::fmt;
use std::path::PathBuf;

/// Where a secret comes from. Its `Display` is the reference as the user wrote it, which is
/// safe to show: it names the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `env:VAR`
    Env(String),
    /// `keychain:NAME`: OS keychain, service `mcp-keybridge`, account `NAME`.
    Keychain(String),
    /// `cmd:COMMAND`: trimmed stdout of a command the user configured.
    Cmd(String),
    /// `file:PATH`: the first line of a file.
    File(PathBuf),
}

/// A reference that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// No `scheme:` prefix.
    #[error(
        "credential reference {0:?} has no scheme; write env:VAR, keychain:NAME, cmd:COMMAND or file:PATH"
    )]
    NoScheme(String),
    /// A scheme the bridge does not know.
    #[error("unknown credential scheme {0:?}; use env:, keychain:, cmd: or file:")]
    UnknownScheme(String),
    /// `env:` or another scheme with nothing after it.
    #[error("credential reference {0:?} names nothing after the scheme")]
    Empty(String),
    /// `${` without a closing `}` in a header value.
    #[error("header value has an unclosed \"${{\"")]
    Unclosed,
}

impl SecretRef {
    /// Parses `scheme:rest`.
    pub fn parse(text: &str) -> Result<Self, RefError> {
        let (scheme, rest) = text
            .split_once(':')
            .ok_or_else(|| RefError::NoScheme(redact_hint(text)))?;
        if rest.trim().is_empty() {
            return Err(RefError::Empty(format!("{scheme}:")));
        }
        Ok(match scheme {
            "env" => SecretRef::Env(rest.to_string()),
            "keychain" => SecretRef::Keychain(rest.to_string()),
            "cmd" => SecretRef::Cmd(rest.to_string()),
            "file" => SecretRef::File(PathBuf::from(rest)),
            other => return Err(RefError::UnknownScheme(redact_hint(other))),
        })
    }
}

/// A mistyped reference may be a pasted token: show only its start.
fn redact_hint(text: &str) -> String {
    if text.len() <= 12 {
        text.to_string()
    } else {
        let head: String = text.chars().take(6).collect();
        format!("{head}…")
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(v) => write!(f, "env:{v}"),
            SecretRef::Keychain(n) => write!(f, "keychain:{n}"),
            SecretRef::Cmd(c) => write!(f, "cmd:{c}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// One piece of a header value template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text taken as written.
    Literal(String),
    /// A secret to resolve.
    Ref(SecretRef),
}

/// A header value such as `Bearer ${keychain:jira}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Part>);

impl Template {
    /// Parses `${…}` references out of a header value; `$$` is not special.
    pub fn parse(text: &str) -> Result<Self, RefError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or(RefError::Unclosed)?;
            let inner = &after[..end];
            let reference = if inner.contains(':') {
                SecretRef::parse(inner)?
            } else if inner.trim().is_empty() {
                // `${ }` names no variable, just as `env: ` does (found by fuzzing).
                return Err(RefError::Empty("${}".into()));
            } else {
                SecretRef::Env(inner.to_string())
            };
            parts.push(Part::Ref(reference));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template(parts))
    }

    /// A template that is the secret alone (`--bearer REF` gives `Bearer ` + this).
    pub fn bearer(reference: SecretRef) -> Self {
        Template(vec![Part::Literal("Bearer ".into()), Part::Ref(reference)])
    }

    /// The references in this template, in order.
    pub fn refs(&self) -> impl Iterator<Item = &SecretRef> {
        self.0.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Literal(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        assert_eq!(
            SecretRef::parse("env:TOKEN"),
            Ok(SecretRef::Env("TOKEN".into()))
        );
        assert_eq!(
            SecretRef::parse("keychain:jira"),
            Ok(SecretRef::Keychain("jira".into()))
        );
        assert_eq!(
            SecretRef::parse("cmd:op read op://x/y"),
            Ok(SecretRef::Cmd("op read op://x/y".into()))
        );
        assert_eq!(
            SecretRef::parse("file:/run/secrets/t"),
            Ok(SecretRef::File("/run/secrets/t".into()))
        );
        assert_eq!(SecretRef::parse("file:/a").unwrap().to_string(), "file:/a");
    }

    #[test]
    fn rejects_bad_references_without_echoing_tokens() {
        assert!(matches!(
            SecretRef::parse("vault:x"),
            Err(RefError::UnknownScheme(_))
        ));
        assert!(matches!(SecretRef::parse("env:"), Err(RefError::Empty(_))));
        let err = SecretRef::parse("ghp_abcdefghijklmnopqrstuvwxyz")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("abcdefghijkl"), "{err}");
    }

    #[test]
    fn templates() {
        let t = Template::parse("Token ${env:A}-${B} end").unwrap();
        assert_eq!(
            t.0,
            vec![
                Part::Literal("Token ".into()),
                Part::Ref(SecretRef::Env("A".into())),
                Part::Literal("-".into()),
                Part::Ref(SecretRef::Env("B".into())),
                Part::Literal(" end".into()),
            ]
        );
        assert_eq!(Template::parse("${keychain:j}").unwrap().refs().count(), 1);
        assert_eq!(Template::parse("${env:A"), Err(RefError::Unclosed));
        assert!(Template::parse("${nope:x}").is_err());
        for blank in ["${}", "${ }", "${\n}", "a ${\t} b"] {
            assert_eq!(
                Template::parse(blank),
                Err(RefError::Empty("${}".into())),
                "{blank:?}"
            );
        }
    }
}
