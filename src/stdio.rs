//! The client side of the bridge: newline-delimited JSON-RPC on stdin, one writer for stdout.
//!
//! stdout carries nothing but MCP messages, one whole line each; every other output of the
//! bridge goes to the log (stderr or a file).

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How many messages may wait for stdout before producers wait: a slow reader applies
/// backpressure instead of growing memory.
const OUT_QUEUE: usize = 256;

/// One unit read from stdin.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A line of valid UTF-8, without its `\n` or `\r\n`; never blank.
    Line(Bytes),
    /// A line longer than the limit; it was read and thrown away.
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Splits a byte stream into lines, holding at most `max` bytes of one line in memory.
pub struct LineReader<R> {
    inner: R,
    max: usize,
    line: BytesMut,
    overflow: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads lines from `inner`; longer lines than `max` bytes become [`Frame::TooLong`].
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            max,
            line: BytesMut::new(),
            overflow: false,
        }
    }

    /// The next frame, or `None` at end of input. A last line without `\n` still counts.
    pub async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        loop {
            let buf = self.inner.fill_buf().await?;
            if buf.is_empty() {
                if self.line.is_empty() && !self.overflow {
                    return Ok(None);
                }
                if let Some(frame) = self.finish_line() {
                    return Ok(Some(frame));
                }
                continue;
            }
            let (chunk, newline) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            if !self.overflow {
                if self.line.len() + chunk.len() > self.max {
                    self.overflow = true;
                    self.line = BytesMut::new();
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(newline);
            self.inner.consume(used);
            if newline && let Some(frame) = self.finish_line() {
                return Ok(Some(frame));
            }
        }
    }

    /// Ends the current line; blank lines give nothing.
    fn finish_line(&mut self) -> Option<Frame> {
        if std::mem::take(&mut self.overflow) {
            return Some(Frame::TooLong);
        }
        let mut line = self.line.split().freeze();
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(match std::str::from_utf8(&line) {
            Ok(_) => Frame::Line(line),
            Err(_) => Frame::NotUtf8,
        })
    }
}

/// The single stdout writer: each message is written whole, followed by `\n`. An empty
/// message means "flush and stop" (real messages are never empty).
pub fn spawn_writer<W>(out: W) -> (mpsc::Sender<Bytes>, JoinHandle<std::io::Result<()>>)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Bytes>(OUT_QUEUE);
    let task = tokio::spawn(async move {
        let mut out = BufWriter::new(out);
        while let Some(msg) = rx.recv().await {
            if msg.is_empty() {
                break;
            }
            write_line(&mut out, &msg).await?;
            // Batch what is already queued, flush once the queue is drained.
            while let Ok(more) = rx.try_recv() {
                if more.is_empty() {
                    return out.flush().await;
                }
                write_line(&mut out, &more).await?;
            }
            out.flush().await?;
        }
        out.flush().await
    });
    (tx, task)
}

async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, msg: &[u8]) -> std::io::Result<()> {
    out.write_all(msg).await?;
    out.write_all(b"\n").await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        // A tiny buffer makes lines cross buffer boundaries.
        let reader = tokio::io::BufReader::with_capacity(3, input);
        let mut lines = LineReader::new(reader, max);
        let mut out = Vec::new();
        while let Some(f) = lines.next_frame().await.unwrap() {
            out.push(f);
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[tokio::test]
    async fn splits_lines_and_strips_cr() {
        let got = frames(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 100).await;
        assert_eq!(
            got,
            vec![line("{\"a\":1}"), line("{\"b\":2}"), line("{\"c\":3}")]
        );
    }

    #[tokio::test]
    async fn long_lines_are_dropped_and_reading_goes_on() {
        let got = frames(b"0123456789abc\nok\n0123456789abc", 10).await;
        assert_eq!(got, vec![Frame::TooLong, line("ok"), Frame::TooLong]);
    }

    #[tokio::test]
    async fn invalid_utf8_is_reported() {
        let got = frames(b"\xff\xfe\nok\n", 10).await;
        assert_eq!(got, vec![Frame::NotUtf8, line("ok")]);
    }

    #[tokio::test]
    async fn writer_writes_whole_lines() {
        let (client, mut server) = tokio::io::duplex(64);
        let (tx, task) = spawn_writer(client);
        tx.send(Bytes::from_static(b"{\"x\":1}")).await.unwrap();
        tx.send(Bytes::from_static(b"{\"y\":2}")).await.unwrap();
        drop(tx);
        task.await.unwrap().unwrap();
        let mut got = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut server, &mut got)
            .await
            .unwrap();
        assert_eq!(got, "{\"x\":1}\n{\"y\":2}\n");
    }
}
