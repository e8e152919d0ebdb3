//! `on_error { backoff = exponential(from: 100ms, to: 10s)  jitter = true }`: how a closed-loop
//! user paces itself after a failed request; `backoff = none` sends the next at once (a user
//! that measures how fast a server fails). Without the block, the default: 100 ms doubling to
//! 10 s, with jitter, and a 429's or 503's `Retry-After` honoured (docs/runs.md).

use crate::diag::Diagnostic;
use crate::syntax::{Block, Entry, ExprKind};
use crate::workload::Backoff;

use super::args::Args;
use super::value::Ctx;

const EXAMPLE: &str = "on_error { backoff = exponential(from: 100ms, to: 10s) }";
/// The longest pause a backoff may name.
const MAX_NS: u64 = 3_600_000_000_000;

pub(crate) fn on_error_block(ctx: &mut Ctx, block: &Block, rule: &mut Option<Backoff>) {
    if let Some(label) = &block.label {
        ctx.error(Diagnostic::error(label.span, "on_error takes no name"));
    }
    let mut jitter = None;
    for entry in &block.entries {
        match entry {
            Entry::Assign { key, value, .. } => match key.text.as_str() {
                "backoff" => backoff(ctx, value, rule),
                "jitter" => jitter = ctx.boolean(value, "jitter"),
                other => {
                    let d = Diagnostic::error(key.span, format!("on_error has no field '{other}'"));
                    ctx.error(suggest_or(
                        d,
                        crate::suggest::closest(other, ["backoff", "jitter"]),
                    ));
                }
            },
            Entry::Broken { message, span } => ctx.error(Diagnostic::error(*span, message.clone())),
            Entry::Block(b) => ctx.error(Diagnostic::error(b.span, "on_error holds no blocks")),
            Entry::Objective(o) => ctx.error(
                Diagnostic::error(o.span, "on_error holds fields, not conditions").help(EXAMPLE),
            ),
            Entry::Param { span, .. } | Entry::Include { span, .. } => {
                ctx.error(Diagnostic::error(*span, "on_error holds its fields only").help(EXAMPLE));
            }
        }
    }
    if let (Some(j), Some(r)) = (jitter, rule.as_mut()) {
        r.jitter = j;
    }
}

/// "Did you mean" when a name is near one, else the example.
fn suggest_or(d: Diagnostic, near: Option<&str>) -> Diagnostic {
    match near {
        Some(_) => d.suggest(near),
        None => d.help(EXAMPLE),
    }
}

/// `backoff = exponential(from: D, to: D)` or `backoff = none`.
fn backoff(ctx: &mut Ctx, value: &crate::syntax::Expr, rule: &mut Option<Backoff>) {
    let Some(e) = ctx.resolve(value) else { return };
    let (name, args) = match &e.kind {
        ExprKind::Ident(n) if n == "none" => {
            *rule = None;
            return;
        }
        ExprKind::Call { name, args } if name.text == "exponential" => (name, args),
        ExprKind::Call { name, .. } => {
            let d = Diagnostic::error(name.span, format!("unknown backoff '{}'", name.text));
            ctx.error(suggest_or(
                d,
                crate::suggest::closest(&name.text, ["exponential"]),
            ));
            return;
        }
        _ => {
            ctx.mismatch(e, "backoff", "exponential(from: 100ms, to: 10s), or none");
            return;
        }
    };
    let a = Args::bind(ctx, &name.text, e.span, args, &["from", "to"]);
    let ex = "exponential(from: 100ms, to: 10s)";
    let from = a
        .require(ctx, "from", ex)
        .and_then(|d| ctx.duration_ns(d, "from"));
    let to = a
        .require(ctx, "to", ex)
        .and_then(|d| ctx.duration_ns(d, "to"));
    let (Some(from), Some(to)) = (from, to) else {
        return;
    };
    if from == 0 || from > to || to > MAX_NS {
        ctx.error(
            Diagnostic::error(
                e.span,
                "a backoff goes from a pause above 0s up to at most 1h",
            )
            .help(ex),
        );
        return;
    }
    let jitter = rule.as_ref().is_none_or(|r| r.jitter);
    *rule = Some(Backoff {
        from_ns: from,
        to_ns: to,
        jitter,
    });
}
