//! Publishing: finished captions and status heartbeats out on ZeroMQ.
//!
//! The engine thread hands [`Caption`]s to a bounded channel ([`caption_channel`]); the
//! async side ([`run`], on tokio) numbers them per source, encodes them once
//! ([`schema`]) and sends `[topic, payload]` on a PUB socket ([`Publisher`]) bound to the
//! configured endpoints, with a `status` heartbeat from a [`StatusProvider`] every
//! `heartbeat_s`. A [`SnapshotServer`] (REP) hands late joiners the last caption of
//! every source. Nothing here knows about models or tch. [`Subscriber`] and
//! [`GapTracker`] are the reading side, used by `soundscribe listen` and by tests.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod endpoint;
pub mod http;
mod message;
pub mod schema;
mod service;
mod snapshot;
mod status;
mod subscriber;
mod zmq;

pub use message::{
    Alternative, Caption, CaptionFlags, Latency, Message, SourceStatus, Status, WindowSpan,
};
pub use schema::{DecodeError, EncodeError, Encoded, SCHEMA_VERSION};
pub use service::{
    caption_channel, run, start, CaptionReceiver, CaptionSender, ChannelClosed, RunSummary, Started,
};
pub use snapshot::{fetch as fetch_snapshot, LastCaptions, SnapshotError, SnapshotServer};
pub use status::{StatusBoard, StatusProvider};
pub use subscriber::{GapTracker, Received, SeqEvent, Subscriber};
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
        source: ::zeromq::ZmqError,
    },
}
