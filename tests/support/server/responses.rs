//! The canned HTTP answers of the test server: plain text, JSON, and the two kinds of 401.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// The official Python SDK's 401 (a JSON body plus a Bearer challenge), or FastMCP's
/// (a bare `Bearer` challenge and no body).
pub(super) fn unauthorized(bare: bool) -> Response {
    if bare {
        let mut resp = plain(StatusCode::UNAUTHORIZED, "");
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    let body = r#"{"error":"invalid_token","error_description":"Authentication required"}"#;
    let mut resp = json_response(StatusCode::UNAUTHORIZED, body.to_owned());
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            r#"Bearer error="invalid_token", error_description="Authentication required""#,
        ),
    );
    resp
}

pub(crate) fn plain(status: StatusCode, text: &str) -> Response {
    let mut resp = Response::new(Body::from(text.to_owned()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
