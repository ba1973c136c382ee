//! Training losses (seed 1): label-smoothed token cross-entropy and the bidirectional
//! InfoNCE between audio and caption embeddings.

use tch::{Kind, Reduction, Tensor};

/// Labels equal to this are ignored (padding), as in PyTorch.
pub const IGNORE_INDEX: i64 = -100;

/// Mean cross-entropy over non-ignored tokens with label smoothing `epsilon`, exactly as
/// `F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100,
/// label_smoothing=epsilon)`. `logits`: (B, L, V); `labels`: (B, L).
pub fn smoothed_cross_entropy(logits: &Tensor, labels: &Tensor, epsilon: f64) -> Tensor {
    let v = logits.size()[2];
    logits.view([-1, v]).cross_entropy_loss::<Tensor>(
        &labels.view([-1]),
        None,
        Reduction::Mean,
        IGNORE_INDEX,
        epsilon,
    )
}

/// Bidirectional InfoNCE with in-batch negatives: L2-normalise both sides, logits =
/// a·tᵀ/τ, and average the audio→text and text→audio cross-entropies against the diagonal.
pub fn info_nce(audio: &Tensor, text: &Tensor, temperature: f64) -> Tensor {
    let a = soundscribe::model::text::l2_normalize(&audio.to_kind(Kind::Float));
    let t = soundscribe::model::text::l2_normalize(&text.to_kind(Kind::Float));
    symmetric_diagonal_ce(&(a.matmul(&t.tr()) / temperature))
}

/// The mean of the row-wise and column-wise cross-entropies of square `logits` (B, B)
/// against the diagonal: the contrastive loss once similarities are scaled.
pub fn symmetric_diagonal_ce(logits: &Tensor) -> Tensor {
    let targets = Tensor::arange(logits.size()[0], (Kind::Int64, logits.device()));
    let rows = logits.cross_entropy_for_logits(&targets);
    let cols = logits.tr().cross_entropy_for_logits(&targets);
    (rows + cols) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(t: &Tensor, expected: f64) {
        let got = f64::try_from(t).unwrap();
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn smoothed_cross_entropy_matches_the_formula() {
        // One valid token over V = 3 with logits [0, ln 2, 0] → p = [.25, .5, .25].
        let logits = Tensor::from_slice(&[0.0f32, 2f32.ln(), 0.0, 9.0, 9.0, 9.0]).view([1, 2, 3]);
        let labels = Tensor::from_slice(&[1i64, IGNORE_INDEX]).view([1, 2]);
        close(
            &smoothed_cross_entropy(&logits, &labels, 0.0),
            -(0.5f64).ln(),
        );
        // ε = 0.1: (1−ε)·NLL + ε·mean over classes of −log p.
        let uniform = -((0.25f64).ln() + (0.5f64).ln() + (0.25f64).ln()) / 3.0;
        close(
            &smoothed_cross_entropy(&logits, &labels, 0.1),
            0.9 * -(0.5f64).ln() + 0.1 * uniform,
        );
    }

    #[test]
    fn info_nce_is_low_for_matched_pairs_and_symmetric() {
        let e = Tensor::eye(4, (Kind::Float, tch::Device::Cpu));
        let matched = f64::try_from(info_nce(&e, &e, 0.5)).unwrap();
        let shuffled = f64::try_from(info_nce(&e, &e.roll([1], [0]), 0.5)).unwrap();
        assert!(matched < shuffled);
        // Closed form for orthonormal pairs: −log(e^{2} / (e^{2} + 3)).
        assert!((matched - -(2f64.exp() / (2f64.exp() + 3.0)).ln()).abs() < 1e-5);
        let a = Tensor::randn([5, 8], (Kind::Float, tch::Device::Cpu));
        let t = Tensor::randn([5, 8], (Kind::Float, tch::Device::Cpu));
        close(
            &info_nce(&a, &t, 0.5),
            f64::try_from(info_nce(&t, &a, 0.5)).unwrap(),
        );
    }
}
