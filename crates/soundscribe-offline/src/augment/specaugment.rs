//! SpecAugment on filterbank features (seed 1: 2 frequency masks of width 0–64 bins and 5
//! time masks of 0–12 % of the frames each), drawn from a seeded generator.

use rand_chacha::ChaCha8Rng;
use tch::Tensor;

/// Mask counts and widths.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpecAugment {
    /// Number of frequency masks.
    pub freq_masks: usize,
    /// Largest frequency-mask width in bins.
    pub max_freq_width: usize,
    /// Number of time masks.
    pub time_masks: usize,
    /// Largest time-mask width as a fraction of the frames.
    pub max_time_fraction: f64,
}

impl Default for SpecAugment {
    fn default() -> Self {
        SpecAugment {
            freq_masks: 2,
            max_freq_width: 64,
            time_masks: 5,
            max_time_fraction: 0.12,
        }
    }
}

/// A uniform integer in `0..=max`.
fn upto(rng: &mut ChaCha8Rng, max: usize) -> usize {
    crate::augment::draw::below(rng, max + 1)
}

/// One mask: `(axis, start, width)` with axis 0 = time, 1 = frequency.
pub type Mask = (usize, usize, usize);

impl SpecAugment {
    /// Draws the masks for a (frames × bins) feature matrix.
    pub fn draw(&self, frames: usize, bins: usize, rng: &mut ChaCha8Rng) -> Vec<Mask> {
        let mut masks = Vec::new();
        for _ in 0..self.freq_masks {
            let w = upto(rng, self.max_freq_width.min(bins));
            masks.push((1, upto(rng, bins - w), w));
        }
        let max_t = (self.max_time_fraction * frames as f64).floor() as usize;
        for _ in 0..self.time_masks {
            let w = upto(rng, max_t.min(frames));
            masks.push((0, upto(rng, frames - w), w));
        }
        masks
    }

    /// Zeroes freshly drawn masks in `features` (frames × bins), in place; returns them.
    pub fn apply(&self, features: &mut Tensor, rng: &mut ChaCha8Rng) -> Vec<Mask> {
        let (frames, bins) = features.size2().expect("features are (frames, bins)");
        let masks = self.draw(frames as usize, bins as usize, rng);
        for &(axis, start, width) in &masks {
            if width > 0 {
                let _ = features
                    .narrow(axis as i64, start as i64, width as i64)
                    .fill_(0.0);
            }
        }
        masks
    }
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;
    use tch::{Kind, Tensor};

    use super::*;

    #[test]
    fn masks_stay_in_bounds_and_are_deterministic() {
        let sa = SpecAugment::default();
        let mut a = ChaCha8Rng::seed_from_u64(1);
        let mut b = ChaCha8Rng::seed_from_u64(1);
        for frames in [1usize, 7, 100, 998] {
            let m = sa.draw(frames, 128, &mut a);
            assert_eq!(m, sa.draw(frames, 128, &mut b));
            assert_eq!(m.len(), 7);
            for (axis, start, width) in m {
                let limit = if axis == 0 { frames } else { 128 };
                assert!(start + width <= limit);
                assert!(if axis == 0 {
                    width as f64 <= 0.12 * frames as f64
                } else {
                    width <= 64
                });
            }
        }
    }

    #[test]
    fn apply_zeroes_exactly_the_drawn_masks() {
        let sa = SpecAugment::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut x = Tensor::ones([400, 128], (Kind::Float, tch::Device::Cpu));
        let masks = sa.apply(&mut x, &mut rng);
        let mut expected = vec![vec![1.0f32; 128]; 400];
        for (axis, start, width) in masks {
            for i in start..start + width {
                if axis == 0 {
                    expected[i].iter_mut().for_each(|v| *v = 0.0);
                } else {
                    expected.iter_mut().for_each(|row| row[i] = 0.0);
                }
            }
        }
        let got: Vec<f32> = Vec::try_from(x.flatten(0, -1)).unwrap();
        assert_eq!(got, expected.concat());
    }
}
