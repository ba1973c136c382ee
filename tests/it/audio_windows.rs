//! Window boundaries and timestamps: exact for odd rates (44.1k, 22.05k, 8k) and odd hops,
//! both in the windower itself and end to end through resampling to the model rate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use soundscribe::audio::{
    Pipeline, QueuePolicy, SourceStats, Window, WindowReceivers, WindowSpec, Windower,
};
use soundscribe::config::Overflow;

fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

#[test]
fn windower_boundaries_are_exact_on_the_hop_grid() {
    let shapes = [
        (10.0, 2.5),
        (1.0, 0.3333),
        (0.77, 0.77),
        (3.1, 1.7),
        (0.5, 0.0101),
        (2.0, 1.999_999_9),
    ];
    for rate in [44_100u32, 22_050, 8_000, 16_000, 48_000, 11_025] {
        for (window_s, hop_s) in shapes {
            let spec = WindowSpec::new(rate, window_s, hop_s, None).unwrap();
            let mut w = Windower::new(spec, "t".into(), wall0());
            let total = (f64::from(rate) * 23.456) as usize;
            // A ramp: each sample's value is its index, so content checks are exact.
            let ramp: Vec<f32> = (0..total).map(|i| i as f32).collect();
            let mut got: Vec<Window> = Vec::new();
            for piece in ramp.chunks(333) {
                w.push(piece, &mut |x| got.push(x));
            }
            w.finish(&mut |x| got.push(x));
            let full = (window_s * f64::from(rate)).round() as u64;
            let ctx = format!("{rate} Hz, window {window_s} s, hop {hop_s} s");
            assert!(!got.is_empty(), "{ctx}");
            let mut covered = 0u64;
            for (k, win) in got.iter().enumerate() {
                let ideal = k as f64 * hop_s * f64::from(rate);
                assert!(
                    (win.start.sample as f64 - ideal).abs() <= 0.5 + 1e-6,
                    "{ctx}: window {k} starts at {} not {ideal}",
                    win.start.sample
                );
                assert_eq!(win.seq, k as u64, "{ctx}");
                let len = win.end.sample - win.start.sample;
                if k + 1 < got.len() {
                    assert!(
                        len == full || len == full + 1,
                        "{ctx}: window {k} has {len}"
                    );
                } else {
                    assert_eq!(
                        win.end.sample, total as u64,
                        "{ctx}: last window ends at the end"
                    );
                }
                assert_eq!(win.samples.len() as u64, len, "{ctx}");
                assert_eq!(win.samples[0], win.start.sample as f32, "{ctx}");
                assert_eq!(
                    *win.samples.last().unwrap(),
                    (win.end.sample - 1) as f32,
                    "{ctx}"
                );
                let want_wall =
                    wall0() + Duration::from_secs_f64(win.start.sample as f64 / f64::from(rate));
                let err = win
                    .wall
                    .duration_since(want_wall)
                    .unwrap_or_else(|e| e.duration());
                assert!(
                    err < Duration::from_micros(1),
                    "{ctx}: wall clock off by {err:?}"
                );
                assert!(win.start.sample <= covered.max(win.start.sample), "{ctx}");
                covered = covered.max(win.end.sample);
            }
            let counted: u64 = got.iter().map(|x| u64::from(x.new_samples)).sum();
            assert_eq!(
                counted, total as u64,
                "{ctx}: every sample in exactly one window's new part"
            );
        }
    }
}

#[test]
fn no_drift_after_a_day_of_hops() {
    // Window k's start is computed from k, not accumulated: after 34_560 hops of 2.5 s at
    // 44.1 kHz (a day) it is still exactly k · 110_250.
    let spec = WindowSpec::new(44_100, 10.0, 2.5, None).unwrap();
    assert_eq!(spec.offset(34_560), 34_560 * 110_250);
    let spec = WindowSpec::new(22_050, 1.0, 1.0 / 3.0, None).unwrap();
    let k = 3 * 86_400u64;
    assert!((spec.offset(k) as f64 - 86_400.0 * 22_050.0).abs() <= 1.0);
}

fn run_pipeline(rate: u32, input: &[f32], window_s: f64, hop_s: f64) -> Vec<Window> {
    let stats = Arc::new(SourceStats::default());
    let mut rx = WindowReceivers::new();
    let policy = QueuePolicy {
        capacity: 4,
        overflow: Overflow::DropOldest,
        wait_when_full: false,
        forward_gated: false,
    };
    let tx = rx.add_source("s".into(), policy, stats.clone());
    let spec = WindowSpec::new(16_000, window_s, hop_s, None).unwrap();
    let mut p = Pipeline::new("s".into(), rate, 1, spec, tx).unwrap();
    let mut got = Vec::new();
    for piece in input.chunks(1_001) {
        p.push(piece).unwrap();
        while let Ok(w) = rx.recv_deadline(std::time::Instant::now()) {
            got.push(w);
        }
    }
    p.finish().unwrap();
    drop(p);
    while let Some(w) = rx.recv() {
        got.push(w);
    }
    assert_eq!(stats.snapshot().windows_dropped, 0);
    got
}

#[test]
fn clicks_land_at_their_stream_time_after_resampling() {
    let clicks = [0.5, 1.234_567, 2.0, 3.3, 4.75, 5.999];
    for rate in [44_100u32, 22_050, 8_000, 48_000] {
        let mut input = vec![0.0f32; (f64::from(rate) * 6.5) as usize];
        for t in clicks {
            input[(t * f64::from(rate)).round() as usize] = 1.0;
        }
        let windows = run_pipeline(rate, &input, 1.3, 0.37);
        let mut seen = 0;
        for w in &windows {
            for t in clicks {
                let at = (t * 16_000.0).round() as i64 - w.start.sample as i64;
                // Clicks well inside the window (not cut by its edges).
                if at < 20 || at + 20 >= w.samples.len() as i64 {
                    continue;
                }
                let lo = (at - 20) as usize;
                let peak = lo
                    + w.samples[lo..lo + 41]
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                        .unwrap()
                        .0;
                assert!(
                    (peak as i64 - at).abs() <= 1,
                    "{rate} Hz: click at {t} s found at sample {peak} of window {} (want {at})",
                    w.seq
                );
                seen += 1;
            }
        }
        assert!(
            seen >= clicks.len() * 2,
            "{rate} Hz: only {seen} click sightings"
        );
    }
}
