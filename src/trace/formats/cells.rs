//! One cell of a trace read: a token length, a turn number, an API, an image count, and a
//! file's bytes as text, with the row errors they give. A leaf.

use std::path::Path;

use crate::trace::{TraceError, API_NAMES, MAX_TOKENS};

/// A bad row: its line, the field, what is wrong.
pub(super) type RowError = (u64, String, String);

pub(super) fn length(raw: &str, line: u64, field: &str, allow_zero: bool) -> Result<u32, RowError> {
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
pub(super) fn turn_number(raw: &str, line: u64, field: &str) -> Result<Option<u32>, RowError> {
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

/// An API name (one of [`API_NAMES`]), or nothing (an empty cell, `null`).
pub(super) fn api_name(raw: &str, line: u64, field: &str) -> Result<Option<u8>, RowError> {
    let t = raw.trim();
    if t.is_empty() || t == "null" {
        return Ok(None);
    }
    API_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(t))
        .map(|i| Some(i as u8))
        .ok_or_else(|| {
            let names = API_NAMES.join(", ");
            (
                line,
                field.into(),
                format!("expected an API ({names}), found '{t}'"),
            )
        })
}

/// An image count: a whole number 0..=MAX_IMAGES, or nothing (an empty cell, `null`).
pub(super) fn image_count(raw: &str, line: u64, field: &str) -> Result<Option<u32>, RowError> {
    let t = raw.trim();
    if t.is_empty() || t == "null" {
        return Ok(None);
    }
    let max = crate::limits::MAX_IMAGES;
    t.parse::<u32>()
        .ok()
        .filter(|n| *n <= max)
        .map(Some)
        .ok_or_else(|| {
            let message = format!("expected an image count 0..={max}, found '{t}'");
            (line, field.to_string(), message)
        })
}

pub(super) fn text(bytes: &[u8], path: &Path) -> Result<String, TraceError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| TraceError::File {
        path: path.to_path_buf(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}
