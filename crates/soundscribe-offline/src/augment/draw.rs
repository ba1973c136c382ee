//! The seeded draws training and the dataset builder make with their ChaCha8 generators:
//! the same arithmetic everywhere, so every run and every build draws the same numbers.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A generator for `(seed, a, b)`: independent streams of one seed.
pub fn rng_for(seed: u64, a: u64, b: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(a.wrapping_mul(1 << 20).wrapping_add(b));
    rng
}

/// A uniform index below `n` (n > 0).
pub fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A uniform number in [0, 1) with 53 random bits.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Shuffles `v` in place (Fisher–Yates, from the back).
pub fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, below(rng, i + 1));
    }
}
