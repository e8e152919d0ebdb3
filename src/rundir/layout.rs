//! Where a run directory keeps its tables. A table (`requests`, `chunks`, `server_metrics`) is
//! one Parquet file, `<table>.parquet`, once a run has completed; while a run goes — and after
//! one that was cut short by a signal, a kill or a failure — it is a directory of parts,
//! `<table>/part-NNNNNN.parquet`, each closed (footer written, synced) about every second, so
//! at most the last second is lost to a SIGKILL or a power cut. A part is written under a
//! `.tmp` name and renamed when complete, so every `*.parquet` file is whole. Readers (pandas,
//! polars, DuckDB with `<table>/*.parquet`, Spark) take a directory of parts as one table.

use std::path::{Path, PathBuf};

pub const REQUESTS: &str = "requests";
pub const CHUNKS: &str = "chunks";
pub const SERVER_METRICS: &str = "server_metrics";

/// The single-file form of `table` in `dir`.
pub fn file(dir: &Path, table: &str) -> PathBuf {
    dir.join(format!("{table}.parquet"))
}

/// The parts directory of `table` in `dir`.
pub fn parts_dir(dir: &Path, table: &str) -> PathBuf {
    dir.join(table)
}

/// The name of part `n`.
pub fn part_name(n: u32) -> String {
    format!("part-{n:06}.parquet")
}

/// Whether `table` exists in `dir` in either layout.
pub fn exists(dir: &Path, table: &str) -> bool {
    file(dir, table).exists() || parts_dir(dir, table).is_dir()
}

/// The files holding `table`, in order: the single file, or every complete part by name.
pub fn files(dir: &Path, table: &str) -> Result<Vec<PathBuf>, String> {
    let single = file(dir, table);
    if single.exists() {
        return Ok(vec![single]);
    }
    let parts = parts_dir(dir, table);
    let entries = std::fs::read_dir(&parts).map_err(|e| {
        format!(
            "no {table} table: neither {} nor {}/ ({e})",
            single.display(),
            parts.display()
        )
    })?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("part-") && n.ends_with(".parquet"))
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(format!("{}/ holds no complete part", parts.display()));
    }
    Ok(out)
}

thread_local! {
    /// Set while a guarded Parquet read runs: its panic is turned into an error, not printed.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a read of a Parquet file that may be damaged. The `parquet` crate panics on some
/// malformed files (a negative column offset, for one, found by fuzzing); such a panic becomes
/// an error (for the caller to put beside the file's name) instead of ending llmw.
pub fn guard<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(was));
    outcome.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the Parquet reader failed".into());
        Err(format!("a damaged Parquet file ({why})"))
    })
}
