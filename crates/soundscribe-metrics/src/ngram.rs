//! N-gram counting shared by BLEU and CIDEr-D.
//!
//! Tokens are whitespace-split words (Python's `str.split()`, as coco-caption does). Each
//! distinct n-gram (n ≤ 4) gets a dense `u32` id from an [`NgramTable`], so that a
//! sentence becomes a short sorted list of `(id, count)` pairs and the metrics work with
//! merge joins and plain vectors instead of hash maps of tuples.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The largest n-gram order the table packs into one key.
pub const MAX_ORDER: usize = 4;

/// A multiply-rotate hasher (the FxHash recipe) for the table's small keys: interning
/// dominates CIDEr-D's run time and SipHash's DoS resistance buys nothing here.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Interns words and n-grams of up to [`MAX_ORDER`] words into dense ids.
#[derive(Debug, Default)]
pub struct NgramTable {
    words: FastMap<String, u32>,
    ngrams: FastMap<u128, u32>,
    /// `order[id]` is the number of words (1..=4) of n-gram `id`.
    order: Vec<u8>,
}

/// One sentence's n-gram counts: `(ngram id, count)` sorted by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NgramCounts {
    /// Number of words in the sentence.
    pub words: usize,
    /// Distinct n-grams of order 1..=n with their counts, sorted by id.
    pub entries: Vec<(u32, u32)>,
}

impl NgramTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of words (1..=4) in n-gram `id`.
    pub fn order(&self, id: u32) -> usize {
        usize::from(self.order[id as usize])
    }

    /// Number of distinct n-grams seen so far (ids are `0..len()`).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Counts the n-grams of order 1..=`n` of `sentence` split on whitespace.
    ///
    /// # Panics
    /// If `n` is 0 or larger than [`MAX_ORDER`] (a programming error, not an input error).
    pub fn count(&mut self, sentence: &str, n: usize) -> NgramCounts {
        assert!(
            (1..=MAX_ORDER).contains(&n),
            "n-gram order {n} out of 1..=4"
        );
        let ids: Vec<u32> = sentence
            .split_whitespace()
            .map(|w| {
                let next = self.words.len() as u32 + 1; // 0 marks "no word" in a key
                *self.words.entry(w.to_owned()).or_insert(next)
            })
            .collect();
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(ids.len() * n);
        for k in 1..=n {
            for window in ids.windows(k) {
                let key = window
                    .iter()
                    .fold(0u128, |key, &w| (key << 32) | u128::from(w));
                let next = self.order.len() as u32;
                let id = *self.ngrams.entry(key).or_insert(next);
                if id == next {
                    self.order.push(k as u8);
                }
                entries.push((id, 1));
            }
        }
        entries.sort_unstable_by_key(|e| e.0);
        entries.dedup_by(|later, first| {
            if later.0 == first.0 {
                first.1 += later.1;
                true
            } else {
                false
            }
        });
        NgramCounts {
            words: ids.len(),
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_order_and_repeats() {
        let mut t = NgramTable::new();
        let c = t.count("a b a b", 2);
        assert_eq!(c.words, 4);
        let by_order = |k: usize| -> Vec<u32> {
            c.entries
                .iter()
                .filter(|e| t.order(e.0) == k)
                .map(|e| e.1)
                .collect()
        };
        assert_eq!(by_order(1), vec![2, 2]); // a, b
        let mut bigrams = by_order(2);
        bigrams.sort_unstable();
        assert_eq!(bigrams, vec![1, 2]); // "b a" once, "a b" twice
    }

    #[test]
    fn same_ngram_same_id_across_sentences() {
        let mut t = NgramTable::new();
        let a = t.count("dog barks", 2);
        let b = t.count("the dog barks", 2);
        for e in &a.entries {
            assert!(b.entries.iter().any(|f| f.0 == e.0));
        }
        assert!(t.count("", 4).entries.is_empty());
    }
}
