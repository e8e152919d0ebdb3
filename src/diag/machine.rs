//! Diagnostics for tools: one JSON object each (`llmw check --format json`: file, 1-based line
//! and column of the span's start and end, the byte span, severity, message, label, help and
//! the secondary places) and GitHub Actions workflow commands (`--format github`), which CI
//! shows as annotations on the lines of a pull request.

use serde_json::{json, Value};

use super::Diagnostic;
use crate::source::{Sources, Span};

/// Where a span is, for tools: its file's name, 1-based start and end line and column
/// (characters), and its byte range.
fn place(sources: &Sources, span: Span) -> Value {
    let (line, column) = sources.line_col(span.file, span.start);
    let (end_line, end_column) = sources.line_col(span.file, span.end);
    json!({
        "file": sources.get(span.file).name,
        "line": line, "column": column, "end_line": end_line, "end_column": end_column,
        "span": {"start": span.start, "end": span.end},
    })
}

/// Every diagnostic as a JSON object (a diagnostic of no place is `file`'s, the rest `null`).
pub fn json(sources: &Sources, diags: &[Diagnostic], file: Option<&str>) -> Vec<Value> {
    diags
        .iter()
        .map(|d| {
            let mut v = match d.span {
                Some(span) => place(sources, span),
                None => json!({"file": file, "line": null, "column": null,
                    "end_line": null, "end_column": null, "span": null}),
            };
            v["severity"] = json!("error");
            v["message"] = json!(d.message);
            v["label"] = json!(d.label);
            v["help"] = json!(d.help);
            v["related"] = d
                .secondary
                .iter()
                .map(|(span, label)| {
                    let mut p = place(sources, *span);
                    p["message"] = json!(label);
                    p
                })
                .collect();
            v
        })
        .collect()
}

/// Every diagnostic as a GitHub Actions `::error` workflow command, one a line: its place as
/// `file`, `line`, `col`, `endLine`, `endColumn`, its message with the label and help after it
/// (the properties and the message escaped as GitHub reads them). A diagnostic of no place is
/// `file`'s.
pub fn github(sources: &Sources, diags: &[Diagnostic], file: Option<&str>) -> String {
    let mut out = String::new();
    for d in diags {
        let mut props = Vec::new();
        if let Some(span) = d.span {
            let (line, col) = sources.line_col(span.file, span.start);
            let (end_line, end_col) = sources.line_col(span.file, span.end);
            props.push(format!("file={}", property(&sources.get(span.file).name)));
            props.push(format!("line={line},col={col}"));
            props.push(format!("endLine={end_line},endColumn={end_col}"));
        } else if let Some(f) = file {
            props.push(format!("file={}", property(f)));
        }
        props.push("title=llmw check".into());
        let mut text = d.message.clone();
        for (what, part) in [("", &d.label), ("help: ", &d.help)] {
            if let Some(p) = part {
                text.push_str(&format!("\n{what}{p}"));
            }
        }
        out.push_str(&format!(
            "::error {}::{}\n",
            props.join(","),
            message(&text)
        ));
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped.
fn message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: the message's escapes, and `:` and `,`.
fn property(s: &str) -> String {
    message(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> (Sources, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let text = "workload \"w\" {\n  seed = x\n}\n";
        let id = sources.add("a,b.llmw".into(), None, text.into());
        let at = text.find('x').expect("x");
        let d = Diagnostic::error(Span::new(id, at, at + 1), "50% wrong: seed")
            .label("not a number")
            .help("seed = 7");
        (sources, vec![d, Diagnostic::global("no place")])
    }

    #[test]
    fn json_gives_each_place_one_based_with_its_byte_span() {
        let (sources, diags) = one();
        let v = json(&sources, &diags, None);
        assert_eq!(v[0]["file"], "a,b.llmw");
        assert_eq!(
            (v[0]["line"].clone(), v[0]["column"].clone()),
            (json!(2), json!(10))
        );
        assert_eq!(
            (v[0]["end_line"].clone(), v[0]["end_column"].clone()),
            (json!(2), json!(11))
        );
        assert_eq!(v[0]["span"], json!({"start": 24, "end": 25}));
        assert_eq!(v[0]["help"], "seed = 7");
        assert_eq!(v[1]["file"], Value::Null);
        assert_eq!(v[1]["message"], "no place");
    }

    #[test]
    fn github_escapes_what_its_commands_read() {
        let (sources, diags) = one();
        let out = github(&sources, &diags, None);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "::error file=a%2Cb.llmw,line=2,col=10,endLine=2,endColumn=11,title=llmw check::50%25 wrong: seed%0Anot a number%0Ahelp: seed = 7"
        );
        assert_eq!(lines[1], "::error title=llmw check::no place");
        let named = github(&sources, &diags[1..], Some("w.llmw"));
        assert_eq!(named, "::error file=w.llmw,title=llmw check::no place\n");
    }
}
