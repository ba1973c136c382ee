//! The audio front end: sources → mono → model rate → overlapping [`Window`]s.
//!
//! Each configured source runs on its own thread ([`source`]): it reads frames from a live
//! device ([`device`], cpal callback → lock-free ring), a file ([`file`]) or raw PCM
//! ([`pcm`]), then [`pipeline::Pipeline`] sanitises, downmixes, resamples ([`resample`],
//! rubato FFT) and cuts windows ([`window`]) that go to the engine through a bounded
//! drop-oldest queue per source ([`queue`]). Nothing here touches the model or `tch`.

// Audio threads must not die on a surprise: errors are values here.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod device;
pub mod fifo;
pub mod file;
mod mp3_sync;
pub mod pcm;
pub mod pipeline;
mod probe;
pub mod queue;
pub mod resample;
mod rf64;
pub mod ring;
pub mod source;
mod sym_reader;
mod wav;
pub mod window;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use pipeline::Pipeline;
pub use queue::{
    QueuePolicy, RecvOutcome, SourceAdder, SourceStats, StatsSnapshot, WindowReceivers,
    WindowSender,
};
pub use resample::MonoResampler;
pub use source::{FrontEnd, PreparedSource, SourceHandle};
pub use window::{WindowSpec, Windower};

/// Input sample rates the front end accepts (as `sources[].sample_rate` does for PCM):
/// anything else in a file header is treated as a corrupt header.
pub const RATE_RANGE: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// Rejects a stream layout the pipeline cannot use: no channels, or a rate outside
/// [`RATE_RANGE`]. `what` starts the message, e.g. "WAV header says".
pub(crate) fn check_layout(
    path: &std::path::Path,
    what: &str,
    channels: u16,
    rate: u32,
) -> Result<(), AudioError> {
    if channels == 0 {
        return Err(AudioError::format(path, format!("{what} zero channels")));
    }
    if !RATE_RANGE.contains(&rate) {
        return Err(AudioError::format(
            path,
            format!("{what} {rate} Hz (supported: 1000 to 768000)"),
        ));
    }
    Ok(())
}

/// A source's id as configured (`sources[].id`); cheap to clone into every window.
pub type SourceId = Arc<str>;

/// A position on a source's stream clock: a sample index at `rate` Hz.
///
/// Stream time counts samples at the model rate from the moment the source started,
/// including gaps (device loss) — so it never hides missing audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamTime {
    /// Sample index since the source started.
    pub sample: u64,
    /// Samples per second of this clock.
    pub rate: u32,
}

impl StreamTime {
    /// The position in seconds.
    pub fn seconds(&self) -> f64 {
        self.sample as f64 / f64::from(self.rate)
    }
}

/// One window of mono audio at the model's rate, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The source it came from.
    pub source: SourceId,
    /// Index of the window on its source's hop grid (gated windows use a number too).
    pub seq: u64,
    /// First sample (inclusive) in stream time.
    pub start: StreamTime,
    /// Last sample (exclusive) in stream time; `end - start` is shorter than the window
    /// length only for the last window before a gap or the end of the stream.
    pub end: StreamTime,
    /// Wall-clock time of the first sample.
    pub wall: SystemTime,
    /// RMS level of the window in dBFS (−∞ for digital silence).
    pub rms_dbfs: f32,
    /// True when the silence gate rejected this window; its `samples` are then empty.
    pub gated: bool,
    /// Samples at the end of this window that no earlier window of the source contained
    /// (the loss accounting counts each stream sample exactly once through this).
    pub new_samples: u32,
    /// Mono samples at `start.rate`, nominally in [-1, 1].
    pub samples: Vec<f32>,
}

impl Window {
    /// Length of the window in stream time.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(
            (self.end.sample - self.start.sample) as f64 / f64::from(self.start.rate),
        )
    }

    /// Wall-clock time just after the last sample.
    pub fn wall_end(&self) -> SystemTime {
        self.wall + self.duration()
    }
}

/// Why an audio source could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// A file or stream could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file, FIFO or `-` for stdin.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or stream's content is unusable (bad header, truncated, unsupported format).
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file, FIFO or `-` for stdin.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A capture device could not be found, opened or kept running.
    #[error("audio device {device:?}: {problem}")]
    Device {
        /// The configured device name (or `default`).
        device: String,
        /// What went wrong.
        problem: String,
    },
    /// Rates or window sizes the front end cannot work with.
    #[error("audio setup: {0}")]
    Setup(String),
    /// The consumer of the windows has gone away.
    #[error("the window consumer has stopped")]
    Closed,
}

impl AudioError {
    pub(crate) fn format(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        AudioError::Format {
            path: path.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn device(device: &str, problem: impl std::fmt::Display) -> Self {
        AudioError::Device {
            device: device.to_owned(),
            problem: problem.to_string(),
        }
    }
}

/// A pull source of interleaved `f32` frames: files and raw PCM streams.
pub trait FrameRead: Send {
    /// Sample rate in Hz.
    fn rate(&self) -> u32;
    /// Channels per frame.
    fn channels(&self) -> u16;
    /// Clears `buf` and fills it with up to `max_frames` whole frames; `Ok(0)` at the end.
    fn read_frames(&mut self, buf: &mut Vec<f32>, max_frames: usize) -> Result<usize, AudioError>;
}

/// RMS level of `samples` in dBFS (a full-scale sine is −3 dB); −∞ for silence or no samples.
pub fn rms_dbfs(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return f32::NEG_INFINITY;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    (20.0 * rms.log10()) as f32
}
