//! Cuts a mono stream at the model rate into overlapping windows on an exact hop grid.
//!
//! Window `k` of a segment starts at `origin + round(k · hop_s · rate)` — computed from `k`
//! each time, never accumulated, so boundaries stay within half a sample of the ideal grid
//! however long the stream runs, for any rate (44.1k, 22.05k, 8k) and any hop. A segment is the audio between two gaps; after a
//! gap (device loss) the grid restarts where audio resumes, and the stream clock includes
//! the missing time. The silence gate marks quiet windows `gated` instead of delivering them.

use std::time::{Duration, SystemTime};

use super::{AudioError, SourceId, StreamTime, Window};

/// Window length, hop and gate at one sample rate, in samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    rate: u32,
    window: u64,
    /// Hop in samples, fractional (e.g. 0.3333 s at 22.05 kHz is 7349.265 samples).
    hop: f64,
    gate_dbfs: Option<f32>,
}

impl WindowSpec {
    /// Windows of `window_s` seconds every `hop_s` seconds at `rate` Hz; windows quieter
    /// than `gate_dbfs` (RMS) are gated.
    pub fn new(
        rate: u32,
        window_s: f64,
        hop_s: f64,
        gate_dbfs: Option<f64>,
    ) -> Result<Self, AudioError> {
        if rate == 0 || !(window_s > 0.0 && hop_s > 0.0 && hop_s <= window_s && window_s < 3600.0) {
            return Err(AudioError::Setup(format!(
                "windows of {window_s} s every {hop_s} s at {rate} Hz are not possible"
            )));
        }
        let hop = hop_s * f64::from(rate);
        // A window is never shorter than the longest hop step, so consecutive windows
        // always touch or overlap and no sample falls between them.
        let window = ((window_s * f64::from(rate)).round() as u64)
            .max(hop.ceil() as u64)
            .max(1);
        Ok(WindowSpec {
            rate,
            window,
            hop,
            gate_dbfs: gate_dbfs.map(|g| g as f32),
        })
    }

    /// Sample rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Window length in samples.
    pub fn window_samples(&self) -> u64 {
        self.window
    }

    /// Offset of window `k`'s first sample from its segment's origin.
    pub fn offset(&self, k: u64) -> u64 {
        (k as f64 * self.hop).round() as u64
    }

    /// The silence gate in dBFS, if any.
    pub fn gate_dbfs(&self) -> Option<f32> {
        self.gate_dbfs
    }
}

/// Turns pushed samples into [`Window`]s; owns at most about one window of audio.
pub struct Windower {
    spec: WindowSpec,
    source: SourceId,
    /// Samples from stream index `buf_start` on.
    buf: Vec<f32>,
    /// `energy[i]` = sum of squares of `buf[..i]` (so a window's RMS costs O(1), not
    /// O(window) — windows overlap 4× by default).
    energy: Vec<f64>,
    buf_start: u64,
    /// Where the current segment's grid starts, and its wall-clock time.
    origin: u64,
    origin_wall: SystemTime,
    /// Next window index in this segment; `seq` counts across segments.
    k: u64,
    seq: u64,
    /// End of the last window emitted (stream index).
    covered: u64,
}

impl Windower {
    /// A windower for `source` whose first sample was captured at `wall`.
    pub fn new(spec: WindowSpec, source: SourceId, wall: SystemTime) -> Self {
        Windower {
            spec,
            source,
            buf: Vec::with_capacity(spec.window as usize * 2),
            energy: vec![0.0],
            buf_start: 0,
            origin: 0,
            origin_wall: wall,
            k: 0,
            seq: 0,
            covered: 0,
        }
    }

    /// The spec in use.
    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    /// Stream time just after the last sample pushed (gaps included).
    pub fn position(&self) -> StreamTime {
        StreamTime {
            sample: self.buf_start + self.buf.len() as u64,
            rate: self.spec.rate,
        }
    }

    /// Re-anchors the wall clock: the sample at the current position was captured at
    /// `wall` (sources call this when the first audio of a segment arrives).
    pub fn anchor_wall(&mut self, wall: SystemTime) {
        let since_origin = self.position().sample - self.origin;
        let d = Duration::from_secs_f64(since_origin as f64 / f64::from(self.spec.rate));
        self.origin_wall = wall.checked_sub(d).unwrap_or(wall);
    }

    /// Appends samples and emits every window they complete.
    pub fn push(&mut self, samples: &[f32], emit: &mut impl FnMut(Window)) {
        self.buf.extend_from_slice(samples);
        let mut acc = self.energy.last().copied().unwrap_or(0.0);
        self.energy.extend(samples.iter().map(|&v| {
            acc += f64::from(v) * f64::from(v);
            acc
        }));
        let pos = self.position().sample;
        loop {
            let start = self.origin + self.spec.offset(self.k);
            let end = start + self.spec.window;
            if end > pos {
                break;
            }
            self.emit(start, end, emit);
        }
        // Drop audio no future window needs, in bulk so the copy stays amortised.
        let next = (self.origin + self.spec.offset(self.k)).min(pos);
        let dead = (next - self.buf_start) as usize;
        if dead > 0 && dead >= self.buf.len() / 2 {
            self.buf.drain(..dead);
            let base = self.energy[dead];
            self.energy.drain(..dead);
            self.energy.iter_mut().for_each(|e| *e -= base);
            self.buf_start = next;
        }
    }

    /// Emits a last, shorter window with the samples no window has covered yet (end of
    /// stream); afterwards every pushed sample has been in exactly one window's `new_samples`.
    pub fn finish(&mut self, emit: &mut impl FnMut(Window)) {
        let pos = self.position().sample;
        if self.covered < pos {
            let start = (self.origin + self.spec.offset(self.k)).min(self.covered);
            self.emit(start, pos, emit);
        }
    }

    /// Records `missing` samples of lost audio: finishes the current segment, advances the
    /// stream clock past the gap and starts a new grid there, captured at `resume_wall`.
    pub fn gap(&mut self, missing: u64, resume_wall: SystemTime, emit: &mut impl FnMut(Window)) {
        self.finish(emit);
        let resume = self.position().sample + missing;
        self.buf.clear();
        self.energy.clear();
        self.energy.push(0.0);
        self.buf_start = resume;
        self.origin = resume;
        self.origin_wall = resume_wall;
        self.k = 0;
        self.covered = resume;
    }

    fn emit(&mut self, start: u64, end: u64, emit: &mut impl FnMut(Window)) {
        let lo = (start - self.buf_start) as usize;
        let hi = (end - self.buf_start) as usize;
        let slice = &self.buf[lo..hi];
        let rms = if hi > lo {
            let mean = ((self.energy[hi] - self.energy[lo]) / (hi - lo) as f64).max(0.0);
            (10.0 * mean.log10()) as f32
        } else {
            f32::NEG_INFINITY
        };
        let gated = self.spec.gate_dbfs.is_some_and(|g| rms < g);
        let new_samples = (end - self.covered.max(start)) as u32;
        let wall = self.origin_wall
            + Duration::from_secs_f64((start - self.origin) as f64 / f64::from(self.spec.rate));
        let rate = self.spec.rate;
        let window = Window {
            source: self.source.clone(),
            seq: self.seq,
            start: StreamTime {
                sample: start,
                rate,
            },
            end: StreamTime { sample: end, rate },
            wall,
            rms_dbfs: rms,
            gated,
            new_samples,
            samples: if gated { Vec::new() } else { slice.to_vec() },
        };
        self.covered = self.covered.max(end);
        self.seq += 1;
        self.k += 1;
        emit(window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(spec: WindowSpec, input: &[f32], piece: usize) -> Vec<Window> {
        let mut w = Windower::new(spec, "t".into(), SystemTime::UNIX_EPOCH);
        let mut out = Vec::new();
        for p in input.chunks(piece.max(1)) {
            w.push(p, &mut |x| out.push(x));
        }
        w.finish(&mut |x| out.push(x));
        out
    }

    #[test]
    fn windows_hold_the_right_samples() {
        let spec = WindowSpec::new(10, 1.0, 0.3, None).unwrap();
        let input: Vec<f32> = (0..50).map(|i| i as f32).collect();
        let ws = collect(spec, &input, 7);
        for w in &ws {
            let expect: Vec<f32> = (w.start.sample..w.end.sample).map(|i| i as f32).collect();
            assert_eq!(w.samples, expect);
        }
        let starts: Vec<u64> = ws.iter().map(|w| w.start.sample).collect();
        assert_eq!(&starts[..5], &[0, 3, 6, 9, 12]);
        let total: u64 = ws.iter().map(|w| u64::from(w.new_samples)).sum();
        assert_eq!(total, 50);
        assert_eq!(ws.last().unwrap().end.sample, 50);
    }

    #[test]
    fn gate_marks_quiet_windows() {
        let spec = WindowSpec::new(100, 1.0, 1.0, Some(-40.0)).unwrap();
        let mut input = vec![0.0f32; 100];
        input.extend(std::iter::repeat_n(0.5f32, 100));
        let ws = collect(spec, &input, 33);
        assert_eq!(ws.len(), 2);
        assert!(ws[0].gated && ws[0].samples.is_empty());
        assert!(!ws[1].gated && ws[1].samples.len() == 100);
    }

    #[test]
    fn gap_advances_stream_time_and_restarts_grid() {
        let spec = WindowSpec::new(10, 1.0, 0.5, None).unwrap();
        let mut w = Windower::new(spec, "t".into(), SystemTime::UNIX_EPOCH);
        let mut out = Vec::new();
        w.push(&[0.1; 23], &mut |x| out.push(x));
        w.gap(
            7,
            SystemTime::UNIX_EPOCH + Duration::from_secs(100),
            &mut |x| out.push(x),
        );
        assert_eq!(w.position().sample, 30);
        w.push(&[0.2; 10], &mut |x| out.push(x));
        let after: Vec<&Window> = out.iter().filter(|x| x.start.sample >= 30).collect();
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].start.sample, 30);
        assert_eq!(
            after[0].wall,
            SystemTime::UNIX_EPOCH + Duration::from_secs(100)
        );
        let total: u64 = out.iter().map(|x| u64::from(x.new_samples)).sum();
        assert_eq!(total, 23 + 10);
    }
}
