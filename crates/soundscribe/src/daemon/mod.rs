//! The daemon around the pipeline: [`serve`] wires sources, the engine thread and the
//! publisher together; [`reload`] applies a re-read config on SIGHUP; [`notify`] speaks
//! systemd's notify protocol; [`metrics`] renders `/metrics` for Prometheus.

pub mod metrics;
pub mod notify;
pub mod reload;
pub mod serve;

pub use serve::run;

use crate::audio::AudioError;
use crate::engine::captioner::EngineError;
use crate::engine::device::DeviceError;
use crate::publish::http::HttpError;
use crate::publish::PublishError;

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file does not load or cannot be served.
    #[error("{0}")]
    Config(String),
    /// An operating-system resource could not be set up.
    #[error("{what}")]
    Io {
        /// What was being set up.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Something else could not be set up.
    #[error("{0}")]
    Setup(String),
    /// The compute device.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The model.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The audio sources.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// Publishing.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The metrics/health endpoint.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl DaemonError {
    fn io(what: &'static str, source: std::io::Error) -> Self {
        DaemonError::Io { what, source }
    }
}
