//! Loading a workload file and splicing in its `include`s, so the checker sees one flat list of
//! items in order. Included files may give `param`, `requests`, `class` and `target` items;
//! a cycle of includes is an error.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::source::{FileId, Sources, Span};
use crate::syntax::{self, Entry, Name};

/// Includes nested deeper than this are refused (a cycle is caught sooner).
const MAX_INCLUDE_DEPTH: usize = 32;

/// The parsed files of a workload: the main file's items with every `include` spliced in.
#[derive(Debug)]
pub struct Flat {
    pub workload: Option<Name>,
    pub items: Vec<Item>,
    /// The whole main file, for errors about it as a whole.
    pub span: Span,
}

#[derive(Debug)]
pub struct Item {
    pub entry: Entry,
    /// Set for items that came from an included file: later items may redefine them.
    pub included: bool,
}

/// Reads a source file as UTF-8 text, with a message a user can act on.
/// A workload file (or an include) is at most this large.
pub const MAX_SOURCE_BYTES: u64 = 1 << 20;

/// Reads a workload source: a regular file of at most `MAX_SOURCE_BYTES` (1 MiB) of UTF-8 text
/// (so `/dev/zero` or a FIFO cannot make llmw read for ever).
pub fn read_source(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read '{}': {e}", path.display());
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(format!("'{}' is not a regular file", path.display()));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(format!(
            "'{}' is {} bytes; a workload file is at most {MAX_SOURCE_BYTES}",
            path.display(),
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(format!(
            "'{}' grew past {MAX_SOURCE_BYTES} bytes while being read",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "'{}' is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

pub(crate) fn flatten(sources: &mut Sources, main: FileId, diags: &mut Vec<Diagnostic>) -> Flat {
    let text = sources.get(main).text.clone();
    let (ast, errors) = syntax::parse(main, &text);
    diags.extend(errors);
    if ast.workload.is_none() && diags.is_empty() {
        diags.push(
            Diagnostic::error(
                Span::new(main, 0, 0),
                "a workload file starts with `workload \"name\" { ... }`",
            )
            .help("wrap the items in workload \"my-workload\" { ... }"),
        );
    }
    let mut stack: Vec<PathBuf> = sources
        .get(main)
        .path
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut items = Vec::new();
    for entry in ast.entries {
        push(sources, entry, false, &mut stack, &mut items, diags);
    }
    Flat {
        workload: ast.workload,
        items,
        span: ast.span,
    }
}

fn push(
    sources: &mut Sources,
    entry: Entry,
    included: bool,
    stack: &mut Vec<PathBuf>,
    items: &mut Vec<Item>,
    diags: &mut Vec<Diagnostic>,
) {
    let Entry::Include { path, span } = &entry else {
        items.push(Item { entry, included });
        return;
    };
    let full = sources.base_dir(span.file).join(&path.text);
    let Ok(canonical) = full.canonicalize() else {
        diags.push(
            Diagnostic::error(
                path.span,
                format!("no such file to include: '{}'", full.display()),
            )
            .label("file not found")
            .help("include paths are relative to the file that includes them"),
        );
        return;
    };
    // Only workload files are included: a diagnostic about any other file would print its
    // contents (an `include "/proc/self/environ"` would put the environment in a CI log).
    if canonical.extension().and_then(|e| e.to_str()) != Some("llmw") {
        diags.push(
            Diagnostic::error(
                path.span,
                format!("only .llmw files can be included, not '{}'", path.text),
            )
            .label("not a workload file"),
        );
        return;
    }
    if stack.contains(&canonical) {
        diags.push(
            Diagnostic::error(
                *span,
                format!("include cycle: '{}' is already being included", path.text),
            )
            .label("this include leads back to a file that includes it"),
        );
        return;
    }
    if stack.len() > MAX_INCLUDE_DEPTH {
        diags.push(Diagnostic::error(*span, "includes nested too deeply"));
        return;
    }
    let text = match read_source(&full) {
        Ok(t) => t,
        Err(message) => {
            diags.push(Diagnostic::error(path.span, message));
            return;
        }
    };
    let id = sources.add(full.display().to_string(), Some(full), text.clone());
    let (ast, errors) = syntax::parse(id, &text);
    diags.extend(errors);
    stack.push(canonical);
    for inner in ast.entries {
        let allowed = match &inner {
            Entry::Param { .. } | Entry::Include { .. } | Entry::Broken { .. } => true,
            Entry::Block(b) => matches!(
                b.kind.text.as_str(),
                "requests" | "class" | "session" | "target"
            ),
            _ => false,
        };
        if allowed {
            push(sources, inner, true, stack, items, diags);
        } else {
            let at = match &inner {
                Entry::Assign { key, .. } => key.span,
                Entry::Block(b) => b.kind.span,
                Entry::Objective(o) => o.span,
                _ => ast.span,
            };
            diags.push(
                Diagnostic::error(
                    at,
                    "an included file may only give param, requests, class and target items",
                )
                .help("phases, slo, seed and description belong in the workload file itself"),
            );
        }
    }
    stack.pop();
}
