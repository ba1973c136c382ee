//! Fixed-ratio mono resampling to the model rate with rubato's FFT resampler.
//!
//! [`MonoResampler`] owns the rubato `Fft` resampler and every buffer it needs, created once
//! per stream; [`MonoResampler::process`] appends output without allocating once the output
//! `Vec` has grown to its working size. The resampler's own delay (`output_delay()` frames)
//! is discarded at the start, so output sample `n` lines up with input time `n / out_rate`
//! exactly and windows keep sample-accurate timestamps.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::AudioError;

/// Input frames per rubato call at 48 kHz (10 ms); other rates use the nearest valid size.
pub const CHUNK_FRAMES: usize = 480;

/// Mono fixed-ratio resampler with its delay removed; a plain copy when the rates match.
pub struct MonoResampler {
    in_rate: u32,
    out_rate: u32,
    fft: Option<Fft<f32>>,
    /// Input waiting for a whole chunk.
    pending: Vec<f32>,
    /// One chunk of output.
    chunk_out: Vec<f32>,
    /// Output frames still to discard (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl MonoResampler {
    /// A resampler from `in_rate` to `out_rate` Hz.
    pub fn new(in_rate: u32, out_rate: u32) -> Result<Self, AudioError> {
        if !super::RATE_RANGE.contains(&in_rate) || !super::RATE_RANGE.contains(&out_rate) {
            return Err(AudioError::Setup(format!(
                "cannot resample {in_rate} Hz to {out_rate} Hz"
            )));
        }
        let fft = if in_rate == out_rate {
            None
        } else {
            let fft = Fft::<f32>::new(
                in_rate as usize,
                out_rate as usize,
                CHUNK_FRAMES,
                1,
                FixedSync::Input,
            )
            .map_err(|e| AudioError::Setup(format!("resampler {in_rate}→{out_rate} Hz: {e}")))?;
            Some(fft)
        };
        let (pending_cap, out_cap, skip) = match &fft {
            Some(f) => (
                f.input_frames_max(),
                f.output_frames_max(),
                f.output_delay(),
            ),
            None => (0, 0, 0),
        };
        Ok(MonoResampler {
            in_rate,
            out_rate,
            fft,
            pending: Vec::with_capacity(pending_cap * 2),
            chunk_out: vec![0.0; out_cap],
            skip,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Input rate in Hz.
    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    /// Output rate in Hz.
    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// The resampler's delay in output frames (0 when the rates match); already removed.
    pub fn delay_frames(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_delay())
    }

    /// Frames this resampler still holds back: input not yet a whole chunk plus the delay.
    pub fn latency_frames_out(&self) -> f64 {
        self.pending.len() as f64 * self.ratio() + self.delay_frames() as f64
    }

    fn ratio(&self) -> f64 {
        f64::from(self.out_rate) / f64::from(self.in_rate)
    }

    /// Resamples `input` and appends the output to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.frames_in += input.len() as u64;
        let Some(need) = self.fft.as_ref().map(|f| f.input_frames_next()) else {
            out.extend_from_slice(input);
            self.frames_out += input.len() as u64;
            return;
        };
        let mut rest = input;
        if !self.pending.is_empty() {
            let take = (need - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < need {
                return;
            }
            let chunk = std::mem::take(&mut self.pending);
            self.run_chunk(&chunk, out);
            self.pending = chunk;
            self.pending.clear();
        }
        // Whole chunks straight from `input`; only the remainder is copied.
        while rest.len() >= need {
            self.run_chunk(&rest[..need], out);
            rest = &rest[need..];
        }
        self.pending.extend_from_slice(rest);
    }

    fn run_chunk(&mut self, chunk: &[f32], out: &mut Vec<f32>) {
        let Some(fft) = self.fft.as_mut() else {
            return;
        };
        let cap = self.chunk_out.len();
        let (Ok(input), Ok(mut output)) = (
            InterleavedSlice::new(chunk, 1, chunk.len()),
            InterleavedSlice::new_mut(&mut self.chunk_out, 1, cap),
        ) else {
            // Sizes come from the resampler itself; this cannot fail for mono buffers.
            return;
        };
        let written = match fft.process_into_buffer(&input, &mut output, None) {
            Ok((_, written)) => written,
            Err(_) => return,
        };
        let skip = self.skip.min(written);
        self.skip -= skip;
        out.extend_from_slice(&self.chunk_out[skip..written]);
        self.frames_out += (written - skip) as u64;
    }

    /// Pushes the held-back tail out (end of stream or before a gap): after this the output
    /// holds exactly `round(frames_in * out_rate / in_rate)` frames, then the resampler is
    /// reset for a fresh segment.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        let want = (u128::from(self.frames_in) * u128::from(self.out_rate)
            + u128::from(self.in_rate / 2))
            / u128::from(self.in_rate);
        let want = want as u64;
        if self.fft.is_some() {
            let start = out.len();
            let zeros = vec![0.0f32; CHUNK_FRAMES * 2];
            let frames_in = self.frames_in;
            while self.frames_out < want {
                self.process(&zeros, out);
            }
            self.frames_in = frames_in;
            let excess = (self.frames_out - want.min(self.frames_out)) as usize;
            out.truncate(out.len() - excess.min(out.len() - start));
            self.frames_out -= excess as u64;
        }
        self.reset();
    }

    /// Forgets all state (after a gap); the next output again starts at the input's time.
    pub fn reset(&mut self) {
        if let Some(f) = self.fft.as_mut() {
            f.reset();
            self.skip = f.output_delay();
        }
        self.pending.clear();
        self.frames_in = 0;
        self.frames_out = 0;
    }

    /// Input frames consumed since the last reset.
    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// Output frames produced since the last reset.
    pub fn frames_out(&self) -> u64 {
        self.frames_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin() as f32 * 0.5
            })
            .collect()
    }

    #[test]
    fn flush_gives_exact_length_for_odd_rates() {
        for (a, b) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (22_050, 16_000),
            (8_000, 16_000),
        ] {
            for n in [0usize, 1, 479, 480, 12_345, 44_100] {
                let mut r = MonoResampler::new(a, b).unwrap();
                let mut out = Vec::new();
                let input = sine(a, 440.0, n);
                // Odd pieces: the chunking must not matter.
                for piece in input.chunks(173) {
                    r.process(piece, &mut out);
                }
                r.flush(&mut out);
                let want = ((n as u64 * u64::from(b)) as f64 / f64::from(a)).round() as usize;
                assert_eq!(out.len(), want, "{a}->{b} n={n}");
            }
        }
    }

    #[test]
    fn delay_is_removed() {
        // A step at input sample 24_000 (0.5 s) lands at output sample 8_000.
        let mut input = vec![0.0f32; 48_000];
        input[24_000..].iter_mut().for_each(|s| *s = 0.5);
        let mut r = MonoResampler::new(48_000, 16_000).unwrap();
        assert!(r.delay_frames() > 0);
        let mut out = Vec::new();
        r.process(&input, &mut out);
        r.flush(&mut out);
        let crossing = out.iter().position(|&s| s > 0.25).unwrap();
        assert!((7_999..=8_001).contains(&crossing), "step at {crossing}");
    }

    /// Largest deviation from the sine recurrence x[n+1] = 2cos(w)x[n] - x[n-1].
    fn worst_residual(x: &[f32], hz: f64, rate: u32) -> f64 {
        let c = 2.0 * (2.0 * std::f64::consts::PI * hz / f64::from(rate)).cos();
        x.windows(3)
            .map(|t| (f64::from(t[2]) - c * f64::from(t[1]) + f64::from(t[0])).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn output_is_continuous_whatever_the_chunking() {
        let input = sine(48_000, 1000.0, 48_000 * 3);
        for pattern in [
            &[512usize][..],
            &[1024, 512, 7],
            &[480],
            &[100, 2000, 1],
            &[4096, 3],
        ] {
            let mut r = MonoResampler::new(48_000, 16_000).unwrap();
            let mut out = Vec::new();
            let mut at = 0;
            for &n in pattern.iter().cycle() {
                if at >= input.len() {
                    break;
                }
                let end = (at + n).min(input.len());
                r.process(&input[at..end], &mut out);
                at = end;
            }
            r.flush(&mut out);
            let body = &out[1600..out.len() - 1600];
            let worst = worst_residual(body, 1000.0, 16_000);
            assert!(worst < 1e-3, "pattern {pattern:?}: residual {worst}");
        }
    }

    #[test]
    fn equal_rates_copy() {
        let mut r = MonoResampler::new(16_000, 16_000).unwrap();
        let mut out = Vec::new();
        r.process(&[0.1, 0.2, 0.3], &mut out);
        r.flush(&mut out);
        assert_eq!(out, vec![0.1, 0.2, 0.3]);
    }
}
