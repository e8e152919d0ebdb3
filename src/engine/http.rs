//! A small HTTP/1.1 client for one server, on hyper's connection API: plain TCP or TLS
//! (rustls, verified against the Mozilla roots), a pool of idle keep-alive connections, and a
//! fixed 16 KiB read buffer per connection, so 2,000 concurrent streams stay cheap in memory.
//!
//! Connections are treated the way real servers treat them (docs/servers.md):
//! - `Connection: close` and `Keep-Alive: timeout=T, max=N` on a response are honoured: such a
//!   connection is not reused past its last request or its idle timeout.
//! - A request written onto a *pooled* connection (pre-opened, or kept from an earlier request)
//!   that the server had already closed — it comes back closed or reset at once, and not one
//!   byte was read from the server since it was written (the stream counts them) — was never
//!   read by the server: it is sent again, once, on a fresh connection. llama.cpp closes after
//!   every streamed response and
//!   uvicorn closes connections idle for 5 s, so without this a pooled client loses requests to
//!   a race that says nothing about the server. A fresh connection that fails is a real failure.
//! - A server that closes connections right after their responses (three found so, in a row,
//!   none kept) gets no more reuse: each request then opens its own connection, and the run says
//!   so. Connections closed for being idle do not count toward it.
//!
//! Nothing else is ever retried: a retry of a request the server saw would change the load.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Read buffer per connection.
const READ_BUFFER: usize = 16 * 1024;
/// A reused connection that fails later than this after the write is not a stale connection
/// (the server read the request and then failed): it is not sent again.
const RESEND_WINDOW: Duration = Duration::from_secs(1);
/// A connection is not reused when less than this is left of the server's keep-alive timeout.
const TIMEOUT_MARGIN: Duration = Duration::from_millis(500);
/// Reused connections found closed in a row, with none kept, before reuse is turned off.
const STALE_STREAK: u32 = 3;
/// A connection idle for less than this was just released after a response: finding it closed
/// then means the server closed it after that response.
const JUST_RELEASED: Duration = Duration::from_secs(1);
/// Connecting, including the TLS handshake, takes at most this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Sender = SendRequest<Full<Bytes>>;

/// A stream that counts the bytes read from it, so a failed send can tell whether the server
/// answered anything at all (only a request that got no byte back is ever sent again).
struct Counted<T> {
    inner: T,
    read: Arc<AtomicU64>,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let got = buf.filled().len() - before;
        if got > 0 {
            self.read.fetch_add(got as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One connection and what the server said about keeping it.
struct Conn {
    sender: Sender,
    /// Bytes read from the server on it so far.
    read: Arc<AtomicU64>,
    /// Responses read on it so far.
    served: u32,
    /// `Keep-Alive: max=` of the last response: requests the server still allows.
    remaining: Option<u32>,
    /// `Keep-Alive: timeout=` of the last response.
    timeout: Option<Duration>,
    /// The last response said `Connection: close`.
    closing: bool,
    idle_since: Instant,
}

impl Conn {
    fn fresh((sender, read): (Sender, Arc<AtomicU64>)) -> Conn {
        Conn {
            sender,
            read,
            served: 0,
            remaining: None,
            timeout: None,
            closing: false,
            idle_since: Instant::now(),
        }
    }

    /// Whether the server's own rules still allow another request on it now.
    fn reusable(&self) -> bool {
        !self.closing
            && self.remaining != Some(0)
            && !self.sender.is_closed()
            && self
                .timeout
                .is_none_or(|t| self.idle_since.elapsed() + TIMEOUT_MARGIN < t)
    }

    /// Reads `Connection` and `Keep-Alive` of a response.
    fn note(&mut self, headers: &hyper::HeaderMap) {
        self.served += 1;
        self.closing = headers
            .get_all(hyper::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("close"));
        if let Some(ka) = headers.get("keep-alive").and_then(|v| v.to_str().ok()) {
            let (timeout, max) = parse_keep_alive(ka);
            self.timeout = timeout.or(self.timeout);
            self.remaining = max.or(self.remaining.map(|m| m.saturating_sub(1)));
        } else if let Some(m) = self.remaining.as_mut() {
            *m = m.saturating_sub(1);
        }
    }
}

/// `timeout=5, max=100` → (5 s, 100).
pub fn parse_keep_alive(v: &str) -> (Option<Duration>, Option<u32>) {
    let (mut timeout, mut max) = (None, None);
    for part in v.split(',') {
        let Some((k, val)) = part.split_once('=') else {
            continue;
        };
        let val = val.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "timeout" => timeout = val.parse::<u64>().ok().map(Duration::from_secs),
            "max" => max = val.parse::<u32>().ok(),
            _ => {}
        }
    }
    (timeout, max)
}

pub struct HttpClient {
    host: String,
    port: u16,
    /// `host:port` as the Host header wants it.
    authority: String,
    /// Path prefix of the base URL (usually empty).
    prefix: String,
    tls: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<Conn>>,
    /// Reused connections found closed since one was last kept.
    stale_streak: AtomicU32,
    /// Set once the server has shown it closes connections after each response.
    no_reuse: AtomicBool,
}

/// A connection in use; give it back with [`HttpClient::release`] once the response is read.
pub struct Lease(Conn);

/// A response and how it was obtained.
pub struct Sent {
    pub response: Response<Incoming>,
    pub lease: Lease,
    /// The request went out on a connection taken from the pool (opened before it: pre-opened
    /// for the run or kept from an earlier request), not one opened for it.
    pub reused: bool,
    /// It was sent a second time, on a fresh connection, because the reused one had been closed
    /// by the server before it read the request.
    pub resent: bool,
    /// When the request that got this response was handed to its connection.
    pub written_at: Instant,
}

/// How the pool fared, for `run.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolReport {
    /// False when reuse was turned off because the server closes connections after a response.
    pub reuse: bool,
}

impl HttpClient {
    /// A client for the server at `base` (`http://host:port` or `https://…`, optional path).
    pub fn new(base: &str) -> Result<HttpClient, String> {
        let uri: hyper::Uri = base
            .parse()
            .map_err(|e| format!("invalid --target URL '{base}': {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(format!(
                    "--target must start with http:// or https://, found '{base}'"
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("--target '{base}' has no host"))?;
        if authority.as_str().contains('@') {
            return Err("put credentials in OPENAI_API_KEY, not in the --target URL".into());
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = https.then(|| {
            let roots = webpki_roots::TLS_SERVER_ROOTS
                .iter()
                .cloned()
                .collect::<rustls::RootCertStore>();
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .map_err(|e| format!("TLS setup failed: {e}"));
            if let Ok(c) = config.as_mut() {
                c.alpn_protocols = vec![b"http/1.1".to_vec()];
            }
            config.map(|c| tokio_rustls::TlsConnector::from(Arc::new(c)))
        });
        let tls = tls.transpose()?;
        Ok(HttpClient {
            authority: authority.as_str().to_string(),
            host,
            port,
            prefix: uri.path().trim_end_matches('/').to_string(),
            tls,
            idle: Mutex::new(Vec::new()),
            stale_streak: AtomicU32::new(0),
            no_reuse: AtomicBool::new(false),
        })
    }

    /// A second client for the same server with its own pool (for side traffic such as
    /// scraping metrics, which must not take the run's connections).
    pub fn sibling(&self) -> HttpClient {
        HttpClient {
            host: self.host.clone(),
            port: self.port,
            authority: self.authority.clone(),
            prefix: self.prefix.clone(),
            tls: self.tls.clone(),
            idle: Mutex::new(Vec::new()),
            stale_streak: AtomicU32::new(0),
            no_reuse: AtomicBool::new(false),
        }
    }

    pub fn report(&self) -> PoolReport {
        PoolReport {
            reuse: !self.no_reuse.load(Ordering::Relaxed),
        }
    }

    /// The request target for `path` (e.g. `/v1/models`) under the base URL's prefix.
    fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    async fn connect(&self) -> Result<Conn, String> {
        let where_ = format!("{}:{}", self.host, self.port);
        match tokio::time::timeout(CONNECT_TIMEOUT, self.open(&where_)).await {
            Ok(c) => c.map(Conn::fresh),
            Err(_) => Err(format!(
                "cannot connect to {where_}: no answer within {CONNECT_TIMEOUT:?}"
            )),
        }
    }

    async fn open(&self, where_: &str) -> Result<(Sender, Arc<AtomicU64>), String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {where_}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let read = Arc::new(AtomicU64::new(0));
        let counted = |inner| Counted {
            inner,
            read: read.clone(),
        };
        let mut builder = http1::Builder::new();
        builder.read_buf_exact_size(Some(READ_BUFFER));
        let handshake = |e: hyper::Error| format!("HTTP handshake with {where_} failed: {e}");
        match &self.tls {
            None => {
                let (sender, conn) = builder
                    .handshake(TokioIo::new(Counted {
                        inner: tcp,
                        read: read.clone(),
                    }))
                    .await
                    .map_err(handshake)?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok((sender, read))
            }
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| format!("invalid TLS server name '{}': {e}", self.host))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {where_} failed: {e}"))?;
                let (sender, conn) = builder
                    .handshake(TokioIo::new(counted(stream)))
                    .await
                    .map_err(handshake)?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok((sender, read))
            }
        }
    }

    /// An idle connection that is still usable (true: it came from the pool), or a new one.
    async fn acquire(&self) -> Result<(Conn, bool), String> {
        loop {
            let candidate = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some(mut conn) = candidate else { break };
            if conn.reusable() && conn.sender.ready().await.is_ok() {
                return Ok((conn, true));
            }
        }
        Ok((self.connect().await?, false))
    }

    /// Opens up to `n` connections ahead of the run, `parallel` at a time, and keeps them idle,
    /// so a burst of first requests does not turn into a burst of TCP handshakes (a SYN storm
    /// that the kernel answers with one-second retransmits). Failures are left for the real
    /// requests to report.
    pub async fn prewarm(&self, n: usize, parallel: usize) {
        let mut opened = 0;
        while opened < n {
            let batch = parallel.min(n - opened);
            let conns = futures_util::future::join_all((0..batch).map(|_| self.connect())).await;
            let ok: Vec<Conn> = conns.into_iter().filter_map(Result::ok).collect();
            if ok.is_empty() {
                return;
            }
            opened += ok.len();
            if let Ok(mut idle) = self.idle.lock() {
                idle.extend(ok);
            }
        }
    }

    /// Sends one request; the lease keeps the connection until the body has been read.
    pub async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Sent, String> {
        let build = || {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(self.path(path))
                .header(hyper::header::HOST, self.authority.as_str());
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.body(Full::new(body.clone()))
                .map_err(|e| format!("invalid request: {e}"))
        };
        let (mut conn, reused) = self.acquire().await?;
        let written_at = Instant::now();
        let read_before = conn.read.load(Ordering::Relaxed);
        let idle_for = conn.idle_since.elapsed();
        match conn.sender.send_request(build()?).await {
            Ok(response) => {
                if conn.served > 0 {
                    // A connection kept from an earlier response worked: the server keeps them.
                    self.stale_streak.store(0, Ordering::Relaxed);
                }
                conn.note(response.headers());
                Ok(Sent {
                    response,
                    lease: Lease(conn),
                    reused,
                    resent: false,
                    written_at,
                })
            }
            Err(e)
                if reused
                    && conn.read.load(Ordering::Relaxed) == read_before
                    && never_read(&e)
                    && written_at.elapsed() < RESEND_WINDOW =>
            {
                // Only a connection just handed back after a response counts toward "this server
                // closes after every response"; an idle timeout (uvicorn's 5 s) is another story.
                if conn.served > 0
                    && idle_for < JUST_RELEASED
                    && self.stale_streak.fetch_add(1, Ordering::Relaxed) + 1 >= STALE_STREAK
                {
                    self.no_reuse.store(true, Ordering::Relaxed);
                }
                let mut conn = self.connect().await?;
                let written_at = Instant::now();
                let response = conn
                    .sender
                    .send_request(build()?)
                    .await
                    .map_err(|e| describe(&e))?;
                conn.note(response.headers());
                Ok(Sent {
                    response,
                    lease: Lease(conn),
                    reused: false,
                    resent: true,
                    written_at,
                })
            }
            Err(e) => Err(describe(&e)),
        }
    }

    /// Returns a connection whose response was read to the end, for reuse.
    pub fn release(&self, lease: Lease) {
        let mut conn = lease.0;
        if self.no_reuse.load(Ordering::Relaxed) || !conn.reusable() {
            return;
        }
        conn.idle_since = Instant::now();
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }
}

/// Whether a send failed the way a connection the server had closed fails: closed before any
/// response, cancelled before it was written, reset or a broken pipe.
fn never_read(e: &hyper::Error) -> bool {
    if e.is_canceled() || e.is_incomplete_message() || e.is_closed() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{
                BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof,
            };
            return matches!(
                io.kind(),
                BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof
            );
        }
        source = s.source();
    }
    false
}

/// A hyper error with its causes.
pub fn describe(e: &hyper::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_headers_are_read() {
        assert_eq!(
            parse_keep_alive("timeout=5, max=100"),
            (Some(Duration::from_secs(5)), Some(100))
        );
        assert_eq!(parse_keep_alive("max=0"), (None, Some(0)));
        assert_eq!(
            parse_keep_alive("timeout=\"7\""),
            (Some(Duration::from_secs(7)), None)
        );
        assert_eq!(parse_keep_alive("garbage"), (None, None));
    }
}
