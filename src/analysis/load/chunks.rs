//! The chunk table, streamed: a run's chunks (a billion rows for an hour at 2,000 requests/s)
//! are never held in memory. [`ChunkFiles`] names the files (with each one's offset onto the
//! run's time axis) and reads them chunk by chunk, as often as a pass asks; what the passes
//! compute is `measure/scan.rs`.

use std::collections::HashMap;
use std::path::PathBuf;

use arrow_array::{Int32Array, Int64Array};

use super::parquet::{column, guarded, open};
use crate::analysis::error::AnalysisError;
use crate::rundir::tables::chunks as ch;

/// The files of a run's chunk table, in order (one per table, or the parts of a run cut short;
/// a merged run has every shard's), each with the offset that puts its times on the run's axis.
#[derive(Debug, Clone, Default)]
pub struct ChunkFiles {
    pub parts: Vec<ChunkPart>,
    /// Rows in all (from the files' metadata).
    pub rows: u64,
}

#[derive(Debug, Clone)]
pub struct ChunkPart {
    pub path: PathBuf,
    pub offset_ns: i64,
}

impl ChunkFiles {
    /// Calls `f(request row, at_ns, tokens)` for every chunk, in file order (a request's
    /// chunks are contiguous and in `seq` order); the row is `u32::MAX` for a chunk of no
    /// known request.
    pub fn for_each(
        &self,
        rows_of: &HashMap<i64, u32>,
        mut f: impl FnMut(u32, i64, i32),
    ) -> Result<(), AnalysisError> {
        for part in &self.parts {
            // A damaged file can make the Parquet reader panic: an error naming the file.
            guarded(&part.path, || read(part, rows_of, &mut f))?;
        }
        Ok(())
    }
}

/// One file's chunks, for [`ChunkFiles::for_each`].
fn read(
    part: &ChunkPart,
    rows_of: &HashMap<i64, u32>,
    f: &mut impl FnMut(u32, i64, i32),
) -> Result<(), AnalysisError> {
    let (_, batches) = open(&part.path, &[ch::REQUEST_ID, ch::AT_NS, ch::TOKENS])?;
    let mut last: Option<(i64, u32)> = None;
    for b in batches {
        let b = b?;
        let ids = column::<Int64Array>(&b, ch::REQUEST_ID, &part.path)?.values();
        let at = column::<Int64Array>(&b, ch::AT_NS, &part.path)?.values();
        let tokens = column::<Int32Array>(&b, ch::TOKENS, &part.path)?.values();
        for ((id, at), tk) in ids.iter().zip(at.iter()).zip(tokens.iter()) {
            // Consecutive chunks share a request: look the id up only when it changes.
            let row = match last {
                Some((l, row)) if l == *id => row,
                _ => rows_of.get(id).copied().unwrap_or(u32::MAX),
            };
            last = Some((*id, row));
            f(row, at + part.offset_ns, *tk);
        }
    }
    Ok(())
}
