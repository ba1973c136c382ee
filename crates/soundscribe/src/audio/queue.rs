//! Per-source window queues with drop-oldest backpressure, and the per-source counters.
//!
//! Each source sends into its own bounded crossbeam channel. When the engine falls behind
//! and the channel is full, the sender evicts the oldest waiting window (or, configured,
//! drops the new one) and counts it: a source thread never blocks on the engine and no
//! window disappears uncounted. [`WindowReceivers`] is the engine's end: one call waits
//! on every source at once.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, SendTimeoutError, Sender, TrySendError};
use serde::Serialize;

use super::{AudioError, SourceId, Window};
use crate::config::Overflow;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Live counters of one source, shared by its thread, its queue and its readers.
        #[derive(Debug, Default)]
        pub struct SourceStats {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// A copy of [`SourceStats`] at one moment.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct StatsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl SourceStats {
            /// Reads every counter.
            pub fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot { $($name: self.$name.load(Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Frames the source produced (device callback, file or stream reader).
    frames_in,
    /// Frames lost because the capture ring was full (the source thread fell behind).
    frames_overrun,
    /// Frames that reached the pipeline (`frames_in - frames_overrun` for devices).
    frames_read,
    /// Under/overruns reported by the audio backend.
    xruns,
    /// NaN or infinite input samples replaced by 0 or ±1.
    nonfinite_samples,
    /// Finite input samples beyond full scale clipped to ±1.
    clipped_samples,
    /// Samples at the model rate the resampler produced (the stream, gaps excluded).
    samples_produced,
    /// Windows handed to the queue.
    windows_queued,
    /// Windows removed from (or refused by) a full queue.
    windows_dropped,
    /// Windows the silence gate rejected.
    windows_gated,
    /// `new_samples` of queued windows.
    samples_queued,
    /// `new_samples` of dropped windows.
    samples_dropped,
    /// `new_samples` of gated windows.
    samples_gated,
    /// Gaps recorded in stream time (device lost, stalled or restarted).
    gaps,
    /// Stream-time samples covered by gaps.
    gap_samples,
    /// Times the device was (re)opened after the first start.
    restarts,
}

/// The source side of one source's queue.
pub struct WindowSender {
    tx: Sender<Window>,
    evict: Receiver<Window>,
    policy: QueuePolicy,
    consumer: Weak<()>,
    stats: Arc<SourceStats>,
}

impl WindowSender {
    /// Queues `w`, dropping (and counting) a window if the queue is full; never blocks.
    ///
    /// Gated windows are counted and, unless the queue forwards them (for the CLI's
    /// listing), not sent. Fails only when the consumer has gone away.
    pub fn send(&self, w: Window) -> Result<(), AudioError> {
        if self.consumer.strong_count() == 0 {
            return Err(AudioError::Closed);
        }
        let new = u64::from(w.new_samples);
        if w.gated {
            self.stats.windows_gated.fetch_add(1, Relaxed);
            self.stats.samples_gated.fetch_add(new, Relaxed);
            if !self.policy.forward_gated {
                return Ok(());
            }
        } else {
            self.stats.windows_queued.fetch_add(1, Relaxed);
            self.stats.samples_queued.fetch_add(new, Relaxed);
        }
        let mut w = w;
        if self.policy.wait_when_full {
            return self.send_waiting(w);
        }
        loop {
            match self.tx.try_send(w) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(AudioError::Closed),
                Err(TrySendError::Full(back)) => match self.policy.overflow {
                    Overflow::DropNewest => {
                        self.count_drop(&back);
                        return Ok(());
                    }
                    Overflow::DropOldest => {
                        // The engine may take it first; then there is room on retry.
                        if let Ok(old) = self.evict.try_recv() {
                            self.count_drop(&old);
                        }
                        w = back;
                    }
                },
            }
        }
    }

    /// Offline input: wait for room instead of dropping, while the consumer exists.
    fn send_waiting(&self, mut w: Window) -> Result<(), AudioError> {
        loop {
            match self.tx.send_timeout(w, Duration::from_millis(100)) {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Timeout(back)) if self.consumer.strong_count() > 0 => {
                    w = back;
                }
                Err(_) => return Err(AudioError::Closed),
            }
        }
    }

    fn count_drop(&self, w: &Window) {
        if !w.gated {
            self.stats.windows_dropped.fetch_add(1, Relaxed);
            self.stats
                .samples_dropped
                .fetch_add(u64::from(w.new_samples), Relaxed);
        }
    }

    /// The counters this queue updates.
    pub fn stats(&self) -> &Arc<SourceStats> {
        &self.stats
    }

    /// Windows waiting in the queue now.
    pub fn pending(&self) -> usize {
        self.tx.len()
    }
}

/// How one source's queue behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePolicy {
    /// Windows that may wait for the consumer.
    pub capacity: usize,
    /// What a full queue drops (live sources).
    pub overflow: Overflow,
    /// Wait for room instead of dropping: for offline files, which have no deadline.
    pub wait_when_full: bool,
    /// Queue gated windows too (empty, `gated = true`), for listings.
    pub forward_gated: bool,
}

impl QueuePolicy {
    /// A live-source queue: `capacity` windows, `overflow` when full, gated windows not sent.
    pub fn live(capacity: usize, overflow: Overflow) -> Self {
        QueuePolicy {
            capacity,
            overflow,
            wait_when_full: false,
            forward_gated: false,
        }
    }
}

/// Why [`WindowReceivers::recv_deadline`] returned no window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvOutcome {
    /// The deadline passed.
    Timeout,
    /// Every source has finished and every queue is empty.
    Closed,
}

/// A new source's queue on its way to the engine (see [`SourceAdder`]).
type NewQueue = (SourceId, Receiver<Window>);

/// The engine's end of every source's queue.
pub struct WindowReceivers {
    rxs: Vec<(SourceId, Receiver<Window>)>,
    alive: Arc<()>,
    added_tx: Sender<NewQueue>,
    added: Receiver<NewQueue>,
}

/// Adds source queues to a [`WindowReceivers`] that another thread owns and is reading
/// (the daemon's reload); the engine picks a new queue up on its next receive.
#[derive(Clone)]
pub struct SourceAdder {
    tx: Sender<NewQueue>,
    consumer: Weak<()>,
}

impl SourceAdder {
    /// Adds a queue for `source` and returns its sending end. Windows sent after the
    /// engine has gone fail with [`AudioError::Closed`], as for any queue.
    pub fn add_source(
        &self,
        source: SourceId,
        policy: QueuePolicy,
        stats: Arc<SourceStats>,
    ) -> WindowSender {
        let (sender, rx) = queue(policy, stats, self.consumer.clone());
        // The engine gone means the sender's consumer is gone too: sends fail, as they should.
        let _ = self.tx.send((source, rx));
        sender
    }
}

/// A bounded queue for one source: its sending end and the engine's receiving end.
fn queue(
    policy: QueuePolicy,
    stats: Arc<SourceStats>,
    consumer: Weak<()>,
) -> (WindowSender, Receiver<Window>) {
    let (tx, rx) = crossbeam_channel::bounded(policy.capacity.max(1));
    let sender = WindowSender {
        tx,
        evict: rx.clone(),
        policy,
        consumer,
        stats,
    };
    (sender, rx)
}

impl Default for WindowReceivers {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowReceivers {
    /// No sources yet.
    pub fn new() -> Self {
        let (added_tx, added) = crossbeam_channel::unbounded();
        WindowReceivers {
            rxs: Vec::new(),
            alive: Arc::new(()),
            added_tx,
            added,
        }
    }

    /// A handle that adds sources to these receivers from another thread.
    pub fn adder(&self) -> SourceAdder {
        SourceAdder {
            tx: self.added_tx.clone(),
            consumer: Arc::downgrade(&self.alive),
        }
    }

    /// Adds a queue for `source` and returns its sending end.
    pub fn add_source(
        &mut self,
        source: SourceId,
        policy: QueuePolicy,
        stats: Arc<SourceStats>,
    ) -> WindowSender {
        let (sender, rx) = queue(policy, stats, Arc::downgrade(&self.alive));
        self.rxs.push((source, rx));
        sender
    }

    /// The next window from any source, waiting until `deadline` at most. Queues added
    /// through a [`SourceAdder`] join before the check for "every source has finished".
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<Window, RecvOutcome> {
        loop {
            while let Ok(new) = self.added.try_recv() {
                self.rxs.push(new);
            }
            if self.rxs.is_empty() {
                return Err(RecvOutcome::Closed);
            }
            let mut sel = Select::new();
            for (_, rx) in &self.rxs {
                sel.recv(rx);
            }
            // Wakes the wait when a source is added (taken at the top of the loop).
            let added = sel.recv(&self.added);
            let Ok(op) = sel.select_deadline(deadline) else {
                return Err(RecvOutcome::Timeout);
            };
            let i = op.index();
            if i == added {
                if let Ok(new) = op.recv(&self.added) {
                    self.rxs.push(new);
                }
                continue;
            }
            match op.recv(&self.rxs[i].1) {
                Ok(w) => return Ok(w),
                // That source finished and its queue is drained.
                Err(_) => {
                    self.rxs.swap_remove(i);
                }
            }
        }
    }

    /// Waits for the next window from any source, until every source has finished.
    pub fn recv(&mut self) -> Option<Window> {
        loop {
            let far = Instant::now() + Duration::from_secs(3600);
            match self.recv_deadline(far) {
                Ok(w) => return Some(w),
                Err(RecvOutcome::Closed) => return None,
                Err(RecvOutcome::Timeout) => {}
            }
        }
    }

    /// Ids of the sources still connected.
    pub fn sources(&self) -> impl Iterator<Item = &SourceId> {
        self.rxs.iter().map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::audio::StreamTime;

    fn window(seq: u64, gated: bool) -> Window {
        let t = StreamTime {
            sample: seq,
            rate: 1,
        };
        Window {
            source: "s".into(),
            seq,
            start: t,
            end: t,
            wall: SystemTime::UNIX_EPOCH,
            rms_dbfs: 0.0,
            gated,
            new_samples: 10,
            samples: Vec::new(),
        }
    }

    #[test]
    fn full_queue_drops_oldest_and_counts() {
        let stats = Arc::new(SourceStats::default());
        let mut rx = WindowReceivers::new();
        let tx = rx.add_source(
            "s".into(),
            QueuePolicy::live(2, Overflow::DropOldest),
            stats.clone(),
        );
        for seq in 0..5 {
            tx.send(window(seq, false)).unwrap();
        }
        drop(tx);
        let got: Vec<u64> = std::iter::from_fn(|| rx.recv()).map(|w| w.seq).collect();
        assert_eq!(got, vec![3, 4]);
        let s = stats.snapshot();
        assert_eq!(
            (s.windows_queued, s.windows_dropped, s.samples_dropped),
            (5, 3, 30)
        );
    }

    #[test]
    fn drop_newest_keeps_the_queue() {
        let stats = Arc::new(SourceStats::default());
        let mut rx = WindowReceivers::new();
        let tx = rx.add_source(
            "s".into(),
            QueuePolicy::live(2, Overflow::DropNewest),
            stats.clone(),
        );
        for seq in 0..5 {
            tx.send(window(seq, false)).unwrap();
        }
        drop(tx);
        let got: Vec<u64> = std::iter::from_fn(|| rx.recv()).map(|w| w.seq).collect();
        assert_eq!(got, vec![0, 1]);
        assert_eq!(stats.snapshot().windows_dropped, 3);
    }

    #[test]
    fn gated_windows_are_counted_not_sent() {
        let stats = Arc::new(SourceStats::default());
        let mut rx = WindowReceivers::new();
        let tx = rx.add_source(
            "s".into(),
            QueuePolicy::live(2, Overflow::DropOldest),
            stats.clone(),
        );
        tx.send(window(0, true)).unwrap();
        drop(tx);
        assert!(rx.recv().is_none());
        assert_eq!(stats.snapshot().samples_gated, 10);
    }

    #[test]
    fn a_source_added_from_another_thread_wakes_the_receiver() {
        let stats = Arc::new(SourceStats::default());
        let mut rx = WindowReceivers::new();
        let first = rx.add_source(
            "s".into(),
            QueuePolicy::live(2, Overflow::DropOldest),
            stats.clone(),
        );
        let adder = rx.adder();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let tx = adder.add_source(
                "t".into(),
                QueuePolicy::live(2, Overflow::DropOldest),
                stats,
            );
            // The first source ends after the second has joined: no "every source ended".
            drop(first);
            tx.send(window(7, false)).unwrap();
        });
        let w = rx
            .recv_deadline(Instant::now() + Duration::from_secs(10))
            .unwrap();
        assert_eq!(w.seq, 7, "the window sent on the added queue");
        t.join().unwrap();
        assert!(rx.recv().is_none());
    }

    #[test]
    fn sender_sees_consumer_gone() {
        let stats = Arc::new(SourceStats::default());
        let mut rx = WindowReceivers::new();
        let tx = rx.add_source(
            "s".into(),
            QueuePolicy::live(2, Overflow::DropOldest),
            stats,
        );
        drop(rx);
        assert!(matches!(tx.send(window(0, false)), Err(AudioError::Closed)));
    }
}
