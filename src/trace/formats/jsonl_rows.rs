//! JSONL traces: Mooncake (`timestamp` in ms, `input_length`, `output_length`, `hash_ids`
//! prefix blocks) and generic JSONL (the mapped keys, a time unit, optional `session`,
//! `turn`, `model`, `api` and `images`).

use serde_json::Value;

use super::cells::{api_name, image_count, length, turn_number};
use super::reader::{Names, Reader};
use super::Format;
use crate::trace::time::{datetime_ns, number_ns, TimeUnit};
use crate::trace::{Row, TraceError};

pub(super) fn read_jsonl(r: &mut Reader, text: &str, format: Format) -> Result<(), TraceError> {
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
    let (model_key, api_key, images_key) = (
        r.optional_column("model"),
        r.optional_column("api"),
        r.optional_column("images"),
    );
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
            // An optional key's text (`null`: empty, so none).
            let optional = |k: &str| {
                field(k).map(|x| match x {
                    Value::Null => String::new(),
                    x => as_text(x),
                })
            };
            let model = match &model_key {
                Some(k) => Some(optional(k)?.trim().to_string()).filter(|m| !m.is_empty()),
                None => None,
            };
            let api = match &api_key {
                Some(k) => api_name(&optional(k)?, line, k)?,
                None => None,
            };
            let images = match &images_key {
                Some(k) => image_count(&optional(k)?, line, k)?,
                None => None,
            };
            let row = Row {
                blocks,
                turn,
                api,
                images,
                ..Row::new(at, input, output, line)
            };
            Ok((row, Names { session, model }))
        })();
        r.push_in_session(row)?;
    }
    Ok(())
}
