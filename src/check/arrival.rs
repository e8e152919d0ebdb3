//! Arrival processes of open-loop phases: `constant`, `poisson`, `gamma`, `onoff` and
//! `trace(...)`.

use crate::diag::Diagnostic;
use crate::syntax::{Expr, ExprKind};
use crate::trace::TimeUnit;
use crate::workload::{Arrival, Process, TraceRef};

use super::args::Args;
use super::level::{level, LevelOf};
use super::value::Ctx;
use crate::suggest::closest;

pub(crate) const PROCESSES: [&str; 5] = ["constant", "poisson", "gamma", "onoff", "trace"];
pub(crate) const TRACE_FORMATS: [&str; 6] = crate::trace::Format::NAMES;

pub(crate) fn arrival(ctx: &mut Ctx, expr: &Expr) -> Option<Arrival> {
    let e = ctx.resolve(expr)?;
    let ExprKind::Call { name, args } = &e.kind else {
        ctx.mismatch(e, "arrival", "an arrival process like poisson(rate: 8/s)");
        return None;
    };
    let rate = |ctx: &mut Ctx, a: &Args, ex: &str| {
        a.require(ctx, "rate", ex)
            .and_then(|r| level(ctx, r, LevelOf::Rate, "rate"))
    };
    match name.text.as_str() {
        "constant" | "poisson" => {
            let a = Args::bind(ctx, &name.text, e.span, args, &["rate"]);
            let rate = rate(ctx, &a, &format!("{}(rate: 8/s)", name.text))?;
            let process = if name.text == "constant" {
                Process::Constant
            } else {
                Process::Poisson
            };
            Some(Arrival::Process { process, rate })
        }
        "gamma" => {
            let a = Args::bind(ctx, "gamma", e.span, args, &["rate", "cv"]);
            let ex = "gamma(rate: 20/s, cv: 3)";
            let rate = rate(ctx, &a, ex);
            let cv = a.require(ctx, "cv", ex).and_then(|c| ctx.number(c, "cv"));
            let (rate, cv) = (rate?, cv?);
            if cv <= 0.0 {
                ctx.error(Diagnostic::error(e.span, "gamma(...) needs cv above 0"));
                return None;
            }
            Some(Arrival::Process {
                process: Process::Gamma { cv },
                rate,
            })
        }
        "onoff" => {
            let a = Args::bind(ctx, "onoff", e.span, args, &["rate", "on", "off"]);
            let ex = "onoff(rate: 50/s, on: 10s, off: 20s)";
            let rate = rate(ctx, &a, ex);
            let on = a
                .require(ctx, "on", ex)
                .and_then(|d| ctx.duration_ns(d, "on"));
            let off = a
                .require(ctx, "off", ex)
                .and_then(|d| ctx.duration_ns(d, "off"));
            let (rate, on_ns, off_ns) = (rate?, on?, off?);
            if !matches!(rate, crate::workload::Level::Fixed(_)) {
                ctx.error(
                    Diagnostic::error(e.span, "onoff(...) takes a fixed rate")
                        .help("for a changing rate use poisson(rate: steps(...)) or ramp/sine"),
                );
                return None;
            }
            if on_ns == 0 {
                ctx.error(Diagnostic::error(e.span, "onoff(...) needs 'on' above 0s"));
                return None;
            }
            Some(Arrival::Process {
                process: Process::OnOff { on_ns, off_ns },
                rate,
            })
        }
        "trace" => trace(ctx, e, args).map(Arrival::Trace),
        other => {
            let d = Diagnostic::error(name.span, format!("unknown arrival process '{other}'"))
                .label("expected constant, poisson, gamma, onoff or trace")
                .suggest(closest(other, PROCESSES));
            ctx.error(d);
            None
        }
    }
}

/// `trace("file", format: F, speed: 2x, window: a..b, limit: N, ...)`.
pub(crate) fn trace(ctx: &mut Ctx, e: &Expr, args: &[crate::syntax::Arg]) -> Option<TraceRef> {
    let params = [
        "path",
        "format",
        "speed",
        "window",
        "limit",
        "block",
        "columns",
        "time_unit",
        "max_gap",
        "scale",
        "failed",
        "skip_bad_rows",
        "sessions",
        "models",
    ];
    let a = Args::bind(ctx, "trace", e.span, args, &params);
    let ex = "trace(\"traces/azure_conv.csv\", format: azure)";
    let path = a
        .require(ctx, "path", ex)
        .and_then(|p| ctx.existing_path(p, "trace"));
    let format = a
        .require(ctx, "format", ex)
        .and_then(|f| ctx.keyword(f, "trace format", &TRACE_FORMATS));
    let speed = match a.get("speed") {
        Some(s) => ctx.multiplier(s, "speed"),
        None => Some(1.0),
    };
    let window_ns = match a.get("window") {
        Some(w) => {
            let (lo, hi) = ctx.range(w, "window", |c, end| c.duration_ns(end, "window"))?;
            if lo >= hi {
                ctx.error(Diagnostic::error(
                    w.span,
                    "window is empty: its start is not before its end",
                ));
                return None;
            }
            Some((lo, hi))
        }
        None => None,
    };
    let limit = a.get("limit").map(|l| ctx.count(l, "limit"));
    let block = a.get("block").map(|b| ctx.count(b, "block"));
    let columns = match a.get("columns") {
        Some(c) => Some(columns(ctx, c)?),
        None => None,
    };
    let models = match a.get("models") {
        Some(m) => models(ctx, m)?,
        None => Vec::new(),
    };
    let time_unit = a.get("time_unit").map(|u| {
        ctx.keyword(u, "time unit", &TimeUnit::NAMES)
            .and_then(TimeUnit::parse)
    });
    let max_gap = a.get("max_gap").map(|g| ctx.duration_ns(g, "max_gap"));
    let scale = a.get("scale").map(|s| ctx.multiplier(s, "scale"));
    let failed = a.get("failed").map(|f| {
        ctx.keyword(f, "failed-rows option", &["skip", "replay"])
            .map(|k| k == "replay")
    });
    let skip_bad_rows = a
        .get("skip_bad_rows")
        .map(|b| ctx.boolean(b, "skip_bad_rows"));
    let sessions = a.get("sessions").map(|b| ctx.boolean(b, "sessions"));
    let mut ok = true;
    let sessions = present(sessions, &mut ok).unwrap_or(true);
    let skip_bad_rows = present(skip_bad_rows, &mut ok).unwrap_or(false);
    let limit = present(limit, &mut ok);
    let block = present(block, &mut ok);
    let time_unit = present(time_unit, &mut ok);
    let max_gap_ns = present(max_gap, &mut ok);
    let scale = present(scale, &mut ok);
    let replay_failed = present(failed, &mut ok);
    let format = format?;
    if matches!(format, "csv" | "jsonl") && columns.is_none() {
        ctx.error(
            Diagnostic::error(e.span, format!("a {format} trace needs 'columns'")).help(
                "for example columns: { at: \"t\", input: \"in\", output: \"out\" }, time_unit: s",
            ),
        );
        return None;
    }
    Some(TraceRef {
        path: path?,
        format: format.to_string(),
        speed: speed?,
        window_ns,
        limit,
        block,
        columns: columns.unwrap_or_default(),
        time_unit,
        max_gap_ns,
        scale,
        replay_failed,
        skip_bad_rows,
        sessions,
        models,
    })
    .filter(|_| ok)
}

/// An optional argument: absent is fine, present-but-invalid (already reported) clears `ok`.
fn present<T>(arg: Option<Option<T>>, ok: &mut bool) -> Option<T> {
    match arg {
        Some(None) => {
            *ok = false;
            None
        }
        Some(v) => v,
        None => None,
    }
}

fn columns(ctx: &mut Ctx, expr: &Expr) -> Option<Vec<(String, String)>> {
    let e = ctx.resolve(expr)?;
    let ExprKind::Map(entries) = &e.kind else {
        ctx.mismatch(
            e,
            "columns",
            "a map like { at: \"t\", input: \"in\", output: \"out\" }",
        );
        return None;
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        // `session` (and `turn`) make the rows of one conversation a session.
        // `model`, `api` and `images` say what each row was sent as.
        let known = [
            "at", "input", "output", "session", "turn", "model", "api", "images",
        ];
        if !known.contains(&key.text.as_str()) {
            ctx.error(
                Diagnostic::error(key.span, format!("unknown column role '{}'", key.text))
                    .label("expected at, input, output, session, turn, model, api or images")
                    .suggest(closest(&key.text, known)),
            );
            continue;
        }
        if let Some(v) = ctx.string(value, &key.text) {
            out.push((key.text.clone(), v));
        }
    }
    Some(out)
}

/// `models: {"ChatGPT": "base", "GPT-4": large}`: each model name the trace's rows give, and
/// the workload's model its requests name instead (a value without quotes is a param, so
/// `--set` renames it).
fn models(ctx: &mut Ctx, expr: &Expr) -> Option<Vec<(String, String)>> {
    let e = ctx.resolve(expr)?;
    let ExprKind::Map(entries) = &e.kind else {
        ctx.mismatch(
            e,
            "models",
            "a map like { \"ChatGPT\": \"base\", \"GPT-4\": \"large\" }",
        );
        return None;
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in entries {
        if out.iter().any(|(k, _)| *k == key.text) {
            ctx.error(Diagnostic::error(
                key.span,
                format!("the trace's model '{}' is mapped twice", key.text),
            ));
            continue;
        }
        match ctx.string(value, "a model name") {
            Some(v) if v.trim().is_empty() => ctx.error(Diagnostic::error(
                value.span,
                "a model name cannot be empty",
            )),
            Some(v) => out.push((key.text.clone(), v)),
            None => {}
        }
    }
    Some(out)
}
