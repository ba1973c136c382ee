//! `soundscribe serve` end to end: a WAV file played in real time, the golden teacher
//! (converted from the seed's release files), ZeroMQ on loopback, and a real pyzmq
//! subscriber that validates every payload against `docs/*-schema.json`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use soundscribe_offline::convert::teacher::convert_teacher;

use crate::common;
use crate::publish_common;
use crate::serve_common;

use publish_common::python;
use serve_common::{free_port, serve_config, write_wav};

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    endpoint: String,
}

fn setup(seconds: f64) -> Setup {
    setup_with(seconds, "")
}

fn setup_with(seconds: f64, publishing_extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    convert_teacher(&common::sources(&common::fixture_dir()), &model).unwrap();
    let wav = dir.path().join("clip.wav");
    write_wav(&wav, seconds, 440.0);
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        serve_config(&[("clip", &wav)], &model, &endpoint, publishing_extra),
    )
    .unwrap();
    Setup {
        dir,
        config,
        endpoint,
    }
}

fn serve(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["--log-format", "json", "serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn subscriber(endpoint: &str, captions: usize, timeout_s: f64) -> Child {
    Command::new(python())
        .arg(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join("tests/python/pyzmq_subscriber.py"),
        )
        .args([
            "--endpoint",
            endpoint,
            "--captions",
            &captions.to_string(),
            "--timeout",
            &timeout_s.to_string(),
        ])
        .arg("--schema-dir")
        .arg(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("docs"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn summary(child: Child) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().last().unwrap_or("{}");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The `published` count of the daemon's final log line, and its exit status.
fn finish(mut daemon: Child, deadline: Duration) -> (std::process::ExitStatus, Vec<String>) {
    let stderr = daemon.stderr.take().unwrap();
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    let t0 = Instant::now();
    loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            return (status, lines);
        }
        assert!(t0.elapsed() < deadline, "daemon did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn published(lines: &[String]) -> u64 {
    let last = lines
        .iter()
        .rev()
        .find(|l| l.contains("Stopped."))
        .unwrap_or_else(|| panic!("no final log line: {lines:#?}"));
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    v["published"].as_u64().unwrap_or_else(|| panic!("{last}"))
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn check_captions(captions: &[serde_json::Value]) {
    for (i, c) in captions.iter().enumerate() {
        assert_eq!(c["source"], "clip");
        assert_eq!(c["model"], "model");
        let start = c["window"]["start_s"].as_f64().unwrap();
        let end = c["window"]["end_s"].as_f64().unwrap();
        // Windows sit on the 1 s hop grid of the file and are 2 s long (the last may be shorter).
        assert!((start - start.round()).abs() < 1e-9, "{c}");
        assert!(end - start <= 2.0 + 1e-9 && end > start, "{c}");
        if i > 0 {
            assert_eq!(
                c["seq"].as_u64().unwrap(),
                captions[i - 1]["seq"].as_u64().unwrap() + 1,
                "no gaps"
            );
            let prev = captions[i - 1]["window"]["start_s"].as_f64().unwrap();
            assert!(
                (start - prev - 1.0).abs() < 1e-9,
                "hop of 1 s: {prev} → {start}"
            );
        }
        assert!(!c["text"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_file_played_in_real_time_is_captioned_and_published_until_it_ends() {
    let s = setup(5.0);
    let daemon = serve(&s.config);
    let sub = subscriber(&s.endpoint, 3, 60.0);
    let (status, lines) = finish(daemon, Duration::from_secs(120));
    assert!(status.success(), "{lines:#?}");
    let summary = summary(sub);
    assert_eq!(summary["errors"], serde_json::json!([]), "{summary}");
    let captions = summary["captions"].as_array().unwrap();
    assert!(captions.len() >= 3, "{summary}");
    check_captions(captions);
    // The file is 5 s: windows start at 0, 1, 2, 3 (and a 1 s tail at 4).
    assert!(published(&lines) >= 4);
    drop(s.dir);
}

#[test]
fn sigterm_mid_stream_publishes_every_accepted_window_before_exit() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let s = setup_with(60.0, &format!("metrics_endpoint = \"{metrics}\""));
    let daemon = serve(&s.config);
    let sub = subscriber(&s.endpoint, 1000, 12.0);
    std::thread::sleep(Duration::from_secs(6));
    // The operator's view while it runs: Prometheus counters and a healthy engine.
    let text = http_get(&metrics, "/metrics");
    assert!(text.contains(" 200 "), "{text}");
    assert!(
        text.contains("soundscribe_audio_windows_queued_total{source=\"clip\"}"),
        "{text}"
    );
    assert!(
        text.contains("soundscribe_engine_captions_total{source=\"clip\"}"),
        "{text}"
    );
    assert!(http_get(&metrics, "/healthz").contains(" 200 "));
    let pid = daemon.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (status, lines) = finish(daemon, Duration::from_secs(30));
    assert!(
        status.success(),
        "exit after SIGTERM: {status:?} {lines:#?}"
    );
    let n = published(&lines);
    let summary = summary(sub);
    let captions = summary["captions"].as_array().unwrap();
    assert!(n >= 2, "{lines:#?}");
    // Every caption the daemon accepted reached the subscriber (whose subscription was
    // live before the first one), in order and without gaps.
    assert_eq!(captions.len() as u64, n, "{summary}");
    check_captions(captions);
    assert!(n < 50, "the stream was stopped early");
    drop(s.dir);
}
