//! Checking: [`Ast`](crate::syntax::Ast) → [`Workload`].
//!
//! Resolves includes and params (with `--set` overrides), reads every value with its unit,
//! fills defaults, and validates classes, phases and objectives. Problems are collected, not
//! thrown: one run reports every error it can find.

mod abort;
mod args;
mod arrival;
mod class;
mod dist;
mod fields;
mod flatten;
mod form;
mod headers;
mod level;
mod on_error;
mod phase;
pub mod reference;
mod scope;
mod session;
mod shape;
mod slo;
mod target;
mod value;

pub use flatten::{read_source, Flat, Item};

use crate::diag::Diagnostic;
use crate::source::{FileId, Sources};
use crate::syntax::Entry;
use crate::workload::{ParamValue, Target, Workload};

use crate::suggest::closest;
use class::ClassDecl;
use scope::{ParamDef, Scope};
use value::Ctx;

/// Command-line inputs that change the meaning of a workload.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--set NAME=VALUE`, as given.
    pub sets: Vec<String>,
    /// `--seed N`.
    pub seed: Option<u64>,
}

const TOP_LEVEL: [&str; 13] = [
    "description",
    "expect_plan",
    "seed",
    "param",
    "include",
    "target",
    "requests",
    "class",
    "session",
    "phase",
    "slo",
    "abort",
    "on_error",
];

/// Checks workload text held in memory as if it were the file at `path` (an editor's unsaved
/// buffer, a formatted copy): its includes and data files resolve against `path`'s directory.
pub fn check_source(
    path: &std::path::Path,
    text: &str,
    overrides: &Overrides,
) -> (Sources, Result<Workload, Vec<Diagnostic>>) {
    let mut sources = Sources::new();
    let main = sources.add(
        path.display().to_string(),
        Some(path.to_path_buf()),
        text.to_string(),
    );
    let loaded = load(&mut sources, main);
    let result = check(&mut sources, loaded, overrides);
    (sources, result)
}

/// The load step: source `main` parsed, with its `include`s read from disk (added to
/// `sources`) and spliced in — the parsed files [`check`] takes. What could not be read or
/// parsed is in the diagnostics, reported with the checker's own.
pub fn load(sources: &mut Sources, main: FileId) -> (Flat, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let flat = flatten::flatten(sources, main, &mut diags);
    (flat, diags)
}

/// Checks the parsed files of a workload (from [`load`], with its diagnostics) into a
/// [`Workload`]; `--set` overrides are added to `sources`.
pub fn check(
    sources: &mut Sources,
    loaded: (Flat, Vec<Diagnostic>),
    overrides: &Overrides,
) -> Result<Workload, Vec<Diagnostic>> {
    let (flat, mut diags) = loaded;
    let set_files: Vec<FileId> = overrides
        .sets
        .iter()
        .map(|s| sources.add("--set".into(), None, s.clone()))
        .collect();

    let mut scope = Scope::default();
    for (ordinal, item) in flat.items.iter().enumerate() {
        if let Entry::Param { name, value, span } = &item.entry {
            if let Some(previous) = scope.params.iter().rev().find(|p| p.name == name.text) {
                let both_in_main = !item.included && previous.span.file == name.span.file;
                if both_in_main {
                    diags.push(
                        Diagnostic::error(
                            name.span,
                            format!("param '{}' is declared twice", name.text),
                        )
                        .also(previous.span, "first declared here"),
                    );
                    continue;
                }
            }
            scope.params.push(ParamDef {
                name: name.text.clone(),
                value: value.clone(),
                ordinal,
                span: *span,
                overridden: false,
            });
        }
    }
    scope.apply_overrides(sources, &set_files, &mut diags);

    let mut ctx = Ctx {
        sources,
        scope: &scope,
        ordinal: 0,
        diags,
        target_api: crate::workload::Api::Chat,
    };
    let mut description = None;
    let mut expect_plan = None;
    let mut seed = None;
    let mut target = Target::default();
    let mut decls: Vec<ClassDecl> = Vec::new();
    let mut by_name: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut slo = Vec::new();
    let mut abort = Some(crate::workload::AbortRule::default());
    let mut backoff = Some(crate::workload::Backoff::default());
    let mut phase_blocks = Vec::new();
    for (ordinal, item) in flat.items.iter().enumerate() {
        ctx.ordinal = ordinal;
        match &item.entry {
            Entry::Param { .. } | Entry::Include { .. } => {}
            Entry::Assign { key, value, .. } => match key.text.as_str() {
                "description" => set_once(&mut ctx, &mut description, key, |c| {
                    c.string(value, "description")
                }),
                "seed" => set_once(&mut ctx, &mut seed, key, |c| c.count(value, "seed")),
                "expect_plan" => set_once(&mut ctx, &mut expect_plan, key, |c| {
                    let hash = c.string(value, "expect_plan")?;
                    if let Err(e) = crate::workload::pin::valid(&hash) {
                        c.error(
                            Diagnostic::error(value.span, e)
                                .help("the hash `llmw plan` prints, or its first 12 digits"),
                        );
                        return None;
                    }
                    Some(hash)
                }),
                "abort" => abort::abort_assign(&mut ctx, value, &mut abort),
                other => {
                    let d = Diagnostic::error(key.span, format!("unknown item '{other}'"))
                        .label("not a workload item")
                        .suggest(closest(other, TOP_LEVEL));
                    ctx.error(d);
                }
            },
            Entry::Block(b) => match b.kind.text.as_str() {
                "target" => target::target_block(&mut ctx, b, &mut target),
                "requests" | "class" | "session" => {
                    if let Some(decl) = class::class_block(&mut ctx, b) {
                        // By name through an index: a workload may declare thousands.
                        let at = by_name.get(&decl.name).copied();
                        if let Some(other) = at
                            .map(|i| &decls[i])
                            .filter(|d| d.session.is_some() != decl.session.is_some())
                        {
                            let d = Diagnostic::error(
                                b.kind.span,
                                format!("a class and a session are both named '{}'", decl.name),
                            )
                            .also(other.span, "the other one")
                            .help("names label the class column of the run; make them unique");
                            ctx.error(d);
                            continue;
                        }
                        let twice = at
                            .map(|i| &decls[i])
                            .filter(|d| d.span.file == decl.span.file);
                        if let (Some(first), false) = (twice, item.included) {
                            let d = Diagnostic::error(
                                b.kind.span,
                                format!("class '{}' is declared twice", decl.name),
                            )
                            .also(first.span, "first declared here");
                            ctx.error(d);
                        } else {
                            if at.is_none() {
                                by_name.insert(decl.name.clone(), decls.len());
                            }
                            class::overlay_one(&mut decls, at, &decl);
                        }
                    }
                }
                "phase" => phase_blocks.push((ordinal, b)),
                "slo" => slo::slo_block(&mut ctx, b, &mut slo),
                "abort" => abort::abort_block(&mut ctx, b, &mut abort),
                "on_error" => on_error::on_error_block(&mut ctx, b, &mut backoff),
                other => {
                    let d = Diagnostic::error(b.kind.span, format!("unknown block '{other}'"))
                        .label("not a workload item")
                        .suggest(closest(other, TOP_LEVEL));
                    ctx.error(d);
                }
            },
            Entry::Objective(o) => ctx.error(
                Diagnostic::error(o.span, "objectives go in an slo { ... } block")
                    .help("slo { ttft.p99 < 2s }"),
            ),
            Entry::Broken { message, span } => ctx.error(Diagnostic::error(*span, message.clone())),
        }
    }

    ctx.target_api = target.api;
    let mut phases: Vec<crate::workload::Phase> = Vec::new();
    for (ordinal, b) in &phase_blocks {
        ctx.ordinal = *ordinal;
        let Some(phase) = phase::phase_block(&mut ctx, b, &decls) else {
            continue;
        };
        if let Some((_, first)) = phase_blocks.iter().find(|(_, other)| {
            other.label.as_ref().map(|l| &l.text) == Some(&phase.name) && other.span != b.span
        }) {
            if first.span.start < b.span.start {
                let at = b.label.as_ref().map(|l| l.span).unwrap_or(b.span);
                ctx.error(
                    Diagnostic::error(at, format!("phase '{}' is declared twice", phase.name))
                        .also(first.kind.span, "first declared here")
                        .help("phase names label the metric groups; make them unique"),
                );
                continue;
            }
        }
        phases.push(phase);
    }
    if phase_blocks.is_empty() && flat.workload.is_some() {
        let span = flat.workload.as_ref().map(|w| w.span).unwrap_or(flat.span);
        ctx.error(
            Diagnostic::error(span, "the workload has no phase, so it sends nothing")
                .help("add phase \"main\" { duration = 1m  concurrency = 4 }"),
        );
    }

    let mut diags = ctx.diags;
    let Some(name) = flat.workload.clone() else {
        return Err(diags);
    };
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.span);
        diags.dedup();
        return Err(diags);
    }
    let params = scope
        .params
        .iter()
        .map(|p| ParamValue {
            name: p.name.clone(),
            value: sources.text(p.value.span).to_string(),
            overridden: p.overridden,
        })
        .collect();
    Ok(Workload {
        name: name.text,
        description,
        expect_plan,
        seed: overrides.seed.or(seed).unwrap_or(0),
        params,
        target,
        phases,
        slo,
        abort,
        backoff,
    })
}

/// Sets a top-level scalar once; a second setting in the same file is an error.
fn set_once<T>(
    ctx: &mut Ctx,
    slot: &mut Option<T>,
    key: &crate::syntax::Name,
    read: impl FnOnce(&mut Ctx) -> Option<T>,
) {
    if slot.is_some() {
        ctx.error(Diagnostic::error(
            key.span,
            format!("'{}' is given twice", key.text),
        ));
        return;
    }
    *slot = read(ctx);
}
