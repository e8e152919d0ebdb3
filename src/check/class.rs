//! Traffic classes: `requests { ... }`, `class "name" weight W { ... }` and `session "name"
//! weight W { ... }` declarations, merged field by field (a class takes what it leaves out from
//! `requests`; a session takes nothing from it; a phase's blocks override the workload's
//! same-named ones for that phase), and the complete classes they resolve to. The fields of a
//! block are read by `shape` (lengths, prefix, files) and `session` (the turn structure).

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::Block;
use crate::workload::{Api, Class, Dist, Form, History, Session, Shape};

use super::session::{session_fields, PartialSession};
use super::shape::{class_fields, PartialShape};
use super::value::Ctx;

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
    let shape = class_fields(ctx, &block.entries, &what);
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
            form: Form::default(),
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
            if let Some(class) = session_class(ctx, decl, partial) {
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
            None if shape.prompts.is_some() => Dist::FromDataset,
            None if from_file => Dist::Const(1.0),
            None => {
                missing(ctx, decl, "input", "input = uniform(100, 1000)");
                continue;
            }
        };
        let embeds = shape.form.api.unwrap_or(ctx.target_api) == Api::Embeddings;
        let output = match shape.output {
            Some(d) => d,
            None if from_file || embeds => Dist::Const(1.0),
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
            form: shape.form.resolved(ctx, ctx.target_api, None),
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

/// A complete session class from its declaration (the phase's overrides applied), or `None`
/// after reporting what is missing.
fn session_class(ctx: &mut Ctx, decl: &ClassDecl, partial: &PartialSession) -> Option<Class> {
    let Some(turns) = partial.turns.clone() else {
        missing(ctx, decl, "turns", "turns = uniform(2, 8)");
        return None;
    };
    let Some(input) = decl.shape.input.clone() else {
        missing(
            ctx,
            decl,
            "input",
            "input = lognormal(median: 120, sigma: 0.8)",
        );
        return None;
    };
    let Some(output) = decl.shape.output.clone() else {
        missing(ctx, decl, "output", "output = 256");
        return None;
    };
    let system = decl.shape.prefix.clone().flatten();
    if let Some(max) = partial.max_context {
        // The smallest turn: the system prompt, one new user text and its reply.
        let low = |d: &Dist| d.support().map(|(lo, _)| lo.max(1.0)).unwrap_or(1.0);
        let one =
            system.as_ref().map(|p| p.tokens as f64).unwrap_or(0.0) + low(&input) + low(&output);
        if (max as f64) < one {
            ctx.error(
                Diagnostic::error(
                    decl.span,
                    format!(
                        "session \"{}\": max_context {max} is below one turn ({} tokens: the system prompt, the smallest input and output)",
                        decl.name,
                        super::dist::fmt(one)
                    ),
                )
                .help("raise max_context, or shorten the system prompt"),
            );
            return None;
        }
    }
    let form = decl
        .shape
        .form
        .clone()
        .resolved(ctx, ctx.target_api, Some(decl.span));
    let history = partial.history.unwrap_or(History::Planned);
    let tool_result = agent_loop(ctx, decl, partial, &form, history);
    Some(Class {
        name: decl.name.clone(),
        weight: decl.weight.unwrap_or(1.0),
        shape: Shape {
            input,
            output,
            prefix: system,
            prompts: None,
            sample: None,
            tokenizer: None,
        },
        form,
        session: Some(Session {
            turns,
            think: partial.think.clone(),
            history,
            max_context: partial.max_context,
            fanout: partial.fanout.clone(),
            tool_result,
        }),
    })
}

/// A session's `tool_result`, where it can be one: the turns call the session's tools, so it
/// needs `tools`, and its history is the plan's (a result answers the plan's call: a server that
/// answered in text has made no call to answer).
fn agent_loop(
    ctx: &mut Ctx,
    decl: &ClassDecl,
    partial: &PartialSession,
    form: &Form,
    history: History,
) -> Option<Dist> {
    let (dist, at) = partial.tool_result.clone()?;
    if form.tools.is_none() {
        ctx.error(
            Diagnostic::error(
                at,
                format!(
                    "session \"{}\" has a tool_result but offers no tools to call",
                    decl.name
                ),
            )
            .label("each turn but the last calls one of the session's tools")
            .help("tools = 4  (on an api that carries tools: chat, responses or messages)"),
        );
        return None;
    }
    if form.images.is_some() {
        ctx.error(
            Diagnostic::error(
                at,
                format!(
                    "session \"{}\": an agent session's turns send tool results, which carry no images",
                    decl.name
                ),
            )
            .label("turn 0 is the only user message; later turns answer the tools")
            .help("send the images from a class of their own, or from a session without tool_result"),
        );
        return None;
    }
    if history == History::Live {
        ctx.error(
            Diagnostic::error(
                at,
                format!(
                    "session \"{}\": a tool_result needs history = planned",
                    decl.name
                ),
            )
            .label("a tool result answers the plan's call; a live reply may call nothing")
            .help("history = planned"),
        );
        return None;
    }
    Some(dist)
}
