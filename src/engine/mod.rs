//! The replay engine: [`Schedule`](crate::schedule::Schedule) → a run directory of Parquet token
//! traces.
//!
//! Five layers; a layer uses only the ones above it in this list (`tests/architecture.rs`
//! fails on a circle between them or inside one):
//!
//! | layer | owns | must not |
//! | --- | --- | --- |
//! | `wire` | HTTP/1.1 on one connection (`h1`), the pool and TLS (`http`), SSE framing (`sse`), the run's clock and arrival stamps (`clock`), the busy/rare race (`race`), `Retry-After` (`retry_after`) | know what a request means |
//! | `record` | the run directory and `run.json` (`run_dir`, `run_record`, `heartbeat`), the trace writer (`writer`), how a run ends (`stop`), the metrics scrape, self-watch, progress line, live counters, host clock | send a request |
//! | `dialect` | one file per API: the body sent, stream events decoded into text/usage/finish | touch a socket or a row |
//! | `request` | one request's lifecycle: send, read, stamp, classify its failure (`failure`), the row | decide when to send |
//! | `drive` | when requests go: open loop (`open`), users (`closed`), conversations (`session`), capacity searches (`search`), failure pacing (`pace`), the abort rule (`abort`), the shared context (`context`) | write `run.json` |
//! | `lifecycle` | one run: set-up (model, calibration, pre-warming) → recording → phases → finish | print (warnings go to the caller's [`Warn`]) |
//!
//! Ctrl-C stops dispatch, cancels what is in flight, closes the files and records
//! `interrupted`.

mod dialect;
mod drive;
mod lifecycle;
mod record;
mod request;
mod wire;

pub use drive::search::Levels;
pub use lifecycle::options::{RunError, RunOptions, RunResult, Warn};
pub use lifecycle::run;
pub use lifecycle::setup::check_fd_limit;
pub use record::run_dir::{Ending, Provenance};
pub use record::scrape::Metrics;
pub use record::stop::Stopper;
pub use record::writer;
pub use request::stream::replay_stream;
pub use wire::clock::rfc3339;
pub use wire::framing::{deframe_in_pieces, Chunk, Deframed, Framing};
pub use wire::sse;
