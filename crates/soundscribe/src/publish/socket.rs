//! What every libzmq socket of the publishing side shares: its options (high-water mark,
//! largest accepted frame, linger, TCP keepalive) and binding and unbinding a list of
//! endpoints.

use std::time::Duration;

use super::endpoint::prepare_endpoint;
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
