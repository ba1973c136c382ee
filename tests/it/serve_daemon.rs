//! The daemon as an operator runs it: `soundscribe serve` as a real process on real config
//! files with the golden teacher, reloaded with SIGHUP, watched with `soundscribe tail`,
//! killed with SIGKILL and restarted on the same ipc endpoint, and read by a stalled
//! pyzmq subscriber next to a reading one.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use soundscribe::publish::{Message, Subscriber};
use soundscribe_offline::convert::teacher::convert_teacher;

use crate::common;
use crate::publish_common;
use crate::serve_common;

use publish_common::python;
use serve_common::{free_port, serve_config, write_wav};

/// A temporary directory with the converted golden teacher and WAV files.
struct Setup {
    dir: tempfile::TempDir,
    model: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        convert_teacher(&common::sources(&common::fixture_dir()), &model).unwrap();
        Setup { dir, model }
    }

    fn wav(&self, name: &str, seconds: f64, hz: f64) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.wav"));
        write_wav(&path, seconds, hz);
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `serve.toml` with one real-time file source per `(id, wav)`.
    fn write_config(&self, sources: &[(&str, &Path)], endpoint: &str, extra: &str) -> PathBuf {
        let text = serve_config(sources, &self.model, endpoint, extra);
        let config = self.path("serve.toml");
        std::fs::write(&config, text).unwrap();
        config
    }
}

/// A running `soundscribe serve` whose JSON log lines are collected as they come.
struct Daemon {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    fn start(config: &Path, notify_socket: Option<&Path>) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_soundscribe"));
        cmd.args(["--log-format", "json", "serve", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("NOTIFY_SOCKET");
        if let Some(socket) = notify_socket {
            cmd.env("NOTIFY_SOCKET", socket);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Daemon {
            child,
            logs,
            reader: Some(reader),
        }
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Log lines whose `message` is `message`, parsed.
    fn events(&self, message: &str) -> Vec<serde_json::Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect()
    }

    /// Waits until `count` log lines have `message`; the last of them.
    fn wait_event(&self, message: &str, count: usize, timeout: Duration) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            let events = self.events(message);
            if events.len() >= count {
                return events[count - 1].clone();
            }
            assert!(
                t0.elapsed() < timeout,
                "no {message:?} #{count} in the log: {:#?}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
    }

    /// SIGTERM, then the exit status and every log line.
    fn stop(mut self) -> (ExitStatus, Vec<String>) {
        self.signal("-TERM");
        let t0 = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "daemon did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        (status, self.logs())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(source, seq)` of every caption a SUB socket received, collected on its own thread.
struct Collector {
    got: Arc<Mutex<Vec<(String, u64)>>>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn start(endpoint: &str) -> Collector {
        let got = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (sink, stop, endpoint) = (got.clone(), done.clone(), endpoint.to_owned());
        let thread = std::thread::spawn(move || {
            let mut sub = Subscriber::connect(&endpoint, &[String::new()]).unwrap();
            while !stop.load(Relaxed) {
                if let Ok(Some(r)) = sub.recv_timeout(Duration::from_millis(200)) {
                    if let Ok(Message::Caption(c)) = r.message {
                        sink.lock().unwrap().push((c.source, c.seq));
                    }
                }
            }
            sub.close();
        });
        Collector {
            got,
            done,
            thread: Some(thread),
        }
    }

    fn seqs(&self, source: &str) -> Vec<u64> {
        let got = self.got.lock().unwrap();
        got.iter()
            .filter(|(s, _)| s == source)
            .map(|(_, q)| *q)
            .collect()
    }

    /// Waits until `source` has at least `n` captions.
    fn wait_for(&self, source: &str, n: usize, timeout: Duration) {
        let t0 = Instant::now();
        while self.seqs(source).len() < n {
            assert!(
                t0.elapsed() < timeout,
                "{source}: {} of {n} captions after {timeout:?}: {:?}",
                self.seqs(source).len(),
                self.got.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.done.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asserts that `seqs` run on without a gap or a restart.
fn assert_contiguous(source: &str, seqs: &[u64]) {
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "{source}: {seqs:?}");
    }
}

const WAIT: Duration = Duration::from_secs(90);

#[test]
fn sighup_with_a_bad_config_is_rejected_and_the_old_one_keeps_publishing() {
    let s = Setup::new();
    let clip = s.wav("clip", 120.0, 440.0);
    let other = s.wav("other", 120.0, 880.0);
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let config = s.write_config(&[("clip", &clip)], &endpoint, "");
    let daemon = Daemon::start(&config, None);
    let sub = Collector::start(&endpoint);
    sub.wait_for("clip", 2, WAIT);

    // A new source, and a windowing value the validator refuses: nothing of it applies.
    let good = std::fs::read_to_string(&config).unwrap();
    let text = format!(
        "[[sources]]\nkind = \"file\"\nid = \"other\"\npath = \"{}\"\nrealtime = true\n\n{}",
        other.display(),
        good.replace("hop_s = 1.0", "hop_s = -1.0")
    );
    std::fs::write(&config, text).unwrap();
    daemon.signal("-HUP");
    let rejected = daemon.wait_event(
        "Reload rejected; the running configuration stays.",
        1,
        Duration::from_secs(20),
    );
    assert_eq!(rejected["level"], "ERROR", "{rejected}");
    let error = rejected["error"].as_str().unwrap();
    assert!(error.contains(&config.display().to_string()), "{error}");
    assert!(error.contains("windowing.hop_s"), "{error}");
    assert!(daemon.events("Reloaded.").is_empty());

    // Captions of the old source keep coming, numbered on.
    let before = sub.seqs("clip").len();
    sub.wait_for("clip", before + 3, WAIT);
    assert!(sub.seqs("other").is_empty());
    assert_contiguous("clip", &sub.seqs("clip"));

    // A file that does not parse at all is rejected the same way.
    std::fs::write(&config, "[[sources]\nkind = ").unwrap();
    daemon.signal("-HUP");
    let rejected = daemon.wait_event(
        "Reload rejected; the running configuration stays.",
        2,
        Duration::from_secs(20),
    );
    assert!(rejected["error"]
        .as_str()
        .unwrap()
        .contains(&config.display().to_string()));
    let before = sub.seqs("clip").len();
    sub.wait_for("clip", before + 2, WAIT);

    // A valid file whose new source cannot be opened: rejected before anything changes.
    let missing = s.path("missing.wav");
    s.write_config(&[("clip", &clip), ("gone", &missing)], &endpoint, "");
    daemon.signal("-HUP");
    let rejected = daemon.wait_event(
        "Reload rejected; the running configuration stays.",
        3,
        Duration::from_secs(20),
    );
    let error = rejected["error"].as_str().unwrap();
    assert!(error.contains("\"gone\""), "{error}");
    assert!(error.contains("missing.wav"), "{error}");
    let before = sub.seqs("clip").len();
    sub.wait_for("clip", before + 2, WAIT);
    assert!(daemon.events("Reloaded.").is_empty());

    let (status, logs) = daemon.stop();
    assert!(status.success(), "{logs:#?}");
    assert_contiguous("clip", &sub.seqs("clip"));
    assert!(sub.seqs("other").is_empty() && sub.seqs("gone").is_empty());
}

#[test]
fn sighup_adds_and_removes_sources_while_the_model_stays_loaded() {
    let s = Setup::new();
    let clip = s.wav("clip", 120.0, 440.0);
    let second = s.wav("second", 120.0, 880.0);
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let config = s.write_config(&[("clip", &clip)], &endpoint, "");
    // systemd's side of sd_notify: a datagram socket named by NOTIFY_SOCKET.
    let notify_path = s.path("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let states = Arc::new(Mutex::new(Vec::new()));
    let notify_done = Arc::new(AtomicBool::new(false));
    let notify_thread = {
        let (states, done) = (states.clone(), notify_done.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !done.load(Relaxed) {
                if let Ok(n) = notify.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    states.lock().unwrap().push(text);
                }
            }
        })
    };
    let daemon = Daemon::start(&config, Some(&notify_path));
    let sub = Collector::start(&endpoint);
    sub.wait_for("clip", 2, WAIT);

    // Add a second source: its captions arrive on caption.second, clip's numbers go on.
    s.write_config(&[("clip", &clip), ("second", &second)], &endpoint, "");
    daemon.signal("-HUP");
    let reloaded = daemon.wait_event("Reloaded.", 1, Duration::from_secs(20));
    assert_eq!(
        (reloaded["added"].as_u64(), reloaded["unchanged"].as_u64()),
        (Some(1), Some(1))
    );
    sub.wait_for("second", 2, WAIT);
    let clip_seqs = sub.seqs("clip");
    assert_contiguous("clip", &clip_seqs);
    assert_contiguous("second", &sub.seqs("second"));

    // Remove the first: once what was queued has gone out, its captions stop.
    s.write_config(&[("second", &second)], &endpoint, "");
    daemon.signal("-HUP");
    let reloaded = daemon.wait_event("Reloaded.", 2, Duration::from_secs(20));
    assert_eq!(reloaded["removed"].as_u64(), Some(1), "{reloaded}");
    // What clip had queued drains at the engine's pace, which a loaded machine slows:
    // wait until three of second's captions pass without one of clip's (ten rounds at most).
    let mut clip_after = sub.seqs("clip").len();
    for _ in 0..10 {
        let n = sub.seqs("second").len();
        sub.wait_for("second", n + 3, WAIT);
        let now = sub.seqs("clip").len();
        if now == clip_after {
            break;
        }
        clip_after = now;
    }
    let n = sub.seqs("second").len();
    sub.wait_for("second", n + 3, WAIT);
    assert_eq!(sub.seqs("clip").len(), clip_after, "clip still captioned");
    assert!(clip_after >= clip_seqs.len());
    assert_contiguous("clip", &sub.seqs("clip"));
    assert_contiguous("second", &sub.seqs("second"));

    // A source whose settings change restarts with them; its numbers go on.
    let third = s.wav("third", 120.0, 660.0);
    s.write_config(&[("second", &third)], &endpoint, "");
    daemon.signal("-HUP");
    let reloaded = daemon.wait_event("Reloaded.", 3, Duration::from_secs(20));
    assert_eq!(reloaded["restarted"].as_u64(), Some(1), "{reloaded}");
    let n = sub.seqs("second").len();
    sub.wait_for("second", n + 3, WAIT);
    assert_contiguous("second", &sub.seqs("second"));

    // A decoding change is reported, not applied.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_length = 6", "max_length = 7");
    std::fs::write(&config, text).unwrap();
    daemon.signal("-HUP");
    let reloaded = daemon.wait_event("Reloaded.", 4, Duration::from_secs(20));
    assert_eq!(reloaded["needs_restart"], "[\"decoding\"]", "{reloaded}");
    let warned = daemon.wait_event(
        "Setting changed; needs restart, not applied.",
        1,
        Duration::from_secs(5),
    );
    assert_eq!(warned["section"], "decoding");

    let (status, logs) = daemon.stop();
    assert!(status.success(), "{logs:#?}");
    // One engine, one model load, for the whole run.
    let loads = logs.iter().filter(|l| l.contains("Model loaded.")).count();
    assert_eq!(loads, 1, "{logs:#?}");

    // READY=1 at start, then RELOADING=1 … READY=1 around each reload.
    std::thread::sleep(Duration::from_millis(300));
    notify_done.store(true, Relaxed);
    notify_thread.join().unwrap();
    let states = states.lock().unwrap().clone();
    let flat: Vec<&str> = states
        .iter()
        .flat_map(|s| s.lines())
        .filter(|l| ["READY=1", "RELOADING=1", "STOPPING=1"].contains(l))
        .collect();
    assert_eq!(
        flat,
        [
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "STOPPING=1"
        ],
        "{states:?}"
    );
    assert!(
        states.iter().any(|s| s.contains("MONOTONIC_USEC=")),
        "{states:?}"
    );
}

#[test]
fn tail_prints_the_daemons_captions_with_increasing_sequence_numbers() {
    let s = Setup::new();
    let clip = s.wav("clip", 120.0, 440.0);
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let config = s.write_config(&[("clip", &clip)], &endpoint, "");
    let daemon = Daemon::start(&config, None);
    let tail = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["tail", "--json", "--topic", "caption.", "--count", "4"])
        .args(["--timeout-s", "90", "--endpoint", &endpoint])
        .output()
        .unwrap();
    let (status, logs) = daemon.stop();
    assert!(status.success(), "{logs:#?}");
    let stdout = String::from_utf8(tail.stdout).unwrap();
    let stderr = String::from_utf8(tail.stderr).unwrap();
    assert!(tail.status.success(), "{stdout}\n{stderr}");
    let captions: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(captions.len(), 4, "{stdout}");
    for c in &captions {
        assert_eq!(c["source"], "clip", "{c}");
        assert!(!c["text"].as_str().unwrap().is_empty(), "{c}");
    }
    let seqs: Vec<u64> = captions
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_contiguous("clip", &seqs);
    assert!(stderr.contains("0 gaps"), "{stderr}");
}

#[test]
fn a_daemon_restarted_after_sigkill_binds_its_stale_ipc_endpoint_again() {
    let s = Setup::new();
    let clip = s.wav("clip", 120.0, 440.0);
    let socket = s.path("captions.sock");
    let endpoint = format!("ipc://{}", socket.display());
    let config = s.write_config(&[("clip", &clip)], &endpoint, "");
    let first = Daemon::start(&config, None);
    first.wait_event("Publishing.", 1, WAIT);
    first.signal("-KILL");
    drop(first);
    assert!(socket.exists(), "SIGKILL leaves the socket file behind");

    let second = Daemon::start(&config, None);
    second.wait_event("Removed a stale ipc socket file.", 1, WAIT);
    second.wait_event("Publishing.", 1, WAIT);
    let sub = Collector::start(&endpoint);
    sub.wait_for("clip", 2, WAIT);
    let (status, logs) = second.stop();
    assert!(status.success(), "{logs:#?}");
    assert!(!socket.exists(), "a clean stop removes the socket file");
}

fn pyzmq_subscriber(endpoint: &str, stall: bool, timeout_s: f64) -> Child {
    let mut cmd = Command::new(python());
    cmd.arg(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/python/pyzmq_subscriber.py"),
    )
    .args(["--endpoint", endpoint, "--captions", "100000"])
    .args(["--timeout", &timeout_s.to_string()])
    .arg("--schema-dir")
    .arg(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("docs"))
    .stdout(Stdio::piped())
    .stdin(Stdio::piped());
    if stall {
        cmd.arg("--stall");
    }
    cmd.spawn().unwrap()
}

#[test]
fn a_stalled_subscriber_does_not_hold_up_a_reading_one() {
    let s = Setup::new();
    let clip = s.wav("clip", 12.0, 440.0);
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    // Heartbeats every 5 ms (~200 messages/s next to one caption/s) give the stalled
    // subscriber a backlog that grows all through the run.
    let config = s.write_config(&[("clip", &clip)], &endpoint, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("heartbeat_s = 0.2", "heartbeat_s = 0.005");
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config, None);
    let mut stalled = pyzmq_subscriber(&endpoint, true, 60.0);
    // It cannot know how many captions come, so it reads until its timeout: the daemon
    // needs ~3 s to load and 12 s for the file.
    let reading = pyzmq_subscriber(&endpoint, false, 30.0);
    let mut stalled_out = BufReader::new(stalled.stdout.take().unwrap()).lines();
    assert_eq!(stalled_out.next().unwrap().unwrap(), "READY");

    // The 12 s file ends and the daemon exits by itself after draining.
    let t0 = Instant::now();
    let mut daemon = daemon;
    let status = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(t0.elapsed() < WAIT, "daemon did not finish the file");
        std::thread::sleep(Duration::from_millis(100));
    };
    if let Some(r) = daemon.reader.take() {
        r.join().unwrap();
    }
    let logs = daemon.logs();
    assert!(status.success(), "{logs:#?}");
    let stopped = logs
        .iter()
        .rev()
        .find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["message"] == "Stopped.").then_some(v)
        })
        .unwrap_or_else(|| panic!("{logs:#?}"));
    let published = stopped["published"].as_u64().unwrap();

    let out = reading.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(text.lines().last().unwrap_or("{}")).unwrap();
    let captions = summary["captions"].as_array().unwrap();
    // It subscribed before the first caption (the model loads first), so it has them all,
    // in order; its only complaint is the timeout waiting for more.
    let seqs: Vec<u64> = captions
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..published).collect::<Vec<_>>(), "{summary}");
    assert!(summary["status"].as_u64().unwrap() > 100, "{summary}");

    drop(stalled.stdin.take());
    let rest: Vec<String> = stalled_out.map_while(Result::ok).collect();
    assert!(stalled.wait().unwrap().success());
    let got: serde_json::Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(got["drained_in_order"], true, "{got}");
    eprintln!(
        "reading subscriber: {published} of {published} captions, {} status; stalled one \
         drained {} afterwards",
        summary["status"], got["drained"]
    );
}
