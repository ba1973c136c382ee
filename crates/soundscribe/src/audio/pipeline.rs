//! One source's processing chain: sanitise → downmix → resample → window → queue.
//!
//! [`Pipeline`] is driven by whoever reads the source (the source thread, a test, the
//! CLI): it takes interleaved `f32` frames at the source's rate and channel count, and
//! owns every buffer it needs, so the steady state allocates only the windows it sends.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::queue::{SourceStats, WindowSender};
use super::resample::MonoResampler;
use super::window::{WindowSpec, Windower};
use super::{AudioError, SourceId, StreamTime};

/// The processing chain of one source.
pub struct Pipeline {
    source: SourceId,
    channels: usize,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    resampler: MonoResampler,
    windower: Windower,
    sink: WindowSender,
    stats: Arc<SourceStats>,
}

impl Pipeline {
    /// A chain from `in_rate` Hz, `channels`-channel input to `spec`'s windows, sent to `sink`.
    pub fn new(
        source: SourceId,
        in_rate: u32,
        channels: u16,
        spec: WindowSpec,
        sink: WindowSender,
    ) -> Result<Self, AudioError> {
        if channels == 0 {
            return Err(AudioError::Setup(format!("source {source}: zero channels")));
        }
        let resampler = MonoResampler::new(in_rate, spec.rate())?;
        let stats = sink.stats().clone();
        Ok(Pipeline {
            windower: Windower::new(spec, source.clone(), SystemTime::now()),
            source,
            channels: usize::from(channels),
            mono: Vec::new(),
            resampled: Vec::new(),
            resampler,
            sink,
            stats,
        })
    }

    /// The source's counters.
    pub fn stats(&self) -> &Arc<SourceStats> {
        &self.stats
    }

    /// Input rate in Hz.
    pub fn in_rate(&self) -> u32 {
        self.resampler.in_rate()
    }

    /// Input channel count.
    pub fn channels(&self) -> u16 {
        self.channels as u16
    }

    /// Stream time after the last sample that has reached the windower.
    pub fn position(&self) -> StreamTime {
        self.windower.position()
    }

    /// Sets the wall-clock time of the next input frame (first audio of a segment).
    pub fn anchor_wall(&mut self, wall: SystemTime) {
        let held = self.resampler.latency_frames_out() - self.resampler.delay_frames() as f64;
        let held = Duration::from_secs_f64(held.max(0.0) / f64::from(self.windower.spec().rate()));
        self.windower
            .anchor_wall(wall.checked_sub(held).unwrap_or(wall));
    }

    /// Processes interleaved frames; a trailing partial frame is ignored (callers pass
    /// whole frames). NaN becomes 0, ±∞ and finite values beyond full scale become ±1
    /// (float input can hold anything, and the FFT resampler must only see finite
    /// numbers); each replaced value is counted in `nonfinite_samples` / `clipped_samples`.
    pub fn push(&mut self, interleaved: &[f32]) -> Result<(), AudioError> {
        let frames = interleaved.len() / self.channels;
        self.stats.frames_read.fetch_add(frames as u64, Relaxed);
        let fixed = downmix(interleaved, self.channels, &mut self.mono);
        if fixed.nonfinite > 0 {
            let before = self
                .stats
                .nonfinite_samples
                .fetch_add(fixed.nonfinite, Relaxed);
            if before == 0 {
                tracing::warn!(
                    source = %self.source,
                    count = fixed.nonfinite,
                    "Non-finite input samples replaced (NaN → 0, ±inf → ±1); counted in nonfinite_samples."
                );
            }
        }
        if fixed.clipped > 0 {
            let before = self.stats.clipped_samples.fetch_add(fixed.clipped, Relaxed);
            if before == 0 {
                tracing::warn!(
                    source = %self.source,
                    count = fixed.clipped,
                    "Input samples beyond full scale clipped to ±1; counted in clipped_samples."
                );
            }
        }
        self.resampled.clear();
        self.resampler.process(&self.mono, &mut self.resampled);
        self.deliver()
    }

    /// Ends the stream: flushes the resampler and emits the last, shorter window.
    pub fn finish(&mut self) -> Result<(), AudioError> {
        self.resampled.clear();
        self.resampler.flush(&mut self.resampled);
        self.deliver()?;
        let mut err = None;
        let sink = &self.sink;
        self.windower.finish(&mut |w| send(sink, w, &mut err));
        err.map_or(Ok(()), Err)
    }

    /// Records `missing` time without audio (device lost or stalled): finishes the current
    /// segment, advances stream time by the gap and continues with input at `in_rate` Hz
    /// and `channels` channels, the next frame captured at `resume_wall`.
    pub fn gap(
        &mut self,
        missing: Duration,
        resume_wall: SystemTime,
        in_rate: u32,
        channels: u16,
    ) -> Result<(), AudioError> {
        if channels == 0 {
            return Err(AudioError::Setup(format!(
                "source {}: zero channels",
                self.source
            )));
        }
        self.resampled.clear();
        self.resampler.flush(&mut self.resampled);
        self.deliver()?;
        let rate = f64::from(self.windower.spec().rate());
        let missing = (missing.as_secs_f64() * rate).round() as u64;
        let mut err = None;
        let sink = &self.sink;
        self.windower
            .gap(missing, resume_wall, &mut |w| send(sink, w, &mut err));
        self.stats.gaps.fetch_add(1, Relaxed);
        self.stats.gap_samples.fetch_add(missing, Relaxed);
        if in_rate != self.resampler.in_rate() {
            self.resampler = MonoResampler::new(in_rate, self.windower.spec().rate())?;
        }
        self.channels = usize::from(channels);
        err.map_or(Ok(()), Err)
    }

    fn deliver(&mut self) -> Result<(), AudioError> {
        self.stats
            .samples_produced
            .fetch_add(self.resampled.len() as u64, Relaxed);
        let mut err = None;
        let sink = &self.sink;
        self.windower
            .push(&self.resampled, &mut |w| send(sink, w, &mut err));
        err.map_or(Ok(()), Err)
    }
}

fn send(sink: &WindowSender, w: super::Window, err: &mut Option<AudioError>) {
    if err.is_none() {
        if let Err(e) = sink.send(w) {
            *err = Some(e);
        }
    }
}

/// How many input values [`downmix`] had to replace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replaced {
    /// NaN or ±∞.
    pub nonfinite: u64,
    /// Finite but beyond ±1.
    pub clipped: u64,
}

/// Averages interleaved `channels`-channel frames into `mono` (cleared first), replacing
/// NaN by 0 and clipping everything else to [-1, 1]; says how many values it replaced.
pub fn downmix(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) -> Replaced {
    mono.clear();
    let mut r = Replaced::default();
    let mut fix = |v: f32| {
        if (-1.0..=1.0).contains(&v) {
            v
        } else if v.is_nan() {
            r.nonfinite += 1;
            0.0
        } else {
            if v.is_finite() {
                r.clipped += 1;
            } else {
                r.nonfinite += 1;
            }
            v.signum()
        }
    };
    if channels == 1 {
        mono.extend(interleaved.iter().map(|&v| fix(v)));
    } else {
        let scale = 1.0 / channels as f32;
        for frame in interleaved.chunks_exact(channels) {
            let sum: f32 = frame.iter().map(|&v| fix(v)).sum();
            mono.push(sum * scale);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_and_sanitises() {
        let mut mono = Vec::new();
        let input = [1.0, 0.0, f32::NAN, 0.5, f32::INFINITY, -1.0, 3e38, 0.2];
        let r = downmix(&input, 2, &mut mono);
        assert_eq!(mono, vec![0.5, 0.25, 0.0, 0.6]);
        assert_eq!(
            r,
            Replaced {
                nonfinite: 2,
                clipped: 1
            }
        );
    }
}
