//! The publisher against peers that misbehave: a raw TCP client announcing a frame of
//! 2^40 bytes, dense subscriber churn, a subscriber that never reads. The zeromq 0.7 crate
//! aborted on the first, deadlocked under the second and queued without bound for the
//! third; libzmq (ZMQ_MAXMSGSIZE, per-subscriber ZMQ_SNDHWM) must shrug all three off.
//! Loopback only; every loop is bounded in count and time.

use crate::publish_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use publish_common::{bind_loopback, caption, live_subscriber, now_us};
use soundscribe::config::PublishingConfig;
use soundscribe::publish::{
    fetch_snapshot, schema, Message, StatusBoard, StatusProvider, Subscriber,
};

/// A ZMTP 3.0 greeting for the NULL mechanism, as a client sends it.
fn zmtp_greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    g.extend(mechanism);
    g.push(0); // as-server
    g.resize(64, 0); // filler
    g
}

/// A long frame header (`flags` 0x02 message, 0x06 command) claiming 2^40 bytes.
fn huge_frame_header(flags: u8) -> Vec<u8> {
    let mut h = vec![flags];
    h.extend((1u64 << 40).to_be_bytes());
    h
}

/// Sends a greeting and a 2^40-byte frame header to `endpoint` (`tcp://HOST:PORT`), then
/// some of the "body"; returns whether the server hung up on us within 10 s.
fn attack(endpoint: &str, flags: u8) -> bool {
    let addr = endpoint.strip_prefix("tcp://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream.write_all(&zmtp_greeting()).unwrap();
    stream.write_all(&huge_frame_header(flags)).unwrap();
    // Part of the announced body; the server may already have closed (EPIPE/RST).
    let _ = stream.write_all(&vec![0x41; 64 * 1024]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true, // reset by the server
        }
    }
    false
}

fn loopback_config() -> PublishingConfig {
    PublishingConfig {
        endpoints: vec!["tcp://127.0.0.1:0".to_owned()],
        snapshot_endpoints: vec!["tcp://127.0.0.1:0".to_owned()],
        heartbeat_s: 0.02,
        ..Default::default()
    }
}

/// `n` captions of `source` from `sub`, skipping heartbeats; panics after `timeout`.
fn captions(sub: &mut Subscriber, source: &str, n: usize, timeout: Duration) -> Vec<u64> {
    let deadline = Instant::now() + timeout;
    let mut seqs = Vec::new();
    while seqs.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {n} captions: {seqs:?}",
            seqs.len()
        );
        if let Some(r) = sub.recv_timeout(left).unwrap() {
            if let Ok(Message::Caption(c)) = r.message {
                if c.source == source {
                    seqs.push(c.seq);
                }
            }
        }
    }
    seqs
}

#[test]
fn oversized_frame_headers_on_the_pub_and_snapshot_ports_only_cost_that_peer() {
    let board = Arc::new(StatusBoard::new());
    board.register("mic");
    let started = soundscribe::publish::start(&loopback_config(), board).unwrap();
    let endpoint = started.endpoints[0].clone();
    let snapshot = started.snapshot_endpoints[0].clone();
    let mut sub = live_subscriber(&endpoint);
    let t0 = now_us();
    started
        .captions
        .send_blocking(caption("mic", 0, t0))
        .unwrap();

    for target in [&endpoint, &snapshot] {
        for flags in [0x02, 0x06] {
            assert!(
                attack(target, flags),
                "{target} kept a peer that announced 2^40 bytes (flags {flags:#x})"
            );
        }
    }

    // Still publishing, in order, to the subscriber that was there all along.
    for seq in 1..20 {
        started
            .captions
            .send_blocking(caption("mic", seq, t0))
            .unwrap();
    }
    let seqs = captions(&mut sub, "mic", 20, Duration::from_secs(30));
    assert_eq!(seqs, (0..20).collect::<Vec<_>>());
    // And still answering snapshots.
    let last = fetch_snapshot(&snapshot, Duration::from_secs(30)).unwrap();
    assert_eq!(
        last[0].message.as_ref().unwrap(),
        &Message::Caption(caption("mic", 19, t0))
    );
    assert!(!started.thread.is_finished());
    assert!(started.beat.age() < Duration::from_secs(1));

    started.stop.stop();
    let done = started.thread.join().unwrap();
    assert_eq!(done.captions, 20);
}

#[test]
fn subscriber_churn_leaves_the_publisher_turning_and_delivering() {
    const THREADS: usize = 50;
    const CHURN: Duration = Duration::from_secs(10);
    let board = Arc::new(StatusBoard::new());
    board.register("mic");
    let started = soundscribe::publish::start(&loopback_config(), board).unwrap();
    let endpoint = started.endpoints[0].clone();
    let beat_before = started.beat.last_ms();

    // Captions flow the whole time.
    let flowing = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let engine = {
        let (tx, flowing, sent) = (started.captions.clone(), flowing.clone(), sent.clone());
        std::thread::spawn(move || {
            let t0 = SystemTime::now();
            while flowing.load(Relaxed) {
                let seq = sent.fetch_add(1, Relaxed);
                tx.send_blocking(caption("mic", seq, t0)).unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let cycles = Arc::new(AtomicU64::new(0));
    let churners: Vec<_> = (0..THREADS)
        .map(|i| {
            let (endpoint, cycles) = (endpoint.clone(), cycles.clone());
            std::thread::spawn(move || {
                let end = Instant::now() + CHURN;
                let topics = [String::new(), "caption.".to_owned(), "status".to_owned()];
                let mut n = 0u64;
                while Instant::now() < end {
                    let topic = &topics[(i + n as usize) % topics.len()];
                    // Sockets close in libzmq's reaper thread; when it lags, the shared
                    // client context is at its socket limit for a moment (EMFILE).
                    let mut sub = match Subscriber::connect(&endpoint, std::slice::from_ref(topic))
                    {
                        Ok(sub) => sub,
                        Err(zmq::Error::EMFILE) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                        Err(e) => panic!("connect: {e}"),
                    };
                    // Some read a little, some leave at once.
                    let wait = Duration::from_millis((n % 4) * 5);
                    let _ = sub.recv_timeout(wait);
                    sub.close();
                    n += 1;
                }
                cycles.fetch_add(n, Relaxed);
            })
        })
        .collect();
    for c in churners {
        c.join().unwrap();
    }
    let cycles = cycles.load(Relaxed);
    eprintln!("{THREADS} threads made {cycles} subscribe/close cycles");
    assert!(cycles >= THREADS as u64, "{cycles}");

    // A fresh subscriber still gets captions, consecutively numbered.
    let mut sub = live_subscriber(&endpoint);
    let seqs = captions(&mut sub, "mic", 50, Duration::from_secs(30));
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "a fresh, reading subscriber lost captions: {seqs:?}"
    );
    assert!(started.beat.last_ms() > beat_before);
    assert!(
        started.beat.age() < Duration::from_secs(1),
        "the publisher thread stopped turning: {:?}",
        started.beat.age()
    );

    flowing.store(false, Relaxed);
    engine.join().unwrap();
    started.stop.stop();
    let done = started.thread.join().unwrap();
    assert_eq!(done.captions, sent.load(Relaxed));
}

/// Resident memory of this process, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Set in the child process that runs the flood alone (see below).
const FLOOD_CHILD: &str = "SOUNDSCRIBE_TEST_FLOOD_CHILD";

/// Resident memory is process-wide, and other tests of this binary run in parallel, so
/// the flood runs in a child process of its own: this test binary, running only it.
#[test]
fn a_subscriber_that_never_reads_costs_a_bounded_queue_not_memory_or_time() {
    if std::env::var_os(FLOOD_CHILD).is_some() {
        flood_a_subscriber_that_never_reads();
        return;
    }
    let name =
        "publish_hostile::a_subscriber_that_never_reads_costs_a_bounded_queue_not_memory_or_time";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(FLOOD_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "the flood failed in its child process"
    );
    assert!(stderr.contains("the stalled subscriber kept"), "{stderr}");
}

fn flood_a_subscriber_that_never_reads() {
    let mut publisher = bind_loopback();
    let endpoint = publisher.endpoints()[0].clone();
    // Never reads after its first heartbeat; its own queue is small, so the publisher's
    // per-subscriber queue (send_hwm = 1000) fills behind it.
    let context = zmq::Context::new();
    let stalled = context.socket(zmq::SUB).unwrap();
    stalled.set_rcvhwm(100).unwrap();
    stalled.set_linger(0).unwrap();
    stalled.connect(&endpoint).unwrap();
    stalled.set_subscribe(b"").unwrap();
    // Reads `caption.other` and status only, so the flood leaves it no backlog.
    let topics = ["caption.other".to_owned(), "status".to_owned()];
    let mut reader = Subscriber::connect(&endpoint, &topics).unwrap();
    let status = StatusBoard::new().snapshot();
    let mut stalled_live = false;
    let mut reader_live = false;
    for _ in 0..3000 {
        publisher.publish_status(&status).unwrap();
        stalled_live |= stalled.poll(zmq::POLLIN, 5).unwrap() > 0;
        reader_live |= reader
            .recv_timeout(Duration::from_millis(5))
            .unwrap()
            .is_some();
        if stalled_live && reader_live {
            break;
        }
    }
    assert!(stalled_live && reader_live, "subscriptions never went live");

    let template = schema::encode_caption(&caption("mic", 0, SystemTime::now())).unwrap();
    let template = String::from_utf8(template.payload).unwrap();
    let (head, tail) = template.split_once("\"seq\":0,").unwrap();
    // ~200 MB if every copy were kept.
    let total = 400_000u64;
    let bytes = total * template.len() as u64;
    let rss_before = rss_bytes();
    let flood_start = Instant::now();
    for seq in 0..total {
        let payload = format!("{head}\"seq\":{seq},{tail}").into_bytes();
        let topic = schema::caption_topic("mic");
        publisher.send(schema::Encoded { topic, payload }).unwrap();
    }
    let flood = flood_start.elapsed();
    let grown = rss_bytes().saturating_sub(rss_before);
    eprintln!(
        "flood of {total} captions ({} MB) took {flood:?}; resident memory grew {} MB",
        bytes >> 20,
        grown >> 20
    );
    assert!(
        flood < Duration::from_secs(60),
        "publishing waited: {flood:?}"
    );
    assert!(
        grown < 48 << 20,
        "memory grew {grown} bytes for a {bytes}-byte flood: queues are not bounded"
    );

    // The reading subscriber still gets what is meant for it.
    let other = schema::encode_caption(&caption("other", 0, SystemTime::now())).unwrap();
    let mut got_other = false;
    for _ in 0..3000 {
        publisher.send(other.clone()).unwrap();
        if let Some(r) = reader.recv_timeout(Duration::from_millis(10)).unwrap() {
            if let Ok(Message::Caption(c)) = r.message {
                assert_eq!(c.source, "other");
                got_other = true;
                break;
            }
        }
    }
    assert!(got_other, "the reading subscriber got nothing");

    // What the stalled one kept: a bounded, in-order prefix-with-holes of the flood.
    let mut kept = Vec::new();
    while stalled.poll(zmq::POLLIN, 500).unwrap() > 0 {
        let frames = stalled.recv_multipart(0).unwrap();
        if let Ok(Message::Caption(c)) = schema::decode_frames(&frames) {
            if c.source == "mic" {
                kept.push(c.seq);
            }
        }
    }
    eprintln!(
        "the stalled subscriber kept {} of {total} captions",
        kept.len()
    );
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "reordered");
    assert!((kept.len() as u64) < total / 4, "kept {}", kept.len());
    publisher.close();
}
