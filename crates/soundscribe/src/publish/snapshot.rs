//! Late joiners: a REP endpoint that returns the last caption of every source.
//!
//! A subscriber that connects misses everything published before its subscription took
//! effect; an overlay started late would show nothing until the next window. It can ask
//! the snapshot endpoint instead: request `snapshot` (one frame), reply
//! `["snapshot", topic, payload, topic, payload, ...]`, one pair per source, exactly the
//! bytes that were published (so the same decoder and schema apply). Any other request
//! gets `["error", reason]`. [`fetch`] is the client side.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::endpoint::remove_ipc_files;
use super::schema::{self, Encoded};
use super::socket::{bind_all, millis_i32, unbind_all, SocketOptions};
use super::subscriber::{client_context, Received};
use super::PublishError;

/// The request frame.
pub const SNAPSHOT_REQUEST: &[u8] = b"snapshot";

/// The last published caption of every source, as encoded.
#[derive(Debug, Default)]
pub struct LastCaptions(Mutex<BTreeMap<String, Encoded>>);

impl LastCaptions {
    /// Remembers `encoded` as the latest caption on its topic.
    pub fn record(&self, encoded: &Encoded) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(encoded.topic.clone(), encoded.clone());
    }

    /// The reply to a snapshot request.
    fn reply(&self) -> Vec<Vec<u8>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut frames = Vec::with_capacity(1 + 2 * map.len());
        frames.push(b"snapshot".to_vec());
        for e in map.values() {
            frames.push(e.topic.clone().into_bytes());
            frames.push(e.payload.clone());
        }
        frames
    }
}

/// A bound REP socket answering snapshot requests. It does nothing by itself: the
/// publisher thread calls [`SnapshotServer::serve_pending`] every turn (one thread owns
/// the socket); [`SnapshotServer::spawn`] gives it a thread of its own instead.
pub struct SnapshotServer {
    socket: zmq::Socket,
    endpoints: Vec<String>,
    last: Arc<LastCaptions>,
}

impl std::fmt::Debug for SnapshotServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotServer")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl SnapshotServer {
    /// Binds `endpoints` with default options, answering from `last`, on a thread of its
    /// own (for tools and tests; the daemon serves from the publisher thread).
    pub fn bind(
        endpoints: &[String],
        last: Arc<LastCaptions>,
    ) -> Result<SnapshotThread, PublishError> {
        let server = SnapshotServer::bind_in(
            &zmq::Context::new(),
            endpoints,
            last,
            SocketOptions::default(),
        )?;
        server.spawn()
    }

    /// Binds a REP socket in `context` to `endpoints`, answering from `last`.
    pub(super) fn bind_in(
        context: &zmq::Context,
        endpoints: &[String],
        last: Arc<LastCaptions>,
        options: SocketOptions,
    ) -> Result<SnapshotServer, PublishError> {
        let socket = context
            .socket(zmq::REP)
            .map_err(|source| PublishError::Setup {
                what: "snapshot REP socket".into(),
                source,
            })?;
        // A reply that cannot go out at once is not worth waiting for on close.
        let options = SocketOptions {
            linger: Duration::ZERO,
            ..options
        };
        options.apply(&socket, "snapshot REP")?;
        let bound = bind_all(&socket, endpoints)?;
        tracing::info!(endpoints = %bound.join(", "), "Serving caption snapshots.");
        Ok(SnapshotServer {
            socket,
            endpoints: bound,
            last,
        })
    }

    /// The bound endpoints (tcp port 0 resolved).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Waits up to `timeout` for a request, then answers every request already there
    /// without blocking; returns how many were answered.
    pub fn serve_pending(&mut self, timeout: Duration) -> usize {
        let ready = self
            .socket
            .poll(zmq::POLLIN, i64::from(millis_i32(timeout)))
            .unwrap_or(0);
        if ready == 0 {
            return 0;
        }
        let mut answered = 0;
        loop {
            let request = match self.socket.recv_multipart(zmq::DONTWAIT) {
                Ok(request) => request,
                Err(zmq::Error::EAGAIN) => return answered,
                Err(error) => {
                    tracing::warn!(%error, "Failed to read a snapshot request.");
                    return answered;
                }
            };
            let reply = if request.len() == 1 && request[0] == SNAPSHOT_REQUEST {
                self.last.reply()
            } else {
                vec![b"error".to_vec(), b"expected one frame: snapshot".to_vec()]
            };
            // REP answers the peer that asked; the send cannot block (the reply is
            // dropped if that peer is gone).
            if let Err(error) = self.socket.send_multipart(reply, zmq::DONTWAIT) {
                tracing::warn!(%error, "Failed to answer a snapshot request.");
            }
            answered += 1;
        }
    }

    /// Answers on a thread of its own until [`SnapshotThread::close`].
    pub fn spawn(self) -> Result<SnapshotThread, PublishError> {
        let endpoints = self.endpoints.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let mut server = self;
        let thread = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    server.serve_pending(Duration::from_millis(20));
                }
                server.close();
            })
            .map_err(|e| PublishError::Thread(format!("cannot start the snapshot thread: {e}")))?;
        Ok(SnapshotThread {
            endpoints,
            stop,
            thread,
        })
    }

    /// Unbinds (removing ipc socket files) and closes the socket.
    pub fn close(self) {
        unbind_all(&self.socket, &self.endpoints);
        drop(self.socket);
        remove_ipc_files(&self.endpoints);
    }
}

/// A [`SnapshotServer`] answering on its own thread.
#[derive(Debug)]
pub struct SnapshotThread {
    endpoints: Vec<String>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl SnapshotThread {
    /// The bound endpoints (tcp port 0 resolved).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Stops answering and unbinds.
    pub fn close(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Why a snapshot could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// No answer within the timeout (nobody bound there, or it hangs).
    #[error("no snapshot from {0} within {1:?}")]
    Timeout(String, Duration),
    /// The socket failed.
    #[error("snapshot from {endpoint}: {source}")]
    Socket {
        /// Where it was asked.
        endpoint: String,
        /// libzmq's error.
        #[source]
        source: zmq::Error,
    },
    /// The reply was not `["snapshot", topic, payload, ...]`.
    #[error("snapshot from {0}: {1}")]
    Reply(String, String),
}

/// Largest reply frame [`fetch`] accepts (a caption is about 1 KB).
const MAX_REPLY_FRAME_BYTES: i64 = 1 << 20;

/// Asks `endpoint` for the last caption of every source; each comes back decoded (or
/// with the reason it could not be), like a received message. Blocks up to `timeout`.
pub fn fetch(endpoint: &str, timeout: Duration) -> Result<Vec<Received>, SnapshotError> {
    let socket_error = |source| SnapshotError::Socket {
        endpoint: endpoint.to_owned(),
        source,
    };
    let deadline = Instant::now() + timeout;
    let socket = client_context().socket(zmq::REQ).map_err(socket_error)?;
    socket.set_linger(0).map_err(socket_error)?;
    socket
        .set_maxmsgsize(MAX_REPLY_FRAME_BYTES)
        .map_err(socket_error)?;
    socket
        .set_sndtimeo(millis_i32(timeout))
        .map_err(socket_error)?;
    socket.connect(endpoint).map_err(socket_error)?;
    match socket.send(SNAPSHOT_REQUEST, 0) {
        Ok(()) => {}
        Err(zmq::Error::EAGAIN) => {
            return Err(SnapshotError::Timeout(endpoint.to_owned(), timeout))
        }
        Err(e) => return Err(socket_error(e)),
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match socket.poll(zmq::POLLIN, i64::from(millis_i32(left))) {
            Ok(0) => return Err(SnapshotError::Timeout(endpoint.to_owned(), timeout)),
            Ok(_) => break,
            Err(zmq::Error::EINTR) => continue,
            Err(e) => return Err(socket_error(e)),
        }
    }
    let frames = socket.recv_multipart(zmq::DONTWAIT).map_err(socket_error)?;
    let bad = |why: String| SnapshotError::Reply(endpoint.to_owned(), why);
    match frames.split_first() {
        Some((head, pairs)) if head.as_slice() == b"snapshot" && pairs.len() % 2 == 0 => Ok(pairs
            .chunks_exact(2)
            .map(|pair| {
                let frames: Vec<Vec<u8>> = pair.to_vec();
                Received {
                    topic: String::from_utf8_lossy(&frames[0]).into_owned(),
                    message: schema::decode_frames(&frames),
                    frames,
                }
            })
            .collect()),
        Some((head, rest)) if head.as_slice() == b"error" => Err(bad(format!(
            "refused: {}",
            rest.first()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .unwrap_or_default()
        ))),
        _ => Err(bad(format!(
            "expected [\"snapshot\", topic, payload, ...], got {} frames",
            frames.len()
        ))),
    }
}
