//! Caption latency and throughput of the full-size seed-1 teacher (random weights,
//! float32): one 10 s clip through encoder + 50 sampled candidates (max length 30) +
//! hybrid rerank with all-mpnet-base-v2 (768-d, the teacher's audio-embedding width), and
//! the same at batch 8. `cargo bench --bench caption`; `SOUNDSCRIBE_BENCH_DEVICE=cuda`
//! runs it on a GPU, `SOUNDSCRIBE_BENCH_THREADS=N` fixes libtorch's CPU threads.
//! Under `cargo test` (no `--bench`) it runs batch 1 once with 2 candidates of 4 tokens,
//! as a smoke test.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use soundscribe::config::{DecodingConfig, ModelConfig};
use soundscribe::engine::captioner::Captioner;
use soundscribe::model::checkpoint::{ModelKind, ModelSpec, FORMAT_VERSION};
use soundscribe::model::teacher::{Teacher, TeacherConfig};
use tch::nn;

fn bench_caption(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    if let Some(n) = std::env::var("SOUNDSCRIBE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tch::set_num_threads(n);
    }
    let device_name = std::env::var("SOUNDSCRIBE_BENCH_DEVICE").unwrap_or_else(|_| "cpu".into());
    let device = soundscribe::engine::device::select(&ModelConfig {
        device: device_name.clone(),
        ..Default::default()
    })
    .expect("device");

    // A model directory holding a random full-size teacher.
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = TeacherConfig::release();
    let vs = nn::VarStore::new(tch::Device::Cpu);
    let _teacher = Teacher::new(vs.root(), &cfg).expect("teacher");
    vs.save(dir.path().join("model.safetensors")).expect("save");
    ModelSpec {
        format_version: FORMAT_VERSION,
        sample_rate: 16_000,
        min_window_samples: cfg.min_window_samples(),
        max_window_samples: cfg.max_window_samples(),
        tokenizer: "tokenizer.json".into(),
        source: Default::default(),
        model: ModelKind::Teacher(cfg),
    }
    .write(dir.path())
    .expect("model.json");

    let mut decoding = DecodingConfig::default();
    if !full {
        decoding.num_candidates = 2;
        decoding.max_length = 4;
    }
    // all-mpnet-base-v2 from `make setup`; where it is absent (a GPU box reached without
    // it) the rerank uses the log-likelihood term alone, and the group name says so.
    let embedder = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("assets/text/all-mpnet-base-v2");
    let embedder = embedder
        .join("model.safetensors")
        .exists()
        .then_some(embedder);
    let captioner =
        Captioner::load(dir.path(), device, &decoding, embedder.as_deref()).expect("captioner");
    let clip: Vec<f32> = (0..160_000)
        .map(|i| 0.1 * ((i as f32) * 0.05).sin())
        .collect();

    let rerank = if embedder.is_some() {
        "rerank_mpnet"
    } else {
        "rerank_llh"
    };
    let mut group = c.benchmark_group(format!("caption_{device_name}_{rerank}"));
    group.sample_size(10);
    let batches: &[usize] = if full { &[1, 8] } else { &[1] };
    for &batch in batches {
        let windows: Vec<&[f32]> = (0..batch).map(|_| clip.as_slice()).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("10s_50cand", batch), &batch, |b, _| {
            b.iter(|| captioner.caption(&windows, 1).expect("caption"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_caption);
criterion_main!(benches);
