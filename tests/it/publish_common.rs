//! Shared pieces of the publishing tests: realistic captions, the publisher thread.

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use soundscribe::publish::{Alternative, Caption, CaptionFlags, Latency, WindowSpan};

/// Window `seq` of a 10 s window / 2.5 s hop stream that started at `t0`.
pub fn caption(source: &str, seq: u64, t0: SystemTime) -> Caption {
    let start_s = seq as f64 * 2.5;
    let end_s = start_s + 10.0;
    Caption {
        source: source.to_owned(),
        seq,
        window: WindowSpan {
            start_s,
            end_s,
            start_utc: t0 + Duration::from_secs_f64(start_s),
            end_utc: t0 + Duration::from_secs_f64(end_s),
        },
        text: format!("window {seq} of {source}: a dog barks while cars pass by"),
        score: 0.5 - seq as f64 * 0.001,
        alternatives: vec![Alternative {
            text: "a dog barks".to_owned(),
            score: 0.31,
            log_likelihood: Some(-1.5),
            similarity: Some(0.42),
        }],
        model: "test-model".to_owned(),
        latency_ms: Latency {
            queue: 1.0,
            features: 2.0,
            encoder: 20.0,
            decode: 40.0,
            rerank: 3.0,
            total: 66.0,
        },
        flags: CaptionFlags {
            silence_gated: seq % 7 == 3,
            dropped_before: u64::from(seq % 5 == 4),
        },
    }
}

/// The project's Python (pyzmq and jsonschema come from `make setup`).
pub fn python() -> std::path::PathBuf {
    let py = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} missing: run `make setup` (scripts/setup-python-test-deps.sh)",
        py.display()
    );
    py
}

/// The directory holding caption-schema.json and status-schema.json.
pub fn schema_dir() -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("docs")
}

/// Now, truncated to the microseconds the wire format carries.
pub fn now_us() -> SystemTime {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970");
    SystemTime::UNIX_EPOCH + Duration::from_micros(since.as_micros() as u64)
}

/// The publishing loop on a thread of its own, as the daemon starts it.
pub struct Service {
    /// The engine's end of the caption channel.
    pub captions: soundscribe::publish::CaptionSender,
    /// Stops the loop (dropping it does too).
    pub stop: soundscribe::publish::StopHandle,
    /// Stamped by the loop every turn.
    pub beat: soundscribe::publish::Beat,
    /// The loop's thread and result.
    pub done: std::thread::JoinHandle<
        Result<soundscribe::publish::RunSummary, soundscribe::publish::PublishError>,
    >,
}

/// Starts [`soundscribe::publish::run`] with `board` as status provider (no snapshot
/// endpoint).
pub fn spawn_service(
    publisher: soundscribe::publish::Publisher,
    board: std::sync::Arc<soundscribe::publish::StatusBoard>,
    heartbeat: Duration,
) -> Service {
    let (captions, rx) = soundscribe::publish::caption_channel(16);
    let (stop, stopped) = soundscribe::publish::StopSignal::new();
    let beat = soundscribe::publish::Beat::new();
    let loop_beat = beat.clone();
    let done = std::thread::spawn(move || {
        soundscribe::publish::run(publisher, None, rx, board, heartbeat, stopped, &loop_beat)
    });
    Service {
        captions,
        stop,
        beat,
        done,
    }
}

/// A publisher on a free loopback TCP port.
pub fn bind_loopback() -> soundscribe::publish::Publisher {
    soundscribe::publish::Publisher::bind(
        &["tcp://127.0.0.1:0".to_owned()],
        Duration::from_millis(300),
    )
    .expect("bind a loopback publisher")
}

/// Connects to `endpoint` (everything) and waits for the first message that is a status
/// heartbeat, so that what is published after that reaches it.
pub fn live_subscriber(endpoint: &str) -> soundscribe::publish::Subscriber {
    use soundscribe::publish::{Message, Subscriber};
    let mut sub = Subscriber::connect(endpoint, &[String::new()]).expect("connect");
    while !matches!(sub.recv().expect("recv").message, Ok(Message::Status(_))) {}
    sub
}
