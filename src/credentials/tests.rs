//! The credential cache: re-reads on rejection, before a JWT expires, and at start-up when a
//! source could not be read.

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
    assert!(creds.cache.expires().is_some());
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
    assert_eq!(creds.cache.expires(), None);
    std::fs::write(&path, "other").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(creds.headers().0, 0, "only a 401 re-reads an opaque token");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn an_unreadable_source_at_start_is_retried_on_each_request() {
    let path = temp_file("deferred");
    let _ = std::fs::remove_file(&path);
    let creds = Credentials::resolve_or_defer(vec![file_spec(&path)]).await;
    let err = creds.ensure().await.unwrap_err().to_string();
    assert!(err.contains("cannot read secret file"), "{err}");
    assert!(creds.headers().1.is_empty());
    std::fs::write(&path, "late\n").unwrap();
    creds.ensure().await.unwrap();
    let (generation, headers) = creds.headers();
    assert_eq!(headers.get("authorization").unwrap(), "Bearer late");
    assert_eq!(generation, 1);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}
