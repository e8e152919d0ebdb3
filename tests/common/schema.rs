//! A minimal JSON Schema checker for the subset `docs/analysis.schema.json` and
//! `docs/run.schema.json` use: `type` (one or several), `enum`, `required`, `properties`,
//! `additionalProperties: false`, `items`, `minProperties`/`maxProperties` and local `$ref`s.
//! Returns every violation with its JSON pointer.
#![allow(dead_code)]

use serde_json::Value;

pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "", &mut errors);
    errors
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => false,
    }
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix("#").and_then(|p| root.pointer(p));
        match target {
            Some(t) => check(root, t, v, at, errors),
            None => errors.push(format!("{at}: unresolved $ref {r}")),
        }
        return;
    }
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(s) => type_ok(s, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|s| type_ok(s, v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            errors.push(format!(
                "{at}: {v} is not one of {}",
                Value::Array(allowed.clone())
            ));
        }
    }
    if let Value::Object(map) = v {
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            let props = schema.get("properties").and_then(Value::as_object);
            for k in map.keys() {
                if !props.is_some_and(|p| p.contains_key(k)) {
                    errors.push(format!("{at}: '{k}' is not in the schema"));
                }
            }
        }
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = req.as_str() {
                if !map.contains_key(k) {
                    errors.push(format!("{at}: missing required '{k}'"));
                }
            }
        }
        if let Some(n) = schema.get("minProperties").and_then(Value::as_u64) {
            if (map.len() as u64) < n {
                errors.push(format!("{at}: fewer than {n} properties"));
            }
        }
        if let Some(n) = schema.get("maxProperties").and_then(Value::as_u64) {
            if (map.len() as u64) > n {
                errors.push(format!("{at}: more than {n} properties"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, sub) in props.into_iter().flatten() {
            if let Some(child) = map.get(k) {
                check(root, sub, child, &format!("{at}/{k}"), errors);
            }
        }
        // A map's keys and the values no property names.
        if let Some(names) = schema.get("propertyNames") {
            for k in map.keys() {
                check(
                    root,
                    names,
                    &Value::String(k.clone()),
                    &format!("{at}/{k} (name)"),
                    errors,
                );
            }
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
            for (k, child) in map {
                if !props.is_some_and(|p| p.contains_key(k)) {
                    check(root, extra, child, &format!("{at}/{k}"), errors);
                }
            }
        }
    }
    if let (Value::Array(items), Some(sub)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(root, sub, item, &format!("{at}/{i}"), errors);
        }
    }
}

/// Asserts that `value` follows the JSON Schema in the file at `path` (from the crate's root).
pub fn conforms(path: &str, value: &Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let errors = validate(&schema, value);
    assert!(errors.is_empty(), "{path}: {errors:#?}");
}
