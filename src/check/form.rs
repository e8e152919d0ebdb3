//! `api`, `model`, `inputs` and the images in a `requests`, `class` or `session` block: which API
//! a class's requests go to, which model they name (one, or a weighted mix: `model =
//! choice("base": 3, "lora-sql": 1)`), for embeddings how many inputs each carries, and for
//! vision models how many images each sends (`images`, `image_size`, `image_format`). A class
//! takes what it leaves out from `requests`, then from the target. What an API cannot carry
//! (`output` or a conversation on `embeddings`, `inputs` elsewhere, images on `completions` or
//! `embeddings`) is an error at the field that says so.

use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::{Expr, ExprKind};
use crate::workload::{Api, Dist, Form};

use super::dist::{dist, Of};
use super::fields::Fields;
use super::value::Ctx;

/// The fields read here.
pub(crate) const FORM_FIELDS: [&str; 9] = [
    "api",
    "model",
    "inputs",
    "images",
    "image_size",
    "image_format",
    "tools",
    "tool_tokens",
    "tool_choice",
];

use crate::limits::{MAX_IMAGES, MAX_IMAGE_SIDE, MAX_INPUTS, MAX_TOOLS};
use crate::workload::{ImageFormat, ToolChoice, DEFAULT_IMAGE_SIZE};

/// A block's `api`, `model` and `inputs`, each optional until the classes are resolved, with
/// where the block wrote the fields an API may refuse.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartialForm {
    pub api: Option<Api>,
    pub models: Option<Vec<(String, f64)>>,
    pub inputs: Option<Dist>,
    pub images: Option<Dist>,
    pub image_sizes: Option<Vec<((u32, u32), f64)>>,
    pub image_format: Option<ImageFormat>,
    pub tools: Option<u32>,
    pub tool_tokens: Option<Dist>,
    pub tool_choice: Option<ToolChoice>,
    pub api_at: Option<Span>,
    pub inputs_at: Option<Span>,
    /// The block's own `images`, and its `image_size` or `image_format` (which need images).
    pub images_at: Option<Span>,
    pub image_fields_at: Option<Span>,
    /// The block's own `tools`, `tool_tokens` or `tool_choice` (which embeddings and
    /// completions do not take).
    pub tools_at: Option<Span>,
    /// The block's own `output` (a field embeddings do not take).
    pub output_at: Option<Span>,
}

impl PartialForm {
    /// `self` with the fields `over` sets taking precedence.
    pub fn merged(&self, over: &PartialForm) -> PartialForm {
        PartialForm {
            api: over.api.or(self.api),
            models: over.models.clone().or_else(|| self.models.clone()),
            inputs: over.inputs.clone().or_else(|| self.inputs.clone()),
            images: over.images.clone().or_else(|| self.images.clone()),
            image_sizes: over
                .image_sizes
                .clone()
                .or_else(|| self.image_sizes.clone()),
            image_format: over.image_format.or(self.image_format),
            tools: over.tools.or(self.tools),
            tool_tokens: over
                .tool_tokens
                .clone()
                .or_else(|| self.tool_tokens.clone()),
            tool_choice: over.tool_choice.or(self.tool_choice),
            // Only a block's own fields are refused: an inherited `output`, `inputs` or
            // `images` that the class's API does not take is left out quietly.
            api_at: over.api_at,
            inputs_at: over.inputs_at,
            images_at: over.images_at,
            image_fields_at: over.image_fields_at,
            tools_at: over.tools_at,
            output_at: over.output_at,
        }
    }

    /// The form, after checking what the class's API (`api`, else `default`: the target's)
    /// can carry; `session` is a conversation's block (where an error points when it wrote no
    /// `api` of its own).
    pub fn resolved(self, ctx: &mut Ctx, default: Api, session: Option<Span>) -> Form {
        let api = self.api.unwrap_or(default);
        let whose = if self.api.is_some() {
            "this class's"
        } else {
            "the target's"
        };
        if api == Api::Embeddings {
            if let Some(at) = self.output_at {
                ctx.error(
                    Diagnostic::error(
                        at,
                        "an embeddings request generates nothing: output does not apply",
                    )
                    .label(format!("{whose} api is embeddings"))
                    .help("remove output; inputs = N sets how many inputs each request embeds"),
                );
            }
            if let Some(block) = session {
                let at = self.api_at.unwrap_or(block);
                ctx.error(
                    Diagnostic::error(at, "a session is a conversation, which the embeddings API does not hold")
                        .help("use a class \"...\" { api = embeddings ... } for embeddings; sessions take chat, completions, responses or messages"),
                );
            }
        } else if let Some(at) = self.inputs_at {
            ctx.error(
                Diagnostic::error(
                    at,
                    format!(
                        "inputs is the batch of an embeddings request; {whose} api is {}",
                        api.as_str()
                    ),
                )
                .help("set api = embeddings, or remove inputs"),
            );
        }
        let sees = matches!(api, Api::Chat | Api::Responses | Api::Messages);
        if let (false, Some(at)) = (sees, self.images_at) {
            ctx.error(
                Diagnostic::error(
                    at,
                    format!("{whose} api is {}, which carries no images", api.as_str()),
                )
                .help("images go with api = chat, responses or messages"),
            );
        }
        let images = self.images.filter(|_| sees);
        if let (None, Some(at)) = (&images, self.image_fields_at) {
            if sees {
                ctx.error(
                    Diagnostic::error(
                        at,
                        "image_size and image_format describe images, and this class sends none",
                    )
                    .help("images = 1 sends one image with each request"),
                );
            }
        }
        if let (false, Some(at)) = (sees, self.tools_at) {
            ctx.error(
                Diagnostic::error(
                    at,
                    format!("{whose} api is {}, which carries no tools", api.as_str()),
                )
                .help("tools go with api = chat, responses or messages"),
            );
        }
        let tools = self.tools.filter(|n| sees && *n > 0);
        let with_images = images.is_some();
        Form {
            api: self.api,
            models: self.models.unwrap_or_default(),
            inputs: self.inputs.filter(|_| api == Api::Embeddings),
            images,
            image_sizes: match (with_images, self.image_sizes) {
                (false, _) => Vec::new(),
                (true, Some(sizes)) => sizes,
                (true, None) => vec![(DEFAULT_IMAGE_SIZE, 1.0)],
            },
            image_format: self.image_format.filter(|_| with_images),
            tools,
            tool_tokens: self.tool_tokens.filter(|_| tools.is_some()),
            tool_choice: self.tool_choice.filter(|_| tools.is_some()),
        }
    }
}

/// Reads `api`, `model` and `inputs` from a block's fields.
pub(crate) fn form_fields(ctx: &mut Ctx, f: &Fields) -> PartialForm {
    let mut form = PartialForm {
        output_at: f.name("output").map(|n| n.span),
        api_at: f.name("api").map(|n| n.span),
        inputs_at: f.name("inputs").map(|n| n.span),
        images_at: f.name("images").map(|n| n.span),
        image_fields_at: f
            .name("image_size")
            .or(f.name("image_format"))
            .map(|n| n.span),
        tools_at: f
            .name("tools")
            .or(f.name("tool_tokens"))
            .or(f.name("tool_choice"))
            .map(|n| n.span),
        ..PartialForm::default()
    };
    if let Some(e) = f.get("api") {
        form.api = api(ctx, e);
    }
    if let Some(e) = f.get("model") {
        form.models = models(ctx, e);
    }
    if let Some(e) = f.get("inputs") {
        form.inputs = inputs(ctx, e);
    }
    if let Some(e) = f.get("images") {
        form.images = images(ctx, e);
    }
    if let Some(e) = f.get("image_size") {
        form.image_sizes = image_sizes(ctx, e);
    }
    if let Some(e) = f.get("tools") {
        form.tools = ctx.count(e, "tools").and_then(|n| {
            if n > u64::from(MAX_TOOLS) {
                ctx.error(
                    Diagnostic::error(
                        e.span,
                        format!("tools is over the limit of {MAX_TOOLS} per request"),
                    )
                    .help("tools = 8"),
                );
                return None;
            }
            Some(n as u32)
        });
    }
    if let Some(e) = f.get("tool_tokens") {
        form.tool_tokens = dist(ctx, e, Of::Tokens, "tool_tokens");
    }
    if let Some(e) = f.get("tool_choice") {
        let names = ToolChoice::ALL.map(ToolChoice::as_str);
        form.tool_choice = ctx
            .keyword(e, "tool_choice", &names)
            .and_then(|m| ToolChoice::ALL.into_iter().find(|c| c.as_str() == m));
    }
    if let Some(e) = f.get("image_format") {
        let names = ImageFormat::ALL.map(ImageFormat::as_str);
        form.image_format = ctx
            .keyword(e, "image_format", &names)
            .and_then(|m| ImageFormat::ALL.into_iter().find(|f| f.as_str() == m));
    }
    form
}

/// `images = DIST`: a whole number of images per request, at most [`MAX_IMAGES`] (draws are
/// kept within; 0 is a request without).
fn images(ctx: &mut Ctx, e: &Expr) -> Option<Dist> {
    let d = dist(ctx, e, Of::Tokens, "images")?;
    match d.support() {
        Some((lo, _)) if lo > MAX_IMAGES as f64 => {
            ctx.error(
                Diagnostic::error(
                    e.span,
                    format!("images is over the limit of {MAX_IMAGES} per request"),
                )
                .help(format!("clamp it: ... clamp 0..{MAX_IMAGES}")),
            );
            None
        }
        _ => Some(d),
    }
}

/// `image_size = "WxH"` or `choice("512x512": 3, "1024x768": 1)`.
fn image_sizes(ctx: &mut Ctx, e: &Expr) -> Option<Vec<((u32, u32), f64)>> {
    let named = weighted(
        ctx,
        e,
        "image_size",
        "image_size = choice(\"512x512\": 3, \"1024x768\": 1)",
    )?;
    let span = e.span;
    let mut out = Vec::with_capacity(named.len());
    for (name, share) in named {
        let parsed = name.split_once(['x', 'X']).and_then(|(w, h)| {
            Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?))
        });
        match parsed {
            Some((w, h))
                if (1..=MAX_IMAGE_SIDE).contains(&w) && (1..=MAX_IMAGE_SIDE).contains(&h) =>
            {
                out.push(((w, h), share));
            }
            Some(_) => {
                ctx.error(
                    Diagnostic::error(span, format!("image size \"{name}\" is out of bounds"))
                        .help(format!("each side is 1 to {MAX_IMAGE_SIDE} pixels")),
                );
                return None;
            }
            None => {
                ctx.error(
                    Diagnostic::error(span, format!("\"{name}\" is not an image size"))
                        .help("write it \"WIDTHxHEIGHT\" in pixels, like \"1024x768\""),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// `inputs = DIST`: a whole number of inputs per request, at least 1 and at most
/// [`MAX_INPUTS`] (draws are kept within).
fn inputs(ctx: &mut Ctx, e: &Expr) -> Option<Dist> {
    let d = dist(ctx, e, Of::Tokens, "inputs")?;
    match d.support() {
        Some((_, hi)) if hi < 0.5 => {
            ctx.error(Diagnostic::error(e.span, "inputs must be at least 1").help("inputs = 16"));
            None
        }
        Some((lo, _)) if lo > MAX_INPUTS as f64 => {
            ctx.error(
                Diagnostic::error(
                    e.span,
                    format!("inputs is over the limit of {MAX_INPUTS} per request"),
                )
                .help(format!("clamp it: ... clamp 1..{MAX_INPUTS}")),
            );
            None
        }
        _ => Some(d),
    }
}

/// `api = chat | completions | responses | messages`.
pub(crate) fn api(ctx: &mut Ctx, e: &Expr) -> Option<Api> {
    ctx.keyword(e, "api", &Api::ALL.map(Api::as_str))
        .and_then(Api::named)
}

/// `model = "name"` or `model = choice("a": 3, "b": 1)` (a key may be a string param).
fn models(ctx: &mut Ctx, e: &Expr) -> Option<Vec<(String, f64)>> {
    weighted(
        ctx,
        e,
        "model",
        "model = choice(\"base\": 3, \"lora-sql\": 1)",
    )
}

/// `FIELD = "name"` or `FIELD = choice("a": 3, "b": 1)` (a key may be a string param): the
/// names with their shares, summing to 1.
fn weighted(ctx: &mut Ctx, e: &Expr, field: &str, example: &str) -> Option<Vec<(String, f64)>> {
    let resolved = ctx.resolve(e)?;
    let ExprKind::Call { name, args } = &resolved.kind else {
        return ctx.string(e, field).map(|m| vec![(m, 1.0)]);
    };
    if name.text != "choice" {
        ctx.error(
            Diagnostic::error(
                name.span,
                format!(
                    "{field} takes a name or choice(...), not {}(...)",
                    name.text
                ),
            )
            .help(example.to_string()),
        );
        return None;
    }
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut ok = true;
    for arg in args {
        let Some(key) = &arg.key else {
            ctx.error(
                Diagnostic::error(
                    arg.span,
                    format!(
                        "choice(...) entries are \"{}\": WEIGHT",
                        field.to_uppercase()
                    ),
                )
                .help(example.to_string()),
            );
            ok = false;
            continue;
        };
        // A bare name is a param holding the name; a quoted one is the name itself.
        let quoted = ctx.sources.text(key.span).starts_with('"');
        let model = if quoted {
            Some(key.text.clone())
        } else {
            let as_param = Expr {
                kind: ExprKind::Ident(key.text.clone()),
                span: key.span,
            };
            ctx.string(&as_param, &format!("a {field} in choice(...)"))
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
                    format!("{field} \"{m}\" is listed twice"),
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
                format!(
                    "choice(...) needs at least one \"{}\": WEIGHT",
                    field.to_uppercase()
                ),
            )
            .help(example.to_string()),
        );
        return None;
    }
    let total: f64 = out.iter().map(|(_, w)| w).sum();
    ok.then(|| out.into_iter().map(|(m, w)| (m, w / total)).collect())
}
