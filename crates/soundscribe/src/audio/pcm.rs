//! Raw interleaved PCM (s16le or f32le) from stdin or a named pipe.
//!
//! Rate and channels come from the config, since raw PCM has no header. [`PcmReader`]
//! returns as soon as whole frames are available (a pipe from ffmpeg, gstreamer or arecord
//! delivers small pieces) and keeps a partial frame for the next read. A stream that ends
//! inside a frame is reported with a warning naming the stream, never silently.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{check_layout, AudioError, FrameRead};
use crate::config::{PcmFormat, PcmSource};

/// Reads raw PCM frames from any byte stream.
pub struct PcmReader {
    name: PathBuf,
    src: Box<dyn Read + Send>,
    format: PcmFormat,
    rate: u32,
    channels: u16,
    bytes: Vec<u8>,
    held: usize,
    ended: bool,
}

impl PcmReader {
    /// Opens the configured stream: `-` is stdin, anything else a file or FIFO (opening a
    /// FIFO waits for its writer).
    pub fn open(cfg: &PcmSource) -> Result<Self, AudioError> {
        let src: Box<dyn Read + Send> = if cfg.path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(&cfg.path).map_err(|source| AudioError::Io {
                path: cfg.path.clone(),
                source,
            })?)
        };
        Self::new(&cfg.path, src, cfg.format, cfg.sample_rate, cfg.channels)
    }

    /// Reads `format` frames of `channels` channels at `rate` Hz from `src`; `name` is used
    /// in errors and warnings.
    pub fn new(
        name: &Path,
        src: Box<dyn Read + Send>,
        format: PcmFormat,
        rate: u32,
        channels: u16,
    ) -> Result<Self, AudioError> {
        check_layout(name, "raw PCM has", channels, rate)?;
        Ok(PcmReader {
            name: name.to_owned(),
            src,
            format,
            rate,
            channels,
            bytes: Vec::new(),
            held: 0,
            ended: false,
        })
    }

    fn sample_bytes(&self) -> usize {
        match self.format {
            PcmFormat::S16le => 2,
            PcmFormat::F32le => 4,
        }
    }
}

impl FrameRead for PcmReader {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn channels(&self) -> u16 {
        self.channels
    }

    fn read_frames(&mut self, buf: &mut Vec<f32>, max_frames: usize) -> Result<usize, AudioError> {
        buf.clear();
        let frame = self.sample_bytes() * usize::from(self.channels);
        let want = max_frames.max(1) * frame;
        if self.bytes.len() < want {
            self.bytes.resize(want, 0);
        }
        // Block until at least one whole frame is here (or the stream ends).
        while self.held < frame && !self.ended {
            match self.src.read(&mut self.bytes[self.held..want]) {
                Ok(0) => self.ended = true,
                Ok(n) => self.held += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(AudioError::Io {
                        path: self.name.clone(),
                        source,
                    })
                }
            }
        }
        let frames = (self.held / frame).min(max_frames.max(1));
        let used = frames * frame;
        decode(self.format, &self.bytes[..used], buf);
        self.bytes.copy_within(used..self.held, 0);
        self.held -= used;
        if self.ended && frames == 0 && self.held > 0 {
            tracing::warn!(
                stream = %self.name.display(),
                bytes = self.held,
                "Raw PCM stream ended inside a frame; the trailing bytes were ignored."
            );
            self.held = 0;
        }
        Ok(frames)
    }
}

/// Converts little-endian `format` bytes (whole samples) to `f32`, appending to `out`.
pub fn decode(format: PcmFormat, bytes: &[u8], out: &mut Vec<f32>) {
    match format {
        PcmFormat::S16le => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0),
        ),
        PcmFormat::F32le => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in pieces of `step`, like a pipe.
    struct Trickle(Vec<u8>, usize, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.2.min(buf.len()).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn frames_survive_odd_pipe_reads() {
        let samples: Vec<i16> = (0..600).map(|i| (i * 50 - 15_000) as i16).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        for step in [1, 3, 7, 1000] {
            let src = Box::new(Trickle(bytes.clone(), 0, step));
            let mut r = PcmReader::new(Path::new("-"), src, PcmFormat::S16le, 8000, 3).unwrap();
            let mut all = Vec::new();
            let mut buf = Vec::new();
            while r.read_frames(&mut buf, 64).unwrap() > 0 {
                assert_eq!(buf.len() % 3, 0);
                all.extend_from_slice(&buf);
            }
            let want: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
            assert_eq!(all, want, "step {step}");
        }
    }

    #[test]
    fn partial_last_frame_is_dropped_with_warning() {
        let bytes = vec![0u8; 4 * 2 + 3];
        let src = Box::new(Trickle(bytes, 0, 5));
        let mut r = PcmReader::new(Path::new("p"), src, PcmFormat::F32le, 8000, 2).unwrap();
        let mut buf = Vec::new();
        assert_eq!(r.read_frames(&mut buf, 10).unwrap(), 1);
        assert_eq!(r.read_frames(&mut buf, 10).unwrap(), 0);
    }
}
