//! The aisfx CNN-8 sound-effects encoder (the student's encoder): four `ConvBlock`s of
//! (3×3 conv without bias → BatchNorm → ReLU) × 2, each followed by 2×2 pooling except
//! the last; the clip embedding is the frequency mean then the time max of the last block.
//!
//! Reference: aisfx 0.1.2 `aisfx/models/cnn2d.py` (`ConvBlock`, `EmbeddingNet`, from the
//! DCASE 2018 cross-task baseline) and `aisfx/inference.py` (`EmbeddingNet('max', 3, 1,
//! 64)`). Tensor names are the checkpoint's, without its `embedding_net.` prefix.
//! Input is the front end of [`crate::features::aisfx_mel`]: blocks `(N, 100, 96)`.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Kind, Tensor};

use crate::features::aisfx_mel::{blocks, BLOCK_FRAMES};
use crate::model::ModelError;

/// Frames per memory step (the three 2×2 poolings).
pub const FRAMES_PER_STEP: i64 = 8;

/// Pooling between blocks (`pool_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolType {
    /// `F.max_pool2d` (the released checkpoint).
    Max,
    /// `F.avg_pool2d`.
    Avg,
}

/// `EmbeddingNet(pool_type, ks, strd, hl1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AisfxConfig {
    /// Pooling between blocks.
    pub pool_type: PoolType,
    /// Channels of the first block; blocks 2-4 double it each time (hl1).
    pub channels: i64,
}

impl Default for AisfxConfig {
    /// The released checkpoint: max pooling, 64 → 128 → 256 → 512 channels.
    fn default() -> Self {
        AisfxConfig {
            pool_type: PoolType::Max,
            channels: 64,
        }
    }
}

impl AisfxConfig {
    /// Width of the memory sequence and the embedding (channels of block 4).
    pub fn out_dim(&self) -> i64 {
        self.channels * 8
    }
}

/// `ConvBlock`: (conv3x3 → BN → ReLU) × 2.
#[derive(Debug)]
struct ConvBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
}

impl ConvBlock {
    fn new(vs: nn::Path, c_in: i64, c_out: i64) -> Self {
        let conv = nn::ConvConfig {
            padding: 1,
            bias: false,
            ..Default::default()
        };
        ConvBlock {
            conv1: nn::conv2d(&vs / "conv1", c_in, c_out, 3, conv),
            bn1: nn::batch_norm2d(&vs / "bn1", c_out, Default::default()),
            conv2: nn::conv2d(&vs / "conv2", c_out, c_out, 3, conv),
            bn2: nn::batch_norm2d(&vs / "bn2", c_out, Default::default()),
        }
    }

    /// The block before its pooling (inference: BatchNorm uses its running statistics).
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.apply(&self.conv1).apply_t(&self.bn1, false).relu();
        x.apply(&self.conv2).apply_t(&self.bn2, false).relu()
    }
}

/// `EmbeddingNet`: the CNN-8.
#[derive(Debug)]
pub struct AisfxCnn {
    blocks: Vec<ConvBlock>,
    pool_type: PoolType,
}

impl AisfxCnn {
    /// Declares the network's variables under `vs` (`conv_block1` … `conv_block4`).
    pub fn new(vs: nn::Path, cfg: &AisfxConfig) -> Result<Self, ModelError> {
        ModelError::require_positive("aisfx", &[("channels", cfg.channels)])?;
        let c = cfg.channels;
        let dims = [(1, c), (c, 2 * c), (2 * c, 4 * c), (4 * c, 8 * c)];
        let blocks = dims
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| ConvBlock::new(&vs / format!("conv_block{}", i + 1), a, b))
            .collect();
        Ok(AisfxCnn {
            blocks,
            pool_type: cfg.pool_type,
        })
    }

    fn pool(&self, x: &Tensor) -> Tensor {
        match self.pool_type {
            PoolType::Max => x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false),
            PoolType::Avg => x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None),
        }
    }

    /// `conv_block4`'s output before pooling for `blocks` `(N, T, F)`: `(N, 512, T/8, F/8)`.
    pub fn conv_block4(&self, blocks: &Tensor) -> Result<Tensor, ModelError> {
        let size = blocks.size();
        if size.len() != 3 || size[1] < 8 || size[2] < 8 {
            return Err(ModelError::Input(format!(
                "aisfx expects (N, frames ≥ 8, mel bands ≥ 8) input, got {size:?}"
            )));
        }
        let mut x = blocks.unsqueeze(1);
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x);
            if i + 1 < self.blocks.len() {
                x = self.pool(&x);
            }
        }
        Ok(x)
    }

    /// The memory sequence: `conv_block4` averaged over frequency, `(N, 512, T/8)`.
    pub fn memory(&self, blocks: &Tensor) -> Result<Tensor, ModelError> {
        Ok(self
            .conv_block4(blocks)?
            .mean_dim(3, false, tch::Kind::Float))
    }

    /// The memory steps of whole clips from their log-mel `(B, T, F)`: cut into
    /// `BLOCK_FRAMES`-frame blocks, every block's steps in order, `(B, S, 512)`, and their
    /// `(B, S)` validity (a step is valid when its first frame lies inside the clip).
    pub fn clip_steps(&self, mel: &Tensor) -> Result<(Tensor, Tensor), ModelError> {
        let (b, t, _) = mel.size3()?;
        let device = mel.device();
        let (x, k) = blocks(mel, BLOCK_FRAMES, BLOCK_FRAMES, false);
        let memory = self.memory(&x)?; // (B·K, C, steps)
        let (_, c, steps) = memory.size3()?;
        let memory = memory
            .view([b, k, c, steps])
            .permute([0, 1, 3, 2])
            .reshape([b, k * steps, c]);
        let step = Tensor::arange(steps, (Kind::Int64, device)) * FRAMES_PER_STEP;
        let block = Tensor::arange(k, (Kind::Int64, device)) * BLOCK_FRAMES;
        let first_frame = (block.unsqueeze(1) + step.unsqueeze(0)).reshape([k * steps]);
        let valid = first_frame.lt(t).unsqueeze(0).expand([b, k * steps], true);
        Ok((memory, valid))
    }

    /// The package's embedding: the memory's maximum over time, `(N, 512)`.
    pub fn embedding(&self, blocks: &Tensor) -> Result<Tensor, ModelError> {
        Ok(embedding_from_memory(&self.memory(blocks)?))
    }
}

/// The maximum of clip steps `(B, S, C)` over their valid ones `(B, S)`: `(B, C)`.
pub fn max_over_valid(steps: &Tensor, valid: &Tensor) -> Tensor {
    steps
        .masked_fill(&valid.logical_not().unsqueeze(-1), f64::NEG_INFINITY)
        .amax([1].as_slice(), false)
}

/// `torch.max(memory, dim=2)`: the embedding from a memory sequence `(N, C, T)`.
pub fn embedding_from_memory(memory: &Tensor) -> Tensor {
    memory.amax([2].as_slice(), false)
}
