//! `target { ... }`: how requests are sent (API route, model, streaming, timeout, headers).
//! The base URL and the API key never come from the file.

use crate::diag::Diagnostic;
use crate::syntax::{Block, ExprKind};
use crate::workload::{PromptTokens, Spread, Target};

use super::fields::fields;
use super::value::Ctx;

pub(crate) const KEYS: [&str; 11] = [
    "api",
    "model",
    "stream",
    "ignore_eos",
    "timeout",
    "headers",
    "header_env",
    "temperature",
    "request_id_header",
    "prompt_tokens",
    "spread",
];

/// Applies one `target` block on top of `target` (later blocks win field by field).
pub(crate) fn target_block(ctx: &mut Ctx, block: &Block, target: &mut Target) {
    if let Some(label) = &block.label {
        ctx.error(Diagnostic::error(label.span, "target takes no name"));
    }
    let f = fields(ctx, &block.entries, "target", &KEYS, &[]);
    if let Some(k) = f.name("url").or(f.name("base_url")) {
        ctx.error(
            Diagnostic::error(k.span, "the server URL is not part of the workload")
                .help("pass --target URL"),
        );
    }
    if let Some(e) = f.get("api") {
        if let Some(api) = super::form::api(ctx, e) {
            target.api = api;
        }
    }
    if let Some(e) = f.get("model") {
        if let Some(m) = ctx.string(e, "model") {
            target.model = Some(m);
        }
    }
    if let Some(e) = f.get("stream") {
        if let Some(b) = ctx.boolean(e, "stream") {
            target.stream = b;
        }
    }
    if let Some(e) = f.get("ignore_eos") {
        if let Some(b) = ctx.boolean(e, "ignore_eos") {
            target.ignore_eos = b;
        }
    }
    if let Some(e) = f.get("timeout") {
        match ctx.duration_ns(e, "timeout") {
            Some(0) => ctx.error(Diagnostic::error(e.span, "timeout must be above 0s")),
            Some(t) => target.timeout_ns = Some(t),
            None => {}
        }
    }
    if let Some(e) = f.get("temperature") {
        if let Some(t) = ctx.number(e, "temperature") {
            target.temperature = Some(t);
        }
    }
    if let Some(e) = f.get("prompt_tokens") {
        if let Some(m) = ctx.keyword(e, "prompt_tokens", &["exact", "text"]) {
            target.prompt_tokens = if m == "exact" {
                PromptTokens::Exact
            } else {
                PromptTokens::Text
            };
        }
    }
    if let Some(e) = f.get("spread") {
        let names = Spread::ALL.map(Spread::as_str);
        if let Some(m) = ctx.keyword(e, "spread", &names) {
            target.spread = Spread::ALL
                .into_iter()
                .find(|s| s.as_str() == m)
                .unwrap_or_default();
        }
    }
    if let Some(e) = f.get("request_id_header") {
        request_id_header(ctx, e, target);
    }
    if let Some(e) = f.get("headers") {
        super::headers::headers(ctx, e, target);
    }
    if let Some(e) = f.get("header_env") {
        super::headers::header_env(ctx, e, target);
    }
}

/// `request_id_header = "x-request-id"` (any header name) or `off`.
fn request_id_header(ctx: &mut Ctx, e: &crate::syntax::Expr, target: &mut Target) {
    let Some(e) = ctx.resolve(e) else { return };
    match &e.kind {
        ExprKind::Ident(n) if n == "off" => target.request_id_header = None,
        ExprKind::Str(s) => {
            if !super::headers::is_token(s) {
                ctx.error(
                    Diagnostic::error(e.span, format!("'{s}' is not an HTTP header name")).help(
                        "a header name is letters, digits and - (like \"x-request-id\"), or off",
                    ),
                );
            } else if s.eq_ignore_ascii_case("authorization") || s.eq_ignore_ascii_case("host") {
                ctx.error(Diagnostic::error(
                    e.span,
                    format!("the request id cannot go in the {s} header"),
                ));
            } else {
                target.request_id_header = Some(s.to_ascii_lowercase());
            }
        }
        _ => ctx.mismatch(
            e,
            "request_id_header",
            "a header name like \"x-request-id\", or off",
        ),
    }
}
