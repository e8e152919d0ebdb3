//! How the engine has a search's probe measured while the run goes: it hands the probe's
//! request rows to a [`Judge`], which the caller supplies (the CLI passes the analysis', so a
//! probe is measured by the same rules as the report afterwards; the engine computes no metric).

use super::manifest::{Manifest, ProbeMeasure};
use super::record::RequestRow;

/// Measures one probe: `manifest` is the run so far (the probe is step `step` of phase
/// `phase`, with its window and warm-up), `rows` every request row the probe recorded.
pub trait Judge: Send + Sync {
    fn measure(
        &self,
        manifest: &Manifest,
        rows: &[RequestRow],
        phase: &str,
        step: u32,
    ) -> Result<ProbeMeasure, String>;
}
