//! Throughput of the audio front end's processing path on one core: interleaved frames in,
//! 16 kHz windows out (downmix → rubato FFT resample → window + gate → queue).
//!
//! `cargo bench --bench audio`; the README lists the numbers.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use soundscribe::audio::{
    MonoResampler, Pipeline, QueuePolicy, SourceStats, WindowReceivers, WindowSpec, Windower,
};
use soundscribe::config::Overflow;

/// Ten seconds of interleaved audio.
fn input(rate: u32, channels: usize) -> Vec<f32> {
    (0..rate as usize * 10 * channels)
        .map(|i| 0.3 * (i as f32 * 0.013).sin())
        .collect()
}

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("resample+window");
    for (rate, channels) in [(48_000u32, 2u16), (44_100, 2), (16_000, 1)] {
        let audio = input(rate, usize::from(channels));
        let frames = audio.len() / usize::from(channels);
        group.throughput(Throughput::Elements(frames as u64));
        group.bench_function(format!("{rate}Hz_{channels}ch_to_16k_frames"), |b| {
            let stats = Arc::new(SourceStats::default());
            let mut rx = WindowReceivers::new();
            let tx = rx.add_source(
                "b".into(),
                QueuePolicy::live(64, Overflow::DropOldest),
                stats,
            );
            let spec = WindowSpec::new(16_000, 10.0, 2.5, Some(-60.0)).unwrap();
            let mut p = Pipeline::new("b".into(), rate, channels, spec, tx).unwrap();
            b.iter(|| {
                // 10 ms callbacks' worth at a time, as a device delivers.
                for chunk in audio.chunks(rate as usize / 100 * usize::from(channels)) {
                    p.push(black_box(chunk)).unwrap();
                }
                while let Ok(w) = rx.recv_deadline(Instant::now()) {
                    black_box(w);
                }
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("stages");
    let mono = input(48_000, 1);
    group.throughput(Throughput::Elements(mono.len() as u64));
    group.bench_function("resample_48k_to_16k_frames", |b| {
        let mut r = MonoResampler::new(48_000, 16_000).unwrap();
        let mut out = Vec::with_capacity(mono.len());
        b.iter(|| {
            out.clear();
            for chunk in mono.chunks(480) {
                r.process(black_box(chunk), &mut out);
            }
            black_box(out.len());
        });
    });
    let at16k = input(16_000, 1);
    group.throughput(Throughput::Elements(at16k.len() as u64));
    group.bench_function("window_16k_10s_hop_2.5s_samples", |b| {
        let spec = WindowSpec::new(16_000, 10.0, 2.5, Some(-60.0)).unwrap();
        let mut w = Windower::new(spec, "b".into(), std::time::SystemTime::now());
        b.iter(|| {
            for chunk in at16k.chunks(160) {
                w.push(black_box(chunk), &mut |x| {
                    black_box(x);
                });
            }
        });
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
