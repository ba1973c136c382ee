//! ROUGE-L as coco-caption's `rouge.py` computes it (β = 1.2).
//!
//! Per item: the longest common subsequence with each reference gives a precision and a
//! recall; the maxima over references combine into an F-measure. Tokens come from splitting
//! on single spaces (Python's `str.split(" ")`), so an empty caption is one empty token.
//! The corpus score is the mean over items.

/// coco-caption's β ("updated based on discussion with Hovy").
pub const BETA: f64 = 1.2;

/// ROUGE-L for a corpus and for each item.
#[derive(Debug, Clone, PartialEq)]
pub struct RougeScores {
    /// Mean of the per-item scores.
    pub corpus: f64,
    /// Per-item ROUGE-L, in input order.
    pub per_item: Vec<f64>,
}

/// Scores tokenized `cands[i]` against tokenized `refs[i]`.
pub fn score(cands: &[String], refs: &[Vec<String>]) -> RougeScores {
    assert_eq!(cands.len(), refs.len(), "one reference list per candidate");
    let per_item: Vec<f64> = cands.iter().zip(refs).map(|(c, r)| item(c, r)).collect();
    RougeScores {
        corpus: mean(&per_item),
        per_item,
    }
}

/// ROUGE-L of one candidate against its references (0 when there are none).
pub fn item(cand: &str, refs: &[String]) -> f64 {
    let c: Vec<&str> = cand.split(' ').collect();
    let mut prec_max = 0.0f64;
    let mut rec_max = 0.0f64;
    for r in refs {
        let r: Vec<&str> = r.split(' ').collect();
        let l = lcs(&r, &c) as f64;
        prec_max = prec_max.max(l / c.len() as f64);
        rec_max = rec_max.max(l / r.len() as f64);
    }
    if prec_max != 0.0 && rec_max != 0.0 {
        let b2 = BETA * BETA;
        ((1.0 + b2) * prec_max * rec_max) / (rec_max + b2 * prec_max)
    } else {
        0.0
    }
}

/// Length of the longest common subsequence of two token lists.
fn lcs(a: &[&str], b: &[&str]) -> usize {
    let (long, short) = if a.len() < b.len() { (b, a) } else { (a, b) };
    let mut prev = vec![0usize; short.len() + 1];
    let mut cur = vec![0usize; short.len() + 1];
    for x in long {
        for (j, y) in short.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[short.len()]
}

/// Arithmetic mean (0 for an empty slice, never NaN).
pub(crate) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_basic() {
        assert_eq!(lcs(&["a", "b", "c", "d"], &["a", "c", "d"]), 3);
        assert_eq!(lcs(&["x"], &["y"]), 0);
        assert_eq!(lcs(&[], &["y"]), 0);
    }

    #[test]
    fn identical_is_one_and_empty_is_zero() {
        let r = vec!["a dog barks".to_string()];
        assert!((item("a dog barks", &r) - 1.0).abs() < 1e-12);
        assert_eq!(item("", &r), 0.0);
        assert_eq!(item("a", &[]), 0.0);
    }
}
