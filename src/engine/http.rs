//! A small HTTP/1.1 client for one server, on hyper's connection API: plain TCP or TLS
//! (rustls, verified against the Mozilla roots), a pool of idle keep-alive connections, and a
//! fixed 16 KiB read buffer per connection, so 2,000 concurrent streams stay cheap in memory.
//! It never retries: a retry would change the load being measured.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Read buffer per connection.
const READ_BUFFER: usize = 16 * 1024;

type Sender = SendRequest<Full<Bytes>>;

pub struct HttpClient {
    host: String,
    port: u16,
    /// `host:port` as the Host header wants it.
    authority: String,
    /// Path prefix of the base URL (usually empty).
    prefix: String,
    tls: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<Sender>>,
}

/// A connection in use; give it back with [`HttpClient::release`] once the response is read.
pub struct Lease(Sender);

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
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
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
        })
    }

    /// The request target for `path` (e.g. `/v1/models`) under the base URL's prefix.
    fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    async fn connect(&self) -> Result<Sender, String> {
        let where_ = format!("{}:{}", self.host, self.port);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {where_}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let mut builder = http1::Builder::new();
        builder.read_buf_exact_size(Some(READ_BUFFER));
        match &self.tls {
            None => {
                let (sender, conn) = builder
                    .handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| format!("HTTP handshake with {where_} failed: {e}"))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok(sender)
            }
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| format!("invalid TLS server name '{}': {e}", self.host))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {where_} failed: {e}"))?;
                let (sender, conn) = builder
                    .handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| format!("HTTP handshake with {where_} failed: {e}"))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok(sender)
            }
        }
    }

    /// An idle connection that is still usable, or a new one.
    async fn acquire(&self) -> Result<Sender, String> {
        loop {
            let candidate = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some(mut sender) = candidate else { break };
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        self.connect().await
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
            let ok: Vec<Sender> = conns.into_iter().filter_map(Result::ok).collect();
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
    ) -> Result<(Response<Incoming>, Lease), String> {
        let mut sender = self.acquire().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(self.path(path))
            .header(hyper::header::HOST, self.authority.as_str());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("invalid request: {e}"))?;
        let resp = sender.send_request(req).await.map_err(|e| describe(&e))?;
        Ok((resp, Lease(sender)))
    }

    /// Returns a connection whose response was read to the end, for reuse.
    pub fn release(&self, lease: Lease) {
        if !lease.0.is_closed() {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(lease.0);
            }
        }
    }
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
