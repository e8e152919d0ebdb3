//! [`Workload`] → [`Resolved`]: every file the workload names is read here, once — traces (as
//! arrivals or `sample = trace(...)`), `empirical(...)` columns, `dataset(...)` prompts and their
//! tokenizers. A file that cannot be read or is not what it should be is a diagnostic pointing at
//! the span of the `.llmw` text that named it. After this stage nothing reads a file: compile is
//! a pure function of the resolved workload, and the plan hash covers the files' contents (what
//! was loaded), never their paths.

mod dataset;

use std::path::PathBuf;
use std::sync::Arc;

use crate::diag::Diagnostic;
use crate::trace::{self, Format, ReadOptions, Trace};
use crate::workload::{Arrival, Dist, FileRef, Load, Phase, Shape, TraceRef, Workload};

pub use dataset::Prompt;

/// A checked workload with the contents of every file it names: every `empirical(...)` in it
/// replaced by the column's values, and beside each phase the rows of the trace it replays and,
/// for each of its classes, the trace rows it samples and the dataset prompts it sends. Only
/// [`resolve`] makes one, so a compiled phase always finds what it names.
#[derive(Debug)]
pub struct Resolved {
    workload: Workload,
    phases: Vec<PhaseFiles>,
}

/// What one phase's files hold, by the phase's position.
#[derive(Debug, Default)]
pub struct PhaseFiles {
    /// The trace an open-loop `trace(...)` arrival replays.
    pub arrivals: Option<Arc<Trace>>,
    /// One per class of the phase, in the phase's order.
    pub classes: Vec<ClassFiles>,
}

/// What one class's files hold.
#[derive(Debug, Default)]
pub struct ClassFiles {
    /// `sample = trace(...)`: the rows its (input, output) pairs come from.
    pub samples: Option<Arc<Trace>>,
    /// `prompts = dataset(...)`: the prompts, measured by the class's tokenizer.
    pub prompts: Option<Arc<[Prompt]>>,
}

impl Resolved {
    /// The workload, with every distribution a plain one.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// The files of phase `index` (of [`Resolved::workload`]'s phases).
    pub fn phase(&self, index: usize) -> &PhaseFiles {
        &self.phases[index]
    }

    /// Each phase with its files.
    pub fn phases(&self) -> impl Iterator<Item = (&Phase, &PhaseFiles)> {
        self.workload.phases.iter().zip(&self.phases)
    }
}

/// Files read once each, by the reference that named them.
#[derive(Debug, Default)]
struct Files {
    traces: Vec<(TraceKey, Arc<Trace>)>,
    columns: Vec<((PathBuf, String), Vec<f64>)>,
    datasets: Vec<(DatasetKey, Arc<[Prompt]>)>,
}

/// A dataset and the tokenizer that measures it.
type DatasetKey = (PathBuf, Option<PathBuf>);

/// What decides a trace's rows: the file and how it is read (not the transformations).
#[derive(Debug, Clone, PartialEq)]
struct TraceKey {
    path: PathBuf,
    format: String,
    columns: Vec<(String, String)>,
    time_unit: Option<trace::TimeUnit>,
    skip_bad_rows: bool,
}

impl TraceKey {
    fn of(tr: &TraceRef) -> TraceKey {
        TraceKey {
            path: tr.path.path.clone(),
            format: tr.format.clone(),
            columns: tr.columns.clone(),
            time_unit: tr.time_unit,
            skip_bad_rows: tr.skip_bad_rows,
        }
    }
}

impl Files {
    fn trace(&self, tr: &TraceRef) -> Option<&Arc<Trace>> {
        let key = TraceKey::of(tr);
        self.traces.iter().find(|(k, _)| *k == key).map(|(_, t)| t)
    }
}

/// Loads every file `workload` names and puts what they hold in place; all problems are
/// reported, each at its span.
pub fn resolve(mut workload: Workload) -> Result<Resolved, Vec<Diagnostic>> {
    let mut r = Resolver::default();
    // One walk over every distribution: what it loads, it substitutes.
    workload.each_dist_mut(&mut |d| r.dist(d));
    let mut phases = Vec::with_capacity(workload.phases.len());
    for phase in &workload.phases {
        let arrivals = match &phase.load {
            Load::Open(Arrival::Trace(tr)) => r.trace(tr, true),
            _ => None,
        };
        let classes = phase.classes.iter().map(|c| r.shape(&c.shape)).collect();
        phases.push(PhaseFiles { arrivals, classes });
    }
    if r.diagnostics.is_empty() {
        Ok(Resolved { workload, phases })
    } else {
        Err(r.diagnostics)
    }
}

#[derive(Default)]
struct Resolver {
    files: Files,
    tokenizers: dataset::Tokenizers,
    diagnostics: Vec<Diagnostic>,
    /// Files already reported, so one bad file named twice is said once.
    failed: Vec<PathBuf>,
    /// Traces that could not be read one way (another way of reading the file is still tried).
    failed_traces: Vec<TraceKey>,
}

impl Resolver {
    fn fail(&mut self, file: &FileRef, message: String) {
        if !self.failed.contains(&file.path) {
            self.failed.push(file.path.clone());
            self.report(file, message);
        }
    }

    fn report(&mut self, file: &FileRef, message: String) {
        if !self.failed.contains(&file.path) {
            self.failed.push(file.path.clone());
        }
        self.diagnostics
            .push(Diagnostic::error(file.span, message).label("named here"));
    }

    /// Loads the trace `tr` names (once per file and way of reading it). For an arrival, the
    /// trace's failed rows need an explicit choice — checked at every arrival that names it,
    /// since each says its own `failed:`.
    fn trace(&mut self, tr: &TraceRef, arrival: bool) -> Option<Arc<Trace>> {
        let key = TraceKey::of(tr);
        if !self.files.traces.iter().any(|(k, _)| *k == key) {
            if self.failed_traces.contains(&key) {
                return None;
            }
            let Some(format) = Format::parse(&tr.format) else {
                let message = format!("unknown trace format '{}'", tr.format);
                self.failed_traces.push(key);
                self.report(&tr.path, message);
                return None;
            };
            let opts = ReadOptions {
                columns: tr.columns.clone(),
                time_unit: tr.time_unit,
                skip_bad_rows: tr.skip_bad_rows,
            };
            match trace::read(&tr.path.path, format, &opts) {
                Ok(t) => self.files.traces.push((key.clone(), Arc::new(t))),
                Err(e) => {
                    self.failed_traces.push(key);
                    self.report(&tr.path, e.to_string());
                    return None;
                }
            }
        }
        let rows = self.files.trace(tr).cloned();
        let failed = rows
            .as_ref()
            .map_or(0, |t| t.rows.iter().filter(|r| r.failed).count());
        if arrival && failed > 0 && tr.replay_failed.is_none() {
            self.diagnostics.push(
                Diagnostic::error(
                    tr.path.span,
                    format!("{failed} rows are failed requests (0 response tokens)"),
                )
                .label("this trace")
                .help("say failed: skip or failed: replay (llmw replay: --failed skip|replay)"),
            );
        }
        if let Some(t) = rows.as_ref().filter(|_| arrival && !tr.models.is_empty()) {
            self.unmapped_models(tr, t);
        }
        rows
    }

    /// With `models: {...}`, every model the trace's rows name must be mapped: a name sent as
    /// the trace has it would reach a server that serves no such model.
    fn unmapped_models(&mut self, tr: &TraceRef, t: &Trace) {
        let mut missing: Vec<(String, usize)> = Vec::new();
        for (i, name) in t.models.iter().enumerate() {
            if tr.models.iter().any(|(from, _)| from == name) {
                continue;
            }
            let rows = t.rows.iter().filter(|r| r.model == Some(i as u32)).count();
            missing.push((name.clone(), rows));
        }
        if missing.is_empty() {
            return;
        }
        let list: Vec<String> = missing
            .iter()
            .map(|(m, n)| format!("'{m}' ({n} rows)"))
            .collect();
        let example: Vec<String> = missing
            .iter()
            .map(|(m, _)| format!("{m:?}: \"…\""))
            .collect();
        self.diagnostics.push(
            Diagnostic::error(
                tr.path.span,
                format!(
                    "the trace names models its models map leaves out: {}",
                    list.join(", ")
                ),
            )
            .label("this trace")
            .help(format!(
                "map every one: models: {{ {} }}",
                example.join(", ")
            )),
        );
    }

    /// Replaces every `empirical(...)` in `dist` by the column's values (left in place, and
    /// reported, when the file cannot be read).
    fn dist(&mut self, dist: &mut Dist) {
        match dist {
            Dist::Empirical { path, column } => {
                let key = (path.path.clone(), column.clone());
                if !self.files.columns.iter().any(|(k, _)| *k == key) {
                    match trace::column_values(&path.path, column) {
                        Ok(v) => self.files.columns.push((key.clone(), v)),
                        Err(e) => {
                            let path = path.clone();
                            self.fail(&path, e.to_string());
                            return;
                        }
                    }
                }
                if let Some((_, v)) = self.files.columns.iter().find(|(k, _)| *k == key) {
                    *dist = Dist::Values(v.clone());
                }
            }
            Dist::Mix { parts, .. } => parts.iter_mut().for_each(|p| self.dist(p)),
            Dist::Clamp { inner, .. } => self.dist(inner),
            _ => {}
        }
    }

    /// The trace rows and dataset prompts a class's shape names.
    fn shape(&mut self, shape: &Shape) -> ClassFiles {
        ClassFiles {
            samples: shape.sample.as_ref().and_then(|tr| self.trace(tr, false)),
            prompts: shape.prompts.as_ref().and_then(|p| self.dataset(p, shape)),
        }
    }

    fn dataset(&mut self, prompts: &FileRef, shape: &Shape) -> Option<Arc<[Prompt]>> {
        let key = (
            prompts.path.clone(),
            shape.tokenizer.as_ref().map(|t| t.path.clone()),
        );
        if let Some((_, list)) = self.files.datasets.iter().find(|(k, _)| *k == key) {
            return Some(list.clone());
        }
        if self.failed.contains(&prompts.path) {
            return None;
        }
        let tokenizer = match &shape.tokenizer {
            Some(t) => match self.tokenizers.get(&t.path) {
                Ok(tok) => Some(tok),
                Err(e) => {
                    self.fail(t, e);
                    return None;
                }
            },
            None => None,
        };
        match dataset::read(&prompts.path, tokenizer) {
            Ok(list) => {
                let list: Arc<[Prompt]> = list.into();
                self.files.datasets.push((key, list.clone()));
                Some(list)
            }
            Err(e) => {
                self.fail(prompts, e);
                None
            }
        }
    }
}
