//! What a class's requests are besides their lengths: the API they are sent to, the model they
//! name, and for embeddings how many inputs each carries. Left out, API and model are the
//! target's.

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
}

impl Form {
    /// Nothing set: the class is sent as the target says (left out of the plan's encoding, so
    /// plans from before keep their hash).
    pub fn is_plain(&self) -> bool {
        self == &Form::default()
    }
}
