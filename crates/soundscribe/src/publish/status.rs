//! What the `status` heartbeat reports, and the counters it is built from.
//!
//! [`StatusProvider`] is what the publishing loop asks for a snapshot every `heartbeat_s`.
//! [`StatusBoard`] is the provider the daemon uses: sources and the engine count windows
//! in, dropped and processed (from their own threads), the publisher counts windows out.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use super::message::{SourceStatus, Status};

/// Supplies status snapshots to the heartbeat and learns what was published.
pub trait StatusProvider: Send + Sync {
    /// The current status, sources sorted by id.
    fn snapshot(&self) -> Status;

    /// Called after a caption of `source` went out on the socket.
    fn caption_published(&self, _source: &str) {}
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    windows_in: u64,
    windows_out: u64,
    windows_dropped: u64,
    audio_s: f64,
    compute_s: f64,
}

/// Per-source counters since start, safe to update from any thread.
#[derive(Debug)]
pub struct StatusBoard {
    started: Instant,
    sources: Mutex<BTreeMap<String, Counters>>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        StatusBoard::new()
    }
}

impl StatusBoard {
    /// An empty board; uptime counts from now.
    pub fn new() -> StatusBoard {
        StatusBoard {
            started: Instant::now(),
            sources: Mutex::new(BTreeMap::new()),
        }
    }

    /// Makes `source` appear in snapshots before its first window.
    pub fn register(&self, source: &str) {
        self.update(source, |_| {});
    }

    /// A window of `source` was handed to the engine.
    pub fn window_in(&self, source: &str) {
        self.update(source, |c| c.windows_in += 1);
    }

    /// `count` windows of `source` were dropped before captioning.
    pub fn windows_dropped(&self, source: &str, count: u64) {
        self.update(source, |c| c.windows_dropped += count);
    }

    /// The engine spent `compute_s` seconds captioning `audio_s` seconds of `source`.
    pub fn processed(&self, source: &str, audio_s: f64, compute_s: f64) {
        if audio_s.is_finite() && compute_s.is_finite() && audio_s >= 0.0 && compute_s >= 0.0 {
            self.update(source, |c| {
                c.audio_s += audio_s;
                c.compute_s += compute_s;
            });
        }
    }

    fn update(&self, source: &str, f: impl FnOnce(&mut Counters)) {
        // A poisoned lock only means another thread panicked mid-update of plain counters;
        // the numbers are still usable.
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        match sources.get_mut(source) {
            Some(c) => f(c),
            None => {
                let mut c = Counters::default();
                f(&mut c);
                sources.insert(source.to_owned(), c);
            }
        }
    }
}

impl StatusProvider for StatusBoard {
    fn snapshot(&self) -> Status {
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        Status {
            uptime_s: self.started.elapsed().as_secs_f64(),
            time_utc: SystemTime::now(),
            sources: sources
                .iter()
                .map(|(id, c)| SourceStatus {
                    source: id.clone(),
                    windows_in: c.windows_in,
                    windows_out: c.windows_out,
                    windows_dropped: c.windows_dropped,
                    real_time_factor: (c.audio_s > 0.0).then(|| c.compute_s / c.audio_s),
                })
                .collect(),
        }
    }

    fn caption_published(&self, source: &str) {
        self.update(source, |c| c.windows_out += 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_counts_and_real_time_factor() {
        let board = StatusBoard::new();
        board.register("b");
        board.window_in("a");
        board.window_in("a");
        board.windows_dropped("a", 3);
        board.processed("a", 10.0, 2.5);
        board.processed("a", f64::NAN, 1.0); // ignored, never poisons the ratio
        board.caption_published("a");
        let s = board.snapshot();
        let ids: Vec<_> = s.sources.iter().map(|x| x.source.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let a = &s.sources[0];
        assert_eq!((a.windows_in, a.windows_out, a.windows_dropped), (2, 1, 3));
        assert_eq!(a.real_time_factor, Some(0.25));
        assert_eq!(s.sources[1].real_time_factor, None);
        assert!(s.uptime_s >= 0.0);
    }
}
