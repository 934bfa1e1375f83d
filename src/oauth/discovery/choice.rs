//! Which of the resource's `authorization_servers` to sign in at: the first listed (MCP
//! leaves the choice to the client), or the one `--authorization-server` names, which must be
//! listed: signing in at a server the resource does not trust would only yield tokens it
//! rejects, and a typo must not send the user's credentials elsewhere.

use super::super::OAuthError;

/// The issuer to use among `listed` (as written there, for exact comparisons later).
pub fn choose(
    listed: &[String],
    wanted: Option<&str>,
    metadata: &str,
) -> Result<String, OAuthError> {
    let Some(wanted) = wanted else {
        return listed.first().cloned().ok_or_else(|| {
            OAuthError::Discovery(format!("{metadata} lists no authorization_servers"))
        });
    };
    // The person typed it: a trailing slash or the case of the host do not make it another
    // choice (the listed spelling is the one used from here on).
    let same = |a: &str, b: &str| match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let norm = |s: &str| s.trim_end_matches('/').to_string();
    listed
        .iter()
        .find(|l| l.as_str() == wanted || same(&norm(l), &norm(wanted)))
        .cloned()
        .ok_or_else(|| {
            let choices = if listed.is_empty() {
                "none".to_string()
            } else {
                listed.join(", ")
            };
            OAuthError::Options(format!(
                "--authorization-server {wanted} is not one of the authorization servers the server's metadata ({metadata}) lists: {choices}; pass one of those"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_first_or_the_one_named() {
        let listed = vec![
            "https://a.example".to_string(),
            "https://b.example/tenant".to_string(),
        ];
        assert_eq!(choose(&listed, None, "m").unwrap(), "https://a.example");
        assert_eq!(
            choose(&listed, Some("https://B.example/tenant/"), "m").unwrap(),
            "https://b.example/tenant"
        );
        let err = choose(&listed, Some("https://c.example"), "m")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("https://a.example, https://b.example/tenant"),
            "{err}"
        );
        assert!(matches!(
            choose(&[], None, "m"),
            Err(OAuthError::Discovery(_))
        ));
    }
}
