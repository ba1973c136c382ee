//! The PUB socket (libzmq): binds the configured endpoints, sends `[topic, payload]`,
//! closes cleanly.
//!
//! libzmq behaviour this relies on (measured in `tests/it/publish_*.rs`, README "ZeroMQ
//! behaviour to know"):
//! - `send` never blocks: each subscriber has its own queue of `send_hwm` messages
//!   (ZMQ_SNDHWM); a message that finds a subscriber's queue full is dropped for that
//!   subscriber only, and it sees a jump in `seq`. With no subscriber, messages are
//!   discarded at once.
//! - A subscriber only receives messages sent after its subscription reached the
//!   publisher (the ZeroMQ "slow joiner"): the first messages after it connects are lost.
//! - A PUB socket reads subscriptions from its peers, so ZMQ_MAXMSGSIZE bounds what one
//!   peer can make it allocate; a peer announcing a bigger frame is disconnected.
//! - [`Publisher::close`] closes the socket and then terminates its own context, which
//!   waits up to ZMQ_LINGER (`linger_ms`) for queued messages to go out.
//! - An `ipc://` socket file left behind by a crash would be unlinked by libzmq on bind
//!   whatever it is; [`Publisher::bind`] first checks that it is a socket nobody listens
//!   on (anything else is a bind error). libzmq 4.3.4 leaves the file behind on close, so
//!   [`Publisher::close`] removes it.

use std::sync::Arc;
use std::time::Duration;

use super::endpoint::remove_ipc_files;
use super::message::{Caption, Status};
use super::schema::{self, Encoded};
use super::snapshot::LastCaptions;
use super::socket::{bind_all, unbind_all, SocketOptions};
use super::PublishError;
use crate::config::PublishingConfig;

/// A bound ZeroMQ PUB socket, with the context it lives in.
pub struct Publisher {
    // Dropped in this order: the socket, then the context (whose termination waits out
    // the linger).
    socket: zmq::Socket,
    context: zmq::Context,
    /// Endpoints as bound (tcp port 0 resolved to the real port).
    endpoints: Vec<String>,
    options: SocketOptions,
    /// The last caption sent per topic, for the snapshot endpoint.
    last: Arc<LastCaptions>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("endpoints", &self.endpoints)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Binds a PUB socket to every endpoint of `config`, with its HWM, size limit and linger.
    pub fn from_config(config: &PublishingConfig) -> Result<Publisher, PublishError> {
        Publisher::bind_with(&config.endpoints, SocketOptions::from_config(config))
    }

    /// Binds a PUB socket to each of `endpoints` (`tcp://HOST:PORT`, port 0 picks a free
    /// one, or `ipc://PATH`) with default options and `linger`.
    pub fn bind(endpoints: &[String], linger: Duration) -> Result<Publisher, PublishError> {
        Publisher::bind_with(endpoints, SocketOptions::with_linger(linger))
    }

    /// [`Publisher::bind`] with explicit options. On any failure the endpoints bound so
    /// far are released.
    pub fn bind_with(
        endpoints: &[String],
        options: SocketOptions,
    ) -> Result<Publisher, PublishError> {
        let context = zmq::Context::new();
        let socket = context
            .socket(zmq::PUB)
            .map_err(|source| PublishError::Setup {
                what: "PUB socket".into(),
                source,
            })?;
        options.apply(&socket, "PUB")?;
        let bound = match bind_all(&socket, endpoints) {
            Ok(bound) => bound,
            Err(e) => {
                let _ = socket.set_linger(0);
                return Err(e);
            }
        };
        for endpoint in &bound {
            tracing::info!(%endpoint, "Publishing on endpoint.");
        }
        Ok(Publisher {
            socket,
            context,
            endpoints: bound,
            options,
            last: Arc::default(),
        })
    }

    /// The bound endpoints, with tcp port 0 resolved (what subscribers connect to).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The options the socket was set up with.
    pub fn options(&self) -> SocketOptions {
        self.options
    }

    /// The context the socket lives in (the snapshot socket shares it).
    pub(super) fn context(&self) -> &zmq::Context {
        &self.context
    }

    /// The last caption sent on each topic (what [`super::SnapshotServer`] serves).
    pub fn last_captions(&self) -> Arc<LastCaptions> {
        Arc::clone(&self.last)
    }

    /// Encodes and sends a caption on `caption.<source>`, and remembers it as the
    /// source's latest.
    pub fn publish_caption(&mut self, caption: &Caption) -> Result<(), PublishError> {
        let encoded =
            schema::encode_caption(caption).map_err(|source| self.encode_error(source))?;
        self.last.record(&encoded);
        self.send(encoded)
    }

    /// Encodes and sends a status snapshot on `status`.
    pub fn publish_status(&mut self, status: &Status) -> Result<(), PublishError> {
        let encoded = schema::encode_status(status).map_err(|source| self.encode_error(source))?;
        self.send(encoded)
    }

    /// Sends an already encoded message as two frames `[topic, payload]`. Never blocks:
    /// a subscriber whose queue is full misses it.
    pub fn send(&mut self, encoded: Encoded) -> Result<(), PublishError> {
        let sent = self
            .socket
            .send(encoded.topic.as_bytes(), zmq::SNDMORE | zmq::DONTWAIT)
            .and_then(|()| self.socket.send(encoded.payload, zmq::DONTWAIT));
        sent.map_err(|source| PublishError::Send {
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

    /// Closes the socket (no new subscribers; ipc socket files are removed) and waits up
    /// to the linger for queued messages to reach subscribers.
    pub fn close(self) {
        unbind_all(&self.socket, &self.endpoints);
        let endpoints = self.endpoints.join(", ");
        let Publisher {
            socket,
            context,
            endpoints: self_endpoints,
            ..
        } = self;
        drop(socket);
        // Terminating the context waits until every queued message is out or the
        // linger has passed.
        drop(context);
        remove_ipc_files(&self_endpoints);
        tracing::info!(%endpoints, "Publisher closed.");
    }
}
