//! The training data plan and loader: which clips form micro-batch `m`, which caption
//! each one is trained on, its crop and mix-up partner, all drawn from generators keyed by
//! (seed, micro-batch, slot), so the data are the same whatever the number of worker
//! threads and whether a run was resumed. Audio is decoded on worker threads and the next
//! micro-batches are prefetched on a bounded crossbeam channel.

use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver};
use rand_chacha::ChaCha8Rng;

pub use crate::augment::draw::rng_for;
use crate::augment::draw::{below, shuffle, unit};
use crate::augment::mixup::{random_mix, MixCaptioner};
use crate::dataset::clip::load_clip;
use crate::dataset::manifest::Item;

/// Mix-up settings.
#[derive(Debug, Clone)]
pub struct Mixup {
    /// Probability that a sample is a mix.
    pub prob: f64,
    /// Largest |energy ratio|, dB.
    pub max_db: f64,
    /// Captions of mixes.
    pub captioner: Arc<MixCaptioner>,
}

/// Everything that decides the data of a micro-batch.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The training clips.
    pub items: Arc<Vec<Item>>,
    /// The run's seed.
    pub seed: u64,
    /// Clips per micro-batch.
    pub batch: usize,
    /// Model sample rate.
    pub rate: u32,
    /// Longest clip, samples (longer ones are cropped at random).
    pub max_samples: usize,
    /// Shortest clip, samples (shorter ones are zero-padded at the end).
    pub min_samples: usize,
    /// Mix-up, when on.
    pub mixup: Option<Mixup>,
    /// Decoding threads.
    pub workers: usize,
}

/// One training sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Index of the (first) clip in the plan's items.
    pub item: usize,
    /// Mono audio at the model's rate (absent when only the caption was asked for).
    pub wave: Vec<f32>,
    /// The caption to train on (`None` for audio-only clips).
    pub caption: Option<String>,
    /// Whether the sample is a mix of two clips.
    pub mixed: bool,
}

impl Plan {
    /// Full micro-batches per epoch (the last partial one is dropped, so every epoch has
    /// the same length and a step maps to one (epoch, batch)).
    pub fn batches_per_epoch(&self) -> u64 {
        (self.items.len() / self.batch_len().max(1)).max(1) as u64
    }

    /// Clips per micro-batch actually used (the dataset may be smaller than `batch`).
    pub fn batch_len(&self) -> usize {
        self.batch.min(self.items.len())
    }

    /// The epoch of micro-batch `m` and its clip indices.
    pub fn batch_items(&self, m: u64) -> (u64, Vec<usize>) {
        let per = self.batches_per_epoch();
        let (epoch, b) = (m / per, (m % per) as usize);
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        shuffle(&mut order, &mut rng_for(self.seed, u64::MAX, epoch));
        let n = self.batch_len();
        (epoch, order[b * n..(b + 1) * n].to_vec())
    }

    /// The generator of slot `slot` of micro-batch `m` (caption choice, crop, mix-up).
    pub fn slot_rng(&self, m: u64, slot: usize) -> ChaCha8Rng {
        rng_for(self.seed, m, slot as u64)
    }

    /// A caption of item `i` drawn with `rng` (`None` for audio-only clips).
    pub fn pick_caption(&self, i: usize, rng: &mut ChaCha8Rng) -> Option<String> {
        let caps = &self.items[i].captions;
        (!caps.is_empty()).then(|| caps[below(rng, caps.len())].clone())
    }

    fn load_item(&self, i: usize) -> anyhow::Result<Vec<f32>> {
        let it = &self.items[i];
        let mut wave = load_clip(&it.audio, self.rate, it.start, it.end)?;
        if wave.len() < self.min_samples {
            wave.resize(self.min_samples, 0.0);
        }
        Ok(wave)
    }

    fn crop(&self, wave: Vec<f32>, rng: &mut ChaCha8Rng) -> Vec<f32> {
        if wave.len() <= self.max_samples {
            return wave;
        }
        let start = below(rng, wave.len() - self.max_samples + 1);
        wave[start..start + self.max_samples].to_vec()
    }

    /// Decodes, crops and (maybe) mixes slot `slot` = item `i` of micro-batch `m`.
    pub fn sample(&self, m: u64, slot: usize, i: usize) -> anyhow::Result<Sample> {
        let mut rng = self.slot_rng(m, slot);
        let caption = self.pick_caption(i, &mut rng);
        let wave = self.crop(self.load_item(i)?, &mut rng);
        if let Some(mix) = &self.mixup {
            if unit(&mut rng) < mix.prob && self.items.len() > 1 {
                let j = (i + 1 + below(&mut rng, self.items.len() - 1)) % self.items.len();
                let other_caption = self.pick_caption(j, &mut rng);
                let other = self.crop(self.load_item(j)?, &mut rng);
                let (long, short) = if wave.len() >= other.len() {
                    (&caption, &other_caption)
                } else {
                    (&other_caption, &caption)
                };
                let mixed_caption = match (long, short) {
                    (Some(l), Some(s)) => mix.captioner.caption(l, s, &mut rng, None),
                    _ => None,
                };
                if let Some(c) = mixed_caption {
                    let (mixed, _) = random_mix(&wave, &other, mix.max_db, &mut rng);
                    return Ok(Sample {
                        item: i,
                        wave: mixed,
                        caption: Some(c),
                        mixed: true,
                    });
                }
            }
        }
        Ok(Sample {
            item: i,
            wave,
            caption,
            mixed: false,
        })
    }

    /// `f(position, index)` for every index of `idx` on at most `workers` threads, results
    /// in `idx` order; a panicking thread is an error.
    fn par_map<T: Send>(
        &self,
        idx: &[usize],
        f: impl Fn(usize, usize) -> T + Sync,
    ) -> anyhow::Result<Vec<T>> {
        let workers = self.workers.max(1).min(idx.len().max(1));
        let chunk = idx.len().div_ceil(workers).max(1);
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = idx
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| {
                    s.spawn(move || {
                        part.iter()
                            .enumerate()
                            .map(|(k, &i)| f(c * chunk + k, i))
                            .collect::<Vec<T>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(idx.len());
            for h in handles {
                out.extend(
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a loader thread panicked"))?,
                );
            }
            Ok(out)
        })
    }

    /// Loads micro-batch `m` on `workers` threads, in slot order.
    pub fn load(&self, m: u64) -> anyhow::Result<Vec<Sample>> {
        let (_, idx) = self.batch_items(m);
        self.par_map(&idx, |slot, i| self.sample(m, slot, i))?
            .into_iter()
            .collect()
    }

    /// Decodes every item once, in order, on `workers` threads (feature caching); yields
    /// `(index, result)` in index order.
    pub fn load_all(&self, indices: Vec<usize>) -> Receiver<(usize, anyhow::Result<Vec<f32>>)> {
        let (tx, rx) = bounded(self.workers.max(1) * 2);
        let plan = self.clone();
        std::thread::spawn(move || {
            for part in indices.chunks(plan.workers.max(1) * 4) {
                let loaded = plan
                    .par_map(part, |_, i| (i, plan.load_item(i)))
                    .unwrap_or_else(|e| vec![(usize::MAX, Err(e))]);
                for r in loaded {
                    if tx.send(r).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }
}

/// Loads micro-batches `from..to` ahead of the trainer (at most `depth` waiting).
pub fn prefetch(
    plan: Arc<Plan>,
    from: u64,
    to: u64,
    depth: usize,
) -> Receiver<(u64, anyhow::Result<Vec<Sample>>)> {
    let (tx, rx) = bounded(depth.max(1));
    std::thread::spawn(move || {
        for m in from..to {
            let batch = plan.load(m);
            if tx.send((m, batch)).is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(n: usize, batch: usize) -> Plan {
        Plan {
            items: Arc::new(
                (0..n)
                    .map(|i| Item {
                        audio: format!("{i}.wav").into(),
                        captions: vec![format!("caption {i} a"), format!("caption {i} b")],
                        start: None,
                        end: None,
                    })
                    .collect(),
            ),
            seed: 7,
            batch,
            rate: 16_000,
            max_samples: 160_000,
            min_samples: 400,
            mixup: None,
            workers: 2,
        }
    }

    #[test]
    fn every_epoch_is_a_permutation_and_reproducible() {
        let p = plan(10, 3);
        assert_eq!(p.batches_per_epoch(), 3);
        let mut seen = Vec::new();
        for m in 0..3 {
            let (epoch, idx) = p.batch_items(m);
            assert_eq!(epoch, 0);
            seen.extend(idx);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9);
        assert_eq!(p.batch_items(4), plan(10, 3).batch_items(4));
        assert_ne!(p.batch_items(0).1, p.batch_items(3).1, "epochs reshuffle");
    }

    fn write_tone(path: &std::path::Path, seconds: f32, freq: f32, amp: f32) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..(seconds * 16_000.0) as usize {
            let s = amp * (2.0 * std::f32::consts::PI * freq * i as f32 / 16_000.0).sin();
            w.write_sample((s * 32767.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn mixup_adds_a_second_clip_within_5_db_and_says_so_in_the_caption() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wav");
        let b = dir.path().join("b.wav");
        write_tone(&a, 2.0, 440.0, 0.5);
        write_tone(&b, 0.5, 1000.0, 0.05);
        let mut p = plan(2, 2);
        p.items = Arc::new(vec![
            Item {
                audio: a,
                captions: vec!["a bell rings".into()],
                start: None,
                end: None,
            },
            Item {
                audio: b,
                captions: vec!["a bird chirps".into()],
                start: None,
                end: None,
            },
        ]);
        p.mixup = Some(Mixup {
            prob: 1.0,
            max_db: 5.0,
            captioner: Arc::new(MixCaptioner::default()),
        });
        let batch = p.load(0).unwrap();
        assert_eq!(batch, p.load(0).unwrap(), "reproducible");
        for s in &batch {
            assert!(s.mixed);
            assert_eq!(s.wave.len(), 32_000, "the mix has the longer clip's length");
            let c = s.caption.as_deref().unwrap();
            assert!(c.contains("bell") && c.contains("bird"), "{c}");
        }
        // The short clip's energy relative to the long one's is within ±5 dB.
        let long = load_clip(&p.items[0].audio, 16_000, None, None).unwrap();
        let mixed = &batch[0].wave;
        let added: Vec<f32> = mixed.iter().zip(&long).map(|(m, l)| m - l).collect();
        let e = |x: &[f32]| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
        let nz: Vec<f32> = added.iter().copied().filter(|v| v.abs() > 1e-4).collect();
        let ratio_db = 10.0 * (e(&long) / e(&nz)).log10();
        assert!(ratio_db.abs() <= 5.0 + 0.2, "{ratio_db} dB");
    }

    #[test]
    fn a_dataset_smaller_than_the_batch_is_one_batch_per_epoch() {
        let p = plan(2, 8);
        assert_eq!(p.batches_per_epoch(), 1);
        assert_eq!(p.batch_items(5).1.len(), 2);
    }
}
