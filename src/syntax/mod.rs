//! Parsing: source text → [`Ast`].
//!
//! The pest grammar in `grammar/llmw.pest` is the single source of the syntax; this module runs
//! it and builds the AST (`build`), turning pest's errors into [`Diagnostic`]s in plain words
//! (`rule_names`). A line that no rule accepts becomes an [`Entry::Broken`] so that parsing goes
//! on and one run reports every broken line.

pub mod ast;
mod build;
mod rule_names;

pub use ast::*;

use pest::Parser;
use pest_derive::Parser;

use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

#[derive(Parser)]
#[grammar = "../grammar/llmw.pest"]
pub(crate) struct LlmwParser;

/// Deeper nesting than this is refused before parsing, so no input can exhaust the stack.
const MAX_NESTING: usize = 64;
/// Rule calls one parse may make. The grammar backtracks (a block without its `}` is tried to
/// the end of the file before the line is taken as broken), so a tangled file could otherwise
/// take minutes; unbalanced braces are caught before parsing, and this bounds the rest (a valid
/// 1 MiB file takes a few million calls).
const MAX_CALLS: usize = 50_000_000;

/// Parses one file. Always returns an AST (possibly partial) and the syntax errors found.
pub fn parse(file: FileId, text: &str) -> (Ast, Vec<Diagnostic>) {
    let empty = Ast {
        workload: None,
        entries: Vec::new(),
        span: Span::new(file, 0, text.len()),
    };
    if let Some(at) = too_deep(text) {
        let d = Diagnostic::error(
            Span::new(file, at, at + 1),
            format!("nesting deeper than {MAX_NESTING} levels"),
        );
        return (empty, vec![d]);
    }
    if let Some((at, what)) = unbalanced_brace(text) {
        let d = Diagnostic::error(Span::new(file, at, at + 1), what.to_string()).label(
            if what.contains("never closed") {
                "opened here"
            } else {
                "closes nothing"
            },
        );
        return (empty, vec![d]);
    }
    pest::set_call_limit(std::num::NonZeroUsize::new(MAX_CALLS));
    match LlmwParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let mut builder = build::Builder::new(file, text, 0);
            let ast = match pairs.next() {
                Some(pair) => builder.file(pair),
                None => empty,
            };
            (ast, builder.diags)
        }
        Err(e) if matches!(&e.variant, pest::error::ErrorVariant::CustomError { message } if message.contains("call limit")) => {
            (
                empty,
                vec![Diagnostic::error(
                    Span::new(file, 0, 0),
                    format!("this file is too tangled to parse (over {MAX_CALLS} parser steps)"),
                )
                .help("look for a block whose braces or quotes do not pair up")],
            )
        }
        Err(e) => {
            // pest reports where its longest attempt failed, which for a block named without
            // quotes is far from the mistake (often the file's last brace): say it plainly.
            let d = match unquoted_name(text) {
                Some((start, end, keyword)) => Diagnostic::error(
                    Span::new(file, start, end),
                    format!("a {keyword}'s name is a string"),
                )
                .label("quote it")
                .help(format!(
                    "write {keyword} \"{}\" {{ ... }}",
                    &text[start..end]
                )),
                None => rule_names::to_diagnostic(file, 0, text.len(), e),
            };
            (empty, vec![d])
        }
    }
}

/// The first `workload`, `phase`, `class` or `session` named by a bare word rather than a string
/// (`phase warmup {`): the word's byte range and the keyword. Only asked once parsing failed.
fn unquoted_name(text: &str) -> Option<(usize, usize, &'static str)> {
    const NAMED: [&str; 4] = ["workload", "phase", "class", "session"];
    // Words and single punctuation characters outside strings and comments (a string leaves no
    // token, so `phase "p" {` reads as `phase {`).
    let mut tokens: Vec<(usize, usize)> = Vec::new();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut word: Option<usize> = None;
    let mut last = 0;
    scan_code(text, |i, c| {
        if is_word(c) {
            if word.is_none() || last + 1 != i {
                if let Some(start) = word {
                    tokens.push((start, last + 1));
                }
                word = Some(i);
            }
            last = i;
        } else {
            if let Some(start) = word.take() {
                tokens.push((start, last + 1));
            }
            if !c.is_whitespace() {
                tokens.push((i, i + c.len_utf8()));
            }
        }
        None::<()>
    });
    if let Some(start) = word {
        tokens.push((start, last + 1));
    }
    let word_at = |k: usize| tokens.get(k).map(|&(a, b)| &text[a..b]);
    (0..tokens.len()).find_map(|k| {
        let keyword = NAMED.iter().find(|n| word_at(k) == Some(**n))?;
        let name = word_at(k + 1)?;
        let named = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name != "weight";
        let opens = matches!(word_at(k + 2), Some("{") | Some("weight"));
        (named && opens).then(|| (tokens[k + 1].0, tokens[k + 1].1, *keyword))
    })
}

/// Parses the value of a `--set NAME=VALUE` argument (already registered as its own source).
pub fn parse_expr(file: FileId, text: &str, offset: usize) -> Result<Expr, Diagnostic> {
    if let Some(at) = too_deep(text) {
        return Err(Diagnostic::error(
            Span::new(file, offset + at, offset + at + 1),
            format!("nesting deeper than {MAX_NESTING} levels"),
        ));
    }
    let mut pairs = LlmwParser::parse(Rule::expr_only, text)
        .map_err(|e| rule_names::to_diagnostic(file, offset, text.len(), e))?;
    let mut builder = build::Builder::new(file, text, offset);
    let expr_only = pairs.next().ok_or_else(|| {
        Diagnostic::error(
            Span::new(file, offset, offset + text.len()),
            "expected a value",
        )
    })?;
    let expr = expr_only
        .into_inner()
        .next()
        .map(|p| builder.expr(p))
        .ok_or_else(|| {
            Diagnostic::error(
                Span::new(file, offset, offset + text.len()),
                "expected a value",
            )
        })?;
    match builder.diags.into_iter().next() {
        Some(d) => Err(d),
        None => Ok(expr),
    }
}

/// Calls `visit` with every character outside strings and comments, with its byte offset,
/// until it returns `Some`.
fn scan_code<T>(text: &str, mut visit: impl FnMut(usize, char) -> Option<T>) -> Option<T> {
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
        } else {
            match c {
                '#' => in_comment = true,
                '"' => in_string = true,
                _ => {
                    if let Some(found) = visit(i, c) {
                        return Some(found);
                    }
                }
            }
        }
    }
    None
}

/// The first `}` that closes nothing, or else the innermost `{` never closed.
fn unbalanced_brace(text: &str) -> Option<(usize, &'static str)> {
    let mut open: Vec<usize> = Vec::new();
    let stray = scan_code(text, |i, c| match c {
        '{' => {
            open.push(i);
            None
        }
        '}' if open.pop().is_none() => Some((i, "this '}' closes no '{'")),
        _ => None,
    });
    stray.or_else(|| open.last().map(|at| (*at, "this '{' is never closed")))
}

/// The byte offset where bracket nesting first exceeds [`MAX_NESTING`], ignoring strings and
/// comments.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    scan_code(text, |i, c| {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        None
    })
}
