//! Server-Sent Events framing and streaming bodies for the test server.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// Fields of one SSE event.
#[derive(Default)]
pub struct Frame<'a> {
    pub event: Option<&'a str>,
    pub id: Option<&'a str>,
    pub retry_ms: Option<u64>,
    pub data: &'a str,
}

/// One event, ended by a blank line. The Python SDK (sse-starlette) ends lines with CRLF.
pub fn frame(f: &Frame<'_>, crlf: bool) -> String {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if let Some(event) = f.event {
        out += &format!("event: {event}{eol}");
    }
    if let Some(id) = f.id {
        out += &format!("id: {id}{eol}");
    }
    if let Some(ms) = f.retry_ms {
        out += &format!("retry: {ms}{eol}");
    }
    out += &format!("data: {}{eol}{eol}", f.data);
    out
}

pub fn event(event: Option<&str>, id: Option<&str>, data: &str, crlf: bool) -> String {
    frame(
        &Frame {
            event,
            id,
            data,
            ..Frame::default()
        },
        crlf,
    )
}

/// A `text/event-stream` 200 whose body is whatever goes into the returned sender; the body
/// ends when every (strong) sender is dropped. With `split_every`, each frame is cut into
/// pieces of that many bytes sent a moment apart, so they reach the client as separate
/// reads: a client must reassemble lines (and UTF-8 characters) across them.
pub fn stream_response(split_every: Option<usize>) -> (mpsc::UnboundedSender<String>, Response) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let body = match split_every {
        None => Body::from_stream(
            UnboundedReceiverStream::new(rx).map(|s| Ok::<_, Infallible>(Bytes::from(s))),
        ),
        Some(n) => {
            let (piece_tx, piece_rx) = mpsc::unbounded_channel::<Bytes>();
            tokio::spawn(split_frames(rx, piece_tx, n.max(1)));
            Body::from_stream(UnboundedReceiverStream::new(piece_rx).map(Ok::<_, Infallible>))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (tx, resp)
}

async fn split_frames(
    mut frames: mpsc::UnboundedReceiver<String>,
    pieces: mpsc::UnboundedSender<Bytes>,
    n: usize,
) {
    while let Some(frame) = frames.recv().await {
        for piece in frame.as_bytes().chunks(n) {
            if pieces.send(Bytes::copy_from_slice(piece)).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Writes `: ping - <t>` comments every `every` while the stream is open. Holds only a weak
/// sender, so that dropping the stream's other senders ends the stream. Counts each in `sent`.
pub fn keep_pinging(
    tx: &mpsc::UnboundedSender<String>,
    every: Duration,
    crlf: bool,
    sent: Arc<AtomicUsize>,
) {
    let eol = if crlf { "\r\n" } else { "\n" };
    let start = Instant::now();
    let weak = tx.downgrade();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(tx) = weak.upgrade() else { break };
            let comment = format!(": ping - {:?}{eol}{eol}", start.elapsed());
            if tx.send(comment).is_err() {
                break;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
    });
}
