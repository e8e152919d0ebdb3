//! What a class's requests are besides their lengths: the API they are sent to and the model
//! they name. Left out, both are the target's.

use super::Api;

/// The API and model of a class or session (`None`: the target's).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Form {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    /// The models requests name, with their shares (summing to 1); one entry for
    /// `model = "name"`. A session draws one for all its turns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<(String, f64)>,
}

impl Form {
    /// Nothing set: the class is sent as the target says (left out of the plan's encoding, so
    /// plans from before keep their hash).
    pub fn is_plain(&self) -> bool {
        self == &Form::default()
    }
}
