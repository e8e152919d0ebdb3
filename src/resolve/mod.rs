//! [`Workload`] → [`Resolved`]: every file the workload names is read here, once — traces (as
//! arrivals or `sample = trace(...)`), `empirical(...)` columns, `dataset(...)` prompts and their
//! tokenizers. A file that cannot be read or is not what it should be is a diagnostic pointing at
//! the span of the `.llmw` text that named it. After this stage nothing reads a file: compile is
//! a pure function of the resolved workload, and the plan hash covers the files' contents (what
//! was loaded), never their paths.

mod dataset;

use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::trace::{self, Format, ReadOptions, Trace};
use crate::workload::{Arrival, Dist, FileRef, Load, Shape, TraceRef, Workload};

pub use dataset::Prompt;

/// A checked workload with the contents of every file it names.
#[derive(Debug)]
pub struct Resolved {
    pub workload: Workload,
    pub files: Files,
}

/// What the workload's files hold, looked up by the reference that named them.
#[derive(Debug, Default)]
pub struct Files {
    traces: Vec<(TraceKey, Trace)>,
    columns: Vec<((PathBuf, String), Vec<f64>)>,
    datasets: Vec<(DatasetKey, Vec<Prompt>)>,
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
    /// The rows of the trace `tr` names (every `TraceRef` of a resolved workload has them).
    pub fn trace(&self, tr: &TraceRef) -> Option<&Trace> {
        let key = TraceKey::of(tr);
        self.traces.iter().find(|(k, _)| *k == key).map(|(_, t)| t)
    }

    /// The values of an `empirical(...)` column.
    pub fn column(&self, file: &FileRef, column: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|((p, c), _)| *p == file.path && c == column)
            .map(|(_, v)| v.as_slice())
    }

    /// The prompts of a `dataset(...)`, measured by `tokenizer` when the class names one.
    pub fn dataset(&self, prompts: &FileRef, tokenizer: Option<&FileRef>) -> Option<&[Prompt]> {
        let tok = tokenizer.map(|t| t.path.clone());
        self.datasets
            .iter()
            .find(|((p, t), _)| *p == prompts.path && *t == tok)
            .map(|(_, v)| v.as_slice())
    }
}

/// Loads every file `workload` names; all problems are reported, each at its span.
pub fn resolve(workload: Workload) -> Result<Resolved, Vec<Diagnostic>> {
    let mut r = Resolver::default();
    for phase in &workload.phases {
        if let Load::Open(Arrival::Trace(tr)) = &phase.load {
            r.trace(tr, true);
        }
        if let Some(think) = &phase.think {
            r.dist(think);
        }
        for class in &phase.classes {
            r.shape(&class.shape);
        }
    }
    if r.diagnostics.is_empty() {
        Ok(Resolved {
            workload,
            files: r.files,
        })
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
    fn trace(&mut self, tr: &TraceRef, arrival: bool) {
        let key = TraceKey::of(tr);
        if !self.files.traces.iter().any(|(k, _)| *k == key) {
            if self.failed_traces.contains(&key) {
                return;
            }
            let Some(format) = Format::parse(&tr.format) else {
                let message = format!("unknown trace format '{}'", tr.format);
                self.failed_traces.push(key);
                self.report(&tr.path, message);
                return;
            };
            let opts = ReadOptions {
                columns: tr.columns.clone(),
                time_unit: tr.time_unit,
                skip_bad_rows: tr.skip_bad_rows,
            };
            match trace::read(&tr.path.path, format, &opts) {
                Ok(t) => self.files.traces.push((key.clone(), t)),
                Err(e) => {
                    self.failed_traces.push(key);
                    self.report(&tr.path, e.to_string());
                    return;
                }
            }
        }
        let failed = self
            .files
            .trace(tr)
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
    }

    fn dist(&mut self, dist: &Dist) {
        match dist {
            Dist::Empirical { path, column } => {
                let key = (path.path.clone(), column.clone());
                if self.files.columns.iter().any(|(k, _)| *k == key) {
                    return;
                }
                match trace::column_values(&path.path, column) {
                    Ok(v) => self.files.columns.push((key, v)),
                    Err(e) => self.fail(path, e.to_string()),
                }
            }
            Dist::Mix { parts, .. } => parts.iter().for_each(|p| self.dist(p)),
            Dist::Clamp { inner, .. } => self.dist(inner),
            _ => {}
        }
    }

    fn shape(&mut self, shape: &Shape) {
        self.dist(&shape.input);
        self.dist(&shape.output);
        if let Some(tr) = &shape.sample {
            self.trace(tr, false);
        }
        let Some(prompts) = &shape.prompts else {
            return;
        };
        let key = (
            prompts.path.clone(),
            shape.tokenizer.as_ref().map(|t| t.path.clone()),
        );
        if self.files.datasets.iter().any(|(k, _)| *k == key) {
            return;
        }
        let tokenizer = match &shape.tokenizer {
            Some(t) => match self.tokenizers.get(&t.path) {
                Ok(tok) => Some(tok),
                Err(e) => {
                    self.fail(t, e);
                    return;
                }
            },
            None => None,
        };
        match dataset::read(&prompts.path, tokenizer) {
            Ok(list) => self.files.datasets.push((key, list)),
            Err(e) => self.fail(prompts, e),
        }
    }
}
