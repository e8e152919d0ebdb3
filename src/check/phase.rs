//! `phase "name" { ... }`: an open-loop `arrival` or a closed-loop `concurrency`, how the phase
//! ends, and its own request-shape overrides.

use crate::diag::Diagnostic;
use crate::syntax::Block;
use crate::workload::{Arrival, Level, Load, Phase};

use super::arrival::arrival;
use super::class::{class_block, overlay, resolve_classes, ClassDecl};
use super::dist::{dist, Of};
use super::fields::fields;
use super::level::{level, LevelOf};
use super::value::Ctx;

pub(crate) const KEYS: [&str; 9] = [
    "duration",
    "requests",
    "arrival",
    "concurrency",
    "think",
    "max_in_flight",
    "measure",
    "pause",
    "verify",
];

pub(crate) fn phase_block(ctx: &mut Ctx, block: &Block, classes: &[ClassDecl]) -> Option<Phase> {
    let Some(label) = &block.label else {
        ctx.error(
            Diagnostic::error(block.kind.span, "a phase needs a name")
                .help("phase \"steady\" { ... }"),
        );
        return None;
    };
    if let Some(w) = &block.weight {
        ctx.error(Diagnostic::error(w.span, "a phase takes no weight"));
    }
    let name = label.text.clone();
    let what = format!("phase \"{name}\"");
    let f = fields(
        ctx,
        &block.entries,
        &what,
        &KEYS,
        &["requests", "class", "session"],
    );
    let has_broken_line = block
        .entries
        .iter()
        .any(|e| matches!(e, crate::syntax::Entry::Broken { .. }));

    let duration = f
        .get("duration")
        .map(|e| (ctx.duration_ns(e, "duration"), e.span));
    let max_requests = f
        .get("requests")
        .and_then(|e| match ctx.count(e, "requests") {
            Some(0) => {
                ctx.error(Diagnostic::error(e.span, "requests must be at least 1"));
                None
            }
            n => n,
        });
    let load = match (f.get("arrival"), f.get("concurrency")) {
        (Some(_), Some(_)) => {
            let (Some(a), Some(c)) = (f.name("arrival"), f.name("concurrency")) else {
                return None;
            };
            ctx.error(
                Diagnostic::error(c.span, format!("{what} has both arrival and concurrency"))
                    .label("closed loop here")
                    .also(a.span, "open loop here")
                    .help("a phase is either open loop (arrival) or closed loop (concurrency); split it in two"),
            );
            None
        }
        (Some(a), None) => arrival(ctx, a).map(Load::Open),
        (None, Some(c)) => level(ctx, c, LevelOf::Users, "concurrency").map(Load::Closed),
        // A broken line may be the missing field: don't guess on top of a syntax error.
        (None, None) if has_broken_line => None,
        (None, None) => {
            ctx.error(
                Diagnostic::error(label.span, format!("{what} sends no requests"))
                    .label("no arrival or concurrency")
                    .help("add arrival = poisson(rate: 8/s) (open loop) or concurrency = 8 (closed loop)"),
            );
            None
        }
    };
    let think = f
        .get("think")
        .and_then(|e| dist(ctx, e, Of::Seconds, "think"));
    let max_in_flight = f
        .get("max_in_flight")
        .and_then(|e| match ctx.count(e, "max_in_flight") {
            Some(0) => {
                ctx.error(Diagnostic::error(
                    e.span,
                    "max_in_flight must be at least 1",
                ));
                None
            }
            n => n,
        });
    let measure = f
        .get("measure")
        .and_then(|e| ctx.boolean(e, "measure"))
        .unwrap_or(true);
    let pause_ns = f
        .get("pause")
        .and_then(|e| ctx.duration_ns(e, "pause"))
        .unwrap_or(0);
    let verify = f.get("verify").and_then(|e| ctx.boolean(e, "verify"));

    let mut own = Vec::new();
    for b in &f.blocks {
        if let Some(decl) = class_block(ctx, b) {
            // A phase's block overrides the workload's of its name: a class cannot override a
            // session, nor a session a class.
            let other = classes
                .iter()
                .find(|c| c.name == decl.name && c.session.is_some() != decl.session.is_some());
            if let Some(other) = other {
                let (this, that) = if decl.session.is_some() {
                    ("session", "class")
                } else {
                    ("class", "session")
                };
                ctx.error(
                    Diagnostic::error(
                        b.kind.span,
                        format!(
                            "this {this} '{}' would override the workload's {that} of that name",
                            decl.name
                        ),
                    )
                    .also(other.span, format!("the {that}"))
                    .help(format!(
                        "use a {that} block to override it, or another name"
                    )),
                );
                continue;
            }
            own.push(decl);
        }
    }
    let is_trace_load = matches!(load, Some(Load::Open(Arrival::Trace(_))));
    let own_lengths = (
        own.iter().any(|d| d.shape.input.is_some()),
        own.iter().any(|d| d.shape.output.is_some()),
    );
    let classes = resolve_classes(ctx, &overlay(classes, &own), block.span, is_trace_load);

    let load = load?;
    let closed = matches!(load, Load::Closed(_));
    if let (Some(k), false) = (f.name("think"), closed) {
        ctx.error(
            Diagnostic::error(
                k.span,
                "think applies to closed-loop phases (concurrency) only",
            )
            .help("an open-loop phase sends at its arrival times; there is no user to pause"),
        );
    }
    if let (Some(k), true) = (f.name("max_in_flight"), closed) {
        ctx.error(
            Diagnostic::error(
                k.span,
                "max_in_flight applies to open-loop phases (arrival) only",
            )
            .help("in a closed loop the concurrency already bounds requests in flight"),
        );
    }

    let fixed = match &load {
        Load::Open(Arrival::Process { rate, .. }) => rate.fixed_duration_ns(),
        Load::Closed(users) => users.fixed_duration_ns(),
        Load::Open(Arrival::Trace(_)) => None,
    };
    let is_trace = matches!(load, Load::Open(Arrival::Trace(_)));
    let searched = matches!(
        &load,
        Load::Closed(Level::Search(_))
            | Load::Open(Arrival::Process {
                rate: Level::Search(_),
                ..
            })
    );
    if searched {
        if let (Some(k), Some(false)) = (
            f.name("measure"),
            f.get("measure").and_then(|e| ctx.boolean(e, "measure")),
        ) {
            ctx.error(
                Diagnostic::error(k.span, format!("{what} searches its load, so it is measured"))
                    .help("its probes' measures choose the next level; warm up in a phase of its own before it"),
            );
            return None;
        }
        // The search decides how long the phase lasts: probe by probe.
        for key in ["duration", "requests"] {
            if let Some(k) = f.name(key) {
                ctx.error(
                    Diagnostic::error(k.span, format!("{what} searches its load, so it takes no {key}"))
                        .help("the search holds each probe for its hold and stops when the bracket is narrow (tolerance) or its probes are spent"),
                );
                return None;
            }
        }
    } else if let (Some(k), Some(true)) = (f.name("verify"), verify) {
        ctx.error(
            Diagnostic::error(k.span, "verify = true needs a searched load")
                .help("concurrency = search(1..512, hold: 20s) or arrival = poisson(rate: search(1/s..200/s, hold: 20s))"),
        );
        return None;
    }
    let duration_ns = match (duration, fixed) {
        (Some((Some(d), span)), Some(f)) if d != f => {
            ctx.error(
                Diagnostic::error(
                    span,
                    format!(
                        "{what}: duration disagrees with its steps(...), which last {}",
                        crate::fmt::duration(f)
                    ),
                )
                .help("drop duration: steps(...) fixes the phase's length"),
            );
            return None;
        }
        (Some((Some(0), span)), _) => {
            ctx.error(Diagnostic::error(span, "duration must be above 0s"));
            return None;
        }
        (Some((d, _)), _) => Some(d?),
        (None, f) => f,
    };
    let level = match &load {
        Load::Open(Arrival::Process { rate, .. }) => Some(rate),
        Load::Closed(users) => Some(users),
        Load::Open(Arrival::Trace(_)) => None,
    };
    if let (Some(l), None) = (level, duration_ns) {
        if l.needs_duration() {
            ctx.error(
                Diagnostic::error(
                    label.span,
                    format!("{what} ramps over its duration, but has none"),
                )
                .help("add duration = 5m"),
            );
            return None;
        }
    }
    if duration_ns.is_none() && max_requests.is_none() && !is_trace && !searched && !has_broken_line
    {
        ctx.error(
            Diagnostic::error(label.span, format!("{what} has no way to end"))
                .label("no duration, requests limit or steps")
                .help("add duration = 5m or requests = 1000"),
        );
        return None;
    }
    if let (Some(Level::Sine { .. }), None) = (level, duration_ns) {
        if closed {
            ctx.error(Diagnostic::error(
                label.span,
                format!("{what}: a sine concurrency needs a duration"),
            ));
            return None;
        }
    }
    Some(Phase {
        name,
        duration_ns,
        max_requests,
        load,
        think,
        max_in_flight,
        measure,
        pause_ns,
        verify: verify.unwrap_or(false),
        classes,
        own_lengths,
    })
}
