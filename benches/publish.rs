//! Publishing costs: encoding and decoding one caption, and the latency from
//! `publish_caption` to a subscriber holding the decoded caption over loopback TCP, with
//! 1, 4 and 8 subscribers. Run: `cargo bench --bench publish`.

use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use soundscribe::publish::{
    schema, Alternative, Caption, CaptionFlags, Latency, Message, Publisher, StatusBoard,
    StatusProvider, Subscriber, WindowSpan,
};

fn caption(seq: u64) -> Caption {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    Caption {
        source: "mic".to_owned(),
        seq,
        window: WindowSpan {
            start_s: 2.5 * seq as f64,
            end_s: 2.5 * seq as f64 + 10.0,
            start_utc: t0,
            end_utc: t0 + Duration::from_secs(10),
        },
        text: "a dog barks while cars pass by on a wet road".to_owned(),
        score: 0.42,
        alternatives: (0..3)
            .map(|i| Alternative {
                text: format!("alternative caption number {i} for this window"),
                score: 0.4 - f64::from(i) * 0.01,
                log_likelihood: Some(-1.2),
                similarity: Some(0.55),
            })
            .collect(),
        model: "student-effb2".to_owned(),
        latency_ms: Latency {
            queue: 1.0,
            features: 2.0,
            encoder: 30.0,
            decode: 50.0,
            rerank: 5.0,
            total: 88.0,
        },
        flags: CaptionFlags::default(),
    }
}

fn codec(c: &mut Criterion) {
    let cap = caption(7);
    let encoded = schema::encode_caption(&cap).expect("encode");
    eprintln!("caption payload: {} bytes", encoded.payload.len());
    c.bench_function("encode_caption", |b| {
        b.iter(|| schema::encode_caption(std::hint::black_box(&cap)))
    });
    c.bench_function("decode_caption", |b| {
        b.iter(|| schema::decode(b"caption.mic", std::hint::black_box(&encoded.payload)))
    });
}

fn latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish_to_decoded");
    for subscribers in [1usize, 4, 8] {
        let endpoints = ["tcp://127.0.0.1:0".to_owned()];
        let mut publisher = Publisher::bind(&endpoints, Duration::from_millis(100)).expect("bind");
        let endpoint = publisher.endpoints()[0].clone();
        let mut subs: Vec<Subscriber> = (0..subscribers)
            .map(|_| Subscriber::connect(&endpoint, &[String::new()]).expect("connect"))
            .collect();
        // Heartbeats until every subscription is live.
        let status = StatusBoard::new().snapshot();
        for sub in &mut subs {
            loop {
                publisher.publish_status(&status).expect("status");
                let got = sub.recv_timeout(Duration::from_millis(20));
                if let Ok(Some(r)) = got {
                    if matches!(r.message, Ok(Message::Status(_))) {
                        break;
                    }
                }
            }
        }
        // Drain heartbeats still queued.
        for sub in &mut subs {
            while let Ok(Some(_)) = sub.recv_timeout(Duration::from_millis(50)) {}
        }
        let mut seq = 0;
        group.bench_function(format!("{subscribers}_subscribers"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    seq += 1;
                    let start = Instant::now();
                    publisher.publish_caption(&caption(seq)).expect("send");
                    // Time until the last subscriber has it decoded.
                    for sub in &mut subs {
                        let r = sub.recv().expect("recv");
                        assert!(r.message.is_ok());
                    }
                    total += start.elapsed();
                }
                total
            })
        });
        for sub in subs {
            sub.close();
        }
        publisher.close();
    }
    group.finish();
}

criterion_group!(benches, codec, latency);
criterion_main!(benches);
