//! CIDEr-D on 10,000 candidates × 5 references of deterministic synthetic captions
//! (document frequencies over the whole reference set, as `soundscribe eval` computes it).
//!
//! `cargo bench --bench cider`

use criterion::{criterion_group, criterion_main, Criterion};
use soundscribe_metrics::cider;

const ITEMS: usize = 10_000;
const REFS: usize = 5;

/// A small xorshift generator so the captions are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Captions of 6..=15 words over a 600-word vocabulary with a skewed (Zipf-like) choice, so
/// that common words and n-grams repeat the way caption words do.
fn synthetic() -> (Vec<String>, Vec<Vec<String>>) {
    let vocab: Vec<String> = (0..600).map(|i| format!("w{i}")).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let caption = |rng: &mut Rng| -> String {
        let len = 6 + rng.below(10);
        (0..len)
            .map(|_| {
                let a = rng.below(vocab.len());
                let b = rng.below(vocab.len());
                vocab[a.min(b)].as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let cands = (0..ITEMS).map(|_| caption(&mut rng)).collect();
    let refs = (0..ITEMS)
        .map(|_| (0..REFS).map(|_| caption(&mut rng)).collect())
        .collect();
    (cands, refs)
}

fn bench(c: &mut Criterion) {
    let (cands, refs) = synthetic();
    let mut group = c.benchmark_group("cider_d");
    group.sample_size(10);
    group.bench_function("10k_candidates_x5_refs", |b| {
        b.iter(|| cider::score(&cands, &refs).corpus)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
