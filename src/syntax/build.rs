//! Building the AST from pest's parse tree: one function per grammar rule.

use pest::iterators::Pair;
use pest::Parser;

use super::ast::*;
use super::{rule_names, LlmwParser, Rule};
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

pub(crate) struct Builder<'t> {
    file: FileId,
    text: &'t str,
    /// Added to every position: non-zero when the parsed text is a slice of a larger source.
    offset: usize,
    pub(crate) diags: Vec<Diagnostic>,
}

impl<'t> Builder<'t> {
    pub(crate) fn new(file: FileId, text: &'t str, offset: usize) -> Builder<'t> {
        Builder {
            file,
            text,
            offset,
            diags: Vec::new(),
        }
    }

    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    fn name(&mut self, pair: Pair<Rule>) -> Name {
        let span = self.span(&pair);
        let text = match pair.as_rule() {
            Rule::string => self.string(pair),
            _ => pair.as_str().to_string(),
        };
        Name { text, span }
    }

    pub(crate) fn file(&mut self, pair: Pair<Rule>) -> Ast {
        let span = self.span(&pair);
        let mut workload = None;
        let mut entries = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::workload => {
                    let mut parts = inner.into_inner().skip(1); // kw_workload
                    if let Some(name) = parts.next() {
                        workload = Some(self.name(name));
                    }
                    if let Some(body) = parts.next() {
                        entries = self.entries(body);
                    }
                }
                Rule::entries => entries = self.entries(inner),
                _ => {}
            }
        }
        Ast {
            workload,
            entries,
            span,
        }
    }

    fn entries(&mut self, pair: Pair<Rule>) -> Vec<Entry> {
        pair.into_inner().filter_map(|p| self.entry(p)).collect()
    }

    fn entry(&mut self, pair: Pair<Rule>) -> Option<Entry> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = pair.into_inner();
        Some(match rule {
            Rule::param => {
                parts.next(); // kw_param
                let name = self.name(parts.next()?);
                let value = self.expr(parts.next()?);
                Entry::Param { name, value, span }
            }
            Rule::include => {
                parts.next(); // kw_include
                let path = self.name(parts.next()?);
                Entry::Include { path, span }
            }
            Rule::assign => {
                let key = self.name(parts.next()?);
                let value = self.expr(parts.next()?);
                // Newlines are insignificant, so `x =` with nothing after it would take the
                // next line's name as its value. A bare name on a later line is that mistake.
                let gap = &self.text
                    [key.span.end as usize - self.offset..value.span.start as usize - self.offset];
                if matches!(value.kind, ExprKind::Ident(_)) && gap.contains('\n') {
                    return Some(Entry::Broken {
                        message: format!("`{} =` has no value on its line", key.text),
                        span: key.span.to(Span::new(
                            self.file,
                            key.span.end as usize,
                            key.span.end as usize + gap.trim_end().len(),
                        )),
                    });
                }
                Entry::Assign { key, value, span }
            }
            Rule::block => {
                let kind = self.name(parts.next()?);
                let mut label = None;
                let mut weight = None;
                let mut entries = Vec::new();
                for part in parts {
                    match part.as_rule() {
                        Rule::string => label = Some(self.name(part)),
                        Rule::expr => weight = Some(self.expr(part)),
                        Rule::entries => entries = self.entries(part),
                        _ => {}
                    }
                }
                Entry::Block(Block {
                    kind,
                    label,
                    weight,
                    entries,
                    span,
                })
            }
            Rule::objective => {
                let metric = self.name(parts.next()?);
                let mut stat = None;
                let mut next = parts.next()?;
                if next.as_rule() == Rule::ident {
                    stat = Some(self.name(next));
                    next = parts.next()?;
                }
                let op = match next.as_str() {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let value = self.expr(parts.next()?);
                Entry::Objective(Objective {
                    metric,
                    stat,
                    op,
                    value,
                    span,
                })
            }
            Rule::bad_line => self.broken(span),
            _ => return None,
        })
    }

    /// A line no entry rule accepted: parse it alone to learn what was expected there.
    fn broken(&mut self, span: Span) -> Entry {
        let start = span.start as usize - self.offset;
        let line = &self.text[start..span.end as usize - self.offset];
        if let Some((at, len, message)) = misassigned(line) {
            let at = self.offset + start + at;
            return Entry::Broken {
                message,
                span: Span::new(self.file, at, at + len),
            };
        }
        let message = match LlmwParser::parse(Rule::line_only, line) {
            Err(e) => {
                let d = rule_names::to_diagnostic(self.file, self.offset + start, line.len(), e);
                let span = d.span.unwrap_or(span);
                return Entry::Broken {
                    message: d.message,
                    span,
                };
            }
            Ok(_) => "this item is not complete here".to_string(),
        };
        Entry::Broken { message, span }
    }

    pub(crate) fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let mut parts = pair.into_inner();
                let Some(first) = parts.next() else {
                    return self.invalid(span);
                };
                let inner = self.expr(first);
                match (parts.next(), parts.next()) {
                    (Some(_kw), Some(range)) => {
                        let range = self.expr(range);
                        Expr {
                            kind: ExprKind::Clamp(Box::new(inner), Box::new(range)),
                            span,
                        }
                    }
                    _ => inner,
                }
            }
            Rule::number => {
                let text = pair.as_str().to_string();
                let value = self.number(&text, span);
                Expr {
                    kind: ExprKind::Number { value, text },
                    span,
                }
            }
            Rule::quantity => {
                let mut parts = pair.into_inner();
                let number = parts
                    .next()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default();
                let unit = parts.next().map(|p| p.as_str()).unwrap_or_default();
                let value = self.number(&number, span);
                match Unit::parse(unit) {
                    Some(unit) => Expr {
                        kind: ExprKind::Quantity { value, unit },
                        span,
                    },
                    None => self.invalid(span),
                }
            }
            Rule::bad_unit => {
                let unit = pair.into_inner().nth(1).map(|p| p.as_str().to_string());
                let unit = unit.unwrap_or_default();
                let suggestion = crate::suggest::closest(&unit, Unit::ALL.iter().copied());
                self.diags.push(
                    Diagnostic::error(span, format!("unknown unit '{unit}'"))
                        .label("not a unit")
                        .help(match suggestion {
                            Some(s) => format!(
                                "units are ms, s, m, h, /s, /m, /h, % and x; did you mean '{s}'?"
                            ),
                            None => "units are ms, s, m, h, /s, /m, /h, % and x".to_string(),
                        }),
                );
                self.invalid(span)
            }
            Rule::string => {
                let text = self.string(pair);
                Expr {
                    kind: ExprKind::Str(text),
                    span,
                }
            }
            Rule::boolean => Expr {
                kind: ExprKind::Bool(pair.as_str() == "true"),
                span,
            },
            Rule::ident => Expr {
                kind: ExprKind::Ident(pair.as_str().to_string()),
                span,
            },
            Rule::range => {
                let mut parts = pair.into_inner();
                match (parts.next(), parts.next()) {
                    (Some(lo), Some(hi)) => {
                        let lo = self.expr(lo);
                        let hi = self.expr(hi);
                        Expr {
                            kind: ExprKind::Range(Box::new(lo), Box::new(hi)),
                            span,
                        }
                    }
                    _ => self.invalid(span),
                }
            }
            Rule::call => {
                let mut parts = pair.into_inner();
                let Some(name) = parts.next() else {
                    return self.invalid(span);
                };
                let name = self.name(name);
                let args = parts.map(|arg| self.arg(arg)).collect();
                Expr {
                    kind: ExprKind::Call { name, args },
                    span,
                }
            }
            Rule::list => Expr {
                kind: ExprKind::List(pair.into_inner().map(|p| self.expr(p)).collect()),
                span,
            },
            Rule::map => {
                let mut entries = Vec::new();
                for entry in pair.into_inner() {
                    let mut parts = entry.into_inner();
                    if let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                        let key = self.name(k);
                        entries.push((key, self.expr(v)));
                    }
                }
                Expr {
                    kind: ExprKind::Map(entries),
                    span,
                }
            }
            _ => self.invalid(span),
        }
    }

    fn arg(&mut self, pair: Pair<Rule>) -> Arg {
        let span = self.span(&pair);
        let mut key = None;
        let mut value = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::arg_key => {
                    if let Some(k) = part.into_inner().next() {
                        key = Some(self.name(k));
                    }
                }
                _ => value = Some(self.expr(part)),
            }
        }
        let value = value.unwrap_or_else(|| self.invalid(span));
        Arg { key, value, span }
    }

    /// A placeholder for an expression already reported as broken.
    fn invalid(&self, span: Span) -> Expr {
        Expr {
            kind: ExprKind::Ident(String::new()),
            span,
        }
    }

    fn number(&mut self, text: &str, span: Span) -> f64 {
        let cleaned: String = text.chars().filter(|c| *c != '_').collect();
        match cleaned.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                self.diags.push(Diagnostic::error(
                    span,
                    format!("the number {text} is too large"),
                ));
                0.0
            }
        }
    }

    fn string(&mut self, pair: Pair<Rule>) -> String {
        let span = self.span(&pair);
        let body = pair.into_inner().next().map(|p| p.as_str()).unwrap_or("");
        let mut out = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                other => {
                    let shown = other.map(|c| c.to_string()).unwrap_or_default();
                    self.diags.push(
                        Diagnostic::error(span, format!("unknown escape '\\{shown}' in a string"))
                            .help("strings understand \\\" \\\\ \\n and \\t"),
                    );
                }
            }
        }
        out
    }
}

/// A field set without `=`: `duration: 10s` (a colon, as in a call's arguments) or `input 10`
/// (nothing). Returns the offset and length in `line` of the field's name and the message. Only
/// asked of a line no entry rule accepted, where neither form is valid.
fn misassigned(line: &str) -> Option<(usize, usize, String)> {
    let at = line.len() - line.trim_start().len();
    let name: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let rest = line[at + name.len()..].trim_start();
    let value = |r: &str| r.split_whitespace().next().unwrap_or("").to_string();
    if let Some(after) = rest.strip_prefix(':') {
        let v = value(after);
        return Some((
            at,
            name.len(),
            format!("'{name}' is set with '=', not ':' (write {name} = {v})"),
        ));
    }
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        let v = value(rest);
        return Some((
            at,
            name.len(),
            format!("expected '=' after '{name}' (write {name} = {v})"),
        ));
    }
    None
}
