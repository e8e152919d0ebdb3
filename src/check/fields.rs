//! The entries of one block sorted into known fields and nested blocks, with unknown,
//! repeated and misplaced entries reported.

use crate::diag::Diagnostic;
use crate::syntax::{Block, Entry, Expr, Name};

use super::value::Ctx;
use crate::suggest::closest;

pub(crate) struct Fields<'a> {
    pub assigns: Vec<(&'a Name, &'a Expr)>,
    pub blocks: Vec<&'a Block>,
}

impl<'a> Fields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a Expr> {
        self.assigns
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, e)| *e)
    }

    pub fn name(&self, key: &str) -> Option<&'a Name> {
        self.assigns
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(k, _)| *k)
    }
}

/// Sorts `entries` of a block called `what`; `keys` are its fields, `blocks` its nested block kinds.
pub(crate) fn fields<'a>(
    ctx: &mut Ctx,
    entries: &'a [Entry],
    what: &str,
    keys: &[&str],
    blocks: &[&str],
) -> Fields<'a> {
    let mut out = Fields {
        assigns: Vec::new(),
        blocks: Vec::new(),
    };
    for entry in entries {
        match entry {
            Entry::Assign { key, value, .. } => {
                if !keys.contains(&key.text.as_str()) {
                    let mut d = Diagnostic::error(
                        key.span,
                        format!("unknown field '{}' in {what}", key.text),
                    )
                    .label(format!("{what} has no field of this name"));
                    d = match closest(&key.text, keys.iter().copied()) {
                        Some(s) => d.help(format!("did you mean '{s}'?")),
                        None => d.help(format!("{what} fields are: {}", keys.join(", "))),
                    };
                    ctx.error(d);
                } else if let Some(first) = out.name(&key.text) {
                    ctx.error(
                        Diagnostic::error(
                            key.span,
                            format!("'{}' is given twice in {what}", key.text),
                        )
                        .label("given again here")
                        .also(first.span, "first given here"),
                    );
                } else {
                    out.assigns.push((key, value));
                }
            }
            Entry::Block(b) => {
                if blocks.contains(&b.kind.text.as_str()) {
                    out.blocks.push(b);
                } else {
                    let d = Diagnostic::error(
                        b.kind.span,
                        format!("{what} cannot hold a '{}' block", b.kind.text),
                    );
                    let d = match closest(
                        &b.kind.text,
                        blocks.iter().copied().chain(keys.iter().copied()),
                    ) {
                        Some(s) => d.help(format!("did you mean '{s}'?")),
                        None if blocks.is_empty() => {
                            d.help(format!("{what} holds only fields: {}", keys.join(", ")))
                        }
                        None => d.help(format!("{what} blocks are: {}", blocks.join(", "))),
                    };
                    ctx.error(d);
                }
            }
            Entry::Param { span, .. } => ctx.error(
                Diagnostic::error(*span, format!("a param cannot be declared inside {what}"))
                    .help("declare params at the top of the workload"),
            ),
            Entry::Include { span, .. } => ctx.error(
                Diagnostic::error(*span, format!("include cannot stand inside {what}"))
                    .help("put include at the top of the workload"),
            ),
            Entry::Objective(o) => ctx.error(
                Diagnostic::error(o.span, format!("an objective cannot stand inside {what}"))
                    .help("objectives go in an slo { ... } block"),
            ),
            Entry::Broken { message, span } => ctx.error(Diagnostic::error(*span, message.clone())),
        }
    }
    out
}
