//! The retrieval baseline of the default model's evaluation: each test clip gets the first
//! caption of its nearest training clip by cosine of the aisfx embedding (`conv_block4`
//! averaged over frequency, maximum over the clip's valid steps, as the student pools).
//! A captioner that does not beat it has learnt nothing beyond nearest-neighbour lookup.

use std::path::Path;

use tch::{nn, Device, Kind, Tensor};

use crate::convert::aisfx::load_aisfx;
use crate::dataset::clip::load_clip;
use crate::dataset::manifest::Item;
use soundscribe::features::aisfx_mel::{AisfxMel, SAMPLE_RATE};
use soundscribe::model::student::aisfx::{max_over_valid, AisfxCnn};
use soundscribe::model::text::l2_normalize;

/// The aisfx front end and CNN, for clip embeddings.
pub struct AisfxEmbedder {
    mel: AisfxMel,
    cnn: AisfxCnn,
    _vs: nn::VarStore,
}

impl AisfxEmbedder {
    /// Loads a converted aisfx directory (`soundscribe convert aisfx`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let cnn = load_aisfx(dir, &mut vs)?;
        vs.freeze();
        Ok(AisfxEmbedder {
            mel: AisfxMel::new(Device::Cpu),
            cnn,
            _vs: vs,
        })
    }

    /// The L2-normalised 512-d embedding of a clip (mono, 44.1 kHz).
    pub fn embed(&self, wave: &[f32]) -> anyhow::Result<Tensor> {
        let _g = tch::no_grad_guard();
        let mel = self
            .mel
            .forward(&Tensor::from_slice(wave).view([1, wave.len() as i64]));
        let (steps, valid) = self.cnn.clip_steps(&mel)?;
        let pooled = max_over_valid(&steps, &valid);
        Ok(l2_normalize(&pooled.to_kind(Kind::Float)).squeeze_dim(0))
    }

    /// Embeddings of every item's audio, (N, 512).
    pub fn embed_items(&self, items: &[Item]) -> anyhow::Result<Tensor> {
        let rows = items
            .iter()
            .map(|it| {
                let wave = load_clip(&it.audio, SAMPLE_RATE as u32, it.start, it.end)?;
                self.embed(&wave)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Tensor::stack(&rows, 0))
    }
}

/// For each test clip, the index of its nearest training clip by cosine.
pub fn nearest(train: &Tensor, test: &Tensor) -> Vec<usize> {
    let sims = test.matmul(&train.tr());
    let idx = sims.argmax(1, false);
    Vec::<i64>::try_from(idx)
        .unwrap_or_default()
        .into_iter()
        .map(|i| i as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_picks_the_most_similar_row() {
        let train = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, 0.6, 0.8]).view([3, 2]);
        let test = Tensor::from_slice(&[0.0f32, 1.0, 0.8, 0.6, 1.0, 0.0]).view([3, 2]);
        assert_eq!(nearest(&train, &test), vec![1, 2, 0]);
    }
}
