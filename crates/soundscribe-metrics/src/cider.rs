//! CIDEr-D exactly as coco-caption's `cider_scorer.py` computes it.
//!
//! n = 4, σ = 6: TF-IDF vectors of 1..4-grams, with document frequencies counted over the
//! reference sets of the items being evaluated (so a score depends on the whole set, and
//! `ref_len = ln(#items)`). The candidate's weights are clipped at the reference's, a
//! Gaussian length penalty is applied, orders are averaged, references averaged, ×10.
//!
//! Faithful to a quirk of the reference code: the "length" in the penalty is the number
//! of *bigrams* (`if n == 1` on the 0-based order index), not words.

use super::ngram::{NgramCounts, NgramTable, MAX_ORDER};
use super::rouge::mean;

/// N-gram order of CIDEr-D.
pub const N: usize = MAX_ORDER;
/// Standard deviation of the Gaussian length penalty.
pub const SIGMA: f64 = 6.0;

/// CIDEr-D for a corpus and for each item.
#[derive(Debug, Clone, PartialEq)]
pub struct CiderScores {
    /// Mean of the per-item scores.
    pub corpus: f64,
    /// Per-item CIDEr-D, in input order.
    pub per_item: Vec<f64>,
}

/// A sentence as TF-IDF weights: `(ngram id, weight)` sorted by id, per-order norms, and
/// the bigram count used by the length penalty.
struct TfIdf {
    weights: Vec<(u32, f64)>,
    norm: [f64; N],
    length: f64,
}

/// Scores tokenized `cands[i]` against tokenized `refs[i]`; document frequencies come from
/// all of `refs`. Items without references score 0.
pub fn score(cands: &[String], refs: &[Vec<String>]) -> CiderScores {
    assert_eq!(cands.len(), refs.len(), "one reference list per candidate");
    let mut table = NgramTable::new();
    let cooked_refs: Vec<Vec<NgramCounts>> = refs
        .iter()
        .map(|rs| rs.iter().map(|r| table.count(r, N)).collect())
        .collect();
    let cooked_cands: Vec<NgramCounts> = cands.iter().map(|c| table.count(c, N)).collect();

    // Document frequency: in how many items' reference sets does each n-gram occur.
    let mut df = vec![0u32; table.len()];
    let mut seen: Vec<u32> = Vec::new();
    for rs in &cooked_refs {
        seen.clear();
        seen.extend(rs.iter().flat_map(|r| r.entries.iter().map(|e| e.0)));
        seen.sort_unstable();
        seen.dedup();
        for &id in &seen {
            df[id as usize] += 1;
        }
    }
    let ref_len = (refs.len() as f64).ln();
    let idf = |id: u32| ref_len - f64::from(df[id as usize].max(1)).ln();

    let per_item: Vec<f64> = cooked_cands
        .iter()
        .zip(&cooked_refs)
        .map(|(cand, rs)| {
            if rs.is_empty() {
                return 0.0;
            }
            let hyp = tfidf(&table, cand, idf);
            let mut sum = [0.0f64; N];
            for r in rs {
                let r = tfidf(&table, r, idf);
                let val = sim(&table, &hyp, &r);
                for (s, v) in sum.iter_mut().zip(val) {
                    *s += v;
                }
            }
            mean(&sum) / rs.len() as f64 * 10.0
        })
        .collect();
    CiderScores {
        corpus: mean(&per_item),
        per_item,
    }
}

fn tfidf(table: &NgramTable, counts: &NgramCounts, idf: impl Fn(u32) -> f64) -> TfIdf {
    let mut norm = [0.0f64; N];
    let mut length = 0.0;
    let weights = counts
        .entries
        .iter()
        .map(|&(id, tf)| {
            let order = table.order(id) - 1;
            let w = f64::from(tf) * idf(id);
            norm[order] += w * w;
            if order == 1 {
                length += f64::from(tf);
            }
            (id, w)
        })
        .collect();
    for n in &mut norm {
        *n = n.sqrt();
    }
    TfIdf {
        weights,
        norm,
        length,
    }
}

/// Clipped cosine similarity per order with the Gaussian length penalty.
fn sim(table: &NgramTable, hyp: &TfIdf, r: &TfIdf) -> [f64; N] {
    let mut val = [0.0f64; N];
    let (mut i, mut j) = (0, 0);
    while i < hyp.weights.len() && j < r.weights.len() {
        let (hid, hw) = hyp.weights[i];
        let (rid, rw) = r.weights[j];
        if hid < rid {
            i += 1;
        } else if rid < hid {
            j += 1;
        } else {
            val[table.order(hid) - 1] += hw.min(rw) * rw;
            i += 1;
            j += 1;
        }
    }
    let delta = hyp.length - r.length;
    let penalty = std::f64::consts::E.powf(-(delta * delta) / (2.0 * SIGMA * SIGMA));
    for ((v, nh), nr) in val.iter_mut().zip(hyp.norm).zip(r.norm) {
        if nh != 0.0 && nr != 0.0 {
            *v /= nh * nr;
        }
        *v *= penalty;
    }
    val
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn single_item_has_zero_idf_and_scores_zero() {
        // ln(1) - ln(1) = 0: every weight vanishes, as in coco-caption.
        let c = score(&s(&["a dog barks"]), &[s(&["a dog barks"])]);
        assert_eq!(c.corpus, 0.0);
    }

    #[test]
    fn empty_candidate_and_no_refs_are_finite() {
        let c = score(
            &s(&["", "a cat", "x"]),
            &[s(&["a dog barks"]), s(&["a cat meows"]), vec![]],
        );
        assert!(c.per_item.iter().all(|v| v.is_finite()));
        assert_eq!(c.per_item[0], 0.0);
        assert_eq!(c.per_item[2], 0.0);
    }
}
