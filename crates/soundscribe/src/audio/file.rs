//! Audio files: WAV through hound; FLAC, Ogg Vorbis and MP3 through symphonia.
//!
//! [`FileReader`] yields interleaved `f32` frames in [-1, 1]. Every problem — a missing
//! file, a bad or truncated header, zero channels, an unsupported encoding, data that ends
//! before the header says — becomes one [`AudioError`] naming the file; nothing panics.
//! Audio read before a truncation is still delivered, then the error is reported.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{check_layout, AudioError, FrameRead};

/// Anything hound can read from.
trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// A decoded audio file, read a chunk of frames at a time.
pub struct FileReader {
    path: PathBuf,
    rate: u32,
    channels: u16,
    inner: Inner,
}

enum Inner {
    Wav(WavInner),
    Other(Box<SymInner>),
}

impl FileReader {
    /// Opens and checks the file at `path`.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let io = |source| AudioError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut magic = [0u8; 12];
        let n = read_up_to(&mut file, &mut magic).map_err(io)?;
        file.rewind().map_err(io)?;
        if is_wav(&magic[..n]) {
            Self::wav(path, Box::new(BufReader::new(file)))
        } else {
            Self::other(path, Box::new(file))
        }
    }

    /// Reads a file already in memory; `name` is used in errors (tests, fuzzing).
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Self, AudioError> {
        if is_wav(&bytes[..bytes.len().min(12)]) {
            Self::wav(name, Box::new(Cursor::new(bytes)))
        } else {
            Self::other(name, Box::new(Cursor::new(bytes)))
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames the header declares, when it does.
    pub fn declared_frames(&self) -> Option<u64> {
        match &self.inner {
            Inner::Wav(w) => Some(w.declared),
            Inner::Other(s) => s.declared,
        }
    }

    fn wav(path: &Path, src: Box<dyn ReadSeek>) -> Result<Self, AudioError> {
        let reader = hound::WavReader::new(src)
            .map_err(|e| AudioError::format(path, format!("not a usable WAV file: {e}")))?;
        let spec = reader.spec();
        check_layout(path, "WAV header says", spec.channels, spec.sample_rate)?;
        let encoding = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, b @ 1..=32) => WavEncoding::Int(b),
            (hound::SampleFormat::Float, 32) => WavEncoding::Float,
            (f, b) => {
                return Err(AudioError::format(
                    path,
                    format!("unsupported WAV encoding: {b}-bit {f:?}"),
                ))
            }
        };
        let declared = u64::from(reader.duration());
        Ok(FileReader {
            path: path.to_owned(),
            rate: spec.sample_rate,
            channels: spec.channels,
            inner: Inner::Wav(WavInner {
                reader,
                encoding,
                declared,
                frames: 0,
                failed: None,
            }),
        })
    }

    fn other(path: &Path, src: Box<dyn MediaSource>) -> Result<Self, AudioError> {
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let inner = guarded(path, || SymInner::open(path, src, &hint))?;
        let (rate, channels) = (inner.rate, inner.channels);
        Ok(FileReader {
            path: path.to_owned(),
            rate,
            channels,
            inner: Inner::Other(Box::new(inner)),
        })
    }
}

impl FrameRead for FileReader {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn channels(&self) -> u16 {
        self.channels
    }

    fn read_frames(&mut self, buf: &mut Vec<f32>, max_frames: usize) -> Result<usize, AudioError> {
        buf.clear();
        let ch = usize::from(self.channels);
        match &mut self.inner {
            Inner::Wav(w) => w.read(&self.path, ch, buf, max_frames),
            Inner::Other(s) => {
                let path = &self.path;
                guarded(path, || s.read(path, ch, buf, max_frames))
            }
        }
    }
}

/// Frames decoded per read by [`decode_mono`].
const DECODE_CHUNK: usize = 4096;

/// Decodes the file at `path`, averages its channels and resamples to `rate` Hz (delay
/// removed, so sample n is at n / rate). With `max_input_s`, reading stops once that much
/// input has been decoded (in whole reads of 4,096 frames). A non-finite sample is an error.
/// Training clips and the dataset builder both read audio this way.
pub fn decode_mono(
    path: &Path,
    rate: u32,
    max_input_s: Option<f64>,
) -> Result<Vec<f32>, AudioError> {
    let mut reader = FileReader::open(path)?;
    let channels = usize::from(reader.channels());
    let mut resampler = super::MonoResampler::new(reader.rate(), rate)
        .map_err(|e| AudioError::format(path, e.to_string()))?;
    let limit = max_input_s.map_or(usize::MAX, |s| (s * f64::from(reader.rate())) as usize);
    let (mut buf, mut mono, mut out) = (Vec::new(), Vec::new(), Vec::new());
    let mut frames = 0;
    while frames < limit {
        let n = reader.read_frames(&mut buf, DECODE_CHUNK)?;
        if n == 0 {
            break;
        }
        frames += n;
        mono.clear();
        mono.extend(
            buf.chunks_exact(channels)
                .map(|f| f.iter().sum::<f32>() / channels as f32),
        );
        // The FFT resampler must only see finite input.
        if mono.iter().any(|v| !v.is_finite()) {
            return Err(AudioError::format(path, "decoded samples are not finite"));
        }
        resampler.process(&mono, &mut out);
    }
    resampler.flush(&mut out);
    Ok(out)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn is_wav(magic: &[u8]) -> bool {
    magic.len() >= 4 && (&magic[..4] == b"RIFF" || &magic[..4] == b"RIFX" || &magic[..4] == b"RF64")
}

/// Runs third-party decoder code so that a panic on a malformed file becomes an error.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(AudioError::format(
            path,
            "the decoder failed on malformed data",
        ))
    })
}

#[derive(Clone, Copy)]
enum WavEncoding {
    Int(u16),
    Float,
}

struct WavInner {
    reader: hound::WavReader<Box<dyn ReadSeek>>,
    encoding: WavEncoding,
    declared: u64,
    frames: u64,
    failed: Option<String>,
}

impl WavInner {
    fn read(
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

fn collect<S>(
    it: impl Iterator<Item = hound::Result<S>>,
    buf: &mut Vec<f32>,
    conv: impl Fn(S) -> f32,
) -> Result<(), hound::Error> {
    for s in it {
        buf.push(conv(s?));
    }
    Ok(())
}

struct SymInner {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    rate: u32,
    channels: u16,
    declared: Option<u64>,
    frames: u64,
    reported_short: bool,
    pending: Vec<f32>,
    pos: usize,
    done: bool,
}

impl SymInner {
    fn open(path: &Path, src: Box<dyn MediaSource>, hint: &Hint) -> Result<Self, AudioError> {
        let mss = MediaSourceStream::new(src, Default::default());
        let probed = symphonia::default::get_probe()
            .format(
                hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .map_err(|e| {
                AudioError::format(path, format!("unsupported or unreadable audio file: {e}"))
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioError::format(path, "no audio track"))?;
        let params = track.codec_params.clone();
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| AudioError::format(path, format!("unsupported codec: {e}")))?;
        let mut inner = SymInner {
            track: track.id,
            format,
            decoder,
            rate: params.sample_rate.unwrap_or(0),
            channels: params.channels.map_or(0, |c| c.count() as u16),
            declared: params.n_frames,
            frames: 0,
            reported_short: false,
            pending: Vec::new(),
            pos: 0,
            done: false,
        };
        // Decode the first packet: some formats only know rate and channels then.
        inner.fill(path)?;
        check_layout(path, "audio track has", inner.channels, inner.rate)?;
        Ok(inner)
    }

    /// Decodes one more packet into `pending`; sets `done` at the end of the stream.
    fn fill(&mut self, path: &Path) -> Result<(), AudioError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.done = true;
                    return Ok(());
                }
                Err(e) => return Err(AudioError::format(path, format!("cannot read audio: {e}"))),
            };
            if packet.track_id() != self.track {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(SymError::DecodeError(e)) => {
                    return Err(AudioError::format(path, format!("corrupt audio data: {e}")))
                }
                Err(e) => {
                    return Err(AudioError::format(
                        path,
                        format!("cannot decode audio: {e}"),
                    ))
                }
            };
            let spec = *decoded.spec();
            let ch = spec.channels.count() as u16;
            if self.channels == 0 {
                self.channels = ch;
            }
            if self.rate == 0 {
                self.rate = spec.rate;
            }
            if ch != self.channels || spec.rate != self.rate {
                return Err(AudioError::format(
                    path,
                    "channel count or sample rate changes inside the file",
                ));
            }
            if decoded.frames() == 0 {
                continue;
            }
            let mut sb = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            sb.copy_interleaved_ref(decoded);
            self.pending.drain(..self.pos);
            self.pos = 0;
            self.pending.extend_from_slice(sb.samples());
            return Ok(());
        }
    }

    fn read(
        &mut self,
        path: &Path,
        ch: usize,
        buf: &mut Vec<f32>,
        max_frames: usize,
    ) -> Result<usize, AudioError> {
        let want = max_frames * ch;
        while self.pending.len() - self.pos < want && !self.done {
            self.fill(path)?;
        }
        let take = (want.min(self.pending.len() - self.pos) / ch) * ch;
        buf.extend_from_slice(&self.pending[self.pos..self.pos + take]);
        self.pos += take;
        self.frames += (take / ch) as u64;
        if take == 0 && self.done {
            // The decoder may skip damaged frames: a short stream is reported, not hidden.
            let short = self
                .declared
                .filter(|&d| d > self.frames && !self.reported_short);
            if let Some(declared) = short {
                self.reported_short = true;
                return Err(AudioError::format(
                    path,
                    format!(
                        "truncated or corrupt: the header declares {declared} frames, {} decoded",
                        self.frames
                    ),
                ));
            }
        }
        Ok(take / ch)
    }
}
