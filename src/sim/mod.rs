//! The built-in simulated LLM server: OpenAI-compatible HTTP in front of a continuous-batching
//! cost model, so the whole pipeline runs on a laptop and tests run anywhere.
//!
//! [`start`] binds a listener (use `127.0.0.1:0` in tests) and serves until the returned
//! [`SimServer`] is dropped or shut down.

mod batcher;
mod behaviour;
mod faults;
mod http;
mod profile;

pub use batcher::Gauges;
pub use behaviour::Behaviour;
pub use faults::{Fault, Faults};
pub use http::Timing;
pub use profile::{Profile, ProfileName};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::arrival::Socket;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub model: String,
    pub profile: Profile,
    pub faults: Faults,
    /// How it treats connections, request ids and response shapes (real servers' ways).
    pub behaviour: Behaviour,
    /// Keep every streamed request's server-side timing, served at `GET /llmw/timings`.
    pub record_timings: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            model: "llmw-sim".into(),
            profile: Profile::named(ProfileName::Default),
            faults: Faults::default(),
            behaviour: Behaviour::default(),
            record_timings: false,
        }
    }
}

/// A running simulator; dropping it stops accepting connections.
pub struct SimServer {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    state: Arc<http::State>,
}

impl SimServer {
    /// The base URL to give as `--target`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Completion requests the server has taken in (read and answered or answering): a request
    /// that reached a closing connection unread is not among them.
    pub fn requests(&self) -> u64 {
        self.state.counter.load(Ordering::SeqCst)
    }

    /// The streamed requests' own timings so far (empty without `record_timings`), as
    /// `GET /llmw/timings` serves them.
    pub fn timings(&self) -> Vec<http::Timing> {
        self.state
            .timings
            .as_ref()
            .and_then(|t| t.lock().ok().map(|v| v.clone()))
            .unwrap_or_default()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Binds `addr` and serves the simulator on the current tokio runtime.
pub async fn start(addr: SocketAddr, config: SimConfig) -> std::io::Result<SimServer> {
    // A deep accept queue: a load generator opens hundreds of connections at once.
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener: TcpListener = socket.listen(4096)?;
    let addr = listener.local_addr()?;
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
    let gauges = Arc::new(Gauges::default());
    tokio::spawn(batcher::run(
        config.profile.clone(),
        jobs_rx,
        gauges.clone(),
    ));
    let idle = config
        .behaviour
        .idle_close
        .map(std::time::Duration::from_secs_f64);
    let state = Arc::new(http::State {
        timings: config.record_timings.then(Default::default),
        model: config.model,
        profile: config.profile,
        faults: config.faults,
        behaviour: config.behaviour,
        jobs: jobs_tx,
        counter: AtomicU64::new(0),
        connections: AtomicU64::new(0),
        gauges,
        newest: watch::channel(0).0,
    });
    let (stop, mut stopped) = watch::channel(false);
    let shared = state.clone();
    tokio::spawn(async move {
        let state = shared;
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stopped.changed() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            state.connections.fetch_add(1, Ordering::SeqCst);
            let state = state.clone();
            let mut conn_stop = stopped.clone();
            tokio::spawn(async move {
                let conn_state = Arc::new(behaviour::Conn::default());
                let for_service = conn_state.clone();
                let service =
                    service_fn(move |req| http::handle(req, state.clone(), for_service.clone()));
                let Ok(stream) = Socket::tapped(stream, conn_state.arrived_unix_ns.clone()) else {
                    return;
                };
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                // Dropping the connection closes the socket (a reset if a request sits unread).
                tokio::select! {
                    _ = conn => {}
                    _ = conn_stop.changed() => {}
                    _ = conn_state.ended(idle) => {}
                }
            });
        }
    });
    Ok(SimServer { addr, stop, state })
}
