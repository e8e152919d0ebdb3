//! A small HTTP/1.1 client for one server: plain TCP or TLS (rustls, verified against the
//! Mozilla roots and `--ca-cert`), a pool of idle keep-alive connections, and a read buffer of
//! 4 to 16 KiB per connection, so 2,000 concurrent streams stay cheap in memory. The protocol itself is
//! `h1.rs`; this module is the pool and its rules.
//!
//! Connections are treated the way real servers treat them (docs/servers.md):
//! - `Connection: close` and `Keep-Alive: timeout=T, max=N` on a response are honoured: such a
//!   connection is not reused past its last request or its idle timeout. An idle connection
//!   the server has closed, reset or written to since is not taken from the pool.
//! - A request written onto a *pooled* connection (pre-opened, or kept from an earlier request)
//!   that the server had already closed — it comes back closed or reset at once, and not one
//!   byte was read from the server since it was written — was never read by the server: it is
//!   sent again, once, on a fresh connection. llama.cpp closes after every streamed response
//!   and uvicorn closes connections idle for 5 s, so without this a pooled client loses
//!   requests to a race that says nothing about the server. A fresh connection that fails is a
//!   real failure. (hyper-util's pooled client retries only a request never written; llmw
//!   read through hyper's connection API with this rule on top, and since issue 14 reads its
//!   own connections, docs/benchmarks.md says why.) A write that fails after the server sent
//!   something (an early 413 before a large body was read) is the server's answer, not a stale
//!   connection.
//! - A server that closes connections right after their responses (three found so, in a row,
//!   none kept) gets no more reuse: each request then opens its own connection, and the run says
//!   so. Connections closed for being idle do not count toward it.
//!
//! Nothing else is ever retried: a retry of a request the server saw would change the load.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::header::HeaderMap;
use hyper::StatusCode;
use tokio::net::TcpStream;

use crate::arrival::Socket;
use crate::engine::wire::body::Body;
use crate::engine::wire::h1::{self, Io, Wire, WireError};
use crate::engine::wire::keep::Keep;
pub use crate::engine::wire::resend::Attempt;
pub use crate::engine::wire::tls::Trust;
use crate::rundir::record::ErrorKind;

/// Reused connections found closed in a row, with none kept, before reuse is turned off.
const STALE_STREAK: u32 = 3;
/// A connection idle for less than this was just released after a response: finding it closed
/// then means the server closed it after that response.
const JUST_RELEASED: Duration = Duration::from_secs(1);
/// Connecting, including the TLS handshake, takes at most this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// After a write that failed, how long the server's answer is waited for (after a reset it is
/// there at once, or never).
const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// An idle connection in the pool.
struct Conn {
    wire: Wire,
    keep: Keep,
}

pub struct HttpClient {
    host: String,
    port: u16,
    /// `host:port` as the Host header wants it.
    authority: String,
    /// Path prefix of the base URL (usually empty).
    prefix: String,
    tls: Option<tokio_rustls::TlsConnector>,
    trust: Trust,
    idle: Mutex<Vec<Conn>>,
    /// Reused connections found closed since one was last kept.
    stale_streak: AtomicU32,
    /// Set once the server has shown it closes connections after each response.
    no_reuse: AtomicBool,
}

/// A response whose body is still on its connection: read it through `body` (a
/// [`Body`]), then give the connection back with [`HttpClient::release`].
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: ResponseBody,
}

/// A response's body, on the connection it is read from.
pub struct ResponseBody {
    body: Body,
    keep: Keep,
}

impl std::ops::Deref for ResponseBody {
    type Target = Body;
    fn deref(&self) -> &Body {
        &self.body
    }
}

impl std::ops::DerefMut for ResponseBody {
    fn deref_mut(&mut self) -> &mut Body {
        &mut self.body
    }
}

/// A response and how it was obtained.
pub struct Sent {
    pub response: Response,
    /// The request went out on a connection taken from the pool (opened before it: pre-opened
    /// for the run or kept from an earlier request), not one opened for it.
    pub reused: bool,
    /// It was sent a second time, on a fresh connection, because the reused one had been closed
    /// by the server before it read the request.
    pub resent: bool,
    /// When the first byte of the request that got this response was written.
    pub written_at: Instant,
    /// How the connection it went out on was opened; `None` for one taken from the pool.
    pub setup: Option<Setup>,
}

/// How long a new connection took to open: the name looked up and TCP connected, then the
/// TLS handshake (`None` for plain HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    pub connect: Duration,
    pub tls: Option<Duration>,
}

/// A request that got no response: why, and how far it went.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    /// What kind of failure: connect, tls or protocol (a request sent and not answered in
    /// HTTP/1.1 is `protocol`).
    pub kind: ErrorKind,
    /// Whether the connection it went out on came from the pool; `None` when none was had.
    pub reused: Option<bool>,
    /// When its first byte was written; `None` when it never reached a connection.
    pub written_at: Option<Instant>,
    /// How its connection was opened, if one was opened for it.
    pub setup: Option<Setup>,
}

impl SendError {
    fn unsent((kind, message): (ErrorKind, String)) -> SendError {
        SendError {
            message,
            kind,
            reused: None,
            written_at: None,
            setup: None,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SendError> for String {
    fn from(e: SendError) -> String {
        e.message
    }
}

/// How the pool fared, for `run.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolReport {
    /// False when reuse was turned off because the server closes connections after a response.
    pub reuse: bool,
}

impl HttpClient {
    pub fn new(base: &str, trust: &Trust) -> Result<HttpClient, String> {
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
            let roots = trust.0.clone();
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
            trust: trust.clone(),
            idle: Mutex::new(Vec::new()),
            stale_streak: AtomicU32::new(0),
            no_reuse: AtomicBool::new(false),
        })
    }

    pub fn sibling(&self) -> HttpClient {
        HttpClient {
            host: self.host.clone(),
            port: self.port,
            authority: self.authority.clone(),
            prefix: self.prefix.clone(),
            tls: self.tls.clone(),
            trust: self.trust.clone(),
            idle: Mutex::new(Vec::new()),
            stale_streak: AtomicU32::new(0),
            no_reuse: AtomicBool::new(false),
        }
    }
    /// A client for another server (`base`), trusting the same certificates.
    pub fn elsewhere(&self, base: &str) -> Result<HttpClient, String> {
        HttpClient::new(base, &self.trust)
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

    async fn connect(&self) -> Result<(Conn, Setup), (ErrorKind, String)> {
        let where_ = format!("{}:{}", self.host, self.port);
        match tokio::time::timeout(CONNECT_TIMEOUT, self.open(&where_)).await {
            Ok(io) => io.map(|(io, setup)| {
                let conn = Conn {
                    wire: Wire::new(io),
                    keep: Keep::fresh(),
                };
                (conn, setup)
            }),
            Err(_) => Err((
                ErrorKind::Connect,
                format!("cannot connect to {where_}: no answer within {CONNECT_TIMEOUT:?}"),
            )),
        }
    }

    /// Opens a connection: the name looked up and TCP connected, then the TLS handshake, each
    /// timed.
    async fn open(&self, where_: &str) -> Result<(Io, Setup), (ErrorKind, String)> {
        let start = Instant::now();
        let refused = |e: std::io::Error| {
            (
                ErrorKind::Connect,
                format!("cannot connect to {where_}: {e}"),
            )
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(refused)?;
        let connect = start.elapsed();
        let _ = tcp.set_nodelay(true);
        let tcp = Socket::new(tcp).map_err(refused)?;
        let Some(tls) = &self.tls else {
            return Ok((Io::Plain(tcp), Setup { connect, tls: None }));
        };
        let name = rustls::pki_types::ServerName::try_from(self.host.clone()).map_err(|e| {
            (
                ErrorKind::Tls,
                format!("invalid TLS server name '{}': {e}", self.host),
            )
        })?;
        let handshake = Instant::now();
        let stream = tls.connect(name, tcp).await.map_err(|e| {
            (
                ErrorKind::Tls,
                format!("TLS handshake with {where_} failed: {e}"),
            )
        })?;
        let setup = Setup {
            connect,
            tls: Some(handshake.elapsed()),
        };
        Ok((Io::Tls(Box::new(stream)), setup))
    }

    /// An idle connection that is still usable (its set-up `None`: it came from the pool), or
    /// a new one.
    async fn acquire(&self) -> Result<(Conn, Option<Setup>), (ErrorKind, String)> {
        loop {
            let candidate = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some(mut conn) = candidate else { break };
            if conn.keep.allows() && conn.wire.looks_open() {
                return Ok((conn, None));
            }
        }
        let (conn, setup) = self.connect().await?;
        Ok((conn, Some(setup)))
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
            let ok: Vec<Conn> = conns
                .into_iter()
                .filter_map(|c| c.ok().map(|c| c.0))
                .collect();
            if ok.is_empty() {
                return;
            }
            opened += ok.len();
            if let Ok(mut idle) = self.idle.lock() {
                idle.extend(ok);
            }
        }
    }

    /// Writes `request` on `conn` and reads the response head; on failure, what the resend
    /// rule needs to know of it.
    async fn exchange(
        mut conn: Conn,
        request: &[u8],
        pooled: bool,
    ) -> Result<Response, (WireError, Attempt)> {
        let before = conn.wire.read_total;
        let mut attempt = Attempt {
            pooled,
            taken: request.len(),
            whole: request.len(),
            answered: false,
            closed: false,
            after_write: None,
        };
        let head = match conn.wire.write(request).await {
            Ok(()) => {
                let written = Instant::now();
                let head = conn.wire.read_head().await;
                attempt.after_write = Some(written.elapsed());
                head
            }
            Err((e, taken)) => {
                attempt.taken = taken;
                // A server may answer (a 413, a 401) and reset before it has read a large body:
                // what it sent is its answer, however soon the write noticed the reset. After a
                // reset the read returns at once, with the answer or the error.
                match tokio::time::timeout(ANSWER_GRACE, conn.wire.read_head()).await {
                    Ok(Ok(head)) => Ok(head),
                    _ => Err(e),
                }
            }
        };
        let head = head.map_err(|e| {
            attempt.answered = conn.wire.read_total > before;
            attempt.closed = e.like_closed();
            (e, attempt)
        })?;
        conn.keep.note(&head);
        attempt.answered = true;
        let body = Body::new(conn.wire, &head).map_err(|e| (e, attempt))?;
        Ok(Response {
            status: head.status,
            headers: head.headers,
            body: ResponseBody {
                body,
                keep: conn.keep,
            },
        })
    }

    /// Sends one request; the response's body keeps the connection until it has been read.
    /// A request goes out at most twice, the second time only when [`Attempt::never_read`]
    /// says the server cannot have read the first.
    pub async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Sent, SendError> {
        let request = h1::request(&method, &self.authority, &self.path(path), headers, body)
            .map_err(|e| SendError::unsent((ErrorKind::Protocol, e)))?;
        let (conn, setup) = self.acquire().await.map_err(SendError::unsent)?;
        let reused = setup.is_none();
        let (served, idle_for) = (conn.keep.served, conn.keep.idle_since.elapsed());
        let written_at = Instant::now();
        let failed = |message: String, written_at, setup: Option<Setup>| SendError {
            message,
            kind: ErrorKind::Protocol,
            reused: Some(setup.is_none()),
            written_at: Some(written_at),
            setup,
        };
        match Self::exchange(conn, &request, reused).await {
            Ok(response) => {
                if served > 0 {
                    // A connection kept from an earlier response worked: the server keeps them.
                    self.stale_streak.store(0, Ordering::Relaxed);
                }
                Ok(Sent {
                    response,
                    reused,
                    resent: false,
                    written_at,
                    setup,
                })
            }
            Err((_, attempt)) if attempt.never_read() => {
                // Only a connection just handed back after a response counts toward "this server
                // closes after every response"; an idle timeout (uvicorn's 5 s) is another story.
                if served > 0
                    && idle_for < JUST_RELEASED
                    && self.stale_streak.fetch_add(1, Ordering::Relaxed) + 1 >= STALE_STREAK
                {
                    self.no_reuse.store(true, Ordering::Relaxed);
                }
                let (conn, setup) = self.connect().await.map_err(SendError::unsent)?;
                let written_at = Instant::now();
                // The resent request's lag and TTFT count from the second attempt.
                let response = Self::exchange(conn, &request, false)
                    .await
                    .map_err(|(e, _)| failed(e.to_string(), written_at, Some(setup)))?;
                Ok(Sent {
                    response,
                    reused: false,
                    resent: true,
                    written_at,
                    setup: Some(setup),
                })
            }
            Err((e, _)) => Err(failed(e.to_string(), written_at, setup)),
        }
    }

    /// Takes back a connection whose body was read to its end, for reuse.
    pub fn release(&self, body: ResponseBody) {
        let ResponseBody { body, mut keep } = body;
        if self.no_reuse.load(Ordering::Relaxed) || !body.finished_clean() || !keep.released() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(Conn {
                wire: body.into_wire(),
                keep,
            });
        }
    }
}
