//! The abstract syntax tree: what a `.llmw` file says, before any meaning is checked.
//!
//! The tree is generic on purpose (entries and expressions, not "a phase" or "a target"): the
//! checker decides which names are valid where, so unknown names get suggestions rather than
//! parse errors. Every node carries the [`Span`] of its source text.

pub use crate::metric::CmpOp;
use crate::source::Span;

/// A parsed file: either a `workload "name" { ... }` or, for files meant to be included,
/// bare entries.
#[derive(Debug, Clone)]
pub struct Ast {
    pub workload: Option<Name>,
    pub entries: Vec<Entry>,
    pub span: Span,
}

/// An identifier or a string literal, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Entry {
    /// `key = value`
    Assign { key: Name, value: Expr, span: Span },
    /// `param NAME = value`
    Param { name: Name, value: Expr, span: Span },
    /// `include "path"`
    Include { path: Name, span: Span },
    /// `kind "label"? (weight W)? { entries }`
    Block(Block),
    /// `metric.stat < value` (slo lines)
    Objective(Objective),
    /// A line that no rule accepts; the message says what was expected.
    Broken { message: String, span: Span },
}

#[derive(Debug, Clone)]
pub struct Block {
    pub kind: Name,
    pub label: Option<Name>,
    pub weight: Option<Expr>,
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Objective {
    pub metric: Name,
    pub stat: Option<Name>,
    pub op: CmpOp,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A unit suffix on a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    S,
    M,
    H,
    PerS,
    PerM,
    PerH,
    Percent,
    Times,
}

impl Unit {
    pub fn parse(text: &str) -> Option<Unit> {
        Some(match text {
            "ms" => Unit::Ms,
            "s" => Unit::S,
            "m" => Unit::M,
            "h" => Unit::H,
            "/s" => Unit::PerS,
            "/m" => Unit::PerM,
            "/h" => Unit::PerH,
            "%" => Unit::Percent,
            "x" => Unit::Times,
            _ => return None,
        })
    }

    pub const ALL: [&'static str; 9] = ["ms", "s", "m", "h", "/s", "/m", "/h", "%", "x"];
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A plain number; `text` keeps the literal so integers stay exact.
    Number {
        value: f64,
        text: String,
    },
    Quantity {
        value: f64,
        unit: Unit,
    },
    Str(String),
    Bool(bool),
    Ident(String),
    Call {
        name: Name,
        args: Vec<Arg>,
    },
    List(Vec<Expr>),
    Map(Vec<(Name, Expr)>),
    Range(Box<Expr>, Box<Expr>),
    /// `DIST clamp a..b`; the second expression is a `Range`.
    Clamp(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub key: Option<Name>,
    pub value: Expr,
    pub span: Span,
}
