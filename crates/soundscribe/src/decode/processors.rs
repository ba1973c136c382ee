//! Logit processors with Hugging Face `generate` semantics: minimum length, no-repeat
//! n-grams, temperature and nucleus (top-p) filtering.

use std::collections::HashMap;

use tch::{Kind, Tensor};

/// Sets end-of-sequence to −∞ for every row while sequences are shorter than `min_length`
/// (`cur_len` counts the start token).
pub fn min_length(scores: &mut Tensor, cur_len: usize, min_length: usize, eos: i64) {
    if cur_len < min_length {
        let _ = scores.narrow(1, eos, 1).fill_(f64::NEG_INFINITY);
    }
}

/// Tokens that would repeat an n-gram already present in `history` (start token included).
pub fn banned_ngram_tokens(history: &[i64], n: usize) -> Vec<i64> {
    if n == 0 || history.len() + 1 < n {
        return Vec::new();
    }
    let prefix = &history[history.len() + 1 - n..];
    let mut seen: HashMap<&[i64], Vec<i64>> = HashMap::new();
    for gram in history.windows(n) {
        seen.entry(&gram[..n - 1]).or_default().push(gram[n - 1]);
    }
    let mut banned = seen.remove(prefix).unwrap_or_default();
    banned.sort_unstable();
    banned.dedup();
    banned
}

/// Sets to −∞ the scores of tokens banned by the no-repeat-n-gram rule, row by row.
pub fn no_repeat_ngram(scores: &mut Tensor, histories: &[Vec<i64>], n: usize) {
    if n == 0 {
        return;
    }
    let mut rows = Vec::new();
    let mut cols = Vec::new();
    for (row, h) in histories.iter().enumerate() {
        for t in banned_ngram_tokens(h, n) {
            rows.push(row as i64);
            cols.push(t);
        }
    }
    if rows.is_empty() {
        return;
    }
    let device = scores.device();
    let rows = Tensor::from_slice(&rows).to_device(device);
    let cols = Tensor::from_slice(&cols).to_device(device);
    let value = Tensor::from(f64::NEG_INFINITY)
        .to_kind(scores.kind())
        .to_device(device);
    let _ = scores.index_put_(&[Some(rows), Some(cols)], &value, false);
}

/// Hugging Face `TopPLogitsWarper`: keeps the smallest set of most likely tokens whose
/// probability mass reaches `top_p` (at least one), sets the rest to −∞.
pub fn top_p(scores: &Tensor, top_p: f64) -> Tensor {
    if top_p >= 1.0 {
        return scores.shallow_clone();
    }
    let (sorted, indices) = scores.sort(-1, false);
    let cumulative = sorted.softmax(-1, Kind::Float).cumsum(-1, Kind::Float);
    let remove_sorted = cumulative.le(1.0 - top_p);
    let v = remove_sorted.size()[1];
    let _ = remove_sorted.narrow(1, v - 1, 1).fill_(0);
    let remove = remove_sorted.scatter(1, &indices, &remove_sorted);
    scores.masked_fill(&remove, f64::NEG_INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs(logits: &Tensor) -> Vec<f32> {
        Vec::try_from(logits.softmax(-1, Kind::Float).flatten(0, -1)).unwrap()
    }

    #[test]
    fn top_p_keeps_the_smallest_nucleus() {
        // p = 0.5, 0.3, 0.15, 0.05
        let logits = Tensor::from_slice(&[0.5f32, 0.3, 0.15, 0.05])
            .log()
            .view([1, 4]);
        assert_eq!(probs(&top_p(&logits, 0.7)), vec![0.625, 0.375, 0.0, 0.0]);
        // 0.95 needs the third token too; the fourth (cumulative from the bottom 0.05 ≤ 0.05) goes.
        let p = probs(&top_p(&logits, 0.95));
        assert!((p[2] - 0.15 / 0.95).abs() < 1e-6 && p[3] == 0.0, "{p:?}");
        // A tiny top_p still keeps the most likely token.
        assert_eq!(probs(&top_p(&logits, 0.01)), vec![1.0, 0.0, 0.0, 0.0]);
        assert_eq!(probs(&top_p(&logits, 1.0)).len(), 4);
    }

    #[test]
    fn top_p_is_per_row_and_order_independent() {
        let logits = Tensor::from_slice(&[0.05f32, 0.15, 0.3, 0.5, 0.25, 0.25, 0.25, 0.25])
            .log()
            .view([2, 4]);
        let p = probs(&top_p(&logits, 0.7));
        assert_eq!(&p[..4], &[0.0, 0.0, 0.375, 0.625]);
        // Uniform row: every token is needed to pass 0.7 except the first-sorted one.
        assert_eq!(p[4..].iter().filter(|&&x| x > 0.0).count(), 3);
    }

    #[test]
    fn no_repeat_bans_completing_tokens() {
        // "2 5 6 5" with n = 2: prefix [5] was followed by 6 → ban 6.
        assert_eq!(banned_ngram_tokens(&[2, 5, 6, 5], 2), vec![6]);
        // n = 3: prefix [6, 5] never seen → nothing.
        assert!(banned_ngram_tokens(&[2, 5, 6, 5], 3).is_empty());
        // "2 5 6 5 6" n = 3: prefix [5, 6] followed by 5 → ban 5.
        assert_eq!(banned_ngram_tokens(&[2, 5, 6, 5, 6], 3), vec![5]);
        assert!(banned_ngram_tokens(&[2], 3).is_empty());
        assert!(banned_ngram_tokens(&[2, 5, 5], 0).is_empty());
    }

    #[test]
    fn no_repeat_masks_scores() {
        let mut s = Tensor::zeros([2, 8], (Kind::Float, tch::Device::Cpu));
        no_repeat_ngram(&mut s, &[vec![2, 5, 6, 5], vec![2, 3]], 2);
        let v: Vec<f32> = Vec::try_from(s.flatten(0, -1)).unwrap();
        assert_eq!(v.iter().filter(|x| x.is_infinite()).count(), 1);
        assert!(v[6].is_infinite());
    }

    #[test]
    fn min_length_blocks_eos() {
        let mut s = Tensor::zeros([2, 4], (Kind::Float, tch::Device::Cpu));
        min_length(&mut s, 2, 5, 3);
        let v: Vec<f32> = Vec::try_from(s.flatten(0, -1)).unwrap();
        assert!(v[3].is_infinite() && v[7].is_infinite() && v[0] == 0.0);
        let mut s = Tensor::zeros([1, 4], (Kind::Float, tch::Device::Cpu));
        min_length(&mut s, 5, 5, 3);
        assert_eq!(f64::try_from(s.sum(Kind::Float)).unwrap(), 0.0);
    }
}
