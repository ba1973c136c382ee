//! Device loss for real: capture from PipeWire through cpal, kill the PipeWire session
//! (as a crash or restart would), start it again. The source must notice, retry with
//! backoff, resume, and record the outage as a gap in stream time — not hide it.
//!
//! Same rules as `audio_capture` when PipeWire cannot run: a loud banner, a failure in CI.

use crate::pipewire;

use std::time::{Duration, Instant};

use pipewire::{not_run, PipeWire};
use soundscribe::audio::FrontEnd;
use soundscribe::config::{Config, DeviceSource, SourceConfig};

fn wait_until(what: &str, limit: Duration, ready: impl Fn() -> bool) {
    let until = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < until, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn server_restart_is_a_recorded_gap_then_capture_resumes() {
    let mut pw = match PipeWire::start() {
        Ok(pw) => pw,
        Err(why) => return not_run(&why),
    };
    pw.use_from_this_process();
    let mut config = Config::default();
    config.windowing.queue_windows = 64;
    config.sources = vec![SourceConfig::Device(DeviceSource {
        id: "pw".into(),
        device: Some("pipewire".into()),
        sample_rate: Some(48_000),
        channels: Some(2),
        window_s: Some(1.0),
        hop_s: Some(1.0),
    })];
    let (front, mut rx) = FrontEnd::start(&config, 16_000, false).unwrap();
    let stats = front.sources()[0].stats.clone();
    wait_until("capture starts", Duration::from_secs(15), || {
        stats.snapshot().frames_in > 0
    });
    std::thread::sleep(Duration::from_secs(1));

    pw.stop_server();
    let down = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    pw.start_server().expect("PipeWire restarts");
    wait_until("the source records a gap", Duration::from_secs(30), || {
        stats.snapshot().gaps > 0
    });
    let outage = down.elapsed();
    let resumed_at = stats.snapshot().frames_in;
    wait_until("capture resumes", Duration::from_secs(10), || {
        stats.snapshot().frames_in > resumed_at + 48_000
    });

    front.stop();
    let mut windows = Vec::new();
    while let Some(w) = rx.recv() {
        windows.push(w);
    }
    for (id, _, result) in front.join() {
        result.unwrap_or_else(|e| panic!("source {id}: {e}"));
    }
    let s = stats.snapshot();
    eprintln!("counters after a server restart: {s:?}; outage seen by the test {outage:?}");
    assert_eq!(s.gaps, 1, "{s:?}");
    assert!(s.restarts >= 1, "{s:?}");
    assert_eq!(s.frames_in, s.frames_read + s.frames_overrun, "{s:?}");
    // The gap covers at least the time the server was down, at most the whole episode.
    let gap_s = s.gap_samples as f64 / 16_000.0;
    assert!(
        gap_s >= 2.5 && gap_s <= outage.as_secs_f64() + 1.0,
        "gap {gap_s:.3} s, outage {outage:?}"
    );
    // In stream time the windows tile the audio except at exactly one place, where the
    // clock jumps by the recorded gap.
    let jumps: Vec<u64> = windows
        .windows(2)
        .filter(|p| p[0].end != p[1].start)
        .map(|p| p[1].start.sample - p[0].end.sample)
        .collect();
    assert_eq!(
        jumps,
        vec![s.gap_samples],
        "stream-time jumps between windows"
    );
    let counted: u64 = windows.iter().map(|w| u64::from(w.new_samples)).sum();
    assert_eq!(counted, s.samples_produced, "{s:?}");
}
