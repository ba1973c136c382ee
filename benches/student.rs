//! Per-clip CPU latency of the student against the full-size teacher in one run, same
//! decoding work (random weights, float32): encode one 10 s window, then 20 KV-cached
//! steps for 3 candidates (beam 3's shape). Plus the student's encoder and one decoder
//! step at 1, 8 and 50 candidates, as `benches/teacher.rs` measures the teacher.
//! `cargo bench --bench student`; `SOUNDSCRIBE_BENCH_THREADS=N` fixes libtorch's threads.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use soundscribe::model::student::decoder::StudentDecoderConfig;
use soundscribe::model::student::{Student, StudentConfig};
use soundscribe::model::teacher::{Teacher, TeacherConfig};
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder};
use tch::{nn, Device, Kind, Tensor};

const PREFIX: i64 = 10;
const STEPS: i64 = 20;
const BEAM: i64 = 3;

fn student_config() -> StudentConfig {
    let decoder: StudentDecoderConfig = serde_json::from_value(serde_json::json!({
        "vocab_size": 5000, "decoder_start_token_id": 0, "eos_token_id": 2, "pad_token_id": 1
    }))
    .expect("decoder config");
    StudentConfig {
        encoder: Default::default(),
        decoder,
        embed_dim: 1024,
        max_window_samples: 30 * 44_100,
    }
}

/// Encode + `STEPS` cached steps of `BEAM` rows: the per-clip decoding work.
fn clip<M: AudioEncoder + CaptionDecoder>(m: &M, wave: &Tensor) {
    let memory = m.encode(wave).expect("encode");
    let mut cache = m.start(&memory, BEAM, STEPS).expect("cache");
    let tokens = Tensor::full([BEAM], 2, (Kind::Int64, Device::Cpu));
    for _ in 0..STEPS {
        let _ = m.step(&mut cache, &tokens).expect("step");
    }
}

fn bench_student(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    if let Some(n) = std::env::var("SOUNDSCRIBE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tch::set_num_threads(n);
    }
    let svs = nn::VarStore::new(Device::Cpu);
    let student = Student::new(svs.root(), &student_config(), Device::Cpu).expect("student");
    let tvs = nn::VarStore::new(Device::Cpu);
    let teacher = Teacher::new(tvs.root(), &TeacherConfig::release()).expect("teacher");
    let wave44 = Tensor::randn([1, 441_000], (Kind::Float, Device::Cpu)) * 0.1;
    let wave16 = Tensor::randn([1, 160_000], (Kind::Float, Device::Cpu)) * 0.1;

    let mut group = c.benchmark_group("student_vs_teacher_cpu");
    group.sample_size(10);
    group.bench_function("student_clip_10s", |b| b.iter(|| clip(&student, &wave44)));
    group.bench_function("teacher_clip_10s", |b| b.iter(|| clip(&teacher, &wave16)));
    group.finish();

    let mut group = c.benchmark_group("student_cpu");
    group.sample_size(10);
    group.bench_function("encode_10s", |b| {
        b.iter(|| student.encode(&wave44).expect("encode"))
    });
    let memory = student.encode(&wave44).expect("encode");
    for n in [1i64, 8, 50] {
        let mut cache = student.start(&memory, n, PREFIX + 1).expect("cache");
        let tokens = Tensor::full([n], 2, (Kind::Int64, Device::Cpu));
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

criterion_group!(benches, bench_student);
criterion_main!(benches);
