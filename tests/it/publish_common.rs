//! Shared pieces of the publishing tests: realistic captions and a small runtime.

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

/// A multi-threaded tokio runtime, as the daemon uses.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
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

/// The publishing loop running on `rt`, as the daemon starts it.
pub struct Service {
    /// The engine's end of the caption channel.
    pub captions: soundscribe::publish::CaptionSender,
    /// Send `()` to shut the loop down.
    pub stop: tokio::sync::oneshot::Sender<()>,
    /// The loop's result.
    pub done: tokio::task::JoinHandle<
        Result<soundscribe::publish::RunSummary, soundscribe::publish::PublishError>,
    >,
}

/// Starts [`soundscribe::publish::run`] with `board` as status provider.
pub fn spawn_service(
    rt: &tokio::runtime::Runtime,
    publisher: soundscribe::publish::Publisher,
    board: std::sync::Arc<soundscribe::publish::StatusBoard>,
    heartbeat: Duration,
) -> Service {
    let (captions, rx) = soundscribe::publish::caption_channel(16);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let done = rt.spawn(soundscribe::publish::run(
        publisher, rx, board, heartbeat, shutdown,
    ));
    Service {
        captions,
        stop,
        done,
    }
}

/// A publisher on a free loopback TCP port.
pub fn bind_loopback(rt: &tokio::runtime::Runtime) -> soundscribe::publish::Publisher {
    rt.block_on(soundscribe::publish::Publisher::bind(
        &["tcp://127.0.0.1:0".to_owned()],
        Duration::from_millis(300),
    ))
    .expect("bind a loopback publisher")
}
