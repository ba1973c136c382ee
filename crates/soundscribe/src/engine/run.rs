//! The engine loop: windows from every source → dynamic batches → [`Captioner`] →
//! [`Caption`] messages, with latency accounting, drop counts and a real-time check.
//!
//! Runs on the one thread that owns the model. It blocks on the sources' queues with a
//! deadline and never awaits; captions leave through a callback (the publisher's
//! channel, or stdout for offline captioning).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tracing::{debug, warn};

use super::batcher::{Batcher, Ready, SystemClock};
use super::captioner::{Captioner, EngineError, StageTimes};
use crate::audio::{RecvOutcome, SourceStats, Window, WindowReceivers};
use crate::config::EngineConfig;
use crate::decode::rerank::Reranked;
use crate::publish::{Alternative, Caption, CaptionFlags, Latency, StatusBoard, WindowSpan};

/// Consecutive slow batches after which the engine warns that it cannot keep up.
const SLOW_BATCHES_BEFORE_WARNING: u32 = 8;

/// Settings of one engine run.
pub struct EngineRun<'a> {
    /// The model and decoding policy.
    pub captioner: &'a Captioner,
    /// Batching limits.
    pub batching: &'a EngineConfig,
    /// Base seed for sampling (mixed with source and window number per window).
    pub seed: u64,
    /// Alternatives published with each caption.
    pub alternatives: usize,
    /// Live counters of each source (for `dropped_before`).
    pub source_stats: SourceRegistry,
    /// Status counters for heartbeats, if publishing.
    pub status: Option<&'a StatusBoard>,
    /// Called on every engine iteration (systemd watchdog).
    pub heartbeat: &'a dyn Fn(),
}

/// The live counters of each running source by id, shared between the engine, the
/// metrics endpoint and the daemon's reload (which adds and removes sources).
#[derive(Debug, Clone, Default)]
pub struct SourceRegistry(Arc<RwLock<BTreeMap<String, Arc<SourceStats>>>>);

impl SourceRegistry {
    /// The counters of `source`, if it runs.
    pub fn get(&self, source: &str) -> Option<Arc<SourceStats>> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still whole.
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(source).cloned()
    }

    /// Adds (or replaces) the counters of `source`.
    pub fn insert(&self, source: &str, stats: Arc<SourceStats>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.insert(source.to_owned(), stats);
    }

    /// Forgets `source`.
    pub fn remove(&self, source: &str) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.remove(source);
    }

    /// Every source and its counters, sorted by id.
    pub fn entries(&self) -> Vec<(String, Arc<SourceStats>)> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl FromIterator<(String, Arc<SourceStats>)> for SourceRegistry {
    fn from_iter<I: IntoIterator<Item = (String, Arc<SourceStats>)>>(iter: I) -> Self {
        SourceRegistry(Arc::new(RwLock::new(iter.into_iter().collect())))
    }
}

/// Totals of one engine run.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct EngineSummary {
    /// Windows captioned by the model.
    pub captioned: u64,
    /// Silence-gated windows passed through without the model.
    pub gated: u64,
    /// Batches run.
    pub batches: u64,
}

/// A per-window seed so candidates are reproducible and independent of batching.
fn window_seed(base: u64, source: &str, seq: u64) -> u64 {
    let mut h: u64 = base ^ 0xcbf2_9ce4_8422_2325;
    for b in source.bytes().chain(seq.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn since(t: SystemTime) -> Duration {
    SystemTime::now().duration_since(t).unwrap_or_default()
}

impl EngineRun<'_> {
    /// Captions every window until all sources have finished; each caption goes to `emit`.
    pub fn run(
        &self,
        receivers: &mut WindowReceivers,
        emit: &mut dyn FnMut(Caption),
    ) -> Result<EngineSummary, EngineError> {
        let mut batcher: Batcher<(Instant, Window), SystemClock> = Batcher::new(
            self.batching.max_batch,
            Duration::from_millis(self.batching.max_wait_ms),
            SystemClock,
        );
        let mut dropped_seen: HashMap<String, u64> = HashMap::new();
        let mut summary = EngineSummary::default();
        let mut slow = 0u32;
        let mut closed = false;
        loop {
            (self.heartbeat)();
            let batch = match batcher.poll() {
                Ready::Batch(b) => b,
                _ if closed => match batcher.drain().into_iter().next() {
                    Some(b) => b,
                    None => return Ok(summary),
                },
                Ready::WaitUntil(deadline) => {
                    self.receive(receivers, &mut batcher, deadline, &mut closed);
                    continue;
                }
                Ready::Idle => {
                    let deadline = Instant::now() + Duration::from_secs(1);
                    self.receive(receivers, &mut batcher, deadline, &mut closed);
                    continue;
                }
            };
            let audio_s: f64 = batch.iter().map(|(_, w)| w.duration().as_secs_f64()).sum();
            let started = Instant::now();
            self.process(batch, &mut dropped_seen, &mut summary, emit)?;
            summary.batches += 1;
            let compute_s = started.elapsed().as_secs_f64();
            // A batch must take less compute than the audio it covers, or queues grow
            // until the drop-oldest policy discards windows.
            if audio_s > 0.0 && compute_s > audio_s {
                slow += 1;
                if slow == SLOW_BATCHES_BEFORE_WARNING {
                    warn!(
                        message = "Engine is slower than real time; windows will be dropped.",
                        batch_compute_s = compute_s,
                        batch_audio_s = audio_s
                    );
                }
            } else {
                slow = 0;
            }
        }
    }

    /// Moves windows from the queues into the batcher until `deadline` or a full batch.
    fn receive(
        &self,
        receivers: &mut WindowReceivers,
        batcher: &mut Batcher<(Instant, Window), SystemClock>,
        deadline: Instant,
        closed: &mut bool,
    ) {
        match receivers.recv_deadline(deadline) {
            Ok(w) => {
                if let Some(s) = self.status {
                    s.window_in(&w.source);
                }
                batcher.push((Instant::now(), w));
            }
            Err(RecvOutcome::Timeout) => {}
            Err(RecvOutcome::Closed) => *closed = true,
        }
    }

    fn process(
        &self,
        batch: Vec<(Instant, Window)>,
        dropped_seen: &mut HashMap<String, u64>,
        summary: &mut EngineSummary,
        emit: &mut dyn FnMut(Caption),
    ) -> Result<(), EngineError> {
        let batch_start = SystemTime::now();
        let (min_len, max_len) = self.captioner.window_limits();
        // Gated windows need no model; the others run grouped by length (the encoder
        // takes equal-length batches). Short tail windows are zero-padded to the model's
        // minimum.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut padded: Vec<Vec<f32>> = Vec::with_capacity(batch.len());
        for (i, (_, w)) in batch.iter().enumerate() {
            let mut s = w.samples.clone();
            if !w.gated && s.len() < min_len {
                s.resize(min_len, 0.0);
            }
            s.truncate(max_len);
            let len = s.len();
            padded.push(s);
            if w.gated {
                continue;
            }
            match groups.iter_mut().find(|(l, _)| *l == len) {
                Some((_, g)) => g.push(i),
                None => groups.push((len, vec![i])),
            }
        }
        let mut decided: Vec<Option<(Reranked, StageTimes, usize)>> = vec![None; batch.len()];
        for (_, members) in &groups {
            let waves: Vec<&[f32]> = members.iter().map(|&i| padded[i].as_slice()).collect();
            let seed = {
                let (_, w) = &batch[members[0]];
                window_seed(self.seed, &w.source, w.seq)
            };
            let (out, times) = self.captioner.caption(&waves, seed)?;
            for (&i, d) in members.iter().zip(out) {
                decided[i] = Some((d, times, members.len()));
            }
        }
        for ((received, w), d) in batch.into_iter().zip(decided) {
            let dropped_now = self
                .source_stats
                .get(&w.source)
                .map_or(0, |s| s.snapshot().windows_dropped);
            let seen = dropped_seen.entry(w.source.to_string()).or_insert(0);
            let dropped_before = dropped_now.saturating_sub(*seen);
            *seen = dropped_now;
            if dropped_before > 0 {
                if let Some(s) = self.status {
                    s.windows_dropped(&w.source, dropped_before);
                }
            }
            let end_wall = w.wall + w.duration();
            // From the window's last sample (or its arrival, for sources read faster than
            // real time) to the start of its batch.
            let waited = batch_start.duration_since(end_wall).unwrap_or_default();
            let queue = waited.max(received.elapsed().saturating_sub(since(batch_start)));
            let (text, score, alternatives, times, share) = match &d {
                Some((dec, times, n)) => {
                    let best = dec.ranked.first();
                    let alts = dec
                        .ranked
                        .iter()
                        .skip(1)
                        .take(self.alternatives)
                        .map(|r| Alternative {
                            text: r.text.clone(),
                            score: r.score,
                            log_likelihood: Some(-r.nll),
                            similarity: r.cosine,
                        })
                        .collect();
                    (
                        best.map(|b| b.text.clone()).unwrap_or_default(),
                        best.map_or(0.0, |b| b.score),
                        alts,
                        *times,
                        *n as f64,
                    )
                }
                None => (String::new(), 0.0, Vec::new(), StageTimes::default(), 1.0),
            };
            if d.is_some() {
                summary.captioned += 1;
            } else {
                summary.gated += 1;
            }
            let latency = Latency {
                queue: ms(queue),
                features: 0.0,
                encoder: times.encoder * 1e3,
                decode: times.decode * 1e3,
                rerank: times.rerank * 1e3,
                total: ms(since(end_wall)),
            };
            if let Some(s) = self.status {
                let compute = (times.encoder + times.decode + times.rerank) / share;
                s.processed(&w.source, w.duration().as_secs_f64(), compute);
            }
            debug!(message = "Window captioned.", source = %w.source, seq = w.seq);
            emit(Caption {
                source: w.source.to_string(),
                seq: w.seq,
                window: WindowSpan {
                    start_s: w.start.seconds(),
                    end_s: w.end.seconds(),
                    start_utc: w.wall,
                    end_utc: end_wall,
                },
                text,
                score,
                alternatives,
                model: self.captioner.id().to_owned(),
                latency_ms: latency,
                flags: CaptionFlags {
                    silence_gated: w.gated,
                    dropped_before,
                },
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_seeds_differ_by_source_and_window() {
        let a = window_seed(0, "mic", 1);
        assert_eq!(a, window_seed(0, "mic", 1));
        assert_ne!(a, window_seed(0, "mic", 2));
        assert_ne!(a, window_seed(0, "mic2", 1));
        assert_ne!(a, window_seed(1, "mic", 1));
    }
}
