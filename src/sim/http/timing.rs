//! When a request came and how long its answer took, by the server's own clock: where a request
//! came from ([`Origin`]), the timing of each streamed request (kept with `--record-timings`,
//! served at `GET /llmw/timings`), and the wall-clock and plan-id readings it is stamped with.
//! A leaf: it knows nothing of routes, APIs or bodies.

use std::sync::Arc;

/// When and from whom a request came.
pub(super) struct Origin {
    pub(super) received: std::time::Instant,
    /// When the request reached the host, by the kernel's stamp (Unix ns), before the
    /// simulator took it.
    pub(super) arrived_unix_ns: Option<u64>,
    pub(super) request_id: Option<String>,
}

/// The server's own view of one streamed request, for measuring client overhead.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The client's `x-request-id` header.
    pub request_id: Option<String>,
    /// The plan id in it (llmw's UUIDs carry it; a bare number is taken as it is).
    pub plan_id: Option<u64>,
    /// From the request's arrival to the first token handed to the connection.
    pub ttft_ns: u64,
    /// From the first token to the last one handed to the connection.
    pub decode_ns: u64,
    pub tokens: u32,
    /// The request's arrival and its first token's hand-off on the host's wall clock (ns since
    /// the Unix epoch), which the client's traces share: a benchmark on one machine can split a
    /// client's TTFT overhead into its send side and its receive side.
    pub received_unix_ns: u64,
    pub first_token_unix_ns: u64,
    /// When the request reached the host, by the kernel's stamp (`crate::arrival`), before the
    /// simulator took it at `received_unix_ns`: the send side splits again, into the client's
    /// write and the server's wait to read (absent where the kernel gives no stamps).
    pub arrived_unix_ns: Option<u64>,
}

pub type Timings = Arc<std::sync::Mutex<Vec<Timing>>>;

/// `at` on the wall clock, in ns since the Unix epoch (through one anchor per process, so that
/// stamps are as monotonic as `Instant` is).
pub(super) fn unix_ns(at: std::time::Instant) -> u64 {
    static ANCHOR: std::sync::OnceLock<(std::time::Instant, u64)> = std::sync::OnceLock::new();
    let (i0, w0) = *ANCHOR.get_or_init(|| {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (std::time::Instant::now(), wall.as_nanos() as u64)
    });
    if at >= i0 {
        w0 + at.duration_since(i0).as_nanos() as u64
    } else {
        w0.saturating_sub(i0.duration_since(at).as_nanos() as u64)
    }
}

/// The plan id a client's request id names: llmw's UUIDs carry it, a bare number is one.
pub(super) fn plan_id_of(id: &str) -> Option<u64> {
    crate::request_id::plan_id(id).or_else(|| id.parse().ok())
}
