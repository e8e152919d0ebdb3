//! One record per planned request: `jsonl` (one JSON object a line) and `csv`.

use std::io::{self, Write};

use super::rows::{for_each_row, ClosedPreview};
use crate::fmt::{json_str, secs};
use crate::schedule::{PlannedRequest, Schedule};

/// Field names, in order; `jsonl` and `csv` share them.
pub const FIELDS: [&str; 13] = [
    "id",
    "phase",
    "step",
    "class",
    "at",
    "input_tokens",
    "output_tokens",
    "prefix_group",
    "prefix_tokens",
    "think",
    "session",
    "turn",
    "branch",
];

/// Names pre-rendered once per phase and class, so the per-row work is only numbers.
struct Names {
    phases: Vec<String>,
    classes: Vec<String>,
}

impl Names {
    fn new(s: &Schedule, quote: fn(&str) -> String) -> Names {
        Names {
            phases: s.phases.iter().map(|p| quote(&p.name)).collect(),
            classes: s.classes.iter().map(|c| quote(c)).collect(),
        }
    }
}

fn opt<T: ToString>(v: Option<T>, none: &str) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| none.to_string())
}

/// `,"api":…,"model":…` where the request's class (or its trace row) names its own API or
/// model, and `,"images":["512x512",…]` where it sends images (other plans list as they always
/// did).
fn form(s: &Schedule, r: &PlannedRequest) -> String {
    let mut out = String::new();
    let class = s.class_plan(r).filter(|c| !c.form.is_plain());
    let said = s.recorded_of(r);
    if class.is_none() && said.is_none() {
        return out;
    }
    out.push_str(&format!(",\"api\":\"{}\"", s.api_of(r).as_str()));
    if let Some(m) = s.model_of(r) {
        out.push_str(&format!(",\"model\":{}", json_str(m)));
    }
    let images = class.is_some_and(|c| c.form.images.is_some());
    if images || said.is_some_and(|x| x.images.is_some()) {
        let sizes: Vec<String> = s
            .images_of(r)
            .iter()
            .map(|(w, h)| format!("\"{w}x{h}\""))
            .collect();
        out.push_str(&format!(",\"images\":[{}]", sizes.join(",")));
    }
    out
}

fn row(
    out: &mut impl Write,
    form: &str,
    r: &PlannedRequest,
    names: &Names,
    json: bool,
) -> io::Result<()> {
    let none = if json { "null" } else { "" };
    let phase = &names.phases[r.phase as usize];
    let class = &names.classes[r.class as usize];
    let at = opt(r.at_ns.map(secs), none);
    let group = opt(r.prefix_group, none);
    let think = opt(r.think_ns.map(secs), none);
    let (session, turn, branch) = (
        opt(r.session.map(|t| t.id), none),
        opt(r.session.map(|t| t.turn), none),
        opt(r.session.map(|t| t.branch), none),
    );
    if json {
        // Session fields only on session requests, so other plans list as they always did.
        let conversation = if r.session.is_some() {
            format!(",\"session\":{session},\"turn\":{turn},\"branch\":{branch}")
        } else {
            String::new()
        };

        writeln!(
            out,
            "{{\"id\":{},\"phase\":{phase},\"step\":{},\"class\":{class},\"at\":{at},\"input_tokens\":{},\"output_tokens\":{},\"prefix_group\":{group},\"prefix_tokens\":{},\"think\":{think}{conversation}{form}}}",
            r.id, r.step, r.input_tokens, r.output_tokens, r.prefix_tokens
        )
    } else {
        writeln!(
            out,
            "{},{phase},{},{class},{at},{},{},{group},{},{think},{session},{turn},{branch}",
            r.id, r.step, r.input_tokens, r.output_tokens, r.prefix_tokens
        )
    }
}

pub fn write_jsonl(out: &mut impl Write, s: &Schedule, preview: ClosedPreview) -> io::Result<()> {
    let names = Names::new(s, json_str);
    let mut result = Ok(());
    for_each_row(s, preview, |r, _, _| {
        if result.is_ok() {
            result = row(out, &form(s, r), r, &names, true);
        }
    });
    result
}

pub fn write_jsonl_with_prompts(
    out: &mut impl Write,
    s: &Schedule,
    preview: ClosedPreview,
) -> io::Result<()> {
    let names = Names::new(s, json_str);
    let mut result = Ok(());
    let mut buf = Vec::new();
    for_each_row(s, preview, |r, unit, i| {
        if result.is_err() {
            return;
        }
        buf.clear();
        // Writing to a Vec cannot fail; the row ends in "}\n": extend the object.
        let _ = row(&mut buf, &form(s, r), r, &names, true);
        buf.truncate(buf.len().saturating_sub(2));
        let prompt = match r.session {
            Some(_) => crate::prompt::conversation(s, unit, i, None).0,
            None => crate::prompt::of(s, r),
        };
        let prompt = match (s.api_of(r), prompt) {
            // What the completions API is sent: the conversation as one text.
            (crate::schedule::Api::Completions, p @ crate::prompt::Prompt::Conversation(_)) => {
                serde_json::Value::String(p.text())
            }
            (_, p) => p.to_json(),
        };
        result = out
            .write_all(&buf)
            .and_then(|_| writeln!(out, ",\"prompt\":{prompt}}}"));
    });
    result
}

pub fn write_csv(out: &mut impl Write, s: &Schedule, preview: ClosedPreview) -> io::Result<()> {
    let names = Names::new(s, csv_field);
    writeln!(out, "{}", FIELDS.join(","))?;
    let mut result = Ok(());
    for_each_row(s, preview, |r, _, _| {
        if result.is_ok() {
            result = row(out, "", r, &names, false);
        }
    });
    result
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A row rendered as JSON (used by the `json` format for its `requests` array).
pub fn json_row(r: &PlannedRequest, s: &Schedule) -> String {
    let names = Names {
        phases: vec![json_str(&s.phases[r.phase as usize].name)],
        classes: vec![json_str(&s.classes[r.class as usize])],
    };
    let local = PlannedRequest {
        phase: 0,
        class: 0,
        ..*r
    };
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = row(&mut buf, &form(s, r), &local, &names, true);
    String::from_utf8_lossy(&buf).trim_end().to_string()
}
