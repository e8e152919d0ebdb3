//! What the language server answers, as pure functions of a document (its path and text):
//! diagnostics (exactly `llmw check`'s, the included files' and data files' too), hover from the
//! reference table, completion at the cursor, definitions of params, classes, sessions and
//! included files, and formatting through `llmw fmt`'s layout. Results are the protocol's JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::text::{offset, position, uri_of, word_at};
use crate::check::reference::{fields_of, functions_for, item, Kind};

/// A protocol range of bytes `start..end` of `text`.
fn range(text: &str, start: usize, end: usize) -> Value {
    let (l0, c0) = position(text, start);
    let (l1, c1) = position(text, end);
    json!({"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}})
}

/// Every diagnostic `llmw check` gives the document at `path` holding `text`, by the file it is
/// in (the document's own path first, always present, so that fixed problems clear).
pub fn diagnostics(path: &Path, text: &str) -> BTreeMap<PathBuf, Vec<Value>> {
    let (sources, checked) = crate::check::check_source(path, text, &Default::default());
    let result = checked.and_then(crate::resolve::resolve);
    let diags = match result.map(|r| crate::schedule::compile(&r)) {
        Ok(Ok(s)) => match s.pin(None) {
            Ok(_) => Vec::new(),
            Err(e) => vec![crate::diag::Diagnostic::global(e.to_string())],
        },
        Ok(Err(e)) => vec![crate::diag::Diagnostic::global(e.to_string())],
        Err(d) => d,
    };
    let mut out: BTreeMap<PathBuf, Vec<Value>> = BTreeMap::new();
    out.insert(path.to_path_buf(), Vec::new());
    for d in diags {
        let (file, text, start, end) = match d.span {
            Some(s) => {
                let f = sources.get(s.file);
                let file = f.path.clone().unwrap_or_else(|| path.to_path_buf());
                (file, f.text.as_str(), s.start as usize, s.end as usize)
            }
            None => (path.to_path_buf(), text, 0, 0),
        };
        let mut message = d.message.clone();
        if let Some(l) = &d.label {
            message.push_str(&format!("\n{l}"));
        }
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let related: Vec<Value> = d
            .secondary
            .iter()
            .map(|(span, label)| {
                let f = sources.get(span.file);
                let uri = uri_of(f.path.as_deref().unwrap_or(path));
                json!({"location": {"uri": uri, "range": range(&f.text, span.start as usize, span.end as usize)},
                    "message": label})
            })
            .collect();
        out.entry(file).or_default().push(json!({
            "range": range(text, start, end), "severity": 1, "source": "llmw",
            "message": message, "relatedInformation": related,
        }));
    }
    out
}

/// The hover at `at`: a name's one-line doc and default, a unit's meaning, or a param's value.
pub fn hover(text: &str, at: usize) -> Option<Value> {
    let (start, word) = word_at(text, at)?;
    let doc = match item(word) {
        Some(it) => describe(it),
        None if word.starts_with(|c: char| c.is_ascii_digit()) => {
            let unit =
                word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '_');
            describe(item(unit).filter(|i| i.kind == Kind::Unit)?)
        }
        None => {
            let (_, value) = params(text).into_iter().find(|(n, _)| n == word)?;
            format!("**param {word}** = `{value}`\n\noverride it with `--set {word}=…`")
        }
    };
    Some(json!({
        "contents": {"kind": "markdown", "value": doc},
        "range": range(text, start, start + word.len()),
    }))
}

fn describe(it: &crate::check::reference::Item) -> String {
    let kind = match it.kind {
        Kind::Block => "block",
        Kind::Field => "field",
        Kind::Function => "function",
        Kind::Unit => "unit",
    };
    let mut s = format!("**{}** ({kind}): {}", it.name, it.doc);
    if let Some(d) = it.default {
        s.push_str(&format!("\n\ndefault: {d}"));
    }
    s
}

/// The params declared in `text`: each name and its value as written.
fn params(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("param")?;
            let (name, value) = rest.split_once('=')?;
            let name = name.trim();
            let value = value.split('#').next().unwrap_or("").trim();
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (name.to_string(), value.to_string()))
        })
        .collect()
}

/// Where `at` is: the kinds of the blocks it is inside (outermost first; a map's `{` is
/// `"map"`), and the field whose value is being written, if the cursor is after its `=`.
fn context(text: &str, at: usize) -> (Vec<String>, Option<String>) {
    let before = &text[..at.min(text.len())];
    let mut stack: Vec<String> = Vec::new();
    let mut segment_start = 0;
    let mut in_string = false;
    let mut comment = false;
    for (i, c) in before.char_indices() {
        match c {
            '\n' => {
                comment = false;
                in_string = false;
            }
            _ if comment => {}
            '"' => in_string = !in_string,
            _ if in_string => {}
            '#' => comment = true,
            '{' => {
                let head = before[segment_start..i].trim_end();
                let kind = if head.ends_with(':') || head.ends_with('=') {
                    "map".to_string()
                } else {
                    // The block's kind: the head's first word (`class "c" weight 2`).
                    let words = head.rsplit(['\n', '{', '}']).next().unwrap_or("");
                    words.split_whitespace().next().unwrap_or("").to_string()
                };
                stack.push(kind);
                segment_start = i + 1;
            }
            '}' => {
                stack.pop();
                segment_start = i + 1;
            }
            _ => {}
        }
    }
    // The entry being written: from the last line start or brace, up to the cursor.
    let line_start = before.rfind(['\n', '{', '}']).map_or(0, |i| i + 1);
    let entry = &before[line_start..];
    let field = entry.rsplit_once('=').and_then(|(key, _)| {
        let key = key.split_whitespace().last()?;
        Some(key.to_string())
    });
    // A second entry on the line (`input = 10  ou|`) is a new field name, not a value.
    let field = field.filter(|_| {
        let after = entry.rsplit_once('=').map_or("", |(_, v)| v);
        after.split_whitespace().count() <= 1 || after.trim_end().ends_with([',', '(', ':'])
    });
    (stack, field)
}

/// The completions at `at`: the fields the enclosing block takes, or after a field's `=`, the
/// functions that fit it, its keywords, and the params.
pub fn completion(text: &str, at: usize) -> Value {
    let (stack, field) = context(text, at);
    let entry = |label: &str, kind: u32, detail: &str| json!({"label": label, "kind": kind, "detail": detail});
    let doc = |name: &str| item(name).map_or("", |i| i.doc);
    let items: Vec<Value> = match field {
        Some(f) => {
            let mut v: Vec<Value> = functions_for(&f)
                .into_iter()
                .map(|name| entry(name, 3, doc(name)))
                .collect();
            v.extend(keywords(&f).iter().map(|k| entry(k, 14, "")));
            v.extend(
                params(text)
                    .into_iter()
                    .map(|(n, value)| entry(&n, 6, &format!("param = {value}"))),
            );
            v
        }
        None => {
            let block = match stack.last().map(String::as_str) {
                None => "",
                Some("workload") => "",
                Some(k) => k,
            };
            fields_of(block)
                .into_iter()
                .map(|name| {
                    let kind = if item(name).is_some_and(|i| i.kind == Kind::Block) {
                        22
                    } else {
                        5
                    };
                    entry(name, kind, doc(name))
                })
                .collect()
        }
    };
    json!({"isIncomplete": false, "items": items})
}

/// The keywords a field's value may be.
fn keywords(field: &str) -> &'static [&'static str] {
    match field {
        "api" => &["chat", "completions", "responses", "messages", "embeddings"],
        "history" => &["planned", "live"],
        "spread" => &["session", "round_robin", "class"],
        "tool_choice" => &["auto", "required", "none"],
        "image_format" => &["jpeg", "png"],
        "prompt_tokens" => &["exact", "text"],
        "stream" | "ignore_eos" | "measure" | "verify" | "jitter" => &["true", "false"],
        "prefix" | "system" => &["none"],
        _ => &[],
    }
}

/// Where the name at `at` is defined: a param's declaration, a class's or session's first
/// declaration, or the file an `include` names; each as `(path, byte range)` for the caller to
/// turn into a location (the included file read from disk when it is another file).
pub fn definition(path: &Path, text: &str, at: usize) -> Option<(PathBuf, String, usize, usize)> {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| at + i);
    let line = &text[line_start..line_end];
    // `include "file"`, or a block's label `"name"`: the string under the cursor.
    if let Some((open, close)) = string_around(line, at - line_start) {
        let inner = &line[open + 1..close];
        let head = line[..open].trim();
        if head == "include" {
            let file = path.parent().unwrap_or(Path::new("")).join(inner);
            // As an include is read: a regular file of at most 1 MiB (never a device).
            let other = crate::check::read_source(&file).ok()?;
            return Some((file, other, 0, 0));
        }
        if matches!(head.split_whitespace().last(), Some("class" | "session")) {
            // The first declaration in file order, an included file's at its `include`.
            return declaration(path, text, inner, 0);
        }
        return None;
    }
    let (_, word) = word_at(text, at)?;
    let mut from = 0;
    while let Some(i) = text[from..].find("param") {
        let at_param = from + i;
        let rest = &text[at_param + 5..];
        let name = rest.trim_start();
        let name_at = at_param + 5 + (rest.len() - name.len());
        let len = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        if &name[..len] == word && at_line_start(text, at_param) {
            return Some((path.to_path_buf(), text.to_string(), name_at, name_at + len));
        }
        from = at_param + 5;
    }
    None
}

/// The first `class "name"` or `session "name"` declaration in `text` (the file at `path`) in
/// the order `check` reads it: a line (or a one-line block's field) that begins with it, not a
/// comment's words, or one in a file an earlier `include` line names (read as `check` reads
/// it). Its label's place, as a definition.
fn declaration(
    path: &Path,
    text: &str,
    name: &str,
    depth: usize,
) -> Option<(PathBuf, String, usize, usize)> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split('#').next().unwrap_or("").trim_start();
        let lead = line.len() - line.trim_start().len();
        for kind in ["class", "session"] {
            if code.starts_with(&format!("{kind} \"{name}\"")) {
                let start = at + lead + kind.len() + 1;
                return Some((
                    path.to_path_buf(),
                    text.to_string(),
                    start,
                    start + name.len() + 2,
                ));
            }
        }
        let included = code
            .strip_prefix("include")
            .and_then(|r| r.trim_start().strip_prefix('"'))
            .and_then(|r| r.split('"').next());
        // An include's own includes are followed too, to a depth that stops a cycle (which
        // `check` reports).
        if let Some(file) = included.filter(|_| depth < 16) {
            let file = path.parent().unwrap_or(Path::new("")).join(file);
            if let Ok(body) = crate::check::read_source(&file) {
                if let Some(found) = declaration(&file, &body, name, depth + 1) {
                    return Some(found);
                }
            }
        }
        at += line.len();
    }
    None
}

fn at_line_start(text: &str, i: usize) -> bool {
    text[..i]
        .rsplit('\n')
        .next()
        .is_some_and(|l| l.trim().is_empty())
}

/// The quotes around column `col` of `line`, if it is inside a string.
fn string_around(line: &str, col: usize) -> Option<(usize, usize)> {
    let quotes: Vec<usize> = line.match_indices('"').map(|(i, _)| i).collect();
    quotes
        .chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| (p[0], p[1]))
        .find(|(a, b)| *a <= col && col <= *b)
}

/// The edits that format the whole document (none when it is formatted already), or `None`
/// when it does not parse.
pub fn formatting(text: &str) -> Option<Value> {
    let formatted = crate::layout::format(text).ok()?;
    if formatted == text {
        return Some(json!([]));
    }
    Some(json!([{"range": range(text, 0, text.len()), "newText": formatted}]))
}

/// The byte offset of a protocol position in `text`.
pub fn at(text: &str, params: &Value) -> usize {
    let line = params
        .pointer("/position/line")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32;
    let ch = params
        .pointer("/position/character")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32;
    offset(text, line, ch)
}

/// A definition as a protocol location.
pub fn location(found: (PathBuf, String, usize, usize)) -> Value {
    let (file, text, start, end) = found;
    json!({"uri": uri_of(&file), "range": range(&text, start, end)})
}
