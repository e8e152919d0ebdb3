//! `session "name" weight W { turns, system, input, output, think, history, max_context,
//! fanout, tool_result }`: a traffic class whose unit is a conversation. Its lengths are a [`Shape`] (each
//! turn's new user text and reply, the system prompt as a shared prefix); its turn structure a
//! [`Session`].

use crate::diag::Diagnostic;
use crate::syntax::Entry;
use crate::workload::{Dist, History};

use super::dist::{dist, Of};
use super::fields::fields;
use super::form::FORM_FIELDS;
use super::shape::{lengths_and_prefix, PartialShape};
use super::value::Ctx;

pub(crate) const SESSION_FIELDS: [&str; 18] = [
    "turns",
    "system",
    "input",
    "output",
    "think",
    "history",
    "max_context",
    "fanout",
    "tool_result",
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

use crate::limits::{MAX_FANOUT, MAX_TURNS};

/// A session block's turn structure as written: every field optional until resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartialSession {
    pub turns: Option<Dist>,
    pub think: Option<Dist>,
    pub history: Option<History>,
    pub max_context: Option<u32>,
    pub fanout: Option<Dist>,
    /// `tool_result = DIST`, and where it was written (for the diagnostics that need tools).
    pub tool_result: Option<(Dist, crate::source::Span)>,
}

impl PartialSession {
    /// `self` with the fields `over` sets taking precedence.
    pub fn merged(&self, over: &PartialSession) -> PartialSession {
        PartialSession {
            turns: over.turns.clone().or_else(|| self.turns.clone()),
            think: over.think.clone().or_else(|| self.think.clone()),
            history: over.history.or(self.history),
            max_context: over.max_context.or(self.max_context),
            fanout: over.fanout.clone().or_else(|| self.fanout.clone()),
            tool_result: over
                .tool_result
                .clone()
                .or_else(|| self.tool_result.clone()),
        }
    }
}

/// Reads the fields of a session block.
pub(crate) fn session_fields(
    ctx: &mut Ctx,
    entries: &[Entry],
    what: &str,
) -> (PartialShape, PartialSession) {
    let f = fields(ctx, entries, what, &SESSION_FIELDS, &[]);
    let shape = lengths_and_prefix(ctx, &f, "system");
    let mut session = PartialSession::default();
    if let Some(e) = f.get("turns") {
        session.turns = bounded(ctx, e, "turns", MAX_TURNS);
    }
    if let Some(e) = f.get("fanout") {
        session.fanout = bounded(ctx, e, "fanout", MAX_FANOUT);
    }
    if let Some(e) = f.get("tool_result") {
        session.tool_result = dist(ctx, e, Of::Tokens, "tool_result").map(|d| (d, e.span));
    }
    if let Some(e) = f.get("think") {
        session.think = dist(ctx, e, Of::Seconds, "think");
    }
    if let Some(e) = f.get("history") {
        session.history = ctx
            .keyword(e, "history", &["planned", "live"])
            .map(|k| match k {
                "live" => History::Live,
                _ => History::Planned,
            });
    }
    if let Some(e) = f.get("max_context") {
        session.max_context = match ctx.count(e, "max_context") {
            Some(n) if n >= 1 && n <= crate::limits::MAX_LENGTH as u64 => Some(n as u32),
            Some(_) => {
                ctx.error(
                    Diagnostic::error(e.span, "max_context must be between 1 and 1048576 tokens")
                        .help("max_context = 8192"),
                );
                None
            }
            None => None,
        };
    }
    (shape, session)
}

/// A whole-number distribution that can draw at least 1 and not only above `max` (draws are
/// rounded and kept within 1..=max when sampled, as lengths are kept ≥ 1).
fn bounded(ctx: &mut Ctx, expr: &crate::syntax::Expr, what: &str, max: u32) -> Option<Dist> {
    let d = dist(ctx, expr, Of::Tokens, what)?;
    let example = if what == "turns" {
        "turns = uniform(2, 8)"
    } else {
        "fanout = choice(1: 0.8, 3: 0.2)"
    };
    match d.support() {
        Some((_, hi)) if hi < 0.5 => {
            ctx.error(
                Diagnostic::error(expr.span, format!("{what} must be at least 1"))
                    .label(format!("this never draws {what} ≥ 1"))
                    .help(example.to_string()),
            );
            None
        }
        Some((lo, _)) if lo > max as f64 => {
            ctx.error(
                Diagnostic::error(expr.span, format!("{what} is over the limit of {max}"))
                    .help(format!("clamp it: ... clamp 1..{max}")),
            );
            None
        }
        _ => Some(d),
    }
}
