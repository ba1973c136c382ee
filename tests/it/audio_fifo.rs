//! A raw-PCM source on a named pipe outlives its writers: each writer that leaves is a
//! counted, logged reopening, and the next writer's audio continues the same source.
//! (Before, the source ended at the first writer's end: as the only source the daemon
//! exited 0, beside others it stopped silently.)

use std::io::Write;
use std::time::{Duration, Instant};

use soundscribe::audio::FrontEnd;
use soundscribe::config::{Config, PcmFormat, PcmSource, SourceConfig};

const RATE: u32 = 16_000;

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo failed");
}

/// One writer: opens the pipe (waiting for the reader), writes `seconds` of a tone, leaves.
fn write_once(path: &std::path::Path, seconds: f64) {
    let n = (seconds * f64::from(RATE)) as usize;
    let bytes: Vec<u8> = (0..n)
        .map(|i| ((i as f64 * 0.05).sin() * 8000.0) as i16)
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all(&bytes).unwrap();
}

#[test]
fn fifo_source_survives_its_writers_leaving() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pcm.fifo");
    mkfifo(&fifo);
    let mut config = Config::default();
    config.windowing.queue_windows = 64;
    config.sources = vec![SourceConfig::Pcm(PcmSource {
        id: "pipe".into(),
        path: fifo.clone(),
        format: PcmFormat::S16le,
        sample_rate: RATE,
        channels: 1,
        window_s: Some(1.0),
        hop_s: Some(1.0),
    })];
    let (front, mut rx) = FrontEnd::start(&config, RATE, false).unwrap();
    let stats = front.sources()[0].stats.clone();

    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                write_once(&fifo, 2.0);
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    let mut windows = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    while windows.len() < 6 && Instant::now() < until {
        if let Ok(w) = rx.recv_deadline(Instant::now() + Duration::from_millis(200)) {
            windows.push(w);
        }
    }
    writer.join().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while stats.snapshot().restarts < 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The source is still running after three writers came and went.
    assert!(
        !front.sources()[0].is_finished(),
        "the source ended when its writer left"
    );
    front.stop();
    for (id, _, result) in front.join() {
        result.unwrap_or_else(|e| panic!("source {id}: {e}"));
    }
    while let Ok(w) = rx.recv_deadline(Instant::now() + Duration::from_millis(200)) {
        windows.push(w);
    }
    assert_eq!(
        windows.len(),
        6,
        "three writers of 2 s each make six 1 s windows"
    );
    let seqs: Vec<u64> = windows.iter().map(|w| w.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5], "one continuous source");
    assert_eq!(
        stats.snapshot().restarts,
        3,
        "each writer leaving is counted"
    );
}
