//! The publisher's socket life cycle with the Rust subscriber: drain on shutdown, bind
//! errors that name the endpoint, stale ipc files, restarts. Loopback and ipc only.

use crate::publish_common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use publish_common::{caption, live_subscriber, now_us, spawn_service};
use soundscribe::publish::{
    fetch_snapshot, GapTracker, Message, PublishError, Publisher, SeqEvent, SnapshotError,
    SnapshotServer, StatusBoard, StatusProvider, Subscriber,
};

const LINGER: Duration = Duration::from_millis(300);

fn bind(endpoint: &str) -> Result<Publisher, PublishError> {
    Publisher::bind(&[endpoint.to_owned()], LINGER)
}

#[test]
fn shutdown_publishes_every_accepted_caption_before_the_thread_ends() {
    let publisher = bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = publisher.endpoints()[0].clone();
    let service = spawn_service(publisher, Arc::default(), Duration::from_millis(10));
    let tx = service.captions;
    let mut sub = live_subscriber(&endpoint);

    let n = 2000u64;
    let t0 = SystemTime::now();
    let engine = std::thread::spawn(move || {
        for seq in 0..n {
            tx.send_blocking(caption("mic", seq, t0)).unwrap();
        }
        tx // kept alive: the loop must stop because of the shutdown signal
    });
    let tx = engine.join().unwrap();
    // Shutdown while captions are still queued in the channel and on the socket.
    service.stop.stop();
    // The publisher thread has ended and its context is gone: only what close() flushed
    // within the linger can arrive.
    let done = service.done.join().unwrap().unwrap();
    assert!(
        tx.try_send(caption("mic", 0, t0)).is_err(),
        "the channel is closed"
    );
    assert_eq!(done.captions, n);

    let (seqs, last_is_status) = {
        let mut seqs = Vec::new();
        let mut last_is_status = false;
        while let Ok(Some(r)) = sub.recv_timeout(Duration::from_secs(5)) {
            match r.message.unwrap() {
                Message::Caption(c) => {
                    seqs.push(c.seq);
                    last_is_status = false;
                }
                Message::Status(_) => last_is_status = true,
            }
            if seqs.len() as u64 == n && last_is_status {
                break;
            }
        }
        (seqs, last_is_status)
    };
    assert_eq!(seqs, (0..n).collect::<Vec<_>>());
    assert!(last_is_status, "a final status follows the last caption");
}

#[test]
fn bind_errors_name_the_endpoint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://127.0.0.1:{}", taken.local_addr().unwrap().port());
    let err = bind(&endpoint).unwrap_err();
    assert!(matches!(err, PublishError::Bind { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot bind {endpoint}: ")),
        "{err}"
    );

    let err = bind("tcp://nowhere").unwrap_err();
    assert!(
        err.to_string().contains("cannot bind tcp://nowhere"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let endpoint = format!("ipc://{}", file.display());
    let err = bind(&endpoint).unwrap_err();
    assert!(
        err.to_string()
            .contains("exists and is not a socket; not removing it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    let live = dir.path().join("live.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&live).unwrap();
    let err = bind(&format!("ipc://{}", live.display())).unwrap_err();
    assert!(
        err.to_string()
            .contains("another process is listening on it"),
        "{err}"
    );
}

#[test]
fn stale_ipc_socket_is_replaced_and_a_restart_binds_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("captions.sock");
    // What a crash leaves behind: the socket file without a listener.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let endpoint = format!("ipc://{}", path.display());

    for run_no in 0..2 {
        let mut publisher = bind(&endpoint).unwrap();
        let sub = std::thread::spawn({
            let endpoint = endpoint.clone();
            move || live_subscriber(&endpoint)
        });
        let status = StatusBoard::new().snapshot();
        while !sub.is_finished() {
            publisher.publish_status(&status).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut sub = sub.join().unwrap();
        let c = caption("mic", run_no, now_us());
        publisher.publish_caption(&c).unwrap();
        let got = loop {
            if let Ok(Message::Caption(c)) = sub.recv().unwrap().message {
                break c;
            }
        };
        assert_eq!(got, c);
        sub.close();
        publisher.close();
        assert!(!path.exists(), "close removes the socket file");
    }
}

#[test]
fn subscriber_resumes_after_the_publisher_restarts() {
    let first = bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = first.endpoints()[0].clone();
    let mut publisher = Some(first);
    let mut sub = None;
    let mut tracker = GapTracker::new();
    let mut events = Vec::new();
    for restart in 0..2u64 {
        if publisher.is_none() {
            publisher = Some(bind(&endpoint).unwrap());
        }
        let p = publisher.as_mut().unwrap();
        let listener = std::thread::spawn({
            let endpoint = endpoint.clone();
            let existing = sub.take();
            move || {
                let mut s = match existing {
                    Some(s) => s,
                    None => Subscriber::connect(&endpoint, &[String::new()]).unwrap(),
                };
                loop {
                    if let Ok(Message::Caption(c)) = s.recv().unwrap().message {
                        return (s, c);
                    }
                }
            }
        });
        // The same subscriber socket must get a caption from this publisher incarnation.
        let mut seq = 0;
        while !listener.is_finished() && seq < 6000 {
            p.publish_caption(&caption("mic", seq, SystemTime::now()))
                .unwrap();
            seq += 1;
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(listener.is_finished(), "no caption after restart {restart}");
        let (s, c) = listener.join().unwrap();
        events.push(tracker.observe(&c.source, c.seq));
        sub = Some(s);
        publisher.take().unwrap().close();
    }
    assert_eq!(events[0], SeqEvent::First);
    assert!(matches!(
        events[1],
        SeqEvent::Restart { .. } | SeqEvent::Gap { .. } | SeqEvent::InOrder
    ));
}

#[test]
fn snapshot_returns_the_last_caption_of_every_source() {
    let mut publisher = bind("tcp://127.0.0.1:0").unwrap();
    let t0 = now_us();
    // Nobody subscribes: these are lost on the PUB socket, but remembered.
    for (source, seq) in [("mic", 0), ("mic", 1), ("b", 0), ("mic", 2), ("b", 1)] {
        publisher
            .publish_caption(&caption(source, seq, t0))
            .unwrap();
    }
    let server =
        SnapshotServer::bind(&["tcp://127.0.0.1:0".to_owned()], publisher.last_captions()).unwrap();
    let endpoint = server.endpoints()[0].clone();
    for _ in 0..2 {
        // Asked twice: the REP socket serves one request after another.
        let got = fetch_snapshot(&endpoint, Duration::from_secs(30)).unwrap();
        let got: Vec<_> = got.into_iter().map(|r| r.message.unwrap()).collect();
        assert_eq!(
            got,
            [
                Message::Caption(caption("b", 1, t0)),
                Message::Caption(caption("mic", 2, t0))
            ]
        );
    }

    // Anything but "snapshot" is refused with a reason.
    let reply = {
        let context = zmq::Context::new();
        let req = context.socket(zmq::REQ).unwrap();
        req.set_linger(0).unwrap();
        req.connect(&endpoint).unwrap();
        req.send("hello", 0).unwrap();
        req.recv_multipart(0).unwrap()
    };
    assert_eq!(reply[0].as_slice(), b"error");

    server.close();
    publisher.close();
    let err = fetch_snapshot(&endpoint, Duration::from_millis(300)).unwrap_err();
    assert!(matches!(err, SnapshotError::Timeout(..)), "{err}");
}

#[test]
fn start_wires_publisher_snapshot_and_heartbeat_from_the_config() {
    let config = soundscribe::config::PublishingConfig {
        endpoints: vec!["tcp://127.0.0.1:0".to_owned()],
        snapshot_endpoints: vec!["tcp://127.0.0.1:0".to_owned()],
        heartbeat_s: 0.02,
        ..Default::default()
    };
    let board = Arc::new(StatusBoard::new());
    board.register("mic");
    let started = soundscribe::publish::start(&config, board.clone()).unwrap();
    let endpoint = started.endpoints[0].clone();
    let mut sub = live_subscriber(&endpoint);
    let t0 = now_us();
    started
        .captions
        .send_blocking(caption("mic", 0, t0))
        .unwrap();
    let got = loop {
        if let Ok(Message::Caption(c)) = sub.recv().unwrap().message {
            break c;
        }
    };
    assert_eq!(got, caption("mic", 0, t0));
    let last = fetch_snapshot(&started.snapshot_endpoints[0], Duration::from_secs(30)).unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].message.as_ref().unwrap(), &Message::Caption(got));
    assert_eq!(board.snapshot().sources[0].windows_out, 1);

    started.stop.stop();
    let done = started.thread.join().unwrap();
    assert_eq!(done.captions, 1);
    assert!(done.heartbeats >= 1);
    assert_eq!(done.snapshots, 1);
}
