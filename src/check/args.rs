//! Matching a call's arguments to a form's parameters: `poisson(rate: 8/s)` or
//! `uniform(4000, 8000)`, with unknown, repeated and missing arguments reported.

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::{Arg, Expr};

use super::value::Ctx;
use crate::suggest::closest;

/// The arguments of one call, by parameter name.
pub(crate) struct Args<'e> {
    form: String,
    span: Span,
    slots: Vec<(&'static str, Option<&'e Expr>)>,
}

impl<'e> Args<'e> {
    /// Assigns named arguments to their parameters and positional ones, in order, to the
    /// parameters not named. `params` lists the form's parameters in positional order.
    pub fn bind(
        ctx: &mut Ctx,
        form: &str,
        span: Span,
        args: &'e [Arg],
        params: &[&'static str],
    ) -> Args<'e> {
        let mut slots: Vec<(&'static str, Option<&'e Expr>)> =
            params.iter().map(|p| (*p, None)).collect();
        let mut positional = Vec::new();
        for arg in args {
            let Some(key) = &arg.key else {
                positional.push(arg);
                continue;
            };
            match slots.iter_mut().find(|(p, _)| *p == key.text) {
                Some((_, Some(_))) => ctx.error(
                    Diagnostic::error(
                        key.span,
                        format!("{form}(...) is given '{}' twice", key.text),
                    )
                    .label("repeated"),
                ),
                Some((_, slot)) => *slot = Some(&arg.value),
                None => {
                    let d = Diagnostic::error(
                        key.span,
                        format!("{form}(...) has no argument '{}'", key.text),
                    )
                    .label(format!("{form} takes {}", params.join(", ")))
                    .suggest(closest(&key.text, params.iter().copied()));
                    ctx.error(d);
                }
            }
        }
        let mut free = slots.iter_mut().filter(|(_, s)| s.is_none());
        for arg in positional {
            match free.next() {
                Some((_, slot)) => *slot = Some(&arg.value),
                None => ctx.error(
                    Diagnostic::error(arg.span, format!("too many arguments to {form}(...)"))
                        .label(format!("{form} takes {}", params.join(", "))),
                ),
            }
        }
        Args {
            form: form.to_string(),
            span,
            slots,
        }
    }

    pub fn get(&self, name: &str) -> Option<&'e Expr> {
        self.slots
            .iter()
            .find(|(p, _)| *p == name)
            .and_then(|(_, e)| *e)
    }

    /// The argument, or a "needs" diagnostic when it is missing.
    pub fn require(&self, ctx: &mut Ctx, name: &str, example: &str) -> Option<&'e Expr> {
        let found = self.get(name);
        if found.is_none() {
            ctx.error(
                Diagnostic::error(self.span, format!("{}(...) needs '{name}'", self.form))
                    .label(format!("missing {name}"))
                    .help(format!("for example {example}")),
            );
        }
        found
    }
}
