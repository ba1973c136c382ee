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

use super::endpoint::{prepare_endpoint, remove_ipc_files};
use super::message::{Caption, Status};
use super::schema::{self, Encoded};
use super::snapshot::LastCaptions;
use super::PublishError;
use crate::config::PublishingConfig;

/// Options every socket of the publishing side gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// ZMQ_SNDHWM: messages queued per peer before they are dropped (PUB) or refused.
    pub send_hwm: i32,
    /// ZMQ_MAXMSGSIZE: largest frame accepted from a peer, in bytes.
    pub max_message_bytes: i64,
    /// ZMQ_LINGER: how long closing waits for queued messages.
    pub linger: Duration,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions::from_config(&PublishingConfig::default())
    }
}

impl SocketOptions {
    /// The options `config` asks for.
    pub fn from_config(config: &PublishingConfig) -> SocketOptions {
        SocketOptions {
            send_hwm: config.send_hwm,
            max_message_bytes: config.max_message_bytes,
            linger: Duration::from_millis(config.linger_ms),
        }
    }

    /// The defaults with another linger.
    pub fn with_linger(linger: Duration) -> SocketOptions {
        SocketOptions {
            linger,
            ..SocketOptions::default()
        }
    }

    /// Applies the options (and TCP keepalive, so dead peers are noticed) to `socket`.
    pub(super) fn apply(&self, socket: &zmq::Socket, what: &str) -> Result<(), PublishError> {
        let setup = |source| PublishError::Setup {
            what: format!("{what} socket"),
            source,
        };
        socket.set_sndhwm(self.send_hwm).map_err(setup)?;
        socket
            .set_maxmsgsize(self.max_message_bytes)
            .map_err(setup)?;
        socket.set_linger(millis_i32(self.linger)).map_err(setup)?;
        socket.set_tcp_keepalive(1).map_err(setup)?;
        socket.set_tcp_keepalive_idle(60).map_err(setup)?;
        socket.set_tcp_keepalive_intvl(10).map_err(setup)?;
        socket.set_tcp_keepalive_cnt(6).map_err(setup)?;
        Ok(())
    }
}

/// `d` in whole milliseconds, saturating at `i32::MAX` (libzmq's option type).
pub(super) fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// Binds `socket` to each of `endpoints`; returns them with tcp port 0 resolved. On a
/// failure the socket is left to the caller to drop (set its linger to 0 first).
pub(super) fn bind_all(
    socket: &zmq::Socket,
    endpoints: &[String],
) -> Result<Vec<String>, PublishError> {
    let mut bound = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let bind_error = |problem: String| PublishError::Bind {
            endpoint: endpoint.clone(),
            problem,
        };
        prepare_endpoint(endpoint).map_err(bind_error)?;
        if endpoint.contains('[') {
            socket
                .set_ipv6(true)
                .map_err(|e| bind_error(e.to_string()))?;
        }
        socket
            .bind(endpoint)
            .map_err(|e| bind_error(e.to_string()))?;
        let resolved = match socket.get_last_endpoint() {
            Ok(Ok(resolved)) => resolved,
            _ => endpoint.clone(),
        };
        bound.push(resolved);
    }
    Ok(bound)
}

/// Unbinds each of `endpoints` (as resolved): stops listening at once and makes libzmq
/// remove the socket file of an `ipc://` endpoint. Connections already made stay.
pub(super) fn unbind_all(socket: &zmq::Socket, endpoints: &[String]) {
    for endpoint in endpoints {
        if let Err(error) = socket.unbind(endpoint) {
            tracing::warn!(%endpoint, %error, "Failed to unbind cleanly.");
        }
    }
}

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
