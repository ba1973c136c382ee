//! Audio files: WAV through hound (symphonia for the encodings hound refuses, RF64 rewritten
//! as RIFF); FLAC, Ogg (Vorbis, Opus through libopus, FLAC), MP3 and AIFF through symphonia.
//!
//! [`FileReader`] yields interleaved `f32` frames in [-1, 1]. Every problem — a missing
//! file, a bad or truncated header, zero channels, an unsupported encoding, data that ends
//! before the header says — becomes one [`AudioError`] naming the file; nothing panics.
//! Audio read before a truncation is still delivered, then the error is reported.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::path::{Path, PathBuf};

use symphonia::core::io::MediaSource;
use symphonia::core::probe::Hint;

use super::mp3_sync::{audio_start, Skipped};
use super::probe::{guarded, is_wav, peek, unsupported_format, SUPPORTED};
use super::rf64::{rf64_as_riff, Overlay};
use super::sym_reader::SymInner;
use super::wav::{wav_encoding, ReadSeek, WavInner};
use super::{check_layout, AudioError, FrameRead};

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
        let file = File::open(path).map_err(|source| AudioError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::read_any(path, file)
    }

    /// Reads a file already in memory; `name` is used in errors (tests, fuzzing).
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Self, AudioError> {
        Self::read_any(name, Cursor::new(bytes))
    }

    /// Picks the reader by the first bytes: past leading ID3v2 tags, symphonia; RIFF/RIFX
    /// (and RF64, rewritten as RIFF), hound, else symphonia; anything else, symphonia.
    fn read_any<R: MediaSource + 'static>(path: &Path, mut src: R) -> Result<Self, AudioError> {
        let io = |source| AudioError::Io {
            path: path.to_owned(),
            source,
        };
        let magic = peek(&mut src).map_err(io)?;
        if magic.starts_with(b"ID3") {
            let start = audio_start(path, &mut src)?;
            let mut src = Skipped::new(src, start).map_err(io)?;
            let magic = peek(&mut src).map_err(io)?;
            return Self::symphonia(path, Box::new(src), &magic);
        }
        if magic.starts_with(b"RF64") {
            let head = rf64_as_riff(path, &mut src)?;
            let src = Overlay::new(src, head).map_err(io)?;
            return Self::riff(path, src);
        }
        if is_wav(&magic) {
            return Self::riff(path, src);
        }
        Self::symphonia(path, Box::new(src), &magic)
    }

    /// A RIFF/RIFX WAV file: hound, or symphonia for the encodings hound refuses (A-law,
    /// mu-law, ADPCM, 64-bit float); if symphonia cannot read it either, the error is hound's.
    fn riff<R: MediaSource + 'static>(path: &Path, mut src: R) -> Result<Self, AudioError> {
        let io = |source| AudioError::Io {
            path: path.to_owned(),
            source,
        };
        let hound_ok = hound::WavReader::new(BufReader::new(&mut src))
            .map_err(|e| AudioError::format(path, format!("not a usable WAV file: {e}")))
            .and_then(|r| {
                let spec = r.spec();
                check_layout(path, "WAV header says", spec.channels, spec.sample_rate)?;
                wav_encoding(path, spec)
            });
        src.rewind().map_err(io)?;
        match hound_ok {
            Ok(_) => Self::wav(path, Box::new(BufReader::new(src))),
            Err(hound_error) => Self::other(path, Box::new(src)).map_err(|_| hound_error),
        }
    }

    /// Everything but WAV: symphonia, with clearer errors for the formats it does not read.
    fn symphonia(path: &Path, src: Box<dyn MediaSource>, magic: &[u8]) -> Result<Self, AudioError> {
        let reader = Self::other(path, src).map_err(|e| match unsupported_format(magic) {
            Some(what) => AudioError::format(
                path,
                format!("unsupported format: {what} (soundscribe reads {SUPPORTED})"),
            ),
            None => e,
        })?;
        Ok(reader.no_aiff_length(magic))
    }

    /// symphonia 0.5.5's AIFF reader counts the SSND chunk's 8 bytes of offset and block size
    /// as audio: the 1 or 2 frames more that it declares are not a truncation.
    fn no_aiff_length(mut self, magic: &[u8]) -> Self {
        if magic.starts_with(b"FORM") {
            if let Inner::Other(s) = &mut self.inner {
                s.declared = None;
            }
        }
        self
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
        let encoding = wav_encoding(path, spec)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` MPEG-1 layer III frames, 128 kbit/s at 44.1 kHz (417 bytes each), empty bodies.
    fn mpeg_frames(n: usize) -> Vec<u8> {
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
        frame.repeat(n)
    }

    #[test]
    fn empty_id3v2_tag_and_padding_are_skipped_to_the_first_frame() {
        let mut bytes = b"ID3\x03\0\0\0\0\0\0".to_vec();
        bytes.extend_from_slice(&[0; 100]);
        bytes.extend_from_slice(&mpeg_frames(3));
        let start = audio_start(Path::new("t.mp3"), &mut Cursor::new(&bytes)).unwrap();
        assert_eq!(start, 110);
        // Two tags in a row, the second of 5 bytes with a footer (v2.4).
        let mut two = b"ID3\x03\0\0\0\0\0\0ID3\x04\0\x10\0\0\0\x05".to_vec();
        two.extend_from_slice(&[0; 15]);
        two.extend_from_slice(&mpeg_frames(2));
        let start = audio_start(Path::new("t.mp3"), &mut Cursor::new(&two)).unwrap();
        assert_eq!(start, 10 + 25);
    }

    #[test]
    fn a_file_of_tags_and_padding_only_is_an_error() {
        let mut bytes = b"ID3\x03\0\0\0\0\0\0".to_vec();
        bytes.extend_from_slice(&[0; 64]);
        let err = FileReader::from_bytes(Path::new("tags.mp3"), bytes)
            .err()
            .unwrap();
        assert!(err.to_string().starts_with("tags.mp3: no audio"), "{err}");
        // A tag that claims more bytes than the file has.
        let err =
            FileReader::from_bytes(Path::new("long.mp3"), b"ID3\x03\0\0\0\0\x7f\x7f".to_vec())
                .err()
                .unwrap();
        assert!(
            err.to_string().contains("past the end of the file"),
            "{err}"
        );
    }

    fn rf64(samples: &[i16], data_size_field: u32, ds64_data_size: u64) -> Vec<u8> {
        let data_len = 2 * samples.len() as u64;
        let mut b = b"RF64\xff\xff\xff\xffWAVEds64".to_vec();
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&(4 + 36 + 24 + 8 + data_len).to_le_bytes()); // RIFF size
        b.extend_from_slice(&ds64_data_size.to_le_bytes());
        b.extend_from_slice(&(samples.len() as u64).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(b"fmt \x10\0\0\0\x01\0\x01\0");
        b.extend_from_slice(&16_000u32.to_le_bytes());
        b.extend_from_slice(&32_000u32.to_le_bytes());
        b.extend_from_slice(b"\x02\0\x10\0data");
        b.extend_from_slice(&data_size_field.to_le_bytes());
        for s in samples {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b
    }

    #[test]
    fn rf64_is_read_as_riff() {
        let samples: Vec<i16> = (0..1000).map(|i| (i * 31 % 2000 - 1000) as i16).collect();
        let bytes = rf64(&samples, u32::MAX, 2000);
        let mut r = FileReader::from_bytes(Path::new("a.wav"), bytes).unwrap();
        assert_eq!(
            (r.rate(), r.channels(), r.declared_frames()),
            (16_000, 1, Some(1000))
        );
        let mut buf = Vec::new();
        assert_eq!(r.read_frames(&mut buf, 5000).unwrap(), 1000);
        let want: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        assert_eq!(buf, want);
        // 4 GiB or more of audio: refused, by name.
        let err = FileReader::from_bytes(Path::new("big.wav"), rf64(&samples, u32::MAX, 1 << 33))
            .err()
            .unwrap();
        assert!(
            err.to_string().starts_with("big.wav: unsupported: RF64"),
            "{err}"
        );
    }

    #[test]
    fn formats_symphonia_does_not_read_are_named() {
        let named = |bytes: &[u8]| {
            FileReader::from_bytes(Path::new("x"), bytes.to_vec())
                .err()
                .unwrap()
                .to_string()
        };
        let mut free = vec![0xff, 0xfb, 0x00, 0x00];
        free.extend_from_slice(&[0; 2000]);
        assert!(named(&free).contains("free-format MP3"));
        assert!(named(b"\0\0\0\x20ftypM4A \0\0\0\0").contains("MP4/M4A"));
        assert!(named(&[0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0]).contains("Matroska/WebM"));
    }
}
