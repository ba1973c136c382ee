//! The PUB socket: binds the configured endpoints, sends `[topic, payload]`, closes cleanly.
//!
//! Behaviour of the `zeromq` crate (0.7) this relies on, checked in `tests/publish_*.rs`:
//! - `send` never blocks on subscribers: it puts the message on a socket-wide fan-out queue
//!   (100 000 messages; when full, the message is dropped for *every* subscriber) and a
//!   task copies it to each subscriber's queue. The crate means those per-subscriber
//!   queues to hold 100 000 messages and drop beyond that (PUB high-water-mark policy), but
//!   in 0.7.0 they do not bound: every copy goes through a fresh clone of the queue's
//!   sender, and a fresh futures-channel sender always gets a slot. So a subscriber that
//!   stops reading without disconnecting costs memory (captions are ~1 KB, a few per
//!   second) instead of losing messages (`tests/publish_pyzmq.rs` measures it; numbers in
//!   the README).
//!   Subscribers see any loss as a jump in `seq`. With no subscriber, messages are
//!   discarded at once.
//! - A subscriber only receives messages sent after its subscription reached the
//!   publisher (the ZeroMQ "slow joiner"): the first messages after it connects are lost.
//! - Messages still queued when the socket is dropped are lost; [`Publisher::close`] waits
//!   `linger` for the queues to drain before and after unbinding.
//! - An `ipc://` socket file left behind by a crash makes the next bind fail with
//!   `EADDRINUSE`; [`Publisher::bind`] removes such a file only after checking that it is
//!   a socket and that nothing is listening on it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zeromq::{PubSocket, Socket, SocketSend, ZmqMessage};

use super::endpoint::prepare_endpoint;
use super::message::{Caption, Status};
use super::schema::{self, Encoded};
use super::snapshot::LastCaptions;
use super::PublishError;
use crate::config::PublishingConfig;

/// A bound ZeroMQ PUB socket.
pub struct Publisher {
    socket: PubSocket,
    /// Endpoints as bound (tcp port 0 resolved to the real port).
    endpoints: Vec<String>,
    linger: Duration,
    /// The last caption sent per topic, for the snapshot endpoint.
    last: Arc<LastCaptions>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("endpoints", &self.endpoints)
            .field("linger", &self.linger)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Binds a PUB socket to every endpoint of `config`.
    pub async fn from_config(config: &PublishingConfig) -> Result<Publisher, PublishError> {
        Publisher::bind(&config.endpoints, Duration::from_millis(config.linger_ms)).await
    }

    /// Binds a PUB socket to each of `endpoints` (`tcp://HOST:PORT`, port 0 picks a free
    /// one, or `ipc://PATH`). On any failure the endpoints bound so far are released.
    pub async fn bind(endpoints: &[String], linger: Duration) -> Result<Publisher, PublishError> {
        let mut socket = PubSocket::new();
        let mut bound = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let result = match prepare_endpoint(endpoint) {
                Ok(()) => socket.bind(endpoint).await.map_err(|e| e.to_string()),
                Err(problem) => Err(problem),
            };
            match result {
                Ok(resolved) => {
                    tracing::info!(endpoint = %resolved, "Publishing on endpoint.");
                    bound.push(resolved.to_string());
                }
                Err(problem) => {
                    let _ = socket.close().await;
                    return Err(PublishError::Bind {
                        endpoint: endpoint.clone(),
                        problem,
                    });
                }
            }
        }
        Ok(Publisher {
            socket,
            endpoints: bound,
            linger,
            last: Arc::default(),
        })
    }

    /// The bound endpoints, with tcp port 0 resolved (what subscribers connect to).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The last caption sent on each topic (what [`super::SnapshotServer`] serves).
    pub fn last_captions(&self) -> Arc<LastCaptions> {
        Arc::clone(&self.last)
    }

    /// Encodes and sends a caption on `caption.<source>`, and remembers it as the
    /// source's latest.
    pub async fn publish_caption(&mut self, caption: &Caption) -> Result<(), PublishError> {
        let encoded =
            schema::encode_caption(caption).map_err(|source| self.encode_error(source))?;
        self.last.record(&encoded);
        self.send(encoded).await
    }

    /// Encodes and sends a status snapshot on `status`.
    pub async fn publish_status(&mut self, status: &Status) -> Result<(), PublishError> {
        let encoded = schema::encode_status(status).map_err(|source| self.encode_error(source))?;
        self.send(encoded).await
    }

    /// Sends an already encoded message as two frames `[topic, payload]`.
    pub async fn send(&mut self, encoded: Encoded) -> Result<(), PublishError> {
        let mut message = ZmqMessage::from(Bytes::from(encoded.topic.clone().into_bytes()));
        message.push_back(Bytes::from(encoded.payload));
        self.socket
            .send(message)
            .await
            .map_err(|source| PublishError::Send {
                endpoint: self.endpoints.join(", "),
                topic: encoded.topic,
                source,
            })
    }

    fn encode_error(&self, source: schema::EncodeError) -> PublishError {
        PublishError::Encode {
            endpoint: self.endpoints.join(", "),
            source,
        }
    }

    /// Lets queued messages reach subscribers (up to `linger`), then unbinds every
    /// endpoint (removing ipc socket files) and drops the socket.
    pub async fn close(self) {
        // Sent messages first pass the crate's fan-out task, which drops them once the
        // socket is gone; give it time to move them onto the per-subscriber queues.
        tokio::time::sleep(self.linger / 2).await;
        let endpoints = self.endpoints.join(", ");
        for error in self.socket.close().await {
            tracing::warn!(%endpoints, %error, "Failed to unbind cleanly.");
        }
        // The per-subscriber writer tasks drain their queues after the socket is dropped.
        tokio::time::sleep(self.linger / 2).await;
        tracing::info!(%endpoints, "Publisher closed.");
    }
}
