//! MP3 files behind ID3v2 tags: where the audio starts (symphonia 0.5.5 fails on an empty
//! or unparsable leading tag), and a source that starts there.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::io::MediaSource;

use super::probe::read_up_to;
use super::AudioError;

/// How far past the ID3v2 tags at a file's start [`audio_start`] looks for the first MPEG
/// audio frame.
pub(super) const SYNC_SCAN_BYTES: u64 = 2 << 20;

/// Where the audio of a file that starts with `ID3` begins.
///
/// symphonia 0.5.5 reads a leading ID3v2 tag itself and fails on the whole file when the
/// tag is empty (its reader takes a frame header from a tag of size 0: "out of bounds") or
/// holds a frame it cannot parse. soundscribe uses no tags, so it skips them all itself:
/// each tag (several may follow one another), then, within the next `SYNC_SCAN_BYTES`, any
/// zero padding or junk up to the first MPEG audio layer III frame whose header is confirmed
/// by the next frame's (or by the end of the file). Where no such frame is found, or the
/// padding ends in another container's magic (FLAC, Ogg, RIFF, AIFF), the audio is taken to
/// start after the padding, and symphonia probes it from there.
pub(super) fn audio_start(path: &Path, src: &mut (impl Read + Seek)) -> Result<u64, AudioError> {
    let io = |source| AudioError::Io {
        path: path.to_owned(),
        source,
    };
    let len = src.seek(SeekFrom::End(0)).map_err(io)?;
    let mut pos = 0u64;
    loop {
        let mut head = [0u8; 10];
        src.seek(SeekFrom::Start(pos)).map_err(io)?;
        let n = read_up_to(src, &mut head).map_err(io)?;
        let Some(size) = id3v2_tag_len(&head[..n]) else {
            break;
        };
        if size > len - pos {
            return Err(AudioError::format(
                path,
                format!(
                    "the ID3v2 tag at byte {pos} is {size} bytes long, past the end of the file \
                     ({} bytes from there)",
                    len - pos
                ),
            ));
        }
        pos += size;
    }
    let mut window = Vec::new();
    src.seek(SeekFrom::Start(pos)).map_err(io)?;
    src.by_ref()
        .take(SYNC_SCAN_BYTES)
        .read_to_end(&mut window)
        .map_err(io)?;
    src.rewind().map_err(io)?;
    let at_end = pos + window.len() as u64 == len;
    let Some(skip) = window.iter().position(|&b| b != 0) else {
        if at_end {
            return Err(AudioError::format(
                path,
                "no audio: the file holds only ID3v2 tags and padding",
            ));
        }
        return Ok(pos + window.len() as u64);
    };
    let rest = &window[skip..];
    const MAGIC: [&[u8]; 6] = [b"fLaC", b"OggS", b"RIFF", b"RIFX", b"RF64", b"FORM"];
    if MAGIC.iter().any(|m| rest.starts_with(m)) {
        return Ok(pos + skip as u64);
    }
    let frame = (0..rest.len()).find(|&i| mpeg_frame_confirmed(rest, i, at_end));
    Ok(pos + (skip + frame.unwrap_or(0)) as u64)
}

/// The whole length (header, body and footer) of the ID3v2 tag that `head` (its first ten
/// bytes) starts, when it starts one. Any size is accepted, 0 included.
pub(super) fn id3v2_tag_len(head: &[u8]) -> Option<u64> {
    let valid = head.len() == 10
        && head.starts_with(b"ID3")
        && head[3] != 0xff
        && head[4] != 0xff
        && head[6..10].iter().all(|&b| b < 0x80);
    if !valid {
        return None;
    }
    // The size is "syncsafe": 4 × 7 bits, and counts neither the header nor a footer.
    let size = head[6..10]
        .iter()
        .fold(0u64, |s, &b| (s << 7) | u64::from(b));
    let footer = if head[3] >= 4 && head[5] & 0x10 != 0 {
        10
    } else {
        0
    };
    Some(10 + size + footer)
}

/// The length in bytes of the MPEG-1, -2 or -2.5 audio layer III frame whose header starts
/// `h`, when `h` starts a valid one (sync, version, layer, bit-rate, sample-rate and emphasis
/// fields). Free-format frames (bit-rate index 0) have no length in their header: `None`.
pub(super) fn mpeg_frame_len(h: &[u8]) -> Option<usize> {
    const KBPS_V1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const KBPS_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const RATES: [u32; 3] = [44100, 48000, 32000];
    if h.len() < 4 || h[0] != 0xff || h[1] & 0xe0 != 0xe0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    let layer = (h[1] >> 1) & 3; // 1: layer III
    let bitrate = usize::from(h[2] >> 4);
    let rate = usize::from((h[2] >> 2) & 3);
    let padding = u32::from((h[2] >> 1) & 1);
    if version == 1 || layer != 1 || bitrate == 0 || bitrate == 15 || rate == 3 || h[3] & 3 == 2 {
        return None;
    }
    let (kbps, rate, per_kbit) = match version {
        3 => (KBPS_V1[bitrate], RATES[rate], 144_000),
        2 => (KBPS_V2[bitrate], RATES[rate] / 2, 72_000),
        _ => (KBPS_V2[bitrate], RATES[rate] / 4, 72_000),
    };
    Some((per_kbit * kbps / rate + padding) as usize)
}

/// Whether `buf[i..]` starts an MPEG audio layer III frame that the next frame's header
/// confirms: same version, layer, sample rate and channel count, as symphonia checks. A
/// frame that ends the file, or that an ID3v1 tag follows, needs no next header.
pub(super) fn mpeg_frame_confirmed(buf: &[u8], i: usize, buf_ends_file: bool) -> bool {
    let h = &buf[i..];
    let Some(len) = mpeg_frame_len(h) else {
        return false;
    };
    let Some(next) = buf.get(i + len..) else {
        return false;
    };
    if next.len() < 4 {
        return buf_ends_file;
    }
    if next.starts_with(b"TAG") {
        return true;
    }
    let mono = |b: u8| b >> 6 == 3;
    mpeg_frame_len(next).is_some()
        && next[1] & 0x1e == h[1] & 0x1e
        && next[2] & 0x0c == h[2] & 0x0c
        && mono(next[3]) == mono(h[3])
}

/// A seekable source from byte `start` on: what symphonia reads of a file whose audio
/// [`audio_start`] found past its ID3v2 tags.
pub(super) struct Skipped<R> {
    pub(super) inner: R,
    pub(super) start: u64,
    pub(super) len: u64,
}

impl<R: Read + Seek> Skipped<R> {
    pub(super) fn new(mut inner: R, start: u64) -> std::io::Result<Self> {
        let end = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(start))?;
        Ok(Skipped {
            inner,
            start,
            len: end.saturating_sub(start),
        })
    }
}

impl<R: Read> Read for Skipped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Skipped<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => (self.inner.stream_position()?)
                .checked_sub(self.start)
                .and_then(|p| p.checked_add_signed(d)),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the audio",
            )
        })?;
        self.inner.seek(SeekFrom::Start(self.start + target))?;
        Ok(target)
    }
}

impl<R: Read + Seek + Send + Sync> MediaSource for Skipped<R> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
