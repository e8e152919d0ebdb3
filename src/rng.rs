//! The schedule's random numbers: SplitMix64 for keys, xoshiro256** for streams.
//!
//! Written here rather than taken from `rand` on purpose: a plan must be byte-identical on every
//! machine and across llmw versions, so the generator and every sampling formula are pinned in
//! this crate (a dependency upgrade could otherwise change every schedule). Transcendental
//! functions come from `libm` (pure Rust, correctly specified), not the platform's C library.
//!
//! Each stream is keyed by what it is for (`seed`, a purpose tag, phase, step, position), so a
//! request's contents never depend on how many numbers another request drew.

/// SplitMix64's output function: a strong 64-bit mixer.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A key from several parts (order matters).
pub fn key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x6C6C_6D77_5F6B_6579, |h, p| mix(h ^ mix(*p)))
}

/// Purpose tags that separate streams.
pub mod purpose {
    pub const ARRIVALS: u64 = 1;
    pub const CONTENT: u64 = 2;
    /// A search probe's arrivals and requests, keyed by its level.
    pub const PROBE_ARRIVALS: u64 = 3;
    pub const PROBE_CONTENT: u64 = 4;
    /// A request's (or a conversation's) model, drawn from its class's mix.
    pub const MODEL: u64 = 5;
    /// A conversation's replica under `spread = session` (keyed by its id alone, not the seed).
    pub const TARGET: u64 = 6;
    /// A request's images: how many and their sizes, then each one's pixels.
    pub const IMAGES: u64 = 7;
    pub const IMAGE_CONTENT: u64 = 8;
}

/// xoshiro256** (Blackman & Vigna), seeded from one 64-bit key through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(key: u64) -> Rng {
        let mut k = key;
        let mut next = || {
            k = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix(k.wrapping_sub(0x9E37_79B9_7F4A_7C15))
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    pub fn f64_open0(&mut self) -> f64 {
        1.0 - self.f64()
    }

    /// Uniform integer in `0..n` (n ≥ 1), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        let mut m = (self.next_u64() as u128) * (n as u128);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }

    /// Standard normal (Box–Muller, one value per pair of uniforms).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64_open0();
        let u2 = self.f64();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// Exponential with mean 1.
    pub fn exp1(&mut self) -> f64 {
        -libm::log(self.f64_open0())
    }

    /// Gamma with the given shape and scale 1 (Marsaglia & Tsang; boosted for shape < 1).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.f64_open0();
            return self.gamma(shape + 1.0) * libm::pow(u, 1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / libm::sqrt(9.0 * d);
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.f64_open0();
            if u < 1.0 - 0.0331 * x * x * x * x
                || libm::log(u) < 0.5 * x * x + d * (1.0 - v + libm::log(v))
            {
                return d * v;
            }
        }
    }

    /// Index into a cumulative weight table (last entry is the total).
    pub fn pick(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let u = self.f64() * total;
        cumulative
            .partition_point(|c| *c <= u)
            .min(cumulative.len().saturating_sub(1))
    }
}

/// Running sums of weights, for [`Rng::pick`].
pub fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_pinned() {
        // These exact values pin the generator: if they change, every plan changes.
        let mut r = Rng::new(key(&[7, purpose::CONTENT, 0, 0, 0]));
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(
            first,
            [
                12_569_284_299_551_554_502,
                13_866_352_332_690_670_735,
                11_379_373_467_483_692_776
            ]
        );
        // The derived draws, bit for bit.
        assert_eq!(r.f64().to_bits(), 4_594_577_856_657_898_880);
        assert_eq!(r.below(1000), 748);
        assert_eq!(r.normal().to_bits(), 13_835_298_417_001_026_927);
        assert_ne!(key(&[7, 1]), key(&[1, 7]));
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn below_is_uniform_enough() {
        let mut r = Rng::new(1);
        let n = 60_000;
        let mut counts = [0u32; 6];
        for _ in 0..n {
            counts[r.below(6) as usize] += 1;
        }
        // Each count is Binomial(n, 1/6): sd = sqrt(n p (1-p)) ≈ 91; allow 5 sd.
        for c in counts {
            assert!((c as f64 - 10_000.0).abs() < 5.0 * 91.3, "{counts:?}");
        }
    }
}
