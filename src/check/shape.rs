//! Request shapes: `requests { ... }`, `class "name" weight W { ... }` and `session "name"
//! weight W { ... }` blocks, merged field by field (a class takes what it leaves out from
//! `requests`; a session takes nothing from it; a phase's blocks override the workload's
//! same-named ones for that phase).

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::{Block, ExprKind};
use crate::workload::{Class, Dist, Prefix, Shape, TraceRef};

use super::args::Args;
use super::dist::{dist, Of};
use super::fields::fields;
use super::session::{session_fields, PartialSession};
use super::value::Ctx;

pub(crate) const SHAPE_FIELDS: [&str; 6] = [
    "input",
    "output",
    "prefix",
    "prompts",
    "sample",
    "tokenizer",
];

/// A shape as one block gives it: every field optional until classes are resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartialShape {
    pub input: Option<Dist>,
    pub output: Option<Dist>,
    /// `Some(None)` is an explicit `prefix = none`, which clears an inherited prefix.
    pub prefix: Option<Option<Prefix>>,
    pub prompts: Option<crate::workload::FileRef>,
    pub sample: Option<TraceRef>,
    pub tokenizer: Option<crate::workload::FileRef>,
}

impl PartialShape {
    /// `self` with the fields `over` sets taking precedence.
    pub fn merged(&self, over: &PartialShape) -> PartialShape {
        PartialShape {
            input: over.input.clone().or_else(|| self.input.clone()),
            output: over.output.clone().or_else(|| self.output.clone()),
            prefix: over.prefix.clone().or_else(|| self.prefix.clone()),
            prompts: over.prompts.clone().or_else(|| self.prompts.clone()),
            sample: over.sample.clone().or_else(|| self.sample.clone()),
            tokenizer: over.tokenizer.clone().or_else(|| self.tokenizer.clone()),
        }
    }
}

/// One `requests` or `class` block, checked.
#[derive(Debug, Clone)]
pub(crate) struct ClassDecl {
    pub name: String,
    pub weight: Option<f64>,
    pub shape: PartialShape,
    pub span: Span,
    /// False when the block had errors of its own (already reported).
    pub valid: bool,
    /// `session` blocks: the turn structure (`Some` marks the declaration a session).
    pub session: Option<PartialSession>,
}

pub(crate) fn class_block(ctx: &mut Ctx, block: &Block) -> Option<ClassDecl> {
    let is_default = block.kind.text == "requests";
    let is_session = block.kind.text == "session";
    let name = match (&block.label, is_default) {
        (Some(label), true) => {
            ctx.error(
                Diagnostic::error(label.span, "the requests block takes no name")
                    .help("use class \"name\" { ... } for a named class"),
            );
            return None;
        }
        (None, true) => "default".to_string(),
        (Some(label), false) => label.text.clone(),
        (None, false) if is_session => {
            ctx.error(
                Diagnostic::error(block.kind.span, "a session needs a name")
                    .help("session \"chat\" weight 1 { turns = uniform(2, 8) ... }"),
            );
            return None;
        }
        (None, false) => {
            ctx.error(
                Diagnostic::error(block.kind.span, "a class needs a name")
                    .help("class \"rag\" weight 1 { ... }"),
            );
            return None;
        }
    };
    let mut valid = true;
    let weight = match &block.weight {
        Some(w) => match ctx.number(w, "weight") {
            Some(v) if v > 0.0 => Some(v),
            Some(_) => {
                let who = if is_session { "session" } else { "class" };
                ctx.error(Diagnostic::error(
                    w.span,
                    format!("a {who} weight must be above 0"),
                ));
                valid = false;
                None
            }
            None => {
                valid = false;
                None
            }
        },
        None => None,
    };
    let what = if is_default {
        "requests".to_string()
    } else {
        format!("{} \"{name}\"", block.kind.text)
    };
    let before = ctx.diags.len();
    if is_session {
        let (shape, session) = session_fields(ctx, &block.entries, &what);
        return Some(ClassDecl {
            name,
            weight,
            shape,
            span: block.span,
            valid: valid && ctx.diags.len() == before,
            session: Some(session),
        });
    }
    let f = fields(ctx, &block.entries, &what, &SHAPE_FIELDS, &[]);
    let mut shape = lengths_and_prefix(ctx, &f, "prefix");
    if let Some(e) = f.get("prompts") {
        shape.prompts = dataset(ctx, e);
    }
    if let Some(e) = f.get("sample") {
        shape.sample = sample(ctx, e);
    }
    if let Some(e) = f.get("tokenizer") {
        shape.tokenizer = ctx.existing_path(e, "tokenizer");
    }
    // A block whose own fields are wrong has been reported; checking it further would only
    // repeat the news ("no input") as a second error.
    Some(ClassDecl {
        name,
        weight,
        shape,
        span: block.span,
        valid: valid && ctx.diags.len() == before,
        session: None,
    })
}

/// `input`, `output` and the shared prefix (named `prefix_field`: a class's `prefix`, a
/// session's `system`; `none` clears an inherited one) of a block's fields.
pub(crate) fn lengths_and_prefix(
    ctx: &mut Ctx,
    f: &super::fields::Fields,
    prefix_field: &str,
) -> PartialShape {
    let mut shape = PartialShape::default();
    if let Some(e) = f.get("input") {
        shape.input = length(ctx, e, "input");
    }
    if let Some(e) = f.get("output") {
        shape.output = length(ctx, e, "output");
    }
    if let Some(e) = f.get(prefix_field) {
        shape.prefix = match ctx.resolve(e).map(|r| &r.kind) {
            Some(ExprKind::Ident(n)) if n == "none" => Some(None),
            _ => prefix(ctx, e).map(Some),
        };
    }
    shape
}

/// A token-length distribution that can yield a length ≥ 1.
fn length(ctx: &mut Ctx, expr: &crate::syntax::Expr, what: &str) -> Option<Dist> {
    let d = dist(ctx, expr, Of::Tokens, what)?;
    let max = crate::limits::MAX_LENGTH;
    let typical = d.support().map(|(lo, _)| lo).into_iter().chain(d.mean());
    if typical.into_iter().any(|v| v > max as f64) {
        ctx.error(
            Diagnostic::error(expr.span, format!("{what} is over the limit of {max} tokens"))
                .help("lengths go up to 1048576 tokens (far past any context window); lower or clamp the distribution"),
        );
        return None;
    }
    if let Some((_, hi)) = d.support() {
        if hi < 0.5 {
            ctx.error(
                Diagnostic::error(expr.span, format!("{what} can never be at least 1 token")).help(
                    "a length is a whole number ≥ 1; raise the distribution or clamp it to 1..N",
                ),
            );
            return None;
        }
    }
    Some(d)
}

fn prefix(ctx: &mut Ctx, expr: &crate::syntax::Expr) -> Option<Prefix> {
    let e = ctx.resolve(expr)?;
    let ExprKind::Call { name, args } = &e.kind else {
        ctx.mismatch(e, "prefix", "shared(tokens: N, groups: G) or none");
        return None;
    };
    if name.text != "shared" {
        let d = Diagnostic::error(name.span, format!("unknown prefix form '{}'", name.text))
            .help("prefix = shared(tokens: 256, groups: 4)");
        ctx.error(d);
        return None;
    }
    let a = Args::bind(ctx, "shared", e.span, args, &["tokens", "groups", "skew"]);
    let ex = "shared(tokens: 256, groups: 4)";
    let tokens = a
        .require(ctx, "tokens", ex)
        .and_then(|t| ctx.count(t, "tokens"));
    let groups = a
        .require(ctx, "groups", ex)
        .and_then(|g| ctx.count(g, "groups"));
    let skew = match a.get("skew") {
        Some(s) => Some(skew(ctx, s)?),
        None => None,
    };
    let (tokens, groups) = (tokens?, groups?);
    let max = crate::limits::MAX_LENGTH as u64;
    if tokens == 0 || groups == 0 || tokens > max || groups > 1_000_000 {
        ctx.error(Diagnostic::error(
            e.span,
            "shared(...) needs 1 ≤ tokens ≤ 1048576 and 1 ≤ groups ≤ 1000000",
        ));
        return None;
    }
    Some(Prefix {
        tokens: tokens as u32,
        groups: groups as u32,
        skew,
    })
}

/// `skew: 1.1` or `skew: zipf(1.1)`.
fn skew(ctx: &mut Ctx, expr: &crate::syntax::Expr) -> Option<f64> {
    let e = ctx.resolve(expr)?;
    let value = match &e.kind {
        ExprKind::Call { name, args } if name.text == "zipf" => {
            let a = Args::bind(ctx, "zipf", e.span, args, &["s"]);
            let arg = a.require(ctx, "s", "zipf(1.1)")?;
            ctx.number(arg, "zipf exponent")?
        }
        _ => ctx.number(e, "skew")?,
    };
    if value <= 0.0 {
        ctx.error(Diagnostic::error(e.span, "skew must be above 0"));
        return None;
    }
    Some(value)
}

fn dataset(ctx: &mut Ctx, expr: &crate::syntax::Expr) -> Option<crate::workload::FileRef> {
    let e = ctx.resolve(expr)?;
    match &e.kind {
        ExprKind::Call { name, args } if name.text == "dataset" => {
            let a = Args::bind(ctx, "dataset", e.span, args, &["path"]);
            let arg = a.require(ctx, "path", "dataset(\"prompts.jsonl\")")?;
            ctx.existing_path(arg, "dataset")
        }
        _ => {
            ctx.mismatch(e, "prompts", "dataset(\"file.jsonl\")");
            None
        }
    }
}

fn sample(ctx: &mut Ctx, expr: &crate::syntax::Expr) -> Option<TraceRef> {
    let e = ctx.resolve(expr)?;
    match &e.kind {
        ExprKind::Call { name, args } if name.text == "trace" => {
            super::arrival::trace(ctx, e, args)
        }
        _ => {
            ctx.mismatch(e, "sample", "trace(\"file\", format: F)");
            None
        }
    }
}

/// Turns the class declarations in force into complete classes, reporting missing fields.
/// With `from_trace`, lengths may be left out: the trace gives them.
pub(crate) fn resolve_classes(
    ctx: &mut Ctx,
    decls: &[ClassDecl],
    where_: Span,
    from_trace: bool,
) -> Vec<Class> {
    // A trace phase replays the trace's own requests and sessions: `session` blocks are for
    // synthesized traffic.
    let kept: Vec<ClassDecl>;
    let decls = if from_trace {
        kept = decls
            .iter()
            .filter(|d| d.session.is_none())
            .cloned()
            .collect();
        &kept[..]
    } else {
        decls
    };
    if from_trace && decls.iter().all(|d| !d.valid) {
        let shape = Shape {
            input: Dist::Const(1.0),
            output: Dist::Const(1.0),
            prefix: None,
            prompts: None,
            sample: None,
            tokenizer: None,
        };
        return vec![Class {
            name: "default".into(),
            weight: 1.0,
            shape,
            session: None,
        }];
    }
    let base = decls
        .iter()
        .find(|d| d.name == "default")
        .map(|d| d.shape.clone())
        .unwrap_or_default();
    let mut classes = Vec::new();
    for decl in decls.iter().filter(|d| d.valid) {
        if let Some(partial) = &decl.session {
            if let Some(class) = super::session::resolve(ctx, decl, partial) {
                classes.push(class);
            }
            continue;
        }
        let shape = if decl.name == "default" {
            decl.shape.clone()
        } else {
            base.merged(&decl.shape)
        };
        let from_file = shape.sample.is_some() || from_trace;
        let input = match shape.input {
            Some(d) => d,
            // From the dataset: an empty value list marks it (see schedule::content).
            None if shape.prompts.is_some() => Dist::Values(Vec::new()),
            None if from_file => Dist::Const(1.0),
            None => {
                missing(ctx, decl, "input", "input = uniform(100, 1000)");
                continue;
            }
        };
        let output = match shape.output {
            Some(d) => d,
            None if from_file => Dist::Const(1.0),
            None => {
                missing(ctx, decl, "output", "output = 256");
                continue;
            }
        };
        classes.push(Class {
            name: decl.name.clone(),
            weight: decl.weight.unwrap_or(1.0),
            shape: Shape {
                input,
                output,
                prefix: shape.prefix.flatten(),
                prompts: shape.prompts,
                sample: shape.sample,
                tokenizer: shape.tokenizer,
            },
            session: None,
        });
    }
    if decls.is_empty() {
        ctx.error(
            Diagnostic::error(
                where_,
                "no request shape: nothing says how long prompts and outputs are",
            )
            .help("add requests { input = 512  output = 256 }"),
        );
    }
    classes
}

pub(crate) fn missing(ctx: &mut Ctx, decl: &ClassDecl, field: &str, example: &str) {
    let who = if decl.session.is_some() {
        format!("session \"{}\"", decl.name)
    } else if decl.name == "default" {
        "requests".to_string()
    } else {
        format!("class \"{}\"", decl.name)
    };
    ctx.error(
        Diagnostic::error(decl.span, format!("{who} does not say its {field} length"))
            .label(if decl.session.is_some() {
                format!("no {field} in this session")
            } else {
                format!("no {field} here or in requests")
            })
            .help(format!("add {example}")),
    );
}

/// Applies a list of declarations on top of another: same-named classes merge field by field.
pub(crate) fn overlay(base: &[ClassDecl], over: &[ClassDecl]) -> Vec<ClassDecl> {
    let mut out: Vec<ClassDecl> = base.to_vec();
    for decl in over {
        let at = out.iter().position(|d| d.name == decl.name);
        overlay_one(&mut out, at, decl);
    }
    out
}

/// Applies one declaration in place (a workload's thousands of classes stay linear to copy);
/// `at` is the position of the same-named declaration, if there is one.
pub(crate) fn overlay_one(decls: &mut Vec<ClassDecl>, at: Option<usize>, decl: &ClassDecl) {
    match at.and_then(|i| decls.get_mut(i)) {
        Some(existing) => {
            existing.shape = existing.shape.merged(&decl.shape);
            existing.session = match (&existing.session, &decl.session) {
                (Some(a), Some(b)) => Some(a.merged(b)),
                (a, b) => b.clone().or_else(|| a.clone()),
            };
            if decl.weight.is_some() {
                existing.weight = decl.weight;
            }
            existing.span = decl.span;
            existing.valid &= decl.valid;
        }
        None => decls.push(decl.clone()),
    }
}
