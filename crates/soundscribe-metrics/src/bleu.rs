//! BLEU-1..4 exactly as coco-caption's `bleu_scorer.py` computes it.
//!
//! Corpus BLEU sums clipped matches and guesses over all items; the reference length of each
//! item is the "closest" one (ties go to the shorter reference). Per-item scores use the
//! same formula on one item. The smoothing constants `tiny = 1e-15` (numerator) and
//! `small = 1e-9` (denominator) are coco-caption's, so an item without any 4-gram match
//! scores ~1e-5 rather than 0, as in every published number.

use super::ngram::{NgramCounts, NgramTable};

/// Highest BLEU order computed.
pub const N: usize = 4;
const TINY: f64 = 1e-15;
const SMALL: f64 = 1e-9;

/// BLEU-1..4 for a corpus and for each item.
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScores {
    /// Corpus BLEU-1..4.
    pub corpus: [f64; N],
    /// Per-item BLEU-1..4, in input order.
    pub per_item: Vec<[f64; N]>,
}

/// Sufficient statistics of one item.
struct Stats {
    testlen: usize,
    reflen: usize,
    guess: [usize; N],
    correct: [usize; N],
}

/// Scores tokenized `cands[i]` against tokenized `refs[i]` (each item needs ≥ 1 reference;
/// an item without references scores as if its only reference were empty).
pub fn score(cands: &[String], refs: &[Vec<String>]) -> BleuScores {
    assert_eq!(cands.len(), refs.len(), "one reference list per candidate");
    let mut table = NgramTable::new();
    let stats: Vec<Stats> = cands
        .iter()
        .zip(refs)
        .map(|(c, rs)| item_stats(&mut table, c, rs))
        .collect();

    let per_item = stats.iter().map(bleu_of).collect();
    let mut total = Stats {
        testlen: 0,
        reflen: 0,
        guess: [0; N],
        correct: [0; N],
    };
    for s in &stats {
        total.testlen += s.testlen;
        total.reflen += s.reflen;
        for k in 0..N {
            total.guess[k] += s.guess[k];
            total.correct[k] += s.correct[k];
        }
    }
    BleuScores {
        corpus: bleu_of(&total),
        per_item,
    }
}

fn item_stats(table: &mut NgramTable, cand: &str, refs: &[String]) -> Stats {
    let test = table.count(cand, N);
    let cooked: Vec<NgramCounts> = refs.iter().map(|r| table.count(r, N)).collect();
    // Max count of each n-gram over the references (sorted merge of all entries).
    let mut max_counts: Vec<(u32, u32)> = cooked.iter().flat_map(|r| r.entries.clone()).collect();
    max_counts.sort_unstable();
    max_counts.dedup_by(|later, first| {
        if later.0 == first.0 {
            first.1 = first.1.max(later.1);
            true
        } else {
            false
        }
    });
    let testlen = test.words;
    // "closest": min over (|len - testlen|, len), i.e. ties go to the shorter reference.
    let reflen = cooked
        .iter()
        .map(|r| (r.words.abs_diff(testlen), r.words))
        .min()
        .map_or(0, |(_, len)| len);
    let mut guess = [0; N];
    for (k, g) in guess.iter_mut().enumerate() {
        *g = (testlen + 1).saturating_sub(k + 1);
    }
    let mut correct = [0; N];
    for &(id, count) in &test.entries {
        if let Ok(i) = max_counts.binary_search_by_key(&id, |e| e.0) {
            correct[table.order(id) - 1] += count.min(max_counts[i].1) as usize;
        }
    }
    Stats {
        testlen,
        reflen,
        guess,
        correct,
    }
}

/// coco-caption's cumulative geometric mean with brevity penalty.
fn bleu_of(s: &Stats) -> [f64; N] {
    let mut out = [0.0; N];
    let mut product = 1.0f64;
    for (k, o) in out.iter_mut().enumerate() {
        product *= (s.correct[k] as f64 + TINY) / (s.guess[k] as f64 + SMALL);
        *o = product.powf(1.0 / (k as f64 + 1.0));
    }
    let ratio = (s.testlen as f64 + TINY) / (s.reflen as f64 + SMALL);
    if ratio < 1.0 {
        let bp = (1.0 - 1.0 / ratio).exp();
        for v in &mut out {
            *v *= bp;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn identical_sentence_scores_one() {
        let b = score(
            &s(&["a dog barks at the cat"]),
            &[s(&["a dog barks at the cat"])],
        );
        for v in b.corpus {
            assert!((v - 1.0).abs() < 1e-8, "{v}");
        }
    }

    #[test]
    fn empty_candidate_is_zero_not_nan() {
        let b = score(&s(&[""]), &[s(&["a dog barks"])]);
        for v in b.corpus.iter().chain(b.per_item[0].iter()) {
            assert!(v.is_finite() && *v >= 0.0 && *v < 1e-6, "{v}");
        }
    }

    #[test]
    fn closest_length_prefers_shorter_on_tie() {
        let mut t = NgramTable::new();
        let st = item_stats(&mut t, "a b c", &s(&["a b", "a b c d"]));
        assert_eq!(st.reflen, 2);
    }
}
