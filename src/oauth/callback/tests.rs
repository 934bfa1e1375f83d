//! Unit tests of the loopback callback: which requests it takes, the `iss` check, where it
//! listens, the timeout.

use super::*;

async fn get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn expect(iss_required: bool) -> Expect {
    Expect {
        state: Secret::new("st4te".into()),
        issuer: "https://as.example".into(),
        iss_required,
    }
}

#[tokio::test]
async fn takes_the_right_callback_only() {
    let cb = Callback::bind(0).await.unwrap();
    let port = cb.port;
    assert_eq!(
        cb.redirect_uri(),
        format!("http://127.0.0.1:{port}/callback")
    );
    let waiter = tokio::spawn(cb.wait(expect(false), Duration::from_secs(10), false));
    assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
    assert!(
        get(port, "/callback?code=x&state=wrong")
            .await
            .starts_with("HTTP/1.1 400")
    );
    let page = get(
        port,
        "/callback?code=c0de&state=st4te&iss=https%3A%2F%2Fas.example",
    )
    .await;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("Signed in"),
        "{page}"
    );
    assert_eq!(waiter.await.unwrap().unwrap().expose(), "c0de");
}

#[tokio::test]
async fn refuses_a_wrong_or_missing_iss() {
    let cb = Callback::bind(0).await.unwrap();
    let port = cb.port;
    let waiter = tokio::spawn(cb.wait(expect(false), Duration::from_secs(10), false));
    get(
        port,
        "/callback?code=c&state=st4te&iss=https%3A%2F%2Fevil.example",
    )
    .await;
    assert!(
        waiter
            .await
            .unwrap()
            .unwrap_err()
            .to_string()
            .contains("RFC 9207")
    );

    // A normalisation-equivalent variant is a different issuer too.
    let cb = Callback::bind(0).await.unwrap();
    let port = cb.port;
    let waiter = tokio::spawn(cb.wait(expect(false), Duration::from_secs(10), false));
    get(
        port,
        "/callback?code=c&state=st4te&iss=https%3A%2F%2Fas.example%2F",
    )
    .await;
    assert!(
        waiter
            .await
            .unwrap()
            .unwrap_err()
            .to_string()
            .contains("RFC 9207")
    );

    let cb = Callback::bind(0).await.unwrap();
    let port = cb.port;
    let waiter = tokio::spawn(cb.wait(expect(true), Duration::from_secs(10), false));
    get(port, "/callback?code=c&state=st4te").await;
    assert!(
        waiter
            .await
            .unwrap()
            .unwrap_err()
            .to_string()
            .contains("no `iss`")
    );
}

#[tokio::test]
async fn listens_where_the_redirect_uri_says() {
    let cb = Callback::bind_on(CallbackHost::Localhost, 0).await.unwrap();
    let port = cb.port;
    assert_eq!(
        cb.redirect_uri(),
        format!("http://localhost:{port}/callback")
    );
    let waiter = tokio::spawn(cb.wait(expect(false), Duration::from_secs(10), false));
    // Whichever address the browser resolves localhost to.
    let mut s = TcpStream::connect(("localhost", port)).await.unwrap();
    s.write_all(b"GET /callback?code=c0de&state=st4te HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(waiter.await.unwrap().unwrap().expose(), "c0de");
    assert_eq!(
        redirect_uri(CallbackHost::Ipv6, 8976),
        "http://[::1]:8976/callback"
    );
}

#[tokio::test]
async fn times_out() {
    let cb = Callback::bind(0).await.unwrap();
    let err = cb
        .wait(expect(false), Duration::from_millis(50), false)
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::Timeout(_, false)));
}
