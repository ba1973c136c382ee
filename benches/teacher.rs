//! Full-size seed-1 teacher on CPU (random weights, float32): encoder forward on a 10 s
//! window, and one KV-cached decoder step at 1, 8 and 50 candidates of one clip (the
//! cache holds 10 earlier tokens). `cargo bench --bench teacher`; set
//! `SOUNDSCRIBE_BENCH_THREADS=N` to fix libtorch's intra-op threads (on a loaded machine
//! one thread avoids OpenMP oversubscription).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use soundscribe::model::teacher::{Teacher, TeacherConfig};
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder};
use tch::{nn, Device, Kind, Tensor};

const PREFIX: i64 = 10;

fn bench_teacher(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    if let Some(n) = std::env::var("SOUNDSCRIBE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tch::set_num_threads(n);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let teacher = Teacher::new(vs.root(), &TeacherConfig::release()).expect("build teacher");
    let wave = Tensor::randn([1, 160_000], (Kind::Float, Device::Cpu)) * 0.1;

    let mut group = c.benchmark_group("teacher_cpu");
    group.sample_size(10);
    group.bench_function("encode_10s", |b| {
        b.iter(|| teacher.encode(&wave).expect("encode"))
    });

    let memory = teacher.encode(&wave).expect("encode");
    for n in [1i64, 8, 50] {
        let mut cache = teacher.start(&memory, n, PREFIX + 1).expect("cache");
        let tokens = Tensor::full([n], 2, (Kind::Int64, Device::Cpu));
        for _ in 0..PREFIX {
            let _ = teacher.step(&mut cache, &tokens).expect("step");
        }
        group.bench_with_input(BenchmarkId::new("decoder_step", n), &n, |b, _| {
            b.iter(|| {
                cache.truncate(PREFIX);
                teacher.step(&mut cache, &tokens).expect("step")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_teacher);
criterion_main!(benches);
