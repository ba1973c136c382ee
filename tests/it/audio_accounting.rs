//! No silent loss: every frame a capture callback produces is read or counted as an
//! overrun, and every model-rate sample is delivered, dropped (counted) or gated (counted)
//! — exactly — with a stalling source thread (ring overruns) and a slow consumer (queue
//! drops), at 4 sources at once.
//!
//! The "capture callback" is `CaptureProducer::push`, the very code cpal calls; time is
//! simulated (no sleeping). One hour of 48 kHz stereo is run through the capture ring and,
//! at the model rate, through the windower, gate and queue; the whole chain including the
//! rubato resampler (generic code that is compiled unoptimised in a debug build) runs for
//! two and a half simulated minutes with the same identities. Both run in seconds in a debug build.

use std::sync::Arc;
use std::time::Instant;

use soundscribe::audio::ring::capture_ring;
use soundscribe::audio::{
    Pipeline, QueuePolicy, SourceStats, StatsSnapshot, WindowReceivers, WindowSpec,
};
use soundscribe::config::Overflow;

const HOUR: usize = 3_600;

/// Frames per simulated callback: 10 ms.
fn callback_frames(rate: u32) -> usize {
    rate as usize / 100
}

/// One second of interleaved audio, loud or silent.
fn second(rate: u32, channels: usize, source: usize, loud: bool) -> Vec<f32> {
    (0..rate as usize * channels)
        .map(|i| {
            if loud {
                0.3 * (i as f32 * 0.01 * (1 + source) as f32).sin()
            } else {
                0.0
            }
        })
        .collect()
}

/// Quiet for the first 12 s of every minute, so the gate has windows to reject.
fn is_quiet(second: usize) -> bool {
    second % 60 < 12
}

/// The source thread misses 0.8 s every 97 s; the ring holds 0.5 s, so it overruns.
fn is_stalled(second: usize, cb_in_second: usize) -> bool {
    second % 97 == 96 && cb_in_second < 80
}

/// Stage A, one hour: callback → ring → source thread at 48 kHz stereo.
fn capture_hour(source: usize) -> (u64, StatsSnapshot) {
    let rate = 48_000u32;
    let stats = Arc::new(SourceStats::default());
    let (mut producer, mut consumer) = capture_ring::<f32>(rate as usize / 2, 2, stats.clone());
    let loud = second(rate, 2, source, true);
    let cb = callback_frames(rate);
    let mut buf = Vec::new();
    let mut produced = 0u64;
    let mut read = 0u64;
    for s in 0..HOUR {
        for c in 0..100 {
            producer.push(&loud[c * cb * 2..(c + 1) * cb * 2]);
            produced += cb as u64;
            if c % 5 == 4 && !is_stalled(s, c) {
                loop {
                    let n = consumer.read(&mut buf, 1 << 16);
                    if n == 0 {
                        break;
                    }
                    read += n as u64;
                }
            }
        }
    }
    let snap = stats.snapshot();
    assert_eq!(snap.frames_in, produced);
    (read, snap)
}

struct Outcome {
    produced_frames: u64,
    delivered_windows: u64,
    delivered_samples: u64,
    stats: StatsSnapshot,
}

/// The chain from a capture ring at `rate` Hz × `channels` to 16 kHz windows in a
/// 4-window drop-oldest queue with a slow, pausing consumer, for `seconds`.
fn chain(source: usize, rate: u32, channels: u16, seconds: usize) -> Outcome {
    let stats = Arc::new(SourceStats::default());
    let mut rx = WindowReceivers::new();
    let id: soundscribe::audio::SourceId = format!("s{source}").into();
    let tx = rx.add_source(
        id.clone(),
        QueuePolicy::live(4, Overflow::DropOldest),
        stats.clone(),
    );
    let spec = WindowSpec::new(16_000, 10.0, 2.5, Some(-50.0)).unwrap();
    let mut pipeline = Pipeline::new(id, rate, channels, spec, tx).unwrap();
    let ch = usize::from(channels);
    let (mut producer, mut consumer) =
        capture_ring::<f32>(rate as usize / 2, channels, stats.clone());
    let loud = second(rate, ch, source, true);
    let quiet = second(rate, ch, source, false);
    let cb = callback_frames(rate);
    let mut buf = Vec::new();
    let (mut delivered_windows, mut delivered_samples, mut produced_frames) = (0u64, 0u64, 0u64);
    for s in 0..seconds {
        let block = if is_quiet(s) { &quiet } else { &loud };
        for c in 0..100 {
            producer.push(&block[c * cb * ch..(c + 1) * cb * ch]);
            produced_frames += cb as u64;
            if c % 5 != 4 || is_stalled(s, c) {
                continue;
            }
            while consumer.read(&mut buf, 1 << 16) > 0 {
                pipeline.push(&buf).unwrap();
            }
            // A slow engine: one window per 4 s of audio, and a 30 s pause every 100 s.
            let paused = s % 100 >= 70;
            if s % 4 == 0 && c == 99 && !paused {
                if let Ok(w) = rx.recv_deadline(Instant::now()) {
                    delivered_windows += 1;
                    delivered_samples += u64::from(w.new_samples);
                }
            }
        }
    }
    while consumer.read(&mut buf, 1 << 16) > 0 {
        pipeline.push(&buf).unwrap();
    }
    pipeline.finish().unwrap();
    drop(pipeline);
    while let Some(w) = rx.recv() {
        delivered_windows += 1;
        delivered_samples += u64::from(w.new_samples);
    }
    Outcome {
        produced_frames,
        delivered_windows,
        delivered_samples,
        stats: stats.snapshot(),
    }
}

fn check_chain(o: &Outcome, in_rate: u32) {
    let s = &o.stats;
    // Capture: every frame the callback saw was read or counted as an overrun.
    assert_eq!(s.frames_in, o.produced_frames);
    assert_eq!(s.frames_in, s.frames_read + s.frames_overrun);
    assert!(s.frames_overrun > 0, "the stalls must overrun the ring");
    // Resampling: exactly frames_read × 16000 / in_rate, rounded.
    let want = (s.frames_read as f64 * 16_000.0 / f64::from(in_rate)).round() as u64;
    assert_eq!(s.samples_produced, want);
    // Windows: every stream sample delivered, dropped or gated, each counted once.
    assert_eq!(
        o.delivered_samples + s.samples_dropped + s.samples_gated,
        s.samples_produced
    );
    assert_eq!(o.delivered_windows + s.windows_dropped, s.windows_queued);
    assert!(s.windows_dropped > 0, "the slow consumer must cause drops");
    assert!(s.windows_gated > 0, "the quiet stretches must be gated");
}

#[test]
fn an_hour_of_48k_stereo_at_four_sources_loses_nothing_silently() {
    let capture: Vec<_> = (0..4)
        .map(|s| std::thread::spawn(move || capture_hour(s)))
        .collect();
    for t in capture {
        let (read, s) = t.join().unwrap();
        assert_eq!(s.frames_in, HOUR as u64 * 48_000);
        assert_eq!(s.frames_in, read + s.frames_overrun);
        assert!(s.frames_overrun > 0);
    }
    // The same hour at the model rate (16 kHz mono: the resampler passes it through)
    // through pipeline, windower, gate and queue.
    let windows: Vec<_> = (0..4)
        .map(|s| std::thread::spawn(move || chain(s, 16_000, 1, HOUR)))
        .collect();
    for t in windows {
        let o = t.join().unwrap();
        eprintln!("hour at 16 kHz: {:?}", o.stats);
        check_chain(&o, 16_000);
    }
}

#[test]
fn minutes_of_48k_stereo_through_the_resampler_lose_nothing_silently() {
    let threads: Vec<_> = (0..4)
        .map(|s| std::thread::spawn(move || chain(s, 48_000, 2, 150)))
        .collect();
    for t in threads {
        let o = t.join().unwrap();
        eprintln!("150 s at 48 kHz stereo: {:?}", o.stats);
        check_chain(&o, 48_000);
    }
}
