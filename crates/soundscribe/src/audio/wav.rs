//! WAV through hound: which encodings it reads and how their samples become `f32`.

use std::io::{Read, Seek};
use std::path::Path;

use super::AudioError;

/// Anything hound can read from.
pub(super) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// How hound's samples of a WAV file with this header become `f32`, when hound reads them.
pub(super) fn wav_encoding(path: &Path, spec: hound::WavSpec) -> Result<WavEncoding, AudioError> {
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, b @ 1..=32) => Ok(WavEncoding::Int(b)),
        (hound::SampleFormat::Float, 32) => Ok(WavEncoding::Float),
        (f, b) => Err(AudioError::format(
            path,
            format!("unsupported WAV encoding: {b}-bit {f:?}"),
        )),
    }
}

#[derive(Clone, Copy)]
pub(super) enum WavEncoding {
    Int(u16),
    Float,
}

pub(super) struct WavInner {
    pub(super) reader: hound::WavReader<Box<dyn ReadSeek>>,
    pub(super) encoding: WavEncoding,
    pub(super) declared: u64,
    pub(super) frames: u64,
    pub(super) failed: Option<String>,
}

impl WavInner {
    pub(super) fn read(
        &mut self,
        path: &Path,
        ch: usize,
        buf: &mut Vec<f32>,
        max_frames: usize,
    ) -> Result<usize, AudioError> {
        if let Some(problem) = self.failed.take() {
            return Err(AudioError::format(path, problem));
        }
        let want = max_frames * ch;
        let result = match self.encoding {
            WavEncoding::Int(bits) => {
                let scale = 1.0 / (1u64 << (bits - 1)) as f32;
                collect(self.reader.samples::<i32>().take(want), buf, |s| {
                    s as f32 * scale
                })
            }
            WavEncoding::Float => collect(self.reader.samples::<f32>().take(want), buf, |s| s),
        };
        // Keep whole frames only: a truncation inside a frame drops its partial samples.
        let frames = buf.len() / ch;
        buf.truncate(frames * ch);
        self.frames += frames as u64;
        match result {
            Ok(()) => Ok(frames),
            Err(e) => {
                let problem = format!(
                    "truncated or corrupt WAV data after {} of {} frames: {e}",
                    self.frames, self.declared
                );
                if frames > 0 {
                    // Deliver what was read; the error comes with the next call.
                    self.failed = Some(problem);
                    Ok(frames)
                } else {
                    Err(AudioError::format(path, problem))
                }
            }
        }
    }
}

pub(super) fn collect<S>(
    it: impl Iterator<Item = hound::Result<S>>,
    buf: &mut Vec<f32>,
    conv: impl Fn(S) -> f32,
) -> Result<(), hound::Error> {
    for s in it {
        buf.push(conv(s?));
    }
    Ok(())
}
