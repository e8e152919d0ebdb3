//! Typed reading of expressions: a duration where a duration is expected, and a diagnostic
//! naming both types where it is not.
//!
//! [`Ctx`] carries the scope (for params) and collects diagnostics; every reader returns
//! `None` after recording what was wrong, so checking goes on and reports everything.

use crate::diag::Diagnostic;
use crate::source::{Sources, Span};
use crate::syntax::{Expr, ExprKind, Unit};

use super::scope::{type_name, unit_kind, Scope};
use crate::suggest::closest;

pub(crate) struct Ctx<'s> {
    pub sources: &'s Sources,
    pub scope: &'s Scope,
    /// Position of the item being checked, for param visibility.
    pub ordinal: usize,
    pub diags: Vec<Diagnostic>,
    /// The target's API (known once the items are read; classes that name none take it).
    pub target_api: crate::workload::Api,
}

const NS_PER_S: f64 = 1e9;

impl<'s> Ctx<'s> {
    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The expression with param references followed.
    pub fn resolve<'e>(&mut self, expr: &'e Expr) -> Option<&'e Expr>
    where
        's: 'e,
    {
        let scope: &'s Scope = self.scope;
        match scope.resolve(expr, self.ordinal) {
            Ok(e) => Some(e),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    /// How a found value reads in a message: `30`, `a rate 8/s`, `the name chat`.
    pub fn describe(&self, expr: &Expr) -> String {
        let text = self.sources.text(expr.span);
        match &expr.kind {
            ExprKind::Number { .. } | ExprKind::Bool(_) => text.to_string(),
            ExprKind::Quantity { unit, .. } => format!("{} {text}", unit_kind(*unit)),
            ExprKind::Str(_) => format!("a string {text}"),
            ExprKind::Ident(name) => format!("the name '{name}'"),
            ExprKind::Call { name, .. } => format!("{}(...)", name.text),
            _ => type_name(expr).to_string(),
        }
    }

    /// Reports `what expects EXPECTED, found X` (or an unknown-name error for a bare name).
    pub fn mismatch(&mut self, expr: &Expr, what: &str, expected: &str) {
        if let ExprKind::Ident(name) = &expr.kind {
            if name.is_empty() {
                return; // already reported by the parser
            }
            let d = Diagnostic::error(expr.span, format!("unknown name '{name}'"))
                .label(format!("{what} expects {expected}"));
            let d = match closest(name, self.scope.names()) {
                Some(s) => d.help(format!("did you mean the param '{s}'?")),
                None => d,
            };
            self.diags.push(d);
            return;
        }
        let found = self.describe(expr);
        self.diags.push(
            Diagnostic::error(
                expr.span,
                format!("{what} expects {expected}, found {found}"),
            )
            .label(format!("expected {expected}")),
        );
    }

    fn quantity(
        &mut self,
        expr: &Expr,
        what: &str,
        expected: &str,
        units: &[Unit],
    ) -> Option<(f64, Unit, Span)> {
        let e = self.resolve(expr)?;
        match &e.kind {
            ExprKind::Quantity { value, unit } if units.contains(unit) => {
                Some((*value, *unit, e.span))
            }
            _ => {
                self.mismatch(e, what, expected);
                None
            }
        }
    }

    /// A duration in nanoseconds (≥ 0).
    pub fn duration_ns(&mut self, expr: &Expr, what: &str) -> Option<u64> {
        let secs = self.seconds(expr, what)?;
        Some(libm::round(secs * NS_PER_S) as u64)
    }

    /// A duration in seconds (≥ 0).
    pub fn seconds(&mut self, expr: &Expr, what: &str) -> Option<f64> {
        let expected = "a duration like 30s";
        let (v, unit, span) =
            self.quantity(expr, what, expected, &[Unit::Ms, Unit::S, Unit::M, Unit::H])?;
        let secs = v * match unit {
            Unit::Ms => 1e-3,
            Unit::M => 60.0,
            Unit::H => 3600.0,
            _ => 1.0,
        };
        self.non_negative(secs, span, what)?;
        if secs * NS_PER_S > 1e18 {
            self.error(Diagnostic::error(
                span,
                format!("{what} is too long (over 30 years)"),
            ));
            return None;
        }
        Some(secs)
    }

    /// A rate in events per second (≥ 0).
    pub fn rate(&mut self, expr: &Expr, what: &str) -> Option<f64> {
        let expected = "a rate like 8/s";
        let (v, unit, span) =
            self.quantity(expr, what, expected, &[Unit::PerS, Unit::PerM, Unit::PerH])?;
        let per_s = v / match unit {
            Unit::PerM => 60.0,
            Unit::PerH => 3600.0,
            _ => 1.0,
        };
        self.non_negative(per_s, span, what)?;
        Some(per_s)
    }

    /// A percentage as a fraction (1% → 0.01).
    pub fn percent(&mut self, expr: &Expr, what: &str) -> Option<f64> {
        let (v, _, span) = self.quantity(expr, what, "a percentage like 1%", &[Unit::Percent])?;
        self.non_negative(v, span, what)?;
        Some(v / 100.0)
    }

    /// A multiplier (`2x` → 2.0), strictly positive.
    pub fn multiplier(&mut self, expr: &Expr, what: &str) -> Option<f64> {
        let (v, _, span) = self.quantity(expr, what, "a multiplier like 2x", &[Unit::Times])?;
        if v <= 0.0 {
            self.error(Diagnostic::error(span, format!("{what} must be above 0x")));
            return None;
        }
        Some(v)
    }

    /// A plain number (no unit).
    pub fn number(&mut self, expr: &Expr, what: &str) -> Option<f64> {
        let e = self.resolve(expr)?;
        match &e.kind {
            ExprKind::Number { value, .. } => Some(*value),
            _ => {
                self.mismatch(e, what, "a number");
                None
            }
        }
    }

    /// A whole, non-negative number such as a token or request count.
    pub fn count(&mut self, expr: &Expr, what: &str) -> Option<u64> {
        let e = self.resolve(expr)?;
        let ExprKind::Number { value, text } = &e.kind else {
            self.mismatch(e, what, "a count");
            return None;
        };
        if *value < 0.0 || value.fract() != 0.0 || *value > crate::limits::MAX_COUNT as f64 {
            self.error(
                Diagnostic::error(
                    e.span,
                    format!("{what} expects a whole number ≥ 0, found {text}"),
                )
                .label("not a count"),
            );
            return None;
        }
        // Integers written without a fraction or exponent parse exactly even above 2^53.
        let exact: String = text.chars().filter(|c| *c != '_').collect();
        Some(exact.parse::<u64>().unwrap_or(*value as u64))
    }

    pub fn string(&mut self, expr: &Expr, what: &str) -> Option<String> {
        let e = self.resolve(expr)?;
        match &e.kind {
            ExprKind::Str(s) => Some(s.clone()),
            _ => {
                self.mismatch(e, what, "a string like \"text\"");
                None
            }
        }
    }

    pub fn boolean(&mut self, expr: &Expr, what: &str) -> Option<bool> {
        let e = self.resolve(expr)?;
        match &e.kind {
            ExprKind::Bool(b) => Some(*b),
            _ => {
                self.mismatch(e, what, "true or false");
                None
            }
        }
    }

    /// One of a fixed set of names (`chat`, `azure`, …); a string with that text is accepted too.
    pub fn keyword(
        &mut self,
        expr: &Expr,
        what: &str,
        choices: &[&'static str],
    ) -> Option<&'static str> {
        let e = self.resolve(expr)?;
        let (name, span) = match &e.kind {
            ExprKind::Ident(n) | ExprKind::Str(n) => (n.as_str(), e.span),
            _ => {
                let expected = format!("one of {}", choices.join(", "));
                self.mismatch(e, what, &expected);
                return None;
            }
        };
        if let Some(c) = choices.iter().find(|c| **c == name) {
            return Some(c);
        }
        let d = Diagnostic::error(span, format!("unknown {what} '{name}'"))
            .label(format!("expected one of {}", choices.join(", ")))
            .suggest(closest(name, choices.iter().copied()));
        self.error(d);
        None
    }

    /// A path relative to the file the expression is written in; it must exist.
    pub fn existing_path(&mut self, expr: &Expr, what: &str) -> Option<crate::workload::FileRef> {
        let text = self.string(expr, what)?;
        let e = self.resolve(expr)?;
        let path = self.sources.base_dir(e.span.file).join(&text);
        if !path.exists() {
            self.error(
                Diagnostic::error(e.span, format!("{what}: no such file '{}'", path.display()))
                    .label("file not found")
                    .help("paths are relative to the .llmw file that names them"),
            );
            return None;
        }
        Some(crate::workload::FileRef { path, span: e.span })
    }

    /// A range `a..b`, each end read by `read`.
    pub fn range<T>(
        &mut self,
        expr: &Expr,
        what: &str,
        mut read: impl FnMut(&mut Self, &Expr) -> Option<T>,
    ) -> Option<(T, T)> {
        let e = self.resolve(expr)?;
        let ExprKind::Range(lo, hi) = &e.kind else {
            self.mismatch(e, what, "a range like 16..4096");
            return None;
        };
        let lo = read(self, lo);
        let hi = read(self, hi);
        Some((lo?, hi?))
    }

    fn non_negative(&mut self, v: f64, span: Span, what: &str) -> Option<()> {
        if v < 0.0 {
            self.error(Diagnostic::error(
                span,
                format!("{what} cannot be negative"),
            ));
            return None;
        }
        Some(())
    }
}
