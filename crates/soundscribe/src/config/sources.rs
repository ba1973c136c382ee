//! Audio source configuration: live devices, files and raw PCM streams.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigIssue, WindowingConfig};

/// One audio input. `kind` selects the variant; `id` names it in topics and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    /// A live capture device through cpal (ALSA).
    Device(DeviceSource),
    /// An audio file (WAV, FLAC, OGG, MP3), optionally paced at real time.
    File(FileSource),
    /// Raw interleaved PCM on stdin (`path = "-"`) or a named pipe.
    Pcm(PcmSource),
}

/// A live capture device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSource {
    /// Source id, used in topics (`caption.<id>`) and metrics.
    pub id: String,
    /// Device name as cpal lists it; the host's default input when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Requested capture rate in Hz; the device's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Requested channel count; the device's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    /// Overrides `windowing.window_s` for this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Overrides `windowing.hop_s` for this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_s: Option<f64>,
}

/// An audio file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// Source id, used in topics (`caption.<id>`) and metrics.
    pub id: String,
    /// Path of the file.
    pub path: PathBuf,
    /// Pace reading at real time so the file stands in for a live stream.
    #[serde(default)]
    pub realtime: bool,
    /// Overrides `windowing.window_s` for this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Overrides `windowing.hop_s` for this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_s: Option<f64>,
}

/// Sample encodings accepted on raw PCM inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PcmFormat {
    /// Signed 16-bit little-endian.
    S16le,
    /// 32-bit float little-endian.
    F32le,
}

/// Raw interleaved PCM from stdin or a named pipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcmSource {
    /// Source id, used in topics (`caption.<id>`) and metrics.
    pub id: String,
    /// `-` for stdin, otherwise a path (typically a FIFO).
    pub path: PathBuf,
    /// Sample encoding.
    pub format: PcmFormat,
    /// Sample rate of the stream in Hz.
    pub sample_rate: u32,
    /// Interleaved channel count.
    pub channels: u16,
    /// Overrides `windowing.window_s` for this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Overrides `windowing.hop_s` for this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_s: Option<f64>,
}

impl SourceConfig {
    /// The source's id.
    pub fn id(&self) -> &str {
        match self {
            SourceConfig::Device(s) => &s.id,
            SourceConfig::File(s) => &s.id,
            SourceConfig::Pcm(s) => &s.id,
        }
    }

    /// This source's `(window_s, hop_s)`, its overrides applied over `defaults`.
    pub fn window(&self, defaults: &WindowingConfig) -> (f64, f64) {
        let (w, h) = match self {
            SourceConfig::Device(s) => (s.window_s, s.hop_s),
            SourceConfig::File(s) => (s.window_s, s.hop_s),
            SourceConfig::Pcm(s) => (s.window_s, s.hop_s),
        };
        (w.unwrap_or(defaults.window_s), h.unwrap_or(defaults.hop_s))
    }

    pub(super) fn validate(
        &self,
        at: &str,
        defaults: &WindowingConfig,
        issues: &mut Vec<ConfigIssue>,
    ) {
        let id = self.id();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            issues.push(ConfigIssue::new(
                format!("{at}.id"),
                format!("source id {id:?} must be non-empty ASCII letters, digits, '-' or '_' (it becomes a topic name)"),
            ));
        }
        let (w, h) = self.window(defaults);
        WindowingConfig::check_window(at, w, h, issues);
        match self {
            SourceConfig::Device(d) => {
                if d.sample_rate == Some(0) {
                    issues.push(ConfigIssue::new(format!("{at}.sample_rate"), "must be > 0"));
                }
                if d.channels == Some(0) {
                    issues.push(ConfigIssue::new(format!("{at}.channels"), "must be > 0"));
                }
            }
            SourceConfig::File(f) => {
                if f.path.as_os_str().is_empty() {
                    issues.push(ConfigIssue::new(format!("{at}.path"), "must not be empty"));
                }
            }
            SourceConfig::Pcm(p) => {
                if p.path.as_os_str().is_empty() {
                    issues.push(ConfigIssue::new(
                        format!("{at}.path"),
                        "must not be empty (use \"-\" for stdin)",
                    ));
                }
                if !(1_000..=768_000).contains(&p.sample_rate) {
                    issues.push(ConfigIssue::new(
                        format!("{at}.sample_rate"),
                        "must be between 1000 and 768000 Hz",
                    ));
                }
                if !(1..=64).contains(&p.channels) {
                    issues.push(ConfigIssue::new(
                        format!("{at}.channels"),
                        "must be between 1 and 64",
                    ));
                }
            }
        }
    }
}
