//! Properties of the metrics that hold for any captions: reference order does not matter,
//! a candidate equal to its references scores BLEU 1 and ROUGE-L 1, and empty candidates
//! or odd text give finite scores without panicking.

use proptest::prelude::*;
use soundscribe_metrics::{bleu, cider, ptb, rouge};

const VOCAB: &[&str] = &[
    "a", "the", "dog", "barks", "cars", "pass", "by", "rain", "falls", "on", "roof", "birds",
    "chirp", "man", "speaks", "loudly", "water", "flows", "in", "stream",
];

fn sentence(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), min..12).prop_map(|w| w.join(" "))
}

/// Items of (candidate, 1..5 references).
fn items(min_words: usize) -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    prop::collection::vec(
        (
            sentence(min_words),
            prop::collection::vec(sentence(1), 1..5),
        ),
        1..6,
    )
}

fn split(items: &[(String, Vec<String>)]) -> (Vec<String>, Vec<Vec<String>>) {
    items.iter().cloned().unzip()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #[test]
    fn scores_do_not_depend_on_reference_order(items in items(0), seed in any::<u64>()) {
        let (cands, refs) = split(&items);
        let mut shuffled = refs.clone();
        for (n, rs) in shuffled.iter_mut().enumerate() {
            let k = (seed as usize).wrapping_add(n) % rs.len();
            rs.rotate_left(k);
            if seed % 2 == 0 { rs.reverse(); }
        }
        let (b1, b2) = (bleu::score(&cands, &refs), bleu::score(&cands, &shuffled));
        for k in 0..4 {
            prop_assert!(close(b1.corpus[k], b2.corpus[k]));
            for (x, y) in b1.per_item.iter().zip(&b2.per_item) { prop_assert!(close(x[k], y[k])); }
        }
        let (r1, r2) = (rouge::score(&cands, &refs), rouge::score(&cands, &shuffled));
        prop_assert!(close(r1.corpus, r2.corpus));
        let (c1, c2) = (cider::score(&cands, &refs), cider::score(&cands, &shuffled));
        prop_assert!(close(c1.corpus, c2.corpus));
        for (x, y) in c1.per_item.iter().zip(&c2.per_item) { prop_assert!(close(*x, *y)); }
    }

    #[test]
    fn identical_candidate_and_references_score_one(s in sentence(4), n in 1usize..5) {
        let cands = vec![s.clone()];
        let refs = vec![vec![s; n]];
        let b = bleu::score(&cands, &refs);
        for k in 0..4 { prop_assert!((b.corpus[k] - 1.0).abs() < 1e-6, "bleu_{}: {}", k + 1, b.corpus[k]); }
        prop_assert!((rouge::score(&cands, &refs).corpus - 1.0).abs() < 1e-12);
    }

    #[test]
    fn empty_candidates_give_finite_scores(items in items(0), blank in prop::collection::vec(any::<bool>(), 6)) {
        let (mut cands, refs) = split(&items);
        for (c, b) in cands.iter_mut().zip(blank) { if b { c.clear(); } }
        let b = bleu::score(&cands, &refs);
        prop_assert!(b.corpus.iter().chain(b.per_item.iter().flatten()).all(|v| v.is_finite()));
        let r = rouge::score(&cands, &refs);
        prop_assert!(r.corpus.is_finite() && r.per_item.iter().all(|v| v.is_finite()));
        let c = cider::score(&cands, &refs);
        prop_assert!(c.corpus.is_finite() && c.per_item.iter().all(|v| v.is_finite()));
        for (cand, (b, r)) in cands.iter().zip(b.per_item.iter().zip(&r.per_item)) {
            if cand.is_empty() { prop_assert!(b[0] < 1e-6 && *r == 0.0); }
        }
    }

    #[test]
    fn tokenizer_never_panics_and_emits_clean_tokens(s in "\\PC{0,60}") {
        let t = ptb::tokenize(&s);
        prop_assert!(!t.starts_with(' ') && !t.ends_with(' ') && !t.contains("  "));
        for tok in t.split(' ').filter(|w| !w.is_empty()) {
            prop_assert!(!ptb::PUNCTUATIONS.contains(&tok));
            prop_assert_eq!(tok.to_lowercase(), tok);
        }
    }
}
