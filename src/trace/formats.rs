//! Reading trace files. Each format names its columns: Azure (`TIMESTAMP,ContextTokens,
//! GeneratedTokens`, CRLF, datetimes), BurstGPT (columns by name; relative seconds), Mooncake
//! (JSONL with `hash_ids`), generic CSV/JSONL (a column mapping and a time unit) and llmw's own
//! `requests.parquet`. A malformed row is an error naming file, line and field, or is skipped
//! and counted with `skip_bad_rows`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::time::{datetime_ns, number_ns, TimeUnit};
use super::{Row, Trace, TraceError, MAX_TOKENS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Azure,
    Burstgpt,
    Mooncake,
    Csv,
    Jsonl,
    Llmw,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Azure,
        Format::Burstgpt,
        Format::Mooncake,
        Format::Csv,
        Format::Jsonl,
        Format::Llmw,
    ];
    /// The names the language and the CLI use, in [`Format::ALL`] order.
    pub const NAMES: [&'static str; 6] = ["azure", "burstgpt", "mooncake", "csv", "jsonl", "llmw"];

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    pub fn name(self) -> &'static str {
        Format::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Generic formats: `at`, `input`, `output` → column names.
    pub columns: Vec<(String, String)>,
    /// Generic formats: the unit of numeric times (`ns`, `us`, `ms`, `s`; default `s`).
    pub time_unit: Option<TimeUnit>,
    pub skip_bad_rows: bool,
}

/// How many skipped rows are quoted in the report.
const EXAMPLES: usize = 5;

struct Reader<'a> {
    path: &'a Path,
    opts: &'a ReadOptions,
    trace: Trace,
    /// Session names seen so far and their numbers (in order of first appearance).
    sessions: std::collections::BTreeMap<String, u64>,
}

impl Reader<'_> {
    fn file_error(&self, message: impl Into<String>) -> TraceError {
        TraceError::File {
            path: self.path.to_path_buf(),
            message: message.into(),
        }
    }

    /// Keeps a row, or handles its error (skip or fail).
    fn push(&mut self, row: Result<Row, (u64, String, String)>) -> Result<(), TraceError> {
        match row {
            Ok(r) => {
                self.trace.rows.push(r);
                Ok(())
            }
            Err((line, field, message)) => {
                let e = TraceError::Row {
                    path: self.path.to_path_buf(),
                    line,
                    field,
                    message,
                };
                if !self.opts.skip_bad_rows {
                    return Err(e);
                }
                self.trace.skipped += 1;
                if self.trace.skipped_examples.len() < EXAMPLES {
                    self.trace.skipped_examples.push(e.to_string());
                }
                Ok(())
            }
        }
    }

    /// Keeps a row of the conversation it names, numbering conversations in order of first
    /// appearance; or handles its error.
    fn push_in_session(
        &mut self,
        row: Result<(Row, Option<String>), RowError>,
    ) -> Result<(), TraceError> {
        let row = row.map(|(mut row, name)| {
            row.session = name.map(|name| {
                let next = self.sessions.len() as u64;
                *self.sessions.entry(name).or_insert(next)
            });
            row
        });
        self.push(row)
    }

    /// A generic format's optional column for `role` (`session`, `turn`).
    fn optional_column(&self, role: &str) -> Option<String> {
        self.opts
            .columns
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, c)| c.clone())
    }

    /// The generic formats' (at, input, output) column names from the mapping.
    fn mapped_columns(&self) -> Result<(String, String, String), TraceError> {
        let get = |role: &str| {
            self.opts
                .columns
                .iter()
                .find(|(r, _)| r == role)
                .map(|(_, c)| c.clone())
                .ok_or_else(|| self.file_error(format!("no column given for '{role}' (columns: {{ at: \"…\", input: \"…\", output: \"…\" }})")))
        };
        Ok((get("at")?, get("input")?, get("output")?))
    }
}

type RowError = (u64, String, String);

fn length(raw: &str, line: u64, field: &str, allow_zero: bool) -> Result<u32, RowError> {
    let t = raw.trim();
    let bad = |m: String| (line, field.to_string(), m);
    let v: f64 = t
        .parse()
        .map_err(|_| bad(format!("expected a token count, found '{t}'")))?;
    if v < 0.0 || v.fract() != 0.0 {
        return Err(bad(format!(
            "expected a whole number of tokens ≥ 0, found '{t}'"
        )));
    }
    if v > MAX_TOKENS as f64 {
        return Err(bad(format!("{t} tokens is not a plausible length")));
    }
    if v == 0.0 && !allow_zero {
        return Err(bad("a length of 0 tokens".into()));
    }
    Ok(v as u32)
}

/// A turn number: a whole number ≥ 0, or nothing (an empty cell, `null`: a row of no
/// conversation, or one whose turns follow its times).
fn turn_number(raw: &str, line: u64, field: &str) -> Result<Option<u32>, RowError> {
    let t = raw.trim();
    if t.is_empty() || t == "null" {
        return Ok(None);
    }
    t.parse::<u32>()
        .map(Some)
        .ok()
        .filter(|n| n.is_none_or(|n| n < crate::limits::MAX_TURNS))
        .ok_or_else(|| {
            (
                line,
                field.to_string(),
                format!(
                    "expected a turn number 0..{}, found '{t}'",
                    crate::limits::MAX_TURNS
                ),
            )
        })
}

fn text(bytes: &[u8], path: &Path) -> Result<String, TraceError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| TraceError::File {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Reads the trace at `path` (for `llmw`, a run directory or its `requests.parquet`).
pub fn read(path: &Path, format: Format, opts: &ReadOptions) -> Result<Trace, TraceError> {
    let mut r = Reader {
        path,
        opts,
        trace: Trace::default(),
        sessions: std::collections::BTreeMap::new(),
    };
    if format == Format::Llmw {
        return read_llmw(path);
    }
    let bytes = std::fs::read(path).map_err(|e| r.file_error(format!("cannot read: {e}")))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(r.file_error("the file is empty"));
    }
    let text = text(&bytes, path)?;
    match format {
        Format::Azure | Format::Burstgpt | Format::Csv => read_csv(&mut r, &text, format)?,
        _ => read_jsonl(&mut r, &text, format)?,
    }
    if r.trace.rows.is_empty() {
        return Err(r.file_error(if r.trace.skipped > 0 {
            "every row was malformed"
        } else {
            "the file has no rows"
        }));
    }
    Ok(r.trace)
}

/// A CSV reader over `text` (ragged rows allowed, fields trimmed) and its header's names.
fn open_csv<'t>(
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
fn column_index(headers: &[String], name: &str, path: &Path) -> Result<usize, TraceError> {
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

fn read_csv(r: &mut Reader, text: &str, format: Format) -> Result<(), TraceError> {
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
                    let row = Row {
                        failed: output == 0,
                        turn,
                        ..Row::new(at, input.max(1), output, line)
                    };
                    Ok((row, session))
                })()
            }
        };
        r.push_in_session(row)?;
    }
    Ok(())
}

fn read_jsonl(r: &mut Reader, text: &str, format: Format) -> Result<(), TraceError> {
    let (at_key, in_key, out_key, unit) = match format {
        Format::Mooncake => (
            "timestamp".to_string(),
            "input_length".to_string(),
            "output_length".to_string(),
            TimeUnit::Ms,
        ),
        _ => {
            let (at, input, output) = r.mapped_columns()?;
            (at, input, output, r.opts.time_unit.unwrap_or_default())
        }
    };
    let (session_key, turn_key) = (r.optional_column("session"), r.optional_column("turn"));
    for (i, line_text) in text.lines().enumerate() {
        let line = i as u64 + 1;
        if line_text.trim().is_empty() {
            continue;
        }
        let row = (|| {
            let v: Value = serde_json::from_str(line_text)
                .map_err(|e| (line, "row".to_string(), format!("invalid JSON: {e}")))?;
            let field = |k: &str| {
                v.get(k)
                    .ok_or_else(|| (line, k.to_string(), "missing".to_string()))
            };
            let as_text = |x: &Value| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let at_raw = as_text(field(&at_key)?);
            let at = number_ns(&at_raw, unit)
                .or_else(|| datetime_ns(&at_raw))
                .ok_or_else(|| {
                    (
                        line,
                        at_key.clone(),
                        format!("cannot read the time '{at_raw}'"),
                    )
                })?;
            let input = length(&as_text(field(&in_key)?), line, &in_key, false)?;
            let output = length(&as_text(field(&out_key)?), line, &out_key, false)?;
            let blocks = match (format, v.get("hash_ids")) {
                (Format::Mooncake, Some(Value::Array(ids))) => ids
                    .iter()
                    .map(|x| {
                        x.as_u64().ok_or_else(|| {
                            (
                                line,
                                "hash_ids".to_string(),
                                format!("expected block ids, found {x}"),
                            )
                        })
                    })
                    .collect::<Result<Vec<u64>, _>>()?,
                (Format::Mooncake, _) => {
                    return Err((line, "hash_ids".to_string(), "missing".to_string()))
                }
                _ => Vec::new(),
            };
            let session = match &session_key {
                Some(k) => match field(k)? {
                    Value::Null => None,
                    x => Some(as_text(x)),
                },
                None => None,
            };
            let turn = match &turn_key {
                Some(k) => turn_number(&as_text(field(k)?), line, k)?,
                None => None,
            };
            let row = Row {
                blocks,
                turn,
                ..Row::new(at, input, output, line)
            };
            Ok((row, session))
        })();
        r.push_in_session(row)?;
    }
    Ok(())
}

fn read_llmw(path: &Path) -> Result<Trace, TraceError> {
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
            trace.rows.push(Row {
                class: Some(class.value(i).to_string()),
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
