//! Everything symphonia decodes (FLAC, Ogg Vorbis/Opus/FLAC, MP3, AIFF and the WAV
//! encodings hound refuses): one track, gapless, chained Ogg streams, Opus through libopus.

use std::path::Path;
use std::sync::OnceLock;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CodecRegistry, CodecType, Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::probe::SUPPORTED;
use super::{check_layout, AudioError};

/// The frames a track's header declares, as decoded with gapless trimming.
pub(super) fn declared_frames(params: &symphonia::core::codecs::CodecParameters) -> Option<u64> {
    // symphonia 0.5.5's Ogg reader counts an Opus stream's pre-skip in its length (its last
    // granule position), then trims it from the audio.
    if params.codec == symphonia::core::codecs::CODEC_TYPE_OPUS {
        let skip = u64::from(params.delay.unwrap_or(0));
        return params.n_frames.map(|n| n.saturating_sub(skip));
    }
    params.n_frames
}

/// The error for a track whose codec no registered decoder reads, naming the codec.
pub(super) fn unsupported_codec(path: &Path, codec: CodecType, e: SymError) -> AudioError {
    use symphonia::core::codecs as c;
    let name = match codec {
        c::CODEC_TYPE_MP1 => "MPEG audio layer I".to_string(),
        c::CODEC_TYPE_MP2 => "MPEG audio layer II".to_string(),
        c::CODEC_TYPE_AAC => "AAC".to_string(),
        c::CODEC_TYPE_ALAC => "ALAC".to_string(),
        c::CODEC_TYPE_SPEEX => "Speex".to_string(),
        c::CODEC_TYPE_WAVPACK => "WavPack".to_string(),
        other => match codecs().get_codec(other) {
            Some(d) => d.short_name.to_string(),
            None => format!("codec {other}"),
        },
    };
    AudioError::format(
        path,
        format!("unsupported codec: {name} ({e}; soundscribe reads {SUPPORTED})"),
    )
}

/// symphonia's codecs as enabled, plus Opus through libopus.
pub(super) fn codecs() -> &'static CodecRegistry {
    static CODECS: OnceLock<CodecRegistry> = OnceLock::new();
    CODECS.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<symphonia_adapter_libopus::OpusDecoder>();
        registry
    })
}

pub(super) struct SymInner {
    pub(super) format: Box<dyn FormatReader>,
    pub(super) decoder: Box<dyn Decoder>,
    pub(super) track: u32,
    pub(super) rate: u32,
    pub(super) channels: u16,
    pub(super) declared: Option<u64>,
    pub(super) frames: u64,
    pub(super) reported_short: bool,
    pub(super) pending: Vec<f32>,
    pub(super) pos: usize,
    pub(super) done: bool,
}

impl SymInner {
    pub(super) fn open(
        path: &Path,
        src: Box<dyn MediaSource>,
        hint: &Hint,
    ) -> Result<Self, AudioError> {
        let mss = MediaSourceStream::new(src, Default::default());
        // Gapless: drop the encoder's delay and padding (LAME tag, Ogg granule positions),
        // so that decoded audio lines up with the source as other players have it.
        let format_options = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe()
            .format(hint, mss, &format_options, &MetadataOptions::default())
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
        let decoder = codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| unsupported_codec(path, params.codec, e))?;
        let mut inner = SymInner {
            track: track.id,
            format,
            decoder,
            rate: params.sample_rate.unwrap_or(0),
            channels: params.channels.map_or(0, |c| c.count() as u16),
            declared: declared_frames(&params),
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

    /// Switches to the first audio track of the next stream of a chained Ogg file.
    pub(super) fn next_chained_stream(&mut self, path: &Path) -> Result<(), AudioError> {
        let track = self
            .format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| AudioError::format(path, "no audio track in a chained stream"))?;
        self.decoder = codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| unsupported_codec(path, track.codec_params.codec, e))?;
        self.track = track.id;
        Ok(())
    }

    /// Decodes one more packet into `pending`; sets `done` at the end of the stream.
    pub(super) fn fill(&mut self, path: &Path) -> Result<(), AudioError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.done = true;
                    return Ok(());
                }
                // A chained Ogg file: the next stream has its own track and decoder; a change
                // of rate or channels is still refused below.
                Err(SymError::ResetRequired) => {
                    self.next_chained_stream(path)?;
                    continue;
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

    pub(super) fn read(
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
