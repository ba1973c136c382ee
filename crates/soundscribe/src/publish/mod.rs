//! Publishing: finished captions and status heartbeats out on ZeroMQ.
//!
//! The engine thread hands [`Caption`]s to a bounded channel ([`caption_channel`]); one
//! publisher thread ([`start`], running [`run`]) numbers them per source, encodes them once
//! ([`schema`]) and sends `[topic, payload]` on a libzmq PUB socket ([`Publisher`]) bound
//! to the configured endpoints, with a `status` heartbeat from a [`StatusProvider`] every
//! `heartbeat_s`. The same thread answers late joiners on a [`SnapshotServer`] (REP) with
//! the last caption of every source: libzmq sockets are not thread-safe, so exactly one
//! thread owns them, and it stamps a [`Beat`] every turn so the daemon can tell that it
//! still runs. Nothing here knows about models or tch. [`Subscriber`] and [`GapTracker`]
//! are the reading side, used by `soundscribe listen` and by tests.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod beat;
mod endpoint;
pub mod http;
mod message;
pub mod schema;
mod service;
mod snapshot;
mod socket;
mod status;
mod subscriber;
pub mod subtitles;
mod zmq;

pub use beat::Beat;
pub use message::{
    Alternative, Caption, CaptionFlags, Latency, Message, SourceStatus, Status, WindowSpan,
};
pub use schema::{DecodeError, EncodeError, Encoded, SCHEMA_VERSION};
pub use service::{
    caption_channel, run, start, CaptionReceiver, CaptionSender, ChannelClosed, PublisherThread,
    RunSummary, Started, StopHandle, StopSignal, TURN,
};
pub use snapshot::{
    fetch as fetch_snapshot, LastCaptions, SnapshotError, SnapshotServer, SnapshotThread,
};
pub use socket::SocketOptions;
pub use status::{StatusBoard, StatusProvider};
pub use subscriber::{GapTracker, Received, SeqEvent, Subscriber, MAX_FRAME_BYTES};
pub use zmq::Publisher;

/// Why publishing failed; every variant names the endpoint(s) involved.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// An endpoint could not be bound (address in use, bad address, live ipc socket).
    #[error("cannot bind {endpoint}: {problem}")]
    Bind {
        /// The endpoint as configured.
        endpoint: String,
        /// What went wrong.
        problem: String,
    },
    /// A message could not be encoded (it breaks the schema); nothing was sent.
    #[error("on {endpoint}: {source}")]
    Encode {
        /// The bound endpoints, comma-separated.
        endpoint: String,
        /// The encoder's complaint.
        #[source]
        source: EncodeError,
    },
    /// The socket refused a message.
    #[error("cannot send {topic} on {endpoint}: {source}")]
    Send {
        /// The bound endpoints, comma-separated.
        endpoint: String,
        /// The topic of the message.
        topic: String,
        /// The socket's error.
        #[source]
        source: ::zmq::Error,
    },
    /// A socket could not be created or configured.
    #[error("cannot set up the {what}: {source}")]
    Setup {
        /// Which socket or option.
        what: String,
        /// libzmq's error.
        #[source]
        source: ::zmq::Error,
    },
    /// The publisher thread could not be started, or it panicked.
    #[error("publisher thread: {0}")]
    Thread(String),
}
