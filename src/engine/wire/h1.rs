//! One HTTP/1.1 connection, written and read in place by the task of the request it carries:
//! the request goes out in one write, the response head is parsed with `httparse`, and the body's
//! framing (`Content-Length`, `chunked`, or until the server closes) is taken off in the
//! connection's own read buffer, so each data slice reaches the SSE parser without a copy, a
//! channel or a second task. One socket read is one wake-up of one task; the chunks that arrived
//! in it share one timestamp (docs/benchmarks.md, "Per-chunk cost", says what this saves).
//!
//! The pool's rules (what may be reused, what is sent again) live in `http.rs`; this module only
//! speaks the protocol, and says how a response failed so that the pool can tell a connection the
//! server had closed before it read the request from a server that failed.

use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::arrival::{Peer, Socket};

/// The largest read buffer of a connection: a response head must fit in it, and so must a
/// chunk-size line.
pub const READ_BUFFER: usize = 16 * 1024;
/// A connection's read buffer to begin with; it doubles, up to [`READ_BUFFER`], when a head, a
/// chunk-size line or a trailer line does not fit (2,000 token streams then hold 8 MB of buffers, not 32; a
/// 4 KiB read still takes a dozen chunks at once from a server that sends faster than it).
const FIRST_BUFFER: usize = 4 * 1024;
/// Headers a response may have.
const MAX_HEADERS: usize = 128;

/// The byte stream under a connection: plain TCP or TLS over it.
pub enum Io {
    Plain(Socket),
    Tls(Box<tokio_rustls::client::TlsStream<Socket>>),
}

impl Io {
    /// When the bytes of the socket's last read arrived (wall clock, Unix ns), if the kernel
    /// said (`arrival.rs`). Under TLS, the last read of the encrypted stream.
    pub fn arrived_unix_ns(&self) -> Option<u64> {
        self.socket().arrived_unix_ns()
    }

    /// The TCP socket under it.
    fn socket(&self) -> &Socket {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How an exchange on a connection failed.
#[derive(Debug)]
pub enum WireError {
    /// Writing or reading failed.
    Io(std::io::Error),
    /// The server closed the connection before the response (or its body) was complete.
    Closed,
    /// The server sent something that is not HTTP/1.1.
    Malformed(String),
}

impl WireError {
    /// Whether the failure is the way a connection the server had already closed fails:
    /// closed, reset, a broken pipe (the pool sends such a request again when it got no byte back).
    pub fn like_closed(&self) -> bool {
        use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
        match self {
            WireError::Closed => true,
            WireError::Io(e) => matches!(
                e.kind(),
                BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof
            ),
            WireError::Malformed(_) => false,
        }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "{e}"),
            WireError::Closed => write!(f, "the server closed the connection"),
            WireError::Malformed(why) => write!(f, "not a valid HTTP/1.1 response: {why}"),
        }
    }
}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> Self {
        WireError::Io(e)
    }
}

/// A response's status line and headers.
pub struct Head {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// An HTTP/1.0 response: the connection is kept only when it says `keep-alive`.
    pub http10: bool,
}

/// A connection and its read buffer (`buf[start..end]` is read but not yet taken).
pub struct Wire {
    io: Io,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Bytes read from the server since the connection opened.
    pub read_total: u64,
}

/// Builds a request: the head and the body, to go out in one write.
pub fn request(
    method: &hyper::Method,
    authority: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, String> {
    target
        .parse::<hyper::http::uri::PathAndQuery>()
        .map_err(|e| format!("invalid request path '{target}': {e}"))?;
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (k, v) in headers {
        // A header the workload gives is checked as hyper would: no line breaks smuggled in.
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("invalid request: header name '{k}'"))?;
        HeaderValue::from_str(v).map_err(|_| format!("invalid request: value of header '{k}'"))?;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || method == hyper::Method::POST {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

impl Wire {
    pub fn new(io: Io) -> Wire {
        Wire {
            io,
            buf: vec![0; FIRST_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            read_total: 0,
        }
    }

    /// Writes a whole request. On failure, also says how many of its bytes the connection took
    /// before it failed (0: the server had reset it before the write, so it read none). Under
    /// TLS, a request that rustls buffered but whose bytes never reached the socket counts 0
    /// too: what counts is what the kernel took.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), (WireError, usize)> {
        let before = self.io.socket().written();
        let mut taken = 0;
        let result = async {
            while taken < bytes.len() {
                match self.io.write(&bytes[taken..]).await {
                    Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                    Ok(n) => taken += n,
                    Err(e) => return Err(e),
                }
            }
            self.io.flush().await
        }
        .await;
        result.map_err(|e| {
            let reached = self.io.socket().written() > before;
            (e.into(), if reached { taken } else { 0 })
        })
    }

    /// Whether an idle connection still looks open: the server has not closed it, reset it or
    /// sent anything unasked since its last response. Does not wait. The socket is asked
    /// directly (`Socket::peer`), so a close that the reactor has not reported yet is seen;
    /// under TLS, bytes waiting may be a session ticket, which the TLS layer takes unasked.
    pub fn looks_open(&mut self) -> bool {
        if self.start != self.end {
            return false;
        }
        let tls = match &self.io {
            Io::Plain(s) => return s.peer() == Peer::Quiet,
            Io::Tls(s) => s.get_ref().0.peer(),
        };
        if tls == Peer::Closed {
            return false;
        }
        let mut probe = [0u8; 1];
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut buf = ReadBuf::new(&mut probe);
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }

    /// When the bytes of the socket's last read arrived (wall clock, Unix ns), if the kernel
    /// said.
    pub fn arrived_unix_ns(&self) -> Option<u64> {
        self.io.arrived_unix_ns()
    }

    /// The bytes read and not yet taken.
    pub fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` bytes of [`Wire::unread`] taken.
    pub fn take(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Reads more bytes after what the buffer holds; 0 at the end of the stream.
    pub async fn read_more(&mut self) -> Result<usize, WireError> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.buf.len() && !self.grow() {
            return Err(WireError::Malformed(format!(
                "a response head or chunk header over {READ_BUFFER} bytes"
            )));
        }
        let n = self.io.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        self.read_total += n as u64;
        Ok(n)
    }

    /// Doubles the read buffer, up to [`READ_BUFFER`]; false when it is that large already.
    fn grow(&mut self) -> bool {
        if self.buf.len() >= READ_BUFFER {
            return false;
        }
        let mut bigger = vec![0; (self.buf.len() * 2).min(READ_BUFFER)].into_boxed_slice();
        bigger[..self.end].copy_from_slice(&self.buf[..self.end]);
        self.buf = bigger;
        true
    }

    /// Reads a response head; informational (1xx) responses before it are skipped.
    pub async fn read_head(&mut self) -> Result<Head, WireError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf[self.start..self.end]) {
                Ok(httparse::Status::Complete(len)) => {
                    let code = parsed.code.unwrap_or(0);
                    let status = StatusCode::from_u16(code)
                        .map_err(|_| WireError::Malformed(format!("status {code}")))?;
                    let http10 = parsed.version == Some(0);
                    let mut map = HeaderMap::with_capacity(parsed.headers.len());
                    for h in parsed.headers.iter() {
                        let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(h.name.as_bytes()),
                            HeaderValue::from_bytes(h.value),
                        ) else {
                            return Err(WireError::Malformed(format!("header '{}'", h.name)));
                        };
                        map.append(name, value);
                    }
                    self.start += len;
                    if status.is_informational() {
                        continue;
                    }
                    return Ok(Head {
                        status,
                        headers: map,
                        http10,
                    });
                }
                Ok(httparse::Status::Partial) => {
                    if self.read_more().await? == 0 {
                        return Err(WireError::Closed);
                    }
                }
                Err(e) => return Err(WireError::Malformed(e.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_with_a_line_break_is_refused() {
        let bad = request(
            &hyper::Method::POST,
            "h",
            "/v1",
            &[("x-a", "1\r\nx-b: 2")],
            b"{}",
        );
        assert!(bad.is_err());
        let good = request(&hyper::Method::POST, "h", "/v1", &[("x-a", "1")], b"{}")
            .expect("a plain header");
        assert_eq!(
            good,
            b"POST /v1 HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ncontent-length: 2\r\n\r\n{}"
        );
    }
}
