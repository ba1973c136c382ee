//! EfficientNet-B2 exactly as `efficientnet_pytorch` 0.7 builds it for the seed-2 student
//! (`get_model_params("efficientnet-b2")`, `_change_in_channels(1)`, no top), then
//! averaged over frequency: (B, 1, F, T) log-mel → (B, T/32, 1408).
//!
//! `get_model_params` sets `image_size = 260`, so every convolution is a
//! `Conv2dStaticSamePadding` whose zero padding is computed once for a 260×260 image
//! (shrinking with each stride), not for the actual (64 × frames) input; we do the same.
//! BatchNorm: eps 1e-3 (momentum 0.01, unused in eval). MBConv: 1×1 expand → BN → swish →
//! depthwise → BN → swish → squeeze-excitation (swish, sigmoid gate) → 1×1 project → BN,
//! with an identity skip when shape is kept; drop-connect is a training-only no-op here.
//!
//! Reference: `efficientnet_pytorch/model.py` and `utils.py`
//! (<https://github.com/lukemelas/EfficientNet-PyTorch/tree/master/efficientnet_pytorch>).

use tch::nn::{self, ModuleT};
use tch::Tensor;

/// EfficientNet-B2 width multiplier.
const WIDTH: f64 = 1.1;
/// EfficientNet-B2 depth multiplier.
const DEPTH: f64 = 1.2;
/// Image size `efficientnet_pytorch` computes its static padding for (B2: 260).
pub const IMAGE_SIZE: i64 = 260;
/// BatchNorm epsilon (`batch_norm_epsilon`).
const BN_EPS: f64 = 1e-3;
/// Squeeze-excitation ratio.
const SE_RATIO: f64 = 0.25;
/// Total downsampling of the time (and frequency) axis.
pub const DOWNSAMPLE: i64 = 32;
/// Output channels (`round_filters(1280)`).
pub const OUT_CHANNELS: i64 = 1408;

/// EfficientNet-B0 stages: (repeats, kernel, stride, expand ratio, in, out).
const B0_STAGES: [(i64, i64, i64, i64, i64, i64); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];

/// `round_filters`: channels × width, rounded to a multiple of 8 (never below 90%).
fn round_filters(filters: i64) -> i64 {
    let f = filters as f64 * WIDTH;
    let mut new = 8.max((f + 4.0) as i64 / 8 * 8);
    if (new as f64) < 0.9 * f {
        new += 8;
    }
    new
}

/// `round_repeats`: ⌈depth × repeats⌉.
fn round_repeats(repeats: i64) -> i64 {
    (DEPTH * repeats as f64).ceil() as i64
}

/// `calculate_output_image_size`: ⌈size / stride⌉.
fn out_size(size: i64, stride: i64) -> i64 {
    (size + stride - 1) / stride
}

/// Swish (`MemoryEfficientSwish` in eval): x · σ(x).
fn swish(x: &Tensor) -> Tensor {
    x * x.sigmoid()
}

fn bn(vs: nn::Path, c: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        eps: BN_EPS,
        momentum: 0.01,
        ..Default::default()
    };
    nn::batch_norm2d(vs, c, cfg)
}

/// `Conv2dStaticSamePadding`: zero padding fixed for `image_size`, then the convolution.
#[derive(Debug)]
struct StaticSameConv {
    conv: nn::Conv2D,
    /// (left, right, top, bottom), same for both axes since the image is square.
    pad: Option<[i64; 4]>,
}

impl StaticSameConv {
    #[allow(clippy::too_many_arguments)]
    fn new(
        vs: nn::Path,
        cin: i64,
        cout: i64,
        k: i64,
        stride: i64,
        groups: i64,
        bias: bool,
        image_size: i64,
    ) -> Self {
        let total = ((out_size(image_size, stride) - 1) * stride + k - image_size).max(0);
        let (lo, hi) = (total / 2, total - total / 2);
        let cfg = nn::ConvConfig {
            stride,
            groups,
            bias,
            ..Default::default()
        };
        StaticSameConv {
            conv: nn::conv2d(vs, cin, cout, k, cfg),
            pad: (total > 0).then_some([lo, hi, lo, hi]),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        match self.pad {
            Some(p) => x.constant_pad_nd(p).apply(&self.conv),
            None => x.apply(&self.conv),
        }
    }
}

/// `MBConvBlock` (inverted residual with squeeze-excitation).
#[derive(Debug)]
struct MbConv {
    expand: Option<(StaticSameConv, nn::BatchNorm)>,
    depthwise: StaticSameConv,
    bn1: nn::BatchNorm,
    se_reduce: StaticSameConv,
    se_expand: StaticSameConv,
    project: StaticSameConv,
    bn2: nn::BatchNorm,
    skip: bool,
}

impl MbConv {
    /// One block reading `cin` channels of an `image_size` image.
    fn new(
        vs: nn::Path,
        (k, stride, expand, cin, cout): (i64, i64, i64, i64, i64),
        image_size: i64,
    ) -> Self {
        let mid = cin * expand;
        let expand = (expand != 1).then(|| {
            (
                StaticSameConv::new(&vs / "_expand_conv", cin, mid, 1, 1, 1, false, image_size),
                bn(&vs / "_bn0", mid),
            )
        });
        let depthwise = StaticSameConv::new(
            &vs / "_depthwise_conv",
            mid,
            mid,
            k,
            stride,
            mid,
            false,
            image_size,
        );
        let squeezed = 1.max((cin as f64 * SE_RATIO) as i64);
        MbConv {
            expand,
            depthwise,
            bn1: bn(&vs / "_bn1", mid),
            se_reduce: StaticSameConv::new(&vs / "_se_reduce", mid, squeezed, 1, 1, 1, true, 1),
            se_expand: StaticSameConv::new(&vs / "_se_expand", squeezed, mid, 1, 1, 1, true, 1),
            project: StaticSameConv::new(
                &vs / "_project_conv",
                mid,
                cout,
                1,
                1,
                1,
                false,
                out_size(image_size, stride),
            ),
            bn2: bn(&vs / "_bn2", cout),
            skip: stride == 1 && cin == cout,
        }
    }

    fn forward(&self, inputs: &Tensor) -> Tensor {
        let x = match &self.expand {
            Some((conv, bn0)) => swish(&bn0.forward_t(&conv.forward(inputs), false)),
            None => inputs.shallow_clone(),
        };
        let x = swish(&self.bn1.forward_t(&self.depthwise.forward(&x), false));
        let s = x.adaptive_avg_pool2d([1, 1]);
        let s = self.se_expand.forward(&swish(&self.se_reduce.forward(&s)));
        let x = s.sigmoid() * x;
        let x = self.bn2.forward_t(&self.project.forward(&x), false);
        if self.skip {
            x + inputs
        } else {
            x
        }
    }
}

/// EfficientNet-B2 feature extractor with one input channel (`eff_net` in the checkpoint).
#[derive(Debug)]
pub struct EfficientNetB2 {
    stem: StaticSameConv,
    bn0: nn::BatchNorm,
    blocks: Vec<MbConv>,
    head: StaticSameConv,
    bn1: nn::BatchNorm,
}

impl EfficientNetB2 {
    /// Builds the network under `vs` (`_conv_stem`, `_bn0`, `_blocks.i`, `_conv_head`, `_bn1`).
    pub fn new(vs: nn::Path) -> Self {
        let stem_out = round_filters(32);
        let stem = StaticSameConv::new(&vs / "_conv_stem", 1, stem_out, 3, 2, 1, false, IMAGE_SIZE);
        let mut image = out_size(IMAGE_SIZE, 2);
        let mut blocks = Vec::new();
        for (repeats, k, stride, expand, cin, cout) in B0_STAGES {
            let (cin, cout) = (round_filters(cin), round_filters(cout));
            let path = |i: usize| &vs / "_blocks" / i;
            blocks.push(MbConv::new(
                path(blocks.len()),
                (k, stride, expand, cin, cout),
                image,
            ));
            image = out_size(image, stride);
            for _ in 1..round_repeats(repeats) {
                blocks.push(MbConv::new(
                    path(blocks.len()),
                    (k, 1, expand, cout, cout),
                    image,
                ));
            }
        }
        let last = round_filters(B0_STAGES[6].5);
        EfficientNetB2 {
            stem,
            bn0: bn(&vs / "_bn0", stem_out),
            blocks,
            head: StaticSameConv::new(
                &vs / "_conv_head",
                last,
                OUT_CHANNELS,
                1,
                1,
                1,
                false,
                image,
            ),
            bn1: bn(&vs / "_bn1", OUT_CHANNELS),
        }
    }

    /// `extract_features` of `x` (B, 1, F, T): (B, 1408, F/32, T/32).
    pub fn extract_features(&self, x: &Tensor) -> Tensor {
        let mut x = swish(&self.bn0.forward_t(&self.stem.forward(x), false));
        for block in &self.blocks {
            x = block.forward(&x);
        }
        swish(&self.bn1.forward_t(&self.head.forward(&x), false))
    }

    /// The student's encoder output: features of `mel_db` (B, F, T) averaged over
    /// frequency, (B, T/32, 1408).
    pub fn forward(&self, mel_db: &Tensor) -> Tensor {
        let x = self.extract_features(&mel_db.unsqueeze(1));
        x.mean_dim(2, false, x.kind()).transpose(1, 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b2_widths_and_depths_match_efficientnet_pytorch() {
        let widths: Vec<i64> = [32, 16, 24, 40, 80, 112, 192, 320, 1280]
            .map(round_filters)
            .to_vec();
        assert_eq!(widths, [32, 16, 24, 48, 88, 120, 208, 352, 1408]);
        let repeats: i64 = B0_STAGES.iter().map(|s| round_repeats(s.0)).sum();
        assert_eq!(repeats, 23);
    }
}
