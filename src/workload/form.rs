//! What a class's requests are besides their lengths: the API they are sent to, the model they
//! name, for embeddings how many inputs each carries, and for vision models the images each
//! sends. Left out, API and model are the target's.

use super::{Api, Dist};

/// The API and model of a class or session (`None`: the target's).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Form {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    /// The models requests name, with their shares (summing to 1); one entry for
    /// `model = "name"`. A session draws one for all its turns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<(String, f64)>,
    /// `inputs = DIST`: the inputs of each embeddings request (its batch), each of `input`
    /// tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Dist>,
    /// `images = DIST`: the images each request (each turn) sends with its user text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Dist>,
    /// `image_size = "WxH"` or a weighted choice: each image's width and height in pixels, with
    /// the sizes' shares (summing to 1); empty without images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_sizes: Vec<((u32, u32), f64)>,
    /// `image_format = jpeg | png`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_format: Option<ImageFormat>,
    /// `tools = N`: synthetic function definitions sent with every request of the class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<u32>,
    /// `tool_tokens = DIST`: each definition's words (drawn per tool, the same for every request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_tokens: Option<Dist>,
    /// `tool_choice = auto | required | none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

/// Whether the model may, must or must not call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    Required,
    None,
}

impl ToolChoice {
    pub const ALL: [ToolChoice; 3] = [ToolChoice::Auto, ToolChoice::Required, ToolChoice::None];

    pub fn as_str(self) -> &'static str {
        match self {
            ToolChoice::Auto => "auto",
            ToolChoice::Required => "required",
            ToolChoice::None => "none",
        }
    }
}

/// Without `tool_tokens`, a tool's definition is this many words.
pub const DEFAULT_TOOL_TOKENS: f64 = 64.0;

pub use crate::image::Format as ImageFormat;

/// Without `image_size`, images are this big.
pub const DEFAULT_IMAGE_SIZE: (u32, u32) = (512, 512);

impl Form {
    /// Nothing set, as a constant.
    pub const PLAIN: Form = Form {
        api: None,
        models: Vec::new(),
        inputs: None,
        images: None,
        image_sizes: Vec::new(),
        image_format: None,
        tools: None,
        tool_tokens: None,
        tool_choice: None,
    };

    /// Nothing set: the class is sent as the target says (left out of the plan's encoding, so
    /// plans from before keep their hash).
    pub fn is_plain(&self) -> bool {
        self == &Form::default()
    }
}
