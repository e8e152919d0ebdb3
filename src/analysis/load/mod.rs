//! Loading: a run directory (or the shard directories of one plan) → a [`Run`], from the files
//! alone. Nothing here measures: no group, no statistic, no rendering.
//!
//! - `run.rs` — the run type: [`Run`], its request columns ([`Requests`]), the server's samples
//!   ([`ServerMetrics`]), which shards of a plan it is ([`Shards`]). Types only; it reads no file.
//! - `parquet.rs` — Parquet access: a file's columns and lazy batches, typed and optional
//!   columns, the guard against the reader's panics. Knows no table's meaning.
//! - `chunks.rs` — the chunk files and one streamed read of them ([`ChunkFiles`]); what
//!   a pass computes is `measure/scan.rs`, not here.
//! - `read.rs` — the loader ([`load`]): `run.json` and the tables into a [`Run`].
//! - `shards.rs` — several directories into runs: the shards of one plan merged into one
//!   ([`shards::fleets`]), every other directory alone.
//!
//! Order, leaves first: parquet → chunks → run → read → shards; none uses one after it.

pub mod chunks;
mod parquet;
mod read;
mod run;
pub mod shards;

pub use chunks::{ChunkFiles, ChunkPart};
pub use read::load;
pub use run::{ErrorKind, Labels, Requests, Run, ServerMetrics, Shards, Status};
