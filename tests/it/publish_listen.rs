//! `soundscribe listen` (the operator's subscriber) against the Rust publisher: captions
//! and status printed, sequence gaps and malformed messages reported, never a panic.

use crate::publish_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use publish_common::{bind_loopback, caption, spawn_service};
use serde_json::Value;
use soundscribe::publish::{schema, Publisher, SnapshotServer, StatusBoard, StatusProvider};

const WAIT: Duration = Duration::from_secs(60);

struct Listen {
    child: Child,
    stdout: Receiver<String>,
}

fn listen(args: &[&str]) -> Listen {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .arg("listen")
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start soundscribe listen");
    let out = child.stdout.take().unwrap();
    let (tx, stdout) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Listen { child, stdout }
}

impl Listen {
    /// Next stdout line, waiting at most `WAIT`.
    fn line(&self) -> String {
        match self.stdout.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("listen printed nothing for {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("listen exited early"),
        }
    }

    /// Interrupts it like Ctrl-C; returns (success, remaining stdout, stderr).
    fn interrupt(self) -> (bool, Vec<String>, String) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        self.finish()
    }

    fn finish(self) -> (bool, Vec<String>, String) {
        let out = self.child.wait_with_output().unwrap();
        // The reader thread ends at EOF, which follows the exit: wait for every line.
        let rest = self.stdout.iter().collect();
        (
            out.status.success(),
            rest,
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

/// Sends heartbeats until `listen` prints its first line (the subscription is live).
fn sync(publisher: &mut Publisher, l: &Listen) -> String {
    let status = StatusBoard::new().snapshot();
    for _ in 0..3000 {
        publisher.publish_status(&status).unwrap();
        if let Ok(line) = l.stdout.recv_timeout(Duration::from_millis(20)) {
            return line;
        }
    }
    panic!("listen never received a heartbeat");
}

#[test]
fn listen_json_prints_what_the_run_loop_publishes() {
    let publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    let board = Arc::new(StatusBoard::new());
    board.register("mic");
    let service = spawn_service(publisher, board, Duration::from_millis(20));
    let tx = service.captions;

    let l = listen(&["--endpoint", &endpoint, "--json"]);
    // Heartbeats come every 20 ms: the first printed line proves the subscription.
    let first: Value = serde_json::from_str(&l.line()).unwrap();
    assert_eq!(first["type"], "status");
    assert_eq!(first["sources"][0]["source"], "mic");

    let t0 = SystemTime::now();
    let n = 30;
    std::thread::spawn(move || {
        for seq in 0..n {
            tx.send_blocking(caption("mic", seq, t0)).unwrap();
        }
    })
    .join()
    .unwrap();
    let mut captions = Vec::new();
    while captions.len() < n as usize {
        let v: Value = serde_json::from_str(&l.line()).unwrap();
        if v["type"] == "caption" {
            captions.push(v);
        }
    }
    let (ok, _, stderr) = l.interrupt();
    assert!(ok, "{stderr}");
    for (i, c) in captions.iter().enumerate() {
        let expected = schema::encode_caption(&caption("mic", i as u64, t0)).unwrap();
        assert_eq!(
            *c,
            serde_json::from_slice::<Value>(&expected.payload).unwrap()
        );
    }
    assert!(stderr.contains("0 malformed, 0 gaps"), "{stderr}");
    // The senders are gone, so the loop has drained and closed by itself.
    let done = service.done.join().unwrap().unwrap();
    assert_eq!(done.captions, n);
}

#[test]
fn listen_reports_sequence_gaps_per_source() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    let l = listen(&["--endpoint", &endpoint]);
    let first = sync(&mut publisher, &l);
    assert!(first.contains(" status uptime "), "{first}");

    let t0 = SystemTime::now();
    let sent = [
        ("mic", 0),
        ("mic", 1),
        ("b", 0),
        ("mic", 2),
        ("mic", 5),
        ("b", 1),
        ("mic", 6),
    ];
    for (source, seq) in sent {
        publisher
            .publish_caption(&caption(source, seq, t0))
            .unwrap();
    }
    let mut lines = Vec::new();
    while lines
        .iter()
        .filter(|l: &&String| l.contains(" caption."))
        .count()
        < sent.len()
    {
        lines.push(l.line());
    }
    let (ok, _, stderr) = l.interrupt();
    assert!(ok, "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("caption.mic #5 12.5-22.5s \"window 5 of mic")),
        "{lines:?}"
    );
    assert!(
        stderr.contains("gap on caption.mic: expected seq 3, got 5 (2 missing)"),
        "{stderr}"
    );
    assert!(!stderr.contains("gap on caption.b"), "{stderr}");
    assert!(
        stderr.contains("0 malformed, 1 gaps (2 captions missing)"),
        "{stderr}"
    );
    publisher.close();
}

#[test]
fn listen_reports_malformed_messages_and_carries_on() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    let l = listen(&["--endpoint", &endpoint, "--json"]);
    sync(&mut publisher, &l);

    let good = schema::encode_caption(&caption("mic", 0, SystemTime::now())).unwrap();
    let good_text = String::from_utf8(good.payload.clone()).unwrap();
    let bad = [
        ("caption.mic", "this is not json".to_owned()),
        (
            "caption.mic",
            good_text.replace("\"schema_version\":1", "\"schema_version\":99"),
        ),
        ("caption.mic", good_text.replace("\"text\":", "\"words\":")),
        ("caption.other", good_text.clone()),
        ("weather", "{}".to_owned()),
        (
            "caption.mic",
            good_text.replace("\"score\":0.5", "\"score\":\"high\""),
        ),
    ];
    for (topic, payload) in &bad {
        let e = schema::Encoded {
            topic: (*topic).to_owned(),
            payload: payload.clone().into_bytes(),
        };
        publisher.send(e).unwrap();
    }
    publisher.send(good).unwrap();
    // Only the good caption reaches stdout; heartbeats sent while syncing may precede it.
    let caption_line = loop {
        let line = l.line();
        if !line.contains("\"type\":\"status\"") {
            break line;
        }
    };
    let (ok, _, stderr) = l.interrupt();
    assert!(ok, "{stderr}");
    assert_eq!(caption_line, good_text);
    for expected in [
        "malformed message: topic caption.mic: payload is not a JSON object",
        "schema_version 99 is not supported (this build reads 1)",
        "unknown field `words`",
        "source \"mic\" does not match the topic",
        "unknown topic \"weather\"",
        "score: invalid type: string \"high\"",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    }
    assert!(stderr.contains(", 6 malformed, 0 gaps"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    publisher.close();
}

#[test]
fn listen_count_stops_by_itself() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    let l = listen(&["--endpoint", &endpoint, "--topic", "status", "--count", "3"]);
    let status = StatusBoard::new().snapshot();
    let mut lines = Vec::new();
    while lines.len() < 3 {
        publisher.publish_status(&status).unwrap();
        lines.extend(l.stdout.recv_timeout(Duration::from_millis(20)).ok());
    }
    let (ok, rest, stderr) = l.finish();
    assert!(ok, "{stderr}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(
        stderr.contains("listen: 3 messages (0 captions, 3 status)"),
        "{stderr}"
    );
    publisher.close();
}

#[test]
fn listen_times_out_with_an_error_when_nothing_arrives() {
    // A port that was free a moment ago: nobody publishes there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let l = listen(&[
        "--endpoint",
        &endpoint,
        "--count",
        "1",
        "--timeout-s",
        "0.5",
    ]);
    let (ok, rest, stderr) = l.finish();
    assert!(!ok);
    assert!(rest.is_empty());
    assert!(
        stderr.contains("timed out after 0.5 s with 0 of 1 messages"),
        "{stderr}"
    );
}

#[test]
fn listen_snapshot_shows_captions_published_before_it_started() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    let t0 = SystemTime::now();
    for seq in 0..3 {
        publisher.publish_caption(&caption("mic", seq, t0)).unwrap();
    }
    let server =
        SnapshotServer::bind(&["tcp://127.0.0.1:0".to_owned()], publisher.last_captions()).unwrap();
    let snapshot = server.endpoints()[0].clone();
    let args = [
        "--endpoint",
        &endpoint,
        "--snapshot",
        &snapshot,
        "--topic",
        "caption.",
    ];
    let l = listen(&[&args[..], &["--count", "1", "--json", "--timeout-s", "60"]].concat());
    let (ok, lines, stderr) = l.finish();
    assert!(ok, "{stderr}");
    let expected = schema::encode_caption(&caption("mic", 2, t0)).unwrap();
    assert_eq!(lines, [String::from_utf8(expected.payload).unwrap()]);
    server.close();
    publisher.close();
}
