//! CSV traces: Azure (`TIMESTAMP`, `ContextTokens`, `GeneratedTokens`, datetimes), BurstGPT
//! (columns by name, relative seconds, failed requests as 0-token rows, v3's `Session ID`, the
//! `Model` column) and
//! generic CSV (the mapped columns, a time unit, optional `session`, `turn`, `model`, `api`
//! and `images`).

use std::path::Path;

use super::cells::{api_name, image_count, length, turn_number};
use super::reader::{Names, Reader};
use super::Format;
use crate::trace::time::{datetime_ns, number_ns, TimeUnit};
use crate::trace::{Row, TraceError};

/// A CSV reader over `text` (ragged rows allowed, fields trimmed) and its header's names.
pub(super) fn open_csv<'t>(
    text: &'t str,
    path: &Path,
) -> Result<(csv::Reader<&'t [u8]>, Vec<String>), TraceError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = csv
        .headers()
        .map_err(|e| TraceError::File {
            path: path.to_path_buf(),
            message: format!("cannot read the header: {e}"),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((csv, headers))
}

/// The position of column `name`, or an error quoting the header found.
pub(super) fn column_index(
    headers: &[String],
    name: &str,
    path: &Path,
) -> Result<usize, TraceError> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| TraceError::File {
            path: path.to_path_buf(),
            message: format!(
                "missing column '{name}' (the header has: {})",
                headers.join(", ")
            ),
        })
}

pub(super) fn read_csv(r: &mut Reader, text: &str, format: Format) -> Result<(), TraceError> {
    let (mut csv, headers) = open_csv(text, r.path)?;
    let (at_col, in_col, out_col) = match format {
        Format::Azure => (
            "TIMESTAMP".to_string(),
            "ContextTokens".to_string(),
            "GeneratedTokens".to_string(),
        ),
        Format::Burstgpt => (
            "Timestamp".to_string(),
            "Request tokens".to_string(),
            "Response tokens".to_string(),
        ),
        _ => r.mapped_columns()?,
    };
    let find = |name: &str| column_index(&headers, name, r.path);
    let (ai, ii, oi) = (find(&at_col)?, find(&in_col)?, find(&out_col)?);
    // Conversations: BurstGPT v3's `Session ID` (v1 has none), a generic trace's mapped column.
    let (session_col, turn_col) = match format {
        Format::Burstgpt => (
            headers
                .iter()
                .any(|h| h == "Session ID")
                .then(|| "Session ID".to_string()),
            None,
        ),
        Format::Azure => (None, None),
        _ => (r.optional_column("session"), r.optional_column("turn")),
    };
    let si = session_col.as_deref().map(find).transpose()?;
    let ti = turn_col.as_deref().map(find).transpose()?;
    // What each row was: BurstGPT's `Model`, a generic trace's mapped columns.
    let (model_col, api_col, images_col) = match format {
        Format::Burstgpt => (
            headers
                .iter()
                .any(|h| h == "Model")
                .then(|| "Model".to_string()),
            None,
            None,
        ),
        Format::Azure => (None, None, None),
        _ => (
            r.optional_column("model"),
            r.optional_column("api"),
            r.optional_column("images"),
        ),
    };
    let mi = model_col.as_deref().map(find).transpose()?;
    let pi = api_col.as_deref().map(find).transpose()?;
    let gi = images_col.as_deref().map(find).transpose()?;
    let unit = r.opts.time_unit.unwrap_or_default();
    for record in csv.records() {
        let row = match record {
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Err((line, "row".to_string(), format!("unreadable CSV: {e}")))
            }
            Ok(rec) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                (|| {
                    let get = |i: usize, name: &str| {
                        rec.get(i).ok_or_else(|| {
                            (
                                line,
                                name.to_string(),
                                format!("missing (the row has {} fields)", rec.len()),
                            )
                        })
                    };
                    let at_raw = get(ai, &at_col)?;
                    let at = match format {
                        Format::Azure => datetime_ns(at_raw),
                        Format::Burstgpt => number_ns(at_raw, TimeUnit::S),
                        _ => number_ns(at_raw, unit).or_else(|| datetime_ns(at_raw)),
                    }
                    .ok_or_else(|| {
                        (
                            line,
                            at_col.clone(),
                            format!("cannot read the time '{at_raw}'"),
                        )
                    })?;
                    // BurstGPT keeps failed requests as rows with 0 request and 0 response tokens.
                    let burst = format == Format::Burstgpt;
                    let input = length(get(ii, &in_col)?, line, &in_col, burst)?;
                    let output = length(get(oi, &out_col)?, line, &out_col, burst)?;
                    if input == 0 && output > 0 {
                        return Err((line, in_col.clone(), "a length of 0 tokens".to_string()));
                    }
                    let session = match (si, &session_col) {
                        (Some(i), Some(name)) => {
                            Some(get(i, name)?.trim().to_string()).filter(|s| !s.is_empty())
                        }
                        _ => None,
                    };
                    let turn = match (ti, &turn_col) {
                        (Some(i), Some(name)) => turn_number(get(i, name)?, line, name)?,
                        _ => None,
                    };
                    let model = match (mi, &model_col) {
                        (Some(i), Some(name)) => {
                            Some(get(i, name)?.trim().to_string()).filter(|m| !m.is_empty())
                        }
                        _ => None,
                    };
                    let api = match (pi, &api_col) {
                        (Some(i), Some(name)) => api_name(get(i, name)?, line, name)?,
                        _ => None,
                    };
                    let images = match (gi, &images_col) {
                        (Some(i), Some(name)) => image_count(get(i, name)?, line, name)?,
                        _ => None,
                    };
                    let row = Row {
                        failed: output == 0,
                        turn,
                        api,
                        images,
                        ..Row::new(at, input.max(1), output, line)
                    };
                    Ok((row, Names { session, model }))
                })()
            }
        };
        r.push_in_session(row)?;
    }
    Ok(())
}
