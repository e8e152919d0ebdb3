//! `llmw fmt`: the one canonical layout of a `.llmw` source. Every word (names, numbers with
//! their units as written, strings) and every comment is kept; what changes is the space
//! between them:
//!
//! - two spaces of indent per open `{`, `(` or `[`, a closer at its opener's depth;
//! - one space around `=` and the comparisons, after `,` and `:`, inside a one-line `{ … }`,
//!   none inside `( )` and `[ ]`, before `,` `:` `(` (a call), or around `..`;
//! - two spaces between the fields of a one-line block (`{ input = 10  output = 5 }`);
//! - the `=` of consecutive one-line fields of a block aligned (as `terraform fmt` does), and
//!   the trailing comments of consecutive lines aligned two spaces past the longest code;
//! - at most one blank line, none after a `{` or before a `}`, none at either end; `\n` line
//!   ends, no trailing spaces, a final newline.
//!
//! Lines are never joined or split, so a file keeps its shape (one field a line, or one-line
//! blocks) and the layout is a fixed point: formatting twice equals formatting once. Only text
//! the parser accepts is formatted ([`format`] says why not otherwise), so the words, and with
//! them the plan, are those of the original.

mod lex;

use lex::Token;

/// `text` in the canonical layout, or the diagnostics that keep it from being formatted (it
/// does not parse).
pub fn format(text: &str) -> Result<String, Vec<crate::diag::Diagnostic>> {
    let mut sources = crate::source::Sources::new();
    let id = sources.add("-".into(), None, text.to_string());
    let (ast, mut diags) = crate::syntax::parse(id, text);
    // A line no rule accepts is kept in the tree as broken: its text is not formatted either.
    broken(&ast.entries, &mut diags);
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(layout(text))
}

/// The broken lines among `entries`, at any depth, as diagnostics.
fn broken(entries: &[crate::syntax::Entry], diags: &mut Vec<crate::diag::Diagnostic>) {
    for e in entries {
        match e {
            crate::syntax::Entry::Broken { message, span } => {
                diags.push(crate::diag::Diagnostic::error(*span, message.clone()));
            }
            crate::syntax::Entry::Block(b) => broken(&b.entries, diags),
            _ => {}
        }
    }
}

/// One source line: its code tokens, its comment, the bracket depth it starts at, and what it
/// opens.
struct Line<'a> {
    tokens: Vec<Token<'a>>,
    comment: Option<&'a str>,
    depth: usize,
    /// The code starts inside a block (or at the top), not inside a call, list or map.
    in_block: bool,
    /// Every bracket the line opens it also closes.
    balanced: bool,
    /// For each `{` of the line, in order: a block's (not a map's).
    blocks: Vec<bool>,
}

/// What an open bracket is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Block,
    /// A map's `{`, a call's `(`, a list's `[`.
    Value,
}

fn layout(text: &str) -> String {
    let lines = kept(lines(text));
    let code: Vec<String> = lines.iter().map(code_text).collect();
    // Runs of aligned `=` and comments are found among the lines kept, so that a second pass
    // (with no blank line left to drop) finds the same runs.
    let code = align_equals(&lines, code);
    let comment_at = comment_columns(&lines, &code);
    let mut out = String::with_capacity(text.len());
    for (k, line) in lines.iter().enumerate() {
        let indent = "  ".repeat(line.depth);
        let mut l = format!("{indent}{}", code[k]);
        if let Some(c) = line.comment {
            if line.tokens.is_empty() {
                l.push_str(c);
            } else {
                let width = l.chars().count();
                let at = comment_at[k].max(width + 2);
                l.push_str(&" ".repeat(at - width));
                l.push_str(c);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

/// The lines to print: blank lines gone but for one where a run of them stood between two
/// lines, unless it follows a line whose code opens a block or precedes one that closes it
/// (and none at the ends).
fn kept(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut blank = false;
    for line in lines {
        if line.tokens.is_empty() && line.comment.is_none() {
            blank = true;
            continue;
        }
        let after_open = out
            .last()
            .is_none_or(|l| matches!(l.tokens.last(), Some(Token::Punct("{"))));
        let closes = matches!(line.tokens.first(), Some(Token::Punct("}")));
        if blank && !after_open && !closes {
            out.push(Line {
                tokens: Vec::new(),
                comment: None,
                depth: line.depth,
                in_block: line.in_block,
                balanced: true,
                blocks: Vec::new(),
            });
        }
        blank = false;
        out.push(line);
    }
    out
}

/// The source's lines, each with the depth and context it starts in.
fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut current = Line {
        tokens: Vec::new(),
        comment: None,
        depth: 0,
        in_block: true,
        balanced: true,
        blocks: Vec::new(),
    };
    // The last code token, across lines: what a `{` follows.
    let mut prev: Option<Token> = None;
    let mut opened_at = 0usize;
    for t in lex::tokens(text) {
        match t {
            Token::Newline => {
                current.balanced = stack.len() <= opened_at;
                let next = Line {
                    tokens: Vec::new(),
                    comment: None,
                    depth: stack.len(),
                    in_block: stack.last().is_none_or(|o| *o == Open::Block),
                    balanced: true,
                    blocks: Vec::new(),
                };
                out.push(std::mem::replace(&mut current, next));
                opened_at = stack.len();
                continue;
            }
            Token::Comment(c) => current.comment = Some(c),
            Token::Punct(p @ ("}" | ")" | "]")) => {
                stack.pop();
                if current.tokens.is_empty() {
                    current.depth = stack.len();
                    current.in_block = stack.last().is_none_or(|o| *o == Open::Block);
                    opened_at = stack.len();
                }
                current.tokens.push(Token::Punct(p));
            }
            Token::Punct(p @ ("{" | "(" | "[")) => {
                // A `{` after `:`, `=`, `(`, `[` or `,` is a map's.
                let value =
                    p != "{" || matches!(prev, Some(Token::Punct(":" | "=" | "(" | "[" | ",")));
                stack.push(if value { Open::Value } else { Open::Block });
                if p == "{" {
                    current.blocks.push(!value);
                }
                current.tokens.push(t);
            }
            _ => current.tokens.push(t),
        }
        if !matches!(t, Token::Comment(_)) {
            prev = Some(t);
        }
    }
    current.balanced = stack.len() <= opened_at;
    out.push(current);
    out
}

/// A line's code, spaced canonically (without its indent or comment).
fn code_text(line: &Line) -> String {
    let mut out = String::new();
    // The context at each token: inside a block, or a value's brackets.
    let mut stack: Vec<bool> = Vec::new();
    let mut blocks = line.blocks.iter();
    let t = &line.tokens;
    for (i, tok) in t.iter().enumerate() {
        let in_block = stack.last().copied().unwrap_or(line.in_block);
        if i > 0 {
            out.push_str(space(t[i - 1], *tok, in_block && entry_start(t, i)));
        }
        let text = match tok {
            Token::Word(w) | Token::Punct(w) | Token::Comment(w) => *w,
            Token::Newline => "",
        };
        out.push_str(text);
        match tok {
            Token::Punct("{") => stack.push(blocks.next().copied().unwrap_or(true)),
            Token::Punct("(" | "[") => stack.push(false),
            Token::Punct("}" | ")" | "]") => {
                stack.pop();
            }
            _ => {}
        }
    }
    out
}

/// Whether token `i` begins a new entry of a block: a name followed by `=`, a comparison, a
/// block's `{` or label, or `param`/`include` (not after `weight`, whose value may be a name).
fn entry_start(t: &[Token], i: usize) -> bool {
    let Token::Word(w) = t[i] else {
        return false;
    };
    if !w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return false;
    }
    if i > 0 && matches!(t[i - 1], Token::Word("weight" | "param")) {
        return false;
    }
    matches!(w, "param" | "include")
        || match t.get(i + 1) {
            Some(Token::Punct("=" | "<" | ">" | "<=" | ">=" | "{")) => true,
            Some(Token::Word(next)) => next.starts_with('"'),
            _ => false,
        }
}

/// The space between two tokens of a line; `entry` when `b` begins another entry of a block.
fn space(a: Token, b: Token, entry: bool) -> &'static str {
    use Token::Punct as P;
    match (a, b) {
        (P("(" | "["), _) | (_, P(")" | "]" | "," | ":")) => "",
        (P(".."), _) | (_, P("..")) => "",
        (Token::Word(_), P("(")) => "",
        (P("{"), P("}")) => "",
        (_, Token::Word(_)) if entry && !matches!(a, P("," | "{")) => "  ",
        _ => " ",
    }
}

/// `code` with the `=` of each run of consecutive one-field lines of a block aligned: lines of
/// one depth, each `name = value` (or `param name = value`) alone, balanced, with no blank,
/// comment-only or other line between.
fn align_equals(lines: &[Line], mut code: Vec<String>) -> Vec<String> {
    let key_len = |line: &Line| -> Option<usize> {
        if !line.in_block || !line.balanced {
            return None;
        }
        let t = &line.tokens;
        let eq = t.iter().position(|x| *x == Token::Punct("="))?;
        let key = match &t[..eq] {
            [Token::Word(k)] => k.chars().count(),
            [Token::Word("param"), Token::Word(k)] => 6 + k.chars().count(),
            _ => return None,
        };
        // One field alone on its line.
        let more = (eq + 1..t.len()).any(|i| entry_start(t, i));
        (!more).then_some(key)
    };
    let mut k = 0;
    while k < lines.len() {
        let Some(first) = key_len(&lines[k]) else {
            k += 1;
            continue;
        };
        let mut end = k + 1;
        let mut width = first;
        while end < lines.len() && lines[end].depth == lines[k].depth {
            match key_len(&lines[end]) {
                Some(w) => width = width.max(w),
                None => break,
            }
            end += 1;
        }
        for (line, c) in lines[k..end].iter().zip(&mut code[k..end]) {
            if let Some(w) = key_len(line) {
                if let Some(at) = c.find(" = ") {
                    *c = format!("{}{} = {}", &c[..at], " ".repeat(width - w), &c[at + 3..]);
                }
            }
        }
        k = end;
    }
    code
}

/// The column each line's trailing comment starts at: for each run of consecutive lines with
/// code and a comment, two past the run's longest code (indent included).
fn comment_columns(lines: &[Line], code: &[String]) -> Vec<usize> {
    let width = |k: usize| 2 * lines[k].depth + code[k].chars().count();
    let has = |k: usize| lines[k].comment.is_some() && !lines[k].tokens.is_empty();
    let mut out = vec![0; lines.len()];
    let mut k = 0;
    while k < lines.len() {
        if !has(k) {
            k += 1;
            continue;
        }
        let mut end = k;
        while end < lines.len() && has(end) {
            end += 1;
        }
        let at = (k..end).map(width).max().unwrap_or(0) + 2;
        out[k..end].iter_mut().for_each(|c| *c = at);
        k = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_indent_alignment_and_blank_lines() {
        let src = "workload \"w\"{\n\n\n   seed=3 # the seed\n  description   =    \"x\"   # what\n\n\n\n  class \"c\" weight 2 {input=uniform( 1 ,4 )clamp 1..10 output = 5}\n  phase \"p\" {\n\n    duration = 10s\n    arrival = poisson(rate : 8/s)\n\n  }\n}\n\n";
        let want = "workload \"w\" {\n  seed        = 3    # the seed\n  description = \"x\"  # what\n\n  class \"c\" weight 2 { input = uniform(1, 4) clamp 1..10  output = 5 }\n  phase \"p\" {\n    duration = 10s\n    arrival  = poisson(rate: 8/s)\n  }\n}\n";
        let got = format(src).expect("parses");
        assert_eq!(got, want);
        assert_eq!(format(&got).expect("parses"), got, "a fixed point");
    }

    #[test]
    fn maps_slo_lines_and_multi_line_calls() {
        let src = "workload \"w\" {\nslo { ttft.p99<2s errors < 1% }\nphase \"p\" {\narrival = trace(\"t.csv\", format: csv,\ncolumns: {at: \"t\", input: \"i\", output: \"o\"})\n}\n}\n";
        let want = "workload \"w\" {\n  slo { ttft.p99 < 2s  errors < 1% }\n  phase \"p\" {\n    arrival = trace(\"t.csv\", format: csv,\n      columns: { at: \"t\", input: \"i\", output: \"o\" })\n  }\n}\n";
        let got = format(src).expect("parses");
        assert_eq!(got, want);
        assert_eq!(format(&got).expect("parses"), got);
    }

    #[test]
    fn blank_lines_dropped_before_a_brace_do_not_move_comments_on_a_second_pass() {
        for src in [
            "workload \"w\" {\n  seed = 1  # a\n\n}  # b\n",
            "workload \"w\" {\n  seed = 1  # {\n\n  description = \"d\"\n}\n",
        ] {
            let once = format(src).expect("parses");
            assert_eq!(format(&once).expect("parses"), once, "{src:?}");
        }
        let kept = format("workload \"w\" {\n  seed = 1  # {\n\n  description = \"d\"\n}\n")
            .expect("parses");
        assert!(
            kept.contains("# {\n\n  description"),
            "a comment's brace opens nothing: {kept}"
        );
    }

    #[test]
    fn text_that_does_not_parse_is_not_formatted() {
        assert!(format("workload \"w\" {\n  seed = \n").is_err());
    }
}
