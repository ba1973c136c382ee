//! Liveness: a thread stamps a [`Beat`] every time its loop turns; whoever watches it
//! (`/healthz`, the systemd watchdog) asks how long ago that was.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Milliseconds since a fixed origin at the last stamp; clones share the stamp.
#[derive(Debug, Clone)]
pub struct Beat {
    origin: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Beat {
    fn default() -> Self {
        Beat::new()
    }
}

impl Beat {
    /// A beat stamped now.
    pub fn new() -> Beat {
        Beat::stamped_at(Instant::now())
    }

    /// A beat last stamped at `origin` (which may lie in the past).
    pub fn stamped_at(origin: Instant) -> Beat {
        Beat {
            origin,
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records that the owner is alive now.
    pub fn stamp(&self) {
        self.last_ms.store(self.now_ms(), Relaxed);
    }

    /// Milliseconds from the origin to the last stamp (grows while the owner lives).
    pub fn last_ms(&self) -> u64 {
        self.last_ms.load(Relaxed)
    }

    /// How long ago the last stamp was.
    pub fn age(&self) -> Duration {
        Duration::from_millis(self.now_ms().saturating_sub(self.last_ms()))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
