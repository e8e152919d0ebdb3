//! Reading Parquet files of a run directory: a file's columns, its batches of the columns asked
//! for (read lazily, file after file for a table in parts), typed and optional columns, and the
//! guard that turns the Parquet reader's panics on a damaged file into an error naming it. Knows
//! no table's meaning: `read.rs` and `chunks.rs` say which columns they want.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Int64Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::analysis::error::AnalysisError;

/// The columns of `path` (from its schema), to tell optional columns that are absent.
pub(super) fn names(path: &Path) -> Result<Vec<String>, AnalysisError> {
    let bad = |e: String| AnalysisError::Unreadable {
        path: path.to_path_buf(),
        reason: e,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    let schema = builder.parquet_schema();
    Ok((0..schema.num_columns())
        .map(|i| schema.column(i).name().to_string())
        .collect())
}

/// An optional column of a batch: `None` for every row when the file has no such column.
pub(super) fn optional<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Option<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
}

pub(super) fn opt_at<T: Array + 'static, V>(
    a: Option<&T>,
    i: usize,
    get: impl Fn(&T, usize) -> V,
) -> Option<V> {
    a.filter(|a| !a.is_null(i)).map(|a| get(a, i))
}

pub(super) type Batches = Box<dyn Iterator<Item = Result<RecordBatch, AnalysisError>>>;

/// The files of `table` in `dir` (one file, or the parts of a run cut short).
pub(super) fn table_files(dir: &Path, table: &str) -> Result<Vec<PathBuf>, AnalysisError> {
    crate::rundir::layout::files(dir, table).map_err(|reason| AnalysisError::Unreadable {
        path: dir.join(table),
        reason,
    })
}

/// A table's rows and its batches of the given columns, read lazily file after file.
pub(super) fn open_table(
    dir: &Path,
    table: &str,
    columns: &[&str],
) -> Result<(usize, Batches), AnalysisError> {
    let mut rows = 0;
    let mut all: Batches = Box::new(std::iter::empty());
    for f in table_files(dir, table)? {
        let (n, batches) = open(&f, columns)?;
        rows += n;
        all = Box::new(all.chain(batches));
    }
    Ok((rows, all))
}

/// The file's rows (from its metadata) and its batches of the given columns, read lazily.
pub(super) fn open(
    path: &Path,
    columns: &[&str],
) -> Result<
    (
        usize,
        impl Iterator<Item = Result<RecordBatch, AnalysisError>>,
    ),
    AnalysisError,
> {
    let bad = |e: String| AnalysisError::Unreadable {
        path: path.to_path_buf(),
        reason: e,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(e.to_string()))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let schema = builder.parquet_schema();
    let mut indices = Vec::new();
    for c in columns {
        let i = (0..schema.num_columns())
            .find(|i| schema.column(*i).name() == *c)
            .ok_or_else(|| bad(format!("no column '{c}'")))?;
        indices.push(i);
    }
    let mask = ProjectionMask::leaves(schema, indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let path = path.to_path_buf();
    Ok((
        rows,
        reader.map(move |b| {
            b.map_err(|e| AnalysisError::Unreadable {
                path: path.clone(),
                reason: e.to_string(),
            })
        }),
    ))
}

pub(super) fn column<'a, T: 'static>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a T, AnalysisError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| AnalysisError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("column '{name}' is missing or has the wrong type"),
        })
}

pub(super) fn opt64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Runs `read` of files under `dir` with the Parquet reader's panics turned into errors.
pub(super) fn guarded<T>(
    dir: &Path,
    read: impl FnOnce() -> Result<T, AnalysisError>,
) -> Result<T, AnalysisError> {
    let mut typed = None;
    let outcome = crate::rundir::layout::guard(|| {
        read().map_err(|e| {
            let text = e.to_string();
            typed = Some(e);
            text
        })
    });
    outcome.map_err(|reason| {
        typed.unwrap_or(AnalysisError::Unreadable {
            path: dir.to_path_buf(),
            reason,
        })
    })
}
