//! Request shapes as one block writes them: the lengths, the shared prefix and the files
//! (`prompts`, `sample`, `tokenizer`) of a `requests` or `class` block, and the lengths and
//! system prompt a `session` block shares with them. Merging and resolving the declarations
//! is `class`'s.

use crate::diag::Diagnostic;
use crate::syntax::{Entry, ExprKind};
use crate::workload::{Dist, Prefix, TraceRef};

use super::args::Args;
use super::dist::{dist, Of};
use super::fields::fields;
use super::form::{form_fields, PartialForm, FORM_FIELDS};
use super::value::Ctx;

pub(crate) const SHAPE_FIELDS: [&str; 15] = [
    "input",
    "output",
    "prefix",
    "prompts",
    "sample",
    "tokenizer",
    FORM_FIELDS[0],
    FORM_FIELDS[1],
    FORM_FIELDS[2],
    FORM_FIELDS[3],
    FORM_FIELDS[4],
    FORM_FIELDS[5],
    FORM_FIELDS[6],
    FORM_FIELDS[7],
    FORM_FIELDS[8],
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
    /// `api` and `model`.
    pub form: PartialForm,
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
            form: self.form.merged(&over.form),
        }
    }
}

/// The shape a `requests` or `class` block's entries give (`what` names the block).
pub(crate) fn class_fields(ctx: &mut Ctx, entries: &[Entry], what: &str) -> PartialShape {
    let f = fields(ctx, entries, what, &SHAPE_FIELDS, &[]);
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
    shape
}

/// `input`, `output` and the shared prefix (named `prefix_field`: a class's `prefix`, a
/// session's `system`; `none` clears an inherited one) of a block's fields.
pub(crate) fn lengths_and_prefix(
    ctx: &mut Ctx,
    f: &super::fields::Fields,
    prefix_field: &str,
) -> PartialShape {
    let mut shape = PartialShape {
        form: form_fields(ctx, f),
        ..PartialShape::default()
    };
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
