//! The record of a run: its directory and `run.json`, the trace writer, how it ends, and what
//! is watched beside the requests (the server's metrics, llmw's own CPU, the host clock, the
//! progress line). Nothing here sends a request.
//!
//! | file | owns |
//! | --- | --- |
//! | `run_dir.rs` | the directory's name and creation, `run.json`'s content from a [`run_record::RunRecord`] |
//! | `run_record.rs` | the run's record behind one lock: what the heartbeat, a search and the end write |
//! | `heartbeat.rs` | `run.json` rewritten every second; a failed writer stops the run |
//! | `writer.rs` | the Parquet writer thread, its parts and counters |
//! | `stop.rs` | how the run ends, once ([`stop::Stopper`]) |
//! | `scrape.rs` | the server's Prometheus metrics, scraped while the run goes |
//! | `watch.rs`, `niceness.rs` | llmw's own CPU and scheduling priority |
//! | `host_clock.rs` | the host clock's synchronisation state |
//! | `progress.rs`, `stats.rs` | the live progress line and the counters behind it |
//! | `warn.rs` | where warnings go: the caller's [`warn::Warn`] (the engine prints nothing) |

pub mod heartbeat;
pub mod host_clock;
pub mod niceness;
pub mod progress;
pub mod run_dir;
pub mod run_record;
pub mod scrape;
pub mod stats;
pub mod stop;
pub mod warn;
pub mod watch;
pub mod writer;
