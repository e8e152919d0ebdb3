//! llmw: benchmark self-hosted LLM inference servers with declarative, reproducible workloads.
//! What follows is `ARCHITECTURE.md`: the stages, their types and functions, the module graph.
#![doc = include_str!("../ARCHITECTURE.md")]

pub mod analysis;
pub mod arrival;
pub mod check;
pub mod diag;
pub mod engine;
pub mod fmt;
pub mod fuzzing;
pub mod image;
pub mod layout;
pub mod limits;
pub mod lsp;
pub mod metric;
pub mod output;
pub mod prompt;
pub mod ranks;
pub mod request_id;
pub mod resolve;
pub mod rng;
pub mod rundir;
pub mod schedule;
pub mod search;
pub mod sim;
pub mod source;
pub mod stats;
pub mod suggest;
pub mod syntax;
pub mod trace;
pub mod workload;

use std::path::Path;

pub use analysis::{analyze, load as load_run, Analysis};
pub use check::{check, check_source, Overrides};
pub use diag::Diagnostic;
pub use engine::run;
pub use resolve::{resolve, Resolved};
pub use schedule::{compile, Schedule};
pub use sim::start as simulate;
pub use source::Sources;
pub use trace::{read as read_trace, transform as transform_trace};
pub use workload::Workload;

/// Reads and checks the workload file at `path`. The returned sources hold every file read, for
/// rendering diagnostics.
pub fn check_file(
    path: &Path,
    overrides: &Overrides,
) -> (Sources, Result<Workload, Vec<Diagnostic>>) {
    match check::read_source(path) {
        Ok(text) => check_source(path, &text, overrides),
        Err(message) => (Sources::new(), Err(vec![Diagnostic::global(message)])),
    }
}

/// [`check_source`], then [`resolve()`].
pub fn load_source(
    path: &Path,
    text: &str,
    overrides: &Overrides,
) -> (Sources, Result<Resolved, Vec<Diagnostic>>) {
    let (sources, checked) = check_source(path, text, overrides);
    (sources, checked.and_then(resolve))
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
    let loaded = check::load(&mut sources, main);
    let result = check(&mut sources, loaded, overrides);
    (sources, result)
}

/// The load step alone: the workload file at `path` parsed, with its includes spliced in (what
/// `llmw check --dump ast` prints).
pub fn parse_file(path: &Path) -> (Sources, Result<check::Flat, Vec<Diagnostic>>) {
    let mut sources = Sources::new();
    let text = match check::read_source(path) {
        Ok(t) => t,
        Err(message) => return (sources, Err(vec![Diagnostic::global(message)])),
    };
    let main = sources.add(path.display().to_string(), Some(path.to_path_buf()), text);
    let (flat, diags) = check::load(&mut sources, main);
    let result = if diags.is_empty() {
        Ok(flat)
    } else {
        Err(diags)
    };
    (sources, result)
}

/// [`check_file`], then [`resolve()`]: the workload with every file it names loaded, ready for
/// [`compile`].
pub fn load_file(
    path: &Path,
    overrides: &Overrides,
) -> (Sources, Result<Resolved, Vec<Diagnostic>>) {
    let (sources, checked) = check_file(path, overrides);
    (sources, checked.and_then(resolve))
}

/// [`check_text`], then [`resolve()`].
pub fn load_text(
    name: &str,
    text: &str,
    overrides: &Overrides,
) -> (Sources, Result<Resolved, Vec<Diagnostic>>) {
    let (sources, checked) = check_text(name, text, overrides);
    (sources, checked.and_then(resolve))
}
