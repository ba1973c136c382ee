//! The daemon's hand-over latency on CPU: from the moment a finished window is handed to
//! the engine (its source queue) until a SUB socket on loopback TCP holds the caption,
//! for 1, 4 and 8 streams whose windows end at the same moment. The engine thread, its
//! dynamic batcher (`[engine]` defaults: max_batch 8, max_wait_ms 50), the publishing
//! loop and the PUB socket are the daemon's own; the model is the golden teacher
//! fixture (`tests/fixtures/teacher-a`, converted), greedy decoding of at most 6 tokens,
//! 2 s windows, as in `tests/serve_*.rs`. Prints p50/p99 per caption next to criterion's
//! time for the last caption of each round.
//!
//! `cargo bench --bench serve_latency`; under `cargo test --benches` it runs 1 stream once.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use soundscribe::audio::{QueuePolicy, SourceStats, StreamTime, Window, WindowReceivers};
use soundscribe::config::{Config, Overflow};
use soundscribe::engine::captioner::Captioner;
use soundscribe::engine::run::EngineRun;
use soundscribe::publish::{Message, StatusBoard, StatusProvider, Subscriber};
use soundscribe_offline::convert::teacher::{convert_teacher, TeacherSources};

const STREAMS: [usize; 3] = [1, 4, 8];
const WINDOW_S: f64 = 2.0;

/// The serve tests' settings; the publishing endpoint gets its port from the OS.
const CONFIG: &str = r#"
[decoding]
strategy = "greedy"
max_length = 6
min_length = 1

[publishing]
endpoints = ["tcp://127.0.0.1:0"]
snapshot_endpoints = []
heartbeat_s = 3600.0
"#;

/// A 2 s window of `source` that ended just now: a tone with a noise burst.
fn window(source: &str, seq: u64, samples: &[f32], rate: u32) -> Window {
    let n = samples.len() as u64;
    Window {
        source: source.into(),
        seq,
        start: StreamTime {
            sample: seq * n,
            rate,
        },
        end: StreamTime {
            sample: (seq + 1) * n,
            rate,
        },
        wall: SystemTime::now() - Duration::from_secs_f64(WINDOW_S),
        rms_dbfs: -12.0,
        gated: false,
        new_samples: n as u32,
        samples: samples.to_vec(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn bench_serve_latency(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let mut config = Config::from_toml(CONFIG, Path::new("serve_latency.rs")).expect("config");
    // SOUNDSCRIBE_BENCH_MODEL=DIR benches a real model directory (e.g. models/default,
    // greedy up to 30 tokens) instead of the golden teacher fixture.
    let chosen = std::env::var_os("SOUNDSCRIBE_BENCH_MODEL").map(std::path::PathBuf::from);
    let model = tempfile::tempdir().expect("tempdir");
    let model_dir = match &chosen {
        Some(dir) => {
            config.decoding.max_length = 30;
            dir.clone()
        }
        None => {
            let fixture = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join("tests/fixtures/teacher-a");
            convert_teacher(
                &TeacherSources {
                    checkpoint: fixture.join("pytorch_model.bin"),
                    config: fixture.join("config.json"),
                    conformer_config: fixture.join("conformer_config.json"),
                    beats: fixture.join("beats.pt"),
                },
                model.path(),
            )
            .expect("convert the golden teacher (tests/fixtures/teacher-a)");
            model.path().to_owned()
        }
    };
    let rate = soundscribe::model::checkpoint::ModelSpec::read(&model_dir)
        .expect("model.json")
        .sample_rate as u32;

    let status: Arc<dyn StatusProvider> = Arc::new(StatusBoard::new());
    let started = soundscribe::publish::start(&config.publishing, status).expect("publisher");
    let endpoint = started.endpoints[0].clone();
    let mut sub = Subscriber::connect(&endpoint, &["caption.".to_owned()]).expect("subscriber");

    // Eight source queues, as the front end makes them; the engine owns the receiving end.
    let mut receivers = WindowReceivers::new();
    let ids: Vec<String> = (0..STREAMS[2]).map(|i| format!("s{i}")).collect();
    let senders: Vec<_> = ids
        .iter()
        .map(|id| {
            receivers.add_source(
                id.as_str().into(),
                QueuePolicy::live(16, Overflow::DropOldest),
                Arc::new(SourceStats::default()),
            )
        })
        .collect();
    let captions = started.captions.clone();
    let (decoding, engine_cfg, dir) = (
        config.decoding.clone(),
        config.engine.clone(),
        model_dir.clone(),
    );
    let (loaded_tx, loaded) = std::sync::mpsc::channel::<()>();
    let engine = std::thread::spawn(move || {
        let captioner =
            Captioner::load(&dir, tch::Device::Cpu, &decoding, None).expect("captioner");
        let _ = loaded_tx.send(());
        let run = EngineRun {
            captioner: &captioner,
            batching: &engine_cfg,
            seed: decoding.seed,
            alternatives: decoding.rerank.alternatives,
            source_stats: Default::default(),
            status: None,
            heartbeat: &|| {},
        };
        run.run(&mut receivers, &mut |caption| {
            let _ = captions.send_blocking(caption);
        })
        .expect("engine");
    });

    let samples: Vec<f32> = (0..(WINDOW_S * f64::from(rate)) as usize)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let burst = if t.fract() < 0.2 {
                0.1 * ((i * 7919 % 211) as f32 / 105.0 - 1.0)
            } else {
                0.0
            };
            0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin() + burst
        })
        .collect();
    let mut seq = 0u64;
    // Warm up: until the subscription is live (a caption published before it reached the
    // publisher is lost, so windows are resent) and the model has run once.
    loaded
        .recv()
        .expect("engine thread failed to load the model");
    let t0 = Instant::now();
    loop {
        senders[0]
            .send(window(&ids[0], seq, &samples, rate))
            .expect("engine gone");
        seq += 1;
        let r = sub.recv_timeout(Duration::from_secs(2));
        if matches!(r, Ok(Some(_))) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no caption arrives"
        );
    }
    // One round: a window per stream handed over at once; each caption's latency.
    let mut round = |streams: usize, latencies: &mut Vec<Duration>| -> Duration {
        let t0 = Instant::now();
        for (id, tx) in ids.iter().zip(&senders).take(streams) {
            tx.send(window(id, seq, &samples, rate))
                .expect("engine gone");
        }
        // This round's windows start here; a late caption of an earlier round is skipped.
        let start_s = seq as f64 * WINDOW_S;
        seq += 1;
        let mut got = 0;
        while got < streams {
            let received = sub
                .recv_timeout(Duration::from_secs(120))
                .expect("recv")
                .expect("no caption within 120 s");
            if let Ok(Message::Caption(c)) = received.message {
                if (c.window.start_s - start_s).abs() < 1e-6 {
                    latencies.push(t0.elapsed());
                    got += 1;
                }
            }
        }
        t0.elapsed()
    };
    let mut scratch = Vec::new();
    round(1, &mut scratch);

    let mut group = c.benchmark_group("serve_window_to_socket_cpu");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(5));
    let streams: &[usize] = if full { &STREAMS } else { &STREAMS[..1] };
    let mut report = Vec::new();
    for &n in streams {
        let mut latencies = Vec::new();
        group.bench_with_input(BenchmarkId::new("streams", n), &n, |b, &n| {
            b.iter_custom(|iters| (0..iters).map(|_| round(n, &mut latencies)).sum())
        });
        latencies.sort();
        if !latencies.is_empty() {
            report.push((
                n,
                latencies.len(),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
            ));
        }
    }
    group.finish();
    for (n, count, p50, p99) in report {
        println!(
            "serve latency, {n} stream(s): p50 {:.1} ms, p99 {:.1} ms over {count} captions",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }

    drop(senders);
    engine.join().expect("engine thread");
    drop(started.captions);
    started.stop.stop();
    let _ = started.thread.join();
}

criterion_group!(benches, bench_serve_latency);
criterion_main!(benches);
