//! Params: `param NAME = VALUE` definitions, `--set` overrides, and name resolution.
//!
//! A param is visible to items after its definition (an included file's params count as defined
//! where the `include` stands). An override keeps the param's position but replaces its value,
//! after checking that the new value has the declared value's type.

use crate::diag::Diagnostic;
use crate::source::{Sources, Span};
use crate::syntax::{self, Expr, ExprKind, Unit};

use crate::suggest::closest;

#[derive(Debug, Clone)]
pub(crate) struct ParamDef {
    pub name: String,
    pub value: Expr,
    /// Position of the defining item in the flattened item list.
    pub ordinal: usize,
    pub span: Span,
    pub overridden: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub params: Vec<ParamDef>,
}

/// How deep params may refer to params before we call it a loop.
const MAX_DEPTH: usize = 32;

impl Scope {
    pub fn get(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().rev().find(|p| p.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| p.name.as_str())
    }

    /// Follows param references from `expr` (used by the item at `ordinal`) to a non-name
    /// expression. A name that is no param comes back as itself: it may be a keyword such as
    /// `chat` that the caller understands.
    pub fn resolve<'a>(&'a self, expr: &'a Expr, ordinal: usize) -> Result<&'a Expr, Diagnostic> {
        let mut current = expr;
        for _ in 0..MAX_DEPTH {
            let ExprKind::Ident(name) = &current.kind else {
                return Ok(current);
            };
            match self.get(name) {
                Some(p) if p.ordinal < ordinal => current = &p.value,
                Some(p) => {
                    return Err(Diagnostic::error(
                        current.span,
                        format!("param '{name}' is used before it is defined"),
                    )
                    .also(p.span, "defined here")
                    .help("move the param above its first use"))
                }
                None => return Ok(current),
            }
        }
        Err(Diagnostic::error(
            expr.span,
            "params refer to each other in a loop",
        ))
    }

    /// Applies `--set NAME=VALUE` overrides; each argument has been registered as a source.
    pub fn apply_overrides(
        &mut self,
        sources: &Sources,
        sets: &[crate::source::FileId],
        diags: &mut Vec<Diagnostic>,
    ) {
        for &file in sets {
            let text = &sources.get(file).text;
            let whole = Span::new(file, 0, text.len());
            let Some(eq) = text.find('=') else {
                diags.push(
                    Diagnostic::error(whole, format!("--set expects NAME=VALUE, found '{text}'"))
                        .help("for example --set rate=12/s"),
                );
                continue;
            };
            let name = text[..eq].trim();
            let name_span = Span::new(file, 0, eq);
            let value = match syntax::parse_expr(file, &text[eq + 1..], eq + 1) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let Some(index) = self.params.iter().rposition(|p| p.name == name) else {
                let d =
                    Diagnostic::error(name_span, format!("unknown parameter '{name}' in --set"))
                        .label("no param of this name");
                let d = match closest(name, self.names()) {
                    Some(s) => d.help(format!("did you mean '{s}'?")),
                    None if self.params.is_empty() => d.help("this workload declares no params"),
                    None => d.help(format!(
                        "the workload's params are: {}",
                        self.names().collect::<Vec<_>>().join(", ")
                    )),
                };
                diags.push(d);
                continue;
            };
            let declared = {
                let p = &self.params[index];
                match self.resolve(&p.value, p.ordinal) {
                    Ok(e) => type_name(e),
                    Err(_) => "unknown",
                }
            };
            let given = type_name(&value);
            if declared != given && !matches!(value.kind, ExprKind::Ident(_)) {
                diags.push(
                    Diagnostic::error(
                        value.span,
                        format!("param '{name}' is {declared}, but --set gives {given}"),
                    )
                    .label(format!("expected {declared}")),
                );
                continue;
            }
            let p = &mut self.params[index];
            p.value = value;
            p.overridden = true;
        }
    }
}

/// The type of an expression as a user thinks of it, for messages and `--set` checks.
pub(crate) fn type_name(expr: &Expr) -> &'static str {
    match &expr.kind {
        ExprKind::Number { .. } => "a number",
        ExprKind::Quantity { unit, .. } => unit_kind(*unit),
        ExprKind::Str(_) => "a string",
        ExprKind::Bool(_) => "a boolean",
        ExprKind::Ident(_) => "a name",
        ExprKind::Call { .. } => "a call",
        ExprKind::List(_) => "a list",
        ExprKind::Map(_) => "a map",
        ExprKind::Range(..) => "a range",
        ExprKind::Clamp(..) => "a clamped distribution",
    }
}

pub(crate) fn unit_kind(unit: Unit) -> &'static str {
    match unit {
        Unit::Ms | Unit::S | Unit::M | Unit::H => "a duration",
        Unit::PerS | Unit::PerM | Unit::PerH => "a rate",
        Unit::Percent => "a percentage",
        Unit::Times => "a multiplier",
    }
}
