//! One numeric column of a CSV file (by header name) or one key of a JSONL file, for
//! `empirical(...)`.

use std::path::Path;

use serde_json::Value;

use super::cells::text;
use super::csv_rows::{column_index, open_csv};
use crate::trace::TraceError;

/// The numeric values of one column of a CSV file (by header name) or of one key of a JSONL
/// file, for `empirical(...)`. Empty cells and non-numbers are errors naming the line.
pub fn column_values(path: &Path, column: &str) -> Result<Vec<f64>, TraceError> {
    let file_error = |m: String| TraceError::File {
        path: path.to_path_buf(),
        message: m,
    };
    let bytes = std::fs::read(path).map_err(|e| file_error(format!("cannot read: {e}")))?;
    let text = text(&bytes, path)?;
    let bad = |line: u64, raw: &str| TraceError::Row {
        path: path.to_path_buf(),
        line,
        field: column.to_string(),
        message: format!("expected a number, found '{raw}'"),
    };
    let mut out = Vec::new();
    let jsonl = path
        .extension()
        .is_some_and(|e| e == "jsonl" || e == "json")
        || text.trim_start().starts_with('{');
    if jsonl {
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let line = i as u64 + 1;
            let v: Value = serde_json::from_str(l).map_err(|e| TraceError::Row {
                path: path.to_path_buf(),
                line,
                field: "row".into(),
                message: format!("invalid JSON: {e}"),
            })?;
            let x = v.get(column).ok_or_else(|| TraceError::Row {
                path: path.to_path_buf(),
                line,
                field: column.into(),
                message: "missing".into(),
            })?;
            out.push(
                x.as_f64()
                    .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| bad(line, &x.to_string()))?,
            );
        }
    } else {
        let (mut csv, headers) = open_csv(&text, path)?;
        let i = column_index(&headers, column, path)?;
        for rec in csv.records() {
            let rec = rec.map_err(|e| file_error(format!("unreadable CSV: {e}")))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let raw = rec.get(i).unwrap_or("");
            out.push(
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(line, raw))?,
            );
        }
    }
    if out.is_empty() {
        return Err(file_error(format!("column '{column}' has no values")));
    }
    Ok(out)
}
