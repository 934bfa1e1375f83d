//! A Server-Sent Events decoder over `reqwest`'s `bytes_stream()`, with a hard limit on the
//! size of one event.
//!
//! Written here rather than taken from `eventsource-stream` or `sse-stream` because neither
//! bounds line or event size: a hostile server sending an endless line must cost an error,
//! not memory. It follows the WHATWG parsing rules (CR, LF or CRLF line ends, `:` comments,
//! `data` lines joined with `\n`, a single leading space removed from values).

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// One dispatched event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event` field; `None` means the default type, `message`.
    pub event: Option<String>,
    /// The `data` lines joined with `\n`; may be empty (priming events).
    pub data: String,
    /// The `id` field, if this event set one.
    pub id: Option<String>,
    /// The `retry` field in milliseconds, if valid.
    pub retry: Option<u64>,
}

/// Why a stream could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SseError {
    /// An event or line grew past the limit.
    #[error(
        "an event stream line or event is larger than the {} MiB message limit (--max-message-mib)",
        limit_mib(*.limit)
    )]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Event text that is not UTF-8.
    #[error("an event stream line is not UTF-8")]
    NotUtf8,
    /// The connection failed mid-stream.
    #[error("the event stream broke: {0}")]
    Body(String),
}

/// A limit in MiB for messages, rounded up so that a small limit never reads as 0.
fn limit_mib(limit: usize) -> usize {
    limit.div_ceil(1 << 20)
}

/// Incremental decoder: feed bytes, take events.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    limit: usize,
    /// A `\r` ended the previous chunk, so a leading `\n` belongs to it.
    after_cr: bool,
    /// How much of `buf` is known to hold no line end: a line that arrives in many small
    /// chunks is scanned once, not once per chunk (which would be quadratic).
    scanned: usize,
    pending: Event,
    pending_size: usize,
    /// A `data` line was seen in the pending event (its first line may be empty).
    has_data: bool,
}

impl Decoder {
    /// A decoder that refuses events (and lines) over `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Decoder {
            buf: BytesMut::new(),
            limit,
            after_cr: false,
            scanned: 0,
            pending: Event::default(),
            pending_size: 0,
            has_data: false,
        }
    }

    /// Adds bytes and returns every event they complete.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<Vec<Event>, SseError> {
        let mut events = Vec::new();
        if chunk.is_empty() {
            // Must not forget a pending `\r`: an empty chunk between `\r` and `\n` would
            // otherwise make that one line end two, and dispatch an event early (found by
            // fuzzing).
            return Ok(events);
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        self.buf.extend_from_slice(chunk);
        while let Some(end) = self.line_end() {
            let line = self.buf.split_to(end).freeze();
            let cr = self.buf[0] == b'\r';
            self.buf.advance(1);
            if cr {
                if self.buf.is_empty() {
                    self.after_cr = true;
                } else if self.buf[0] == b'\n' {
                    self.buf.advance(1);
                }
            }
            if let Some(event) = self.line(line)? {
                events.push(event);
            }
        }
        self.scanned = self.buf.len();
        if self.buf.len() > self.limit {
            return Err(SseError::TooLarge { limit: self.limit });
        }
        Ok(events)
    }

    /// Where the first line end in `buf` is, looking only at bytes not scanned before.
    fn line_end(&mut self) -> Option<usize> {
        let from = std::mem::take(&mut self.scanned).min(self.buf.len());
        self.buf[from..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map(|i| from + i)
    }

    fn line(&mut self, line: Bytes) -> Result<Option<Event>, SseError> {
        if line.is_empty() {
            self.pending_size = 0;
            self.has_data = false;
            let event = std::mem::take(&mut self.pending);
            let has_content = !event.data.is_empty() || event.id.is_some() || event.event.is_some();
            return Ok(has_content.then_some(event));
        }
        // Comments (keep-alive pings) are not kept, so they do not count toward the event.
        if line[0] == b':' {
            return Ok(None);
        }
        self.pending_size += line.len();
        if self.pending_size > self.limit {
            return Err(SseError::TooLarge { limit: self.limit });
        }
        let text = std::str::from_utf8(&line).map_err(|_| SseError::NotUtf8)?;
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.pending.id = Some(value.to_string()),
            "retry" => self.pending.retry = value.parse().ok(),
            _ => {}
        }
        Ok(None)
    }
}

/// Decodes a response body into events; the stream ends after the first error.
pub fn events<S, E>(body: S, limit: usize) -> impl Stream<Item = Result<Event, SseError>>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let state = (
        body,
        Decoder::new(limit),
        std::collections::VecDeque::new(),
        false,
    );
    futures_util::stream::unfold(
        state,
        |(mut body, mut dec, mut queue, mut done)| async move {
            loop {
                if let Some(ev) = queue.pop_front() {
                    return Some((Ok(ev), (body, dec, queue, done)));
                }
                if done {
                    return None;
                }
                match body.next().await {
                    None => return None,
                    Some(Err(e)) => {
                        done = true;
                        return Some((
                            Err(SseError::Body(e.to_string())),
                            (body, dec, queue, done),
                        ));
                    }
                    Some(Ok(chunk)) => match dec.push(&chunk) {
                        Ok(evs) => queue.extend(evs),
                        Err(e) => {
                            done = true;
                            return Some((Err(e), (body, dec, queue, done)));
                        }
                    },
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<Event> {
        let mut dec = Decoder::new(1024);
        input
            .chunks(piece)
            .flat_map(|c| dec.push(c).unwrap())
            .collect()
    }

    #[test]
    fn crlf_streams_split_anywhere() {
        let input = b"event: endpoint\r\ndata: /messages/?session_id=1\r\n\r\n: ping - 2025\r\n\r\ndata: {\"a\":1}\r\n\r\n";
        for piece in 1..input.len() {
            let got = decode_in_pieces(input, piece);
            assert_eq!(got.len(), 2, "piece size {piece}");
            assert_eq!(got[0].event.as_deref(), Some("endpoint"));
            assert_eq!(got[0].data, "/messages/?session_id=1");
            assert_eq!(got[1].data, "{\"a\":1}");
        }
    }

    #[test]
    fn multi_line_data_ids_and_retry() {
        let got = decode_in_pieces(
            b"id: 7\nretry: 1500\ndata: a\ndata:b\n\nid: 8\ndata\n\n",
            64,
        );
        assert_eq!(got[0].data, "a\nb");
        assert_eq!(
            (got[0].id.as_deref(), got[0].retry),
            (Some("7"), Some(1500))
        );
        assert_eq!(
            (got[1].id.as_deref(), got[1].data.as_str()),
            (Some("8"), "")
        );
    }

    #[test]
    fn priming_event_keeps_its_id() {
        let got = decode_in_pieces(b"id: abc\ndata: \n\n", 64);
        assert_eq!(
            got,
            vec![Event {
                id: Some("abc".into()),
                ..Event::default()
            }]
        );
    }

    #[test]
    fn empty_chunk_between_cr_and_lf_is_one_line_end() {
        let mut dec = Decoder::new(64);
        let mut got = Vec::new();
        for chunk in [&b"data: a\r"[..], b"", b"\n", b"data: b\r", b"", b"\n\n"] {
            got.extend(dec.push(chunk).unwrap());
        }
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].data, "a\nb");
    }

    #[test]
    fn endless_line_is_an_error() {
        let mut dec = Decoder::new(16);
        assert!(dec.push(b"data: 0123456789").is_ok());
        assert!(matches!(
            dec.push(b"0123456789"),
            Err(SseError::TooLarge { limit: 16 })
        ));
    }

    #[test]
    fn many_lines_in_one_event_are_bounded() {
        let mut dec = Decoder::new(16);
        assert!(dec.push(b"data: 0123456\ndata: 0123456\n").is_err());
    }
}
