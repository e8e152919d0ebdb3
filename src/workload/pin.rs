//! What a plan pin (`expect_plan = "HASH"`, `--expect HASH`) may be: the hash `llmw plan`
//! prints, or a prefix of it long enough to name one plan. Checking a plan against its pin is
//! the schedule's (`schedule::pin`).

/// The fewest hex digits a pin may give (a prefix, as of a git commit).
pub const MIN_DIGITS: usize = 12;

/// Whether `hash` can be a pin: 12 to 64 hex digits.
pub fn valid(hash: &str) -> Result<(), String> {
    let ok = (MIN_DIGITS..=64).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{hash}' is not a plan hash: {MIN_DIGITS} to 64 hex digits"
        ))
    }
}
