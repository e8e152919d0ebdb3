//! `headers = { ... }` and `header_env = { ... }` on `target`: the request's wire contract and
//! its secrets, checked where they are written.
//!
//! - Framing and hop-by-hop headers are llmw's own (`Host`, `Content-Length`,
//!   `Transfer-Encoding`, `Connection`, `TE`, `Upgrade`, `Expect`, `Content-Type`, …): a second,
//!   disagreeing `Content-Length` beside llmw's is a framing error under RFC 9112 and a
//!   request-smuggling shape behind a proxy, so a workload cannot set them.
//! - A header name is an RFC 9110 token; a value holds no line break, NUL or other control
//!   character.
//! - No secret is committed: credential headers (`Authorization`, `Proxy-Authorization`,
//!   `x-api-key`, `api-key`, `Cookie`) and any value that looks like a key (`sk-…`, a JWT, a long
//!   hex or base64 token) are refused, with `header_env` named: `header_env = { "x-api-key":
//!   "ANTHROPIC_API_KEY" }` sends the variable's value, read at run time and never written.
//! - A header whose value comes from a param records the param, so a `--set` that fills it is not
//!   archived in `run.json`.

use crate::diag::Diagnostic;
use crate::syntax::{Expr, ExprKind};
use crate::workload::Target;

use super::value::Ctx;

/// Headers llmw writes itself (framing, the connection, the body's type); refused in a workload.
const OWN: [&str; 11] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-connection",
    "content-type",
];

/// Headers that carry credentials.
const CREDENTIALS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
];

/// An RFC 9110 token: what a header name is.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// A field value: visible ASCII, spaces and tabs, and bytes past ASCII (obs-text); no control
/// character, so nothing can end the header early.
fn is_field_value(s: &str) -> bool {
    s.chars().all(|c| c == '\t' || c == ' ' || !c.is_control())
}

/// Why `value` looks like a secret, if it does: an API key's prefix, a JWT, a long hex or
/// base64 run.
pub fn looks_like_secret(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let v = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .unwrap_or(v);
    if v.starts_with("sk-") && v.len() >= 12 {
        return Some("an API key (sk-…)");
    }
    let parts: Vec<&str> = v.split('.').collect();
    let b64url = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if v.starts_with("eyJ") && parts.len() == 3 && parts[..2].iter().all(|p| b64url(p)) {
        return Some("a JSON Web Token");
    }
    // The longest run of token-like characters.
    let longest =
        |keep: &dyn Fn(char) -> bool| v.split(|c: char| !keep(c)).map(str::len).max().unwrap_or(0);
    if longest(&|c: char| c.is_ascii_hexdigit()) >= 32 {
        return Some("a long hex token");
    }
    let b64 = |c: char| c.is_ascii_alphanumeric() || "+/=_-".contains(c);
    let mixed = v.chars().any(|c| c.is_ascii_digit())
        && v.chars().any(|c| c.is_ascii_lowercase())
        && v.chars().any(|c| c.is_ascii_uppercase());
    if longest(&b64) >= 32 && mixed {
        return Some("a long base64 token");
    }
    None
}

fn help_env(name: &str) -> String {
    format!(
        "pass it from the environment: header_env = {{ \"{name}\": \"MY_KEY_VARIABLE\" }} (sent, never written)"
    )
}

/// Whether `name` may be set by a workload at all (framing and hop-by-hop headers may not);
/// reports why not at `span`.
fn settable(ctx: &mut Ctx, name: &str, span: crate::source::Span) -> bool {
    if !is_token(name) {
        ctx.error(
            Diagnostic::error(span, format!("'{name}' is not an HTTP header name"))
                .help("a header name is letters, digits and -, like \"x-tenant\""),
        );
        return false;
    }
    let lower = name.to_ascii_lowercase();
    if OWN.contains(&lower.as_str()) {
        ctx.error(
            Diagnostic::error(span, format!("llmw sets the {name} header itself"))
                .label("framing and connection headers belong to the client")
                .help("remove it: a second value beside llmw's would break the request's framing"),
        );
        return false;
    }
    true
}

/// The params a value's expression goes through (`key` → `token` → "…"), outermost first.
fn params_of(ctx: &Ctx, expr: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    let mut e = expr;
    while let ExprKind::Ident(name) = &e.kind {
        let Some(p) = ctx.scope.get(name) else { break };
        if out.contains(&p.name) {
            break;
        }
        out.push(p.name.clone());
        e = &p.value;
    }
    out
}

/// `headers = { "x-tenant": "bench" }`.
pub(crate) fn headers(ctx: &mut Ctx, e: &Expr, target: &mut Target) {
    let Some(e) = ctx.resolve(e) else { return };
    let ExprKind::Map(entries) = &e.kind else {
        ctx.mismatch(e, "headers", "a map like { \"x-tenant\": \"bench\" }");
        return;
    };
    for (key, value) in entries {
        let name = key.text.as_str();
        if !settable(ctx, name, key.span) {
            continue;
        }
        if CREDENTIALS.contains(&name.to_ascii_lowercase().as_str()) {
            let help = if name.eq_ignore_ascii_case("authorization") {
                "set OPENAI_API_KEY (or --api-key-env NAME), or use header_env, so no secret is committed".to_string()
            } else {
                help_env(name)
            };
            ctx.error(
                Diagnostic::error(
                    key.span,
                    format!("the {name} header carries a credential and does not belong in a workload file"),
                )
                .help(help),
            );
            continue;
        }
        let Some(v) = ctx.string(value, "a header value") else {
            continue;
        };
        if !is_field_value(&v) {
            ctx.error(Diagnostic::error(
                value.span,
                format!("the value of header '{name}' holds a line break or control character"),
            ));
            continue;
        }
        if let Some(what) = looks_like_secret(&v) {
            ctx.error(
                Diagnostic::error(
                    value.span,
                    format!("the value of header '{name}' looks like {what}: no secret belongs in a workload file or a --set"),
                )
                .help(help_env(name)),
            );
            continue;
        }
        for p in params_of(ctx, value) {
            if !target.header_params.contains(&p) {
                target.header_params.push(p);
            }
        }
        set(target, name, v, false);
    }
}

/// Sets header `name` to `value` (the name of an environment variable when `env`), replacing an
/// earlier setting of it in either map: a later `target` block wins.
fn set(target: &mut Target, name: &str, value: String, env: bool) {
    target
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    target
        .header_env
        .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    let to = if env {
        &mut target.header_env
    } else {
        &mut target.headers
    };
    to.push((name.to_string(), value));
}

/// `header_env = { "x-api-key": "ANTHROPIC_API_KEY" }`: each header's value is read from the
/// named environment variable when the run starts.
pub(crate) fn header_env(ctx: &mut Ctx, e: &Expr, target: &mut Target) {
    let Some(e) = ctx.resolve(e) else { return };
    let ExprKind::Map(entries) = &e.kind else {
        ctx.mismatch(
            e,
            "header_env",
            "a map of header to variable like { \"x-api-key\": \"ANTHROPIC_API_KEY\" }",
        );
        return;
    };
    for (key, value) in entries {
        let name = key.text.as_str();
        if !settable(ctx, name, key.span) {
            continue;
        }
        if name.eq_ignore_ascii_case("authorization") {
            ctx.error(
                Diagnostic::error(key.span, "llmw sends Authorization from OPENAI_API_KEY")
                    .help("pass --api-key-env NAME to read the key from another variable"),
            );
            continue;
        }
        let Some(var) = ctx.string(value, "an environment variable name") else {
            continue;
        };
        let valid = var
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            let shown = if looks_like_secret(&var).is_some() {
                "this value".to_string()
            } else {
                format!("'{var}'")
            };
            ctx.error(
                Diagnostic::error(
                    value.span,
                    format!("header_env names an environment variable, and {shown} is not one"),
                )
                .help("like \"ANTHROPIC_API_KEY\": letters, digits and _, the variable holding the value"),
            );
            continue;
        }
        set(target, name, var, true);
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_secret;

    #[test]
    fn keys_look_like_secrets_and_plain_values_do_not() {
        for key in [
            "sk-proj-abcdefghijklmnop",
            "sk-ant-api03-xyz123456",
            "Bearer sk-abcdefghijkl",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "0123456789abcdef0123456789abcdef",
            "AKIAabcdEFGH1234ijklMNOP5678qrstUVWX",
        ] {
            assert!(looks_like_secret(key).is_some(), "{key}");
        }
        for plain in [
            "bench",
            "team-inference",
            "123e4567-e89b-12d3-a456-426614174000",
            "application/json",
            "llmw-load-test-from-the-benchmark-cluster",
        ] {
            assert_eq!(looks_like_secret(plain), None, "{plain}");
        }
    }
}
