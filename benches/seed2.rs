//! Full-size seed-2 student (EfficientNet-B2 + 2-layer transformer) on CPU, random weights,
//! float32: encoder forward on a 10 s window and one KV-cached decoder step for the 3 rows
//! of a beam-3 search (cache holding 10 earlier tokens). A 10 s beam-3 caption of at most
//! 20 tokens costs about `encode_10s + 20 × decoder_step/3`; `caption_10s_beam3` measures
//! it end to end (the authors' beam search, which runs all 20 steps on random weights). `cargo bench --bench seed2`;
//! `SOUNDSCRIBE_BENCH_THREADS=N` fixes libtorch's intra-op threads.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use soundscribe::model::seed2::{Seed2Config, Seed2Student};
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder};
use soundscribe_offline::dump::seed2::{authors_beam_search, BEAM, MAX_LEN};
use tch::{nn, Device, Kind, Tensor};

const PREFIX: i64 = 10;

fn bench_seed2(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    if let Some(n) = std::env::var("SOUNDSCRIBE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tch::set_num_threads(n);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let student = Seed2Student::new(vs.root(), &Seed2Config::default()).expect("build student");
    let wave = Tensor::randn([1, 160_000], (Kind::Float, Device::Cpu)) * 0.1;

    let mut group = c.benchmark_group("seed2_cpu");
    group.sample_size(10);
    group.bench_function("encode_10s", |b| {
        b.iter(|| student.encode(&wave).expect("encode"))
    });

    group.bench_function("caption_10s_beam3", |b| {
        b.iter(|| {
            let memory = student.encode(&wave).expect("encode");
            authors_beam_search(&student, &memory, BEAM, MAX_LEN).expect("beam")
        })
    });

    let memory = student.encode(&wave).expect("encode");
    for n in [1i64, 3] {
        let mut cache = student.start(&memory, n, PREFIX + 1).expect("cache");
        let tokens = Tensor::full([n], 1, (Kind::Int64, Device::Cpu));
        for _ in 0..PREFIX {
            let _ = student.step(&mut cache, &tokens).expect("step");
        }
        group.bench_with_input(BenchmarkId::new("decoder_step", n), &n, |b, _| {
            b.iter(|| {
                cache.truncate(PREFIX);
                student.step(&mut cache, &tokens).expect("step")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_seed2);
criterion_main!(benches);
