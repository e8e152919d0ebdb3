//! File-backed request shapes, loaded when the schedule is compiled: `empirical(...)` columns
//! become plain value lists, and `sample = trace(...)` rows become (input, output) pairs.

use super::compile::CompileError;
use crate::trace::{self, Format, ReadOptions};
use crate::workload::{Dist, TraceRef};

/// `dist` with every `empirical(...)` replaced by the column's values.
pub fn resolve(dist: &Dist, phase: &str) -> Result<Dist, CompileError> {
    let fail = |message: String| CompileError::Trace {
        phase: phase.to_string(),
        message,
    };
    Ok(match dist {
        Dist::Empirical { path, column } => {
            Dist::Values(trace::column_values(path, column).map_err(|e| fail(e.to_string()))?)
        }
        Dist::Mix { weights, parts } => Dist::Mix {
            weights: weights.clone(),
            parts: parts
                .iter()
                .map(|p| resolve(p, phase))
                .collect::<Result<_, _>>()?,
        },
        Dist::Clamp { inner, lo, hi } => Dist::Clamp {
            inner: Box::new(resolve(inner, phase)?),
            lo: *lo,
            hi: *hi,
        },
        other => other.clone(),
    })
}

/// The rows of the trace a `trace(...)` call names.
pub fn read_trace(tr: &TraceRef, phase: &str) -> Result<trace::Trace, CompileError> {
    let fail = |message: String| CompileError::Trace {
        phase: phase.to_string(),
        message,
    };
    let format = Format::parse(&tr.format)
        .ok_or_else(|| fail(format!("unknown trace format '{}'", tr.format)))?;
    let opts = ReadOptions {
        columns: tr.columns.clone(),
        time_unit: tr.time_unit.clone(),
        skip_bad_rows: tr.skip_bad_rows,
    };
    trace::read(&tr.path, format, &opts).map_err(|e| fail(e.to_string()))
}

/// The (input, output) pairs of a trace's rows; failed rows (0 output tokens) are left out.
pub fn samples(tr: &TraceRef, phase: &str) -> Result<Vec<(u32, u32)>, CompileError> {
    let t = read_trace(tr, phase)?;
    Ok(t.rows
        .iter()
        .filter(|r| !r.failed)
        .map(|r| (r.input.max(1), r.output.max(1)))
        .collect())
}

/// Tokenizers loaded once per compile, by path (`tokenizer = "…/tokenizer.json"`).
#[derive(Default)]
pub struct Tokenizers {
    loaded: Vec<(std::path::PathBuf, tokenizers::Tokenizer)>,
}

impl Tokenizers {
    pub fn get(
        &mut self,
        path: &std::path::Path,
        phase: &str,
    ) -> Result<&tokenizers::Tokenizer, CompileError> {
        if let Some(i) = self.loaded.iter().position(|(p, _)| p == path) {
            return Ok(&self.loaded[i].1);
        }
        let t = tokenizers::Tokenizer::from_file(path).map_err(|e| CompileError::Trace {
            phase: phase.to_string(),
            message: format!("{}: not a Hugging Face tokenizer.json: {e}", path.display()),
        })?;
        self.loaded.push((path.to_path_buf(), t));
        Ok(&self.loaded[self.loaded.len() - 1].1)
    }
}

/// The tokens of `text` under `t` (no special tokens added).
fn count(t: &tokenizers::Tokenizer, text: &str) -> Result<usize, String> {
    t.encode_fast(text, false)
        .map(|e| e.len())
        .map_err(|e| format!("the tokenizer failed: {e}"))
}

/// Real prompts of a `dataset("file.jsonl")`: each line an object with `prompt` (a string) or
/// `messages` (a chat array). They are appended to `prompts`; returns (index, tokens) for each:
/// counted by `tokenizer` when the class names one (a chat prompt's message contents, without
/// the server's template), else estimated at 4 characters a token, the usual rule of thumb for
/// English under BPE (the server's `prompt_tokens` is recorded beside it either way).
pub fn dataset(
    path: &std::path::Path,
    tokenizer: Option<&tokenizers::Tokenizer>,
    phase: &str,
    prompts: &mut Vec<serde_json::Value>,
) -> Result<Vec<(u32, u32)>, CompileError> {
    use serde_json::Value;
    let fail = |message: String| CompileError::Trace {
        phase: phase.to_string(),
        message,
    };
    let where_ = path.display();
    let bytes = std::fs::read(path).map_err(|e| fail(format!("{where_}: cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "{where_}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{where_}:{}", i + 1);
        let v: Value =
            serde_json::from_str(line).map_err(|e| fail(format!("{at}: invalid JSON: {e}")))?;
        let measure = |text: &str| -> Result<usize, CompileError> {
            match tokenizer {
                Some(t) => count(t, text).map_err(|e| fail(format!("{at}: {e}"))),
                None => Ok(text.chars().count().div_ceil(4)),
            }
        };
        let (value, tokens) = match (v.get("prompt"), v.get("messages")) {
            (Some(Value::String(p)), _) => (Value::String(p.clone()), measure(p)?),
            (_, Some(Value::Array(m))) => {
                let mut tokens = 0;
                for msg in m {
                    let content = msg.get("content").and_then(Value::as_str);
                    let role = msg.get("role").and_then(Value::as_str);
                    let (Some(c), Some(_)) = (content, role) else {
                        return Err(fail(format!(
                            "{at}: messages: each message needs a role and a string content"
                        )));
                    };
                    tokens += measure(c)?;
                }
                (Value::Array(m.clone()), tokens)
            }
            _ => {
                return Err(fail(format!(
                    "{at}: expected a \"prompt\" string or a \"messages\" array"
                )))
            }
        };
        let tokens = u32::try_from(tokens).unwrap_or(u32::MAX).max(1);
        out.push((prompts.len() as u32, tokens));
        prompts.push(value);
    }
    if out.is_empty() {
        return Err(fail(format!("{where_}: the dataset has no prompts")));
    }
    Ok(out)
}
