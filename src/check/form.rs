//! `api` and `model` in a `requests`, `class` or `session` block: which API a class's requests
//! go to and which model they name (one, or a weighted mix: `model = choice("base": 3,
//! "lora-sql": 1)`). A class takes what it leaves out from `requests`, then from the target.

use crate::diag::Diagnostic;
use crate::syntax::{Expr, ExprKind};
use crate::workload::{Api, Form};

use super::fields::Fields;
use super::value::Ctx;

/// The fields read here.
pub(crate) const FORM_FIELDS: [&str; 2] = ["api", "model"];

/// A block's `api` and `model`, each optional until the classes are resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartialForm {
    pub api: Option<Api>,
    pub models: Option<Vec<(String, f64)>>,
}

impl PartialForm {
    /// `self` with the fields `over` sets taking precedence.
    pub fn merged(&self, over: &PartialForm) -> PartialForm {
        PartialForm {
            api: over.api.or(self.api),
            models: over.models.clone().or_else(|| self.models.clone()),
        }
    }

    pub fn resolved(self) -> Form {
        Form {
            api: self.api,
            models: self.models.unwrap_or_default(),
        }
    }
}

/// Reads `api` and `model` from a block's fields.
pub(crate) fn form_fields(ctx: &mut Ctx, f: &Fields) -> PartialForm {
    let mut form = PartialForm::default();
    if let Some(e) = f.get("api") {
        form.api = api(ctx, e);
    }
    if let Some(e) = f.get("model") {
        form.models = models(ctx, e);
    }
    form
}

/// `api = chat | completions | responses | messages`.
pub(crate) fn api(ctx: &mut Ctx, e: &Expr) -> Option<Api> {
    ctx.keyword(e, "api", &Api::ALL.map(Api::as_str))
        .and_then(Api::named)
}

/// `model = "name"` or `model = choice("a": 3, "b": 1)` (a key may be a string param).
fn models(ctx: &mut Ctx, e: &Expr) -> Option<Vec<(String, f64)>> {
    let resolved = ctx.resolve(e)?;
    let ExprKind::Call { name, args } = &resolved.kind else {
        return ctx.string(e, "model").map(|m| vec![(m, 1.0)]);
    };
    if name.text != "choice" {
        ctx.error(
            Diagnostic::error(
                name.span,
                format!("model takes a name or choice(...), not {}(...)", name.text),
            )
            .help("model = choice(\"base\": 3, \"lora-sql\": 1)"),
        );
        return None;
    }
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut ok = true;
    for arg in args {
        let Some(key) = &arg.key else {
            ctx.error(
                Diagnostic::error(arg.span, "choice(...) entries are \"MODEL\": WEIGHT")
                    .help("model = choice(\"base\": 3, \"lora-sql\": 1)"),
            );
            ok = false;
            continue;
        };
        // A bare name is a param holding the model's name; a quoted one is the name itself.
        let quoted = ctx.sources.text(key.span).starts_with('"');
        let model = if quoted {
            Some(key.text.clone())
        } else {
            let as_param = Expr {
                kind: ExprKind::Ident(key.text.clone()),
                span: key.span,
            };
            ctx.string(&as_param, "a model in choice(...)")
        };
        let weight = match ctx.number(&arg.value, "weight") {
            Some(w) if w > 0.0 => Some(w),
            Some(_) => {
                ctx.error(Diagnostic::error(
                    arg.value.span,
                    "a weight must be above 0",
                ));
                None
            }
            None => None,
        };
        match (model, weight) {
            (Some(m), Some(_)) if out.iter().any(|(n, _)| *n == m) => {
                ctx.error(Diagnostic::error(
                    key.span,
                    format!("model \"{m}\" is listed twice"),
                ));
                ok = false;
            }
            (Some(m), Some(w)) => out.push((m, w)),
            _ => ok = false,
        }
    }
    if ok && out.is_empty() {
        ctx.error(
            Diagnostic::error(
                resolved.span,
                "choice(...) needs at least one \"MODEL\": WEIGHT",
            )
            .help("model = choice(\"base\": 3, \"lora-sql\": 1)"),
        );
        return None;
    }
    let total: f64 = out.iter().map(|(_, w)| w).sum();
    ok.then(|| out.into_iter().map(|(m, w)| (m, w / total)).collect())
}
