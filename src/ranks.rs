//! Exact order statistics of more integers than fit in memory, in passes over them.
//!
//! A [`Ranks`] first counts every value into a log-linear histogram (128 buckets an octave:
//! 7,424 counters cover all of `u64`), then, asked for some 0-based ranks, finds the bucket
//! that holds each. Every later pass feeds the values again: a bucket holding few enough values
//! collects them and sorts them, so its ranks are exact; one holding more is cut into 1,024
//! equal sub-ranges counted in the next pass, and so on. Each refinement narrows a range by
//! 1,024×, so a rank is exact after a few passes whatever the data (a range one wide needs no
//! values at all), and memory stays bounded: per range, at most [`Ranks::with_cap`] values or
//! 1,024 counters.

/// Sub-buckets per octave, as a power of two.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Counters of the first pass: values below `SUB` exactly, then `SUB` per octave.
const BUCKETS: usize = ((64 - SUB_BITS + 1) as usize) * SUB as usize;
/// Sub-ranges a crowded range is cut into.
const SPLIT: u64 = 1024;
/// Values a range collects by default before it is refined instead.
pub const DEFAULT_CAP: usize = 1 << 20;

fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // ≥ SUB_BITS
    let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
    ((e - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The values `[lo, hi)` of bucket `b` (`hi` as u128: the last bucket ends past `u64::MAX`).
fn bucket_range(b: usize) -> (u64, u128) {
    let b = b as u64;
    if b < SUB {
        return (b, u128::from(b) + 1);
    }
    let (octave, sub) = (b / SUB - 1, b % SUB);
    let shift = octave as u32;
    let lo = (SUB + sub) << shift;
    (lo, u128::from(lo) + (1u128 << shift))
}

/// A range of values holding some wanted ranks, and what the next pass does in it.
#[derive(Debug)]
struct Range {
    lo: u64,
    hi: u128,
    /// Values below `lo`.
    below: u64,
    /// Values in the range, as the pass that found it counted them.
    count: u64,
    /// The wanted ranks in it.
    ranks: Vec<u64>,
    work: Work,
}

#[derive(Debug)]
enum Work {
    Collect(Vec<u64>),
    Count { width: u128, counts: Vec<u64> },
}

#[derive(Debug)]
pub struct Ranks {
    counts: Vec<u64>,
    n: u64,
    sum: u128,
    cap: usize,
    open: Vec<Range>,
    found: Vec<(u64, u64)>,
}

impl Default for Ranks {
    fn default() -> Self {
        Ranks::with_cap(DEFAULT_CAP)
    }
}

impl Ranks {
    /// A range with more than `cap` values is refined rather than collected.
    pub fn with_cap(cap: usize) -> Ranks {
        Ranks {
            counts: Vec::new(),
            n: 0,
            sum: 0,
            cap: cap.max(1),
            open: Vec::new(),
            found: Vec::new(),
        }
    }

    /// First pass: counts `v`.
    pub fn count(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket(v)] += 1;
        self.n += 1;
        self.sum += u128::from(v);
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The mean of the counted values.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum as f64 / self.n as f64)
    }

    /// After the first pass: the ranks wanted (0-based, each below `len()`). The histogram is
    /// freed; [`Ranks::needs_pass`] says whether more passes are needed.
    pub fn want(&mut self, ranks: &[u64]) {
        let mut ranks: Vec<u64> = ranks.iter().copied().filter(|r| *r < self.n).collect();
        ranks.sort_unstable();
        ranks.dedup();
        let mut below = 0u64;
        let mut next = 0usize;
        let counts = std::mem::take(&mut self.counts);
        for (b, &c) in counts.iter().enumerate() {
            let mut here = Vec::new();
            while next < ranks.len() && ranks[next] < below + c {
                here.push(ranks[next]);
                next += 1;
            }
            if !here.is_empty() {
                let (lo, hi) = bucket_range(b);
                self.open(lo, hi, below, c, here);
            }
            below += c;
        }
    }

    /// Starts work on a range (or settles it when it holds one value only).
    fn open(&mut self, lo: u64, hi: u128, below: u64, count: u64, ranks: Vec<u64>) {
        let span = hi - u128::from(lo);
        if span <= 1 {
            self.found.extend(ranks.iter().map(|r| (*r, lo)));
            return;
        }
        let work = if count as usize <= self.cap {
            Work::Collect(Vec::with_capacity(count as usize))
        } else {
            let width = span.div_ceil(u128::from(SPLIT));
            Work::Count {
                width,
                counts: vec![0; span.div_ceil(width) as usize],
            }
        };
        self.open.push(Range {
            lo,
            hi,
            below,
            count,
            ranks,
            work,
        });
    }

    /// Whether another pass over the values is needed.
    pub fn needs_pass(&self) -> bool {
        !self.open.is_empty()
    }

    /// A later pass: feeds `v` (every value again, in any order).
    pub fn feed(&mut self, v: u64) {
        for r in &mut self.open {
            if v >= r.lo && u128::from(v) < r.hi {
                match &mut r.work {
                    Work::Collect(values) => values.push(v),
                    Work::Count { width, counts } => {
                        counts[(u128::from(v - r.lo) / *width) as usize] += 1;
                    }
                }
            }
        }
    }

    /// After a later pass: answers what it can, refines the rest. An error when the pass fed
    /// other values than the first (the data changed under the reader): its ranks would be
    /// wrong.
    pub fn settle(&mut self) -> Result<(), String> {
        for r in std::mem::take(&mut self.open) {
            let fed = match &r.work {
                Work::Collect(values) => values.len() as u64,
                Work::Count { counts, .. } => counts.iter().sum(),
            };
            if fed != r.count {
                return Err(format!(
                    "{fed} values fell in [{}, {}) on a later pass, {} on the first: the data changed while it was read",
                    r.lo, r.hi, r.count
                ));
            }
            match r.work {
                Work::Collect(mut values) => {
                    values.sort_unstable();
                    for rank in r.ranks {
                        self.found.push((rank, values[(rank - r.below) as usize]));
                    }
                }
                Work::Count { width, counts } => {
                    let mut below = r.below;
                    let mut next = 0;
                    for (k, c) in counts.iter().enumerate() {
                        let mut here = Vec::new();
                        while next < r.ranks.len() && r.ranks[next] < below + c {
                            here.push(r.ranks[next]);
                            next += 1;
                        }
                        if !here.is_empty() {
                            let lo = u128::from(r.lo) + k as u128 * width;
                            // Below `hi`, which is at most 2^64: `lo` fits in u64.
                            self.open(lo as u64, (lo + width).min(r.hi), below, *c, here);
                        }
                        below += c;
                    }
                }
            }
        }
        Ok(())
    }

    /// The value at `rank`, once found.
    pub fn value(&self, rank: u64) -> Option<u64> {
        self.found.iter().find(|(r, _)| *r == rank).map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 11
        }
    }

    /// Runs the passes over `values` and checks every rank against a sort.
    fn check(values: &[u64], cap: usize) -> usize {
        let mut r = Ranks::with_cap(cap);
        values.iter().for_each(|v| r.count(*v));
        let ranks: Vec<u64> = (0..values.len() as u64)
            .step_by(7)
            .chain([values.len() as u64 - 1])
            .collect();
        r.want(&ranks);
        let mut passes = 1;
        while r.needs_pass() {
            values.iter().for_each(|v| r.feed(*v));
            r.settle().expect("the same values");
            passes += 1;
            assert!(passes < 12, "does not converge");
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        for rank in ranks {
            assert_eq!(r.value(rank), Some(sorted[rank as usize]), "rank {rank}");
        }
        let sum: u128 = values.iter().map(|v| u128::from(*v)).sum();
        assert_eq!(r.mean(), Some(sum as f64 / values.len() as f64));
        passes
    }

    #[test]
    fn values_that_change_between_passes_are_an_error() {
        let mut r = Ranks::with_cap(4);
        (0..100u64).for_each(|v| r.count(1000 + v));
        r.want(&[50]);
        // The value at rank 50 is missing from the second pass.
        (0..100u64)
            .filter(|v| *v != 50)
            .for_each(|v| r.feed(1000 + v));
        assert!(r.settle().expect_err("one value short").contains("changed"));
    }

    #[test]
    fn buckets_tile_the_integers() {
        let mut expect = 0u128;
        for b in 0..BUCKETS {
            let (lo, hi) = bucket_range(b);
            assert_eq!(u128::from(lo), expect, "bucket {b}");
            assert_eq!(bucket(lo), b);
            assert_eq!(bucket((hi - 1) as u64), b);
            expect = hi;
        }
        assert_eq!(expect, u128::from(u64::MAX) + 1);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn exact_whatever_the_spread_or_the_cap() {
        let mut next = lcg(3);
        let wide: Vec<u64> = (0..20_000).map(|_| next() >> (next() % 50)).collect();
        let narrow: Vec<u64> = (0..20_000).map(|_| 10_000_000 + next() % 5_000).collect();
        let equal = vec![12_345_678u64; 5_000];
        let extremes: Vec<u64> = (0..3000)
            .map(|i| if i % 2 == 0 { 0 } else { u64::MAX - i % 3 })
            .collect();
        for values in [&wide, &narrow, &equal, &extremes] {
            assert_eq!(check(values, DEFAULT_CAP), 2, "collects in one pass");
            // A tiny cap forces refinement; it must still be exact.
            check(values, 16);
        }
    }
}
