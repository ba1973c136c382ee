//! Windowing defaults: window length, hop, silence gate and backpressure.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// The longest window any model accepts (the teacher's BEATs positions cover ~30 s).
pub const MAX_WINDOW_S: f64 = 30.0;
/// The shortest window worth captioning (no model describes less than a tenth of a second).
pub const MIN_WINDOW_S: f64 = 0.1;
/// The shortest hop: below it windows barely advance and the engine drowns.
pub const MIN_HOP_S: f64 = 0.01;
/// The most windows a source may queue (each holds up to 30 s of audio).
pub const MAX_QUEUE_WINDOWS: usize = 1024;

/// How each source's audio is cut into overlapping windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowingConfig {
    /// Window length in seconds.
    pub window_s: f64,
    /// Hop between window starts in seconds (≤ `window_s`).
    pub hop_s: f64,
    /// Skip windows whose RMS is below this level (dBFS); no gate when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silence_gate_dbfs: Option<f64>,
    /// Windows a source may have waiting for the engine before `overflow` applies.
    pub queue_windows: usize,
    /// Which window to drop when a source's queue is full (never blocks the source).
    pub overflow: Overflow,
}

/// What a full per-source window queue does with one more window; drops are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Drop the oldest waiting window: captions stay current when the engine falls behind.
    #[default]
    DropOldest,
    /// Drop the new window: what is queued is kept.
    DropNewest,
}

impl Default for WindowingConfig {
    fn default() -> Self {
        WindowingConfig {
            window_s: 10.0,
            hop_s: 2.5,
            silence_gate_dbfs: None,
            queue_windows: 8,
            overflow: Overflow::DropOldest,
        }
    }
}

impl WindowingConfig {
    pub(super) fn check_window(at: &str, window_s: f64, hop_s: f64, issues: &mut Vec<ConfigIssue>) {
        if !(MIN_WINDOW_S..=MAX_WINDOW_S).contains(&window_s) {
            issues.push(ConfigIssue::new(
                format!("{at}.window_s"),
                format!("must be in [{MIN_WINDOW_S}, {MAX_WINDOW_S}] seconds, got {window_s}"),
            ));
        }
        if !(hop_s >= MIN_HOP_S && hop_s <= window_s) {
            issues.push(ConfigIssue::new(
                format!("{at}.hop_s"),
                format!("must be in [{MIN_HOP_S}, window_s = {window_s}] seconds, got {hop_s}"),
            ));
        }
    }

    pub(super) fn validate(&self, at: &str, issues: &mut Vec<ConfigIssue>) {
        Self::check_window(at, self.window_s, self.hop_s, issues);
        if let Some(db) = self.silence_gate_dbfs {
            if !(-140.0..=0.0).contains(&db) {
                issues.push(ConfigIssue::new(
                    format!("{at}.silence_gate_dbfs"),
                    format!("must be in [-140, 0] dBFS, got {db}"),
                ));
            }
        }
        if !(1..=MAX_QUEUE_WINDOWS).contains(&self.queue_windows) {
            issues.push(ConfigIssue::new(
                format!("{at}.queue_windows"),
                format!(
                    "must be in [1, {MAX_QUEUE_WINDOWS}], got {}",
                    self.queue_windows
                ),
            ));
        }
    }
}
