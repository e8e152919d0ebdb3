//! What the analysis is asked to leave out: warm-up, cool-down, and whether a partial set of
//! shards is analysed. A leaf: loading and measuring read it, it uses neither.

/// Warm-up and cool-down exclusion, in nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub warmup_ns: i64,
    pub cooldown_ns: i64,
    /// Analyse the shards of a plan given even when some are missing (marked partial).
    pub partial: bool,
}
