//! Late joiners: a REP endpoint that returns the last caption of every source.
//!
//! A subscriber that connects misses everything published before its subscription took
//! effect; an overlay started late would show nothing until the next window. It can ask
//! the snapshot endpoint instead: request `snapshot` (one frame), reply
//! `["snapshot", topic, payload, topic, payload, ...]`, one pair per source, exactly the
//! bytes that were published (so the same decoder and schema apply). Any other request
//! gets `["error", reason]`. [`fetch`] is the client side.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use zeromq::{RepSocket, ReqSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

use super::endpoint::prepare_endpoint;
use super::schema::{self, Encoded};
use super::subscriber::Received;
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
    fn reply(&self) -> ZmqMessage {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut message = ZmqMessage::from(Bytes::from_static(b"snapshot"));
        for e in map.values() {
            message.push_back(Bytes::from(e.topic.clone().into_bytes()));
            message.push_back(Bytes::from(e.payload.clone()));
        }
        message
    }
}

/// A REP socket answering snapshot requests from a background task.
#[derive(Debug)]
pub struct SnapshotServer {
    endpoints: Vec<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SnapshotServer {
    /// Binds `endpoints` and starts answering from `last` (must run inside tokio).
    pub async fn bind(
        endpoints: &[String],
        last: Arc<LastCaptions>,
    ) -> Result<SnapshotServer, PublishError> {
        let mut socket = RepSocket::new();
        let mut bound = Vec::new();
        for endpoint in endpoints {
            if let Err(problem) = prepare_endpoint(endpoint) {
                let _ = socket.close().await;
                return Err(PublishError::Bind {
                    endpoint: endpoint.clone(),
                    problem,
                });
            }
            match socket.bind(endpoint).await {
                Ok(resolved) => bound.push(resolved.to_string()),
                Err(e) => {
                    let _ = socket.close().await;
                    return Err(PublishError::Bind {
                        endpoint: endpoint.clone(),
                        problem: e.to_string(),
                    });
                }
            }
        }
        tracing::info!(endpoints = %bound.join(", "), "Serving caption snapshots.");
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve(socket, last, stopped));
        Ok(SnapshotServer {
            endpoints: bound,
            stop,
            task,
        })
    }

    /// The bound endpoints (tcp port 0 resolved).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// Stops answering and unbinds.
    pub async fn close(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn serve(
    mut socket: RepSocket,
    last: Arc<LastCaptions>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let request = tokio::select! {
            _ = &mut stopped => break,
            r = socket.recv() => r,
        };
        let reply = match request {
            Ok(m) if m.len() == 1 && m.get(0).is_some_and(|f| f.as_ref() == SNAPSHOT_REQUEST) => {
                last.reply()
            }
            Ok(_) => {
                let mut m = ZmqMessage::from(Bytes::from_static(b"error"));
                m.push_back(Bytes::from_static(b"expected one frame: snapshot"));
                m
            }
            Err(error) => {
                tracing::warn!(%error, "Failed to read a snapshot request.");
                continue;
            }
        };
        if let Err(error) = socket.send(reply).await {
            tracing::warn!(%error, "Failed to answer a snapshot request.");
        }
    }
    for error in socket.close().await {
        tracing::warn!(%error, "Failed to unbind the snapshot endpoint cleanly.");
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
        /// The socket's error.
        #[source]
        source: zeromq::ZmqError,
    },
    /// The reply was not `["snapshot", topic, payload, ...]`.
    #[error("snapshot from {0}: {1}")]
    Reply(String, String),
}

/// Asks `endpoint` for the last caption of every source; each comes back decoded (or
/// with the reason it could not be), like a received message.
pub async fn fetch(endpoint: &str, timeout: Duration) -> Result<Vec<Received>, SnapshotError> {
    let socket_error = |source| SnapshotError::Socket {
        endpoint: endpoint.to_owned(),
        source,
    };
    let ask = async {
        let mut socket = ReqSocket::new();
        socket.connect(endpoint).await.map_err(socket_error)?;
        socket
            .send(ZmqMessage::from(Bytes::from_static(SNAPSHOT_REQUEST)))
            .await
            .map_err(socket_error)?;
        let reply = socket.recv().await.map_err(socket_error)?;
        let _ = socket.close().await;
        Ok(reply.into_vec())
    };
    let frames = tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| SnapshotError::Timeout(endpoint.to_owned(), timeout))??;
    let bad = |why: String| SnapshotError::Reply(endpoint.to_owned(), why);
    match frames.split_first() {
        Some((head, pairs)) if head.as_ref() == b"snapshot" && pairs.len() % 2 == 0 => Ok(pairs
            .chunks_exact(2)
            .map(|pair| {
                let frames: Vec<Vec<u8>> = pair.iter().map(|b| b.to_vec()).collect();
                Received {
                    topic: String::from_utf8_lossy(&frames[0]).into_owned(),
                    message: schema::decode_frames(&frames),
                    frames,
                }
            })
            .collect()),
        Some((head, rest)) if head.as_ref() == b"error" => Err(bad(format!(
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
