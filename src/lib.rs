//! llmw: benchmark self-hosted LLM inference servers with declarative, reproducible workloads.
//!
//! The crate is a pipeline of stages, one type per stage and one function per arrow:
//!
//! ```text
//!  .llmw text ──parse──▶ Ast ──check──▶ Workload ──compile──▶ Schedule
//!   (syntax)             (syntax::ast)  (workload)            (schedule)
//! ```
//!
//! `llmw check` runs the first two arrows, `llmw plan` all three. See `ARCHITECTURE.md`.

pub mod analysis;
pub mod check;
pub mod diag;
pub mod engine;
pub mod fmt;
pub mod fuzzing;
pub mod limits;
pub mod metric;
pub mod output;
pub mod prompt;
pub mod request_id;
pub mod rng;
pub mod rundir;
pub mod schedule;
pub mod sim;
pub mod source;
pub mod stats;
pub mod suggest;
pub mod syntax;
pub mod trace;
pub mod workload;

use std::path::Path;

pub use check::{check, Overrides};
pub use diag::Diagnostic;
pub use schedule::{compile, Schedule};
pub use source::Sources;
pub use workload::Workload;

/// Reads and checks the workload file at `path`. The returned sources hold every file read, for
/// rendering diagnostics.
pub fn check_file(
    path: &Path,
    overrides: &Overrides,
) -> (Sources, Result<Workload, Vec<Diagnostic>>) {
    let mut sources = Sources::new();
    let text = match check::read_source(path) {
        Ok(t) => t,
        Err(message) => return (sources, Err(vec![Diagnostic::global(message)])),
    };
    let main = sources.add(path.display().to_string(), Some(path.to_path_buf()), text);
    let result = check(&mut sources, main, overrides);
    (sources, result)
}

/// Checks workload source text held in memory; `name` is shown in diagnostics and relative
/// paths resolve against the current directory.
pub fn check_text(
    name: &str,
    text: &str,
    overrides: &Overrides,
) -> (Sources, Result<Workload, Vec<Diagnostic>>) {
    let mut sources = Sources::new();
    let main = sources.add(name.to_string(), None, text.to_string());
    let result = check(&mut sources, main, overrides);
    (sources, result)
}
