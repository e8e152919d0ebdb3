//! Levels: a fixed rate or user count, or one that changes over the phase
//! (`steps(...)`, `ramp(...)`, `sine(...)`).

use crate::diag::Diagnostic;
use crate::search::{DEFAULT_PROBES, DEFAULT_TOLERANCE, MAX_PROBES};
use crate::syntax::{Expr, ExprKind};
use crate::workload::{Level, SearchLevel};

use super::args::Args;
use super::value::Ctx;

/// What a level measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelOf {
    /// Requests per second.
    Rate,
    /// Virtual users (a whole number ≥ 1).
    Users,
}

fn value(ctx: &mut Ctx, expr: &Expr, of: LevelOf, what: &str) -> Option<f64> {
    match of {
        LevelOf::Rate => ctx.rate(expr, what),
        LevelOf::Users => {
            let n = ctx.count(expr, what)?;
            let max = crate::limits::MAX_USERS;
            if n > max as u64 {
                ctx.error(
                    Diagnostic::error(expr.span, format!("{what}: {n} users is over the limit of {max}"))
                        .help("one llmw process runs at most 100000 virtual users; run several machines for more (docs/runs.md)"),
                );
                return None;
            }
            Some(n as f64)
        }
    }
}

fn positive(ctx: &mut Ctx, expr: &Expr, of: LevelOf, what: &str) -> Option<f64> {
    let v = value(ctx, expr, of, what)?;
    if v <= 0.0 {
        let unit = match of {
            LevelOf::Rate => "a rate above 0/s",
            LevelOf::Users => "at least 1 user",
        };
        ctx.error(Diagnostic::error(expr.span, format!("{what} needs {unit}")));
        return None;
    }
    Some(v)
}

pub(crate) fn level(ctx: &mut Ctx, expr: &Expr, of: LevelOf, what: &str) -> Option<Level> {
    let e = ctx.resolve(expr)?;
    let ExprKind::Call { name, args } = &e.kind else {
        return positive(ctx, e, of, what).map(Level::Fixed);
    };
    match name.text.as_str() {
        "steps" => {
            let mut values = Vec::new();
            let mut hold = None;
            let mut ok = true;
            for arg in args {
                match &arg.key {
                    None => match value(ctx, &arg.value, of, what) {
                        Some(v) if of == LevelOf::Users && v < 1.0 => {
                            ctx.error(Diagnostic::error(
                                arg.value.span,
                                "a step needs at least 1 user",
                            ));
                            ok = false;
                        }
                        Some(v) => values.push(v),
                        None => ok = false,
                    },
                    Some(k) if k.text == "hold" => hold = ctx.duration_ns(&arg.value, "hold"),
                    Some(k) => {
                        ctx.error(
                            Diagnostic::error(
                                k.span,
                                format!("steps(...) has no argument '{}'", k.text),
                            )
                            .help("steps(v1, v2, ..., hold: 60s)"),
                        );
                        ok = false;
                    }
                }
            }
            if values.is_empty() && ok {
                ctx.error(
                    Diagnostic::error(e.span, "steps(...) needs at least one value")
                        .help("steps(1, 2, 4, hold: 60s)"),
                );
                return None;
            }
            let Some(hold_ns) = hold else {
                if ok
                    && !args
                        .iter()
                        .any(|a| a.key.as_ref().is_some_and(|k| k.text == "hold"))
                {
                    ctx.error(
                        Diagnostic::error(e.span, "steps(...) needs 'hold'")
                            .label("missing hold")
                            .help("for example steps(1, 2, 4, hold: 60s)"),
                    );
                }
                return None;
            };
            if hold_ns == 0 {
                ctx.error(Diagnostic::error(
                    e.span,
                    "steps(...) needs a hold above 0s",
                ));
                return None;
            }
            ok.then_some(Level::Steps { values, hold_ns })
        }
        "ramp" => {
            let a = Args::bind(ctx, "ramp", e.span, args, &["from", "to", "shape"]);
            let from = a
                .require(ctx, "from", "ramp(from: 1/s, to: 30/s)")
                .and_then(|x| value(ctx, x, of, "from"));
            let to = a
                .require(ctx, "to", "ramp(from: 1/s, to: 30/s)")
                .and_then(|x| value(ctx, x, of, "to"));
            let exponential = match a.get("shape") {
                Some(s) => {
                    ctx.keyword(s, "ramp shape", &["linear", "exponential"])? == "exponential"
                }
                None => false,
            };
            let (from, to) = (from?, to?);
            if of == LevelOf::Users && (from < 1.0 || to < 1.0) {
                ctx.error(Diagnostic::error(
                    e.span,
                    "a concurrency ramp needs at least 1 user at both ends",
                ));
                return None;
            }
            if exponential && (from <= 0.0 || to <= 0.0) {
                ctx.error(Diagnostic::error(
                    e.span,
                    "an exponential ramp needs both ends above 0",
                ));
                return None;
            }
            if from == 0.0 && to == 0.0 {
                ctx.error(Diagnostic::error(
                    e.span,
                    "a ramp from 0 to 0 sends nothing",
                ));
                return None;
            }
            Some(Level::Ramp {
                from,
                to,
                exponential,
            })
        }
        "sine" => {
            let a = Args::bind(ctx, "sine", e.span, args, &["mean", "amplitude", "period"]);
            let ex = "sine(mean: 10/s, amplitude: 5/s, period: 10m)";
            let mean = a
                .require(ctx, "mean", ex)
                .and_then(|x| value(ctx, x, of, "mean"));
            let amplitude = a
                .require(ctx, "amplitude", ex)
                .and_then(|x| value(ctx, x, of, "amplitude"));
            let period = a
                .require(ctx, "period", ex)
                .and_then(|x| ctx.duration_ns(x, "period"));
            let (mean, amplitude, period_ns) = (mean?, amplitude?, period?);
            if period_ns == 0 {
                ctx.error(Diagnostic::error(
                    e.span,
                    "sine(...) needs a period above 0s",
                ));
                return None;
            }
            if amplitude > mean {
                ctx.error(
                    Diagnostic::error(
                        e.span,
                        "sine(...) amplitude is above its mean, so the level would go below 0",
                    )
                    .help("keep amplitude ≤ mean"),
                );
                return None;
            }
            if mean <= 0.0 || (of == LevelOf::Users && mean - amplitude < 1.0) {
                let floor = if of == LevelOf::Users {
                    "1 user"
                } else {
                    "above 0"
                };
                ctx.error(Diagnostic::error(
                    e.span,
                    format!("sine(...) must stay at {floor}: mean − amplitude is too low"),
                ));
                return None;
            }
            Some(Level::Sine {
                mean,
                amplitude,
                period_ns,
            })
        }
        "search" => search(ctx, e, args, of, what).map(Level::Search),
        _ => {
            let expected = match of {
                LevelOf::Rate => "a rate like 8/s, steps(...), ramp(...), sine(...) or search(...)",
                LevelOf::Users => "a user count, steps(...), ramp(...), sine(...) or search(...)",
            };
            ctx.mismatch(e, what, expected);
            None
        }
    }
}

/// `search(lo..hi, hold: 20s, warmup: 5s, tolerance: 10%, probes: 16)`.
fn search(
    ctx: &mut Ctx,
    e: &Expr,
    args: &[crate::syntax::Arg],
    of: LevelOf,
    what: &str,
) -> Option<SearchLevel> {
    let ex = match of {
        LevelOf::Users => "search(1..512, hold: 20s)",
        LevelOf::Rate => "search(1/s..200/s, hold: 20s)",
    };
    let a = Args::bind(
        ctx,
        "search",
        e.span,
        args,
        &["range", "hold", "warmup", "tolerance", "probes"],
    );
    let range = a
        .require(ctx, "range", ex)
        .and_then(|r| ctx.range(r, "search range", |c, x| positive(c, x, of, what)));
    let hold = a
        .require(ctx, "hold", ex)
        .and_then(|h| ctx.duration_ns(h, "hold"));
    let warmup = a
        .get("warmup")
        .map(|w| (ctx.duration_ns(w, "warmup"), w.span));
    let tolerance = a
        .get("tolerance")
        .map(|t| (ctx.percent(t, "tolerance"), t.span));
    let probes = a.get("probes").map(|p| (ctx.count(p, "probes"), p.span));
    let ((lo, hi), hold_ns) = (range?, hold?);
    let mut ok = true;
    let mut fail = |ctx: &mut Ctx, d: Diagnostic| {
        ctx.error(d);
        ok = false;
    };
    if hi <= lo {
        fail(
            ctx,
            Diagnostic::error(e.span, "search(...) needs a range from low to high")
                .help(format!("for example {ex}")),
        );
    }
    if hold_ns == 0 {
        fail(
            ctx,
            Diagnostic::error(e.span, "search(...) needs a hold above 0s"),
        );
    }
    let most = crate::limits::MAX_PLANNED as f64;
    if of == LevelOf::Rate && hi * (hold_ns as f64 / 1e9) > most {
        fail(
            ctx,
            Diagnostic::error(
                e.span,
                format!("a probe at the top of this range would plan more than {most} requests"),
            )
            .help("lower the range's high end or the hold"),
        );
    }
    let warmup_ns = match warmup {
        None => hold_ns / 4,
        Some((w, span)) => {
            let w = w?;
            if w >= hold_ns {
                fail(
                    ctx,
                    Diagnostic::error(span, "the warm-up must be shorter than the hold")
                        .help("each probe measures what follows its warm-up"),
                );
            }
            w
        }
    };
    let tolerance = match tolerance {
        None => DEFAULT_TOLERANCE,
        Some((t, span)) => {
            let t = t?;
            if t <= 0.0 || t >= 1.0 {
                fail(
                    ctx,
                    Diagnostic::error(span, "tolerance must be above 0% and below 100%")
                        .help("tolerance: 10% stops when the bracket's ends are within 10 %"),
                );
            }
            t
        }
    };
    let probes = match probes {
        None => DEFAULT_PROBES,
        Some((p, span)) => {
            let p = p?;
            if !(2..=MAX_PROBES as u64).contains(&p) {
                fail(
                    ctx,
                    Diagnostic::error(span, format!("probes must be from 2 to {MAX_PROBES}")),
                );
            }
            p.min(MAX_PROBES as u64) as u32
        }
    };
    ok.then_some(SearchLevel {
        lo,
        hi,
        hold_ns,
        warmup_ns,
        tolerance,
        probes,
    })
}
