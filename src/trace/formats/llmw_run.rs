//! An earlier llmw run as a trace: a run directory (its manifest checked, its requests table
//! in either layout) or one `requests.parquet`, each request's scheduled time, lengths, class
//! and conversation read back.

use std::path::{Path, PathBuf};

use crate::trace::{Row, Trace, TraceError};

pub(super) fn read_llmw(path: &Path) -> Result<Trace, TraceError> {
    // A run directory (its requests table in either layout) or one Parquet file.
    let files: Vec<PathBuf> = if path.is_dir() {
        // A run directory says what it is in its manifest; anything else is refused by name.
        crate::rundir::manifest::Manifest::read(path).map_err(|e| TraceError::File {
            path: path.to_path_buf(),
            message: format!("not an llmw run directory: {e}"),
        })?;
        crate::rundir::layout::files(path, crate::rundir::layout::REQUESTS).map_err(|m| {
            TraceError::File {
                path: path.to_path_buf(),
                message: m,
            }
        })?
    } else {
        vec![path.to_path_buf()]
    };
    let mut trace = Trace::default();
    let mut line = 0;
    for file in &files {
        let mut typed = None;
        let read = crate::rundir::layout::guard(|| {
            read_llmw_file(file, &mut trace, &mut line).map_err(|e| {
                let text = e.to_string();
                typed = Some(e);
                text
            })
        });
        if let Err(message) = read {
            return Err(typed.unwrap_or(TraceError::File {
                path: file.clone(),
                message,
            }));
        }
    }
    if trace.rows.is_empty() {
        return Err(TraceError::File {
            path: path.to_path_buf(),
            message: "the run has no requests".into(),
        });
    }
    Ok(trace)
}

fn read_llmw_file(file: &Path, trace: &mut Trace, line: &mut u64) -> Result<(), TraceError> {
    let bad = |m: String| TraceError::File {
        path: file.to_path_buf(),
        message: m,
    };
    let f = std::fs::File::open(file).map_err(|e| bad(format!("cannot read: {e}")))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(|b| b.build())
        .map_err(|e| bad(format!("not an llmw requests table: {e}")))?;
    for batch in reader {
        let b = batch.map_err(|e| bad(e.to_string()))?;
        let col = |n: &str| {
            b.column_by_name(n)
                .cloned()
                .ok_or_else(|| bad(format!("missing column '{n}'")))
        };
        use arrow_array::{Array, Int32Array, Int64Array, StringArray};
        let (sched, sent, input, output, class) = (
            col(crate::rundir::tables::requests::SCHEDULED_NS)?,
            col(crate::rundir::tables::requests::SENT_NS)?,
            col(crate::rundir::tables::requests::INPUT_TOKENS)?,
            col(crate::rundir::tables::requests::OUTPUT_TOKENS_REQUESTED)?,
            col(crate::rundir::tables::requests::CLASS)?,
        );
        // Conversations (runs since sessions): optional columns.
        let opt_col = |n: &str| b.column_by_name(n).cloned();
        let session = opt_col(crate::rundir::tables::requests::SESSION);
        let session = session
            .as_ref()
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>());
        let turn = opt_col(crate::rundir::tables::requests::TURN);
        let turn = turn
            .as_ref()
            .and_then(|c| c.as_any().downcast_ref::<Int32Array>());
        let branch = opt_col(crate::rundir::tables::requests::BRANCH);
        let branch = branch
            .as_ref()
            .and_then(|c| c.as_any().downcast_ref::<Int32Array>());
        // The model each request named (runs since models): mapped through `models:`.
        let model = opt_col(crate::rundir::tables::requests::MODEL);
        let model = model
            .as_ref()
            .and_then(|c| c.as_any().downcast_ref::<StringArray>());
        let (Some(sched), Some(sent), Some(input), Some(output), Some(class)) = (
            sched.as_any().downcast_ref::<Int64Array>(),
            sent.as_any().downcast_ref::<Int64Array>(),
            input.as_any().downcast_ref::<Int32Array>(),
            output.as_any().downcast_ref::<Int32Array>(),
            class.as_any().downcast_ref::<StringArray>(),
        ) else {
            return Err(bad("a column has the wrong type".into()));
        };
        for i in 0..b.num_rows() {
            *line += 1;
            let at = if sched.is_null(i) {
                sent.value(i)
            } else {
                sched.value(i)
            };
            let model = model
                .filter(|c| !c.is_null(i))
                .map(|c| trace.model_number(c.value(i)));
            trace.rows.push(Row {
                class: Some(class.value(i).to_string()),
                model,
                session: session
                    .filter(|c| !c.is_null(i))
                    .map(|c| c.value(i).max(0) as u64),
                turn: turn
                    .filter(|c| !c.is_null(i))
                    .map(|c| c.value(i).clamp(0, crate::limits::MAX_TURNS as i32 - 1) as u32),
                branch: branch
                    .filter(|c| !c.is_null(i))
                    .map(|c| c.value(i).max(0) as u32),
                ..Row::new(
                    at,
                    input.value(i).max(1) as u32,
                    output.value(i).max(1) as u32,
                    *line,
                )
            });
        }
    }
    Ok(())
}
