//! `abort { errors > 50%  over = 10s  min_requests = 20 }`: when a run stops itself because its
//! requests keep failing; `abort = off` never does. Without either, a run stops once every
//! request that finished in 10 s failed (docs/runs.md).

use crate::diag::Diagnostic;
use crate::metric::Metric;
use crate::syntax::{Block, CmpOp, Entry, ExprKind};
use crate::workload::AbortRule;

use super::value::Ctx;

/// `abort = off` (the only value the assignment takes).
pub(crate) fn abort_assign(
    ctx: &mut Ctx,
    value: &crate::syntax::Expr,
    rule: &mut Option<AbortRule>,
) {
    let Some(e) = ctx.resolve(value) else { return };
    match &e.kind {
        ExprKind::Ident(n) if n == "off" => *rule = None,
        _ => ctx.mismatch(
            e,
            "abort",
            "off, or a block abort { errors > 50%  over = 10s }",
        ),
    }
}

pub(crate) fn abort_block(ctx: &mut Ctx, block: &Block, rule: &mut Option<AbortRule>) {
    let mut r = rule.clone().unwrap_or_default();
    for entry in &block.entries {
        match entry {
            Entry::Objective(o) => {
                if Metric::parse(&o.metric.text) != Some(Metric::Errors) || o.stat.is_some() {
                    ctx.error(
                        Diagnostic::error(o.span, "abort takes one condition: errors > SHARE")
                            .help("abort { errors > 50%  over = 10s }"),
                    );
                    continue;
                }
                if !matches!(o.op, CmpOp::Gt | CmpOp::Ge) {
                    ctx.error(Diagnostic::error(
                        o.span,
                        "abort stops a run when errors rise: write errors > SHARE or errors >= SHARE",
                    ));
                    continue;
                }
                if let Some(share) = ctx.percent(&o.value, "the abort threshold") {
                    if !(0.0..=1.0).contains(&share) {
                        ctx.error(Diagnostic::error(
                            o.value.span,
                            "the abort threshold is a share between 0% and 100%",
                        ));
                        continue;
                    }
                    // `> x` and `>= x` are one rule on a continuous share; 100% means all failed.
                    r.error_share = share;
                }
            }
            Entry::Assign { key, value, .. } => match key.text.as_str() {
                "over" => match ctx.duration_ns(value, "over") {
                    Some(ns) if ns >= 1_000_000_000 => r.window_ns = ns,
                    Some(_) => ctx.error(Diagnostic::error(
                        value.span,
                        "the abort window is at least 1s",
                    )),
                    None => {}
                },
                "min_requests" => {
                    if let Some(n) = ctx.count(value, "min_requests") {
                        r.min_requests = n.clamp(1, u32::MAX as u64) as u32;
                    }
                }
                other => ctx.error(
                    Diagnostic::error(key.span, format!("abort has no field '{other}'"))
                        .help("abort { errors > 50%  over = 10s  min_requests = 20 }"),
                ),
            },
            Entry::Broken { message, span } => ctx.error(Diagnostic::error(*span, message.clone())),
            Entry::Block(b) => ctx.error(Diagnostic::error(b.span, "abort holds no blocks")),
            Entry::Param { span, .. } | Entry::Include { span, .. } => ctx.error(
                Diagnostic::error(*span, "abort holds a condition and its fields")
                    .help("abort { errors > 50%  over = 10s }"),
            ),
        }
    }
    *rule = Some(r);
}
