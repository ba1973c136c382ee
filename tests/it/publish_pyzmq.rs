//! The Rust publisher against a real libzmq subscriber (pyzmq), with every payload checked
//! against docs/*-schema.json by the `jsonschema` package. Loopback and ipc only.

use crate::publish_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use publish_common::{bind_loopback, caption, python, schema_dir, spawn_service};
use serde_json::Value;
use soundscribe::publish::{schema, Message, Publisher, StatusBoard, StatusProvider, Subscriber};

const SOURCES: [&str; 2] = ["mic", "line-in"];

/// Starts the Python subscriber; its stdout lines arrive on the returned channel.
fn spawn_subscriber(
    endpoint: &str,
    captions: usize,
    stall: bool,
) -> (Child, Receiver<std::io::Result<String>>) {
    let script = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/python/pyzmq_subscriber.py");
    let mut cmd = Command::new(python());
    cmd.arg(script)
        .args(["--endpoint", endpoint, "--captions", &captions.to_string()])
        .arg("--schema-dir")
        .arg(schema_dir())
        .args(["--timeout", "60"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if stall {
        cmd.arg("--stall");
    }
    let mut child = cmd.spawn().expect("start the pyzmq subscriber");
    let stdout = child.stdout.take().expect("stdout");
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = line_tx.send(line);
        }
    });
    (child, line_rx)
}

/// Reads the READY line; anything else is the subscriber's failure summary.
fn wait_ready(lines: &mut impl Iterator<Item = std::io::Result<String>>) {
    let line = lines.next().expect("subscriber output").expect("read");
    assert_eq!(line, "READY", "subscriber did not get ready: {line}");
}

fn summary(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Value {
    let line = lines.next().expect("subscriber summary").expect("read");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad summary {line:?}: {e}"))
}

/// Publishes `per_source` captions of each source through the real run loop and checks
/// what pyzmq received on `endpoint_index` of the bound endpoints.
fn captions_reach_pyzmq(endpoint_index: usize) {
    let dir = tempfile::tempdir().unwrap();
    let endpoints = vec![
        "tcp://127.0.0.1:0".to_owned(),
        format!("ipc://{}/captions.sock", dir.path().display()),
    ];
    let publisher = Publisher::bind(&endpoints, Duration::from_millis(300)).unwrap();
    let endpoint = publisher.endpoints()[endpoint_index].clone();
    let board = Arc::new(StatusBoard::new());
    for s in SOURCES {
        board.register(s);
    }
    let service = spawn_service(publisher, board.clone(), Duration::from_millis(50));
    let tx = service.captions;

    let per_source = 25u64;
    let (mut child, lines) =
        spawn_subscriber(&endpoint, SOURCES.len() * per_source as usize, false);
    let mut lines = lines.iter();
    wait_ready(&mut lines);

    // The engine side: a plain thread with blocking hand-over, as the engine will do.
    let t0 = SystemTime::now();
    let engine_board = board.clone();
    std::thread::spawn(move || {
        for seq in 0..per_source {
            for s in SOURCES {
                engine_board.window_in(s);
                tx.send_blocking(caption(s, seq, t0)).unwrap();
            }
        }
    })
    .join()
    .unwrap();

    let got = summary(&mut lines);
    assert!(child.wait().unwrap().success());
    service.stop.stop(); // the loop may already have ended: every sender is gone
    let done = service.done.join().unwrap().unwrap();
    assert_eq!(done.captions, SOURCES.len() as u64 * per_source);
    assert_eq!(done.encode_errors, 0);

    assert_eq!(got["errors"], Value::Array(vec![]), "{got}");
    assert!(got["status"].as_u64().unwrap() >= 1, "{got}");
    let received = got["captions"].as_array().unwrap();
    for s in SOURCES {
        let mine: Vec<&Value> = received.iter().filter(|c| c["source"] == s).collect();
        assert_eq!(mine.len() as u64, per_source, "{s}");
        for (i, c) in mine.iter().enumerate() {
            // Exactly what was handed over, numbered 0.. per source, times included.
            let expected = schema::encode_caption(&caption(s, i as u64, t0)).unwrap();
            let expected: Value = serde_json::from_slice(&expected.payload).unwrap();
            assert_eq!(**c, expected);
        }
    }
    let status = board.snapshot();
    assert!(status
        .sources
        .iter()
        .all(|s| s.windows_out == per_source && s.windows_in == per_source));
}

#[test]
fn pyzmq_receives_schema_valid_captions_over_tcp() {
    captions_reach_pyzmq(0);
}

#[test]
fn pyzmq_receives_schema_valid_captions_over_ipc() {
    captions_reach_pyzmq(1);
}

/// A subscriber that stops reading must not slow the publisher or other subscribers.
/// (libzmq queues up to SNDHWM messages for it, plus its own RCVHWM and the TCP buffers
/// in between, and drops the rest for it alone; see src/publish/zmq.rs. How many it kept
/// depends on timing, so it is printed, not asserted.)
#[test]
fn stalled_pyzmq_subscriber_does_not_block_publishing() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();

    let (mut stalled, line_rx) = spawn_subscriber(&endpoint, 0, true);
    // A second subscriber that reads, but only `caption.other` and `status`, so that it
    // has no backlog of its own from the flood below.
    let topics = ["caption.other".to_owned(), "status".to_owned()];
    // Heartbeats until both subscribers are live: the stalled one says READY, the reading
    // one returns from its first status.
    let status = StatusBoard::new().snapshot();
    let (ready_line, mut other) = {
        let endpoint = endpoint.clone();
        let reader = std::thread::spawn(move || {
            let mut sub = Subscriber::connect(&endpoint, &topics).unwrap();
            while !matches!(sub.recv().unwrap().message, Ok(Message::Status(_))) {}
            sub
        });
        let mut ready_line = None;
        for _ in 0..6000 {
            if ready_line.is_none() {
                ready_line = line_rx.try_recv().ok();
            }
            if reader.is_finished() && ready_line.is_some() {
                break;
            }
            publisher.publish_status(&status).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            reader.is_finished(),
            "the reading subscriber got no heartbeat"
        );
        (ready_line, reader.join().unwrap())
    };
    wait_ready(&mut ready_line.into_iter());

    // A flood of valid captions (one real encoding, the seq substituted) as fast as the
    // socket takes them: far more than the stalled subscriber can hold.
    let total = 200_000u64;
    let encoded = |source: &str, seq: u64| {
        let template = schema::encode_caption(&caption(source, 0, SystemTime::now())).unwrap();
        let template = String::from_utf8(template.payload).unwrap();
        let (head, tail) = template.split_once("\"seq\":0,").unwrap();
        schema::Encoded {
            topic: schema::caption_topic(source),
            payload: format!("{head}\"seq\":{seq},{tail}").into_bytes(),
        }
    };
    let flood = encoded("mic", 0);
    let flood_payload = String::from_utf8(flood.payload.clone()).unwrap();
    let (head, tail) = flood_payload.split_once("\"seq\":0,").unwrap();
    let got_other = {
        for seq in 0..total {
            let payload = format!("{head}\"seq\":{seq},{tail}").into_bytes();
            let topic = flood.topic.clone();
            publisher.send(schema::Encoded { topic, payload }).unwrap();
        }
        // Every send returned although one subscriber reads nothing. The other one still
        // gets its captions (resent until one arrives: the first may meet a full queue).
        let reader = std::thread::spawn(move || loop {
            if let Ok(Message::Caption(c)) = other.recv().unwrap().message {
                return c;
            }
        });
        for seq in 0..30_000 {
            if reader.is_finished() {
                break;
            }
            publisher.send(encoded("other", seq)).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        reader.join().unwrap()
    };
    assert_eq!(got_other.source, "other");

    drop(stalled.stdin.take()); // let the stalled subscriber drain and report
    let got: Value = line_rx
        .iter()
        .next()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .expect("summary of the stalled subscriber");
    assert!(stalled.wait().unwrap().success());
    publisher.close();
    let drained = got["drained"]["caption.mic"].as_u64().unwrap();
    assert!(drained <= total, "{got}");
    // Losses show up as jumps in seq, never as reordering.
    assert_eq!(got["drained_in_order"], true, "{got}");
    eprintln!("the stalled subscriber kept {drained} of {total} captions");
}

/// The Python check is not vacuous: a payload that breaks the schema is reported.
#[test]
fn pyzmq_validation_rejects_a_payload_that_breaks_the_schema() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    let (mut child, line_rx) = spawn_subscriber(&endpoint, 1, false);
    let status = StatusBoard::new().snapshot();
    let ready = loop {
        publisher.publish_status(&status).unwrap();
        if let Ok(line) = line_rx.recv_timeout(Duration::from_millis(20)) {
            break line;
        }
    };
    wait_ready(&mut Some(ready).into_iter());

    let good = schema::encode_caption(&caption("mic", 0, SystemTime::now())).unwrap();
    let bad = String::from_utf8(good.payload)
        .unwrap()
        .replace("\"seq\":0", "\"seq\":-3")
        .replace("\"flags\":{", "\"flags\":{\"loud\":true,");
    publisher
        .send(schema::Encoded {
            topic: good.topic,
            payload: bad.into_bytes(),
        })
        .unwrap();
    let got: Value = serde_json::from_str(&line_rx.recv().unwrap().unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    publisher.close();
    let errors: Vec<&str> = got["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("$.seq")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("'loud'")), "{errors:?}");
}
