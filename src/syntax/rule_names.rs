//! Grammar rules in words a user knows, and pest errors turned into [`Diagnostic`]s.
//!
//! The table is an exhaustive match with no `_` arm: a new grammar rule does not compile until it
//! has a name here, so an error can never read "expected map_entry".

use pest::error::{ErrorVariant, InputLocation};

use super::Rule;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

fn human(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::WHITESPACE | Rule::COMMENT => "a space",
        Rule::ident_char => "a letter, digit or _",
        Rule::digits => "digits",
        Rule::primary | Rule::range_end => "a value",
        Rule::entry => "an item",
        Rule::ident => "a name",
        Rule::string | Rule::string_body => "a string like \"text\"",
        Rule::number => "a number",
        Rule::unit => "a unit (ms, s, m, h, /s, /m, /h, %, x)",
        Rule::quantity => "a quantity like 30s or 8/s",
        Rule::bad_unit | Rule::bad_unit_text => "a unit",
        Rule::kw_true | Rule::kw_false | Rule::boolean => "true or false",
        Rule::kw_clamp => "'clamp'",
        Rule::kw_weight => "'weight'",
        Rule::kw_param => "'param'",
        Rule::kw_include => "'include'",
        Rule::kw_workload => "'workload'",
        Rule::expr | Rule::expr_only => "a value",
        Rule::range => "a range like 16..4096",
        Rule::call => "a call like poisson(rate: 8/s)",
        Rule::arg => "an argument",
        Rule::arg_key => "an argument name",
        Rule::list => "a list like [1, 2]",
        Rule::map => "a map like { \"key\": \"value\" }",
        Rule::map_entry => "a map entry like \"key\": \"value\"",
        Rule::entries => "items",
        Rule::param => "a param like `param rate = 8/s`",
        Rule::include => "an include like `include \"common.llmw\"`",
        Rule::assign => "a setting like `duration = 30s`",
        Rule::block => "a block like `phase \"name\" { ... }`",
        Rule::objective => "an objective like `ttft.p99 < 2s`",
        Rule::cmp_op => "a comparison (<, <=, >, >=)",
        Rule::bad_line => "an item",
        Rule::workload => "`workload \"name\" { ... }`",
        Rule::file => "a workload file",
        Rule::line_only => "an item",
    }
}

/// Converts a pest error into a diagnostic; `offset` shifts positions when the text parsed was a
/// slice of a larger file.
pub(crate) fn to_diagnostic(
    file: FileId,
    offset: usize,
    text_len: usize,
    err: pest::error::Error<Rule>,
) -> Diagnostic {
    let (start, end) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let found = found_at(err.line(), err.line_col.clone(), start);
    let message = match &err.variant {
        _ if unterminated_string(&rest_of_line(err.line(), err.line_col.clone())) => {
            "unterminated string: add the closing \"".to_string()
        }
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().map(|r| human(*r)).collect();
            names.dedup();
            let mut seen = Vec::new();
            names.retain(|n| {
                let fresh = !seen.contains(n);
                seen.push(*n);
                fresh
            });
            if names.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {}, found {found}", one_of(&names))
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let end = if end == start && start < text_len {
        start + 1
    } else {
        end
    };
    Diagnostic::error(Span::new(file, offset + start, offset + end), message)
}

fn rest_of_line(line: &str, line_col: pest::error::LineColLocation) -> String {
    let col = match line_col {
        pest::error::LineColLocation::Pos((_, c)) => c,
        pest::error::LineColLocation::Span((_, c), _) => c,
    };
    line.chars().skip(col.saturating_sub(1)).collect()
}

fn found_at(line: &str, line_col: pest::error::LineColLocation, _pos: usize) -> String {
    let rest = rest_of_line(line, line_col);
    let token: String = rest
        .trim_end_matches(['\r', '\n'])
        .split_whitespace()
        .next()
        .unwrap_or("")
        .chars()
        .take(20)
        .collect();
    if token.is_empty() {
        "the end of the line".into()
    } else {
        format!("'{token}'")
    }
}

/// True when the token found is a string with no closing quote on its line.
fn unterminated_string(found: &str) -> bool {
    let Some(body) = found.trim_end_matches(['\r', '\n']).strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for c in body.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return false,
            _ => {}
        }
    }
    true
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
