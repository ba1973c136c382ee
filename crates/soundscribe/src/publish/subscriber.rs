//! The reading side: a SUB socket that decodes what arrives, and sequence-gap tracking.
//!
//! [`Subscriber::recv`] never fails on a bad message: it returns the raw frames together
//! with the [`DecodeError`], so a client can report it and carry on. [`GapTracker`] turns
//! per-source sequence numbers into "n captions missing" reports.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use super::message::Message;
use super::schema::{self, DecodeError};
use super::socket::millis_i32;

/// Largest frame a [`Subscriber`] accepts (ZMQ_MAXMSGSIZE); a caption is about 1 KB.
pub const MAX_FRAME_BYTES: i64 = 64 * 1024;

/// The libzmq context the client sockets of this process share (one I/O thread).
pub(super) fn client_context() -> &'static zmq::Context {
    static CONTEXT: OnceLock<zmq::Context> = OnceLock::new();
    CONTEXT.get_or_init(zmq::Context::new)
}

/// A ZeroMQ SUB socket connected to one publisher endpoint. Blocking; move it to the
/// thread that reads.
pub struct Subscriber {
    socket: zmq::Socket,
    endpoint: String,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The first frame, lossily as text.
    pub topic: String,
    /// The raw frames (normally `[topic, payload]`).
    pub frames: Vec<Vec<u8>>,
    /// The decoded message, or why it was rejected.
    pub message: Result<Message, DecodeError>,
}

impl Subscriber {
    /// Connects to `endpoint` and subscribes to each topic prefix in `topics` (`""` is
    /// everything). Returns at once: libzmq connects (and reconnects) in the background,
    /// so messages published before the connection is up are not seen.
    pub fn connect(endpoint: &str, topics: &[String]) -> Result<Subscriber, zmq::Error> {
        let socket = client_context().socket(zmq::SUB)?;
        socket.set_linger(0)?;
        socket.set_maxmsgsize(MAX_FRAME_BYTES)?;
        socket.set_tcp_keepalive(1)?;
        socket.connect(endpoint)?;
        for topic in topics {
            socket.set_subscribe(topic.as_bytes())?;
        }
        Ok(Subscriber {
            socket,
            endpoint: endpoint.to_owned(),
        })
    }

    /// The endpoint this subscriber is connected to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Waits, without limit, for the next message; errors only when the socket fails
    /// (a signal arriving meanwhile does not end the wait).
    pub fn recv(&mut self) -> Result<Received, zmq::Error> {
        loop {
            match self.socket.recv_multipart(0) {
                Ok(frames) => return Ok(Subscriber::received(frames)),
                Err(zmq::Error::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits up to `timeout` for the next message; `None` when none came (or a signal
    /// cut the wait short, so the caller can look at why).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Received>, zmq::Error> {
        match self
            .socket
            .poll(zmq::POLLIN, i64::from(millis_i32(timeout)))
        {
            Ok(0) | Err(zmq::Error::EINTR) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
        match self.socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => Ok(Some(Subscriber::received(frames))),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn received(frames: Vec<Vec<u8>>) -> Received {
        let topic = frames
            .first()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .unwrap_or_default();
        let message = schema::decode_frames(&frames);
        Received {
            topic,
            frames,
            message,
        }
    }

    /// Closes the socket (queued messages are discarded).
    pub fn close(self) {
        drop(self.socket);
    }
}

/// What one sequence number says about the stream of its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqEvent {
    /// The first caption seen from this source.
    First,
    /// Exactly the expected next number.
    InOrder,
    /// Numbers `expected..got` never arrived.
    Gap {
        /// The number that should have come.
        expected: u64,
        /// The number that came.
        got: u64,
    },
    /// The same number again (e.g. seen in a snapshot, then live): a duplicate.
    Repeat,
    /// The number went backwards: the publisher restarted.
    Restart {
        /// The last number seen before.
        last: u64,
        /// The number that came.
        got: u64,
    },
}

impl SeqEvent {
    /// How many captions are missing (0 unless this is a gap).
    pub fn missing(&self) -> u64 {
        match *self {
            SeqEvent::Gap { expected, got } => got - expected,
            _ => 0,
        }
    }
}

/// Remembers the last sequence number of every source.
#[derive(Debug, Default, Clone)]
pub struct GapTracker {
    last: HashMap<String, u64>,
}

impl GapTracker {
    /// An empty tracker.
    pub fn new() -> GapTracker {
        GapTracker::default()
    }

    /// Records `seq` for `source` and classifies it.
    pub fn observe(&mut self, source: &str, seq: u64) -> SeqEvent {
        let event = match self.last.get(source) {
            None => SeqEvent::First,
            Some(&last) if last.checked_add(1) == Some(seq) => SeqEvent::InOrder,
            Some(&last) if seq > last => SeqEvent::Gap {
                expected: last + 1,
                got: seq,
            },
            Some(&last) if seq == last => SeqEvent::Repeat,
            Some(&last) => SeqEvent::Restart { last, got: seq },
        };
        self.last.insert(source.to_owned(), seq);
        event
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_restarts_are_classified() {
        let mut t = GapTracker::new();
        assert_eq!(t.observe("a", 5), SeqEvent::First);
        assert_eq!(t.observe("a", 6), SeqEvent::InOrder);
        assert_eq!(t.observe("b", 0), SeqEvent::First);
        let gap = t.observe("a", 9);
        assert_eq!(
            gap,
            SeqEvent::Gap {
                expected: 7,
                got: 9
            }
        );
        assert_eq!(gap.missing(), 2);
        assert_eq!(t.observe("a", 0), SeqEvent::Restart { last: 9, got: 0 });
        assert_eq!(t.observe("a", 1), SeqEvent::InOrder);
        assert_eq!(t.observe("b", 1), SeqEvent::InOrder);
        assert_eq!(
            t.observe("a", u64::MAX),
            SeqEvent::Gap {
                expected: 2,
                got: u64::MAX
            }
        );
        assert_eq!(t.observe("a", u64::MAX), SeqEvent::Repeat);
        assert_eq!(
            t.observe("a", 3),
            SeqEvent::Restart {
                last: u64::MAX,
                got: 3
            }
        );
    }
}
