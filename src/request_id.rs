//! Request ids that servers accept: UUID-formatted (version 4, RFC 4122 variant), unique per
//! run, with the plan's request id readable in them.
//!
//! `RRRRRRRR-RRRR-4RRR-8DDD-DDDDDDDDDDDD`: the `R` digits are 60 bits drawn once per run (from the
//! wall clock, the process id and a per-process counter, through SHA-256), so two runs of one
//! plan against one server never send the same id (vLLM takes `X-Request-Id` as its internal id;
//! llama-cpp-python rejects an id that is not a UUID). The 15 `D` digits are the plan's
//! `request_id` in *decimal*, zero-padded, so `…-8000-000000000042` in a server log is row 42.
//! Plan ids of 10¹⁵ and above (phases past the 999th) use variant nibble `9` and 15 hex digits.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// The run-unique part of every request id of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunNonce(u64);

const DECIMAL_LIMIT: u64 = 1_000_000_000_000_000;

impl RunNonce {
    /// A fresh nonce for a new run.
    pub fn new() -> RunNonce {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut h = Sha256::new();
        h.update(now.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        RunNonce(u64::from_le_bytes(b) >> 4)
    }

    /// A nonce from its 60-bit value (for tests and for reading a run back).
    pub fn from_bits(bits: u64) -> RunNonce {
        RunNonce(bits & ((1 << 60) - 1))
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    /// The UUID sent for the plan's request `id`.
    pub fn uuid(self, id: u64) -> String {
        let r = self.0;
        let (a, b, c) = (r >> 28, (r >> 12) & 0xffff, r & 0xfff);
        if id < DECIMAL_LIMIT {
            let digits = format!("{id:015}");
            format!(
                "{a:08x}-{b:04x}-4{c:03x}-8{}-{}",
                &digits[..3],
                &digits[3..]
            )
        } else {
            let digits = format!("{:015x}", id & ((1 << 60) - 1));
            format!(
                "{a:08x}-{b:04x}-4{c:03x}-9{}-{}",
                &digits[..3],
                &digits[3..]
            )
        }
    }

    /// The prefix every id of this run starts with (`RRRRRRRR-RRRR-4RRR-`).
    pub fn prefix(self) -> String {
        self.uuid(0)[..19].to_string()
    }
}

impl Default for RunNonce {
    fn default() -> RunNonce {
        RunNonce::new()
    }
}

/// The plan id inside an id made by [`RunNonce::uuid`]; `None` for any other string.
pub fn plan_id(uuid: &str) -> Option<u64> {
    let b = uuid.as_bytes();
    if !is_uuid(uuid) || b[14] != b'4' {
        return None;
    }
    let digits: String = format!("{}{}", &uuid[20..23], &uuid[24..]);
    match b[19] {
        b'8' => digits.parse().ok(),
        b'9' => u64::from_str_radix(&digits, 16).ok(),
        _ => None,
    }
}

/// Whether `s` is a UUID in its canonical text form (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid4_and_carry_the_plan_id_in_decimal() {
        let n = RunNonce::from_bits(0x0123_4567_89ab_cdef);
        let u = n.uuid(42);
        assert_eq!(u, "12345678-9abc-4def-8000-000000000042");
        assert!(is_uuid(&u));
        assert_eq!(plan_id(&u), Some(42));
        let big = 3 * 1_000_000_000_000 + 2 * 1_000_000_000 + 7;
        assert_eq!(n.uuid(big), "12345678-9abc-4def-8003-002000000007");
        assert_eq!(plan_id(&n.uuid(big)), Some(big));
        let huge = DECIMAL_LIMIT + 5;
        assert!(n.uuid(huge).starts_with("12345678-9abc-4def-9"));
        assert_eq!(plan_id(&n.uuid(huge)), Some(huge));
        assert!(n.uuid(7).starts_with(&n.prefix()));
    }

    #[test]
    fn two_runs_never_share_a_prefix_and_junk_is_no_id() {
        let (a, b) = (RunNonce::new(), RunNonce::new());
        assert_ne!(a, b);
        assert_ne!(a.uuid(1), b.uuid(1));
        assert_eq!(plan_id("17"), None);
        assert_eq!(plan_id("12345678-9abc-1def-8000-000000000042"), None);
        assert!(!is_uuid("12345678-9abc-4def-8000-00000000004z"));
    }
}
