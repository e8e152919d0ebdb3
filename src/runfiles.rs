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
